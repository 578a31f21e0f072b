"""실행 환경을 한 번 판단합니다: Colab 여부, 장치, 온라인/오프라인, 모델 캐시 위치, 비밀 값.

이 모듈은 ``transformers``/``huggingface_hub`` 보다 먼저 불려야 합니다. 오프라인이면
``HF_HUB_OFFLINE=1`` 을 설정하여 허브 재시도로 수십 초를 낭비하지 않게 합니다.

Example:
    >>> from course_utils.env import runtime
    >>> rt = runtime()
    >>> rt.device in {"cpu", "cuda", "mps"}
    True
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import socket
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OFFLINE_ENV = "RERANK_COURSE_OFFLINE"
MODELS_DIR_ENV = "RERANK_COURSE_MODELS_DIR"
CACHE_DIR_ENV = "RERANK_COURSE_CACHE"
HUB_HOST = "huggingface.co"
#: 온라인 확인은 한 번의 TCP 연결 시도로 끝냅니다. 폐쇄망에서 오래 기다리지 않게 짧게 둡니다.
REACHABILITY_TIMEOUT_S = 3.0

Device = Literal["cuda", "mps", "cpu"]
_TRUE_VALUES = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Runtime:
    """강의가 실행되는 환경 한 장 요약.

    Attributes:
        is_colab: Google Colab 커널이면 ``True``.
        online: 모델 허브에 연결할 수 있고 오프라인이 강제되지 않았으면 ``True``.
        forced_offline: ``RERANK_COURSE_OFFLINE=1`` 로 오프라인을 강제했는지.
        cache_dir: 강의가 만드는 파일(대체 모델 등)을 두는 폴더.
        models_dir: 폐쇄망용으로 미리 받아 둔 모델 폴더 (``RERANK_COURSE_MODELS_DIR``), 없으면 ``None``.
    """

    is_colab: bool
    online: bool
    forced_offline: bool
    cache_dir: Path
    models_dir: Path | None

    @property
    def device(self) -> Device:
        """추론 장치 (``"cuda"``, ``"mps"``, ``"cpu"``). 처음 물을 때 torch 를 불러 정합니다.

        torch 를 쓰지 않는 백엔드(feature-ltr, FlashRank)가 torch 를 불러오는 1–2초를 기다리지 않게 미룹니다.
        """
        return detect_device()

    def describe(self) -> str:
        """사람이 읽을 한국어 요약 한 줄을 돌려줍니다."""
        place = "Google Colab" if self.is_colab else "로컬"
        network = "오프라인(강제)" if self.forced_offline else "온라인" if self.online else "오프라인(허브 연결 불가)"
        models = f", 사전 다운로드 모델: {self.models_dir}" if self.models_dir else ""
        return f"실행 환경: {place} · 장치 {self.device} · {network} · 캐시 {self.cache_dir}{models}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE_VALUES


def is_colab() -> bool:
    """Colab 커널은 시작할 때 ``google.colab`` 을 불러 두므로 그것으로 판단합니다."""
    return "google.colab" in sys.modules


def forced_offline() -> bool:
    """``RERANK_COURSE_OFFLINE`` 또는 ``HF_HUB_OFFLINE`` 이 켜져 있으면 ``True``."""
    return _flag(OFFLINE_ENV) or _flag("HF_HUB_OFFLINE")


@functools.cache
def detect_device() -> Device:
    """torch 가 보는 가속기를 고릅니다. torch 가 없으면 ``"cpu"``."""
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def hub_endpoint() -> str:
    """모델 허브 주소: ``HF_ENDPOINT`` (미러나 테스트용 로컬 허브) 또는 ``https://huggingface.co``."""
    return (os.environ.get("HF_ENDPOINT", "").strip() or f"https://{HUB_HOST}").rstrip("/")


def hub_address() -> tuple[str, int]:
    """``hub_endpoint()`` 의 (호스트, 포트). 포트가 없으면 https 는 443, http 는 80."""
    from urllib.parse import urlsplit

    parts = urlsplit(hub_endpoint())
    return parts.hostname or HUB_HOST, parts.port or (80 if parts.scheme == "http" else 443)


