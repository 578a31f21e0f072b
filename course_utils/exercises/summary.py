"""05 정리 노트북의 실습 문제."""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping

from ..bench import reference_report
from . import Exercise, is_close

# --- 문제 1: 조건에 맞는 리랭커 고르기 ----------------------------------------------------------------

#: 선택지 하나에 있어야 하는 키: 이름, 여러분의 데이터에서 잰 nDCG@10, 질의당 p50(ms),
#: 상업적 사용 가능 여부, 외부 네트워크 없이 도는지, 한국어 지원 여부.
OPTION_KEYS = ("name", "ndcg@10", "p50_ms", "commercial", "offline", "korean")
#: 상황(조건)에 있어야 하는 키: p50 한도(ms), 상업 서비스인지, 폐쇄망인지, 한국어 서비스인지.
SCENARIO_KEYS = ("max_p50_ms", "commercial", "air_gapped", "korean")


def _violations(option: Mapping, scenario: Mapping) -> list[str]:
    """선택지가 상황의 조건을 어기는 이유들 (빈 목록이면 조건을 모두 만족)."""
    reasons = []
    if option["p50_ms"] > scenario["max_p50_ms"]:
        reasons.append(f"p50 {option['p50_ms']:g} ms 가 한도 {scenario['max_p50_ms']:g} ms 를 넘습니다")
    if scenario["commercial"] and not option["commercial"]:
        reasons.append("상업 서비스에 쓸 수 없는 라이선스입니다")
    if scenario["air_gapped"] and not option["offline"]:
        reasons.append("외부 네트워크(API)가 필요해 폐쇄망에서 쓸 수 없습니다")
    if scenario["korean"] and not option["korean"]:
        reasons.append("한국어를 지원하지 않습니다")
    return reasons


def reference_pick(options: list[Mapping], scenario: Mapping) -> str | None:
    """문제 1의 정답: 조건을 모두 만족하는 선택지 중 nDCG@10 이 가장 높은 것의 이름 (같으면 앞의 것, 없으면 None)."""
    best = None
    for option in options:
        if not _violations(option, scenario) and (best is None or option["ndcg@10"] > best["ndcg@10"]):
            best = option
    return None if best is None else best["name"]


def _option(name: str, ndcg: float, p50_ms: float, commercial: bool, offline: bool, korean: bool) -> dict:
    return dict(zip(OPTION_KEYS, (name, ndcg, p50_ms, commercial, offline, korean), strict=True))


def _scenario(max_p50_ms: float, commercial: bool, air_gapped: bool, korean: bool) -> dict:
    return dict(zip(SCENARIO_KEYS, (max_p50_ms, commercial, air_gapped, korean), strict=True))


#: 예시 선택지. bge-reranker-v2-m3·jina v2 가중치·TinyBERT 의 p50 은 2코어 CPU 에서 후보 20개인 질의 하나의 시간
#: (강의 벤치마크 bench_2core.json, 2026-11, 반올림)이고, API·MultiBERT·feature-ltr 의 p50 은 예시 값입니다. nDCG@10 은 모두
#: '여러분의 데이터에서 이렇게 쟀다'고 가정한 예시 값입니다 (공개 수치끼리는 조건이 달라 비교할 수 없습니다).
EXAMPLE_OPTIONS = [
    _option("bge-reranker-v2-m3 (CPU)", 0.80, 8_700, True, True, True),
    _option("jina v2 공개 가중치 (CPU)", 0.79, 2_500, False, True, True),
    _option("Cohere rerank-v3.5 (API)", 0.82, 400, True, False, True),
    _option("Jina API", 0.79, 350, True, False, True),
    _option("FlashRank MultiBERT", 0.70, 1_500, True, True, True),
    _option("FlashRank TinyBERT", 0.55, 50, True, True, False),
    _option("feature-ltr", 0.68, 20, True, True, True),
]

