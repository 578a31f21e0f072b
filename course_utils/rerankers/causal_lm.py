"""백엔드 ``causal-lm``: 인과 언어 모델(causal LM) 리랭커를 sentence-transformers ``CrossEncoder`` 로 부릅니다.

Qwen3-Reranker 는 분류 머리(head)가 없는 언어 모델입니다. 질의와 문서를 정해진 채팅 프롬프트에 넣고, 다음 토큰이
"yes" 일지 "no" 일지의 로짓 차이를 점수로 씁니다. sentence-transformers 5.4 부터 ``CrossEncoder`` 가 이런 모델을
``Transformer(text-generation) → LogitScore(yes, no)`` 로 불러옵니다 (그보다 옛 판은 무작위 분류 머리를 붙여 점수가
무작위에 가깝습니다). 이 백엔드는 모델 카드가 정한 프롬프트를 채팅 템플릿(chat template)으로 넘기고,
``sigmoid(logit_yes - logit_no)`` 곧 카드의 ``p(yes)`` 를 점수로 돌려줍니다.

모델을 찾지 못하면(오프라인, 허브 차단) ``cross-encoder`` 백엔드와 같은 강의의 오프라인 모델로 대신하고 배너로 알립니다.
"""

from __future__ import annotations

import functools

from ..env import quiet_model_loading, runtime
from .base import Reranker, _check_positive, register_backend
from .cross_encoder import CrossEncoderBackend, _resolve_hub_model

#: Qwen3-Reranker 모델 카드(2025-06)의 기본 지시문.
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
#: 모델 카드의 시스템 프롬프트와 끝맺음 (생각 블록을 비워 두고 바로 yes/no 를 묻습니다).
QWEN3_RERANKER_PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
)
QWEN3_RERANKER_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def qwen3_reranker_prompt(query: str, document: str, instruction: str = DEFAULT_INSTRUCTION) -> str:
    """모델 카드가 정한 입력 문자열 그대로 (채팅 템플릿이 만드는 것과 같아야 합니다).

    Example:
        >>> print(qwen3_reranker_prompt("질의", "문서", "지시").splitlines()[3])
        <Instruct>: 지시
    """
    return f"{QWEN3_RERANKER_PREFIX}<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}{QWEN3_RERANKER_SUFFIX}"


def qwen3_reranker_chat_template(instruction: str = DEFAULT_INSTRUCTION) -> str:
    """``CrossEncoder`` 가 (질의, 문서) 쌍을 ``query``·``document`` 역할의 메시지로 넘길 때 카드의 프롬프트를 만드는 템플릿."""
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError("instruction 은 비어 있지 않은 문자열이어야 합니다 (예: 기본값 DEFAULT_INSTRUCTION).")

    def literal(text: str) -> str:  # Jinja 문자열 상수로 (따옴표와 역슬래시를 이스케이프)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    def text_of(role: str) -> str:
        found = f'(messages | selectattr("role", "eq", "{role}") | first).content'
        return f"({found} if {found} is string else {found}[0].text)"

    return (
        "{{- "
        + literal(QWEN3_RERANKER_PREFIX + "<Instruct>: " + instruction + "\n<Query>: ")
        + f" ~ {text_of('query')} ~ "
        + literal("\n<Document>: ")
        + f" ~ {text_of('document')} ~ "
        + literal(QWEN3_RERANKER_SUFFIX)
        + " -}}"
    )


@functools.cache
def _load_causal_encoder(source: str, instruction: str, device: str, max_length: int):
    import torch
    from sentence_transformers import CrossEncoder

    # GPU 에서는 bf16 (카드의 예제와 같은 정밀도), CPU 에서는 fp32.
    model_kwargs = {"dtype": torch.bfloat16} if device == "cuda" else {}
    with quiet_model_loading():
        encoder = CrossEncoder(
            source,
            device=device,
            max_length=max_length,
            model_kwargs=model_kwargs,
            processor_kwargs={"chat_template": qwen3_reranker_chat_template(instruction)},
        )
    return encoder


@register_backend(
    "causal-lm",
    default_model="Qwen/Qwen3-Reranker-0.6B",
    models=("Qwen/Qwen3-Reranker-0.6B", "Qwen/Qwen3-Reranker-4B", "Qwen/Qwen3-Reranker-8B"),
    summary="인과 LM 리랭커 (Qwen3-Reranker, sentence-transformers CrossEncoder 의 yes/no 로짓 점수)",
    extra_models_allowed=True,
    pip_packages=("sentence-transformers>=5.4",),
)
class CausalLMBackend(Reranker):
    """Qwen3-Reranker 같은 인과 LM 리랭커. 점수는 ``p(yes)`` (0–1) 입니다.

    Args:
        model: 허브 모델 id 또는 내 컴퓨터의 모델 폴더 (Qwen3-Reranker 의 프롬프트를 쓰는 모델).
        instruction: 카드의 ``<Instruct>`` 자리에 들어갈 과제 설명. 카드는 과제에 맞게 바꾸면 1–5% 나아진다고 합니다.
        max_length: 프롬프트를 포함한 최대 토큰 수.
        batch_size: 한 번에 모델에 넣는 쌍의 수.
    """

    def __init__(
        self, model: str, instruction: str = DEFAULT_INSTRUCTION, max_length: int = 1024, batch_size: int = 8
    ) -> None:
        qwen3_reranker_chat_template(instruction)  # 지시문을 지금 검사합니다
        self.model, self.instruction = model, instruction
        self.max_length = _check_positive("max_length", max_length)
        self.batch_size = _check_positive("batch_size", batch_size)
        self.device = runtime().device
        source, found = _resolve_hub_model(model)
        if found:
            self._encoder = _load_causal_encoder(source, instruction, self.device, self.max_length)
            self._standin = None
        else:
            # 같은 해석 순서로 찾지 못했으니 cross-encoder 백엔드가 오프라인 모델로 대신하고 배너를 냅니다.
            self._standin = CrossEncoderBackend(model, max_length=min(self.max_length, 512), batch_size=batch_size)
            self.is_standin, self.runs = True, self._standin.runs

    def _score(self, query: str, texts: list[str]) -> list[float]:
        if self._standin is not None:
            return self._standin._score(query, texts)
        # CrossEncoder 는 점수가 하나인 모델에 시그모이드를 씌웁니다: sigmoid(yes - no) 곧 카드의 p(yes).
        scores = self._encoder.predict([(query, text) for text in texts], batch_size=self.batch_size)
        return [float(score) for score in scores]
