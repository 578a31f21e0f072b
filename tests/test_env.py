import builtins
import os
import sys

import pytest

from course_utils import env
from course_utils.env import Runtime, find_local_model, get_secret, hub_folder_name, is_colab, mask


@pytest.fixture(autouse=True)
def no_prompts(monkeypatch):
    """비대화형 실행에서 입력을 요구하면 바로 실패하게 합니다."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("입력을 요구하면 안 됩니다")

    monkeypatch.setattr(builtins, "input", refuse)
    monkeypatch.setattr("getpass.getpass", refuse)


@pytest.mark.filterwarnings("ignore:huggingface_hub/transformers:RuntimeWarning")
def test_forced_offline_sets_hf_hub_offline_without_touching_the_network(monkeypatch, fresh_runtime):
    monkeypatch.setenv("RERANK_COURSE_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(
        env, "hub_reachable", lambda *a, **k: pytest.fail("강제 오프라인에서 네트워크를 확인하면 안 됩니다")
    )
    rt = fresh_runtime()
    assert rt.forced_offline and not rt.online
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "오프라인(강제)" in rt.describe()


@pytest.mark.filterwarnings("ignore:huggingface_hub/transformers:RuntimeWarning")
def test_unreachable_hub_means_offline(monkeypatch, fresh_runtime):
    monkeypatch.setenv("RERANK_COURSE_OFFLINE", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(env, "hub_reachable", lambda *a, **k: False)
    rt = fresh_runtime()
    assert not rt.forced_offline and not rt.online
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "허브 연결 불가" in rt.describe()


def test_reachable_hub_means_online(monkeypatch, fresh_runtime):
    monkeypatch.setenv("RERANK_COURSE_OFFLINE", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(env, "hub_reachable", lambda *a, **k: True)
    assert fresh_runtime().online


def test_hub_reachable_is_false_for_an_unresolvable_host():
    assert env.hub_reachable("reranker-course.invalid", timeout=0.5) is False


def test_device_is_cpu_here_and_cache_dir_follows_the_variable(monkeypatch, tmp_path, fresh_runtime):
    monkeypatch.setenv("RERANK_COURSE_CACHE", str(tmp_path / "cache"))
    rt = fresh_runtime()
    assert rt.device == "cpu" and rt.cache_dir == tmp_path / "cache" and rt.cache_dir.is_dir()


def test_colab_is_detected_from_the_google_colab_module(fake_colab, fresh_runtime):
    assert is_colab() and fresh_runtime().is_colab


def test_not_colab_without_the_module():
    assert "google.colab" not in sys.modules and not is_colab()


def test_secret_from_environment_wins(monkeypatch, fake_colab):
    monkeypatch.setenv("COURSE_TEST_KEY", "  env-value  ")
    fake_colab.secrets["COURSE_TEST_KEY"] = "colab-value"
    assert get_secret("COURSE_TEST_KEY") == "env-value"


def test_secret_from_colab_when_environment_is_empty(monkeypatch, fake_colab):
    monkeypatch.setenv("COURSE_TEST_KEY", "")
    fake_colab.secrets["COURSE_TEST_KEY"] = "colab-value"
    assert get_secret("COURSE_TEST_KEY") == "colab-value"


@pytest.mark.parametrize("failure", ["SecretNotFoundError", "NotebookAccessError", "TimeoutError"])
def test_colab_secret_errors_become_none_without_leaking(fake_colab, capsys, failure):
    error_type = getattr(fake_colab.errors, failure, None) or TimeoutError
    fake_colab.secrets["COURSE_TEST_KEY"] = error_type("sk-should-not-print")
    assert get_secret("COURSE_TEST_KEY") is None
    printed = capsys.readouterr()
    assert "COURSE_TEST_KEY" in printed.out and "sk-should-not-print" not in printed.out + printed.err


def test_missing_secret_outside_colab_is_none_and_silent(capsys):
    assert get_secret("COURSE_TEST_KEY_MISSING") is None
    assert capsys.readouterr().out == ""


def test_secret_value_is_never_printed_by_mask():
    assert mask("sk-secret") == "설정됨(****)" and mask(None) == "없음"


@pytest.mark.parametrize("name", [None, "", "   ", 3])
def test_secret_name_must_be_text(name):
    with pytest.raises(ValueError, match="name"):
        get_secret(name)


def test_models_dir_must_exist(monkeypatch, tmp_path, fresh_runtime):
    monkeypatch.setenv("RERANK_COURSE_MODELS_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="RERANK_COURSE_MODELS_DIR"):
        fresh_runtime()


def test_find_local_model_uses_the_models_dir_first(monkeypatch, tmp_path, fresh_runtime):
    model = tmp_path / "hf" / hub_folder_name("org/model")
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("RERANK_COURSE_MODELS_DIR", str(tmp_path))
    fresh_runtime()
    assert find_local_model("org/model") == model
    assert find_local_model("org/other-model") is None


def test_runtime_is_a_frozen_record():
    rt = Runtime(False, True, False, env.default_cache_dir(), None)
    with pytest.raises(AttributeError):
        rt.device = "cuda"


def test_model_loading_hides_the_weights_progress_bar_and_restores_it():
    from transformers.utils import logging as transformers_logging

    from course_utils.env import quiet_model_loading

    transformers_logging.enable_progress_bar()
    with quiet_model_loading():
        assert not transformers_logging.is_progress_bar_enabled()
    assert transformers_logging.is_progress_bar_enabled()