_PICK_CASES = [
    (
        "폐쇄망 · 상업 서비스 · 한국어 · 2코어 CPU 에서 p50 2초 이내",
        EXAMPLE_OPTIONS,
        _scenario(2_000, True, True, True),
    ),
    ("SaaS · 상업 서비스 · 한국어 · p50 1초 이내", EXAMPLE_OPTIONS, _scenario(1_000, True, False, True)),
    ("폐쇄망 · 상업 서비스 · 한국어 · 시간 여유 30초", EXAMPLE_OPTIONS, _scenario(30_000, True, True, True)),
    ("폐쇄망 · 연구용(비상업) · 한국어 · p50 5초 이내", EXAMPLE_OPTIONS, _scenario(5_000, False, True, True)),
    ("폐쇄망 · 상업 서비스 · 한국어 · p50 5초 이내", EXAMPLE_OPTIONS, _scenario(5_000, True, True, True)),
    ("실시간 · 한국어 · p50 100 ms 이내", EXAMPLE_OPTIONS, _scenario(100, True, False, True)),
    ("실시간 · 영어 · p50 100 ms 이내", EXAMPLE_OPTIONS, _scenario(100, True, False, False)),
    (
        "실시간 · 한국어 · p50 100 ms 이내 (feature-ltr 없이)",
        [option for option in EXAMPLE_OPTIONS if option["name"] != "feature-ltr"],
        _scenario(100, True, False, True),
    ),
    ("p50 한도와 똑같은 시간은 통과", EXAMPLE_OPTIONS, _scenario(1_500, True, True, True)),
    ("조건을 만족하는 것이 없음", EXAMPLE_OPTIONS, _scenario(10, True, True, True)),
    (
        "nDCG@10 이 같으면 앞의 것",
        [_option("A", 0.7, 10, True, True, True), _option("B", 0.7, 5, True, True, True)],
        _scenario(100, True, True, True),
    ),
]


def _random_pick_cases(count: int = 30) -> list[tuple[str, list[dict], dict]]:
    """정답을 외워 쓰지 않았는지 보려는 무작위 사례 (시드 고정)."""
    generator = random.Random(5)
    cases = []
    for number in range(count):
        options = [
            _option(
                f"r{position}",
                round(generator.uniform(0.3, 0.9), 3),
                generator.choice([5, 20, 50, 300, 1_500, 2_500, 8_700]),
                generator.random() < 0.7,
                generator.random() < 0.6,
                generator.random() < 0.7,
            )
            for position in range(generator.randint(1, 6))
        ]
        scenario = _scenario(
            generator.choice([50, 500, 2_000, 30_000]),
            generator.random() < 0.5,
            generator.random() < 0.5,
            generator.random() < 0.5,
        )
        cases.append((f"무작위 사례 {number + 1}", options, scenario))
    return cases