def hub_reachable(host: str | None = None, timeout: float = REACHABILITY_TIMEOUT_S) -> bool:
    """모델 허브(기본: ``HF_ENDPOINT`` 가 가리키는 곳)에 TCP 연결이 되는지 한 번만 확인합니다 (재시도 없음).

    Args:
        host: 확인할 호스트 (포트 443). ``None`` 이면 ``hub_address()``.
        timeout: 연결 제한 시간(초).
    """
    address = (host, 443) if host else hub_address()
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def default_cache_dir() -> Path:
    """``RERANK_COURSE_CACHE`` → ``XDG_CACHE_HOME/reranker-course`` → ``~/.cache/reranker-course``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "reranker-course"


def _models_dir() -> Path | None:
    value = os.environ.get(MODELS_DIR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{MODELS_DIR_ENV}={value!r} 폴더가 없습니다. "
            "`python -m course_utils download --to 폴더` 로 받은 폴더 경로를 지정하세요."
        )
    return path


def _go_offline() -> None:
    """허브를 쓰지 않도록 설정합니다. transformers 가 이미 불렸다면 늦었다는 경고를 냅니다."""
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        os.environ["HF_HUB_OFFLINE"] = "1"
        if "huggingface_hub" in sys.modules or "transformers" in sys.modules:
            warnings.warn(
                "huggingface_hub/transformers 가 이미 불린 뒤에 오프라인으로 전환했습니다. "
                "허브 재시도가 생길 수 있으니 course_utils.env.runtime() 을 먼저 호출하세요.",
                RuntimeWarning,
                stacklevel=3,
            )


@functools.cache
def runtime() -> Runtime:
    """환경을 한 번 판단하고 결과를 캐시합니다 (다시 판단하려면 ``runtime.cache_clear()``).

    오프라인으로 판단되면 ``HF_HUB_OFFLINE=1`` 을 설정합니다.
    """
    offline_forced = forced_offline()
    online = not offline_forced and hub_reachable()
    if not online:
        _go_offline()
    cache_dir = default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    return Runtime(
        is_colab=is_colab(),
        online=online,
        forced_offline=offline_forced,
        cache_dir=cache_dir,
        models_dir=_models_dir(),
    )


def _colab_secret(name: str) -> str | None:
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        value = userdata.get(name)
    except Exception as error:
        reason = type(error).__name__
        print(f"Colab 보안 비밀(Secrets)에서 {name} 값을 읽지 못했습니다 ({reason}). 없는 것으로 진행합니다.")
        return None
    return value or None


def get_secret(name: str) -> str | None:
    """API 키 같은 비밀 값을 읽습니다: 환경 변수 → Colab 보안 비밀 → ``None``.

    묻지 않습니다(``input``/``getpass`` 없음). 값은 출력하지 않습니다.

    Args:
        name: 변수 이름, 예: ``"COHERE_API_KEY"``.

    Returns:
        값 문자열, 또는 어디에도 없으면 ``None``.

    Example:
        >>> get_secret("COURSE_DOCTEST_SECRET_THAT_DOES_NOT_EXIST") is None
        True
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name 에는 비어 있지 않은 문자열을 넣어야 합니다 (받은 값: {name!r}).")
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if is_colab():
        return _colab_secret(name)
    return None


def mask(secret: str | None) -> str:
    """비밀 값을 화면에 낼 때 쓰는 표시: 있으면 ``'설정됨(****)'``, 없으면 ``'없음'``."""
    return "설정됨(****)" if secret else "없음"


def hub_folder_name(repo_id: str) -> str:
    """``"BAAI/bge-reranker-v2-m3"`` → ``"BAAI--bge-reranker-v2-m3"`` (사전 다운로드 폴더 이름)."""
    return repo_id.replace("/", "--")


