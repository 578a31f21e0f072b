"""점수 계산 경로(scoring)와 벤치마크(bench): 값이 라이브러리와 같고, 세는 수가 맞고, 낭비가 없는지."""

import json
from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sentence_transformers import CrossEncoder

from course_utils.__main__ import main
from course_utils.bench import (
    CROSS_ENCODER_SHAPES,
    MODEL_SHAPES,
    BenchmarkReport,
    estimate_seconds,
    reference_report,
    run_benchmark,
)
from course_utils.data import document_text, load_course_dataset
from course_utils.offline_models import cross_encoder_path
from course_utils.scoring import length_sorted_batches, score_pairs


@pytest.fixture(scope="module")
def standin():
    return CrossEncoder(str(cross_encoder_path()), device="cpu", trust_remote_code=True)


@pytest.fixture(scope="module")
def course_pairs():
    corpus, queries, _ = load_course_dataset("test")
    return next(iter(queries.values())), [document_text(document) for document in list(corpus.values())[:30]]


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=512), max_size=60),
    batch_size=st.integers(min_value=1, max_value=32),
    max_padding=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_batches_are_a_length_sorted_partition_within_the_padding_limit(lengths, batch_size, max_padding):
    batches = length_sorted_batches(lengths, batch_size, max_padding)
    flat = [position for batch in batches for position in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[position] for position in flat] == sorted(lengths, reverse=True)
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        padded = len(batch) * lengths[batch[0]]
        assert 1 - sum(lengths[position] for position in batch) / padded <= max_padding + 1e-12


@pytest.mark.parametrize(("batch_size", "max_padding", "word"), [(0, 0.1, "batch_size"), (4, 1.0, "max_padding")])
def test_bad_batching_arguments_are_named(batch_size, max_padding, word):
    with pytest.raises(ValueError, match=word):
        length_sorted_batches([3, 2], batch_size, max_padding)


def test_course_scoring_path_gives_the_library_scores_with_little_padding(standin, course_pairs):
    query, texts = course_pairs
    expected = standin.predict([(query, text) for text in texts], show_progress_bar=False)
    scores, tokens = score_pairs(standin, query, texts, batch_size=16)
    assert scores == pytest.approx(expected.tolist(), abs=1e-5)
    assert sum(pairs for pairs, _ in tokens.batch_shapes) == len(texts)
    assert tokens.useful <= tokens.processed
    assert tokens.padding_waste <= 0.10
    assert tokens.truncated == ()


def test_truncation_is_reported_by_position(standin, course_pairs):
    query, texts = course_pairs
    short = "짧은 문서"
    scores, tokens = score_pairs(standin, query, [short, texts[0]], max_length=24)
    assert tokens.truncated == (1,)
    assert max(length for _, length in tokens.batch_shapes) == 24
    assert score_pairs(standin, query, []) == ([], tokens.__class__(0))
    assert len(scores) == 2


def test_reranker_and_its_compressor_use_the_course_path(standin, course_pairs):
    from course_utils.rerankers import load_reranker

    query, texts = course_pairs
    reranker = load_reranker("cross-encoder", max_length=256)
    expected, _ = score_pairs(standin, query, texts[:8])
    ranked = reranker.rank(query, texts[:8])
    assert [result.score for result in ranked] == pytest.approx(sorted(expected, reverse=True), abs=1e-5)
    from langchain_core.documents import Document

    kept = reranker.as_compressor(top_n=3).compress_documents([Document(page_content=t) for t in texts[:8]], query)
    assert [doc.metadata["relevance_score"] for doc in kept] == pytest.approx(sorted(expected, reverse=True)[:3])


#: Qwen3 계열의 작은 모양 (머리 4개, 키·값 머리 2개, 머리 폭 16, SwiGLU 128): 만들기 빠르고 계산 식은 같습니다.
TINY_QWEN3 = replace(
    MODEL_SHAPES["Qwen3-Reranker-0.6B"],
    name="Qwen3 (작은 모양)",
    layers=2,
    hidden=64,
    heads=4,
    kv_heads=2,
    head_dim=16,
    intermediate=128,
    vocab=100,
    max_positions=64,
)


