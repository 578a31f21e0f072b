"""LLM 리스트와이즈(listwise) 리랭킹의 순수한 부분: 프롬프트, 답 파싱, 슬라이딩 윈도, 토큰·비용 계산.

RankGPT (Sun et al., 2023, arXiv:2304.09542) 방식입니다. 번호를 붙인 문단들을 LLM 에 한 번에 보여 주고
``[2] > [1] > [3]`` 같은 순열(permutation)을 받습니다. 한 번에 넣을 수 있는 문단보다 후보가 많으면 목록의 뒤에서
앞으로 창(window)을 겹쳐 가며 옮깁니다. 그러면 관련 있는 문단이 거품처럼 앞으로 올라옵니다.

LLM 의 답은 틀릴 수 있습니다. 번호가 빠지거나, 두 번 나오거나, 없는 번호가 나옵니다. ``parse_permutation`` 은
정해진 규칙으로 고치고 무엇을 고쳤는지 돌려줍니다:

1. ``[숫자]`` 를 순서대로 읽습니다. 대괄호 번호가 하나도 없으면 맨 숫자를 읽습니다.
2. 1 부터 문단 수까지가 아닌 번호(지어낸 번호)는 버립니다.
3. 두 번째 이후로 나온 같은 번호는 버립니다 (처음 자리가 남습니다).
4. 빠진 번호는 원래 순서대로 맨 뒤에 붙입니다 (LLM 이 말하지 않은 문단은 1단계의 순서를 따릅니다).

이 모듈은 네트워크도 모델도 쓰지 않습니다. 리랭커(``rerankers.llm_listwise``)와 로컬 API 서버가 함께 씁니다.

Example:
    >>> parsed = parse_permutation("[2] > [3] > [2] > [7]", count=3)
    >>> parsed.order, parsed.repeated, parsed.invented, parsed.missing
    ([1, 2, 0], [2], [7], [1])
    >>> sliding_windows(20, window=10, step=5)
    [(10, 20), (5, 15), (0, 10)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: 시스템 메시지: LLM 에게 맡기는 일.
LISTWISE_SYSTEM = (
    "당신은 검색 결과의 순위를 매기는 도우미입니다. 질의에 답하는 데 도움이 되는 순서로 문단 번호를 정렬합니다."
)
#: 문단 하나를 프롬프트에 넣을 때의 최대 글자 수 (긴 문단 하나가 창 전체의 토큰을 먹지 않게 합니다).
MAX_PASSAGE_CHARS = 500

_QUERY_LINE = re.compile(r"^질의: (?P<query>.+)$", re.MULTILINE)
_PASSAGE_LINE = re.compile(r"^\[(?P<number>\d+)\] (?P<text>.*)$", re.MULTILINE)
_BRACKETED = re.compile(r"[\[［]\s*(\d+)\s*[\]］]")
_BARE = re.compile(r"\d+")


def build_listwise_messages(
    query: str, passages: Sequence[str], max_passage_chars: int = MAX_PASSAGE_CHARS
) -> list[dict[str, str]]:
    """RankGPT 모양의 대화 메시지 (OpenAI ``messages`` 형식).

    문단은 한 줄로 펴고 ``max_passage_chars`` 글자에서 자릅니다. 질의는 문단 앞과 뒤에 한 번씩 적습니다
    (RankGPT 처럼, 긴 목록을 읽은 뒤에도 무엇을 찾는지 잊지 않게).

    Example:
        >>> messages = build_listwise_messages("강아지 예방접종 시기", ["고양이 사료", "생후 6~8주에 시작"])
        >>> print(messages[1]["content"].splitlines()[2])
        [1] 고양이 사료
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query 가 비어 있습니다. 검색할 질문을 넣으세요.")
    if isinstance(max_passage_chars, bool) or not isinstance(max_passage_chars, int) or max_passage_chars < 1:
        raise ValueError(f"max_passage_chars 는 1 이상의 정수여야 합니다 (받은 값: {max_passage_chars!r}).")
    lines = []
    for number, text in enumerate(passages, start=1):
        flat = " ".join(str(text).split())
        lines.append(f"[{number}] {flat[:max_passage_chars]}")
    query_line = " ".join(query.split())
    user = "\n".join(
        [
            f"질의: {query_line}",
            f"아래 문단 {len(lines)}개를 질의와 관련이 큰 순서로 정렬하세요.",
            *lines,
            f"질의: {query_line}",
            "답은 [2] > [1] > [3] 처럼 번호만 쓰고, 모든 번호를 한 번씩만 쓰세요. 설명은 쓰지 마세요.",
        ]
    )
    return [{"role": "system", "content": LISTWISE_SYSTEM}, {"role": "user", "content": user}]


