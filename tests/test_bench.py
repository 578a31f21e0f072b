"""점수 계산 경로(scoring)와 벤치마크(bench): 값이 라이브러리와 같고, 세는 수가 맞고, 낭비가 없는지."""

import json
import statistics
import time
from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sentence_transformers import CrossEncoder

from course_utils.__main__ import main
from course_utils.bench import (
    _COLD_START_MARK,
    COLD_START_BACKENDS,
    CROSS_ENCODER_SHAPES,
    MODEL_SHAPES,
    QUANTIZED_SHAPES,
    BenchmarkReport,
    _alternate,
    _import_seconds,
    estimate_seconds,
    paired_ratio,
    percentile,
    reference_report,
    run_benchmark,
)
from course_utils.data import document_text, load_course_dataset
from course_utils.offline_models import cross_encoder_path
from course_utils.scoring import BatchCost, measure_batch_cost, plan_batches, quantize_int8, score_pairs


@pytest.fixture(scope="module")
def standin():
    return CrossEncoder(str(cross_encoder_path()), device="cpu", trust_remote_code=True)


@pytest.fixture(scope="module")
def course_pairs():
    corpus, queries, _ = load_course_dataset("test")
    return next(iter(queries.values())), [document_text(document) for document in list(corpus.values())[:30]]


def _all_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _all_partitions(rest):
        yield [[first], *partition]
        for position in range(len(partition)):
            yield [*partition[:position], [first, *partition[position]], *partition[position + 1 :]]


def _planned_seconds(lengths, batches, cost):
    return cost.seconds([(len(batch), max(lengths[position] for position in batch)) for batch in batches])


costs = st.builds(
    BatchCost,
    per_call_s=st.floats(min_value=0, max_value=1),
    per_token_s=st.floats(min_value=1e-6, max_value=1e-2),
)


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=512), max_size=60),
    batch_size=st.integers(min_value=1, max_value=32),
    cost=costs,
)
def test_planned_batches_are_a_length_sorted_partition_within_the_batch_size(lengths, batch_size, cost):
    batches = plan_batches(lengths, batch_size, cost)
    flat = [position for batch in batches for position in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[position] for position in flat] == sorted(lengths, reverse=True)
    assert all(1 <= len(batch) <= batch_size for batch in batches)


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=7),
    batch_size=st.integers(min_value=1, max_value=7),
    cost=costs,
)
def test_planned_batches_cost_no_more_than_any_other_grouping(lengths, batch_size, cost):
    # 정렬한 순서의 이어진 구간만 보는 계획이, 모든 묶음 방법(순서 무관) 중 가장 싼 것과 같은 비용인지.
    planned = _planned_seconds(lengths, plan_batches(lengths, batch_size, cost), cost)
    cheapest = min(
        _planned_seconds(lengths, partition, cost)
        for partition in _all_partitions(list(range(len(lengths))))
        if all(len(batch) <= batch_size for batch in partition)
    )
    assert planned == pytest.approx(cheapest, rel=1e-9)


def test_cost_model_chooses_few_calls_for_small_models_and_no_padding_for_large_ones():
    lengths = [120, 118, 90, 88, 60, 30, 29, 28, 27, 26]
    overhead_bound = plan_batches(lengths, 4, BatchCost(per_call_s=1.0, per_token_s=1e-6))
    assert len(overhead_bound) == 3  # 호출 수가 가장 적은 나눔 (10쌍, 4개씩)
    compute_bound = plan_batches(lengths, 32, BatchCost(per_call_s=0.0, per_token_s=1e-3))
    assert all(len({lengths[position] for position in batch}) == 1 for batch in compute_bound)


@pytest.mark.parametrize(("per_call_s", "per_token_s"), [(-0.1, 1e-3), (0.0, 0.0)])
def test_bad_batch_costs_are_named(per_call_s, per_token_s):
    with pytest.raises(ValueError, match="per_call_s"):
        BatchCost(per_call_s, per_token_s)