def find_local_model(repo_id: str) -> Path | None:
    """허브 모델을 네트워크 없이 찾습니다: ① ``RERANK_COURSE_MODELS_DIR/hf/<org>--<name>`` ② 로컬 HF 캐시.

    Returns:
        모델 폴더 경로, 없으면 ``None``.
    """
    models_dir = runtime().models_dir
    if models_dir is not None:
        candidate = models_dir / "hf" / hub_folder_name(repo_id)
        # download 명령은 다 받은 뒤에야 이 이름으로 옮기므로 config.json 만 보면 됩니다.
        if (candidate / "config.json").is_file():
            return candidate
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        # 같은 무시 목록을 주어야 huggingface_hub 가 받다 만 스냅숏을 "불완전" 으로 알아봅니다.
        found = Path(snapshot_download(repo_id, local_files_only=True, ignore_patterns=list(HUB_IGNORE_PATTERNS)))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    # 받다 만 스냅숏(설정만 있고 가중치가 없는 등)은 없는 것으로 칩니다. 온라인이면 다시 받아 채웁니다.
    return found if model_folder_complete(found) else None


#: 강의가 허브에서 받지 않는 파일: 다른 프레임워크의 가중치와 ONNX·OpenVINO 사본 (수 GB 를 아낍니다).
HUB_IGNORE_PATTERNS = (
    "onnx/*",
    "openvino/*",
    "*.onnx",
    "*.h5",
    "*.msgpack",
    "*.ot",
    "flax_model*",
    "tf_model*",
    "rust_model*",
    "coreml/*",
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "sentencepiece.bpe.model", "vocab.txt", "spiece.model")


def model_folder_complete(folder: Path) -> bool:
    """허브 모델 폴더가 불러올 수 있을 만큼 갖춰졌는지: ``config.json``, 가중치, 토크나이저 파일.

    샤드로 나뉜 가중치는 색인(``*.index.json``)이 가리키는 파일이 모두 있어야 합니다.
    """
    import json

    if not (folder / "config.json").is_file() or not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        return False
    for index in folder.glob("*.index.json"):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError):
            return False
        if shards and all((folder / shard).is_file() for shard in shards):
            return True
    return any(path.is_file() and path.suffix in _WEIGHT_SUFFIXES for path in folder.iterdir())


class ModelDownloadError(RuntimeError):
    """허브에서 모델을 받지 못했을 때: 무엇이 실패했고 무엇을 하면 되는지 한국어로 알려 줍니다.

    Attributes:
        kind: ``"not_found"``, ``"gated"``, ``"server"``, ``"timeout"``, ``"connection"``, ``"incomplete"``.
        repo_id: 받으려던 모델 id.
    """

    def __init__(self, message: str, kind: str, repo_id: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.repo_id = repo_id


#: 허브 다운로드 실패를 알릴 때 공통으로 붙이는 대안.
OFFLINE_HINT = (
    "지금은 네트워크 없이 실습하려면 RERANK_COURSE_OFFLINE=1 을 설정하고 커널을 다시 시작하세요 "
    "(강의의 오프라인 모델을 씁니다)."
)


def _download_failure_kind(error: BaseException) -> tuple[str, int | None]:
    import httpx
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, GatedRepoError) or status in (401, 403):
        return "gated", status
    if isinstance(error, (RepositoryNotFoundError, RevisionNotFoundError)) or status == 404:
        return "not_found", status
    if isinstance(error, HfHubHTTPError):
        return "server", status
    # 허브에 닿지 못한 원인은 __cause__ 에 있습니다 (LocalEntryNotFoundError 가 감쌈).
    cause = error.__cause__ if isinstance(error, LocalEntryNotFoundError) and error.__cause__ else error
    if isinstance(cause, HfHubHTTPError):
        return _download_failure_kind(cause)
    if isinstance(cause, (httpx.TimeoutException, TimeoutError)):
        return "timeout", None
    if isinstance(error, OSError) and "Consistency check failed" in str(error):
        return "incomplete", None
    return "connection", None


