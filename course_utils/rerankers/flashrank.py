"""백엔드 ``flashrank``: ONNX 런타임의 작은 크로스 인코더 (FlashRank ``Ranker``).

모델 폴더가 없고 내려받을 수도 없으면 오프라인 모델을 ONNX 로 내보내 FlashRank 폴더 형식으로 두고,
같은 ``Ranker`` 로 씁니다.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

from langchain_core.documents import BaseDocumentCompressor

from ..env import runtime
from ..offline_models import OFFLINE_RERANKER_LABEL, announce_standin, build_flashrank_folder
from .base import Reranker, _check_positive, _warn_truncated, register_backend

FLASHRANK_MODELS = ("ms-marco-MultiBERT-L-12", "ms-marco-TinyBERT-L-2-v2", "ms-marco-MiniLM-L-12-v2")
FLASHRANK_URL = "https://huggingface.co/prithivida/flashrank/resolve/main/{}.zip"
FLASHRANK_DOWNLOAD_TIMEOUT_S = 60.0


def download_flashrank_model(name: str, target_dir: Path) -> Path:
    """FlashRank 모델 압축 파일을 제한 시간을 걸고 받아 ``target_dir/<name>/`` 에 풉니다."""
    import io
    import zipfile

    import requests

    response = requests.get(FLASHRANK_URL.format(name), timeout=FLASHRANK_DOWNLOAD_TIMEOUT_S)
    response.raise_for_status()
    target_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(target_dir)
    return target_dir / name


@contextlib.contextmanager
def _quiet_flashrank_logging():
    """``flashrank.Ranker`` 는 ``logging.basicConfig(level=INFO)`` 를 불러 다른 라이브러리의 INFO 로그까지 켭니다.
    루트 로거에 잠시 처리기를 달아 두면 basicConfig 가 아무것도 하지 않습니다."""
    import logging

    root = logging.getLogger()
    placeholder = logging.NullHandler()
    added = not root.handlers
    if added:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if added:
            root.removeHandler(placeholder)
        logging.getLogger("flashrank").setLevel(logging.WARNING)


@functools.cache
def _load_ranker(name: str, folder: str, max_length: int):
    """같은 모델 파일은 한 프로세스에서 ONNX 세션을 한 번만 만듭니다."""
    from flashrank import Ranker

    with _quiet_flashrank_logging():
        return Ranker(model_name=name, cache_dir=folder, max_length=max_length)


@register_backend(
    "flashrank",
    default_model="ms-marco-MultiBERT-L-12",
    models=FLASHRANK_MODELS,
    summary="FlashRank: ONNX 런타임의 작은 크로스 인코더 (MultiBERT 다국어, TinyBERT·MiniLM 영어)",
    pip_packages=("flashrank", "langchain-community"),
)
class FlashRankBackend(Reranker):
    """FlashRank 를 강의 캐시 폴더(``/tmp`` 아님)에서 불러 씁니다. 모델 폴더를 찾는 순서:
    ``RERANK_COURSE_MODELS_DIR/flashrank`` → 강의 캐시 → (온라인이면) 내려받기 → 오프라인 모델(같은 ONNX 경로).

    Args:
        model: FlashRank 모델 이름.
        max_length: 질의+문서 토큰 수 상한.
    """

    def __init__(self, model: str, max_length: int = 256) -> None:
        import flashrank  # noqa: F401  (없으면 load_reranker 가 pip 명령을 알려 줍니다)

        rt = runtime()
        self.model = model
        self.device = "cpu (onnxruntime)"
        self.max_length = _check_positive("max_length", max_length)
        cache = rt.cache_dir / "flashrank"
        candidates = [rt.models_dir / "flashrank"] if rt.models_dir else []
        folder = next((place for place in [*candidates, cache] if (place / model).is_dir()), None)
        name = model
        if folder is None and rt.online:
            folder = download_flashrank_model(model, cache).parent
        if folder is None:
            self.is_standin, self.runs = True, f"{OFFLINE_RERANKER_LABEL}, ONNX"
            folder, name = cache, build_flashrank_folder(cache)
            announce_standin(f"FlashRank {model}", self.runs, "모델을 내려받을 수 없습니다")
        self._ranker = _load_ranker(name, str(folder), self.max_length)

    def _score(self, query: str, texts: list[str]) -> list[float]:
        from flashrank import RerankRequest

        encodings = self._ranker.tokenizer.encode_batch([(query, text) for text in texts])
        _warn_truncated([i for i, encoding in enumerate(encodings) if encoding.overflowing], self.max_length)
        passages = [{"id": position, "text": text} for position, text in enumerate(texts)]
        scores = [0.0] * len(texts)
        for result in self._ranker.rerank(RerankRequest(query=query, passages=passages)):
            scores[result["id"]] = float(result["score"])
        return scores

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        from langchain_community.document_compressors import FlashrankRerank

        return FlashrankRerank(client=self._ranker, top_n=_check_positive("top_n", top_n), model=self.model)
