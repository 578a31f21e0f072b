"""01 크로스 인코더(BGE) 노트북의 실습 문제."""

from __future__ import annotations

import math

from . import Exercise, is_close, pipeline_problem, returned_documents_problem

#: 문제 1에서 다시 세우는 질의 (말을 바꿔 쓴 질문형 질의).
Q1_QUERY_ID = "pet-t06"
#: 문제 2의 기준: 2코어 CPU, fp32 에서 XLM-R large 모양 크로스 인코더가 질의 하나의 후보 20개(256토큰)를 읽는 데 20초.
REFERENCE_SECONDS = 20.0
REFERENCE_PAIRS = 20
REFERENCE_TOKENS = 256
#: 문제 4의 질의와 조건.
Q4_QUERY = "강아지 예방접종은 언제 시작하나요?"
Q4_CANDIDATES = 10
Q4_TOP_N = 4


def _q1_documents() -> tuple[str, list[str], list[str]]:
    """(질의, 판정 문서 id 정렬 목록, 그 본문들)."""
    from ..data import document_text, load_course_dataset

    corpus, queries, qrels = load_course_dataset("test")
    doc_ids = sorted(qrels[Q1_QUERY_ID])
    return queries[Q1_QUERY_ID], doc_ids, [document_text(corpus[doc_id]) for doc_id in doc_ids]


def _check_top_document(answer: object) -> str | None:
    from ..rerankers import load_reranker

    query, doc_ids, texts = _q1_documents()
    if not isinstance(answer, str):
        return f"문서 id 문자열(예: 'pet-016')을 넣어야 합니다 (받은 값: {type(answer).__name__})."
    if answer not in doc_ids:
        return f"고른 문서({answer!r})는 질의 {Q1_QUERY_ID} 의 판정 문서가 아닙니다. 후보: {doc_ids}"
    results = load_reranker("cross-encoder").rank(query, texts)
    scores = {doc_ids[result.index]: result.score for result in results}
    best = doc_ids[results[0].index]
    # fp16 이나 잘림으로 아주 작은 점수 차이가 날 수 있으니, 1위와 거의 같은 점수면 받아 줍니다.
    if answer != best and not math.isclose(scores[answer], scores[best], abs_tol=1e-3):
        return (
            f"고른 문서({answer!r})는 1위가 아닙니다 (점수 {scores[answer]:.4f}, 1위 점수 {scores[best]:.4f}). "
            "결과의 .index 는 입력 목록에서의 위치입니다: doc_ids[results[0].index]."
        )
    return None


def reference_estimate(n_queries: float, candidates: float, tokens: float) -> float:
    """문제 2의 정답: 기준 측정값을 (질의 수 × 후보 수 × 토큰 수)에 비례해 늘리거나 줄입니다."""
    return REFERENCE_SECONDS * (n_queries * candidates / REFERENCE_PAIRS) * (tokens / REFERENCE_TOKENS)


_ESTIMATE_CASES = [(1, 20, 256), (60, 20, 256), (12, 10, 128), (5, 100, 512), (3, 7, 64)]


