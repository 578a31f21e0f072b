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
from .base import Reranker, _check_positive, _community_class, _warn_truncated, register_backend

FLASHRANK_MODELS = ("ms-marco-MultiBERT-L-12", "ms-marco-TinyBERT-L-2-v2", "ms-marco-MiniLM-L-12-v2")
#: FlashRank 가 모델 압축 파일을 받는 곳 (허브 주소 뒤에 붙음; ``HF_ENDPOINT`` 미러도 따릅니다).
FLASHRANK_PATH = "/prithivida/flashrank/resolve/main/{}.zip"
#: 연결과 읽기 한 번의 제한 시간(초), 그리고 파일 하나를 받는 전체 시간의 상한.
FLASHRANK_DOWNLOAD_TIMEOUT_S = 60.0
FLASHRANK_DOWNLOAD_DEADLINE_S = 900.0


def flashrank_url(name: str) -> str:
    """FlashRank 모델 ``name`` 의 압축 파일 주소."""
    from ..env import hub_endpoint

    return hub_endpoint() + FLASHRANK_PATH.format(name)


def _flashrank_folder_ready(folder: Path, name: str) -> bool:
    """FlashRank 가 그 폴더로 모델을 만들 수 있는지: 폴더와 그 안의 ONNX 파일."""
    from flashrank import Config

    onnx_file = Config.model_file_map.get(name)
    return folder.is_dir() and (onnx_file is None or (folder / onnx_file).is_file())


def _flashrank_download_error(name: str, kind: str, status: int | None = None) -> Exception:
    from ..env import OFFLINE_HINT, ModelDownloadError

    code = f" (HTTP {status})" if status else ""
    url = flashrank_url(name)
    messages = {
        "not_found": f"FlashRank 모델 '{name}' 의 압축 파일이 없습니다{code}: {url}. model 에는 "
        f"{', '.join(FLASHRANK_MODELS)} 중 하나를 넣으세요. " + OFFLINE_HINT,
        "gated": f"FlashRank 모델 '{name}' 의 파일을 받을 권한이 없습니다{code}. HF_TOKEN 과 HF_ENDPOINT 설정을 확인하세요. "
        + OFFLINE_HINT,
        "server": f"FlashRank 모델 '{name}' 의 파일을 받는 중 서버 오류가 났습니다{code}. 잠시 뒤 다시 실행하세요. "
        + OFFLINE_HINT,
        "timeout": f"FlashRank 모델 '{name}' 의 파일을 받는 중 서버가 제한 시간 안에 답하지 않았습니다. 네트워크를 확인하고 "
        "다시 실행하세요. " + OFFLINE_HINT,
        "connection": f"FlashRank 모델 '{name}' 의 파일을 받는 중 연결이 끊기거나 열리지 않았습니다. 인터넷 연결을 확인하고 "
        "다시 실행하세요. " + OFFLINE_HINT,
        "incomplete": f"FlashRank 모델 '{name}' 의 압축 파일이 끝까지 오지 않았거나 깨졌습니다. 다시 실행하면 처음부터 "
        "다시 받습니다. " + OFFLINE_HINT,
    }
    return ModelDownloadError(messages[kind], kind, name)


def download_flashrank_model(name: str, target_dir: Path) -> Path:
    """FlashRank 모델 압축 파일을 제한 시간을 걸고 받아 ``target_dir/<name>/`` 에 풉니다.

    임시 파일에 받고 임시 폴더에 푼 뒤 마지막에 이름을 바꾸므로, 실패해도 반쯤 풀린 폴더가 남지 않습니다.

    Raises:
        course_utils.env.ModelDownloadError: 받지 못했을 때 (무엇을 하면 되는지 한국어로 알려 줍니다).
    """
    import os
    import shutil
    import tempfile
    import time
    import zipfile

    import requests

    target_dir.mkdir(parents=True, exist_ok=True)
    final = target_dir / name
    if _flashrank_folder_ready(final, name):
        return final
    scratch = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=target_dir))
    deadline = time.monotonic() + FLASHRANK_DOWNLOAD_DEADLINE_S
    try:
        archive_path = scratch / "model.zip"
        try:
            with requests.get(flashrank_url(name), stream=True, timeout=FLASHRANK_DOWNLOAD_TIMEOUT_S) as response:
                if response.status_code != 200:
                    status = response.status_code
                    kind = {404: "not_found", 401: "gated", 403: "gated"}.get(status, "server")
                    raise _flashrank_download_error(name, kind, status)
                expected = int(response.headers.get("Content-Length") or -1)
                received = 0
                with archive_path.open("wb") as file:
                    for chunk in response.iter_content(chunk_size=1 << 20):
                        file.write(chunk)
                        received += len(chunk)
                        if time.monotonic() > deadline:
                            raise _flashrank_download_error(name, "timeout")
        except requests.Timeout:
            raise _flashrank_download_error(name, "timeout") from None
        except requests.RequestException:
            # 연결 실패, 중간에 끊김(ChunkedEncodingError), 잘린 본문(Content-Length 보다 짧음) 모두 여기로 옵니다.
            raise _flashrank_download_error(name, "connection") from None
        if expected >= 0 and received != expected:
            raise _flashrank_download_error(name, "incomplete")
        unpacked = scratch / "unpacked"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                archive.extractall(unpacked)
        except (zipfile.BadZipFile, EOFError):
            raise _flashrank_download_error(name, "incomplete") from None
        if not _flashrank_folder_ready(unpacked / name, name):
            raise _flashrank_download_error(name, "incomplete")
        if not final.exists():
            # 다른 프로세스가 먼저 끝냈으면 그것을 씁니다.
            with contextlib.suppress(OSError):
                os.rename(unpacked / name, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


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
        folder = next((place for place in [*candidates, cache] if _flashrank_folder_ready(place / model, model)), None)
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
        FlashrankRerank = _community_class("document_compressors", "FlashrankRerank", "flashrank")
        if FlashrankRerank is None:
            return super().as_compressor(top_n)
        return FlashrankRerank(client=self._ranker, top_n=_check_positive("top_n", top_n), model=self.model)
