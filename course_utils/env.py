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
        device: 추론 장치 (``"cuda"``, ``"mps"``, ``"cpu"``).
        online: 모델 허브에 닿을 수 있고 오프라인이 강제되지 않았으면 ``True``.
        forced_offline: ``RERANK_COURSE_OFFLINE=1`` 로 오프라인을 강제했는지.
        cache_dir: 강의가 만드는 파일(대체 모델 등)을 두는 폴더.
        models_dir: 폐쇄망용으로 미리 받아 둔 모델 폴더 (``RERANK_COURSE_MODELS_DIR``), 없으면 ``None``.
    """

    is_colab: bool
    device: Device
    online: bool
    forced_offline: bool
    cache_dir: Path
    models_dir: Path | None

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


def hub_reachable(host: str = HUB_HOST, timeout: float = REACHABILITY_TIMEOUT_S) -> bool:
    """``host:443`` 에 TCP 연결이 되는지 한 번만 확인합니다 (재시도 없음)."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
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
        device=detect_device(),
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
        if (candidate / "config.json").is_file():
            return candidate
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


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
