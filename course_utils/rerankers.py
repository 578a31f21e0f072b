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

import contextlib
import functools
import html
import itertools
import math
import time
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

from .env import quiet_model_loading, runtime

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
    pip_packages: tuple[str, ...] = field(default=())


BACKENDS: dict[str, BackendSpec] = {}


def register_backend(
    name: str,
    *,
    default_model: str,
    models: Sequence[str],
    summary: str,
    extra_models_allowed: bool = False,
    pip_packages: Sequence[str] = (),
) -> Callable[[type[Reranker]], type[Reranker]]:
    """백엔드 클래스를 레지스트리에 올리는 데코레이터. 클래스는 ``(model, **options)`` 로 만들어집니다.

    ``pip_packages`` 는 그 백엔드에 필요한 패키지로, 없을 때 오류 메시지의 설치 명령에 들어갑니다.
    """

    def decorator(cls: type[Reranker]) -> type[Reranker]:
        BACKENDS[name] = BackendSpec(
            name, cls, default_model, tuple(models), summary, extra_models_allowed, tuple(pip_packages)
        )
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
    # 자체 호스팅 서버(base_url)는 그 서버가 정한 모델 이름을 씁니다.
    if model not in spec.models and not spec.extra_models_allowed and options.get("base_url") is None:
        raise ValueError(
            f"backend '{backend}' 에 없는 model '{model}' 입니다. 쓸 수 있는 model: {', '.join(spec.models)}"
        )
    try:
        return spec.factory(model, **options)
    except ImportError as error:
        if error.name is None:
            raise
        command = f"pip install {' '.join(spec.pip_packages)}" if spec.pip_packages else "pip install reranker-course"
        raise ImportError(
            f"backend '{backend}' 에 필요한 패키지 '{error.name}' 가 없습니다. 설치: {command}"
        ) from error


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


# --- 백엔드: 크로스 인코더 (sentence-transformers) ---------------------------------------------------

CROSS_ENCODER_MODELS = (
    "BAAI/bge-reranker-v2-m3",
    "BAAI/bge-reranker-base",
    "BAAI/bge-reranker-large",
    "dragonkue/bge-reranker-v2-m3-ko",
    "Dongjin-kr/ko-reranker",
    "jinaai/jina-reranker-v2-base-multilingual",
)
#: 모델 코드가 허브 저장소에 들어 있어 trust_remote_code 가 필요한 모델.
REMOTE_CODE_MODELS = {"jinaai/jina-reranker-v2-base-multilingual"}


def _resolve_hub_model(model: str) -> tuple[str, bool]:
    """모델을 찾는 순서 (모든 백엔드 공통): 사전 다운로드 폴더 → 로컬 캐시 → (온라인이면) 허브.

    Returns:
        ``(불러올 경로나 허브 id, 찾았는지)``. 못 찾으면 대체 모델을 써야 합니다.
    """
    from .env import find_local_model

    local = find_local_model(model)
    if local is not None:
        return str(local), True
    return model, runtime().online


@functools.cache
def _scored_cross_encoder_reranker_class():
    """LangChain ``CrossEncoderReranker`` 에 점수 기록만 더한 하위 클래스.

    원래 클래스는 순서만 바꾸고 점수를 버리므로, 다른 백엔드처럼 ``metadata["relevance_score"]`` 를 남기게 합니다.
    """
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    class ScoredCrossEncoderReranker(CrossEncoderReranker):
        def compress_documents(
            self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
        ) -> Sequence[Document]:
            from .scoring import score_pairs

            scores, _ = score_pairs(self.model.client, query, [document.page_content for document in documents])
            order = sorted(range(len(documents)), key=lambda position: -scores[position])[: self.top_n]
            return [
                Document(
                    page_content=documents[position].page_content,
                    metadata={**documents[position].metadata, "relevance_score": float(scores[position])},
                    id=documents[position].id,
                )
                for position in order
            ]

    return ScoredCrossEncoderReranker


