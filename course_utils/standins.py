"""오프라인 대체 모델(stand-in): 네트워크·키·모델 허브가 없을 때 같은 라이브러리 경로로 강의를 돌립니다.

대체 모델은 처음 쓰일 때 한 번, 무엇을 대신하는지 한국어 배너로 알립니다. 대체 모델이 낸 점수와
순위는 원래 모델의 결과가 아닙니다.
"""

from __future__ import annotations

import functools
import html
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .env import quiet_model_loading

_announced: set[str] = set()


def announce_standin(replaces: str, standin: str, reason: str) -> None:
    """대체 모델 사용을 알리는 배너를 (같은 대상에 대해) 한 번만 표시합니다.

    노트북에서는 눈에 띄는 HTML 상자로, 그 밖에서는 텍스트로 보여 줍니다.
    """
    if replaces in _announced:
        return
    _announced.add(replaces)
    text = (
        f"[대체 모델 사용] {replaces} 대신 {standin}을(를) 씁니다. 이유: {reason}. "
        f"이 대체 모델의 점수와 순위는 {replaces}의 결과가 아닙니다."
    )
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(
        HTML(
            '<div style="border-left:6px solid #d97706;background:#fff7ed;color:#7c2d12;'
            'padding:8px 12px;margin:6px 0;font-weight:600">'
            f"⚠️ {html.escape(text)}</div>"
        )
    )
    print(text)


