"""multilingual-e5-small 을 크로스 인코더 모양으로 돌리는 모델 코드 (강의가 만든 모델 폴더에 함께 복사됩니다).

허브의 사용자 정의 코드 리랭커(``trust_remote_code=True``)처럼, 모델 폴더의 ``config.json`` 이
``auto_map`` 으로 이 파일의 클래스를 가리킵니다. 그래서 sentence-transformers ``CrossEncoder``,
LangChain ``HuggingFaceCrossEncoder``, ONNX 내보내기가 모두 평소의 코드 경로로 이 모델을 씁니다.

(질의, 문서) 쌍을 **한 번의 forward** 로 처리하지만, 주의 마스크(attention mask)를 블록 대각으로 두어
질의 토큰은 질의 토큰만, 문서 토큰은 문서 토큰만 봅니다. 위치 번호는 문서에서 0부터 다시 시작합니다.
각 구간을 평균 풀링한 두 벡터의 코사인 유사도가 곧 바이 인코더(bi-encoder)의 점수입니다.
즉 바이 인코더는 교차 주의(cross-attention)를 가린 크로스 인코더입니다.

토크나이저의 쌍 템플릿이 ``<s> query: 질의 </s>`` 에 token type 0, ``<s> passage: 문서 </s>`` 에
token type 1 을 매기며, 이 모델은 그 type 으로 두 구간을 구별합니다 (모델 안에서는 type 0 만 씁니다).

이 파일은 ``transformers`` 와 ``torch`` 만 씁니다: 모델 폴더에 복사되어 따로 불리기 때문입니다.
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


class E5PairCosineModel(BertPreTrainedModel):
    """블록 대각 마스크로 두 구간을 따로 인코딩하고, 두 평균 벡터의 코사인을 로짓으로 바꿔 냅니다.

    로짓 = ``cosine_scale × (코사인 − cosine_shift)`` 라서 코사인의 단조 함수이고,
    sentence-transformers 가 씌우는 시그모이드를 거치면 0–1 점수가 됩니다.
    """

    config_class = BertConfig
    base_model_prefix = "bert"

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_: object,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            raise ValueError(
                "token_type_ids 가 필요합니다: 이 모델은 (질의, 문서) 쌍을 토크나이저의 쌍 템플릿으로 받아 구간을 구별합니다."
            )
        valid = attention_mask.bool()
        segment = token_type_ids.long()
        # 같은 구간의 실제 토큰끼리만 서로 봅니다. 패딩 토큰은 자기 자신만 봐서 softmax 가 NaN 이 되지 않게 합니다.
        same_segment = (segment[:, :, None] == segment[:, None, :]) & valid[:, :, None] & valid[:, None, :]
        index = torch.arange(input_ids.shape[1], device=input_ids.device)
        allowed = same_segment | (index[:, None] == index[None, :])[None]
        dtype = self.bert.embeddings.word_embeddings.weight.dtype
        additive_mask = torch.zeros(allowed.shape, dtype=dtype, device=input_ids.device)
        additive_mask = additive_mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]
        # 위치 번호는 구간마다 0부터: 문서 구간은 질의 구간의 길이만큼 당깁니다.
        query_length = ((segment == 0) & valid).sum(dim=1, keepdim=True)
        positions = index[None].expand_as(input_ids)
        position_ids = torch.where(segment == 1, positions - query_length, positions).clamp(min=0)
        hidden = self.bert(
            input_ids=input_ids,
            attention_mask=additive_mask,
            token_type_ids=torch.zeros_like(input_ids),
            position_ids=position_ids,
        ).last_hidden_state
        query_vector = _segment_mean(hidden, valid & (segment == 0))
        passage_vector = _segment_mean(hidden, valid & (segment == 1))
        cosine = torch.nn.functional.cosine_similarity(query_vector.float(), passage_vector.float(), dim=-1)
        logits = self.config.cosine_scale * (cosine - self.config.cosine_shift)
        return SequenceClassifierOutput(logits=logits[:, None].to(dtype))


def _segment_mean(hidden: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    weights = members.to(hidden.dtype)[:, :, None]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
