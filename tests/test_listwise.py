"""LLM 리스트와이즈 리랭킹의 순수한 부분: 답 파싱, 슬라이딩 윈도, 프롬프트 왕복, 토큰·비용."""

from __future__ import annotations

import itertools
import random

import pytest

from course_utils.listwise import (
    ListwiseUsage,
    build_listwise_messages,
    parse_permutation,
    read_listwise_request,
    rerank_in_windows,
    sliding_windows,
)

# (LLM 의 답, 문단 수, 기대 순서(0부터), 지어낸 번호, 두 번 나온 번호, 빠진 번호)
MALFORMED_ANSWERS = [
    ("", 3, [0, 1, 2], [], [], [1, 2, 3]),
    ("모르겠습니다.", 3, [0, 1, 2], [], [], [1, 2, 3]),
    ("[2] > [1]", 3, [1, 0, 2], [], [], [3]),
    ("[3] > [3] > [1] > [2]", 3, [2, 0, 1], [], [3], []),
    ("[4] > [1] > [2] > [3]", 3, [0, 1, 2], [4], [], []),
    ("[0] > [2] > [1] > [3]", 3, [1, 0, 2], [0], [], []),
    ("2 > 3 > 1", 3, [1, 2, 0], [], [], []),
    ("［2］ > ［1］ > ［3］", 3, [1, 0, 2], [], [], []),
    ("[ 2 ] > [ 3 ] > [ 1 ]", 3, [1, 2, 0], [], [], []),
    ("답: [3] > [1] > [2]. 3번이 가장 관련 있습니다.", 3, [2, 0, 1], [], [], []),
    ("[2]>[1]>[3]", 3, [1, 0, 2], [], [], []),
    ("[2], [3], [1]", 3, [1, 2, 0], [], [], []),
    ("[2]\n[1]\n[3]", 3, [1, 0, 2], [], [], []),
    ("[12] > [1]", 3, [0, 1, 2], [12], [], [2, 3]),
    ("[99999999999999999999] > [2]", 3, [1, 0, 2], [99999999999999999999], [], [1, 3]),
    ("[2] > [2] > [2]", 3, [1, 0, 2], [], [2, 2], [1, 3]),
    ("[-1] > [2]", 3, [1, 0, 2], [], [], [1, 3]),
    ("[1] > [2] > [3] > [4] > [5]", 2, [0, 1], [3, 4, 5], [], []),
    ("<think>3 이 좋다</think> [1] > [3] > [2]", 3, [0, 2, 1], [], [], []),
    ("[2] > [1]", 0, [], [2, 1], [], []),
]


@pytest.mark.parametrize(("answer", "count", "order", "invented", "repeated", "missing"), MALFORMED_ANSWERS)
def test_malformed_answers_are_repaired_by_the_documented_rules(answer, count, order, invented, repeated, missing):
    parsed = parse_permutation(answer, count)
    assert parsed.order == order
    assert (parsed.invented, parsed.repeated, parsed.missing) == (invented, repeated, missing)
    assert sorted(parsed.order) == list(range(count))
    assert parsed.repaired == bool(invented or repeated or missing)


def test_a_clean_answer_needs_no_repair_and_says_so():
    parsed = parse_permutation("[3] > [1] > [2]", 3)
    assert not parsed.repaired and parsed.describe() == "답이 올바른 순열입니다."
    assert "빠진 번호를 원래 순서로 뒤에 붙임 [3]" in parse_permutation("[2] > [1]", 3).describe()


@pytest.mark.parametrize(
    ("answer", "count", "error"), [(None, 3, TypeError), ("[1]", -1, ValueError), ("[1]", True, ValueError)]
)
def test_bad_parser_arguments_get_korean_errors(answer, count, error):
    with pytest.raises(error, match=r"answer|count"):
        parse_permutation(answer, count)


