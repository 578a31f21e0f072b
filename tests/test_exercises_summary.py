"""05 정리 노트북의 실습 문제와 요약 표: 정답은 통과하고, 흔한 오답은 도움이 되는 한국어 안내와 함께 떨어집니다."""

import pytest

from course_utils.bench import LatencyStats
from course_utils.display import STANDIN_TAG, RerankerMeasurement, summary_table
from course_utils.exercises import summary as exercises
from course_utils.metrics import evaluate
from course_utils.rerankers import load_reranker

BAD_INPUTS = (None, "함수", 42, lambda *args: 1 / 0)


def correct_pick(options, scenario):
    best = None
    for option in options:
        if option["p50_ms"] > scenario["max_p50_ms"]:
            continue
        if scenario["commercial"] and not option["commercial"]:
            continue
        if scenario["air_gapped"] and not option["offline"]:
            continue
        if scenario["korean"] and not option["korean"]:
            continue
        if best is None or option["ndcg@10"] > best["ndcg@10"]:
            best = option
    return None if best is None else best["name"]


def test_q1_accepts_the_constrained_best_choice(capsys):
    exercises.q1.check(correct_pick)
    assert exercises.q1.passed and "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda options, scenario: max(options, key=lambda o: o["ndcg@10"])["name"], "폐쇄망"),  # 조건을 보지 않음
        (
            lambda options, scenario: correct_pick(options, {**scenario, "korean": False}),  # 한국어 조건을 빠뜨림
            "한국어를 지원하지 않습니다",
        ),
        (
            lambda options, scenario: correct_pick(options, {**scenario, "air_gapped": False}),  # 폐쇄망을 빠뜨림
            "폐쇄망",
        ),
        (
            lambda options, scenario: correct_pick(options, {**scenario, "commercial": False}),  # 라이선스를 빠뜨림
            "상업 서비스",
        ),
        (
            lambda options, scenario: correct_pick(
                options, {**scenario, "max_p50_ms": scenario["max_p50_ms"] - 1e-9}
            ),  # 한도와 같은 시간을 떨어뜨림
            "한도와 똑같은",
        ),
        (
            lambda options, scenario: correct_pick(list(reversed(options)), scenario),  # 같은 점수에서 뒤의 것
            "같으면",
        ),
        (lambda options, scenario: None, "아직 구현하지 않았다면"),
    ],
)
def test_q1_rejects_choices_that_ignore_a_constraint(wrong, message, capsys):
    exercises.q1.check(wrong)
    out = capsys.readouterr().out
    assert not exercises.q1.passed
    assert "❌" in out and message in out


def test_q1_reference_matches_the_example_scenarios():
    options = exercises.EXAMPLE_OPTIONS
    air_gapped_cpu = {"max_p50_ms": 2_000, "commercial": True, "air_gapped": True, "korean": True}
    assert exercises.reference_pick(options, air_gapped_cpu) == "FlashRank MultiBERT"
    saas = {"max_p50_ms": 1_000, "commercial": True, "air_gapped": False, "korean": True}
    assert exercises.reference_pick(options, saas) == "Cohere rerank-v3.5 (API)"
    research = {"max_p50_ms": 5_000, "commercial": False, "air_gapped": True, "korean": True}
    assert exercises.reference_pick(options, research) == "jina v2 공개 가중치 (CPU)"


def test_q2_needs_pairs_tokens_and_parameters():
    def correct(n_queries, candidates, tokens, parameters):
        flops = 2 * parameters * tokens * n_queries * candidates
        per_second = (
            2
            * exercises.REFERENCE_PARAMETERS
            * exercises.REFERENCE_TOKENS
            * exercises.REFERENCE_PAIRS
            / exercises.REFERENCE_SECONDS
        )
        return flops / per_second

    exercises.q2.check(correct)
    assert exercises.q2.passed
    assert correct(1, 20, exercises.REFERENCE_TOKENS, exercises.REFERENCE_PARAMETERS) == pytest.approx(
        exercises.REFERENCE_SECONDS
    )
    wrongs = (
        lambda n, c, t, p: exercises.REFERENCE_SECONDS * n * c / 20 * t / exercises.REFERENCE_TOKENS,  # 파라미터 빠뜨림
        lambda n, c, t, p: correct(n, c, t, p) / 2,  # 계산량의 2 를 한쪽에만 넣음
        lambda n, c, t, p: correct(1, c, t, p),  # 질의 수를 빠뜨림
    )
    for wrong in wrongs:
        exercises.q2.check(wrong)
        assert not exercises.q2.passed


def test_q2_estimates_are_below_the_measured_time_for_small_models():
    """작은 모델일수록 고정 비용의 몫이 커서 계산량만으로 어림한 시간이 잰 시간보다 짧고, 큰 모델은 어림과 비슷합니다."""
    shares = []  # 어림 ÷ 잰 시간, 파라미터가 적은 모델부터
    for shape, parameters in sorted(exercises.COMPUTE_PARAMETERS.items(), key=lambda item: item[1]):
        estimate = exercises.reference_estimate(1, 20, exercises.REFERENCE_TOKENS, parameters)
        measured = exercises.MEASURED_CPU_SECONDS[shape]
        shares.append(estimate / measured)
        if parameters < exercises.REFERENCE_PARAMETERS / 5:
            assert estimate <= 0.9 * measured, shape  # MiniLM·TinyBERT: 잰 시간보다 짧은 어림
        else:
            assert estimate == pytest.approx(measured, rel=0.2), shape
    assert shares == sorted(shares) and shares[0] <= 0.7  # 가장 작은 TinyBERT 에서 차이가 가장 큽니다