def read_listwise_request(messages: Sequence[Mapping[str, object]]) -> tuple[str, list[str]]:
    """``build_listwise_messages`` 가 만든 대화에서 질의와 문단을 다시 읽습니다 (로컬 API 서버용).

    Raises:
        ValueError: 강의의 프롬프트 모양이 아닐 때 (무엇이 없는지 알려 줍니다).
    """
    user = next(
        (str(message.get("content", "")) for message in reversed(messages) if message.get("role") == "user"), ""
    )
    query = _QUERY_LINE.search(user)
    if query is None:
        raise ValueError("user 메시지에 '질의: ...' 줄이 없습니다. build_listwise_messages 의 프롬프트를 보내세요.")
    passages = [match["text"] for match in _PASSAGE_LINE.finditer(user)]
    if not passages:
        raise ValueError("user 메시지에 '[1] 문단' 모양의 줄이 없습니다.")
    return query["query"], passages


@dataclass(frozen=True)
class ParsedPermutation:
    """LLM 의 답에서 읽은 순열과, 고친 내용.

    Attributes:
        order: 문단 위치(0부터)를 관련도 순으로. 언제나 ``0..count-1`` 의 순열입니다.
        invented: 버린 번호 (1 부터 문단 수 밖).
        repeated: 두 번 이상 나와 뒤의 것을 버린 번호.
        missing: 답에 없어 원래 순서로 뒤에 붙인 번호.
    """

    order: list[int]
    invented: list[int]
    repeated: list[int]
    missing: list[int]

    @property
    def repaired(self) -> bool:
        """답을 고쳐야 했는지."""
        return bool(self.invented or self.repeated or self.missing)

    def describe(self) -> str:
        """고친 내용을 한 줄로 (고칠 것이 없었으면 그렇다고)."""
        if not self.repaired:
            return "답이 올바른 순열입니다."
        parts = []
        if self.invented:
            parts.append(f"없는 번호를 버림 {self.invented}")
        if self.repeated:
            parts.append(f"두 번 나온 번호의 뒤쪽을 버림 {self.repeated}")
        if self.missing:
            parts.append(f"빠진 번호를 원래 순서로 뒤에 붙임 {self.missing}")
        return "; ".join(parts)