@pytest.mark.parametrize(
    ("count", "window", "step", "expected"),
    [
        (20, 10, 5, [(10, 20), (5, 15), (0, 10)]),
        (100, 20, 10, [(end - 20, end) for end in range(100, 19, -10)]),
        (7, 20, 10, [(0, 7)]),
        (20, 20, 10, [(0, 20)]),
        (21, 20, 10, [(1, 21), (0, 20)]),
        (9, 4, 2, [(5, 9), (3, 7), (1, 5), (0, 4)]),
        (0, 20, 10, []),
    ],
)
def test_windows_slide_from_the_back_and_end_at_the_top(count, window, step, expected):
    windows = sliding_windows(count, window, step)
    assert windows == expected
    covered = {position for start, end in windows for position in range(start, end)}
    assert covered == set(range(count))
    assert all(end - start <= window for start, end in windows)


@pytest.mark.parametrize(
    ("count", "window", "step", "word"),
    [(10, 1, 1, "window"), (10, 5, 5, "step"), (10, 5, 0, "step"), (-1, 5, 2, "count"), (10, 5.0, 2, "window")],
)
def test_bad_window_arguments_name_the_argument(count, window, step, word):
    with pytest.raises(ValueError, match=word):
        sliding_windows(count, window, step)


@pytest.mark.parametrize(("count", "window", "step"), [(20, 10, 5), (50, 20, 10), (37, 8, 3)])
def test_windows_with_a_perfect_judge_bring_the_best_to_the_top(count, window, step):
    relevance = list(range(count))
    random.Random(count).shuffle(relevance)

    def perfect_judge(items):
        return sorted(range(len(items)), key=lambda position: -relevance[items[position]])

    order = rerank_in_windows(count, window, step, perfect_judge)
    assert sorted(order) == list(range(count))
    best = sorted(range(count), key=lambda position: -relevance[position])
    # 창이 window-step 개씩 겹치므로 최상위 window-step 개는 반드시 맨 앞에 정렬되어 모입니다.
    assert order[: window - step] == best[: window - step]


def test_a_judge_that_returns_no_permutation_is_rejected():
    with pytest.raises(ValueError, match="rank_window"):
        rerank_in_windows(5, 3, 1, lambda items: [0, 0, 1])


def test_prompt_round_trips_through_the_server_reader():
    passages = ["첫 문단\n두 줄", "  둘째   문단 ", "[3] 으로 시작하는 셋째 문단" + "가" * 600]
    messages = build_listwise_messages("강아지 예방접종 시기", passages, max_passage_chars=100)
    query, read = read_listwise_request(messages)
    assert query == "강아지 예방접종 시기"
    assert read[:2] == ["첫 문단 두 줄", "둘째 문단"]
    assert len(read[2]) == 100 and len(read) == 3


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "user", "content": "안녕하세요"}], [{"role": "user", "content": "질의: 무엇\n문단 없음"}]],
)
def test_the_reader_rejects_prompts_of_another_shape(messages):
    with pytest.raises(ValueError, match=r"질의|문단"):
        read_listwise_request(messages)


def test_bad_prompt_arguments_get_korean_errors():
    with pytest.raises(ValueError, match="query"):
        build_listwise_messages("  ", ["a"])
    with pytest.raises(ValueError, match="max_passage_chars"):
        build_listwise_messages("q", ["a"], max_passage_chars=0)


def test_usage_adds_up_and_prices_known_models_only():
    total = ListwiseUsage()
    for calls, input_tokens, output_tokens in itertools.repeat((3, 2000, 40), 10):
        total.add(ListwiseUsage(calls, input_tokens, output_tokens))
    assert (total.calls, total.input_tokens, total.output_tokens) == (30, 20000, 400)
    assert total.cost_usd("gpt-5.4-nano") == pytest.approx((20000 * 0.20 + 400 * 1.25) / 1e6)
    assert total.cost_usd("my-model") is None
    assert total.cost_usd("my-model", prices={"my-model": (1.0, 2.0)}) == pytest.approx(0.0208)
