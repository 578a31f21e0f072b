"""크로스 인코더 점수 계산: 시간이 가장 적게 드는 배치로 (토큰 길이로 정렬, 필요한 만큼만 패딩).

CPU 에서 모델을 한 번 부르는 시간은 대략 "호출마다 드는 고정 비용 + 처리한 토큰 수(패딩 포함) × 토큰당 비용"
입니다. 작은 모델은 고정 비용(파이썬, 층마다의 작은 연산, 가중치 읽기)이 크고, 큰 모델은 토큰당 비용이 큽니다.
그래서 이 경로는

- 쌍을 한 번 토큰화해 그 길이로 잘림 여부를 판단하고,
- **토큰 수** 로 정렬한 뒤, 두 비용을 모델·기기마다 한 번 재어 (``measure_batch_cost``) 예상 시간의 합이
  가장 작은 배치 나눔을 고르고 (``plan_batches``: 작은 모델은 큰 배치 몇 개, 큰 모델은 패딩이 적은 배치 여럿),
- 배치 안에서 가장 긴 쌍까지만 패딩하고 (``max_length`` 까지 채우지 않음),
- ``torch.inference_mode`` 에서 sentence-transformers 모델의 forward 를 그대로 부릅니다.

배치 나눔은 패딩만 바꾸므로 점수는 ``CrossEncoder.predict`` 와 같습니다 (부동소수 오차 안).
GPU 에서는 리랭커가 모델을 fp16 으로 바꿔 둡니다 (``rerankers.CrossEncoderBackend``).

Example:
    >>> from course_utils.scoring import BatchCost, plan_batches
    >>> lengths = [100, 98, 60, 59, 58]
    >>> plan_batches(lengths, batch_size=16, cost=BatchCost(per_call_s=0.01, per_token_s=0.001))  # 큰 모델
    [[0, 1], [2, 3, 4]]
    >>> plan_batches(lengths, batch_size=16, cost=BatchCost(per_call_s=0.010, per_token_s=0.00001))  # 작은 모델
    [[0, 1, 2, 3, 4]]
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

#: sentence-transformers ``CrossEncoder.predict`` 의 기본값과 같은 배치 상한.
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class TokenCounts:
    """한 번의 점수 계산에서 센 토큰 수.

    Attributes:
        useful: 쌍들의 실제 토큰 수 합 (잘린 뒤).
        batch_shapes: 모델에 넣은 배치마다 ``(쌍 수, 패딩한 길이)``. FLOPs 계산에 씁니다.
        truncated: ``max_length`` 를 넘어 잘린 쌍의 위치.
    """

    useful: int
    batch_shapes: tuple[tuple[int, int], ...] = ()
    truncated: tuple[int, ...] = ()

    @property
    def processed(self) -> int:
        """모델이 실제로 처리한 토큰 수 (패딩 포함) = 배치마다 ``쌍 수 × 가장 긴 쌍``."""
        return sum(pairs * length for pairs, length in self.batch_shapes)

    @property
    def padding_waste(self) -> float:
        """처리한 토큰 중 패딩의 비율 (0 이면 낭비 없음)."""
        return 1 - self.useful / self.processed if self.processed else 0.0


@dataclass(frozen=True)
class BatchCost:
    """모델을 한 번 부르는 시간의 모형: ``per_call_s + per_token_s × (쌍 수 × 패딩한 길이)``.

    Attributes:
        per_call_s: 호출마다 드는 고정 시간 (초).
        per_token_s: 패딩을 포함해 처리한 토큰 하나의 시간 (초).

    Example:
        >>> round(BatchCost(per_call_s=0.002, per_token_s=0.0001).seconds([(4, 50), (2, 20)]), 6)
        0.028
    """

    per_call_s: float
    per_token_s: float

    def __post_init__(self) -> None:
        if self.per_call_s < 0 or self.per_token_s <= 0:
            raise ValueError(
                f"per_call_s 는 0 이상, per_token_s 는 0 보다 커야 합니다 (받은 값: {self.per_call_s}, {self.per_token_s})."
            )

    def seconds(self, batch_shapes: Sequence[tuple[int, int]]) -> float:
        """배치들(``(쌍 수, 패딩한 길이)``)의 예상 시간."""
        return sum(self.per_call_s + self.per_token_s * pairs * length for pairs, length in batch_shapes)


def plan_batches(lengths: Sequence[int], batch_size: int, cost: BatchCost) -> list[list[int]]:
    """예상 시간(``cost``)의 합이 가장 작은 배치 나눔: 긴 것부터 정렬한 위치를 이어진 구간으로 자릅니다.

    길이로 정렬한 순서에서 이어진 구간만 보면 충분합니다 (가장 긴 쌍이 배치의 패딩 길이를 정하므로).
    동적 계획법으로 ``O(쌍 수 × batch_size)`` 에 찾습니다. 같은 길이는 원래 순서를 지키고, 긴 배치가 먼저
    오므로 메모리가 모자라면 첫 배치에서 바로 드러납니다.

    Args:
        lengths: 쌍마다 토큰 수.
        batch_size: 배치 하나의 최대 쌍 수.
        cost: 이 모델·기기의 호출 비용 (``measure_batch_cost``).

    Raises:
        ValueError: ``batch_size`` 가 1 보다 작을 때.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size 는 1 이상이어야 합니다 (받은 값: {batch_size}).")
    order = sorted(range(len(lengths)), key=lambda position: -lengths[position])
    # best[j]: 앞의 j 개를 나누는 가장 싼 시간, start[j]: 그때 마지막 배치의 시작.
    best = [0.0] + [float("inf")] * len(order)
    start = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        for begin in range(max(0, end - batch_size), end):
            seconds = best[begin] + cost.per_call_s + cost.per_token_s * (end - begin) * lengths[order[begin]]
            if seconds < best[end]:
                best[end], start[end] = seconds, begin
    batches: list[list[int]] = []
    end = len(order)
    while end:
        batches.append(order[start[end] : end])
        end = start[end]
    return batches[::-1]