def test_bad_batch_size_is_named():
    with pytest.raises(ValueError, match="batch_size"):
        plan_batches([3, 2], 0, BatchCost(0.01, 1e-3))


def test_batch_cost_is_measured_once_per_model(standin):
    cost = measure_batch_cost(standin)
    assert cost.per_call_s >= 0 and cost.per_token_s > 0
    assert measure_batch_cost(standin) is cost


@pytest.mark.parametrize(
    "cost", [None, BatchCost(per_call_s=0.0, per_token_s=1e-3), BatchCost(per_call_s=10.0, per_token_s=1e-3)]
)
def test_course_scoring_path_gives_the_library_scores_whatever_the_batches(standin, course_pairs, cost):
    query, texts = course_pairs
    expected = standin.predict([(query, text) for text in texts], show_progress_bar=False)
    scores, tokens = score_pairs(standin, query, texts, batch_size=16, cost=cost)
    assert scores == pytest.approx(expected.tolist(), abs=1e-5)
    assert sum(pairs for pairs, _ in tokens.batch_shapes) == len(texts)
    assert tokens.useful <= tokens.processed
    assert tokens.truncated == ()
    if cost is not None and cost.per_call_s == 0:
        assert tokens.padding_waste == 0  # 호출이 공짜면 같은 길이끼리만 묶습니다
    if cost is not None and cost.per_call_s > 1:
        assert len(tokens.batch_shapes) == 2  # 호출이 비싸면 16개씩 가득 채웁니다 (30쌍 → 2번)


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


def _record_alternate(patch: pytest.MonkeyPatch) -> list:
    """``bench._alternate`` 가 부를 때마다 돌려준 (질의별 시간, 결과) 를 모읍니다: 잰 값과 보고의 정의를 맞춰 봅니다."""
    import course_utils.bench as bench

    calls = []
    patch.setattr(bench, "_alternate", lambda *args: calls.append(_alternate(*args)) or calls[-1])
    return calls


@pytest.fixture(scope="module")
def tiny_report():
    """작은 전체 실행과, 그 안에서 칸마다 ``_alternate`` 가 잰 질의별 시간 (``report.timed``)."""
    with pytest.MonkeyPatch.context() as patch:
        timed = _record_alternate(patch)
        report = run_benchmark(
            shapes=["TinyBERT-L2"],
            candidates=[5, 10],
            queries=2,
            progress=False,
            agreement_queries=2,
            cold_start_backends=["cross-encoder"],
        )
    report.timed = [seconds for seconds, _ in timed]
    return report


