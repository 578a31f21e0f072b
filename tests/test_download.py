"""`python -m course_utils download`: 폐쇄망 교실용으로 미리 받는 폴더의 구조."""

import pytest

from course_utils.__main__ import course_models, download, main
from course_utils.env import find_local_model


def test_download_writes_the_layout_the_course_reads(tmp_path, monkeypatch, fresh_runtime):
    def fake_snapshot(repo_id, local_dir):
        local_dir.mkdir(parents=True)
        (local_dir / "config.json").write_text("{}", encoding="utf-8")
        return str(local_dir)

    def fake_flashrank(name, target_dir):
        (target_dir / name).mkdir(parents=True)
        return target_dir / name

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot)
    monkeypatch.setattr("course_utils.rerankers.download_flashrank_model", fake_flashrank)
    saved = download(tmp_path)
    models = course_models()
    assert len(saved) == len(models["hf"]) + len(models["flashrank"])
    monkeypatch.setenv("RERANK_COURSE_MODELS_DIR", str(tmp_path))
    fresh_runtime()
    for repo_id in models["hf"]:
        assert find_local_model(repo_id) is not None
    assert all((tmp_path / "flashrank" / name).is_dir() for name in models["flashrank"])


def test_download_rejects_unknown_names(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["download", "--to", str(tmp_path), "--models", "gpt-5"])
    assert "BAAI/bge-reranker-v2-m3" in capsys.readouterr().err