@pytest.mark.parametrize(
    "shape", [MODEL_SHAPES["TinyBERT-L2"], MODEL_SHAPES["MiniLM-L12"], TINY_QWEN3], ids=lambda shape: shape.name
)
def test_shape_configs_build_models_with_the_counted_parameters(shape):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_config(shape.config())
    # 층 안의 행렬 가중치: BERT 는 Q·K·V·출력 (4h²) 과 FFN 두 개 (2hf), Qwen3 는 GQA 어텐션과 SwiGLU (3hf).
    layer_weights = sum(
        parameter.numel()
        for parameter_name, parameter in model.named_parameters()
        if (".encoder.layer." in parameter_name or ".layers." in parameter_name) and parameter.ndim == 2
    )
    assert layer_weights == shape.non_embedding_parameters


def test_flop_formula_matches_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModelForSequenceClassification

    shape = MODEL_SHAPES["TinyBERT-L2"]
    config = shape.config()
    config._attn_implementation = "eager"  # 어텐션을 행렬곱으로 돌려야 FlopCounter 가 셉니다
    model = AutoModelForSequenceClassification.from_config(config).eval()
    pairs, length = 4, 96
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(input_ids=torch.ones(pairs, length, dtype=torch.long))
    # 공식은 풀러·분류층(토큰당이 아닌 작은 항)을 빼므로 조금 작습니다.
    assert shape.batch_flops(pairs, length) == pytest.approx(counter.get_total_flops(), rel=0.02)


def test_published_shapes_have_the_parameter_counts_of_their_model_cards():
    # 카드의 전체 파라미터 수 = 층의 가중치 + 임베딩 (어휘 × hidden). 바이어스·LayerNorm 은 1% 미만입니다.
    def total(name):
        shape = MODEL_SHAPES[name]
        return shape.non_embedding_parameters + shape.vocab * shape.hidden

    assert total("XLM-R large") == pytest.approx(568e6, rel=0.02)  # bge-reranker-v2-m3
    assert total("XLM-R base") == pytest.approx(278e6, rel=0.02)  # bge-reranker-base
    assert total("MiniLM-L12") == pytest.approx(33.4e6, rel=0.02)
    assert total("TinyBERT-L2") == pytest.approx(4.4e6, rel=0.05)
    assert total("Qwen3-Reranker-0.6B") == pytest.approx(0.6e9, rel=0.02)  # Qwen3-0.6B 카드: 0.6B, 임베딩 제외 0.44B
    assert MODEL_SHAPES["Qwen3-Reranker-0.6B"].non_embedding_parameters == pytest.approx(0.44e9, rel=0.01)


def test_qwen3_workload_carries_the_model_cards_prompt():
    # 인과 LM 리랭커는 쌍마다 카드의 프롬프트를 읽으므로, 워크로드의 질의 앞에 그 글을 붙여 잽니다.
    prompt = MODEL_SHAPES["Qwen3-Reranker-0.6B"].prompt
    assert "<Instruct>" in prompt and "<Document>" in prompt and '"yes" or "no"' in prompt


@pytest.fixture(scope="module")
def tiny_report():
    return run_benchmark(shapes=["TinyBERT-L2"], candidates=[5, 10], queries=2, progress=False, agreement_queries=2)


def test_benchmark_reports_every_figure_and_round_trips_through_json(tiny_report, tmp_path):
    assert [(row["shape"], row["candidates"]) for row in tiny_report.rows] == [("TinyBERT-L2", 5), ("TinyBERT-L2", 10)]
    for row in tiny_report.rows:
        assert row["weights"].startswith("무작위") and row["precision"] == "fp32" and row["queries"] == 2
        assert 0 < row["p50_ms"] <= row["p95_ms"]
        assert 0 < row["efficiency"] < 1.5 and 0 <= row["padding_waste"] <= 0.10
    assert {"cpu", "cpus", "torch_threads", "gpu", "torch"} <= set(tiny_report.machine)
    assert tiny_report.langchain["shape"] == "TinyBERT-L2" and tiny_report.langchain["ratio"] > 0
    assert 0 <= tiny_report.agreement["top10_overlap"] <= 1 and -1 <= tiny_report.agreement["kendall_tau"] <= 1
    path = tmp_path / "bench.json"
    path.write_text(tiny_report.to_json(), encoding="utf-8")
    assert BenchmarkReport.load(path) == tiny_report
    assert "TinyBERT-L2" in str(tiny_report) and "LangChain" in str(tiny_report)


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"shapes": ["BERT-huge"]}, "shapes"),
        ({"candidates": [0]}, "candidates"),
        ({"queries": 0}, "queries"),
        ({"agreement_queries": 0}, "agreement_queries"),
    ],
)
def test_bad_benchmark_arguments_are_named(arguments, word):
    with pytest.raises(ValueError, match=word):
        run_benchmark(progress=False, **arguments)