def _check_pick(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: pick_reranker(options, scenario)."
    for name, options, scenario in [*_PICK_CASES, *_random_pick_cases()]:
        expected = reference_pick(options, scenario)
        actual = answer([dict(option) for option in options], dict(scenario))
        if actual == expected:
            continue
        if actual is None:
            return f"'{name}' 에서 골라야 하는 것은 {expected!r} 인데 돌려준 값이 None 입니다. 아직 구현하지 않았다면 hint() 를 보세요."
        chosen = next((option for option in options if option["name"] == actual), None)
        if chosen is None:
            return f"'{name}' 에서 선택지에 없는 값이 나왔습니다 ({actual!r}). option['name'] 을 돌려주세요."
        reasons = _violations(chosen, scenario)
        answer_text = "조건을 모두 만족하는 것이 없어 None" if expected is None else repr(expected)
        if reasons:
            return f"'{name}' 에서 고른 선택지({actual!r})는 " + ", ".join(reasons) + f". 정답은 {answer_text} 입니다."
        return (
            f"'{name}' 에서 {actual!r} 도 조건은 만족하지만, 조건을 만족하는 것 중 nDCG@10 이 가장 높은 것은 "
            f"{expected!r} 입니다 (같으면 목록의 앞의 것)."
        )
    return None


# --- 문제 2: 파라미터 수까지 넣은 비용 어림 ----------------------------------------------------------

#: 기준 측정 (강의 벤치마크 bench_2core.json, 2코어 CPU, fp32): XLM-R large 모양(bge-reranker-v2-m3)이
#: 질의 하나의 후보 20개(강의 문단, 쌍당 약 170토큰)를 읽는 데 걸린 p50 (2026-12-06 AMD EPYC 측정에서 약 10.4초).
_REFERENCE = reference_report()
REFERENCE_PAIRS = 20
REFERENCE_SECONDS = _REFERENCE.row("XLM-R large", REFERENCE_PAIRS)["p50_ms"] / 1000
REFERENCE_TOKENS = round(_REFERENCE.row("XLM-R large", REFERENCE_PAIRS)["tokens_per_pair"])
#: 그 모델의 '임베딩 표를 뺀' 파라미터 수: 568M − 어휘 250,002 × hidden 1024.
REFERENCE_PARAMETERS = 568e6 - 250_002 * 1024
#: 임베딩 표를 뺀 파라미터 수 (계산이 실제로 일어나는 부분). 크기와 어휘는 각 모델 카드의 값입니다.
COMPUTE_PARAMETERS = {
    "XLM-R large (bge-reranker-v2-m3)": REFERENCE_PARAMETERS,
    "XLM-R base (bge-reranker-base, jina v2)": 278e6 - 250_002 * 768,
    "MiniLM-L12 (ms-marco-MiniLM-L-12-v2)": 33.4e6 - 30_522 * 384,
    "TinyBERT-L2 (ms-marco-TinyBERT-L-2-v2)": 4.4e6 - 30_522 * 128,
}
#: 같은 조건(질의 하나, 후보 20개, 강의 문단)에서 강의 벤치마크가 잰 p50 (초, 2코어 CPU, 2026-12).
MEASURED_CPU_SECONDS = {
    label: _REFERENCE.row(shape, REFERENCE_PAIRS)["p50_ms"] / 1000
    for label, shape in (
        ("XLM-R large (bge-reranker-v2-m3)", "XLM-R large"),
        ("XLM-R base (bge-reranker-base, jina v2)", "XLM-R base"),
        ("MiniLM-L12 (ms-marco-MiniLM-L-12-v2)", "MiniLM-L12"),
        ("TinyBERT-L2 (ms-marco-TinyBERT-L-2-v2)", "TinyBERT-L2"),
    )
}


def reference_estimate(n_queries: float, candidates: float, tokens: float, parameters: float) -> float:
    """문제 2의 정답: 계산량 2 × 파라미터 × 토큰 × 쌍 수를, 기준 측정에서 구한 초당 계산량으로 나눕니다."""
    flops = 2 * parameters * tokens * n_queries * candidates
    reference_flops_per_second = 2 * REFERENCE_PARAMETERS * REFERENCE_TOKENS * REFERENCE_PAIRS / REFERENCE_SECONDS
    return flops / reference_flops_per_second


_ESTIMATE_CASES = [
    (1, 20, 256, REFERENCE_PARAMETERS),
    (60, 20, 256, REFERENCE_PARAMETERS),
    (12, 10, 128, COMPUTE_PARAMETERS["XLM-R base (bge-reranker-base, jina v2)"]),
    (1, 100, 512, REFERENCE_PARAMETERS),
    (5, 20, 256, COMPUTE_PARAMETERS["MiniLM-L12 (ms-marco-MiniLM-L-12-v2)"]),
    (3, 7, 64, 1e6),
    (0, 20, 256, REFERENCE_PARAMETERS),
]


def _check_estimate(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: estimate_seconds(n_queries, candidates, tokens, parameters)."
    for n_queries, candidates, tokens, parameters in _ESTIMATE_CASES:
        actual = answer(n_queries, candidates, tokens, parameters)
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        expected = reference_estimate(n_queries, candidates, tokens, parameters)
        if not is_close(actual, expected, tolerance=1e-6 * max(1.0, expected)):
            return (
                f"질의 {n_queries}개 × 후보 {candidates}개 × {tokens}토큰 × 파라미터 {parameters / 1e6:.1f}M 이면 "
                f"{expected:.4g}초가 나와야 하는데 돌려준 값은 {actual!r} 입니다. 시간은 쌍 수, 토큰 수, 파라미터 수에 "
                "각각 비례합니다."
            )
    return None


# --- 문제 3: 리랭킹 전후의 변화 표 ------------------------------------------------------------------

DELTA_METRICS = ("ndcg@10", "mrr@10", "recall@10")


def reference_delta_table(
    qrels: Mapping[str, Mapping[str, int]],
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, Mapping[str, float]]],
    metrics: tuple[str, ...] = DELTA_METRICS,
) -> dict[str, dict[str, float]]:
    """문제 3의 정답: ``{이름: {지표: 리랭킹 뒤 − 리랭킹 전}}``."""
    from ..metrics import evaluate

    base = evaluate(qrels, before, metrics)
    return {
        name: {metric: value - base[metric] for metric, value in evaluate(qrels, run, metrics).items()}
        for name, run in after.items()
    }


