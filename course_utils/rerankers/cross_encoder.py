"""백엔드 ``cross-encoder``: 허브의 크로스 인코더를 sentence-transformers ``CrossEncoder`` 로 씁니다
(LangChain 파이프라인에는 ``HuggingFaceCrossEncoder`` 에 씌운 ``CrossEncoderReranker`` 로). 모델을 찾지 못하면
같은 코드 경로로 오프라인 모델을 씁니다.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from ..env import quiet_model_loading, runtime
from ..offline_models import OFFLINE_RERANKER_LABEL, announce_standin, cross_encoder_path
from .base import Reranker, _check_positive, _community_class, _warn_truncated, register_backend

CROSS_ENCODER_MODELS = (
    "BAAI/bge-reranker-v2-m3",
    "BAAI/bge-reranker-base",
    "BAAI/bge-reranker-large",
    "dragonkue/bge-reranker-v2-m3-ko",
    "Dongjin-kr/ko-reranker",
    "jinaai/jina-reranker-v2-base-multilingual",
)
#: 모델 코드가 허브 저장소에 들어 있어 trust_remote_code 가 필요한 모델.
REMOTE_CODE_MODELS = {"jinaai/jina-reranker-v2-base-multilingual"}


def _resolve_hub_model(model: str) -> tuple[str, bool]:
    """모델을 찾는 순서 (모든 백엔드 공통): 사전 다운로드 폴더 → 로컬 캐시 → (온라인이면) 허브.

    Returns:
        ``(불러올 경로나 허브 id, 찾았는지)``. 못 찾으면 대체 모델을 써야 합니다.
    """
    from pathlib import Path

    from ..env import download_hub_model, find_local_model

    if (Path(model) / "config.json").is_file():  # 내 컴퓨터의 모델 폴더 (예: 07 노트북에서 학습한 모델)
        return model, True
    local = find_local_model(model)
    if local is not None:
        return str(local), True
    if not runtime().online:
        return model, False
    # 강의 코드가 직접 받습니다: 실패하면 무엇을 할지 알려 주는 ModelDownloadError 가 나고, 불러오기는 로컬 경로로.
    return str(download_hub_model(model)), True


@functools.cache
def _scored_cross_encoder_reranker_class():
    """LangChain ``CrossEncoderReranker`` 에 점수 기록만 더한 하위 클래스.

    원래 클래스는 순서만 바꾸고 점수를 버리므로, 다른 백엔드처럼 ``metadata["relevance_score"]`` 를 남기게 합니다.
    """
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    class ScoredCrossEncoderReranker(CrossEncoderReranker):
        def compress_documents(
            self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
        ) -> Sequence[Document]:
            from ..scoring import score_pairs

            scores, _ = score_pairs(self.model.client, query, [document.page_content for document in documents])
            order = sorted(range(len(documents)), key=lambda position: -scores[position])[: self.top_n]
            return [
                Document(
                    page_content=documents[position].page_content,
                    metadata={**documents[position].metadata, "relevance_score": float(scores[position])},
                    id=documents[position].id,
                )
                for position in order
            ]

    return ScoredCrossEncoderReranker


@functools.cache
def _load_encoder(source: str, model_kwargs: tuple[tuple[str, object], ...]):
    """``sentence_transformers.CrossEncoder`` 를 LangChain ``HuggingFaceCrossEncoder`` 와 같은 인자로 만듭니다.

    같은 폴더·설정의 모델은 한 프로세스에서 한 번만 불러옵니다 (오프라인에서는 여러 모델 이름이 같은 폴더를 씁니다).
    LangChain 의 래퍼는 ``as_compressor`` 에서 이 모델에 씌웁니다: ``rank`` 만 쓰는 코드는 LangChain 의
    검색기 모듈(``langchain_classic.retrievers``)을 불러오는 시간을 기다리지 않습니다.
    """
    from sentence_transformers import CrossEncoder

    with quiet_model_loading():
        encoder = CrossEncoder(source, **dict(model_kwargs))
    if dict(model_kwargs)["device"] == "cuda":
        # GPU 에서는 fp16 이 빠르고 점수 차이는 작습니다. .half() 는 transformers 판에 상관없이 같습니다.
        encoder.half()
    return encoder


#: ``quantize`` 에 줄 수 있는 값.
QUANTIZE_OPTIONS = (None, "int8")


@functools.cache
def _load_int8_encoder(source: str, model_kwargs: tuple[tuple[str, object], ...]):
    """``_load_encoder`` 의 모델을 int8 로 동적 양자화한 사본 (한 프로세스에서 한 번만 만듭니다)."""
    from ..scoring import quantize_int8

    int8 = quantize_int8(_load_encoder(source, model_kwargs))
    if int8 is None:
        raise RuntimeError(
            'quantize="int8" 에 필요한 torch.ao.quantization.quantize_dynamic 이 이 torch 에 없습니다. '
            "quantize=None 으로 fp32 를 쓰세요."
        )
    return int8


@register_backend(
    "cross-encoder",
    default_model="BAAI/bge-reranker-v2-m3",
    models=CROSS_ENCODER_MODELS,
    extra_models_allowed=True,
    summary="sentence-transformers CrossEncoder (BGE, 한국어 파인튜닝, Jina 공개 가중치 등 허브의 크로스 인코더)",
    pip_packages=("sentence-transformers", "langchain-community"),
)
class CrossEncoderBackend(Reranker):
    """허브의 크로스 인코더를 ``sentence_transformers.CrossEncoder`` 로 불러 씁니다 (``as_compressor`` 는 그 모델을
    ``langchain_community`` 의 ``HuggingFaceCrossEncoder`` 에 씌운 LangChain ``CrossEncoderReranker``).

    모델을 찾지 못하면(오프라인, 사전 다운로드 없음) 같은 코드 경로로 오프라인 모델(multilingual-e5-small 을
    크로스 인코더 모양으로 만든 것, ``course_utils.offline_models``)을 쓰고 배너로 알립니다.
    점수는 로짓에 시그모이드를 씌운 0–1 값입니다.

    Args:
        model: 허브 모델 id.
        max_length: 질의+문서 토큰 수 상한. 길면 잘리고 경고가 납니다. CPU 에서는 짧을수록 빠릅니다.
        batch_size: 한 번에 모델에 넣는 쌍의 최대 수 (``CrossEncoder.predict`` 와 같은 32). 실제 배치는 이 모델·기기에서
            잰 호출 비용으로 정합니다 (``course_utils.scoring``).
        quantize: ``None`` (fp32) 또는 ``"int8"`` (CPU 전용 동적 양자화: 선형층을 int8 로). 빨라지는 대신 순위가
            fp32 와 조금 달라질 수 있습니다. 이 기기에서의 배율과 순위 일치도는 ``python -m course_utils bench`` 가 잽니다.
        trust_remote_code: 모델 저장소의 파이썬 코드를 실행해도 되는지. ``None`` 이면 강의가 확인한 모델
            (``REMOTE_CODE_MODELS``)에만 켭니다. 다른 사용자 정의 코드 모델은 코드를 읽어 본 뒤 ``True`` 로 켜세요.
    """

    def __init__(
        self,
        model: str,
        max_length: int = 512,
        batch_size: int = 32,
        trust_remote_code: bool | None = None,
        quantize: str | None = None,
    ) -> None:
        rt = runtime()
        if quantize not in QUANTIZE_OPTIONS:
            raise ValueError(f'quantize 는 None 또는 "int8" 이어야 합니다 (받은 값: {quantize!r}).')
        if quantize == "int8" and rt.device != "cpu":
            raise ValueError(
                f'quantize="int8" 은 CPU 에서만 쓸 수 있습니다 (지금 기기: {rt.device}). GPU 에서는 리랭커가 fp16 으로 돕니다.'
            )
        self.quantize = quantize
        self.model = model
        self.device = rt.device
        self.batch_size = _check_positive("batch_size", batch_size)
        source, found = _resolve_hub_model(model)
        model_kwargs: dict = {"device": rt.device, "max_length": _check_positive("max_length", max_length)}
        if not found:
            # 오프라인 모델도 허브의 사용자 정의 코드 리랭커처럼 폴더 안의 모델 코드로 불립니다.
            self.is_standin, self.runs = True, OFFLINE_RERANKER_LABEL
            source, model_kwargs["trust_remote_code"] = str(cross_encoder_path()), True
            announce_standin(model, OFFLINE_RERANKER_LABEL, "모델 허브에 연결할 수 없고 미리 받은 모델도 없습니다")
        elif trust_remote_code or (trust_remote_code is None and model in REMOTE_CODE_MODELS):
            model_kwargs["trust_remote_code"] = True
        self.max_length = model_kwargs["max_length"]
        loader = _load_int8_encoder if quantize == "int8" else _load_encoder
        self._source, self._model_kwargs = source, model_kwargs
        self._encoder = loader(source, tuple(sorted(model_kwargs.items())))

    def _score(self, query: str, texts: list[str]) -> list[float]:
        from ..scoring import score_pairs

        scores, tokens = score_pairs(self._encoder, query, texts, self.batch_size, self.max_length)
        _warn_truncated(tokens.truncated, self.max_length)
        return scores

    def describe(self) -> str:
        described = super().describe()
        return described if self.quantize is None else f"{described} · int8 (동적 양자화)"

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        """LangChain ``CrossEncoderReranker`` (점수를 ``metadata`` 에 남기는 하위 클래스) 를 돌려줍니다.

        ``langchain-community`` 가 없으면 강의의 ``RerankerCompressor`` 를 씁니다.
        """
        top_n = _check_positive("top_n", top_n)
        wrapper = _community_class("cross_encoders", "HuggingFaceCrossEncoder", "cross-encoder")
        if wrapper is None:
            return super().as_compressor(top_n)
        # HuggingFaceCrossEncoder(...) 는 만들 때 모델을 또 불러오므로, 이미 불러온 (int8 이면 양자화한) 모델을
        # 같은 인자와 함께 client 로 넣습니다.
        model = wrapper.model_construct(model_name=self._source, model_kwargs=self._model_kwargs, client=self._encoder)
        return _scored_cross_encoder_reranker_class()(model=model, top_n=top_n)
