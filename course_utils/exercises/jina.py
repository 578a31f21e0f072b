"""03 Jina 노트북의 실습 문제."""

from __future__ import annotations

from collections.abc import Mapping, Set

from . import Exercise, is_close

JINA_V2 = "jina-reranker-v2-base-multilingual"


def _check_v2_compressor(answer: object) -> str | None:
    from langchain_community.document_compressors import JinaRerank

    if not isinstance(answer, JinaRerank):
        return (
            f"langchain_community 의 JinaRerank 를 넣어야 합니다 (받은 값: {type(answer).__name__}). "
            "load_reranker('jina') 의 as_compressor(...) 가 JinaRerank 를 돌려줍니다."
        )
    if answer.model != JINA_V2:
        return (
            f"model 이 '{answer.model}' 입니다. 한국어에는 다국어 모델 이름을 적어야 합니다: '{JINA_V2}' "
            "(JinaRerank 의 기본값은 영어 전용 v1 모델입니다)."
        )
    if answer.top_n != 4:
        return f"문서를 4개 남겨야 하는데 top_n 이 {answer.top_n!r} 입니다."
    return None


# (응답, 보낸 순서의 문서 id, 기대하는 {문서 id: 점수})
_RESPONSE_CASES = [
    (
        {"results": [{"index": 2, "relevance_score": 0.91}, {"index": 0, "relevance_score": 0.35}]},
        ["doc-a", "doc-b", "doc-c"],
        {"doc-c": 0.91, "doc-a": 0.35},
    ),
    (
        {
            "model": JINA_V2,
            "usage": {"total_tokens": 42},
            "results": [
                {"index": 1, "relevance_score": 0.8, "document": {"text": "둘째"}},
                {"index": 3, "relevance_score": 0.5, "document": {"text": "넷째"}},
                {"index": 0, "relevance_score": 0.2, "document": {"text": "첫째"}},
                {"index": 2, "relevance_score": 0.1, "document": {"text": "셋째"}},
            ],
        },
        ["p1", "p2", "p3", "p4"],
        {"p2": 0.8, "p4": 0.5, "p1": 0.2, "p3": 0.1},
    ),
    ({"results": []}, ["x"], {}),
]