def test_benchmark_reports_every_figure_and_round_trips_through_json(tiny_report, tmp_path):
    assert [(row["shape"], row["candidates"]) for row in tiny_report.rows] == [("TinyBERT-L2", 5), ("TinyBERT-L2", 10)]
    for row, seconds in zip(tiny_report.rows, tiny_report.timed, strict=True):
        assert row["weights"].startswith("무작위") and row["precision"] == "fp32" and row["queries"] == 2
        assert 0 < row["p50_ms"] <= row["p95_ms"]
        assert row["cpu_p50_ms"] > 0 and 0 <= row["padding_waste"] < 1
        # 효율의 분모는 같은 실행에서 잰 행렬곱 최고치: 실제 모델이 그보다 빠를 수는 없습니다.
        assert 0 < row["achieved_gflops"] <= row["peak_gflops"] and 0 < row["efficiency"] <= 1.0
        assert row["efficiency"] == pytest.approx(row["achieved_gflops"] / row["peak_gflops"])
        # 배율은 같은 질의에서 잰 라이브러리 ÷ 강의 경로 시간의 중앙값입니다 (p50 의 비가 아니라: 몇 ms 짜리
        # 시간은 흔들려 두 값이 25% 넘게 벌어지기도 합니다).
        for library in ("predict", "langchain"):
            ratios = [a / b for a, b in zip(seconds[library], seconds["course"], strict=True)]
            assert row[f"ratio_{library}"] == pytest.approx(statistics.median(ratios))
            assert row[f"{library}_p50_ms"] == pytest.approx(percentile(seconds[library], 50) * 1000)
    assert {"cpu", "cpus", "torch_threads", "gpu", "torch"} <= set(tiny_report.machine)
    [cold] = tiny_report.cold_start
    assert cold["backend"] == "cross-encoder" and cold["cpu_seconds"] > 0 and cold["seconds"] > 0
    # 새 프로세스라 sentence-transformers 를 불러오는 시간이 들어 있고, 그것이 전부는 아닙니다 (불러오기·첫 점수).
    assert 0 < cold["import_seconds"] < cold["seconds"]
    assert "e5-small" in cold["runs"]
    assert 0 <= tiny_report.agreement["top10_overlap"] <= 1 and -1 <= tiny_report.agreement["kendall_tau"] <= 1
    path = tmp_path / "bench.json"
    path.write_text(tiny_report.to_json(), encoding="utf-8")
    assert BenchmarkReport.load(path) == tiny_report
    assert (
        "TinyBERT-L2" in str(tiny_report)
        and "LangChain ÷ 강의" in str(tiny_report)
        and "콜드 스타트" in str(tiny_report)
    )


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"shapes": ["BERT-huge"]}, "shapes"),
        ({"candidates": [0]}, "candidates"),
        ({"queries": 0}, "queries"),
        ({"agreement_queries": 0}, "agreement_queries"),
        ({"cold_start_backends": ["bm25"]}, "cold_start_backends"),
    ],
)
def test_bad_benchmark_arguments_are_named(arguments, word):
    with pytest.raises(ValueError, match=word):
        run_benchmark(progress=False, **arguments)


def test_cli_writes_the_json_and_rejects_unknown_shapes(tmp_path, capsys):
    target = tmp_path / "out" / "bench.json"
    arguments = ["--shapes", "TinyBERT-L2", "--candidates", "5", "--queries", "2", "--agreement-queries", "2"]
    main(["bench", *arguments, "--cold-start", "--json", str(target)])  # --cold-start 에 이름이 없으면 재지 않음
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["rows"][0]["shape"] == "TinyBERT-L2" and "machine" in saved and saved["cold_start"] == []
    assert "저장" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["bench", "--shapes", "BERT-huge"])


def test_committed_reference_covers_every_shape_and_candidate_count():
    report = reference_report()
    measured = {(row["shape"], row["candidates"]) for row in report.rows if row["precision"] == "fp32"}
    assert measured == {(shape, count) for shape in CROSS_ENCODER_SHAPES for count in (10, 20, 50, 100)}
    assert {item["shape"] for item in report.quantization} == set(QUANTIZED_SHAPES)
    assert report.machine["cpus"] == 2 and report.agreement
    assert {item["backend"] for item in report.cold_start} == set(COLD_START_BACKENDS)
    assert all(0 <= item["import_seconds"] < item["seconds"] and item["cpu_seconds"] > 0 for item in report.cold_start)
    # 새 프로세스에서 라이브러리를 처음 불러오는 시간까지 넣어 첫 점수까지 5초 이내.
    waits = {item["backend"]: item["seconds"] for item in report.cold_start}
    assert all(wait <= 5.0 for wait in waits.values()), waits
    # 효율의 분모는 같은 실행의 행렬곱 최고치이고, 그 값과 모양이 함께 실립니다.
    assert all(0 < row["efficiency"] <= 1.0 and row["peak_gflops"] > 0 and row["peak_gemm"] for row in report.rows)
    # int8 의 순위는 fp32 와 상위 10개가 95% 넘게 같습니다: 구간의 하한까지 (품질 수치에는 구간이 함께 실립니다).
    assert report.agreement["queries"] >= 30
    low, high = report.agreement["top10_overlap_95ci"]
    assert 0.95 <= low <= report.agreement["top10_overlap"] <= high
    # 시간 어림은 측정값에 비례합니다.
    assert estimate_seconds("XLM-R large", 2, 20, report) == pytest.approx(
        2 * report.row("XLM-R large", 20)["p50_ms"] / 1000
    )
    with pytest.raises(ValueError, match="shape"):
        estimate_seconds("BERT-huge", 1, 10, report)


