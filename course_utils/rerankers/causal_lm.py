"""백엔드 ``causal-lm``: 인과 언어 모델(causal LM) 리랭커를 sentence-transformers ``CrossEncoder`` 로 부릅니다.

Qwen3-Reranker 와 mxbai-rerank-v2 는 분류 머리(head)가 없는 언어 모델입니다. 질의와 문서를 정해진 채팅 프롬프트에
넣고, 다음 토큰이 "예"(Qwen3 는 ``yes``, mxbai 는 ``1``)일지 "아니오"(``no``, ``0``)일지의 로짓 차이를 점수로 씁니다.
sentence-transformers 5.4 부터 ``CrossEncoder`` 가 이런 모델을 ``Transformer(text-generation) → LogitScore`` 로
불러옵니다 (그보다 옛 판은 무작위 분류 머리를 붙여 점수가 무작위에 가깝습니다). 이 백엔드는 모델이 정한 프롬프트를
채팅 템플릿(chat template)으로 넘기고, ``sigmoid(logit_예 - logit_아니오)`` 를 점수로 돌려줍니다 (Qwen3 카드의 ``p(yes)``).

모델을 찾지 못하면(오프라인, 허브 차단) ``cross-encoder`` 백엔드와 같은 강의의 오프라인 모델로 대신하고 배너로 알립니다.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
#: mxbai-rerank-v2 의 프롬프트 (mixedbread-ai/mxbai-rerank, Apache-2.0 — AnswerDotAI/rerankers ``mxbai_v2.py`` 가 옮긴 그대로).
MXBAI_RERANK_V2_PREFIX = (
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n"
)
MXBAI_RERANK_V2_TASK = (
    "You are a search relevance expert who evaluates how well documents match search queries. For each "
    "query-document pair, carefully analyze the semantic relationship between them, then provide your binary "
    "relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:"
)
MXBAI_RERANK_V2_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"
#: ``prompt_format`` 에 줄 수 있는 값. ``"auto"`` 는 모델 id 로 고릅니다 (``mxbai-rerank`` 가 들어 있으면 mxbai).
PROMPT_FORMATS = ("auto", "qwen3", "mxbai")


@dataclass(frozen=True)
class YesNoPrompt:
    """인과 LM 리랭커 한 종류의 입력 모양: 질의 앞, 질의와 문서 사이, 문서 뒤의 글과 "예"/"아니오" 토큰.

    Example:
        >>> prompt = qwen3_prompt_format("지시")
        >>> prompt.render("질의", "문서").splitlines()[3]
        '<Instruct>: 지시'
        >>> (prompt.true_token, prompt.false_token)
        ('yes', 'no')
    """

    before_query: str
    between: str
    after_document: str
    true_token: str
    false_token: str

    def render(self, query: str, document: str) -> str:
        """모델에 들어가는 문자열 그대로 (채팅 템플릿이 만드는 것과 같아야 합니다)."""
        return f"{self.before_query}{query}{self.between}{document}{self.after_document}"

    def chat_template(self) -> str:
        """``CrossEncoder`` 가 (질의, 문서) 쌍을 ``query``·``document`` 역할의 메시지로 넘길 때 ``render`` 와 같은 글을 만드는 템플릿."""

        def literal(text: str) -> str:  # Jinja 문자열 상수로 (따옴표와 역슬래시를 이스케이프)
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        def text_of(role: str) -> str:
            found = f'(messages | selectattr("role", "eq", "{role}") | first).content'
            return f"({found} if {found} is string else {found}[0].text)"

        return (
            "{{- "
            + literal(self.before_query)
            + f" ~ {text_of('query')} ~ "
            + literal(self.between)
            + f" ~ {text_of('document')} ~ "
            + literal(self.after_document)
            + " -}}"
        )


def _check_instruction(instruction: str) -> str:
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError("instruction 은 비어 있지 않은 문자열이어야 합니다 (예: 기본값 DEFAULT_INSTRUCTION).")
    return instruction


def qwen3_prompt_format(instruction: str = DEFAULT_INSTRUCTION) -> YesNoPrompt:
    """Qwen3-Reranker 모델 카드의 프롬프트 (``<Instruct>``·``<Query>``·``<Document>``, 답은 yes/no)."""
    return YesNoPrompt(
        before_query=QWEN3_RERANKER_PREFIX + f"<Instruct>: {_check_instruction(instruction)}\n<Query>: ",
        between="\n<Document>: ",
        after_document=QWEN3_RERANKER_SUFFIX,
        true_token="yes",
        false_token="no",
    )


def mxbai_prompt_format(instruction: str | None = None) -> YesNoPrompt:
    """mxbai-rerank-v2 의 프롬프트 (``query:``·``document:`` 뒤에 과제 설명, 답은 1/0). 지시문은 있을 때만 넣습니다.

    Example:
        >>> mxbai_prompt_format().render("질의", "문서").splitlines()[3:5]
        ['query: 질의', 'document: 문서']
    """
    instruction_line = "" if instruction is None else f"instruction: {_check_instruction(instruction)}\n"
    return YesNoPrompt(
        before_query=MXBAI_RERANK_V2_PREFIX + instruction_line + "query: ",
        between="\ndocument: ",
        after_document="\n" + MXBAI_RERANK_V2_TASK + MXBAI_RERANK_V2_SUFFIX,
        true_token="1",
        false_token="0",
    )


def prompt_format_for(model: str, prompt_format: str = "auto", instruction: str | None = None) -> YesNoPrompt:
    """모델에 맞는 프롬프트. ``instruction`` 이 ``None`` 이면 그 모델의 기본값 (Qwen3 는 카드의 지시문, mxbai 는 없음).

    Example:
        >>> prompt_format_for("mixedbread-ai/mxbai-rerank-base-v2").true_token
        '1'
        >>> prompt_format_for("Qwen/Qwen3-Reranker-0.6B").true_token
        'yes'
    """
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(
            f"prompt_format 은 {', '.join(PROMPT_FORMATS)} 중 하나여야 합니다 (받은 값: {prompt_format!r})."
        )
    if prompt_format == "auto":
        prompt_format = "mxbai" if "mxbai-rerank" in model.lower() else "qwen3"
    if prompt_format == "mxbai":
        return mxbai_prompt_format(instruction)
    return qwen3_prompt_format(DEFAULT_INSTRUCTION if instruction is None else instruction)


@functools.cache
def _load_causal_encoder(source: str, prompt: YesNoPrompt, device: str, max_length: int):
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.modules import LogitScore

    # GPU 에서는 bf16 (카드의 예제와 같은 정밀도), CPU 에서는 fp32.
    model_kwargs = {"dtype": torch.bfloat16} if device == "cuda" else {}
    with quiet_model_loading():
        encoder = CrossEncoder(
            source,
            device=device,
            max_length=max_length,
            model_kwargs=model_kwargs,
            processor_kwargs={"chat_template": prompt.chat_template()},
        )
    # CrossEncoder 는 "yes"/"no" 토큰으로 LogitScore 를 만듭니다. mxbai 처럼 다른 답 토큰을 쓰는 모델에 맞춰 바꿉니다.
    head = encoder[-1]
    if not isinstance(head, LogitScore):
        raise ValueError(
            f"인과 LM 리랭커가 아닌 모델입니다: {source} (분류 머리가 있는 모델은 'cross-encoder' 백엔드로 부르세요)."
        )
    tokenizer = encoder.tokenizer
    ids = []
    for token in (prompt.true_token, prompt.false_token):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise ValueError(f"{source} 의 토크나이저에 답 토큰이 없습니다: {token!r} (prompt_format 을 확인하세요).")
        ids.append(token_id)
    head.true_token_id, head.false_token_id = ids
    return encoder


@register_backend(
    "causal-lm",
    default_model="Qwen/Qwen3-Reranker-0.6B",
    models=(
        "Qwen/Qwen3-Reranker-0.6B",
        "Qwen/Qwen3-Reranker-4B",
        "Qwen/Qwen3-Reranker-8B",
        "mixedbread-ai/mxbai-rerank-base-v2",
        "mixedbread-ai/mxbai-rerank-large-v2",
    ),
    summary="인과 LM 리랭커 (Qwen3-Reranker, mxbai-rerank-v2: sentence-transformers CrossEncoder 의 예/아니오 로짓 점수)",
    extra_models_allowed=True,
    pip_packages=("sentence-transformers>=5.4",),
)
class CausalLMBackend(Reranker):
    """Qwen3-Reranker, mxbai-rerank-v2 같은 인과 LM 리랭커. 점수는 ``sigmoid(logit_예 - logit_아니오)`` (0–1) 입니다.

    Args:
        model: 허브 모델 id 또는 내 컴퓨터의 모델 폴더.
        instruction: 과제 설명. ``None`` 이면 모델의 기본값 (Qwen3 는 카드의 지시문, mxbai 는 넣지 않음).
            Qwen3 카드는 과제에 맞게 바꾸면 1–5% 나아진다고 합니다.
        prompt_format: ``"auto"`` (모델 id 로 고름), ``"qwen3"``, ``"mxbai"``. 폴더로 부를 때는 직접 고르세요.
        max_length: 프롬프트를 포함한 최대 토큰 수.
        batch_size: 한 번에 모델에 넣는 쌍의 수.
    """

    def __init__(
        self,
        model: str,
        instruction: str | None = None,
        prompt_format: str = "auto",
        max_length: int = 1024,
        batch_size: int = 8,
    ) -> None:
        self.prompt = prompt_format_for(model, prompt_format, instruction)  # 옵션을 지금 검사합니다
        self.model, self.instruction = model, instruction
        self.max_length = _check_positive("max_length", max_length)
        self.batch_size = _check_positive("batch_size", batch_size)
        self.device = runtime().device
        source, found = _resolve_hub_model(model)
        if found:
            self._encoder = _load_causal_encoder(source, self.prompt, self.device, self.max_length)
            self._standin = None
        else:
            # 같은 해석 순서로 찾지 못했으니 cross-encoder 백엔드가 오프라인 모델로 대신하고 배너를 냅니다.
            self._standin = CrossEncoderBackend(model, max_length=min(self.max_length, 512), batch_size=batch_size)
            self.is_standin, self.runs = True, self._standin.runs

    def _score(self, query: str, texts: list[str]) -> list[float]:
        if self._standin is not None:
            return self._standin._score(query, texts)
        # CrossEncoder 는 점수가 하나인 모델에 시그모이드를 씌웁니다: sigmoid(예 - 아니오), Qwen3 카드의 p(yes).
        scores = self._encoder.predict([(query, text) for text in texts], batch_size=self.batch_size)
        return [float(score) for score in scores]
