"""``langchain-community`` 가 없어도 (2026-05-22 에 사라질 예정이 발표됨) 강의가 돌아가는지 봅니다.

하위 프로세스에서 ``sys.modules["langchain_community"] = None`` 으로 그 패키지를 불러올 수 없게 만든 뒤
``course_utils`` 를 불러옵니다. 모델은 오프라인(강의 캐시의 오프라인 모델, 키 없음 → 로컬 API 서버)입니다.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
sys.modules["langchain_community"] = None  # import langchain_community... 가 ImportError 를 냅니다.

import course_utils, course_utils.rerankers, course_utils.retrieval, course_utils.rerank_server  # 불러오기에서 죽지 않음
from langchain_core.documents import BaseDocumentCompressor, Document
from course_utils.rerankers import RerankerCompressor, load_reranker

query = "강아지 예방접종 시기"
documents = ["고양이 사료 고르기", "강아지 예방접종은 생후 6~8주에 시작합니다.", "주식 투자 기초"]
result = {}
for backend in ("feature-ltr", "cross-encoder", "flashrank", "cohere", "jina"):
    reranker = load_reranker(backend)
    ranked = reranker.rank(query, documents)
    compressor = reranker.as_compressor(top_n=2)
    kept = compressor.compress_documents([Document(page_content=text) for text in documents], query)
    result[backend] = {
        "top": ranked[0].index,
        "compressor": type(compressor).__name__,
        "is_compressor": isinstance(compressor, BaseDocumentCompressor),
        "kept": [document.page_content for document in kept],
        "scored": all("relevance_score" in document.metadata for document in kept),
    }

from course_utils.data import load_course_dataset, to_documents
from course_utils.retrieval import build_retriever, search

corpus, queries, qrels = load_course_dataset()
docs = to_documents(corpus)
result["vector"] = len(search(build_retriever(docs, kind="vector", k=5), "강아지 예방접종"))
try:
    build_retriever(docs, kind="bm25", k=5)
    result["bm25"] = "built"
except ImportError as error:
    result["bm25"] = str(error)
print("RESULT " + json.dumps(result, ensure_ascii=False))
"""


def test_course_runs_without_langchain_community():
    env = {key: value for key, value in os.environ.items()}
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    for backend in ("feature-ltr", "cross-encoder", "flashrank", "cohere", "jina"):
        outcome = result[backend]
        assert outcome["top"] == 1, (backend, outcome)
        assert outcome["is_compressor"] and outcome["scored"], (backend, outcome)
        assert outcome["kept"][0] == "강아지 예방접종은 생후 6~8주에 시작합니다.", (backend, outcome)
    # 커뮤니티 클래스를 쓰던 백엔드는 강의의 압축기로 바뀌고, 한 줄 알림을 냅니다. Cohere 는 langchain_cohere 그대로.
    for backend in ("cross-encoder", "flashrank", "jina"):
        assert result[backend]["compressor"] == "RerankerCompressor", result[backend]
    assert result["cohere"]["compressor"] == "CourseCohereRerank"
    notices = [line for line in done.stdout.splitlines() if line.startswith("알림: langchain-community 가 없어")]
    assert len(notices) == len(set(notices)) >= 4, notices
    assert result["vector"] == 5
    assert result["bm25"] == "built"