def test_import_seconds_sum_the_top_level_imports_after_the_mark():
    log = "\n".join(
        [
            "import time:       100 |     9000000 | course_utils.rerankers",
            _COLD_START_MARK,
            "import time:       200 |     300000 |   transformers.utils",
            "import time:       500 |    1500000 | sentence_transformers",
            "import time:        40 |      40000 | sklearn",
        ]
    )
    # 표시 앞의 모듈과 들여 쓴 (안쪽) 모듈은 세지 않습니다: 1.5 + 0.04 초.
    assert _import_seconds(log) == pytest.approx(1.54)


def test_readme_carries_the_committed_2_core_table(capsys):
    import runpy

    from conftest import ROOT

    runpy.run_path(str(ROOT / "scripts" / "bench_readme_table.py"), run_name="__main__")
    tables = capsys.readouterr().out.strip().split("\n\n")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(tables) == 2 and all(table in readme for table in tables)  # 지연 시간·효율 표와 배율 표


def test_int8_comparison_times_both_precisions_on_the_same_inputs(monkeypatch):
    import course_utils.bench as bench

    timed = _record_alternate(monkeypatch)
    corpus, queries, _ = load_course_dataset("test")
    shape = MODEL_SHAPES["TinyBERT-L2"]
    encoder, _ = bench._shape_cross_encoder(shape, "cpu")
    result = bench._compare_int8(encoder, shape, bench._workload(queries, corpus, 2, 8), batch_size=16, max_seconds=5)
    assert result["shape"] == "TinyBERT-L2" and result["candidates"] == 8 and result["queries"] == 2
    # 두 정밀도를 같은 질의에서 번갈아 쟀고, 배율은 fp32 ÷ int8 의 질의별 비의 중앙값입니다. 작은 모델의 몇 ms
    # 짜리 시간은 흔들리므로 (CI 에서 p50 의 비 0.50, 비의 중앙값 0.78) 잰 값과의 정의만 맞춰 봅니다.
    ((seconds, _),) = timed
    assert len(seconds["fp32"]) == len(seconds["int8"]) == 2
    assert result["fp32_p50_ms"] == pytest.approx(percentile(seconds["fp32"], 50) * 1000)
    assert result["int8_p50_ms"] == pytest.approx(percentile(seconds["int8"], 50) * 1000)
    ratios = [fp32 / int8 for fp32, int8 in zip(seconds["fp32"], seconds["int8"], strict=True)]
    assert result["speedup"] == pytest.approx(sum(ratios) / 2)  # 질의 2개의 중앙값


def test_int8_copy_quantizes_every_linear_layer_and_keeps_the_ranking(standin, course_pairs):
    query, texts = course_pairs
    int8 = quantize_int8(standin)
    assert not any(isinstance(module, torch.nn.Linear) for module in int8[0].model.modules())
    assert any(isinstance(module, torch.nn.Linear) for module in standin[0].model.modules())  # 원본은 그대로
    fp32_scores, _ = score_pairs(standin, query, texts)
    int8_scores, _ = score_pairs(int8, query, texts)
    assert fp32_scores != int8_scores
    top = lambda scores: set(sorted(range(len(texts)), key=lambda i: -scores[i])[:10])  # noqa: E731
    assert len(top(fp32_scores) & top(int8_scores)) >= 8