def _forward(model, features: Mapping[str, torch.Tensor]) -> list[float]:
    """배치 하나의 점수 (활성화 함수까지). ``.tolist()`` 가 GPU 를 기다리므로 시간 재기에도 씁니다."""
    logits = model({name: tensor.to(model.device) for name, tensor in features.items()})["scores"]
    # fp16 점수는 float32 로 올려 동점을 줄입니다 (sentence-transformers 와 같은 처리).
    scores = model.activation_fn(logits.float())
    if scores.ndim > 1:
        scores = scores[:, -1]  # 라벨 2개 모델은 마지막 열이 '관련 있음'
    return scores.tolist()


def _batch_features(encoded: Mapping[str, torch.Tensor], batch: Sequence[int], longest: int, side: str) -> dict:
    """한 번에 패딩해 둔 텐서에서 배치의 행만, 배치에서 가장 긴 쌍까지의 열만 잘라 냅니다 (``tokenizer.pad`` 와 같은 값)."""
    rows = torch.tensor(batch)
    columns = slice(None, longest) if side != "left" else slice(-longest, None)
    return {name: tensor[rows, columns] for name, tensor in encoded.items()}


_measured: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def measure_batch_cost(model, repeats: int = 2) -> BatchCost:
    """이 모델·기기·정밀도에서 ``BatchCost`` 를 잽니다 (모델마다 한 번, 그 뒤에는 저장한 값).

    짧은 배치(쌍 1개 × 16토큰)와 긴 배치(쌍 4개 × 64토큰)를 번갈아 ``repeats`` 번 재어 가장 빠른 시간으로
    두 비용을 풉니다. 다른 프로그램이 CPU 를 나눠 쓰면 값이 흔들리지만, 배치 나눔만 바뀌고 점수는 같습니다.

    Args:
        model: ``sentence_transformers.CrossEncoder``.
        repeats: 배치마다 잴 횟수.
    """
    parameter = next(model.parameters(), None)
    key = (str(model.device), parameter.dtype if parameter is not None else None, type(model[0].model))
    known = _measured.get(model)
    if known is not None and known[0] == key:
        return known[1]
    tokenizer = model.tokenizer
    filler = " ".join(["가나다"] * 64)
    shapes = {16: 1, 64: 4}
    features = {
        length: tokenizer(
            [filler] * pairs,
            [filler] * pairs,
            truncation=True,
            max_length=length,
            padding="max_length",
            return_tensors="pt",
        )
        for length, pairs in shapes.items()
    }
    model.eval()
    fastest = dict.fromkeys(shapes, float("inf"))
    with torch.inference_mode():
        _forward(model, features[16])  # 예열: 첫 호출의 준비 비용은 빼고 잽니다
        for _ in range(repeats):
            for length, batch in features.items():
                started = time.perf_counter()
                _forward(model, batch)
                fastest[length] = min(fastest[length], time.perf_counter() - started)
    small, large = 16 * shapes[16], 64 * shapes[64]
    per_token = max((fastest[64] - fastest[16]) / (large - small), 1e-12)
    cost = BatchCost(max(fastest[16] - per_token * small, 0.0), per_token)
    _measured[model] = (key, cost)
    return cost


