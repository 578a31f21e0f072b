"""검색·리랭킹 평가 지표 (trec_eval/pytrec_eval 관례, BEIR 와 같은 방식).

- ``qrels[query_id][doc_id] = grade`` (정수 등급, ``grade > 0`` 이면 관련 문서)
- ``run[query_id][doc_id] = score`` (점수가 클수록 위, 동점이면 trec_eval 처럼 문서 id 역순)
- nDCG 는 선형 이득(등급 그대로)과 log2 할인을 씁니다.
- 평균은 관련 문서가 하나 이상인 질의에 대해 냅니다. ``run`` 에 없는 질의는 0점으로 셉니다
  (``trec_eval -c`` 와 같음). 관련 문서가 없는 질의는 지표가 정의되지 않아 ``skipped`` 에 남깁니다.

Example:
    >>> qrels = {"q1": {"d1": 2, "d2": 0}}
    >>> run = {"q1": {"d2": 0.9, "d1": 0.5}}
    >>> evaluate(qrels, run, metrics=("mrr@10", "recall@1"))
    {'mrr@10': 0.5, 'recall@1': 0.0}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

DEFAULT_METRICS = ("ndcg@10", "mrr@10", "recall@10", "map@10")

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def _ndcg(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    dcg = sum(max(judged.get(doc_id, 0), 0) / math.log2(rank + 2) for rank, doc_id in enumerate(ranked[:k]))
    ideal_gains = sorted((grade for grade in judged.values() if grade > 0), reverse=True)[:k]
    ideal = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal_gains))
    return dcg / ideal if ideal > 0 else 0.0


def _mrr(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if judged.get(doc_id, 0) > 0:
            return 1.0 / rank
    return 0.0


def _num_relevant(judged: Mapping[str, int]) -> int:
    return sum(1 for grade in judged.values() if grade > 0)


def _recall(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    hits = sum(1 for doc_id in ranked[:k] if judged.get(doc_id, 0) > 0)
    return hits / _num_relevant(judged)


def _precision(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return sum(1 for doc_id in ranked[:k] if judged.get(doc_id, 0) > 0) / k


def _average_precision(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    hits = 0
    total = 0.0
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if judged.get(doc_id, 0) > 0:
            hits += 1
            total += hits / rank
    return total / _num_relevant(judged)


MetricFunction = Callable[[Sequence[str], Mapping[str, int], int], float]
METRICS: dict[str, MetricFunction] = {
    "ndcg": _ndcg,
    "mrr": _mrr,
    "recall": _recall,
    "map": _average_precision,
    "precision": _precision,
}


class EvaluationResult(dict):
    """지표 이름 → 평균값 사전. 질의별 값은 ``per_query`` 에 있습니다.

    Attributes:
        per_query: ``per_query[query_id][metric] = value`` (평균에 들어간 질의만).
        skipped: 관련 문서가 하나도 없어 평균에서 뺀 질의 id 목록.
    """

    def __init__(self, means: dict[str, float], per_query: dict[str, dict[str, float]], skipped: list[str]) -> None:
        super().__init__(means)
        self.per_query = per_query
        self.skipped = skipped


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10"`` → ``("ndcg", 10)``. 모르는 이름이나 잘못된 컷오프는 ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"metrics 의 각 항목은 'ndcg@10' 같은 문자열이어야 합니다 (받은 값: {name!r}).")
    base, _, cutoff = name.strip().lower().partition("@")
    if base not in METRICS:
        allowed = ", ".join(f"{metric}@k" for metric in METRICS)
        raise ValueError(f"알 수 없는 지표 '{name}' 입니다. 쓸 수 있는 지표: {allowed}")
    if not cutoff.isdigit() or int(cutoff) < 1:
        raise ValueError(f"지표 '{name}' 의 컷오프는 1 이상의 정수여야 합니다 (예: '{base}@10').")
    return base, int(cutoff)


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """점수 내림차순, 동점이면 문서 id 내림차순 (trec_eval 의 정렬)."""
    for doc_id, score in scores.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
            raise ValueError(f"run 의 점수는 숫자여야 합니다 (문서 '{doc_id}': {score!r}).")
    return sorted(scores, key=lambda doc_id: (scores[doc_id], doc_id), reverse=True)


def _check_nested(name: str, value: object) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} 에는 {name}[query_id][doc_id] 형태의 dict 를 넣어야 합니다 (받은 값: {type(value).__name__})."
        )
    for query_id, inner in value.items():
        if not isinstance(inner, Mapping):
            raise TypeError(
                f"{name}['{query_id}'] 의 값은 doc_id → 값 dict 이어야 합니다 (받은 값: {type(inner).__name__})."
            )


def evaluate(qrels: Qrels, run: Run, metrics: Iterable[str] = DEFAULT_METRICS) -> EvaluationResult:
    """run 을 qrels 로 평가해 지표별 평균을 돌려줍니다.

    Args:
        qrels: ``qrels[query_id][doc_id] = grade`` (정답 판정).
        run: ``run[query_id][doc_id] = score`` (검색 또는 리랭킹 결과).
        metrics: ``"ndcg@10"``, ``"mrr@10"``, ``"recall@10"``, ``"map@10"``, ``"precision@5"`` 같은 이름들.

    Returns:
        ``EvaluationResult``: 지표 → 평균. ``.per_query`` 로 질의별 값을 볼 수 있습니다.

    Example:
        >>> result = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0, "b": 2.0}}, ["ndcg@10"])
        >>> round(result["ndcg@10"], 4), result.per_query["q"]["ndcg@10"] == result["ndcg@10"]
        (0.6309, True)
    """
    _check_nested("qrels", qrels)
    _check_nested("run", run)
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = list(dict.fromkeys(metrics))
    if not names:
        raise ValueError("metrics 가 비어 있습니다. 예: ('ndcg@10', 'mrr@10').")
    parsed = [(name, *parse_metric(name)) for name in names]

    per_query: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    for query_id, judged in qrels.items():
        if _num_relevant(judged) == 0:
            skipped.append(query_id)
            continue
        ranked = rank_documents(run.get(query_id, {}))
        per_query[query_id] = {name: METRICS[base](ranked, judged, cutoff) for name, base, cutoff in parsed}
    if not per_query:
        raise ValueError("qrels 에 관련 문서(grade > 0)가 있는 질의가 없어 평가할 수 없습니다.")
    means = {name: sum(values[name] for values in per_query.values()) / len(per_query) for name in names}
    return EvaluationResult(means, per_query, skipped)


def bootstrap_interval(
    result: EvaluationResult,
    metric: str,
    baseline: EvaluationResult | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """질의를 다시 뽑는 부트스트랩(bootstrap)으로 평균의 신뢰 구간을 구합니다 (백분위 방식, 결정적).

    ``baseline`` 을 주면 같은 질의끼리 짝지은 **차이** (``result − baseline``)의 구간을 냅니다. 같은 질의의
    전후를 비교할 때는 이 짝지은 구간이 두 구간을 따로 보는 것보다 정확합니다.

    Args:
        result: ``evaluate`` 의 결과.
        metric: 지표 이름 (``result`` 에 있어야 함).
        baseline: 짝지어 뺄 ``evaluate`` 결과 (같은 질의들).
        confidence: 신뢰 수준 (0–1).
        resamples: 다시 뽑는 횟수.
        seed: 난수 씨앗 (같으면 같은 구간).

    Returns:
        ``(하한, 상한)``.

    Example:
        >>> qrels = {f"q{i}": {"a": 1} for i in range(20)}
        >>> run = {f"q{i}": {"a": 1.0, "b": 2.0 if i % 2 else 0.0} for i in range(20)}
        >>> low, high = bootstrap_interval(evaluate(qrels, run, ["mrr@10"]), "mrr@10")
        >>> 0.5 <= low <= 0.75 <= high <= 1.0
        True
    """
    import random

    if metric not in result:
        raise ValueError(f"metric '{metric}' 의 값이 결과에 없습니다. 있는 지표: {', '.join(result)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence 는 0 과 1 사이여야 합니다 (받은 값: {confidence!r}).")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise ValueError(f"resamples 는 100 이상의 정수여야 합니다 (받은 값: {resamples!r}).")
    query_ids = sorted(result.per_query)
    if baseline is not None:
        missing = [query_id for query_id in query_ids if query_id not in baseline.per_query]
        if missing or metric not in baseline:
            raise ValueError(
                f"baseline 에 같은 질의와 지표 '{metric}' 의 값이 있어야 합니다 (없는 질의: {missing[:5]})."
            )
    values = [
        result.per_query[query_id][metric] - (baseline.per_query[query_id][metric] if baseline is not None else 0.0)
        for query_id in query_ids
    ]
    rng = random.Random(seed)
    size = len(values)
    means = sorted(sum(rng.choices(values, k=size)) / size for _ in range(resamples))
    tail = (1 - confidence) / 2
    return means[int(tail * (resamples - 1))], means[math.ceil((1 - tail) * (resamples - 1))]
