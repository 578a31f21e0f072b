"""백엔드 ``cohere``: Cohere Rerank API 를 ``langchain_cohere.CohereRerank`` (``cohere.ClientV2``) 로 부릅니다."""

from __future__ import annotations

import functools

from langchain_core.documents import BaseDocumentCompressor

from ..offline_models import OFFLINE_RERANKER_LABEL
from .api import API_TIMEOUT_S, _api_credentials, _api_failure, _kind_of_status, _scores_by_index
from .base import Reranker, _check_positive, register_backend


@functools.cache
def _course_cohere_rerank_class():
    """``langchain_cohere.CohereRerank`` 에 두 가지만 더한 하위 클래스 (LangChain 경로는 그대로):
    실패를 ``RerankAPIError`` 로 바꾸고, ``max_tokens_per_doc`` 을 파이프라인 요청에도 넣습니다."""
    import httpx
    from cohere.core.api_error import ApiError
    from langchain_cohere import CohereRerank

    class CourseCohereRerank(CohereRerank):
        max_tokens_per_doc: int | None = None

        def rerank(self, documents, query, **kwargs):
            kwargs.setdefault("max_tokens_per_doc", self.max_tokens_per_doc)
            if kwargs["max_tokens_per_doc"] is None:
                del kwargs["max_tokens_per_doc"]
            # cohere SDK 가 429·5xx 를 Retry-After 에 맞춰 최대 2번 다시 보낸 뒤에도 실패하면 여기로 옵니다.
            try:
                return super().rerank(documents, query, **kwargs)
            except ApiError as error:
                status = error.status_code or 0
                raise _api_failure("Cohere", "COHERE_API_KEY", _kind_of_status(status), status) from None
            except httpx.TimeoutException:
                raise _api_failure("Cohere", "COHERE_API_KEY", "timeout") from None
            except httpx.TransportError:
                raise _api_failure("Cohere", "COHERE_API_KEY", "connection") from None

    return CourseCohereRerank


@register_backend(
    "cohere",
    default_model="rerank-v4.0-fast",
    models=("rerank-v4.0-fast", "rerank-v4.0-pro", "rerank-v3.5", "rerank-multilingual-v3.0"),
    summary="Cohere Rerank API (langchain_cohere.CohereRerank, cohere.ClientV2)",
    pip_packages=("langchain-cohere", "cohere"),
)
class CohereBackend(Reranker):
    """Cohere Rerank API. ``COHERE_API_KEY`` (또는 ``CO_API_KEY``) 가 없으면 같은 ``CohereRerank`` 클래스가
    로컬 API 서버(``/v2/rerank``, 오프라인 모델)로 요청을 보냅니다. 점수는 0–1 관련도입니다.

    Args:
        model: Cohere 리랭크 모델 이름 (자체 호스팅 서버라면 그 서버의 모델 이름).
        api_key: 직접 넘기는 키 (보통은 ``get_secret`` 이 환경 변수나 Colab 보안 비밀에서 읽습니다).
        base_url: Cohere v2 모양의 자체 호스팅 서버 주소 (예: vLLM ``http://호스트:8000``).
        max_tokens_per_doc: 문서 하나에서 읽을 최대 토큰 수 (넘으면 서버가 자릅니다).
        timeout: 요청 하나의 제한 시간(초). 429·5xx 는 SDK 가 최대 2번 다시 보냅니다.
    """

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens_per_doc: int = 4096,
        timeout: float = API_TIMEOUT_S,
    ) -> None:
        import cohere

        if model.endswith("-v2.0"):
            raise ValueError(
                f"model 에 준 '{model}' 모델은 2025-04-30 에 종료되었습니다. rerank-v3.5 이후 모델을 쓰세요."
            )
        self.model = model
        self.max_tokens_per_doc = _check_positive("max_tokens_per_doc", max_tokens_per_doc)
        key, url, self.is_standin = _api_credentials(
            ("COHERE_API_KEY", "CO_API_KEY"), api_key, base_url, f"Cohere {model}"
        )
        self.runs = OFFLINE_RERANKER_LABEL if self.is_standin else ""
        self.device = "로컬 API" if self.is_standin else ("자체 호스팅 API" if base_url else "api")
        self._client = cohere.ClientV2(api_key=key, base_url=url, timeout=timeout, client_name="reranker-course")

    def _compressor(self, top_n: int | None):
        return _course_cohere_rerank_class()(
            client=self._client, model=self.model, top_n=top_n, max_tokens_per_doc=self.max_tokens_per_doc
        )

    def _score(self, query: str, texts: list[str]) -> list[float]:
        return _scores_by_index(self._compressor(None).rerank(texts, query, top_n=None), len(texts))

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        return self._compressor(_check_positive("top_n", top_n))