def score_pairs(
    model,
    query: str,
    texts: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_length: int | None = None,
    cost: BatchCost | None = None,
) -> tuple[list[float], TokenCounts]:
    """질의 하나와 문서들의 관련도 점수를 계산합니다 (활성화 함수까지 적용, 입력 순서대로).

    Args:
        model: ``sentence_transformers.CrossEncoder``.
        query: 질의.
        texts: 문서 본문들.
        batch_size: 한 번에 모델에 넣는 쌍의 최대 수 (기본값은 ``CrossEncoder.predict`` 와 같은 32).
        max_length: 쌍의 토큰 상한. ``None`` 이면 모델의 ``max_seq_length``.
        cost: 배치 나눔에 쓸 호출 비용. ``None`` 이면 ``measure_batch_cost(model)`` (처음 한 번 잼).

    Returns:
        ``(점수 목록, 토큰 수)``. 라벨이 하나인 모델(리랭커 대부분)의 점수는 ``CrossEncoder.predict`` 와 같은
        값이고, 라벨이 둘이면 '관련 있음' 쪽인 마지막 열의 값입니다 (LangChain ``HuggingFaceCrossEncoder`` 와 같음).
    """
    if not texts:
        return [], TokenCounts(0)
    tokenizer = model.tokenizer
    # max_seq_length 가 없는 체크포인트도 있어 토크나이저의 한도로 물러섭니다.
    limit = max_length or model.max_seq_length or tokenizer.model_max_length
    # 토큰화는 한 번에 텐서로 (predict 처럼 파이썬 목록을 거치지 않음), 배치마다 필요한 부분만 잘라 씁니다.
    encoded = tokenizer(
        [query] * len(texts),
        list(texts),
        truncation=True,
        max_length=limit,
        padding=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    lengths = encoded["attention_mask"].sum(dim=1).tolist()
    # 상한에 딱 닿은 쌍만 다시 세어 실제로 잘렸는지 봅니다 (대부분의 쌍은 한 번만 토큰화).
    at_limit = [position for position, length in enumerate(lengths) if length >= limit]
    truncated: tuple[int, ...] = ()
    if at_limit:
        full = tokenizer([query] * len(at_limit), [texts[p] for p in at_limit], verbose=False)["input_ids"]
        truncated = tuple(p for p, ids in zip(at_limit, full, strict=True) if len(ids) > limit)

    cost = cost or measure_batch_cost(model)
    scores: list[float] = [0.0] * len(texts)
    batch_shapes = []
    model.eval()
    with torch.inference_mode():
        for batch in plan_batches(lengths, batch_size, cost):
            longest = max(lengths[position] for position in batch)
            features = _batch_features(encoded, batch, longest, tokenizer.padding_side)
            batch_shapes.append((len(batch), longest))
            for position, score in zip(batch, _forward(model, features), strict=True):
                scores[position] = float(score)
    return scores, TokenCounts(sum(lengths), tuple(batch_shapes), truncated)


#: SmoothQuant 의 이동 비율 α: 입력 채널마다 활성값 범위의 α 제곱만큼을 가중치 쪽으로 옮깁니다.
SMOOTHING_ALPHA = 0.85
#: 활성값 범위를 재는 보정(calibration) 쌍: 강의 train 질의 몇 개 × 문단 몇 개 (test 질의는 쓰지 않습니다).
CALIBRATION_QUERIES, CALIBRATION_PASSAGES = 4, 8


class SmoothedInput(torch.nn.Module):
    """입력 채널마다 ``1 / s`` 를 곱한 뒤 (가중치에 ``s`` 를 곱해 둔) 선형층을 부릅니다: 결과는 원래 층과 같습니다.

    채널마다 크기가 크게 다른 활성값(특히 FFN 안쪽의 GELU 출력)을 고르게 해, 배치 전체에 범위 하나를 쓰는
    동적 양자화의 오차를 줄입니다 (SmoothQuant, Xiao et al. 2023).
    """

    def __init__(self, inverse_scale: torch.Tensor, linear: torch.nn.Module) -> None:
        super().__init__()
        self.register_buffer("inverse_scale", inverse_scale)
        self.linear = linear

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden * self.inverse_scale)