def model_download_error(repo_id: str, error: BaseException) -> ModelDownloadError:
    """huggingface_hub·httpx 의 예외를 사람이 읽을 ``ModelDownloadError`` 로 바꿉니다."""
    kind, status = _download_failure_kind(error)
    code = f" (HTTP {status})" if status else ""
    where = hub_endpoint()
    messages = {
        "not_found": f"모델 허브({where})에서 '{repo_id}' 모델을 찾을 수 없습니다{code}. 모델 id 의 철자와 "
        "대소문자(조직/모델 이름)를 확인하세요. " + OFFLINE_HINT,
        "gated": f"'{repo_id}' 모델은 접근 권한이 필요합니다{code}. 허브의 모델 페이지에서 이용 조건에 동의한 뒤 "
        "HF_TOKEN 환경 변수(Colab 에서는 보안 비밀)에 액세스 토큰을 넣거나 `hf auth login` 으로 로그인하세요. "
        + OFFLINE_HINT,
        "server": f"모델 허브({where})가 '{repo_id}' 요청에 오류로 답했습니다{code}. 허브 쪽 문제일 수 있으니 잠시 뒤 "
        "다시 실행하세요. " + OFFLINE_HINT,
        "timeout": f"'{repo_id}' 의 파일을 받는 중 모델 허브({where})가 제한 시간 안에 답하지 않았습니다. 네트워크를 확인하고 "
        "다시 실행하세요 (받던 파일은 이어 받습니다). " + OFFLINE_HINT,
        "connection": f"'{repo_id}' 의 파일을 받는 중 모델 허브({where}) 연결이 끊기거나 열리지 않았습니다. 인터넷 연결을 "
        "확인하고 다시 실행하세요 (받던 파일은 이어 받습니다). " + OFFLINE_HINT,
        "incomplete": f"'{repo_id}' 의 파일이 끝까지 오지 않았습니다 (받은 크기가 허브가 알려 준 크기와 다름). 다시 "
        "실행하세요 (빠진 부분을 다시 받습니다). " + OFFLINE_HINT,
    }
    return ModelDownloadError(messages[kind], kind, repo_id)


def download_hub_model(repo_id: str, local_dir: Path | None = None) -> Path:
    """허브 모델 스냅숏을 받습니다 (HF 캐시, 또는 ``local_dir``). 실패하면 ``ModelDownloadError``.

    다른 프레임워크의 가중치 등 ``HUB_IGNORE_PATTERNS`` 는 받지 않습니다. huggingface_hub 는 파일마다 임시
    파일(``.incomplete``)에 받은 뒤 이름을 바꾸므로, 중간에 실패해도 완성된 것처럼 보이는 파일은 남지 않고
    다음 실행이 이어 받습니다. 제한 시간은 ``HF_HUB_ETAG_TIMEOUT``·``HF_HUB_DOWNLOAD_TIMEOUT`` (기본 10초)입니다.

    Args:
        repo_id: 허브 모델 id (예: ``"BAAI/bge-reranker-v2-m3"``).
        local_dir: 주면 그 폴더에 파일을 그대로 둡니다 (``python -m course_utils download``).

    Returns:
        모델 폴더 경로.
    """
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(repo_id, local_dir=local_dir, ignore_patterns=list(HUB_IGNORE_PATTERNS)))
    except (ImportError, ValueError):
        raise
    except Exception as error:
        raise model_download_error(repo_id, error) from error
    if not model_folder_complete(path):
        raise ModelDownloadError(
            f"'{repo_id}' 의 다운로드는 끝났지만 불러올 파일(config.json, 가중치, 토크나이저) 가운데 빠진 것이 있습니다 ({path}). "
            "모델 id 가 리랭커·임베딩 모델이 맞는지 확인하세요.",
            "incomplete",
            repo_id,
        )
    return path


@contextlib.contextmanager
def quiet_model_loading() -> Iterator[None]:
    """모델을 불러오는 동안 transformers 의 'Loading weights' 진행 막대와 불러오기 보고(LOAD REPORT)를 끕니다.

    노트북에서는 그 막대가 위젯으로 남아 출력만 어지럽히고, 위젯을 그리지 않는 곳에서는 깨진 글자로 보입니다.
    보고는 e5 처럼 풀링 층(pooler) 없이 배포된 모델에서 "MISSING" 표를 내는데, 평균 풀링을 쓰므로 해당이 없습니다.
    """
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if was_enabled:
            transformers_logging.enable_progress_bar()