def parse_permutation(answer: str, count: int) -> ParsedPermutation:
    """LLM 의 답을 ``count`` 개 문단의 순열로 읽습니다 (고치는 규칙은 모듈 설명에).

    Args:
        answer: LLM 이 쓴 글 (예: ``"[2] > [1] > [3]"``).
        count: 프롬프트에 넣은 문단 수.

    Example:
        >>> parse_permutation("2 > 1", count=3).order
        [1, 0, 2]
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer 는 LLM 이 쓴 문자열이어야 합니다 (받은 값: {type(answer).__name__}).")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count 는 0 이상의 정수여야 합니다 (받은 값: {count!r}).")
    numbers = [int(number) for number in _BRACKETED.findall(answer)] or [
        int(number) for number in _BARE.findall(answer)
    ]
    seen: list[int] = []
    invented, repeated = [], []
    for number in numbers:
        if not 1 <= number <= count:
            invented.append(number)
        elif number in seen:
            repeated.append(number)
        else:
            seen.append(number)
    missing = [number for number in range(1, count + 1) if number not in seen]
    return ParsedPermutation([number - 1 for number in seen + missing], invented, repeated, missing)


def sliding_windows(count: int, window: int, step: int) -> list[tuple[int, int]]:
    """목록의 뒤에서 앞으로 옮겨 가는 창들 ``(시작, 끝)`` (끝은 포함하지 않음).

    창이 ``window - step`` 개씩 겹치므로, 한 창의 앞쪽에 오른 문단은 다음 창에도 들어가 더 앞으로 갈 수
    있습니다. 마지막 창은 맨 앞의 ``window`` 개이고, 후보가 창보다 적으면 창 하나로 끝납니다. LLM 호출 수는 창의 수와 같습니다.

    Example:
        >>> sliding_windows(100, window=20, step=10)[:2], len(sliding_windows(100, window=20, step=10))
        ([(80, 100), (70, 90)], 9)
        >>> sliding_windows(7, window=20, step=10)
        [(0, 7)]
    """
    for name, value in (("count", count), ("window", window), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} 값은 정수여야 합니다 (받은 값: {value!r}).")
    if count < 0:
        raise ValueError(f"count 는 0 이상이어야 합니다 (받은 값: {count}).")
    if window < 2:
        raise ValueError(f"window 는 2 이상이어야 합니다 (받은 값: {window}). 한 번에 비교할 문단 수입니다.")
    if not 1 <= step < window:
        raise ValueError(
            f"step 은 1 이상 window({window}) 미만이어야 합니다 (받은 값: {step}). "
            "창이 겹쳐야 관련 있는 문단이 앞 창으로 올라갈 수 있습니다."
        )
    if count == 0:
        return []
    windows, end = [], count
    while True:
        start = max(0, end - window)
        if start == 0:
            # 마지막 창은 맨 앞의 window 개 전부: 앞쪽 순위가 한 번의 비교로 정해집니다.
            windows.append((0, min(window, count)))
            return windows
        windows.append((start, end))
        end -= step


def rerank_in_windows(
    count: int, window: int, step: int, rank_window: Callable[[list[int]], Sequence[int]]
) -> list[int]:
    """창마다 ``rank_window`` 로 순서를 매겨 전체 순서를 만듭니다.

    Args:
        count: 후보 수 (처음 순서는 ``0..count-1``, 곧 1단계 순서).
        rank_window: 창에 든 후보 위치들을 받아 그 창 안의 새 순서(0부터의 창 안 위치)를 돌려주는 함수.
            LLM 호출 하나가 여기에 해당합니다.

    Example:
        >>> relevance = [0, 0, 0, 0, 0, 1]  # 맨 뒤의 후보만 관련
        >>> by_relevance = lambda items: sorted(range(len(items)), key=lambda i: -relevance[items[i]])
        >>> rerank_in_windows(6, window=3, step=2, rank_window=by_relevance)[0]
        5
    """
    order = list(range(count))
    for start, end in sliding_windows(count, window, step):
        items = order[start:end]
        new_positions = list(rank_window(items))
        if sorted(new_positions) != list(range(len(items))):
            raise ValueError(
                f"rank_window 는 0..{len(items) - 1} 의 순열을 돌려줘야 합니다 (받은 값: {new_positions})."
            )
        order[start:end] = [items[position] for position in new_positions]
    return order


#: 모델별 100만 토큰당 가격 (입력, 출력; 미국 달러). OpenAI 가격표(developers.openai.com/api/docs/pricing)를
#: 옮긴 2026-06 의 자료에서 확인한 값입니다. 가격은 자주 바뀌므로 ``prices`` 인자로 덮어쓸 수 있습니다.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-5.4-mini": (0.75, 4.50),
    "gpt-5.4-nano": (0.20, 1.25),
}


@dataclass
class ListwiseUsage:
    """LLM 호출의 토큰 사용량 (질의 하나 또는 여러 질의의 합).

    Attributes:
        calls: LLM 호출 수 (창의 수).
        input_tokens, output_tokens: API 가 알려 준 토큰 수 (``usage_metadata``).
        repaired_answers: 파싱 규칙으로 고쳐야 했던 답의 수.
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    repaired_answers: int = 0

    def add(self, other: ListwiseUsage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.repaired_answers += other.repaired_answers

    def cost_usd(self, model: str, prices: Mapping[str, tuple[float, float]] = PRICES_PER_MILLION) -> float | None:
        """이 사용량의 값 (달러). 가격을 모르는 모델이면 ``None``.

        Example:
            >>> ListwiseUsage(calls=3, input_tokens=6000, output_tokens=150).cost_usd("gpt-5.4-mini")
            0.005175
        """
        if model not in prices:
            return None
        input_price, output_price = prices[model]
        return round((self.input_tokens * input_price + self.output_tokens * output_price) / 1_000_000, 9)