def _check_jina_scores(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: jina_scores(response, doc_ids)."
    for response, doc_ids, expected in _RESPONSE_CASES:
        actual = answer(response, list(doc_ids))
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not isinstance(actual, Mapping):
            return f"{{문서 id: 점수}} dict 를 돌려줘야 합니다 (받은 값: {type(actual).__name__})."
        if set(actual) != set(expected):
            return (
                f"문서 id 가 다릅니다. 보낸 순서 {doc_ids}, 응답의 index {[r['index'] for r in response['results']]} "
                f"에서 나와야 하는 값은 {sorted(expected)} 인데 돌려준 값은 {sorted(actual)} 입니다. "
                "index 는 응답 안의 순서가 아니라 보낸 목록에서의 위치입니다."
            )
        for doc_id, score in expected.items():
            if not is_close(actual[doc_id], score):
                return f"'{doc_id}' 의 점수가 {score} 이어야 하는데 {actual[doc_id]!r} 입니다."
    return None


# nDCG@10 은 낮아졌지만 MRR@10 은 그대로인 질의(q4)가 있어, 지표를 nDCG@10 으로 써야 맞습니다.
_HURT_QRELS = {
    "q1": {"d1": 2, "d2": 0},
    "q2": {"d3": 1, "d4": 0},
    "q3": {"d5": 2, "d6": 1},
    "q4": {"a": 1, "b": 2},
    "q5": {"e": 2},
}
_HURT_BEFORE = {
    "q1": {"d1": 2.0, "d2": 1.0},
    "q2": {"d4": 2.0, "d3": 1.0},
    "q3": {"d5": 2.0, "d6": 1.0},
    "q4": {"b": 2.0, "a": 1.0},
    "q5": {"f": 2.0, "e": 1.0},
}
_HURT_AFTER = {
    "q1": {"d2": 0.9, "d1": 0.1},
    "q2": {"d3": 0.9, "d4": 0.1},
    "q3": {"d5": 0.7, "d6": 0.6},
    "q4": {"a": 0.9, "b": 0.8},
    "q5": {"e": 0.9, "f": 0.2},
}


def _expected_hurt() -> set[str]:
    from ..metrics import evaluate

    before = evaluate(_HURT_QRELS, _HURT_BEFORE, ["ndcg@10"]).per_query
    after = evaluate(_HURT_QRELS, _HURT_AFTER, ["ndcg@10"]).per_query
    return {query_id for query_id in before if after[query_id]["ndcg@10"] < before[query_id]["ndcg@10"]}


def _check_hurt_queries(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: hurt_queries(before, after, qrels)."
    actual = answer(
        {query_id: dict(scores) for query_id, scores in _HURT_BEFORE.items()},
        {query_id: dict(scores) for query_id, scores in _HURT_AFTER.items()},
        {query_id: dict(judged) for query_id, judged in _HURT_QRELS.items()},
    )
    if actual is None:
        return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
    if isinstance(actual, (str, bytes, Mapping)) or not isinstance(actual, (Set, list, tuple)):
        return f"질의 id 의 집합(set)을 돌려줘야 합니다 (받은 값: {type(actual).__name__})."
    expected = _expected_hurt()
    if set(actual) != expected:
        return (
            f"nDCG@10 이 낮아진 질의는 {sorted(expected)} 인데 돌려준 값은 {sorted(set(actual))} 입니다. "
            "MRR 이 아니라 nDCG@10 으로, 같거나 오른 질의는 빼고 비교했는지 확인하세요."
        )
    return None


_LICENCE_ALLOWED = {"B", "C", "F"}
_LICENCE_REASONS = {
    "A": "A: 가중치를 직접 서빙해 유료 서비스에 쓰는 것은 비상업(NC) 조건에 어긋납니다.",
    "D": "D: 파인튜닝한 모델도 원래 가중치를 담고 있어 같은 비상업 조건이 따릅니다.",
    "E": "E: ONNX 변환·양자화는 형식을 바꿀 뿐 라이선스를 바꾸지 않습니다.",
}


def _check_licence(answer: object) -> str | None:
    if isinstance(answer, str):
        answer = [part for part in answer.replace(",", " ").split() if part] if len(answer) > 1 else [answer]
    if not isinstance(answer, (Set, list, tuple)) or not all(isinstance(item, str) for item in answer):
        return '문자의 집합으로 넣으세요. 예: {"A", "B"}'
    chosen = {item.strip().upper() for item in answer}
    unknown = chosen - set("ABCDEF")
    if unknown:
        return f"A–F 중에서 고르세요 (모르는 값: {sorted(unknown)})."
    wrong = sorted(chosen - _LICENCE_ALLOWED)
    if wrong:
        return " ".join(_LICENCE_REASONS[letter] for letter in wrong)
    missing = _LICENCE_ALLOWED - chosen
    if missing:
        return f"라이선스를 지키는 방법이 {len(missing)}개 더 있습니다. 9절의 대안 세 가지를 다시 보세요."
    return None


q1 = Exercise(
    "v2 다국어 모델을 쓰는 JinaRerank 압축기",
    _check_v2_compressor,
    "jina_api = load_reranker('jina') 는 이미 v2 모델을 씁니다. 그 as_compressor(top_n=...) 가 JinaRerank 를 돌려줍니다. "
    "JinaRerank 를 직접 만든다면 model= 을 꼭 적으세요 (키도 필요합니다).",
    "v2_compressor = jina_api.as_compressor(top_n=4)\n"
    "print(type(v2_compressor).__name__, v2_compressor.model, v2_compressor.top_n)",
)
q2 = Exercise(
    "/v1/rerank 응답을 문서 id → 점수로",
    _check_jina_scores,
    "response['results'] 의 각 항목에서 index 는 보낸 목록에서의 위치입니다. doc_ids[item['index']] 가 그 문서의 id.",
    "def jina_scores(response, doc_ids):\n"
    "    return {doc_ids[item['index']]: item['relevance_score'] for item in response['results']}",
)
q3 = Exercise(
    "리랭킹으로 나빠진 질의 찾기",
    _check_hurt_queries,
    "evaluate(qrels, run, ['ndcg@10']).per_query 로 질의별 값을 두 run 에 대해 구하고, after < before 인 질의만 모으세요.",
    "def hurt_queries(before, after, qrels):\n"
    "    old = evaluate(qrels, before, ['ndcg@10']).per_query\n"
    "    new = evaluate(qrels, after, ['ndcg@10']).per_query\n"
    "    return {query_id for query_id in old if new[query_id]['ndcg@10'] < old[query_id]['ndcg@10']}\n"
    "\n"
    "print(sorted(hurt_queries(eval_first_stage, api_run, eval_qrels)))",
)
q4 = Exercise(
    "CC-BY-NC-4.0 가중치를 회사 서비스에 쓸 때",
    _check_licence,
    "비상업(NC) 조건은 가중치를 어떤 형태로 바꾸어도(파인튜닝, ONNX, 양자화) 따라갑니다. "
    "가중치를 직접 쓰지 않거나, 상업적 사용 권리를 따로 얻는 방법을 고르세요.",
    'licence_choices = {"B", "C", "F"}',
)
