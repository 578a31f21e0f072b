"""06 최신 리랭커 노트북의 실습 문제."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..listwise import parse_permutation, sliding_windows
from . import Exercise


def _check_calls(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: llm_calls(count, window, step)."
    for count, window, step in [(20, 20, 10), (20, 10, 5), (100, 20, 10), (7, 20, 10), (21, 20, 10), (0, 20, 10)]:
        expected = len(sliding_windows(count, window, step))
        actual = answer(count, window, step)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if actual != expected:
            return (
                f"후보 {count}개, 창 {window}, 폭 {step} 이면 LLM 을 {expected}번 부르는데 돌려준 값은 {actual!r} 입니다. "
                "창은 뒤에서 시작해 폭만큼 앞으로 옮기고, 창의 시작이 0 에 닿으면 끝납니다."
            )
    return None


def _check_cost(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: dollars(input_tokens, output_tokens, input_price, output_price)."
    cases = [(3000, 80, 0.75, 4.50), (6200, 160, 0.20, 1.25), (0, 0, 1.0, 1.0), (1_000_000, 0, 0.75, 4.50)]
    for input_tokens, output_tokens, input_price, output_price in cases:
        expected = (input_tokens * input_price + output_tokens * output_price) / 1_000_000
        actual = answer(input_tokens, output_tokens, input_price, output_price)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not isinstance(actual, (int, float)) or not math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12):
            return (
                f"입력 {input_tokens}토큰, 출력 {output_tokens}토큰, 가격 {input_price}·{output_price}달러(100만 토큰당) 이면 "
                f"{expected:.6f}달러인데 돌려준 값은 {actual!r} 입니다. 가격은 100만 토큰당 값입니다."
            )
    return None


def _check_repaired_order(answer: object) -> str | None:
    expected = parse_permutation("[2] > [4] > [2] > [9]", 4).order
    if answer is None:
        return "답을 넣으세요: 0부터 센 위치의 목록 (예: [0, 1, 2, 3])."
    if not isinstance(answer, Sequence) or isinstance(answer, str):
        return f"위치의 목록을 넣어야 합니다 (받은 값: {type(answer).__name__})."
    if list(answer) != expected:
        return (
            f"넣은 답({list(answer)})은 정답이 아닙니다. 없는 번호 [9] 는 버리고, 두 번째 [2] 도 버리고, 빠진 번호는 원래 순서로 "
            "뒤에 붙입니다. 답은 1부터 센 번호이고 목록은 0부터 센 위치입니다."
        )
    return None


q1 = Exercise(
    "슬라이딩 윈도의 LLM 호출 수",
    _check_calls,
    "후보가 창보다 많지 않으면 1번입니다. 그 밖에는 end = count 에서 시작해 start = max(0, end - window) 를 구하고, "
    "start 가 0 이 될 때까지 end 를 step 만큼 줄이며 셉니다.",
    "def llm_calls(count, window, step):\n"
    "    if count == 0:\n"
    "        return 0\n"
    "    calls, end = 1, count\n"
    "    while end - window > 0:\n"
    "        calls += 1\n"
    "        end -= step\n"
    "    return calls",
)
q2 = Exercise(
    "LLM 리랭킹의 질의당 비용",
    _check_cost,
    "가격은 100만 토큰당 달러입니다: 토큰 수 × 가격 ÷ 1,000,000 을 입력과 출력에 따로 계산해 더합니다.",
    "def dollars(input_tokens, output_tokens, input_price, output_price):\n"
    "    return (input_tokens * input_price + output_tokens * output_price) / 1_000_000",
)
q3 = Exercise(
    "잘못된 LLM 답 고치기",
    _check_repaired_order,
    "번호를 차례로 읽으며 1–4 밖의 번호와 이미 나온 번호를 버립니다. 남은 번호 뒤에 빠진 번호를 작은 것부터 붙이고, "
    "끝으로 모두 1 을 빼서 0부터 센 위치로 바꿉니다.",
    "answer = [1, 3, 0, 2]",
)
