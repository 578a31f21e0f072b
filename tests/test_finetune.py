"""미세 조정: 같은 씨앗이면 같은 가중치, 학습한 모델이 강의 인터페이스에 끼워지고, 명령줄이 내 데이터로 돕니다."""

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT
from safetensors.torch import load_file

from course_utils.data import COURSE_DATASET_DIR, load_beir
from course_utils.finetune import finetune_embeddings, reranker_folder, training_pairs
from course_utils.offline_models import bi_encoder_path
from course_utils.rerankers import load_reranker


@pytest.fixture(scope="module")
def small_beir(tmp_path_factory):
    """강의 데이터의 pet 분야만 담은 작은 BEIR 폴더 (train·test 분할)."""
    folder = tmp_path_factory.mktemp("pet-beir")
    (folder / "qrels").mkdir()
    corpus = [json.loads(line) for line in (COURSE_DATASET_DIR / "corpus.jsonl").read_text("utf-8").splitlines()]
    queries = [json.loads(line) for line in (COURSE_DATASET_DIR / "queries.jsonl").read_text("utf-8").splitlines()]
    keep = lambda record: record["_id"].startswith("pet-")  # noqa: E731
    (folder / "corpus.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in corpus if keep(c)))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries if keep(q)))
    for split in ("train", "test"):
        lines = (COURSE_DATASET_DIR / "qrels" / f"{split}.tsv").read_text("utf-8").splitlines()
        (folder / "qrels" / f"{split}.tsv").write_text(
            "\n".join([lines[0], *(line for line in lines[1:] if line.startswith("pet-"))]) + "\n"
        )
    return folder


def test_training_pairs_use_only_grade_two_with_e5_prefixes(small_beir):
    corpus, queries, qrels = load_beir(small_beir, split="train")
    pairs = training_pairs(corpus, queries, qrels)
    assert len(pairs) == sum(1 for judged in qrels.values() for grade in judged.values() if grade == 2) == 16
    assert all(query.startswith("query: ") and passage.startswith("passage: ") for query, passage in pairs)


@pytest.mark.parametrize(
    ("option", "value"), [("steps", 0), ("steps", 1.5), ("batch_size", "8"), ("learning_rate", 3.0)]
)
def test_bad_options_get_a_korean_error_naming_the_option(small_beir, tmp_path, option, value):
    with pytest.raises(ValueError, match=option):
        finetune_embeddings(small_beir, tmp_path / "out", **{option: value})
    assert not (tmp_path / "out").exists()


def test_two_trainings_with_the_same_seed_give_identical_weights_and_plug_into_load_reranker(small_beir, tmp_path):
    first = finetune_embeddings(small_beir, tmp_path / "first", steps=2, batch_size=8, seed=0)
    second = finetune_embeddings(small_beir, tmp_path / "second", steps=2, batch_size=8, seed=0)
    # 답과 너무 가까운 문단은 거짓 오답일 수 있어 건너뛰므로, 오답을 못 찾은 쌍은 빠집니다.
    assert first.triplets == second.triplets and 0 < first.triplets <= 16
    assert len(first.losses) == 2 and first.losses == second.losses
    a, b = load_file(first.output_dir / "model.safetensors"), load_file(second.output_dir / "model.safetensors")
    assert a.keys() == b.keys() and all((a[name] == b[name]).all() for name in a)
    assert not list(tmp_path.glob("*.saving")) and not list(tmp_path.glob("*.training"))  # 반쯤 저장된 폴더 없음
    # 학습했으면 가중치가 바뀌었습니다 (얼린 단어 임베딩 표는 그대로).
    base = load_file(bi_encoder_path() / "model.safetensors")
    changed = [name for name in base if name in a and not (a[name] == base[name]).all()]
    assert changed and not any("word_embeddings" in name for name in changed)
    reranker = load_reranker(
        "cross-encoder", str(reranker_folder(first.output_dir, tmp_path / "reranker")), trust_remote_code=True
    )
    assert not reranker.is_standin
    results = reranker.rank("강아지 예방접종은 언제 시작하나요?", ["고양이 사료 고르기", "강아지 예방접종 시기와 간격"])
    assert results[0].index == 1 and 0 < results[1].score < results[0].score < 1


def test_finetune_command_on_my_own_beir_folder(small_beir, tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils",
            "finetune",
            "--data",
            str(small_beir),
            "--out",
            str(tmp_path / "m"),
            "--steps",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert re.search(r"학습: 세 쌍 \d+개, 1걸음", completed.stdout), completed.stdout
    assert "e5 (학습 전)" in completed.stdout and "e5 (학습 후)" in completed.stdout and "짝지은" in completed.stdout
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils",
            "finetune",
            "--data",
            str(tmp_path / "없음"),
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert refused.returncode == 2 and "--data 는" in refused.stderr and "Traceback" not in refused.stderr
