"""테스트는 네트워크 없이, 사용자 캐시를 건드리지 않고 돕니다."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

# course_utils 를 부르기 전에 정해야 합니다 (runtime() 이 HF_HUB_OFFLINE 을 설정함).
os.environ["RERANK_COURSE_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("RERANK_COURSE_CACHE", tempfile.mkdtemp(prefix="reranker-course-test-cache-"))
for key in ("OPENAI_API_KEY", "COHERE_API_KEY", "CO_API_KEY", "JINA_API_KEY", "RERANK_COURSE_MODELS_DIR"):
    os.environ.pop(key, None)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_runtime():
    """환경 변수를 바꾼 뒤 부르면 runtime() 을 새로 판단합니다. 테스트가 끝나면 캐시를 비웁니다."""
    from course_utils.env import runtime

    def refresh():
        runtime.cache_clear()
        return runtime()

    yield refresh
    runtime.cache_clear()


@pytest.fixture
def fake_colab(monkeypatch):
    """Colab 에 닿을 수 없으므로 google.colab 모듈을 흉내 냅니다. ``secrets`` 사전을 채워 쓰세요."""
    import types

    secrets: dict[str, object] = {}

    class SecretNotFoundError(Exception):
        pass

    class NotebookAccessError(Exception):
        pass

    def get(name):
        value = secrets.get(name, SecretNotFoundError(name))
        if isinstance(value, Exception):
            raise value
        return value

    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    userdata = types.ModuleType("google.colab.userdata")
    userdata.get = get
    userdata.SecretNotFoundError = SecretNotFoundError
    userdata.NotebookAccessError = NotebookAccessError
    colab.userdata = userdata
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)
    return types.SimpleNamespace(secrets=secrets, errors=userdata)


@pytest.fixture(scope="session")
def course_test_split():
    from course_utils.data import load_course_dataset

    return load_course_dataset("test")
