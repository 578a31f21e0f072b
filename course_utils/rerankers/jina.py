"""백엔드 ``jina``: Jina Reranker API 를 LangChain ``JinaRerank`` 로 부릅니다 (키가 없으면 로컬 API 서버로)."""

from __future__ import annotations

from langchain_core.documents import BaseDocumentCompressor

from ..offline_models import OFFLINE_RERANKER_LABEL
from .api import API_TIMEOUT_S, _api_credentials, _api_failure, _scores_by_index, _TimeoutSession
from .base import Reranker, _check_positive, _community_class, register_backend

#: Jina 리랭크 API 주소 (``langchain_community`` 의 ``JINA_API_URL`` 과 같음).
JINA_API_URL = "https://api.jina.ai/v1/rerank"


@register_backend(
    "jina",
    default_model="jina-reranker-v2-base-multilingual",
    models=("jina-reranker-v2-base-multilingual", "jina-reranker-v3", "jina-reranker-m0"),
    summary="Jina Reranker API (langchain_community JinaRerank). 공개 가중치는 cross-encoder 백엔드로",
    pip_packages=("requests",),
)
class JinaBackend(Reranker):
    """Jina Reranker API. ``JINA_API_KEY`` 가 없으면 같은 ``JinaRerank`` 클래스가 로컬 API 서버(``/v1/rerank``, 오프라인 모델)로
    요청을 보냅니다. 같은 공개 가중치를 내 컴퓨터에서 돌리려면
    ``load_reranker("cross-encoder", "jinaai/jina-reranker-v2-base-multilingual")`` 을 쓰세요 (CC-BY-NC-4.0).

    Args:
        model: Jina 리랭크 모델 이름 (자체 호스팅 서버라면 그 서버의 모델 이름).
        api_key: 직접 넘기는 키.
        base_url: Jina·vLLM ``/v1/rerank`` 모양의 자체 호스팅 서버 주소.
        timeout: 요청 하나의 제한 시간(초).
    """

    def __init__(
        self, model: str, api_key: str | None = None, base_url: str | None = None, timeout: float = API_TIMEOUT_S
    ) -> None:
        self.model = model
        key, url, self.is_standin = _api_credentials(("JINA_API_KEY",), api_key, base_url, f"Jina {model}")
        self.runs = OFFLINE_RERANKER_LABEL if self.is_standin else ""
        self.device = "로컬 API" if self.is_standin else ("자체 호스팅 API" if base_url else "api")
        self._key = key
        self._session = _TimeoutSession(key, url, timeout=timeout)

    def _compressor(self, top_n: int | None):
        """LangChain ``JinaRerank`` (세션만 강의의 것으로). ``langchain-community`` 가 없으면 ``None``."""
        JinaRerank = _community_class("document_compressors", "JinaRerank", "jina")
        if JinaRerank is None:
            return None
        compressor = JinaRerank(jina_api_key=self._key, model=self.model, top_n=top_n)
        compressor.session = self._session
        return compressor

    def _score(self, query: str, texts: list[str]) -> list[float]:
        compressor = self._compressor(None)
        if compressor is not None:
            return _scores_by_index(compressor.rerank(texts, query, top_n=None), len(texts))
        # JinaRerank 와 같은 요청·응답 모양 (POST /v1/rerank, {"results": [{"index", "relevance_score"}]}).
        body = {"query": query, "documents": texts, "model": self.model, "top_n": None}
        reply = self._session.post(JINA_API_URL, json=body).json()
        if not isinstance(reply, dict) or not isinstance(reply.get("results"), list):
            raise _api_failure("Jina", "JINA_API_KEY", "malformed", 200)
        return _scores_by_index(reply["results"], len(texts))

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        compressor = self._compressor(_check_positive("top_n", top_n))
        return compressor if compressor is not None else super().as_compressor(top_n)