@functools.cache
def _course_idf_transformer():
    """강의 말뭉치로 IDF 를 한 번 학습합니다 (배포된 데이터라 결과가 늘 같습니다)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    from .data import document_text, load_course_dataset

    corpus, _, _ = load_course_dataset("test")
    counts = CharNgramEmbeddings.hashing_vectorizer().transform([document_text(entry) for entry in corpus.values()])
    return TfidfTransformer(sublinear_tf=True).fit(counts)


class CharNgramEmbeddings(Embeddings):
    """내려받을 것이 없는 오프라인 임베딩: 글자 2–4-gram 해싱 + 강의 말뭉치 IDF + L2 정규화.

    한국어는 조사·어미가 붙어도 어간의 글자 조각이 겹치므로 글자 n-gram 이 형태소 분석 없이도
    어느 정도 통합니다. 다만 의미를 배운 모델이 아니라 **어휘가 겹치는 정도** 만 봅니다. 말을 바꾼
    질의(패러프레이즈)에는 약하며, 실제 임베딩 모델의 결과로 소개하면 안 됩니다.

    Example:
        >>> embeddings = CharNgramEmbeddings()
        >>> vectors = embeddings.embed_documents(["강아지 산책", "고양이 사료"])
        >>> len(vectors), len(vectors[0]) == embeddings.dimension
        (2, True)
    """

    dimension = 2**14
    ngram_range = (2, 4)

    @classmethod
    def hashing_vectorizer(cls):
        from sklearn.feature_extraction.text import HashingVectorizer

        # alternate_sign=False: 해시 충돌이 서로 상쇄되지 않게 합니다. norm 은 TF-IDF 뒤에 겁니다.
        return HashingVectorizer(
            analyzer="char_wb",
            ngram_range=cls.ngram_range,
            n_features=cls.dimension,
            alternate_sign=False,
            norm=None,
        )

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError("texts 는 문자열의 목록이어야 합니다.")
        if not texts:
            return []
        weighted = _course_idf_transformer().transform(self.hashing_vectorizer().transform(texts))
        dense = weighted.toarray().astype(np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        # 겹치는 글자 조각이 하나도 없는 글(빈 문자열 등)은 0 벡터로 둡니다.
        dense = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
        return dense.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts))

    def embed_query(self, text: str) -> list[float]:
        if not isinstance(text, str):
            raise TypeError(f"text 는 문자열이어야 합니다 (받은 값: {type(text).__name__}).")
        return self._embed([text])[0]


# --- 작은 한국어 크로스 인코더 (대체 모델) ----------------------------------------------------------

#: 만드는 방법(어휘·구조·학습 단계)이 바뀌면 올려서 캐시를 새로 만들게 합니다.
STANDIN_CROSS_ENCODER_VERSION = "ko-tiny-cross-encoder-v1"
STANDIN_VOCAB = Path(__file__).resolve().parent / "resources" / "standin_vocab.txt"
STANDIN_MAX_LENGTH = 256
_ARCHITECTURE = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": STANDIN_MAX_LENGTH,
    # 작은 모델을 짧게 학습하므로 드롭아웃을 끕니다 (켜면 모든 쌍에 같은 점수를 내는 상태에 머뭅니다).
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}
_TRAIN_STEPS = 600
_SYNTHETIC_QUERIES_PER_PASSAGE = 6
_BATCH_SIZE = 32
_TRAIN_MAX_LENGTH = 128
_LEARNING_RATE = 2e-3
_WARMUP_STEPS = 50
_SEED = 0
#: 같은 프로세스의 여러 스레드(예: 로컬 API 서버의 첫 요청들)가 동시에 학습을 시작하지 않게 합니다.
_BUILD_LOCK = threading.Lock()


def standin_tokenizer():
    """저장소에 들어 있는 고정 어휘로 BERT 토크나이저를 만듭니다 (한글이 자모로 쪼개지지 않게 소문자화·악센트 제거를 끕니다)."""
    from .env import runtime

    runtime()  # transformers 를 부르기 전에 오프라인 설정을 마칩니다.
    from transformers import BertTokenizerFast

    return BertTokenizerFast(
        vocab=str(STANDIN_VOCAB), do_lower_case=False, strip_accents=False, model_max_length=STANDIN_MAX_LENGTH
    )


def _training_pairs() -> list[tuple[str, str, float]]:
    """학습 쌍: train 질의의 판정, 그리고 말뭉치에서 만든 자기 지도 쌍. test 질의는 쓰지 않습니다.

    자기 지도 쌍은 (제목 → 본문)과 (본문에서 뽑은 내용어 몇 개 → 본문)이며, 오답은 같은 질의로 BM25 가
    찾은 다른 문단(단어는 겹치지만 답이 아닌 것)입니다. 단어가 겹치는 것을 알아보는 법을 많은 쌍으로 배웁니다.
    """
    import random

    from .data import document_text, load_course_dataset, to_documents
    from .retrieval import build_retriever, kiwi_tokenize, search

    corpus, queries, qrels = load_course_dataset("train")
    retriever = build_retriever(to_documents(corpus), kind="bm25", k=6)
    rng = random.Random(_SEED)
    pairs: list[tuple[str, str, float]] = []

    def add_with_negatives(query: str, positive_id: str) -> None:
        pairs.append((query, document_text(corpus[positive_id]), 1.0))
        for doc in search(retriever, query):
            if doc.metadata["id"] != positive_id:
                pairs.append((query, doc.page_content, 0.0))

    for query_id, query in queries.items():
        candidates = {doc.metadata["id"]: doc.page_content for doc in search(retriever, query)}
        candidates.update({doc_id: document_text(corpus[doc_id]) for doc_id in qrels[query_id]})
        pairs += [(query, text, qrels[query_id].get(doc_id, 0) / 2) for doc_id, text in candidates.items()]
    for doc_id, entry in corpus.items():
        add_with_negatives(entry["title"], doc_id)
        words = sorted(set(kiwi_tokenize(entry["text"])))
        for _ in range(_SYNTHETIC_QUERIES_PER_PASSAGE):
            add_with_negatives(" ".join(rng.sample(words, k=min(len(words), rng.randint(2, 4)))), doc_id)
    return pairs


def _train_standin(folder: Path) -> None:
    import random

    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = standin_tokenizer()
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, num_labels=1, pad_token_id=tokenizer.pad_token_id, **_ARCHITECTURE
    )
    pairs = _training_pairs()
    rng = random.Random(_SEED)
    torch.manual_seed(_SEED)
    model = BertForSequenceClassification(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / _WARMUP_STEPS) * max(0.0, 1 - step / _TRAIN_STEPS)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    order: list[int] = []
    for _ in range(_TRAIN_STEPS):
        if len(order) < _BATCH_SIZE:
            order += rng.sample(range(len(pairs)), len(pairs))
        batch = [pairs[order.pop()] for _ in range(_BATCH_SIZE)]
        encoded = tokenizer(
            [query for query, _, _ in batch],
            [text for _, text, _ in batch],
            truncation="only_second",
            max_length=_TRAIN_MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**encoded).logits.squeeze(-1)
        loss = loss_fn(logits, torch.tensor([label for _, _, label in batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    hf_folder = folder.parent / "hf"
    model.save_pretrained(hf_folder)
    tokenizer.save_pretrained(hf_folder)
    # sentence-transformers 폴더로 다시 저장: CrossEncoder(경로) 로 그대로 불러올 수 있게 합니다.
    with quiet_model_loading():
        CrossEncoder(str(hf_folder), device="cpu", max_length=STANDIN_MAX_LENGTH).save(str(folder))


def build_standin_cross_encoder(cache_dir: Path | None = None) -> Path:
    """강의용 작은 한국어 크로스 인코더를 만들고(이미 있으면 그대로) 폴더 경로를 돌려줍니다.

    고정 어휘, 고정 시드, 고정 학습 단계로 만들어 같은 머신에서는 늘 같은 점수를 냅니다. 2코어 CPU에서
    1분 안팎이 걸리며 ``<캐시>/standins/`` 에 저장됩니다. 이 모델은 라이브러리 경로(sentence-transformers,
    FlashRank ONNX, 리랭크 API)를 오프라인으로 돌리기 위한 것으로, 실제 리랭커의 품질을 보여 주지 않습니다.
    """
    import os
    import tempfile

    from .env import runtime

    root = (cache_dir or runtime().cache_dir) / "standins"
    folder = root / STANDIN_CROSS_ENCODER_VERSION
    with _BUILD_LOCK:
        if (folder / "config.json").is_file():
            return folder
        root.mkdir(parents=True, exist_ok=True)
        print("강의용 대체 크로스 인코더를 만드는 중입니다 (처음 한 번, 2코어 CPU에서 1분 안팎)...", flush=True)
        with tempfile.TemporaryDirectory(dir=root) as scratch:
            _train_standin(Path(scratch) / "model")
            # 다 만든 뒤 한 번에 이름을 바꿔, 중간에 멈춰도 반쯤 만든 폴더가 남지 않게 합니다.
            # 다른 프로세스가 먼저 끝냈다면(폴더가 이미 있음) 그 결과를 씁니다: 같은 방법으로 만든 같은 모델입니다.
            try:
                os.rename(Path(scratch) / "model", folder)
            except OSError:
                if not (folder / "config.json").is_file():
                    raise
    return folder


# --- 같은 모델을 FlashRank 폴더 형식(ONNX)으로 -------------------------------------------------------

#: 대체 크로스 인코더의 판과 같은 이름이라, 그 모델이 바뀌면 ONNX 도 새 폴더에 다시 만들어집니다.
STANDIN_FLASHRANK_MODEL = STANDIN_CROSS_ENCODER_VERSION
STANDIN_FLASHRANK_FILE = f"{STANDIN_CROSS_ENCODER_VERSION}.onnx"


def register_flashrank_model(name: str, onnx_file: str) -> None:
    """FlashRank 가 모르는 모델 이름을 ONNX 파일 이름과 함께 등록합니다 (``Config.model_file_map``)."""
    # Ranker 는 `from flashrank.Config import model_file_map` 로 같은 사전 객체를 보므로 제자리에서 고칩니다.
    from flashrank import Config

    Config.model_file_map[name] = onnx_file


def build_standin_flashrank(flashrank_dir: Path) -> str:
    """대체 크로스 인코더를 ONNX 로 내보내 ``flashrank_dir/<이름>/`` 에 FlashRank 형식으로 둡니다.

    FlashRank 는 그 폴더가 있으면 내려받지 않습니다. 필요한 파일: ONNX 그래프, ``config.json``
    (``pad_token_id``), ``tokenizer.json``, ``tokenizer_config.json`` (``model_max_length``, ``pad_token``),
    ``special_tokens_map.json``.

    Returns:
        ``flashrank.Ranker(model_name=...)`` 에 넘길 모델 이름.
    """
    import json
    import shutil
    import tempfile
    import warnings

    register_flashrank_model(STANDIN_FLASHRANK_MODEL, STANDIN_FLASHRANK_FILE)
    folder = flashrank_dir / STANDIN_FLASHRANK_MODEL
    if (folder / STANDIN_FLASHRANK_FILE).is_file():
        return STANDIN_FLASHRANK_MODEL
    source = build_standin_cross_encoder()
    import torch
    from transformers import AutoModelForSequenceClassification

    with quiet_model_loading():
        model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    tokenizer = standin_tokenizer()
    example = tokenizer(["질의"], ["문서 본문"], return_tensors="pt")
    flashrank_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=flashrank_dir) as scratch:
        target = Path(scratch) / STANDIN_FLASHRANK_MODEL
        target.mkdir()
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with warnings.catch_warnings():
            # 추적(tracing) 경고는 이 고정 구조의 그래프에는 해당하지 않습니다 (점수 일치는 테스트가 확인).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(example[name] for name in names),
                str(target / STANDIN_FLASHRANK_FILE),
                input_names=names,
                output_names=["logits"],
                dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names}, "logits": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
        special = {
            "unk_token": "[UNK]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "cls_token": "[CLS]",
            "mask_token": "[MASK]",
        }
        files = {
            "config.json": {"pad_token_id": tokenizer.pad_token_id, "model_type": "bert", "num_labels": 1},
            "tokenizer_config.json": {"model_max_length": STANDIN_MAX_LENGTH, "pad_token": "[PAD]"},
            "special_tokens_map.json": special,
        }
        for name, content in files.items():
            (target / name).write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
        shutil.move(str(target), folder)
    return STANDIN_FLASHRANK_MODEL