@register_backend(
    "cross-encoder",
    default_model="BAAI/bge-reranker-v2-m3",
    models=CROSS_ENCODER_MODELS,
    extra_models_allowed=True,
    summary="sentence-transformers CrossEncoder (BGE, 한국어 파인튜닝, Jina 공개 가중치 등 허브의 크로스 인코더)",
    pip_packages=("sentence-transformers", "langchain-community"),
)
class CrossEncoderBackend(Reranker):
    """허브의 크로스 인코더를 ``langchain_community`` 의 ``HuggingFaceCrossEncoder`` 로 불러 씁니다.

    모델을 찾지 못하면(오프라인, 사전 다운로드 없음) 강의가 만든 작은 한국어 크로스 인코더를 같은 코드 경로로
    쓰고 배너로 알립니다. 점수는 로짓에 시그모이드를 씌운 0–1 값입니다.

    Args:
        model: 허브 모델 id.
        max_length: 질의+문서 토큰 수 상한. 길면 잘리고 경고가 납니다. CPU 에서는 짧을수록 빠릅니다.
        batch_size: 한 번에 모델에 넣는 쌍의 수.
    """

    def __init__(self, model: str, max_length: int = 512, batch_size: int = 16) -> None:
        from langchain_community.cross_encoders import HuggingFaceCrossEncoder

        from .standins import STANDIN_MAX_LENGTH, announce_standin, build_standin_cross_encoder

        rt = runtime()
        self.model = model
        self.device = rt.device
        self.batch_size = _check_positive("batch_size", batch_size)
        source, found = _resolve_hub_model(model)
        model_kwargs: dict = {"device": rt.device, "max_length": _check_positive("max_length", max_length)}
        if not found:
            self.is_standin = True
            source = str(build_standin_cross_encoder())
            model_kwargs["max_length"] = min(max_length, STANDIN_MAX_LENGTH)
            announce_standin(
                model, "강의용 작은 한국어 크로스 인코더", "모델 허브에 닿지 않고 미리 받은 모델도 없습니다"
            )
        elif model in REMOTE_CODE_MODELS:
            model_kwargs["trust_remote_code"] = True
        self.max_length = model_kwargs["max_length"]
        with quiet_model_loading():
            self._encoder = HuggingFaceCrossEncoder(model_name=source, model_kwargs=model_kwargs)
        if rt.device == "cuda":
            # GPU 에서는 fp16 이 빠르고 점수 차이는 작습니다. .half() 는 transformers 판에 상관없이 같습니다.
            self._encoder.client.half()

    def _score(self, query: str, texts: list[str]) -> list[float]:
        from .scoring import score_pairs

        scores, tokens = score_pairs(self._encoder.client, query, texts, self.batch_size, self.max_length)
        _warn_truncated(tokens.truncated, self.max_length)
        return scores

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        return _scored_cross_encoder_reranker_class()(model=self._encoder, top_n=_check_positive("top_n", top_n))


def _warn_truncated(positions: Sequence[int], max_length: int) -> None:
    if positions:
        warnings.warn(
            f"documents{list(positions[:5])} 가 max_length={max_length} 토큰보다 길어 뒷부분이 잘립니다. "
            "긴 문서는 먼저 청크로 나누세요.",
            UserWarning,
            stacklevel=4,
        )


# --- 백엔드: 리랭크 API (Cohere, Jina) ---------------------------------------------------------------

#: 모든 API 호출의 제한 시간(초). 네트워크가 멈춰도 셀이 끝없이 기다리지 않게 합니다.
API_TIMEOUT_S = 30.0
#: 429·5xx 에 다시 보내는 최대 횟수와 기다림의 상한. 끝없이 재시도하지 않습니다.
API_MAX_RETRIES = 3
API_BACKOFF_BASE_S = 1.0
API_MAX_WAIT_S = 20.0


