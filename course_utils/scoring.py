"""크로스 인코더 점수 계산: 낭비 없는 경로 (토큰 길이로 정렬한 배치, 필요한 만큼만 패딩).

CPU 에서 크로스 인코더의 비용은 "실제로 처리한 토큰 수 × 파라미터 수" 입니다. 그래서 이 경로는

- 쌍을 한 번 토큰화해 그 길이로 잘림 여부를 판단하고,
- **토큰 수** 로 정렬해 길이가 비슷한 쌍끼리 배치로 묶고 (sentence-transformers 는 글자 수로 정렬합니다),
  배치 안의 패딩이 10% 를 넘을 쌍은 다음 배치로 보내며,
- 배치 안에서 가장 긴 쌍까지만 패딩하고 (``max_length`` 까지 채우지 않음),
- ``torch.inference_mode`` 에서 sentence-transformers 모델의 forward 를 그대로 부릅니다.

GPU 에서는 리랭커가 모델을 fp16 으로 바꿔 둡니다 (``rerankers.CrossEncoderBackend``).

Example:
    >>> from course_utils.scoring import length_sorted_batches
    >>> length_sorted_batches([5, 9, 3, 9, 4], batch_size=2)
    [[1, 3], [0, 4], [2]]
    >>> length_sorted_batches([100, 98, 60, 59, 58], batch_size=16)  # 100 과 60 을 한 배치에 넣으면 패딩이 큽니다
    [[0, 1], [2, 3, 4]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


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


def length_sorted_batches(lengths: Sequence[int], batch_size: int, max_padding: float = 0.1) -> list[list[int]]:
    """길이가 긴 것부터 정렬해 배치로 묶은 위치 목록 (같은 길이는 원래 순서).

    배치는 ``batch_size`` 개까지 채우되, 패딩이 배치 토큰의 ``max_padding`` 을 넘게 되는 쌍부터는
    새 배치를 시작합니다. 긴 배치가 먼저 오므로 메모리가 모자라면 첫 배치에서 바로 드러납니다.

    Args:
        lengths: 쌍마다 토큰 수.
        batch_size: 배치 하나의 최대 쌍 수.
        max_padding: 배치 하나에서 허용하는 패딩 비율 (0–1). 0 이면 같은 길이끼리만 묶습니다.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size 는 1 이상이어야 합니다 (받은 값: {batch_size}).")
    if not 0 <= max_padding < 1:
        raise ValueError(f"max_padding 은 0 이상 1 미만이어야 합니다 (받은 값: {max_padding}).")
    order = sorted(range(len(lengths)), key=lambda position: -lengths[position])
    batches: list[list[int]] = []
    useful = 0
    for position in order:
        batch = batches[-1] if batches else None
        if batch is not None and len(batch) < batch_size:
            longest = lengths[batch[0]]
            padded = (len(batch) + 1) * longest
            if 1 - (useful + lengths[position]) / padded <= max_padding:
                batch.append(position)
                useful += lengths[position]
                continue
        batches.append([position])
        useful = lengths[position]
    return batches


def score_pairs(
    model,
    query: str,
    texts: Sequence[str],
    batch_size: int = 16,
    max_length: int | None = None,
) -> tuple[list[float], TokenCounts]:
    """질의 하나와 문서들의 관련도 점수를 계산합니다 (활성화 함수까지 적용, 입력 순서대로).

    Args:
        model: ``sentence_transformers.CrossEncoder``.
        query: 질의.
        texts: 문서 본문들.
        batch_size: 한 번에 모델에 넣는 쌍의 수.
        max_length: 쌍의 토큰 상한. ``None`` 이면 모델의 ``max_seq_length``.

    Returns:
        ``(점수 목록, 토큰 수)``. 라벨이 하나인 모델(리랭커 대부분)의 점수는 ``CrossEncoder.predict`` 와 같은
        값이고, 라벨이 둘이면 '관련 있음' 쪽인 마지막 열의 값입니다 (LangChain ``HuggingFaceCrossEncoder`` 와 같음).
    """
    if not texts:
        return [], TokenCounts(0)
    tokenizer = model.tokenizer
    # max_seq_length 가 없는 체크포인트도 있어 토크나이저의 한도로 물러섭니다.
    limit = max_length or model.max_seq_length or tokenizer.model_max_length
    encoded = tokenizer([query] * len(texts), list(texts), truncation=True, max_length=limit)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    # 상한에 딱 닿은 쌍만 다시 세어 실제로 잘렸는지 봅니다 (대부분의 쌍은 한 번만 토큰화).
    at_limit = [position for position, length in enumerate(lengths) if length >= limit]
    truncated: tuple[int, ...] = ()
    if at_limit:
        full = tokenizer([query] * len(at_limit), [texts[p] for p in at_limit], verbose=False)["input_ids"]
        truncated = tuple(p for p, ids in zip(at_limit, full, strict=True) if len(ids) > limit)

    scores: list[float] = [0.0] * len(texts)
    batch_shapes = []
    device = model.device
    model.eval()
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size):
            features = tokenizer.pad(
                {name: [values[position] for position in batch] for name, values in encoded.items()},
                padding="longest",
                return_tensors="pt",
            )
            batch_shapes.append((len(batch), features["input_ids"].shape[1]))
            logits = model({name: tensor.to(device) for name, tensor in features.items()})["scores"]
            # fp16 점수는 float32 로 올려 동점을 줄입니다 (sentence-transformers 와 같은 처리).
            batch_scores = model.activation_fn(logits.float())
            if batch_scores.ndim > 1:
                batch_scores = batch_scores[:, -1]  # 라벨 2개 모델은 마지막 열이 '관련 있음'
            for position, score in zip(batch, batch_scores.tolist(), strict=True):
                scores[position] = float(score)
    return scores, TokenCounts(sum(lengths), tuple(batch_shapes), truncated)
