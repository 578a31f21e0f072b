"""백엔드 ``llm-listwise``: RankGPT 방식의 LLM 리스트와이즈 리랭킹 (``langchain_openai.ChatOpenAI``).

번호 붙은 문단을 보여 주고 순열을 받아, 창을 뒤에서 앞으로 옮기며 전체 순서를 만듭니다
(프롬프트·파싱·창 계산은 ``course_utils.listwise``). 키가 없거나 오프라인이 강제되면 같은 ``ChatOpenAI`` 가
로컬 API 서버의 ``/v1/chat/completions`` 로 요청을 보내고, 서버는 오프라인 모델의 순서를 순열로 답합니다.
"""

from __future__ import annotations

from ..listwise import (
    MAX_PASSAGE_CHARS,
    ListwiseUsage,
    build_listwise_messages,
    parse_permutation,
    rerank_in_windows,
    sliding_windows,
)
from ..offline_models import OFFLINE_RERANKER_LABEL
from .api import API_MAX_RETRIES, API_TIMEOUT_S, _api_credentials, _api_failure, _kind_of_status
from .base import Reranker, _check_positive, register_backend

#: 대체 모델일 때 실제로 답하는 것.
LISTWISE_STANDIN_LABEL = f"{OFFLINE_RERANKER_LABEL} 의 점수 순서를 순열로 답하는 로컬 채팅 API"


def _openai_failure(error: Exception):
    """openai SDK 의 예외를 강의의 ``RerankAPIError`` 로 바꿉니다 (SDK 가 정해진 횟수만큼 다시 보낸 뒤)."""
    import openai

    if isinstance(error, openai.APITimeoutError):
        return _api_failure("OpenAI", "OPENAI_API_KEY", "timeout")
    if isinstance(error, openai.APIConnectionError):
        return _api_failure("OpenAI", "OPENAI_API_KEY", "connection")
    if isinstance(error, openai.APIStatusError):
        return _api_failure("OpenAI", "OPENAI_API_KEY", _kind_of_status(error.status_code), error.status_code)
    return _api_failure("OpenAI", "OPENAI_API_KEY", "malformed")


@register_backend(
    "llm-listwise",
    default_model="gpt-5.4-mini",
    models=("gpt-5.4-mini", "gpt-5.4-nano"),
    summary="LLM 리스트와이즈 리랭킹 (RankGPT 방식, langchain_openai.ChatOpenAI)",
    pip_packages=("langchain-openai",),
)
class LLMListwiseBackend(Reranker):
    """LLM 에게 후보의 순서를 묻는 리랭커. 점수는 순위에서 만든 값(``1 - 순위/문서 수``)이며 관련도가 아닙니다.

    Args:
        model: OpenAI 채팅 모델 이름 (자체 호스팅 서버라면 그 서버의 모델 이름).
        api_key: 직접 넘기는 키 (보통은 ``get_secret("OPENAI_API_KEY")`` 가 읽습니다).
        base_url: OpenAI 모양(``/v1/chat/completions``)의 자체 호스팅 서버 주소 (예: ``http://호스트:8000/v1``).
        window: 한 번에 LLM 에 보여 줄 문단 수.
        step: 창을 옮기는 폭 (``window`` 보다 작아야 문단이 앞 창으로 올라갑니다).
        max_passage_chars: 문단 하나에서 보여 줄 최대 글자 수.
        timeout: 요청 하나의 제한 시간(초).
        max_retries: 429·5xx·시간 초과에 SDK 가 다시 보내는 최대 횟수.

    Attributes:
        last_usage: 마지막 ``rank`` 의 호출 수, 토큰 수, 고친 답의 수.
        total_usage: 이 리랭커로 한 모든 ``rank`` 의 합.
        last_repairs: 마지막 ``rank`` 에서 고친 답의 설명들.
    """

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        window: int = 20,
        step: int = 10,
        max_passage_chars: int = MAX_PASSAGE_CHARS,
        timeout: float = API_TIMEOUT_S,
        max_retries: int = API_MAX_RETRIES,
    ) -> None:
        from langchain_openai import ChatOpenAI

        sliding_windows(0, window, step)  # window·step 을 지금 검사합니다
        self.window, self.step = window, step
        self.max_passage_chars = _check_positive("max_passage_chars", max_passage_chars)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries 는 0 이상의 정수여야 합니다 (받은 값: {max_retries!r}).")
        self.model = model
        key, url, self.is_standin = _api_credentials(("OPENAI_API_KEY",), api_key, base_url, f"OpenAI {model}")
        if self.is_standin:
            url = f"{url}/v1"
        self.runs = LISTWISE_STANDIN_LABEL if self.is_standin else ""
        self.device = "로컬 API" if self.is_standin else ("자체 호스팅 API" if base_url else "api")
        self._chat = ChatOpenAI(
            model=model, api_key=key, base_url=url, timeout=timeout, max_retries=max_retries, temperature=0
        )
        self.last_usage, self.total_usage = ListwiseUsage(), ListwiseUsage()
        self.last_repairs: list[str] = []

    def _ask(self, query: str, texts: list[str], items: list[int]) -> list[int]:
        """창 하나를 LLM 에 묻고, 답을 순열로 읽습니다."""
        import openai

        messages = build_listwise_messages(query, [texts[item] for item in items], self.max_passage_chars)
        try:
            reply = self._chat.invoke([(message["role"], message["content"]) for message in messages])
        except (openai.OpenAIError, ValueError) as error:
            raise _openai_failure(error) from None
        usage = reply.usage_metadata or {}
        parsed = parse_permutation(reply.content if isinstance(reply.content, str) else "", len(items))
        self.last_usage.add(
            ListwiseUsage(1, usage.get("input_tokens", 0), usage.get("output_tokens", 0), int(parsed.repaired))
        )
        if parsed.repaired:
            self.last_repairs.append(parsed.describe())
        return parsed.order

    def _score(self, query: str, texts: list[str]) -> list[float]:
        self.last_usage, self.last_repairs = ListwiseUsage(), []
        order = rerank_in_windows(len(texts), self.window, self.step, lambda items: self._ask(query, texts, items))
        self.total_usage.add(self.last_usage)
        return [1 - order.index(position) / len(texts) for position in range(len(texts))]
