"""오프라인 모델로 잰 데이터셋 점검, 1단계 검색과 리랭킹 표 (README 의 표)를 강의 test 질의 전체로 다시 잽니다.

사용법: RERANK_COURSE_OFFLINE=1 python scripts/offline_quality.py  (2코어 CPU 에서 5분 안팎)
"""

import random
import time

from course_utils.data import load_course_dataset, to_documents
from course_utils.evaluation import ceiling_run, check_course_dataset, course_evaluation
from course_utils.metrics import bootstrap_interval, evaluate
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever, get_embeddings, retrieval_run, search

CANDIDATES = 20
METRICS = ("ndcg@10", "recall@20")


def row(name, result, baseline=None):
    cells = []
    for metric in METRICS:
        low, high = bootstrap_interval(result, metric)
        cell = f"{result[metric]:.3f} [{low:.3f}, {high:.3f}]"
        if baseline is not None and metric == "ndcg@10":
            low, high = bootstrap_interval(result, metric, baseline=baseline)
            cell += f" (차이 {result[metric] - baseline[metric]:+.3f} [{low:+.3f}, {high:+.3f}])"
        cells.append(cell)
    print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    corpus, queries, qrels = load_course_dataset("test")
    documents = to_documents(corpus)
    embeddings = get_embeddings()
    print(check_course_dataset(embeddings).describe())
    print(course_evaluation(embeddings=embeddings).describe(), "(노트북들이 함께 쓰는 기준선)")
    print(f"\ntest 질의 {len(queries)}개, 문단 {len(corpus)}개, 후보 {CANDIDATES}개, 괄호는 부트스트랩 95% 구간\n")
    print("| 1단계 검색 | nDCG@10 | recall@20 |\n|---|---|---|")
    for kind in ("vector", "bm25", "hybrid"):
        retriever = build_retriever(documents, kind=kind, k=CANDIDATES, embeddings=embeddings)
        row(kind, evaluate(qrels, retrieval_run(retriever, queries, k=CANDIDATES), METRICS))
    hybrid = build_retriever(documents, kind="hybrid", k=CANDIDATES, embeddings=embeddings)
    candidates = {query_id: search(hybrid, query)[:CANDIDATES] for query_id, query in queries.items()}
    first = {qid: {d.metadata["id"]: float(len(ds) - r) for r, d in enumerate(ds)} for qid, ds in candidates.items()}
    baseline = evaluate(qrels, first, METRICS)
    rng = random.Random(0)
    shuffled = {
        qid: dict(zip(scores, rng.sample(range(len(scores)), len(scores)), strict=True))
        for qid, scores in first.items()
    }
    perfect = ceiling_run(first, qrels)
    print("\n| 하이브리드 상위 20개를 다시 세우기 | nDCG@10 (1단계 대비 차이) | recall@20 |\n|---|---|---|")
    row("1단계 순서 그대로", baseline)
    row("무작위 순서 (씨앗 0)", evaluate(qrels, shuffled, METRICS), baseline)
    row("완벽한 순서 (판정으로 정렬, 천장)", evaluate(qrels, perfect, METRICS), baseline)
    for backend in ("feature-ltr", "cross-encoder"):
        reranker = load_reranker(backend)
        started = time.perf_counter()
        reranked = {
            qid: {r.document.metadata["id"]: r.score for r in reranker.rank(queries[qid], docs)}
            for qid, docs in candidates.items()
        }
        seconds = time.perf_counter() - started
        label = reranker.runs if reranker.is_standin else f"{backend}: {reranker.model}"
        row(f"{label} ({seconds / len(queries):.2f}초/질의)", evaluate(qrels, reranked, METRICS), baseline)


if __name__ == "__main__":
    main()
