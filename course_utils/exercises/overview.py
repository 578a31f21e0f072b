"""00 개요 노트북의 실습 문제."""

from __future__ import annotations

from . import Exercise, is_close, pipeline_problem, returned_documents_problem


def _bm25_recall_at_5() -> float:
    from ..data import load_course_dataset, to_documents
    from ..metrics import evaluate
    from ..retrieval import build_retriever, retrieval_run

    corpus, queries, qrels = load_course_dataset("test")
    run = retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=5), queries)
    return evaluate(qrels, run, ["recall@5"])["recall@5"]


def _check_recall(answer: object) -> str | None:
    expected = _bm25_recall_at_5()
    if not is_close(answer, expected):
        return f"BM25(k=5) 의 recall@5 평균과 다릅니다. 받은 값: {answer!r}"
    return None


_RR_CASES = [
    (["d3", "d1", "d2"], {"d1"}, 0.5),
    (["d1", "d2"], {"d1", "d2"}, 1.0),
    (["d4", "d5", "d6"], {"d1"}, 0.0),
    ([], {"d1"}, 0.0),
    (["a", "b", "c", "d"], {"d", "c"}, 1 / 3),
]


def _check_reciprocal_rank(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: reciprocal_rank(ranked_ids, relevant_ids)."
    for ranked, relevant, expected in _RR_CASES:
        actual = answer(list(ranked), set(relevant))
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not is_close(actual, expected):
            return f"순위 {ranked} · 정답 {relevant} 에서 나와야 하는 값은 {expected:.4g} 인데 돌려준 값은 {actual!r} 입니다."
    return None


def _check_pipeline(answer: object) -> str | None:
    return pipeline_problem(answer) or returned_documents_problem(
        answer.invoke("강아지 예방접종은 언제 시작하나요?"), 2
    )


q1 = Exercise(
    "BM25 의 recall@5",
    _check_recall,
    "build_retriever(documents, kind='bm25', k=5) 로 검색기를 만들고 retrieval_run → evaluate(qrels, run, ['recall@5']).",
    "retriever = build_retriever(documents, kind='bm25', k=5)\n"
    "run = retrieval_run(retriever, queries)\n"
    "recall_at_5 = evaluate(qrels, run, ['recall@5'])['recall@5']",
)
q2 = Exercise(
    "역순위(reciprocal rank) 직접 구현",
    _check_reciprocal_rank,
    "ranked_ids 를 앞에서부터 보며 처음 나오는 정답의 순위(1부터)를 r 이라 하면 1/r 입니다. 없으면 0.",
    "def reciprocal_rank(ranked_ids, relevant_ids):\n"
    "    for rank, doc_id in enumerate(ranked_ids, start=1):\n"
    "        if doc_id in relevant_ids:\n"
    "            return 1 / rank\n"
    "    return 0.0",
)
q3 = Exercise(
    "리랭커를 넣은 LangChain 파이프라인",
    _check_pipeline,
    "ContextualCompressionRetriever(base_compressor=reranker.as_compressor(top_n=2), base_retriever=...)",
    "pipeline = ContextualCompressionRetriever(\n"
    "    base_compressor=reranker.as_compressor(top_n=2),\n"
    "    base_retriever=retrievers['hybrid'],\n"
    ")",
)
