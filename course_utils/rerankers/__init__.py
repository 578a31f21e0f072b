"""모든 리랭커를 같은 모양으로 쓰는 인터페이스.

``load_reranker(backend, model=None, **options)`` 로 만들고, ``rank(query, documents, top_n)`` 으로
점수 순 결과를 받거나, ``as_compressor(top_n)`` 으로 LangChain 파이프라인에 끼웁니다.

백엔드는 모듈 하나에 하나씩 있습니다 (``feature_ltr``, ``cross_encoder``, ``cohere``, ``jina``, ``flashrank``,
``llm_listwise``, ``causal_lm``).
새 백엔드를 더할 때는 ``@register_backend`` 가 붙은 클래스를 담은 모듈 하나를 만들고, 아래 가져오기 목록에
한 줄을 더합니다.

Example:
    >>> reranker = load_reranker("feature-ltr")
    >>> documents = ["고양이 사료 고르기", "강아지 예방접종은 생후 6~8주에 시작합니다."]
    >>> results = reranker.rank("강아지 예방접종 시기", documents)
    >>> results[0].index
    1
"""

from .api import API_TIMEOUT_S, RerankAPIError
from .base import (
    BACKENDS,
    BackendSpec,
    DocumentLike,
    RankedResults,
    RankResult,
    Reranker,
    RerankerCompressor,
    list_backends,
    load_reranker,
    register_backend,
)

# 백엔드 레지스트리: 모듈을 불러오면 그 백엔드가 등록됩니다.
from .feature_ltr import FeatureLTRReranker, LexicalFeatures  # isort: skip
from .cross_encoder import CROSS_ENCODER_MODELS, REMOTE_CODE_MODELS, CrossEncoderBackend  # isort: skip
from .cohere import CohereBackend  # isort: skip
from .jina import JinaBackend  # isort: skip
from .flashrank import FLASHRANK_MODELS, FlashRankBackend, download_flashrank_model  # isort: skip
from .llm_listwise import LLMListwiseBackend  # isort: skip
from .causal_lm import CausalLMBackend  # isort: skip

__all__ = [
    "API_TIMEOUT_S",
    "BACKENDS",
    "CROSS_ENCODER_MODELS",
    "FLASHRANK_MODELS",
    "REMOTE_CODE_MODELS",
    "BackendSpec",
    "CausalLMBackend",
    "CohereBackend",
    "CrossEncoderBackend",
    "DocumentLike",
    "FeatureLTRReranker",
    "FlashRankBackend",
    "JinaBackend",
    "LLMListwiseBackend",
    "LexicalFeatures",
    "RankResult",
    "RankedResults",
    "RerankAPIError",
    "Reranker",
    "RerankerCompressor",
    "download_flashrank_model",
    "list_backends",
    "load_reranker",
    "register_backend",
]
