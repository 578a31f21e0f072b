"""오프라인 대체 모델(stand-in): 네트워크·키·모델 허브가 없을 때 같은 라이브러리 경로로 강의를 돌립니다.

대체 모델은 처음 쓰일 때 한 번, 무엇을 대신하는지 한국어 배너로 알립니다. 대체 모델이 낸 점수와
순위는 원래 모델의 결과가 아닙니다.
"""

from __future__ import annotations

import functools
import html

import numpy as np
from langchain_core.embeddings import Embeddings

_announced: set[str] = set()


def announce_standin(replaces: str, standin: str, reason: str) -> None:
    """대체 모델 사용을 알리는 배너를 (같은 대상에 대해) 한 번만 표시합니다.

    노트북에서는 눈에 띄는 HTML 상자로, 그 밖에서는 텍스트로 보여 줍니다.
    """
    if replaces in _announced:
        return
    _announced.add(replaces)
    text = (
        f"[대체 모델 사용] {replaces} 대신 {standin} 을(를) 씁니다. 이유: {reason}. "
        f"이 대체 모델의 점수와 순위는 {replaces} 의 결과가 아닙니다."
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