@functools.cache
def _bm25_test_run() -> dict[str, dict[str, float]]:
    from ..data import load_course_dataset, to_documents
    from ..retrieval import build_retriever, retrieval_run

    corpus, queries, _ = load_course_dataset("test")
    return retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=10), queries)


def _small_delta_case() -> tuple[str, dict, dict, dict]:
    qrels = {"q1": {"a": 2, "b": 0}, "q2": {"c": 1}}
    before = {"q1": {"b": 2.0, "a": 1.0}, "q2": {"c": 1.0}}
    after = {"좋아짐": {"q1": {"a": 0.9, "b": 0.1}, "q2": {"c": 0.5}}, "질의를 빠뜨림": {"q1": {"a": 0.9}}}
    return "작은 예", qrels, before, after


def _course_delta_case() -> tuple[str, dict, dict, dict]:
    """강의 test 질의의 BM25 상위 10개를 그대로 / 거꾸로 / 완벽하게 다시 세운 세 run."""
    from ..data import load_course_dataset

    _, _, qrels = load_course_dataset("test")
    before = {query_id: dict(scores) for query_id, scores in _bm25_test_run().items()}
    reversed_run = {query_id: {doc: -score for doc, score in scores.items()} for query_id, scores in before.items()}
    perfect = {
        query_id: {doc: qrels[query_id].get(doc, 0) * 1000 + score for doc, score in scores.items()}
        for query_id, scores in before.items()
    }
    return (
        "강의 test 질의: BM25 상위 10개를 그대로 / 거꾸로 / 완벽하게 다시 세운 경우",
        qrels,
        before,
        {"그대로": before, "거꾸로": reversed_run, "완벽한 리랭커": perfect},
    )


