"""모든 리랭커를 같은 모양으로 쓰는 인터페이스.

``load_reranker(backend, model=None, **options)`` 로 만들고, ``rank(query, documents, top_n)`` 으로
점수 순 결과를 받거나, ``as_compressor(top_n)`` 으로 LangChain 파이프라인에 끼웁니다.
백엔드를 추가할 때는 이 파일에 ``@register_backend`` 가 붙은 클래스 하나만 더하면 됩니다.

Example:
    >>> reranker = load_reranker("feature-ltr")
    >>> documents = ["고양이 사료 고르기", "강아지 예방접종은 생후 6~8주에 시작합니다."]
    >>> results = reranker.rank("강아지 예방접종 시기", documents)
    >>> results[0].index
    1
"""

from __future__ import annotations

import functools
import html
import itertools
import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

from .env import runtime

DocumentLike = str | Document


@dataclass(frozen=True)
class RankResult:
    """리랭킹 결과 한 줄.

    Attributes:
        index: 입력 ``documents`` 에서의 위치 (0부터).
        score: 리랭커 점수 (클수록 관련). 백엔드마다 척도가 달라 서로 비교할 수 없습니다.
        document: 입력 문서 (문자열로 넣었다면 그 문자열을 담은 ``Document``).
    """

    index: int
    score: float
    document: Document

    @property
    def text(self) -> str:
        return self.document.page_content


@dataclass
class RankedResults(Sequence[RankResult]):
    """점수 내림차순으로 정렬된 리랭킹 결과. 목록처럼 쓰고, ``top_k()`` 로 앞부분만 받습니다."""

    query: str
    results: list[RankResult]
    reranker: str = ""

    def __getitem__(self, position):  # type: ignore[override]
        return self.results[position]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[RankResult]:
        return iter(self.results)

    def top_k(self, k: int) -> list[RankResult]:
        """점수 상위 ``k`` 개 (``k`` 가 결과 수보다 크면 전부)."""
        return self.results[: _check_positive("k", k)]

    def documents(self) -> list[Document]:
        """순위대로 ``Document`` 만 돌려줍니다."""
        return [result.document for result in self.results]

    def to_table(self, width: int = 60) -> str:
        """순위·점수·원래 위치·본문 앞부분을 담은 텍스트 표."""
        lines = [
            f"질의: {self.query}" + (f"  ({self.reranker})" if self.reranker else ""),
            "순위  점수      원래위치  문서",
        ]
        for rank, result in enumerate(self.results, start=1):
            snippet = " ".join(result.text.split())
            snippet = snippet if len(snippet) <= width else snippet[: width - 1] + "…"
            lines.append(f"{rank:>4}  {result.score:>8.4f}  {result.index:>8}  {snippet}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{rank}</td><td>{result.score:.4f}</td><td>{result.index}</td>"
            f"<td style='text-align:left'>{html.escape(result.text[:120])}</td></tr>"
            for rank, result in enumerate(self.results, start=1)
        )
        caption = html.escape(f"질의: {self.query}" + (f" ({self.reranker})" if self.reranker else ""))
        return (
            f"<table><caption style='text-align:left'>{caption}</caption>"
            "<tr><th>순위</th><th>점수</th><th>원래 위치</th><th>문서</th></tr>"
            f"{rows}</table>"
        )


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} 는 1 이상의 정수여야 합니다 (받은 값: {value!r}).")
    return value


def _as_documents(documents: object) -> list[Document]:
    if documents is None or isinstance(documents, (str, Document)) or not isinstance(documents, Sequence):
        raise TypeError(
            f"documents 는 문자열 또는 LangChain Document 의 목록이어야 합니다 (받은 값: {type(documents).__name__})."
        )
    converted = []
    for position, item in enumerate(documents):
        if isinstance(item, Document):
            converted.append(item)
        elif isinstance(item, str):
            converted.append(Document(page_content=item))
        else:
            raise TypeError(f"documents[{position}] 가 문자열도 Document 도 아닙니다 (받은 값: {type(item).__name__}).")
    return converted


