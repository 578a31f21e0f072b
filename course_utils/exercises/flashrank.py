"""04 FlashRank 노트북의 실습 문제."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from . import Exercise, pipeline_problem, returned_documents_problem

KOREAN_MODEL = "ms-marco-MultiBERT-L-12"
ENGLISH_MODELS = ("ms-marco-TinyBERT-L-2-v2", "ms-marco-MiniLM-L-12-v2")


def _course_folders() -> list[Path]:
    """FlashRank 모델이 있어야 할 곳: 강의 캐시와 (있으면) 사전 다운로드 폴더."""
    from ..env import runtime

    rt = runtime()
    return [place.resolve() for place in (rt.cache_dir, rt.models_dir) if place is not None]


def _inside_course_folders(path: Path) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder) for folder in _course_folders())


def _onnx_file(ranker) -> Path:
    """``flashrank.Ranker`` 가 읽는 ONNX 파일: 모델 폴더 이름으로 ``Config.model_file_map`` 을 찾습니다."""
    from flashrank import Config

    return ranker.model_dir / Config.model_file_map[ranker.model_dir.name]


# --- 문제 1: 한국어에 쓸 FlashRank 리랭커 -----------------------------------------------------------


def _check_korean_reranker(answer: object) -> str | None:
    from ..rerankers import Reranker

    if not isinstance(answer, Reranker):
        return f"load_reranker(...) 로 만든 리랭커를 넣어야 합니다 (받은 값: {type(answer).__name__})."
    if answer.backend != "flashrank":
        return f"FlashRank 백엔드가 아닙니다 (받은 백엔드: '{answer.backend}'). load_reranker('flashrank', 모델) 을 쓰세요."
    if answer.model in ENGLISH_MODELS:
        return f"'{answer.model}' 모델은 영어 MS MARCO 로만 학습되었습니다. 한국어에는 다국어 모델을 고르세요."
    if answer.model != KOREAN_MODEL:
        return f"FlashRank 의 다국어 모델이 아닙니다 (받은 모델: '{answer.model}')."
    model_dir = answer._ranker.model_dir
    if not _inside_course_folders(model_dir):
        return f"모델 폴더가 강의 캐시 밖에 있습니다 ({model_dir}). load_reranker 가 정한 폴더를 그대로 쓰세요."
    results = answer.rank("강아지 예방접종 시기", ["고양이 사료 고르기", "강아지 예방접종은 생후 6~8주에 시작합니다."])
    if len(results) != 2:
        return "rank() 가 문서 2개에 결과 2개를 돌려주지 않습니다."
    return None


# --- 문제 2: FlashRank 가 읽는 ONNX 파일 -------------------------------------------------------------


def _expected_onnx_path() -> Path:
    from ..rerankers import load_reranker

    return _onnx_file(load_reranker("flashrank", KOREAN_MODEL)._ranker)


def _check_onnx_path(answer: object) -> str | None:
    if not isinstance(answer, (str, Path)):
        return f"경로(str 또는 pathlib.Path)를 넣어야 합니다 (받은 값: {type(answer).__name__})."
    path = Path(answer)
    if path.is_dir():
        return f"넣은 경로는 폴더입니다 ({path}). 그 안의 ONNX 파일 경로를 넣으세요."
    if path.suffix != ".onnx":
        return f"ONNX 파일(.onnx)이 아닙니다: {path.name}"
    if not path.is_file():
        return f"{path} 파일이 없습니다. FlashRank 의 기본 폴더(/tmp)가 아니라 리랭커가 실제로 읽는 폴더를 보세요."
    expected = _expected_onnx_path()
    if path.resolve() != expected.resolve():
        return f"{ENGLISH_MODELS[0]} 등 다른 모델이 아니라 {KOREAN_MODEL} 리랭커가 읽는 파일이어야 합니다 (받은 값: {path})."
    return None


# --- 문제 3: 리랭커가 망친 질의 ----------------------------------------------------------------------


def _top1(scores: Mapping[str, float]) -> str | None:
    from ..metrics import rank_documents

    ordered = rank_documents(scores)
    return ordered[0] if ordered else None


def _reference_broken_by_reranker(
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
) -> set[str]:
    """1단계에서는 1위가 정답(등급 > 0)이었는데 리랭킹 뒤 1위가 오답(등급 0 또는 판정 없음)이 된 질의."""
    broken = set()
    for query_id, scores in before.items():
        first, second = _top1(scores), _top1(after.get(query_id, {}))
        judged = qrels.get(query_id, {})
        if first is not None and second is not None and judged.get(first, 0) > 0 and judged.get(second, 0) == 0:
            broken.add(query_id)
    return broken


_BROKEN_CASES = [
    # (이름, before, after, qrels)
    (
        "1위가 정답 → 오답",
        {"q1": {"a": 2.0, "b": 1.0}},
        {"q1": {"a": 0.1, "b": 0.9}},
        {"q1": {"a": 2, "b": 0}},
    ),
    (
        "판정이 없는 문서가 1위로",
        {"q1": {"a": 2.0, "c": 1.0}},
        {"q1": {"a": 0.2, "c": 0.8}},
        {"q1": {"a": 1}},
    ),
    (
        "원래 1위가 오답이면 망친 것이 아님",
        {"q1": {"b": 2.0, "a": 1.0}},
        {"q1": {"b": 0.9, "a": 0.1}},
        {"q1": {"a": 2, "b": 0}},
    ),
    (
        "정답끼리 자리만 바뀜",
        {"q1": {"a": 2.0, "d": 1.0}, "q2": {"x": 3.0, "y": 1.0}},
        {"q1": {"a": 0.1, "d": 0.9}, "q2": {"x": 0.1, "y": 0.9}},
        {"q1": {"a": 2, "d": 1}, "q2": {"x": 1}},
    ),
]


def _reversed_run(run: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """순서를 거꾸로 뒤집은 run (채점용 '나쁜 리랭커')."""
    return {query_id: {doc_id: -score for doc_id, score in scores.items()} for query_id, scores in run.items()}


@functools.cache
def _bm25_test_run() -> dict[str, dict[str, float]]:
    from ..data import load_course_dataset, to_documents
    from ..retrieval import build_retriever, retrieval_run

    corpus, queries, _ = load_course_dataset("test")
    return retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=10), queries)


def _check_broken_by_reranker(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: broken_by_reranker(before, after, qrels)."
    from ..data import load_course_dataset

    _, _, qrels = load_course_dataset("test")
    before = {query_id: dict(scores) for query_id, scores in _bm25_test_run().items()}
    cases = list(_BROKEN_CASES)
    cases.append(("강의 test 질의: BM25 상위 10개를 거꾸로 세운 경우", before, _reversed_run(before), qrels))
    for name, before, after, judged in cases:
        expected = _reference_broken_by_reranker(before, after, judged)
        actual = answer(before, after, judged)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if isinstance(actual, (str, bytes)) or not isinstance(actual, (set, frozenset, list, tuple)):
            return f"질의 id 의 집합(set)이나 목록을 돌려주어야 합니다 (받은 값: {type(actual).__name__})."
        if set(actual) != expected:
            return f"'{name}' 에서 나와야 하는 값은 {sorted(expected)} 인데 실제 값은 {sorted(set(actual))} 입니다."
    return None


# --- 문제 4: FlashRank 를 넣은 LangChain 파이프라인 ---------------------------------------------------


def _check_pipeline(answer: object) -> str | None:
    from langchain_community.document_compressors import FlashrankRerank

    problem = pipeline_problem(answer, FlashrankRerank)
    if problem:
        return problem
    compressor = answer.base_compressor
    if not _inside_course_folders(compressor.client.model_dir):
        return (
            f"압축기가 {compressor.client.model_dir} 의 모델을 씁니다. 강의 캐시의 모델을 쓰도록 "
            "korean_reranker.as_compressor(...) 로 만드세요 (FlashrankRerank() 의 기본 폴더는 /tmp 입니다)."
        )
    if compressor.model != KOREAN_MODEL:
        return f"한국어에 쓸 다국어 모델({KOREAN_MODEL})의 압축기가 아닙니다 (받은 모델: {compressor.model})."
    return returned_documents_problem(answer.invoke("강아지 예방접종은 언제 시작하나요?"), 4)


q1 = Exercise(
    "한국어에 쓸 FlashRank 리랭커",
    _check_korean_reranker,
    "FlashRank 의 세 모델 중 MS MARCO 영어 데이터만 본 것이 둘, 여러 언어를 다루는 것이 하나입니다. "
    "load_reranker('flashrank', 모델 이름) 으로 만드세요.",
    "korean_reranker = load_reranker('flashrank', 'ms-marco-MultiBERT-L-12', max_length=MAX_LENGTH)",
)
q2 = Exercise(
    "FlashRank 가 읽는 ONNX 파일",
    _check_onnx_path,
    "korean_reranker._ranker.model_dir 가 모델 폴더이고, 그 안의 파일 이름은 "
    "flashrank.Config.model_file_map[폴더 이름] 에 있습니다.",
    "model_dir = korean_reranker._ranker.model_dir\nonnx_path = model_dir / Config.model_file_map[model_dir.name]",
)
q3 = Exercise(
    "리랭커가 망친 질의 찾기",
    _check_broken_by_reranker,
    "질의마다 before 와 after 의 1위 문서를 구하세요 (rank_documents(scores)[0]). "
    "qrels 에서 before 1위의 등급이 0보다 크고 after 1위의 등급이 0(또는 판정 없음)이면 그 질의를 모읍니다.",
    "def broken_by_reranker(before, after, qrels):\n"
    "    broken = set()\n"
    "    for query_id, scores in before.items():\n"
    "        if not scores or not after.get(query_id):\n"
    "            continue\n"
    "        first = rank_documents(scores)[0]\n"
    "        second = rank_documents(after[query_id])[0]\n"
    "        judged = qrels.get(query_id, {})\n"
    "        if judged.get(first, 0) > 0 and judged.get(second, 0) == 0:\n"
    "            broken.add(query_id)\n"
    "    return broken",
)
q4 = Exercise(
    "FlashRank 를 넣은 LangChain 파이프라인",
    _check_pipeline,
    "ContextualCompressionRetriever(base_compressor=korean_reranker.as_compressor(top_n=4), base_retriever=...)",
    "my_pipeline = ContextualCompressionRetriever(\n"
    "    base_compressor=korean_reranker.as_compressor(top_n=4),\n"
    "    base_retriever=hybrid_retriever,\n"
    ")",
)
