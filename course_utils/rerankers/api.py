"""리랭크 API 공통 부분 (Cohere, Jina): 제한 시간, 재시도, 한국어 오류, 키가 없을 때의 로컬 API 서버."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from ..env import runtime
from ..offline_models import OFFLINE_RERANKER_LABEL, announce_standin

#: 모든 API 호출의 제한 시간(초). 네트워크가 멈춰도 셀이 끝없이 기다리지 않게 합니다.
API_TIMEOUT_S = 30.0
#: 429·5xx 에 다시 보내는 최대 횟수와 기다림의 상한. 끝없이 재시도하지 않습니다.
API_MAX_RETRIES = 3
API_BACKOFF_BASE_S = 1.0
API_MAX_WAIT_S = 20.0


class RerankAPIError(RuntimeError):
    """리랭크 API 호출이 실패했을 때: 무엇이 일어났고 무엇을 하면 되는지 한국어로 알려 줍니다.

    Attributes:
        kind: ``"auth"``, ``"rate_limit"``, ``"server"``, ``"timeout"``, ``"connection"``, ``"malformed"``, ``"request"``.
        status: HTTP 상태 코드 (응답이 없었으면 ``None``).
    """

    def __init__(self, message: str, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def _api_failure(service: str, secret_name: str, kind: str, status: int | None = None) -> RerankAPIError:
    code = f" (HTTP {status})" if status else ""
    offline_hint = f"키 없이 실습하려면 {secret_name} 를 비우거나 RERANK_COURSE_OFFLINE=1 로 강의의 로컬 API 서버(오프라인 모델)를 쓰세요."
    messages = {
        "auth": f"{service} API 가 키를 받아 주지 않았습니다{code}. {secret_name} 값이 맞는지, 만료되지 않았는지 확인하세요. {offline_hint}",
        "rate_limit": f"{service} API 의 호출 한도를 넘었습니다{code}. 정해진 횟수만큼 기다렸다 다시 보냈지만 계속 거절되었습니다. "
        "1분쯤 기다린 뒤 다시 실행하고, 후보를 한 요청에 모으거나(배치) 결과를 캐시해 호출 수를 줄이세요.",
        "server": f"{service} API 서버에 오류가 났습니다{code}. 정해진 횟수만큼 다시 보냈지만 실패했습니다. 잠시 뒤 다시 실행하세요. {offline_hint}",
        "timeout": f"{service} API 가 제한 시간 안에 답하지 않았습니다. 네트워크를 확인하고 다시 실행하세요. {offline_hint}",
        "connection": f"{service} API 에 연결할 수 없습니다. 인터넷 연결(또는 base_url 주소)을 확인하세요. {offline_hint}",
        "malformed": f"{service} API 의 응답을 읽을 수 없습니다{code}. 주소가 리랭크 API 가 맞는지 확인하세요.",
        "request": f"{service} API 가 요청을 거절했습니다{code}. 모델 이름과 입력(질의, 문서)을 확인하세요.",
    }
    return RerankAPIError(messages[kind], kind, status)


def _kind_of_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server"
    return "malformed" if 200 <= status < 300 else "request"


def _api_credentials(
    secret_names: Sequence[str], api_key: str | None, base_url: str | None, replaces: str
) -> tuple[str, str | None, bool]:
    """(키, base_url, 대체 여부). ``base_url`` 을 주면 그 서버(자체 호스팅)로, 키가 없거나 오프라인이 강제되면
    로컬 API 서버(오프라인 모델)로 보냅니다."""
    from ..env import get_secret
    from ..rerank_server import prepare_offline_scorer, shared_offline_server

    key = api_key or next((value for name in secret_names if (value := get_secret(name))), None)
    if base_url is not None:
        # vLLM 같은 자체 호스팅 서버는 키를 검사하지 않을 수 있어, 키가 없으면 자리표시 값을 보냅니다.
        return key or "no-key", base_url.rstrip("/"), False
    if key and not runtime().forced_offline:
        return key, None, False
    server = shared_offline_server()
    # 오프라인 모델을 지금 준비해 둡니다. 첫 API 요청 안에서 만들면 요청 제한 시간(30초)을 넘길 수 있습니다.
    prepare_offline_scorer()
    reason = "오프라인이 강제되었습니다" if key else f"{secret_names[0]} 가 없습니다"
    announce_standin(replaces, f"로컬 리랭크 API 서버({server.url})의 {OFFLINE_RERANKER_LABEL}", reason)
    return server.api_key, server.url, True


def _scores_by_index(results: Sequence[Mapping], count: int) -> list[float]:
    scores = [0.0] * count
    for result in results:
        scores[result["index"]] = float(result["relevance_score"])
    return scores


class _TimeoutSession:
    """``JinaRerank`` 의 requests 세션 대신 씁니다: 모든 요청에 제한 시간을 걸고, 429·5xx 는 ``Retry-After`` 를
    따라 정해진 횟수만 다시 보내며, 실패는 ``RerankAPIError`` 로 바꿉니다. ``base_url`` 을 주면 그 서버로 보냅니다."""

    def __init__(self, api_key: str, base_url: str | None, timeout: float = API_TIMEOUT_S) -> None:
        import requests

        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Content-type": "application/json", "user-agent": "reranker-course"}
        )
        self._base_url = base_url
        self._timeout = timeout

    def _wait_seconds(self, response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        wait = float(retry_after) if retry_after.strip().isdigit() else API_BACKOFF_BASE_S * 2**attempt
        return min(wait, API_MAX_WAIT_S)

    def post(self, url: str, **kwargs):
        import requests

        if self._base_url is not None:
            url = f"{self._base_url}/v1/rerank"
        kwargs.setdefault("timeout", self._timeout)
        for attempt in range(API_MAX_RETRIES + 1):
            try:
                response = self._session.post(url, **kwargs)
            except requests.Timeout:
                raise _api_failure("Jina", "JINA_API_KEY", "timeout") from None
            except requests.ConnectionError:
                raise _api_failure("Jina", "JINA_API_KEY", "connection") from None
            kind = _kind_of_status(response.status_code) if response.status_code != 200 else None
            if kind in ("rate_limit", "server") and attempt < API_MAX_RETRIES:
                time.sleep(self._wait_seconds(response, attempt))
                continue
            if kind:
                raise _api_failure("Jina", "JINA_API_KEY", kind, response.status_code)
            try:
                response.json()
            except ValueError:
                raise _api_failure("Jina", "JINA_API_KEY", "malformed", response.status_code) from None
            return response
        raise AssertionError("unreachable: the loop returns or raises")
