import pytest

from course_utils import standins
from course_utils.__main__ import course_models, download, main
from course_utils.env import find_local_model


def test_standin_build_is_deterministic(tmp_path, monkeypatch):
    """고정 어휘·시드·단계 수라면 두 번 만든 모델의 가중치 파일이 바이트 단위로 같습니다 (짧은 학습으로 확인)."""
    monkeypatch.setattr(standins, "_TRAIN_STEPS", 15)
    first = standins.build_standin_cross_encoder(tmp_path / "a")
    second = standins.build_standin_cross_encoder(tmp_path / "b")
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    assert standins.build_standin_cross_encoder(tmp_path / "a") == first  # 두 번째 부름은 캐시를 씁니다


def test_standin_tokenizer_keeps_hangul_whole():
    tokenizer = standins.standin_tokenizer()
    tokens = tokenizer.tokenize("강아지 예방접종")
    # NFD 로 자모가 쪼개지면 이어 붙여도 원래 음절이 나오지 않습니다.
    assert "[UNK]" not in tokens and "".join(token.removeprefix("##") for token in tokens) == "강아지예방접종"


def test_training_pairs_never_use_test_queries():
    from course_utils.data import load_course_dataset

    _, test_queries, _ = load_course_dataset("test")
    queries_in_pairs = {query for query, _, _ in standins._training_pairs()}
    assert not queries_in_pairs & set(test_queries.values())


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
