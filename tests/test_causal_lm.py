"""``causal-lm`` 백엔드: 테스트가 만든 작은 Qwen3 인과 LM 으로 sentence-transformers 의 실제 yes/no 로짓 경로를 봅니다.

이 모델의 가중치는 무작위라 점수에는 뜻이 없습니다. 결과로 보여 주지 않고, 계산 경로와 프롬프트만 확인합니다.
"""

from __future__ import annotations

import pytest
import torch

from course_utils.rerankers import load_reranker
from course_utils.rerankers.causal_lm import (
    DEFAULT_INSTRUCTION,
    mxbai_prompt_format,
    qwen3_prompt_format,
)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
WORDS = ["[UNK]", "yes", "no", "1", "0", "system", "user", "assistant", "<Instruct>:", "<Query>:", "<Document>:"]
WORDS += ["query:", "document:", "instruction:", "Relevance:", "the", "dog"]


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    """Qwen3ForCausalLM 모양의 작은 모델과 "yes"·"no" 가 든 단어 토크나이저."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-qwen3")
    vocab = {token: index for index, token in enumerate(SPECIAL + WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.add_special_tokens(SPECIAL)
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="<|endoftext|>", eos_token="<|im_end|>"
    ).save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        tie_word_embeddings=True,
    )
    Qwen3ForCausalLM(config).save_pretrained(folder)
    return folder


def card_probability(encoder, prompt: str, true_token: str = "yes", false_token: str = "no") -> float:
    """모델 카드의 계산을 손으로: 마지막 위치의 softmax([아니오, 예]) 의 예 몫 (= sigmoid(예 - 아니오))."""
    tokenizer = encoder.tokenizer
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        logits = encoder[0].model(**inputs).logits[0, -1]
    yes, no = tokenizer.convert_tokens_to_ids(true_token), tokenizer.convert_tokens_to_ids(false_token)
    return torch.softmax(logits[[no, yes]], dim=0)[1].item()


def test_causal_lm_runs_the_yes_no_logit_path_of_cross_encoder(tiny_qwen3):
    from sentence_transformers.cross_encoder.modules import LogitScore

    reranker = load_reranker("causal-lm", str(tiny_qwen3))
    assert not reranker.is_standin
    head = reranker._encoder[1]
    assert isinstance(head, LogitScore)
    tokenizer = reranker._encoder.tokenizer
    assert (head.true_token_id, head.false_token_id) == (
        tokenizer.convert_tokens_to_ids("yes"),
        tokenizer.convert_tokens_to_ids("no"),
    )


@pytest.mark.parametrize("instruction", [DEFAULT_INSTRUCTION, 'the "dog" \\ yes\nno'])
def test_scores_are_the_model_cards_p_yes_on_the_model_cards_prompt(tiny_qwen3, instruction):
    reranker = load_reranker("causal-lm", str(tiny_qwen3), instruction=instruction)
    query, documents = "the dog", ["no no", "the yes dog", "dog"]
    scores = reranker._score(query, documents)
    expected = [
        card_probability(reranker._encoder, qwen3_prompt_format(instruction).render(query, document))
        for document in documents
    ]
    assert scores == pytest.approx(expected, abs=1e-5)


def test_rank_sorts_by_p_yes(tiny_qwen3):
    reranker = load_reranker("causal-lm", str(tiny_qwen3))
    ranked = reranker.rank("the dog", ["no", "yes", "dog", "the"])
    assert [result.score for result in ranked] == sorted((result.score for result in ranked), reverse=True)
    assert all(0 < result.score < 1 for result in ranked)


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"instruction": " "}, "instruction"),
        ({"prompt_format": "llama"}, "prompt_format"),
        ({"max_length": 0}, "max_length"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_name_the_option(tiny_qwen3, options, word):
    with pytest.raises(ValueError, match=word):
        load_reranker("causal-lm", str(tiny_qwen3), **options)


def test_template_escapes_quotes_and_backslashes():
    template = qwen3_prompt_format('say "yes" \\ or no').chat_template()
    assert '\\"yes\\"' in template and "\\\\" in template


@pytest.mark.parametrize("instruction", [None, "Find Korean passages"])
def test_mxbai_format_scores_one_minus_zero_logits_on_its_own_prompt(tiny_qwen3, instruction):
    reranker = load_reranker("causal-lm", str(tiny_qwen3), prompt_format="mxbai", instruction=instruction)
    head = reranker._encoder[-1]
    tokenizer = reranker._encoder.tokenizer
    assert (head.true_token_id, head.false_token_id) == tuple(tokenizer.convert_tokens_to_ids(["1", "0"]))
    query, documents = "the dog", ["no 0", "the 1 dog", "dog"]
    prompt = mxbai_prompt_format(instruction)
    expected = [card_probability(reranker._encoder, prompt.render(query, document), "1", "0") for document in documents]
    assert reranker._score(query, documents) == pytest.approx(expected, abs=1e-5)
    assert ("instruction: Find Korean passages" in prompt.render(query, "x")) is (instruction is not None)


def test_the_model_id_picks_the_prompt_format():
    from course_utils.rerankers.causal_lm import prompt_format_for

    assert prompt_format_for("mixedbread-ai/mxbai-rerank-large-v2") == mxbai_prompt_format()
    assert prompt_format_for("Qwen/Qwen3-Reranker-4B") == qwen3_prompt_format()
    assert prompt_format_for("my-folder", "mxbai", "task") == mxbai_prompt_format("task")


def test_without_weights_the_offline_model_stands_in_and_says_so():
    reranker = load_reranker("causal-lm")
    assert reranker.is_standin and "multilingual-e5-small" in reranker.describe()
    assert "Qwen/Qwen3-Reranker-0.6B" in reranker.describe()
    documents = ["고양이 사료는 나이에 맞게 고릅니다.", "강아지 예방접종은 생후 6~8주에 시작합니다."]
    assert reranker.rank("강아지 예방접종은 언제 시작하나요?", documents)[0].index == 1