def test_int8_uses_the_full_8_bit_activation_range_where_the_cpu_does_not_saturate(standin, course_pairs):
    from course_utils.scoring import FullRangeLinear

    query, texts = course_pairs
    cost = BatchCost(per_call_s=0.01, per_token_s=1e-5)  # 세 모델을 같은 배치 나눔으로 견줍니다
    exact, _ = score_pairs(standin, query, texts, cost=cost)
    full, reduced = quantize_int8(standin), quantize_int8(standin, full_range=False)
    wrapped = [module for module in full[0].model.modules() if isinstance(module, FullRangeLinear)]
    assert not any(isinstance(module, FullRangeLinear) for module in reduced[0].model.modules())
    if torch.cpu._is_vnni_supported():  # VNNI 는 int8 곱을 32비트로 바로 더하므로 넘치지 않습니다
        assert len(wrapped) == 48  # 12층 × (합친 Q·K·V, 어텐션 출력, FFN 두 층)

    def error(model) -> float:
        return sum(abs(a - b) for a, b in zip(score_pairs(model, query, texts, cost=cost)[0], exact, strict=True))

    if wrapped:  # 눈금이 두 배로 촘촘해 fp32 에 더 가깝습니다
        assert error(full) < 0.8 * error(reduced)


def test_int8_keeps_torchs_7_bit_activations_where_the_full_range_would_saturate(standin, monkeypatch):
    from course_utils.scoring import FullRangeLinear

    # 16비트 중간 합이 넘치는 CPU 를 흉내 냅니다: 확인용 내적(참값 64)이 절반쯤으로 나옵니다.
    monkeypatch.setattr(FullRangeLinear, "forward", lambda self, hidden: torch.full((len(hidden), 1), 32.4))
    int8 = quantize_int8(standin)
    assert not any(isinstance(module, FullRangeLinear) for module in int8[0].model.modules())
    assert any(type(module) is torch.ao.nn.quantized.dynamic.Linear for module in int8[0].model.modules())


def test_smoothing_moves_the_activation_range_into_the_weights_without_changing_the_output():
    from course_utils.scoring import SmoothedInput

    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 3)
    hidden = torch.randn(4, 6) * torch.tensor([1.0, 50.0, 1.0, 0.1, 1.0, 8.0])  # 채널마다 크기가 다른 활성값
    scale = torch.tensor([1.0, 7.0, 1.0, 0.3, 1.0, 2.5])
    moved = torch.nn.Linear(6, 3)
    moved.load_state_dict(linear.state_dict())
    with torch.no_grad():
        moved.weight.mul_(scale)
    smoothed = SmoothedInput(1 / scale, moved)
    assert torch.allclose(smoothed(hidden), linear(hidden), atol=1e-4)
    assert (hidden * smoothed.inverse_scale).abs().amax(0).max() < hidden.abs().amax(0).max()


def test_shared_projection_computes_once_per_input_and_matches_the_separate_layers():
    from course_utils.scoring import ProjectionPart, SharedProjection

    torch.manual_seed(0)
    linears = [torch.nn.Linear(8, width) for width in (8, 8, 4)]
    shared = SharedProjection(linears)
    parts = [ProjectionPart(shared, index) for index in range(3)]
    calls = []
    shared.linear.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0]))
    first, second = torch.randn(5, 8), torch.randn(5, 8)
    with torch.no_grad():
        for hidden in (first, second):
            for part, linear in zip(parts, linears, strict=True):
                assert torch.allclose(part(hidden), linear(hidden), atol=1e-6)
        assert len(calls) == 2  # 입력마다 한 번만 곱합니다
        # 순서가 바뀌거나 같은 몫을 두 번 받아도 값은 맞습니다 (다시 계산할 뿐).
        assert torch.allclose(parts[2](first), linears[2](first), atol=1e-6)
        assert torch.allclose(parts[2](first), linears[2](first), atol=1e-6)
        assert torch.allclose(parts[0](second), linears[0](second), atol=1e-6)
    assert len(calls) == 5