def _delta_problem(answer, name: str, qrels: dict, before: dict, after: dict) -> str | None:
    actual = answer(qrels, before, after)
    if actual is None:
        return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
    if not isinstance(actual, Mapping) or not all(isinstance(row, Mapping) for row in actual.values()):
        return f"{{이름: {{지표: 변화}}}} 모양의 dict 를 돌려줘야 합니다 (받은 값: {type(actual).__name__})."
    expected = reference_delta_table(qrels, before, after)
    if set(actual) != set(expected):
        return f"'{name}' 에서 이름(after 의 키)이 {sorted(expected)} 이어야 하는데 {sorted(actual)} 입니다."
    for system, deltas in expected.items():
        if set(actual[system]) != set(deltas):
            return f"'{name}' 의 '{system}' 에 있어야 할 지표는 {list(deltas)} 인데 돌려준 지표는 {sorted(actual[system])} 입니다."
        for metric, delta in deltas.items():
            got = actual[system][metric]
            if is_close(got, delta):
                continue
            if is_close(got, -delta):
                return f"'{name}' 의 '{system}' {metric} 의 부호가 반대입니다. 변화는 (리랭킹 뒤 − 리랭킹 전) 입니다."
            if is_close(got, delta, tolerance=1e-3):
                return f"'{name}' 의 '{system}' {metric} 값을 반올림하지 말고 그대로 돌려주세요 (기대 {delta:.6f})."
            return f"'{name}' 의 '{system}' {metric} 변화가 {delta:+.4f} 이어야 하는데 {got!r} 입니다."
    return None


def _check_delta_table(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: delta_table(qrels, before, after)."
    # 작은 예를 먼저 봅니다. 통과하면 강의 데이터(BM25 검색이 필요해 조금 느림)로 확인합니다.
    return _delta_problem(answer, *_small_delta_case()) or _delta_problem(answer, *_course_delta_case())


q1 = Exercise(
    "조건에 맞는 리랭커 고르기",
    _check_pick,
    "선택지마다 네 조건을 확인하세요: p50_ms <= max_p50_ms, 상업 서비스면 commercial, 폐쇄망이면 offline, "
    "한국어 서비스면 korean 이 True 여야 합니다. 조건을 모두 만족하는 것 중 'ndcg@10' 이 가장 큰 것의 name 을 "
    "돌려주고(같으면 앞의 것), 하나도 없으면 None 을 돌려줍니다.",
    "def pick_reranker(options, scenario):\n"
    "    best = None\n"
    "    for option in options:\n"
    "        if option['p50_ms'] > scenario['max_p50_ms']:\n"
    "            continue\n"
    "        if scenario['commercial'] and not option['commercial']:\n"
    "            continue\n"
    "        if scenario['air_gapped'] and not option['offline']:\n"
    "            continue\n"
    "        if scenario['korean'] and not option['korean']:\n"
    "            continue\n"
    "        if best is None or option['ndcg@10'] > best['ndcg@10']:\n"
    "            best = option\n"
    "    return None if best is None else best['name']",
)
q2 = Exercise(
    "쌍 수 × 토큰 수 × 파라미터 수로 시간 어림하기",
    _check_estimate,
    "쌍 하나의 계산량은 약 2 × 파라미터 × 토큰 수, 전체는 그 값에 쌍 수(질의 수 × 후보 수)를 곱합니다. "
    "기준 측정(REFERENCE_*)의 계산량을 REFERENCE_SECONDS 로 나누면 이 CPU 의 초당 계산량이 나옵니다.",
    "def estimate_seconds(n_queries, candidates, tokens, parameters):\n"
    "    flops = 2 * parameters * tokens * n_queries * candidates\n"
    "    per_second = 2 * REFERENCE_PARAMETERS * REFERENCE_TOKENS * REFERENCE_PAIRS / REFERENCE_SECONDS\n"
    "    return flops / per_second",
)
q3 = Exercise(
    "리랭킹 전후의 변화 표",
    _check_delta_table,
    "evaluate(qrels, before, metrics) 로 기준을 한 번 구하고, after 의 run 마다 evaluate 한 값에서 기준을 빼세요. "
    "지표는 ('ndcg@10', 'mrr@10', 'recall@10') 이고, 반올림하지 않습니다.",
    "def delta_table(qrels, before, after):\n"
    "    metrics = ('ndcg@10', 'mrr@10', 'recall@10')\n"
    "    base = evaluate(qrels, before, metrics)\n"
    "    return {\n"
    "        name: {metric: value - base[metric] for metric, value in evaluate(qrels, run, metrics).items()}\n"
    "        for name, run in after.items()\n"
    "    }",
)