class RerankAPIError(RuntimeError):
    """리랭크 API 호출이 실패했을 때: 무엇이 일어났고 무엇을 하면 되는지 한국어로 알려 줍니다.

    Attributes:
        kind: ``"auth"``, ``"rate_limit"``, ``"server"``, ``"timeout"``, ``"connection"``, ``"malformed"``, ``"request"``.
        status: HTTP 상태 코드 (응답이 없었으면 ``None``).
    """

    def __init__(self, message: str, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def _api_failure(service: str, secret_name: str, kind: str, status: int | None = None) -> RerankAPIError:
    code = f" (HTTP {status})" if status else ""
    offline_hint = f"키 없이 실습하려면 {secret_name} 를 비우거나 RERANK_COURSE_OFFLINE=1 로 강의의 대체 서버를 쓰세요."
    messages = {
        "auth": f"{service} API 가 키를 받아 주지 않았습니다{code}. {secret_name} 값이 맞는지, 만료되지 않았는지 확인하세요. {offline_hint}",
        "rate_limit": f"{service} API 의 호출 한도를 넘었습니다{code}. 정해진 횟수만큼 기다렸다 다시 보냈지만 계속 거절되었습니다. "
        "1분쯤 기다린 뒤 다시 실행하고, 후보를 한 요청에 모으거나(배치) 결과를 캐시해 호출 수를 줄이세요.",
        "server": f"{service} API 서버에 오류가 났습니다{code}. 정해진 횟수만큼 다시 보냈지만 실패했습니다. 잠시 뒤 다시 실행하세요. {offline_hint}",
        "timeout": f"{service} API 가 제한 시간 안에 답하지 않았습니다. 네트워크를 확인하고 다시 실행하세요. {offline_hint}",
        "connection": f"{service} API 에 연결할 수 없습니다. 인터넷 연결(또는 base_url 주소)을 확인하세요. {offline_hint}",
        "malformed": f"{service} API 의 응답을 읽을 수 없습니다{code}. 주소가 리랭크 API 가 맞는지 확인하세요.",
        "request": f"{service} API 가 요청을 거절했습니다{code}. 모델 이름과 입력(질의, 문서)을 확인하세요.",
    }
    return RerankAPIError(messages[kind], kind, status)


def _kind_of_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server"
    return "malformed" if 200 <= status < 300 else "request"


def _api_credentials(
    secret_names: Sequence[str], api_key: str | None, base_url: str | None, replaces: str
) -> tuple[str, str | None, bool]:
    """(키, base_url, 대체 여부). ``base_url`` 을 주면 그 서버(자체 호스팅)로, 키가 없거나 오프라인이 강제되면
    로컬 대체 API 서버로 보냅니다."""
    from .env import get_secret
    from .rerank_server import prepare_standin_scorer, shared_standin_server
    from .standins import announce_standin

    key = api_key or next((value for name in secret_names if (value := get_secret(name))), None)
    if base_url is not None:
        # vLLM 같은 자체 호스팅 서버는 키를 검사하지 않을 수 있어, 키가 없으면 자리표시 값을 보냅니다.
        return key or "no-key", base_url.rstrip("/"), False
    if key and not runtime().forced_offline:
        return key, None, False
    server = shared_standin_server()
    # 대체 모델을 지금 준비해 둡니다. 첫 API 요청 안에서 만들면 요청 제한 시간(30초)을 넘길 수 있습니다.
    prepare_standin_scorer()
    reason = "오프라인이 강제되었습니다" if key else f"{secret_names[0]} 가 없습니다"
    announce_standin(replaces, f"로컬 리랭크 API 서버({server.url}, 강의용 작은 크로스 인코더)", reason)
    return server.api_key, server.url, True


@functools.cache
def _course_cohere_rerank_class():
    """``langchain_cohere.CohereRerank`` 에 두 가지만 더한 하위 클래스 (LangChain 경로는 그대로):
    실패를 ``RerankAPIError`` 로 바꾸고, ``max_tokens_per_doc`` 을 파이프라인 요청에도 넣습니다."""
    import httpx
    from cohere.core.api_error import ApiError
    from langchain_cohere import CohereRerank

    class CourseCohereRerank(CohereRerank):
        max_tokens_per_doc: int | None = None

        def rerank(self, documents, query, **kwargs):
            kwargs.setdefault("max_tokens_per_doc", self.max_tokens_per_doc)
            if kwargs["max_tokens_per_doc"] is None:
                del kwargs["max_tokens_per_doc"]
            # cohere SDK 가 429·5xx 를 Retry-After 에 맞춰 최대 2번 다시 보낸 뒤에도 실패하면 여기로 옵니다.
            try:
                return super().rerank(documents, query, **kwargs)
            except ApiError as error:
                status = error.status_code or 0
                raise _api_failure("Cohere", "COHERE_API_KEY", _kind_of_status(status), status) from None
            except httpx.TimeoutException:
                raise _api_failure("Cohere", "COHERE_API_KEY", "timeout") from None
            except httpx.TransportError:
                raise _api_failure("Cohere", "COHERE_API_KEY", "connection") from None

    return CourseCohereRerank


@register_backend(
    "cohere",
    default_model="rerank-v3.5",
    models=("rerank-v3.5", "rerank-multilingual-v3.0", "rerank-v4.0-pro", "rerank-v4.0-fast"),
    summary="Cohere Rerank API (langchain_cohere.CohereRerank, cohere.ClientV2)",
    pip_packages=("langchain-cohere", "cohere"),
)
class CohereBackend(Reranker):
    """Cohere Rerank API. ``COHERE_API_KEY`` (또는 ``CO_API_KEY``) 가 없으면 같은 ``CohereRerank`` 클래스가
    로컬 대체 서버(``/v2/rerank``)로 요청을 보냅니다. 점수는 0–1 관련도입니다.

    Args:
        model: Cohere 리랭크 모델 이름 (자체 호스팅 서버라면 그 서버의 모델 이름).
        api_key: 직접 넘기는 키 (보통은 ``get_secret`` 이 환경 변수나 Colab 보안 비밀에서 읽습니다).
        base_url: Cohere v2 모양의 자체 호스팅 서버 주소 (예: vLLM ``http://호스트:8000``).
        max_tokens_per_doc: 문서 하나에서 읽을 최대 토큰 수 (넘으면 서버가 자릅니다).
        timeout: 요청 하나의 제한 시간(초). 429·5xx 는 SDK 가 최대 2번 다시 보냅니다.
    """

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens_per_doc: int = 4096,
        timeout: float = API_TIMEOUT_S,
    ) -> None:
        import cohere

        if model.endswith("-v2.0"):
            raise ValueError(f"model '{model}' 은(는) 2025-04-30 에 종료된 모델입니다. rerank-v3.5 이후 모델을 쓰세요.")
        self.model = model
        self.max_tokens_per_doc = _check_positive("max_tokens_per_doc", max_tokens_per_doc)
        key, url, self.is_standin = _api_credentials(
            ("COHERE_API_KEY", "CO_API_KEY"), api_key, base_url, f"Cohere {model}"
        )
        self.device = "로컬 API" if self.is_standin else ("자체 호스팅 API" if base_url else "api")
        self._client = cohere.ClientV2(api_key=key, base_url=url, timeout=timeout, client_name="reranker-course")

    def _compressor(self, top_n: int | None):
        return _course_cohere_rerank_class()(
            client=self._client, model=self.model, top_n=top_n, max_tokens_per_doc=self.max_tokens_per_doc
        )

    def _score(self, query: str, texts: list[str]) -> list[float]:
        return _scores_by_index(self._compressor(None).rerank(texts, query, top_n=None), len(texts))

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        return self._compressor(_check_positive("top_n", top_n))