def test_smoothing_and_fused_projections_leave_the_fp32_scores_unchanged(standin, course_pairs):
    import copy

    from course_utils.scoring import (
        ScaledActivation,
        SharedProjection,
        SmoothedInput,
        _input_ranges,
        _smooth_and_fuse,
    )

    query, texts = course_pairs
    prepared = copy.deepcopy(standin)
    _smooth_and_fuse(prepared[0].model, _input_ranges(standin, [(query, texts[:8])]))
    kinds = {type(module) for module in prepared[0].model.modules()}
    assert {SharedProjection, ScaledActivation, SmoothedInput} <= kinds
    layer, original = prepared[0].model.bert.encoder.layer[0], standin[0].model.bert.encoder.layer[0]
    assert not torch.allclose(layer.output.dense.weight, original.output.dense.weight)  # 범위를 옮겼습니다
    cost = BatchCost(per_call_s=0.01, per_token_s=1e-5)  # 같은 배치 나눔으로 견줍니다
    expected, _ = score_pairs(standin, query, texts, cost=cost)
    actual, _ = score_pairs(prepared, query, texts, cost=cost)
    assert actual == pytest.approx(expected, abs=1e-4)


def test_reranker_int8_option_scores_with_a_quantized_copy_close_to_fp32(course_pairs):
    from course_utils.rerankers import load_reranker

    query, texts = course_pairs
    fp32 = load_reranker("cross-encoder", max_length=256)
    int8 = load_reranker("cross-encoder", max_length=256, quantize="int8")
    assert int8.quantize == "int8" and fp32.quantize is None
    assert not any(isinstance(module, torch.nn.Linear) for module in int8._encoder[0].model.modules())
    assert any(isinstance(module, torch.nn.Linear) for module in fp32._encoder[0].model.modules())
    # 활성값의 범위를 배치마다 재므로 int8 점수는 fp32 와 조금 다르고, 순위는 거의 같습니다.
    exact = fp32.rank(query, texts)
    approximate = int8.rank(query, texts)
    assert [result.score for result in exact] != [result.score for result in approximate]
    assert len({result.index for result in exact[:10]} & {result.index for result in approximate[:10]}) >= 8
    assert load_reranker("cross-encoder", max_length=256, quantize="int8")._encoder is int8._encoder  # 한 번만 양자화


@pytest.mark.parametrize("value", ["int4", "INT8", 8, "fp16"])
def test_bad_quantize_values_are_named_in_korean(value):
    from course_utils.rerankers import load_reranker

    with pytest.raises(ValueError, match=r'quantize 는 None 또는 "int8" 이어야 합니다'):
        load_reranker("cross-encoder", quantize=value)


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


def test_alternating_timer_repeats_short_calls_and_rotates_which_path_goes_first(monkeypatch):
    monkeypatch.setattr("course_utils.bench.MIN_CALL_SECONDS", 0.05)
    calls_made: list[tuple[str, str]] = []

    def path(name: str, seconds: float):
        def call(query, texts):
            calls_made.append((name, query))
            time.sleep(seconds)
            return name, query

        return call

    workload = [(f"q{index}", ["문서"] * 8) for index in range(3)]
    seconds, results = _alternate({"fast": path("fast", 0.01), "slow": path("slow", 0.06)}, workload, 60.0)
    assert results == [("fast", "q0"), ("fast", "q1"), ("fast", "q2")]  # 첫 경로의 질의마다 첫 결과
    timed = calls_made[4:]  # 경로마다 예열 두 번을 뺀 나머지
    fast_per_query = [sum(1 for name, query in timed if (name, query) == ("fast", f"q{i}")) for i in range(3)]
    assert all(count >= 2 for count in fast_per_query)  # 10 ms 호출은 0.05초를 채우도록 되풀이
    assert [query for name, query in timed if name == "slow"] == ["q0", "q1", "q2"]  # 60 ms 호출은 한 번씩
    assert next(name for name, query in timed if query == "q1") == "slow"  # 두 번째 질의는 다른 경로부터
    assert all(0.009 < value < 0.03 for value in seconds["fast"]) and len(seconds["slow/cpu"]) == 3
    assert 2 < paired_ratio(seconds["slow"], seconds["fast"]) < 7


def test_paired_ratio_is_the_median_of_per_query_ratios():
    # 셋째 질의에서 기계가 느려져 두 경로가 함께 10배가 되어도 비는 그대로 2입니다.
    assert paired_ratio([2.0, 4.0, 40.0], [1.0, 2.0, 20.0]) == 2.0
    assert paired_ratio([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]) == 2.0
