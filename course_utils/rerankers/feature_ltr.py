"""백엔드 ``feature-ltr``: 어휘 특징 7개를 로지스틱 회귀로 조합하는 고전적 학습 순위(Learning to Rank).

강의 데이터의 train 질의로 몇 초 만에 학습하며, 오프라인에서도 그대로 진짜 리랭커입니다.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import pickle
import tempfile
from collections import Counter
from pathlib import Path

from ..env import runtime
from .base import Reranker, register_backend


def _term_idf(tokenized_corpus: list[list[str]]) -> tuple[dict[str, float], float]:
    """BM25 식 IDF 와, 말뭉치에 없던 단어에 줄 IDF (가장 드문 단어의 값)."""
    size = len(tokenized_corpus)
    document_frequency = Counter(term for tokens in tokenized_corpus for term in set(tokens))
    idf = {term: math.log(1 + (size - freq + 0.5) / (freq + 0.5)) for term, freq in document_frequency.items()}
    return idf, math.log(1 + (size + 0.5) / 0.5)


class LexicalFeatures:
    """질의–문서 쌍의 어휘 특징 7가지. IDF 와 평균 길이는 강의 말뭉치에서 구합니다."""

    names = (
        "BM25",
        "질의 단어 포함률(IDF 가중)",
        "제목의 질의 단어 포함률",
        "글자 n-gram 코사인",
        "질의 단어 연속 일치(bigram) 비율",
        "문서 길이(log)",
        "질의 단어 수(log)",
    )

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from ..data import document_text, load_course_dataset
        from ..retrieval import kiwi_tokenize

        self._tokenize = kiwi_tokenize
        corpus, _, _ = load_course_dataset("test")
        texts = [document_text(entry) for entry in corpus.values()]
        # 글자 2–4-gram TF-IDF: 조사·어미가 붙어도 어간의 글자 조각은 겹치므로 형태소 분석을 보완합니다.
        self._char_ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(texts)
        tokenized = [kiwi_tokenize(text) for text in texts]
        self._idf, self._unseen_idf = _term_idf(tokenized)
        self._average_length = sum(map(len, tokenized)) / len(tokenized)

    def _weight(self, term: str) -> float:
        return self._idf.get(term, self._unseen_idf)

    def _bm25(self, query_terms: list[str], doc_terms: list[str], k1: float = 1.2, b: float = 0.75) -> float:
        counts = Counter(doc_terms)
        norm = k1 * (1 - b + b * len(doc_terms) / self._average_length)
        return sum(self._weight(t) * counts[t] * (k1 + 1) / (counts[t] + norm) for t in query_terms if counts[t])

    def _coverage(self, query_terms: list[str], doc_terms: list[str]) -> float:
        present = set(doc_terms)
        total = sum(self._weight(term) for term in set(query_terms))
        return sum(self._weight(term) for term in set(query_terms) if term in present) / total if total else 0.0

    def transform(self, query: str, texts: list[str]) -> list[list[float]]:
        query_terms = self._tokenize(query)
        char_cosines = (self._char_ngrams.transform(texts) @ self._char_ngrams.transform([query]).T).toarray()[:, 0]
        query_bigrams = set(itertools.pairwise(query_terms))
        rows = []
        for text, char_cosine in zip(texts, char_cosines, strict=True):
            doc_terms = self._tokenize(text)
            title_terms = self._tokenize(text.split("\n", 1)[0]) if "\n" in text else []
            doc_bigrams = set(itertools.pairwise(doc_terms))
            rows.append(
                [
                    self._bm25(query_terms, doc_terms),
                    self._coverage(query_terms, doc_terms),
                    self._coverage(query_terms, title_terms),
                    float(char_cosine),
                    len(query_bigrams & doc_bigrams) / len(query_bigrams) if query_bigrams else 0.0,
                    math.log1p(len(doc_terms)),
                    math.log1p(len(query_terms)),
                ]
            )
        return rows


def _fit_ltr_model(candidates_per_query: int):
    """강의 데이터의 **train** 질의로만 로지스틱 회귀를 학습합니다 (결정적, 2코어 CPU 에서 5초 안팎)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..data import document_text, load_course_dataset, to_documents
    from ..retrieval import build_retriever, search

    corpus, queries, qrels = load_course_dataset("train")
    features = LexicalFeatures()
    retriever = build_retriever(to_documents(corpus), kind="bm25", k=candidates_per_query)
    rows: list[list[float]] = []
    labels: list[int] = []
    for query_id, query in queries.items():
        # 1단계 후보(어려운 오답이 섞인 목록)에 판정된 문서를 더해 학습 쌍을 만듭니다.
        candidate_ids = [doc.metadata["id"] for doc in search(retriever, query)]
        candidate_ids += [doc_id for doc_id in qrels[query_id] if doc_id not in candidate_ids]
        rows += features.transform(query, [document_text(corpus[doc_id]) for doc_id in candidate_ids])
        labels += [int(qrels[query_id].get(doc_id, 0) > 0) for doc_id in candidate_ids]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000))
    model.fit(rows, labels)
    return features, model