class _TimeoutSession:
    """``JinaRerank`` 의 requests 세션 대신 씁니다: 모든 요청에 제한 시간을 걸고, 429·5xx 는 ``Retry-After`` 를
    따라 정해진 횟수만 다시 보내며, 실패는 ``RerankAPIError`` 로 바꿉니다. ``base_url`` 을 주면 그 서버로 보냅니다."""

    def __init__(self, api_key: str, base_url: str | None, timeout: float = API_TIMEOUT_S) -> None:
        import requests

        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Content-type": "application/json", "user-agent": "reranker-course"}
        )
        self._base_url = base_url
        self._timeout = timeout

    def _wait_seconds(self, response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        wait = float(retry_after) if retry_after.strip().isdigit() else API_BACKOFF_BASE_S * 2**attempt
        return min(wait, API_MAX_WAIT_S)

    def post(self, url: str, **kwargs):
        import requests

        if self._base_url is not None:
            url = f"{self._base_url}/v1/rerank"
        kwargs.setdefault("timeout", self._timeout)
        for attempt in range(API_MAX_RETRIES + 1):
            try:
                response = self._session.post(url, **kwargs)
            except requests.Timeout:
                raise _api_failure("Jina", "JINA_API_KEY", "timeout") from None
            except requests.ConnectionError:
                raise _api_failure("Jina", "JINA_API_KEY", "connection") from None
            kind = _kind_of_status(response.status_code) if response.status_code != 200 else None
            if kind in ("rate_limit", "server") and attempt < API_MAX_RETRIES:
                time.sleep(self._wait_seconds(response, attempt))
                continue
            if kind:
                raise _api_failure("Jina", "JINA_API_KEY", kind, response.status_code)
            try:
                response.json()
            except ValueError:
                raise _api_failure("Jina", "JINA_API_KEY", "malformed", response.status_code) from None
            return response
        raise AssertionError("unreachable: the loop returns or raises")


@register_backend(
    "jina",
    default_model="jina-reranker-v2-base-multilingual",
    models=("jina-reranker-v2-base-multilingual", "jina-reranker-v3", "jina-reranker-m0"),
    summary="Jina Reranker API (langchain_community JinaRerank). 공개 가중치는 cross-encoder 백엔드로",
    pip_packages=("langchain-community", "requests"),
)
class JinaBackend(Reranker):
    """Jina Reranker API. ``JINA_API_KEY`` 가 없으면 같은 ``JinaRerank`` 클래스가 로컬 대체 서버(``/v1/rerank``)로
    요청을 보냅니다. 같은 공개 가중치를 내 컴퓨터에서 돌리려면
    ``load_reranker("cross-encoder", "jinaai/jina-reranker-v2-base-multilingual")`` 을 쓰세요 (CC-BY-NC-4.0).

    Args:
        model: Jina 리랭크 모델 이름 (자체 호스팅 서버라면 그 서버의 모델 이름).
        api_key: 직접 넘기는 키.
        base_url: Jina·vLLM ``/v1/rerank`` 모양의 자체 호스팅 서버 주소.
        timeout: 요청 하나의 제한 시간(초).
    """

    def __init__(
        self, model: str, api_key: str | None = None, base_url: str | None = None, timeout: float = API_TIMEOUT_S
    ) -> None:
        self.model = model
        key, url, self.is_standin = _api_credentials(("JINA_API_KEY",), api_key, base_url, f"Jina {model}")
        self.device = "로컬 API" if self.is_standin else ("자체 호스팅 API" if base_url else "api")
        self._key = key
        self._session = _TimeoutSession(key, url, timeout=timeout)

    def _compressor(self, top_n: int | None):
        from langchain_community.document_compressors import JinaRerank

        compressor = JinaRerank(jina_api_key=self._key, model=self.model, top_n=top_n)
        compressor.session = self._session
        return compressor

    def _score(self, query: str, texts: list[str]) -> list[float]:
        return _scores_by_index(self._compressor(None).rerank(texts, query, top_n=None), len(texts))

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        return self._compressor(_check_positive("top_n", top_n))


def _scores_by_index(results: Sequence[Mapping], count: int) -> list[float]:
    scores = [0.0] * count
    for result in results:
        scores[result["index"]] = float(result["relevance_score"])
    return scores


# --- 백엔드: FlashRank (ONNX) ------------------------------------------------------------------------

FLASHRANK_MODELS = ("ms-marco-MultiBERT-L-12", "ms-marco-TinyBERT-L-2-v2", "ms-marco-MiniLM-L-12-v2")
FLASHRANK_URL = "https://huggingface.co/prithivida/flashrank/resolve/main/{}.zip"
FLASHRANK_DOWNLOAD_TIMEOUT_S = 60.0


def download_flashrank_model(name: str, target_dir: Path) -> Path:
    """FlashRank 모델 압축 파일을 제한 시간을 걸고 받아 ``target_dir/<name>/`` 에 풉니다."""
    import io
    import zipfile

    import requests

    response = requests.get(FLASHRANK_URL.format(name), timeout=FLASHRANK_DOWNLOAD_TIMEOUT_S)
    response.raise_for_status()
    target_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(target_dir)
    return target_dir / name


@contextlib.contextmanager
def _quiet_flashrank_logging():
    """``flashrank.Ranker`` 는 ``logging.basicConfig(level=INFO)`` 를 불러 다른 라이브러리의 INFO 로그까지 켭니다.
    루트 로거에 잠시 처리기를 달아 두면 basicConfig 가 아무것도 하지 않습니다."""
    import logging

    root = logging.getLogger()
    placeholder = logging.NullHandler()
    added = not root.handlers
    if added:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if added:
            root.removeHandler(placeholder)
        logging.getLogger("flashrank").setLevel(logging.WARNING)


@register_backend(
    "flashrank",
    default_model="ms-marco-MultiBERT-L-12",
    models=FLASHRANK_MODELS,
    summary="FlashRank: ONNX 런타임의 작은 크로스 인코더 (MultiBERT 다국어, TinyBERT·MiniLM 영어)",
    pip_packages=("flashrank", "langchain-community"),
)
class FlashRankBackend(Reranker):
    """FlashRank 를 강의 캐시 폴더(``/tmp`` 아님)에서 불러 씁니다. 모델 폴더를 찾는 순서:
    ``RERANK_COURSE_MODELS_DIR/flashrank`` → 강의 캐시 → (온라인이면) 내려받기 → 대체 모델(같은 ONNX 경로).

    Args:
        model: FlashRank 모델 이름.
        max_length: 질의+문서 토큰 수 상한.
    """

    def __init__(self, model: str, max_length: int = 256) -> None:
        from flashrank import Ranker

        from .standins import announce_standin, build_standin_flashrank

        rt = runtime()
        self.model = model
        self.device = "cpu (onnxruntime)"
        self.max_length = _check_positive("max_length", max_length)
        cache = rt.cache_dir / "flashrank"
        candidates = [rt.models_dir / "flashrank"] if rt.models_dir else []
        folder = next((place for place in [*candidates, cache] if (place / model).is_dir()), None)
        name = model
        if folder is None and rt.online:
            folder = download_flashrank_model(model, cache).parent
        if folder is None:
            self.is_standin = True
            folder, name = cache, build_standin_flashrank(cache)
            announce_standin(
                f"FlashRank {model}", "강의용 작은 한국어 크로스 인코더(ONNX)", "모델을 내려받을 수 없습니다"
            )
        with _quiet_flashrank_logging():
            self._ranker = Ranker(model_name=name, cache_dir=str(folder), max_length=self.max_length)

    def _score(self, query: str, texts: list[str]) -> list[float]:
        from flashrank import RerankRequest

        encodings = self._ranker.tokenizer.encode_batch([(query, text) for text in texts])
        _warn_truncated([i for i, encoding in enumerate(encodings) if encoding.overflowing], self.max_length)
        passages = [{"id": position, "text": text} for position, text in enumerate(texts)]
        scores = [0.0] * len(texts)
        for result in self._ranker.rerank(RerankRequest(query=query, passages=passages)):
            scores[result["id"]] = float(result["score"])
        return scores

    def as_compressor(self, top_n: int = 3) -> BaseDocumentCompressor:
        from langchain_community.document_compressors import FlashrankRerank

        return FlashrankRerank(client=self._ranker, top_n=_check_positive("top_n", top_n), model=self.model)