class Reranker(ABC):
    """리랭커 공통 인터페이스. 백엔드는 ``_score`` 하나만 구현하면 됩니다.

    Attributes:
        backend: 백엔드 이름 (예: ``"cross-encoder"``).
        model: 모델 이름.
        device: 점수를 계산하는 곳 (``"cpu"``, ``"cuda"``, ``"api"`` 등).
        is_standin: 오프라인 대체 모델이면 ``True`` (점수는 원래 모델의 결과가 아닙니다).
    """

    backend: str = ""
    model: str = ""
    device: str = "cpu"
    is_standin: bool = False

    @abstractmethod
    def _score(self, query: str, texts: list[str]) -> list[float]:
        """질의와 각 문서 본문의 관련도 점수 (입력 순서 그대로)."""

    def rank(self, query: str, documents: Sequence[DocumentLike], top_n: int | None = None) -> RankedResults:
        """문서들을 질의와의 관련도 순으로 다시 정렬합니다.

        Args:
            query: 질의 문자열 (비어 있으면 ``ValueError``).
            documents: 문자열 또는 ``Document`` 목록. 빈 목록이면 빈 결과를 돌려줍니다.
                같은 문서가 두 번 있으면 각각 따로 점수를 매깁니다.
            top_n: 앞에서 몇 개를 남길지. ``None`` 이면 전부, 문서 수보다 크면 전부.

        Returns:
            점수 내림차순 ``RankedResults`` (동점이면 원래 순서).
        """
        if not isinstance(query, str):
            raise TypeError(f"query 는 문자열이어야 합니다 (받은 값: {type(query).__name__}).")
        if not query.strip():
            raise ValueError("query 가 비어 있습니다. 검색할 질문을 넣으세요.")
        if top_n is not None:
            _check_positive("top_n", top_n)
        docs = _as_documents(documents)
        scores = self._score(query, [doc.page_content for doc in docs]) if docs else []
        order = sorted(range(len(docs)), key=lambda position: (-scores[position], position))
        results = [
            RankResult(index=position, score=float(scores[position]), document=docs[position]) for position in order
        ]
        return RankedResults(query=query, results=results[:top_n] if top_n else results, reranker=self.describe())

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        """``ContextualCompressionRetriever`` 에 넣을 LangChain 압축기(compressor).

        점수는 각 문서의 ``metadata["relevance_score"]`` 에 들어갑니다.
        """
        return RerankerCompressor(reranker=self, top_n=_check_positive("top_n", top_n))

    def describe(self) -> str:
        """백엔드·모델·장치와 대체 모델 여부를 한 줄로 알려 줍니다."""
        tag = " · 대체 모델(stand-in)" if self.is_standin else ""
        return f"{self.backend}: {self.model} · {self.device}{tag}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class RerankerCompressor(BaseDocumentCompressor):
    """아무 ``Reranker`` 나 LangChain 문서 압축기로 감쌉니다."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reranker: Reranker
    top_n: int = 3

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        ranked = self.reranker.rank(query, list(documents), top_n=self.top_n)
        return [
            Document(
                page_content=result.document.page_content,
                metadata={**result.document.metadata, "relevance_score": result.score},
                id=result.document.id,
            )
            for result in ranked
        ]


@dataclass(frozen=True)
class BackendSpec:
    """레지스트리에 올라간 백엔드 하나: 만드는 함수, 기본 모델, 알려진 모델들."""

    name: str
    factory: Callable[..., Reranker]
    default_model: str
    models: tuple[str, ...]
    summary: str
    extra_models_allowed: bool = field(default=False)


BACKENDS: dict[str, BackendSpec] = {}


def register_backend(
    name: str, *, default_model: str, models: Sequence[str], summary: str, extra_models_allowed: bool = False
) -> Callable[[type[Reranker]], type[Reranker]]:
    """백엔드 클래스를 레지스트리에 올리는 데코레이터. 클래스는 ``(model, **options)`` 로 만들어집니다."""

    def decorator(cls: type[Reranker]) -> type[Reranker]:
        BACKENDS[name] = BackendSpec(name, cls, default_model, tuple(models), summary, extra_models_allowed)
        cls.backend = name
        return cls

    return decorator


def load_reranker(backend: str, model: str | None = None, **options) -> Reranker:
    """이름으로 리랭커를 만듭니다.

    Args:
        backend: ``list_backends()`` 의 이름 중 하나.
        model: 모델 이름. ``None`` 이면 백엔드의 기본 모델.
        **options: 백엔드별 설정.

    Raises:
        ValueError: 모르는 백엔드나 모델 (쓸 수 있는 이름을 알려 줍니다).
    """
    if backend not in BACKENDS:
        raise ValueError(f"알 수 없는 backend '{backend}' 입니다. 쓸 수 있는 backend: {', '.join(BACKENDS)}")
    spec = BACKENDS[backend]
    model = spec.default_model if model is None else model
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model 은 비어 있지 않은 문자열이어야 합니다 (받은 값: {model!r}).")
    if model not in spec.models and not spec.extra_models_allowed:
        raise ValueError(
            f"backend '{backend}' 에 없는 model '{model}' 입니다. 쓸 수 있는 model: {', '.join(spec.models)}"
        )
    return spec.factory(model, **options)


def list_backends() -> dict[str, str]:
    """백엔드 이름 → 한 줄 설명."""
    return {name: spec.summary for name, spec in BACKENDS.items()}


# --- 백엔드: 어휘 특징 학습 순위(Learning to Rank) -------------------------------------------------


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
        from .data import document_text, load_course_dataset
        from .retrieval import kiwi_tokenize
        from .standins import CharNgramEmbeddings

        self._tokenize = kiwi_tokenize
        self._embeddings = CharNgramEmbeddings()
        corpus, _, _ = load_course_dataset("test")
        tokenized = [kiwi_tokenize(document_text(entry)) for entry in corpus.values()]
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
        query_vector = self._embeddings.embed_query(query)
        doc_vectors = self._embeddings.embed_documents(texts)
        query_bigrams = set(itertools.pairwise(query_terms))
        rows = []
        for text, doc_vector in zip(texts, doc_vectors, strict=True):
            doc_terms = self._tokenize(text)
            title_terms = self._tokenize(text.split("\n", 1)[0]) if "\n" in text else []
            doc_bigrams = set(itertools.pairwise(doc_terms))
            rows.append(
                [
                    self._bm25(query_terms, doc_terms),
                    self._coverage(query_terms, doc_terms),
                    self._coverage(query_terms, title_terms),
                    sum(q * d for q, d in zip(query_vector, doc_vector, strict=True)),
                    len(query_bigrams & doc_bigrams) / len(query_bigrams) if query_bigrams else 0.0,
                    math.log1p(len(doc_terms)),
                    math.log1p(len(query_terms)),
                ]
            )
        return rows


@functools.cache
def _trained_ltr_model(candidates_per_query: int = 20):
    """강의 데이터의 **train** 질의로만 로지스틱 회귀를 학습합니다 (결정적, 수 초)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .data import document_text, load_course_dataset, to_documents
    from .retrieval import build_retriever, search

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