def test_cli_writes_the_json_and_rejects_unknown_shapes(tmp_path, capsys):
    target = tmp_path / "out" / "bench.json"
    arguments = ["--shapes", "TinyBERT-L2", "--candidates", "5", "--queries", "2", "--agreement-queries", "2"]
    main(["bench", *arguments, "--json", str(target)])
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["rows"][0]["shape"] == "TinyBERT-L2" and "machine" in saved
    assert "저장" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["bench", "--shapes", "BERT-huge"])


def test_committed_reference_covers_every_shape_and_candidate_count():
    report = reference_report()
    measured = {(row["shape"], row["candidates"]) for row in report.rows if row["precision"] == "fp32"}
    assert measured == {(shape, count) for shape in CROSS_ENCODER_SHAPES for count in (10, 20, 50, 100)}
    assert {item["shape"] for item in report.quantization} == {"MiniLM-L12", "XLM-R base"}
    assert report.machine["cpus"] == 2 and report.langchain and report.agreement
    # 시간 어림은 측정값에 비례합니다.
    assert estimate_seconds("XLM-R large", 2, 20, report) == pytest.approx(
        2 * report.row("XLM-R large", 20)["p50_ms"] / 1000
    )
    with pytest.raises(ValueError, match="shape"):
        estimate_seconds("BERT-huge", 1, 10, report)


def test_readme_carries_the_committed_2_core_table(capsys):
    import runpy

    from conftest import ROOT

    runpy.run_path(str(ROOT / "scripts" / "bench_readme_table.py"), run_name="__main__")
    table = capsys.readouterr().out.strip()
    assert table and table in (ROOT / "README.md").read_text(encoding="utf-8")


def test_int8_comparison_times_both_precisions_on_the_same_inputs():
    from course_utils.bench import _compare_int8, _shape_cross_encoder, _workload

    corpus, queries, _ = load_course_dataset("test")
    shape = MODEL_SHAPES["TinyBERT-L2"]
    encoder, _ = _shape_cross_encoder(shape, "cpu")
    result = _compare_int8(encoder, shape, _workload(queries, corpus, 2, 8), batch_size=16, max_seconds=5)
    assert result["shape"] == "TinyBERT-L2" and result["candidates"] == 8
    assert result["fp32_p50_ms"] > 0 and result["int8_p50_ms"] > 0
    assert result["speedup"] == pytest.approx(result["fp32_p50_ms"] / result["int8_p50_ms"])


def test_committed_causal_lm_run_measures_both_shapes_in_one_run():
    from course_utils.bench import CAUSAL_LM_REPORT, BenchmarkReport

    report = BenchmarkReport.load(CAUSAL_LM_REPORT)
    assert [(row["shape"], row["candidates"]) for row in report.rows] == [
        ("XLM-R large", 20),
        ("Qwen3-Reranker-0.6B", 20),
    ]
    assert report.machine["cpus"] == 2 and all(0 < row["efficiency"] <= 1.0 for row in report.rows)
    # 프롬프트가 붙어 쌍이 길고 모델이 커서, 인과 LM 리랭커가 XLM-R large 보다 느립니다.
    qwen3, large = report.row("Qwen3-Reranker-0.6B", 20), report.row("XLM-R large", 20)
    assert qwen3["tokens_per_pair"] > large["tokens_per_pair"] and qwen3["p50_ms"] > 2 * large["p50_ms"]
