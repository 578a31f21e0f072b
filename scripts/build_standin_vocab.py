"""대체 크로스 인코더의 WordPiece 어휘를 한 번 학습해 course_utils/resources/standin_vocab.txt 로 저장합니다.

tokenizers 의 WordPiece 학습은 실행마다 결과가 조금씩 달라서(결정적이지 않음), 어휘는 한 번 만들어
저장소에 넣고 모델은 그 고정 어휘로 만듭니다. 강의 말뭉치와 **train** 질의만 씁니다 (test 질의는 쓰지 않음).
"""

from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from course_utils.data import document_text, load_course_dataset

OUTPUT = Path(__file__).resolve().parents[1] / "course_utils" / "resources" / "standin_vocab.txt"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main() -> None:
    corpus, train_queries, _ = load_course_dataset("train")
    texts = [document_text(entry) for entry in corpus.values()] + list(train_queries.values())
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # 소문자화·악센트 제거를 끄지 않으면 NFD 정규화가 한글을 자모로 쪼개 모든 토큰이 [UNK] 가 됩니다.
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=6000, min_frequency=2, special_tokens=SPECIAL_TOKENS)
    tokenizer.train_from_iterator(texts, trainer)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    OUTPUT.write_text("".join(f"{token}\n" for token, _ in vocab), encoding="utf-8")
    print(f"{OUTPUT}: {len(vocab)} tokens")


if __name__ == "__main__":
    main()
