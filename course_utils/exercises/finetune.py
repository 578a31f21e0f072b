"""07 미세 조정 노트북의 실습 문제."""

from __future__ import annotations

from collections.abc import Sequence

from . import Exercise

# (질의별 판정, 캐낸 오답 id) → 판정에서 관련(등급 ≥ 1)인 것만: 거짓 오답(false negative)
_FALSE_NEGATIVE_CASES = [
    ({"q1": {"a": 2, "b": 1, "c": 0}}, [("q1", "b"), ("q1", "c"), ("q1", "z")], [("q1", "b")]),
    ({"q1": {"a": 2}, "q2": {"d": 2, "e": 1}}, [("q1", "x"), ("q2", "e"), ("q2", "d")], [("q2", "e"), ("q2", "d")]),
    ({"q1": {"a": 2}}, [], []),
]


def _check_false_negatives(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: false_negatives(qrels, mined)."
    for qrels, mined, expected in _FALSE_NEGATIVE_CASES:
        actual = answer(qrels, list(mined))
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not isinstance(actual, Sequence) or isinstance(actual, str):
            return f"(질의 id, 문서 id) 목록을 돌려줘야 합니다 (받은 값: {type(actual).__name__})."
        if [tuple(item) for item in actual] != expected:
            return (
                f"판정 {qrels}, 캐낸 오답 {mined} 에서 나와야 하는 값은 {expected} 인데 돌려준 값은 {list(actual)} 입니다. "
                "등급 0 은 일부러 넣은 오답이라 괜찮고, 판정이 없는 문서는 알 수 없으므로 세지 않습니다. "
                "등급 1 이상만 거짓 오답입니다 (캐낸 순서를 지키세요)."
            )
    return None


def _check_steps_for_epochs(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: steps_for_epochs(pairs, batch_size, epochs)."
    for pairs, batch_size, epochs, expected in [(80, 16, 1, 5), (80, 16, 3, 15), (60, 16, 2, 8), (10, 32, 1, 1)]:
        actual = answer(pairs, batch_size, epochs)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if actual != expected:
            return (
                f"쌍 {pairs}개, 배치 {batch_size}, {epochs}에포크면 {expected}걸음인데 돌려준 값은 {actual!r} 입니다. "
                "마지막 배치는 덜 차도 한 걸음입니다."
            )
    return None


def _check_verdict_function(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: verdict(change, low, high)."
    cases = [
        (0.05, 0.01, 0.09, "나아짐"),
        (0.03, -0.001, 0.068, "판단할 수 없음"),
        (-0.04, -0.08, -0.002, "나빠짐"),
        (0.0, -0.02, 0.02, "판단할 수 없음"),
    ]
    for change, low, high, expected in cases:
        actual = answer(change, low, high)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if actual != expected:
            return (
                f"차이 {change:+.3f}, 95% 구간 [{low:+.3f}, {high:+.3f}] 이면 '{expected}' 인데 돌려준 값은 {actual!r} 입니다. "
                "평균이 아니라 구간이 0을 포함하는지로 정합니다."
            )
    return None


q1 = Exercise(
    "캐낸 오답 가운데 거짓 오답 찾기",
    _check_false_negatives,
    "qrels[질의 id].get(문서 id, 0) 이 1 이상이면 그 문서는 판정상 관련 문서입니다. 판정에 없는 문서(.get 의 기본값 0)는 세지 않습니다.",
    "def false_negatives(qrels, mined):\n"
    "    return [(query_id, doc_id) for query_id, doc_id in mined if qrels.get(query_id, {}).get(doc_id, 0) >= 1]",
)
q2 = Exercise(
    "에포크 수로 학습 걸음 수 정하기",
    _check_steps_for_epochs,
    "한 에포크는 모든 쌍을 한 번씩 보는 것이고, 한 걸음은 배치 하나입니다. 올림 나눗셈은 math.ceil(a / b) 또는 -(-a // b).",
    "import math\n\n\ndef steps_for_epochs(pairs, batch_size, epochs):\n    return math.ceil(pairs / batch_size) * epochs",
)
q3 = Exercise(
    "짝지은 구간으로 전후 판정하기",
    _check_verdict_function,
    "구간의 하한이 0보다 크면 나아짐, 상한이 0보다 작으면 나빠짐, 구간이 0을 포함하면 판단할 수 없음입니다.",
    "def verdict(change, low, high):\n"
    "    if low > 0:\n"
    "        return '나아짐'\n"
    "    if high < 0:\n"
    "        return '나빠짐'\n"
    "    return '판단할 수 없음'",
)