def correct_delta(qrels, before, after):
    metrics = ("ndcg@10", "mrr@10", "recall@10")
    base = evaluate(qrels, before, metrics)
    return {
        name: {metric: value - base[metric] for metric, value in evaluate(qrels, run, metrics).items()}
        for name, run in after.items()
    }


def test_q3_accepts_the_delta_table(capsys):
    exercises.q3.check(correct_delta)
    assert exercises.q3.passed and "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (
            lambda qrels, before, after: {
                name: {metric: -value for metric, value in row.items()}
                for name, row in correct_delta(qrels, before, after).items()
            },
            "부호가 반대",
        ),
        (
            lambda qrels, before, after: {
                name: {metric: round(value, 3) for metric, value in row.items()}
                for name, row in correct_delta(qrels, before, after).items()
            },
            "반올림",
        ),
        (
            lambda qrels, before, after: {
                name: {key: value for key, value in row.items() if key != "recall@10"}
                for name, row in correct_delta(qrels, before, after).items()
            },
            "지표",
        ),
        (
            lambda qrels, before, after: {
                name: dict(evaluate(qrels, run, ("ndcg@10", "mrr@10", "recall@10"))) for name, run in after.items()
            },
            "변화가",
        ),
        (lambda qrels, before, after: [1, 2], "dict"),
        (lambda qrels, before, after: None, "아직 구현하지 않았다면"),
    ],
)
def test_q3_rejects_common_mistakes(wrong, message, capsys):
    exercises.q3.check(wrong)
    out = capsys.readouterr().out
    assert not exercises.q3.passed
    assert "❌" in out and message in out


@pytest.mark.parametrize("exercise", [exercises.q1, exercises.q2, exercises.q3], ids=["q1", "q2", "q3"])
def test_bad_input_does_not_crash_and_hints_exist(exercise, capsys):
    for bad in BAD_INPUTS:
        exercise.check(bad)
        assert not exercise.passed
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "아직 답이 없습니다" in out and "함수를 넣어야 합니다" in out and "ZeroDivisionError" in out
    assert "💡" in out and "📝" in out


def scored(values_by_query):
    """질의마다 정답 문서 'a' 의 순위로 값을 정하는 evaluate 결과 (1위면 ndcg=mrr=1, 2위면 낮음)."""
    qrels = {query_id: {"a": 1} for query_id in values_by_query}
    run = {query_id: {"a": 1.0, "b": 2.0 if second else 0.0} for query_id, second in values_by_query.items()}
    return evaluate(qrels, run, ("ndcg@10", "mrr@10"))


def test_summary_table_labels_standins_and_never_shows_their_numbers_as_the_model():
    latency = LatencyStats.from_seconds([0.01, 0.02])
    baseline = scored({f"q{i}": i % 2 == 0 for i in range(10)})
    better = scored({f"q{i}": False for i in range(10)})
    worse = scored({f"q{i}": True for i in range(10)})
    rows = [
        RerankerMeasurement("feature-ltr", "course-lexical-logreg", better, latency),
        RerankerMeasurement("cohere", "rerank-v3.5", worse, latency, is_standin=True, runs="e5-small"),
    ]
    table = summary_table(baseline, rows, metric_names=("ndcg@10", "mrr@10"))
    text = table.to_text()
    # 1단계 줄은 구간과 함께, 리랭커 줄은 변화와 짝지은 구간과 함께 나오고, 질의 수가 적힙니다.
    assert "0.750 [" in text and "1.000 (+0.250 [+0.100, +0.400])" in text and "0.500 (-0.250 [" in text
    assert "질의 10개" in text and "95% 구간" in text
    standin_line = next(line for line in text.splitlines() if line.startswith("cohere"))
    assert STANDIN_TAG in standin_line and "e5-small (rerank-v3.5 대신)" in standin_line
    assert table.standins == (f"cohere {STANDIN_TAG}",)
    page = table.to_html()
    assert "⚠️ cohere" in page and "검색 1회" in page and "Apache-2.0" in page
    assert "#15803d" in page and "#b91c1c" in page
    # 지연 시간 줄에는 늘 ms 가 들어갑니다 (실행마다 바뀌는 값이 'ms' 로 구별됩니다).
    latency_block = text.split("[지연 시간")[1].split("\n\n")[0]
    assert all("ms" in line for line in latency_block.splitlines()[2:])


def test_summary_table_from_a_loaded_reranker_and_bad_arguments():
    reranker = load_reranker("feature-ltr")
    baseline = scored({"q1": True, "q2": False})
    entry = RerankerMeasurement.of("feature-ltr", reranker, scored({"q1": False, "q2": False}))
    assert entry.model == "course-lexical-logreg" and not entry.is_standin and entry.latency is None
    table = summary_table(baseline, [entry], metric_names=("ndcg@10",))
    assert "[지연 시간" not in table.to_text()  # 재지 않은 지연 시간은 묶음째 뺍니다
    unknown_model = RerankerMeasurement("mine", "my-model", baseline)
    assert "(모델 카드 없음)" in summary_table(baseline, [unknown_model]).to_text()
    with pytest.raises(ValueError, match="비어"):
        summary_table(baseline, [])
    with pytest.raises(ValueError, match="겹칩니다"):
        summary_table(baseline, [entry, entry])
    with pytest.raises(ValueError, match="card_fields"):
        summary_table(baseline, [entry], card_fields=("colour",))
    with pytest.raises(TypeError, match="evaluate"):
        summary_table({"ndcg@10": 0.4}, [entry])  # 평균만으로는 구간을 낼 수 없습니다