def _ltr_cache_path(candidates_per_query: int) -> Path:
    """학습한 모델을 둘 캐시 파일. 이름에 데이터 파일과 학습에 쓰는 라이브러리 판을 넣어, 하나라도 바뀌면 다시 학습합니다."""
    from importlib.metadata import version

    from ..data import COURSE_DATASET_DIR

    digest = hashlib.sha256(f"k={candidates_per_query}".encode())
    for name in ("scikit-learn", "kiwipiepy"):
        digest.update(f"{name}=={version(name)}".encode())
    for path in sorted(COURSE_DATASET_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(COURSE_DATASET_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return runtime().cache_dir / "feature-ltr" / f"course-lexical-logreg-{digest.hexdigest()[:16]}.pkl"


@functools.cache
def _trained_ltr_model(candidates_per_query: int = 20):
    """학습한 ``(특징, 분류기)``: 강의 캐시에 있으면 읽고, 없거나 읽을 수 없으면 학습해 캐시에 씁니다.

    학습은 결정적이라 캐시는 시간만 아낍니다 (불러오기 → 첫 점수가 몇 초 짧아짐). 임시 파일에 쓴 뒤 이름을
    바꾸므로, 중간에 멈춰도 반쯤 쓴 파일이 남지 않습니다.
    """
    path = _ltr_cache_path(candidates_per_query)
    try:
        with path.open("rb") as file:
            return pickle.load(file)  # 이 강의가 자기 캐시 폴더에 쓴 파일만 읽습니다
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError):
        pass  # 없거나 다른 판의 파일: 다시 학습합니다
    trained = _fit_ltr_model(candidates_per_query)
    scratch = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".writing-", suffix=".pkl", delete=False) as file:
            scratch = Path(file.name)
            pickle.dump(trained, file)
        os.replace(scratch, path)
    except OSError:  # 캐시 폴더에 쓸 수 없으면 이번 프로세스에서만 씁니다
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    return trained


@register_backend(
    "feature-ltr",
    default_model="course-lexical-logreg",
    models=("course-lexical-logreg",),
    summary="어휘 특징 7개 + 로지스틱 회귀 (강의 train 질의로 학습, 오프라인, 수 초)",
    pip_packages=("scikit-learn", "kiwipiepy"),
)
class FeatureLTRReranker(Reranker):
    """고전적인 학습 순위(Learning to Rank) 리랭커: 어휘 특징을 로지스틱 회귀로 조합합니다.

    대체 모델이 아니라 그 자체로 진짜 리랭커입니다. 신경망이 아니어서 말을 바꾼 질의에는 약하지만,
    1단계 검색이 한 가지 신호(BM25 또는 벡터)만 보는 것과 달리 여러 신호를 함께 봅니다.
    점수는 '관련 있음' 확률(0–1)입니다.
    """

    def __init__(self, model: str = "course-lexical-logreg") -> None:
        self.model = model
        self.device = "cpu"
        runtime()
        self._features, self._classifier = _trained_ltr_model()

    @property
    def feature_weights(self) -> dict[str, float]:
        """표준화된 특징별 학습된 가중치 (해석용)."""
        weights = self._classifier[-1].coef_[0]
        return dict(zip(self._features.names, (float(weight) for weight in weights), strict=True))

    def _score(self, query: str, texts: list[str]) -> list[float]:
        return self._classifier.predict_proba(self._features.transform(query, texts))[:, 1].tolist()