class ScaledActivation(torch.nn.Module):
    """활성화 함수(FFN 안쪽의 GELU)의 출력에 채널마다 ``1 / s`` 를 곱합니다: ``SmoothedInput`` 과 같은 결과입니다.

    그 출력은 다음 선형층만 쓰므로 제자리에서 곱해, 큰 텐서를 새로 잡고 한 번 더 읽고 쓰는 비용을 없앱니다.
    """

    def __init__(self, activation: torch.nn.Module, inverse_scale: torch.Tensor) -> None:
        super().__init__()
        self.activation = activation
        self.register_buffer("inverse_scale", inverse_scale)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(hidden).mul_(self.inverse_scale)


class SharedProjection(torch.nn.Module):
    """같은 입력을 받는 선형층 여럿(어텐션의 Q·K·V 투영)을 하나로 합친 층: 한 번 곱해 나눠 줍니다.

    int8 에서는 선형층마다 입력을 한 번씩 양자화하므로, 셋을 합치면 양자화 한 번과 더 큰 행렬곱 한 번으로
    끝납니다. 모델 코드는 그대로 세 층을 차례로 부르고, 각 자리의 ``ProjectionPart`` 가 자기 몫을 받아 갑니다.
    """

    def __init__(self, linears: Sequence[torch.nn.Linear]) -> None:
        super().__init__()
        widths = [linear.out_features for linear in linears]
        self.linear = torch.nn.Linear(linears[0].in_features, sum(widths))
        with torch.no_grad():
            self.linear.weight.copy_(torch.cat([linear.weight for linear in linears]))
            self.linear.bias.copy_(torch.cat([linear.bias for linear in linears]))
        self.widths = widths
        self._input: torch.Tensor | None = None
        self._parts: tuple[torch.Tensor, ...] = ()
        self._pending: set[int] = set()

    def part(self, hidden: torch.Tensor, index: int) -> torch.Tensor:
        """``hidden`` 에 대한 ``index`` 번째 층의 출력. 같은 입력의 첫 요청에서 한꺼번에 계산합니다."""
        if hidden is not self._input or index not in self._pending:
            self._input, self._pending = hidden, set(range(len(self.widths)))
            self._parts = self.linear(hidden).split(self.widths, dim=-1)
        self._pending.discard(index)
        part = self._parts[index]
        if not self._pending:  # 모두 받아 갔으면 붙잡고 있던 텐서를 놓습니다
            self._input, self._parts = None, ()
        return part


class ProjectionPart(torch.nn.Module):
    """``SharedProjection`` 의 ``index`` 번째 몫을 원래 선형층 자리에서 돌려줍니다."""

    def __init__(self, shared: SharedProjection, index: int) -> None:
        super().__init__()
        self.shared, self.index = shared, index

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.shared.part(hidden, self.index)


#: 같은 입력을 받는 어텐션의 투영 선형층 이름 (BERT·XLM-R 계열).
ATTENTION_PROJECTIONS = ("query", "key", "value")


