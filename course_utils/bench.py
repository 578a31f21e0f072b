"""시간 재기: 리랭킹 지연 시간(latency)의 p50/p95 를 이 런타임에서 잽니다.

Example:
    >>> stats = LatencyStats.from_seconds([0.010, 0.020, 0.030, 0.040])
    >>> round(stats.p50_ms), round(stats.p95_ms), stats.count
    (25, 38, 4)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from .data import document_text
from .metrics import rank_documents
from .rerankers import Reranker


def percentile(values: Sequence[float], q: float) -> float:
    """선형 보간 백분위수 (numpy 의 기본 방식과 같음)."""
    if not values:
        raise ValueError("values 가 비어 있습니다.")
    if not 0 <= q <= 100:
        raise ValueError(f"q 는 0–100 이어야 합니다 (받은 값: {q}).")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class LatencyStats:
    """질의 하나당 지연 시간 요약 (밀리초)."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    count: int

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> LatencyStats:
        milliseconds = [value * 1000 for value in seconds]
        return cls(
            percentile(milliseconds, 50),
            percentile(milliseconds, 95),
            sum(milliseconds) / len(milliseconds),
            len(seconds),
        )

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.0f} ms · p95 {self.p95_ms:.0f} ms (질의 {self.count}개)"


def timed_rerank_run(
    reranker: Reranker,
    queries: Mapping[str, str],
    candidates: Mapping[str, Mapping[str, float]],
    corpus: Mapping[str, Mapping[str, str]],
    top_k: int | None = None,
) -> tuple[dict[str, dict[str, float]], LatencyStats]:
    """1단계 후보를 리랭커로 다시 세운 run 과, 질의마다 잰 리랭킹 시간을 함께 돌려줍니다.

    Args:
        reranker: ``load_reranker`` 로 만든 리랭커.
        queries: ``queries[query_id] = text``. 이 질의들만 리랭킹합니다 (일부만 골라 넘겨도 됩니다).
        candidates: 1단계 run. 후보는 점수 순으로 정렬해 넘깁니다.
        corpus: ``corpus[doc_id] = {"title", "text"}``.
        top_k: 질의마다 1단계 상위 몇 개만 리랭커에 넘길지 (``None`` 이면 전부). CPU 에서는 후보 수가 곧 비용입니다.
    """
    missing = [query_id for query_id in queries if query_id not in candidates]
    if missing:
        raise ValueError(
            f"candidates 에 없는 질의가 있습니다: {missing[:5]} (queries 의 질의마다 1단계 후보가 필요합니다)."
        )
    reranked: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for query_id in queries:
        doc_ids = rank_documents(candidates[query_id])[:top_k]
        documents = [
            Document(page_content=document_text(corpus[doc_id]), metadata={"id": doc_id}) for doc_id in doc_ids
        ]
        started = time.perf_counter()
        results = reranker.rank(queries[query_id], documents)
        seconds.append(time.perf_counter() - started)
        reranked[query_id] = {result.document.metadata["id"]: result.score for result in results}
    return reranked, LatencyStats.from_seconds(seconds)