@register_backend(
    "feature-ltr",
    default_model="course-lexical-logreg",
    models=("course-lexical-logreg",),
    summary="어휘 특징 7개 + 로지스틱 회귀 (강의 train 질의로 학습, 오프라인, 수 초)",
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


def rerank_run(
    reranker: Reranker,
    queries: Mapping[str, str],
    candidates: Mapping[str, Mapping[str, float]],
    corpus: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, float]]:
    """1단계 run 의 후보들을 리랭커로 다시 점수 매겨 새 run 을 만듭니다 (``evaluate`` 에 바로 넣을 수 있음).

    Args:
        reranker: ``load_reranker`` 로 만든 리랭커.
        queries: ``queries[query_id] = text``.
        candidates: 1단계 run (``run[query_id][doc_id] = score``). 후보 순서는 점수 순입니다.
        corpus: ``corpus[doc_id] = {"title", "text"}``.
    """
    from .data import document_text
    from .metrics import rank_documents

    reranked: dict[str, dict[str, float]] = {}
    for query_id, scores in candidates.items():
        doc_ids = rank_documents(scores)
        documents = [
            Document(page_content=document_text(corpus[doc_id]), metadata={"id": doc_id}) for doc_id in doc_ids
        ]
        results = reranker.rank(queries[query_id], documents)
        reranked[query_id] = {result.document.metadata["id"]: result.score for result in results}
    return reranked