def _fuse_attention_projections(network: torch.nn.Module) -> dict[str, SharedProjection]:
    """어텐션의 ``query``·``key``·``value`` 선형층을 ``SharedProjection`` 하나로 합칩니다.

    Returns:
        ``{어텐션 모듈 이름: 합친 투영}`` (BERT·XLM-R 계열이 아니면 빈 사전).
    """
    fused: dict[str, SharedProjection] = {}
    for name, module in list(network.named_modules()):
        linears = [getattr(module, child, None) for child in ATTENTION_PROJECTIONS]
        if not all(isinstance(linear, torch.nn.Linear) and linear.bias is not None for linear in linears):
            continue
        if len({linear.in_features for linear in linears}) != 1:
            continue
        fused[name] = SharedProjection(linears)
        for index, child in enumerate(ATTENTION_PROJECTIONS):
            setattr(module, child, ProjectionPart(fused[name], index))
    return fused


def _smoothing_scale(input_range: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """SmoothQuant 의 채널별 ``s = 활성값 범위^α / 가중치 범위^(1−α)``."""
    weight_range = weight.abs().amax(dim=0).clamp(min=1e-5)
    return input_range.clamp(min=1e-5) ** SMOOTHING_ALPHA / weight_range ** (1 - SMOOTHING_ALPHA)


def _calibration_pairs() -> list[tuple[str, list[str]]]:
    import random

    from .data import document_text, load_course_dataset

    corpus, queries, _ = load_course_dataset("train")
    doc_ids = sorted(corpus)
    return [
        (
            queries[query_id],
            [document_text(corpus[doc_id]) for doc_id in random.Random(seed).sample(doc_ids, CALIBRATION_PASSAGES)],
        )
        for seed, query_id in enumerate(sorted(queries)[:CALIBRATION_QUERIES])
    ]


def _input_ranges(model, pairs) -> dict[str, torch.Tensor]:
    """보정 쌍을 fp32 로 돌려 선형층마다 입력 채널의 절댓값 최대를 잽니다."""
    ranges: dict[str, torch.Tensor] = {}

    def recorder(name: str):
        def hook(module, inputs, output) -> None:
            largest = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
            ranges[name] = torch.maximum(ranges[name], largest) if name in ranges else largest

        return hook

    handles = [
        module.register_forward_hook(recorder(name))
        for name, module in model[0].model.named_modules()
        if isinstance(module, torch.nn.Linear)
    ]
    try:
        for query, texts in pairs:
            score_pairs(model, query, texts)
    finally:
        for handle in handles:
            handle.remove()
    return ranges


def _fastest_int8_engine(quantization) -> str:
    """이 CPU 에서 int8 선형층이 가장 빠른 양자화 엔진 (x86 = FBGEMM, onednn = AMX·VNNI 를 쓰는 oneDNN)."""
    engines = [engine for engine in ("x86", "onednn") if engine in torch.backends.quantized.supported_engines]
    previous, timings = torch.backends.quantized.engine, {}
    if len(engines) < 2:  # 고를 것이 없으면 (예: ARM 의 qnnpack) 지금 엔진 그대로
        return engines[0] if engines else previous
    hidden = torch.randn(1024, 384)
    try:
        for engine in engines:
            torch.backends.quantized.engine = engine
            layer = quantization.quantize_dynamic(
                torch.nn.Sequential(torch.nn.Linear(384, 1536)),
                {torch.nn.Linear: quantization.per_channel_dynamic_qconfig},
            )
            layer(hidden)  # 예열
            started = time.perf_counter()
            for _ in range(5):
                layer(hidden)
            timings[engine] = time.perf_counter() - started
    finally:
        torch.backends.quantized.engine = previous
    return min(timings, key=timings.__getitem__)


class FullRangeLinear(torch.nn.Module):
    """동적 int8 선형층을 활성값의 8비트 전체 범위(0–255)로 실행합니다. torch 의 기본 모듈은 7비트(0–127)만 씁니다.

    7비트는 VNNI 가 없는 x86 CPU 에서 int8 곱의 16비트 중간 합이 넘치지(포화, saturation) 않게 하려는 것입니다.
    넘치지 않는 CPU 에서는 눈금이 두 배로 촘촘해져 활성값의 양자화 오차가 절반이 되고, 속도는 같습니다.
    ``quantize_int8`` 은 이 CPU 에서 넘치지 않는다는 것을 확인했을 때만 씁니다 (``_full_range_is_exact``).
    """

    def __init__(self, quantized: torch.nn.Module) -> None:
        super().__init__()
        self.quantized = quantized

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        packed = self.quantized._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(hidden, packed, reduce_range=False)


def _full_range_is_exact(quantization) -> bool:
    """지금 엔진에서 활성값을 8비트 전체 범위로 곱해도 값이 맞는지 (중간 합이 넘치지 않는지) 한 번 곱해 봅니다.

    활성값 255 × 가중치 127 인 64채널 내적은 두 쌍씩 16비트로 더하는 CPU 에서 넘쳐 참값의 절반쯤이 나옵니다.
    """
    layer = torch.nn.Sequential(torch.nn.Linear(64, 1, bias=False))
    torch.nn.init.ones_(layer[0].weight)
    quantized = quantization.quantize_dynamic(layer, {torch.nn.Linear: quantization.per_channel_dynamic_qconfig})
    product = FullRangeLinear(quantized[0])(torch.ones(1, 64)).item()
    return abs(product - 64) < 1


def _use_full_range(network: torch.nn.Module) -> None:
    """양자화된 모델의 동적 int8 선형층을 모두 ``FullRangeLinear`` 로 감쌉니다 (제자리에서)."""
    dynamic_linear = torch.ao.nn.quantized.dynamic.Linear
    for name, module in list(network.named_modules()):
        if type(module) is dynamic_linear:
            parent, _, child = name.rpartition(".")
            setattr(network.get_submodule(parent), child, FullRangeLinear(module))


@torch.no_grad()
def _smooth_and_fuse(network: torch.nn.Module, ranges: Mapping[str, torch.Tensor]) -> None:
    """양자화 전에 선형층의 입력 범위를 가중치로 옮기고 (SmoothQuant) Q·K·V 투영을 합칩니다 (제자리에서).

    fp32 에서의 결과는 그대로입니다. 나누는 곱셈(``1 / s``)은 될 수 있으면 따로 두지 않습니다: 어텐션 출력층의 것은
    값 투영의 가중치에, FFN 둘째 층의 것은 활성화 함수의 출력에 넣습니다.

    Args:
        network: transformers 모델 (``CrossEncoder[0].model``).
        ranges: ``{선형층 이름: 입력 채널별 절댓값 최대}`` (``_input_ranges``).
    """
    modules = dict(network.named_modules())
    for name, linear in modules.items():
        if name not in ranges or name.rpartition(".")[2] in ATTENTION_PROJECTIONS:
            continue  # Q·K·V 투영은 하나로 합친 뒤 함께 (아래)
        scale = _smoothing_scale(ranges[name], linear.weight)
        linear.weight.mul_(scale[None, :])
        block = name.removesuffix("output.dense")
        value = modules.get(block + "self.value") if name.endswith("attention.output.dense") else None
        intermediate = modules.get(block + "intermediate")
        if isinstance(value, torch.nn.Linear):
            # 어텐션 출력은 값(value)의 채널별 가중합이라, 1/s 를 값 투영의 출력 채널에 넣으면 곱셈이 따로 없습니다.
            value.weight.div_(scale[:, None])
            value.bias.div_(scale)
        elif isinstance(getattr(intermediate, "intermediate_act_fn", None), torch.nn.Module):
            # FFN 의 둘째 선형층: 입력이 활성화 함수의 출력뿐이라 그 출력에 제자리에서 곱합니다.
            intermediate.intermediate_act_fn = ScaledActivation(intermediate.intermediate_act_fn, 1 / scale)
        else:
            parent, _, child = name.rpartition(".")
            setattr(network.get_submodule(parent), child, SmoothedInput(1 / scale, linear))
    for attention, shared in _fuse_attention_projections(network).items():
        scale = _smoothing_scale(ranges[f"{attention}.query"], shared.linear.weight)  # 셋의 입력은 같습니다
        shared.linear.weight.mul_(scale[None, :])
        shared.linear = SmoothedInput(1 / scale, shared.linear)


@torch.no_grad()
def quantize_int8(model, calibration: Sequence[tuple[str, Sequence[str]]] | None = None, full_range: bool = True):
    """선형층을 int8 로 바꾼 사본 (CPU 전용 동적 양자화). torch 가 이 API 를 없앴으면 ``None``.

    1. 보정 쌍(기본: 강의 train 질의 4개 × 문단 8개)으로 선형층마다 입력 채널의 범위를 잽니다.
    2. 채널마다 ``s = 활성값 범위^α / 가중치 범위^(1−α)`` (α = 0.85) 로 활성값을 나누고 가중치에 곱해 둡니다
       (SmoothQuant). 결과는 fp32 에서 똑같고, 양자화 오차만 줄어듭니다. 같은 입력을 받는 Q·K·V 투영은
       하나로 합쳐 활성값을 한 번만 양자화합니다 (``_smooth_and_fuse``).
    3. 가중치는 출력 채널마다 int8 로, 활성값은 배치마다 범위를 재어 int8 로 바꿔 곱합니다. 양자화 엔진은
       이 CPU 에서 더 빠른 쪽(FBGEMM 또는 oneDNN)을 재어 고릅니다. 활성값은 이 CPU 에서 중간 합이 넘치지 않으면
       (VNNI·AMX 가 있는 CPU) torch 기본의 7비트 대신 8비트 전체 범위를 씁니다 (``FullRangeLinear``).

    임베딩·LayerNorm·어텐션의 행렬곱은 fp32 그대로라 점수는 fp32 와 조금 다르고, 같은 쌍도 함께 묶인 쌍에 따라
    점수가 조금 바뀝니다. 순위가 얼마나 같은지는 벤치마크(``python -m course_utils bench``)가 잽니다.

    Args:
        model: CPU 의 ``sentence_transformers.CrossEncoder`` (바뀌지 않습니다).
        calibration: ``[(질의, [문서, ...]), ...]`` 보정 쌍. ``None`` 이면 강의 train 분할에서 고릅니다.
        full_range: 활성값에 8비트 전체 범위를 쓸지 (넘치지 않는 CPU 에서만 씁니다). ``False`` 면 torch 기본 7비트.

    Example:
        >>> import contextlib, io, torch
        >>> from sentence_transformers import CrossEncoder
        >>> from course_utils.offline_models import cross_encoder_path
        >>> with contextlib.redirect_stdout(io.StringIO()):  # 첫 실행에서 모델을 만든다는 안내문은 숨깁니다.
        ...     source = str(cross_encoder_path())
        >>> int8 = quantize_int8(CrossEncoder(source, device="cpu", trust_remote_code=True))
        >>> any(isinstance(module, torch.nn.Linear) for module in int8[0].model.modules())
        False
    """
    import copy
    import warnings

    quantization = getattr(getattr(torch, "ao", None), "quantization", None)
    if getattr(quantization, "quantize_dynamic", None) is None or not hasattr(
        quantization, "per_channel_dynamic_qconfig"
    ):
        return None
    ranges = _input_ranges(model, calibration or _calibration_pairs())
    quantized = copy.deepcopy(model)
    network = quantized[0].model
    _smooth_and_fuse(network, ranges)
    previous = torch.backends.quantized.engine
    with warnings.catch_warnings():
        # torch.ao.quantization 은 torchao 로 옮겨 가는 중이라 사용 중단 경고를 냅니다. 동작은 같습니다.
        warnings.simplefilter("ignore")
        torch.backends.quantized.engine = _fastest_int8_engine(quantization)
        try:
            # 묶은 가중치(packed weights)가 엔진을 기억하므로, 엔진은 양자화하는 동안만 바꿉니다.
            quantized[0].model = quantization.quantize_dynamic(
                network, {torch.nn.Linear: quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8
            )
            if full_range and _full_range_is_exact(quantization):
                _use_full_range(quantized[0].model)
        finally:
            torch.backends.quantized.engine = previous
    return quantized
