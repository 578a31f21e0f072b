"""``causal-lm`` 백엔드: 테스트가 만든 작은 Qwen3 인과 LM 으로 sentence-transformers 의 실제 yes/no 로짓 경로를 봅니다.

이 모델의 가중치는 무작위라 점수에는 뜻이 없습니다. 결과로 보여 주지 않고, 계산 경로와 프롬프트만 확인합니다.
"""

from __future__ import annotations

import pytest
import torch

from course_utils.rerankers import load_reranker
from course_utils.rerankers.causal_lm import (
    DEFAULT_INSTRUCTION,
    qwen3_reranker_chat_template,
    qwen3_reranker_prompt,
)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
WORDS = ["[UNK]", "yes", "no", "system", "user", "assistant", "<Instruct>:", "<Query>:", "<Document>:", "the", "dog"]


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


def card_probability(encoder, prompt: str) -> float:
    """모델 카드의 계산을 손으로: 마지막 위치의 softmax([no, yes]) 의 yes 몫."""
    tokenizer = encoder.tokenizer
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        logits = encoder[0].model(**inputs).logits[0, -1]
    yes, no = tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no")
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
        card_probability(reranker._encoder, qwen3_reranker_prompt(query, document, instruction))
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
    [({"instruction": " "}, "instruction"), ({"max_length": 0}, "max_length"), ({"batch_size": 0}, "batch_size")],
)
def test_bad_options_name_the_option(tiny_qwen3, options, word):
    with pytest.raises(ValueError, match=word):
        load_reranker("causal-lm", str(tiny_qwen3), **options)


def test_template_escapes_quotes_and_backslashes():
    template = qwen3_reranker_chat_template('say "yes" \\ or no')
    assert '\\"yes\\"' in template and "\\\\" in template


def test_without_weights_the_offline_model_stands_in_and_says_so():
    reranker = load_reranker("causal-lm")
    assert reranker.is_standin and "multilingual-e5-small" in reranker.describe()
    assert "Qwen/Qwen3-Reranker-0.6B" in reranker.describe()
    documents = ["고양이 사료는 나이에 맞게 고릅니다.", "강아지 예방접종은 생후 6~8주에 시작합니다."]
    assert reranker.rank("강아지 예방접종은 언제 시작하나요?", documents)[0].index == 1