def _check_estimate(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: estimate_seconds(n_queries, candidates, tokens)."
    for n_queries, candidates, tokens in _ESTIMATE_CASES:
        actual = answer(n_queries, candidates, tokens)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        expected = reference_estimate(n_queries, candidates, tokens)
        if not is_close(actual, expected, tolerance=1e-6 * max(1.0, expected)):
            return (
                f"질의 {n_queries}개 × 후보 {candidates}개 × {tokens}토큰이면 {expected:.4g}초가 나와야 하는데 "
                f"돌려준 값은 {actual!r} 입니다."
            )
    return None


_LOGIT_CASES = [0.5, 0.9, 0.01, 0.999, 0.25]


def _check_to_logit(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: to_logit(probability)."
    for probability in _LOGIT_CASES:
        actual = answer(probability)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        expected = math.log(probability / (1 - probability))
        if not is_close(actual, expected, tolerance=1e-6):
            return f"확률 {probability} 의 로짓은 {expected:.4f} 인데 돌려준 값은 {actual!r} 입니다."
    return None


def _check_pipeline(answer: object) -> str | None:
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    problem = pipeline_problem(answer, CrossEncoderReranker)
    if problem:
        return problem
    candidates = answer.base_retriever.invoke(Q4_QUERY)
    if len(candidates) != Q4_CANDIDATES:
        return f"1단계 검색기가 후보 {Q4_CANDIDATES}개를 돌려줘야 하는데 {len(candidates)}개를 돌려줍니다 (k 를 확인하세요)."
    documents = answer.invoke(Q4_QUERY)
    problem = returned_documents_problem(documents, Q4_TOP_N)
    if problem:
        return problem
    # 같은 모델로 후보 전체의 점수를 다시 매겨, 돌려준 문서가 정말 상위 4개인지 확인합니다.
    scores = answer.base_compressor.model.score([(Q4_QUERY, document.page_content) for document in candidates])
    best = sorted(scores, reverse=True)[:Q4_TOP_N]
    returned = [document.metadata["relevance_score"] for document in documents]
    if not all(math.isclose(got, want, abs_tol=1e-5) for got, want in zip(returned, best, strict=True)):
        return "돌려준 문서가 후보 중 점수 상위 4개(높은 순)가 아닙니다."
    return None


q1 = Exercise(
    "rank() 로 1위 문서 찾기",
    _check_top_document,
    f"doc_ids = sorted(qrels['{Q1_QUERY_ID}']) 의 본문을 reranker.rank(질의, 본문들) 에 넣으면 결과는 점수 순입니다. "
    "results[0].index 가 입력 목록에서의 위치이므로 doc_ids[results[0].index] 가 1위 문서 id 입니다.",
    f"doc_ids = sorted(qrels['{Q1_QUERY_ID}'])\n"
    f"results = reranker.rank(queries['{Q1_QUERY_ID}'], [document_text(corpus[d]) for d in doc_ids])\n"
    "top_doc_id = doc_ids[results[0].index]",
)
q2 = Exercise(
    "후보 수 × 토큰 수로 시간 어림하기",
    _check_estimate,
    f"기준은 '쌍 {REFERENCE_PAIRS}개 × {REFERENCE_TOKENS}토큰 = {REFERENCE_SECONDS:g}초' 입니다. "
    "쌍의 수는 질의 수 × 후보 수이고, 시간은 쌍의 수와 토큰 수에 각각 비례합니다.",
    "def estimate_seconds(n_queries, candidates, tokens):\n"
    f"    return {REFERENCE_SECONDS:g} * (n_queries * candidates / {REFERENCE_PAIRS}) * (tokens / {REFERENCE_TOKENS})",
)
q3 = Exercise(
    "시그모이드 점수를 로짓으로 되돌리기",
    _check_to_logit,
    "시그모이드 p = 1 / (1 + e^(-x)) 를 x 에 대해 풀면 x = log(p / (1 - p)) 입니다.",
    "import math\n\n\ndef to_logit(probability):\n    return math.log(probability / (1 - probability))",
)
q4 = Exercise(
    "BM25 후보 10개 → 크로스 인코더 → 상위 4개 파이프라인",
    _check_pipeline,
    f"build_retriever(documents, kind='bm25', k={Q4_CANDIDATES}) 를 base_retriever 로, "
    f"reranker.as_compressor(top_n={Q4_TOP_N}) 를 base_compressor 로 넣으세요.",
    "my_pipeline = ContextualCompressionRetriever(\n"
    f"    base_compressor=reranker.as_compressor(top_n={Q4_TOP_N}),\n"
    f"    base_retriever=build_retriever(documents, kind='bm25', k={Q4_CANDIDATES}),\n"
    ")",
)
