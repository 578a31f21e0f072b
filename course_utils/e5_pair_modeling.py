"""multilingual-e5-small 을 크로스 인코더 모양으로 돌리는 모델 코드 (강의가 만든 모델 폴더에 함께 복사됩니다).

허브의 사용자 정의 코드 리랭커(``trust_remote_code=True``)처럼, 모델 폴더의 ``config.json`` 이
``auto_map`` 으로 이 파일의 클래스를 가리킵니다. 그래서 sentence-transformers ``CrossEncoder``,
LangChain ``HuggingFaceCrossEncoder``, ONNX 내보내기가 모두 평소의 코드 경로로 이 모델을 씁니다.

(질의, 문서) 쌍을 **한 번의 forward** 로 처리하지만, 주의 마스크(attention mask)를 블록 대각으로 두어
질의 토큰은 질의 토큰만, 문서 토큰은 문서 토큰만 봅니다. 위치 번호는 문서에서 0부터 다시 시작합니다.
그래서 두 구간의 토큰 벡터는 따로 인코딩했을 때(바이 인코더)와 같습니다. 점수는 그 토큰 벡터로 셋을 섞습니다.

- **코사인**: 두 구간 평균 벡터의 코사인 (바이 인코더의 점수 그대로).
- **MaxSim**: 질의 토큰마다 가장 비슷한 문서 토큰과의 코사인을 구해 평균한 값 (ColBERT 의 늦은 상호작용).
- **어휘 일치**: 질의 토큰이 문서에 그대로 나오는 비율.

MaxSim 과 어휘 일치의 평균은 토큰 가중치로 냅니다. 가중치는 토크나이저(Unigram)의 토큰 로그 확률에서 온
희귀도 ``max(-log p − 8, 0.5)`` 이고, 특수 토큰과 ``query:``/``passage:`` 접두어는 0 입니다. 흔한 조사보다
드문 낱말의 일치가 더 무겁게 셉니다. 섞는 비율은 강의 데이터의 train 질의에서 골랐습니다 (``offline_models``).

토크나이저의 쌍 템플릿이 ``<s> query: 질의 </s>`` 에 token type 0, ``<s> passage: 문서 </s>`` 에
token type 1 을 매기며, 이 모델은 그 type 으로 두 구간을 구별합니다 (모델 안에서는 type 0 만 씁니다).

이 파일은 ``transformers`` 와 ``torch`` 만 씁니다: 모델 폴더에 복사되어 따로 불리기 때문입니다.
"""

from __future__ import annotations

import base64

import torch
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


def decode_token_weights(encoded: str) -> torch.Tensor:
    """config 에 base64 로 담은 fp16 토큰 가중치를 텐서로."""
    return torch.frombuffer(bytearray(base64.b64decode(encoded)), dtype=torch.float16).float()


class E5PairScoreModel(BertPreTrainedModel):
    """블록 대각 마스크로 두 구간을 따로 인코딩하고, 코사인·MaxSim·어휘 일치를 섞은 점수를 로짓으로 냅니다.

    점수 s = (코사인 + ``maxsim_weight`` × MaxSim + ``lexical_weight`` × 어휘 일치) / (1 + 두 비중의 합) 이고,
    로짓 = ``score_scale × (s − score_shift)`` 입니다. sentence-transformers 가 씌우는 시그모이드를 거치면
    0–1 점수가 됩니다.
    """

    config_class = BertConfig
    base_model_prefix = "bert"

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self._token_weights: torch.Tensor | None = None
        self.post_init()

    def token_weights(self, device: torch.device) -> torch.Tensor:
        """config 의 토큰 가중치 (처음 쓸 때 풉니다: 버퍼로 두면 transformers 가 불러올 때 0 으로 채웁니다)."""
        if self._token_weights is None or self._token_weights.device != device:
            self._token_weights = decode_token_weights(self.config.token_weights).to(device)
        return self._token_weights

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
        ).last_hidden_state.float()
        in_query, in_passage = valid & (segment == 0), valid & (segment == 1)
        cosine = torch.nn.functional.cosine_similarity(
            _segment_mean(hidden, in_query), _segment_mean(hidden, in_passage), dim=-1
        )
        weights = self.token_weights(hidden.device)[input_ids]
        query_weights = weights * in_query
        passage_words = in_passage & (weights > 0)
        unit = torch.nn.functional.normalize(hidden, dim=-1)
        # 질의 토큰 i 와 문서 토큰 j 의 코사인. 문서 쪽이 아닌 칸은 가장 낮은 코사인 -1 로 둡니다.
        similarity = (unit @ unit.transpose(1, 2)).masked_fill(~passage_words[:, None, :], -1.0)
        best_match = similarity.max(dim=-1).values
        exact_match = ((input_ids[:, :, None] == input_ids[:, None, :]) & passage_words[:, None, :]).any(dim=-1)
        total = query_weights.sum(dim=1).clamp(min=1e-6)
        maxsim = (query_weights * best_match).sum(dim=1) / total
        lexical = (query_weights * exact_match).sum(dim=1) / total
        config = self.config
        score = (cosine + config.maxsim_weight * maxsim + config.lexical_weight * lexical) / (
            1 + config.maxsim_weight + config.lexical_weight
        )
        logits = config.score_scale * (score - config.score_shift)
        return SequenceClassifierOutput(logits=logits[:, None].to(dtype))


def _segment_mean(hidden: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    weights = members.to(hidden.dtype)[:, :, None]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
