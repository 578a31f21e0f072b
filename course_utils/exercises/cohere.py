"""02 Cohere 노트북의 실습 문제."""

from __future__ import annotations

import math

from . import Exercise, is_close, pipeline_problem, returned_documents_problem

#: Cohere 과금: 검색 단위(search unit) 1개 = 질의 1개 + 문서 최대 100개.
DOCUMENTS_PER_SEARCH_UNIT = 100
#: 체험 키(trial key)의 리랭크 호출 한도 (분당).
TRIAL_CALLS_PER_MINUTE = 10
#: 2025년에 종료된 Cohere 리랭크 모델 (Cohere Deprecations 표의 종료일 2025-04-30). 이 이름으로 보낸 요청은 실패합니다.
RETIRED_MODELS = frozenset({"rerank-english-v2.0", "rerank-multilingual-v2.0"})


def expected_plan(num_queries: int, docs_per_query: int) -> tuple[int, int, int]:
    """질의마다 후보를 한 번의 호출에 모아 보낼 때의 (호출 수, 검색 단위, 체험 키로 걸리는 최소 분)."""
    if num_queries == 0 or docs_per_query == 0:
        return 0, 0, 0
    calls = num_queries
    units = num_queries * math.ceil(docs_per_query / DOCUMENTS_PER_SEARCH_UNIT)
    return calls, units, math.ceil(calls / TRIAL_CALLS_PER_MINUTE)


_PLAN_CASES = [(60, 20), (5, 250), (10, 100), (11, 101), (1, 1), (25, 1000), (0, 20), (3, 0)]


def _check_plan(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: plan_rerank_calls(num_queries, docs_per_query)."
    for num_queries, docs_per_query in _PLAN_CASES:
        actual = answer(num_queries, docs_per_query)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not isinstance(actual, (tuple, list)) or len(actual) != 3:
            return f"(호출 수, 검색 단위, 분) 세 값의 튜플을 돌려줘야 합니다 (받은 값: {actual!r})."
        expected = expected_plan(num_queries, docs_per_query)
        if not all(is_close(value, target) for value, target in zip(actual, expected, strict=True)):
            return (
                f"질의 {num_queries}개 × 문서 {docs_per_query}개에서 나와야 하는 값은 {expected} 인데 "
                f"실제 값은 {tuple(actual)} 입니다."
            )
    return None


_RESPONSE_CASES = [
    (
        {"results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.4}]},
        ["d0", "d1", "d2"],
        ["d2", "d0"],
    ),
    (
        # 순서가 뒤섞인 응답: 점수로 다시 세워야 합니다.
        {
            "results": [
                {"index": 0, "relevance_score": 0.1},
                {"index": 1, "relevance_score": 0.7},
                {"index": 2, "relevance_score": 0.3},
            ]
        },
        ["a", "b", "c"],
        ["b", "c", "a"],
    ),
    ({"id": "x", "results": [], "meta": {}}, ["a"], []),
]

_LIVE_QUERY = "강아지 예방접종은 언제 시작하나요?"
_LIVE_DOCUMENTS = {
    "pet": "강아지 기본 예방접종은 생후 6~8주에 시작합니다.",
    "cat": "고양이 사료는 나이에 맞게 고릅니다.",
    "passport": "여권을 잃어버리면 재외공관에 신고합니다.",
    "walk": "강아지 산책은 하루 두 번이 좋습니다.",
    "loan": "대출 금리는 신용 점수에 따라 달라집니다.",
}


def _live_response(top_n: int) -> dict:
    """강의의 로컬 API 서버에 실제 Cohere v2 모양 요청을 보내 응답을 받습니다."""
    import requests

    from ..rerank_server import prepare_offline_scorer, shared_offline_server

    prepare_offline_scorer()  # 처음이면 오프라인 모델을 먼저 불러, 요청이 제한 시간에 걸리지 않게 합니다.
    server = shared_offline_server()
    reply = requests.post(
        f"{server.url}/v2/rerank",
        json={
            "model": "rerank-v3.5",
            "query": _LIVE_QUERY,
            "documents": list(_LIVE_DOCUMENTS.values()),
            "top_n": top_n,
        },
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    )
    reply.raise_for_status()
    return reply.json()


def _check_ranking(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: ranking_from_response(response, doc_ids)."
    live = _live_response(top_n=3)
    live_expected = [
        list(_LIVE_DOCUMENTS)[result["index"]]
        for result in sorted(live["results"], key=lambda result: -result["relevance_score"])
    ]
    for response, doc_ids, expected in [*_RESPONSE_CASES, (live, list(_LIVE_DOCUMENTS), live_expected)]:
        actual = answer(response, list(doc_ids))
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if list(actual) != expected:
            return f"응답 {response['results']} · 문서 {doc_ids} 에서 나와야 하는 값은 {expected} 인데 실제 값은 {actual!r} 입니다."
    return None


def _check_pipeline(answer: object) -> str | None:
    from langchain_cohere import CohereRerank

    problem = pipeline_problem(answer, CohereRerank)
    if problem:
        return problem
    if answer.base_compressor.model in RETIRED_MODELS:
        return f"{answer.base_compressor.model} 모델은 2025년에 종료되었습니다. rerank-v3.5 나 v4 모델을 쓰세요."
    return returned_documents_problem(answer.invoke(_LIVE_QUERY), 2)


q1 = Exercise(
    "체험 키로 평가를 돌리는 계획 (호출 수 · 검색 단위 · 분)",
    _check_plan,
    "호출 수 = 질의 수 (질의마다 후보를 한 번에 보냄). 검색 단위 = 질의 수 × ceil(문서 수 / 100). "
    "분 = ceil(호출 수 / 10). 질의나 문서가 0개면 API 를 부르지 않으므로 (0, 0, 0). math.ceil 을 쓰세요.",
    "import math\n\n"
    "def plan_rerank_calls(num_queries, docs_per_query):\n"
    "    if num_queries == 0 or docs_per_query == 0:\n"
    "        return (0, 0, 0)\n"
    "    calls = num_queries\n"
    "    units = num_queries * math.ceil(docs_per_query / 100)\n"
    "    return (calls, units, math.ceil(calls / 10))",
)
q2 = Exercise(
    "API 응답(JSON)을 문서 순위로 바꾸기",
    _check_ranking,
    "response['results'] 의 각 항목에는 index(입력 문서의 위치)와 relevance_score 가 있습니다. "
    "relevance_score 내림차순으로 정렬한 뒤 doc_ids[item['index']] 를 차례로 모으세요.",
    "def ranking_from_response(response, doc_ids):\n"
    "    ordered = sorted(response['results'], key=lambda item: -item['relevance_score'])\n"
    "    return [doc_ids[item['index']] for item in ordered]",
)
q3 = Exercise(
    "Cohere 리랭커를 넣은 LangChain 파이프라인",
    _check_pipeline,
    "reranker = load_reranker('cohere') 의 as_compressor(top_n=2) 는 langchain_cohere.CohereRerank 입니다. "
    "ContextualCompressionRetriever(base_compressor=..., base_retriever=hybrid_retriever).",
    "my_cohere_pipeline = ContextualCompressionRetriever(\n"
    "    base_compressor=reranker.as_compressor(top_n=2),\n"
    "    base_retriever=hybrid_retriever,\n"
    ")",
)
