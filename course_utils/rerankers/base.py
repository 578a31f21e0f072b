"""리랭커 공통 부분: 결과 객체, ``Reranker`` 기반 클래스, LangChain 압축기, 백엔드 레지스트리와 ``load_reranker``."""

from __future__ import annotations

import html
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

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
        raise ValueError(f"{name} 값은 1 이상의 정수여야 합니다 (받은 값: {value!r}).")
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
        is_standin: ``model`` 대신 다른 모델이 돌고 있으면 ``True`` (점수는 ``model`` 의 결과가 아닙니다).
        runs: 대체 모델일 때 실제로 점수를 내는 모델 (아니면 빈 문자열).
    """

    backend: str = ""
    model: str = ""
    device: str = "cpu"
    is_standin: bool = False
    runs: str = ""

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
        """백엔드·실제로 도는 모델·장치를 한 줄로 알려 줍니다. 대체 모델이면 무엇을 대신하는지도 말합니다."""
        if self.is_standin:
            return f"{self.backend}: {self.runs} · {self.device} · {self.model} 대신 쓰는 대체 모델(stand-in)"
        return f"{self.backend}: {self.model} · {self.device}"

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
            f"backend '{backend}' 에 필요한 패키지가 없습니다: '{error.name}'. 설치: {command}"
        ) from error


def _community_class(module: str, name: str, backend: str) -> type | None:
    """``langchain_community`` 의 클래스를 돌려줍니다. 그 패키지가 없으면 한 줄 알림을 내고 ``None``.

    ``langchain-community`` 는 사라질 예정(2026-05-22 발표)이라, 없어도 강의의 자체 경로로 계속 돕니다.
    """
    import importlib

    try:
        return getattr(importlib.import_module(f"langchain_community.{module}"), name)
    except ImportError:
        if (backend, name) not in _COMMUNITY_NOTICES:
            _COMMUNITY_NOTICES.add((backend, name))
            print(
                f"알림: langchain-community 가 없어 {backend} 백엔드는 LangChain 의 {name} 대신 강의의 같은 동작을 하는 "
                "코드를 씁니다 (원래 클래스를 쓰려면 pip install langchain-community)."
            )
        return None


_COMMUNITY_NOTICES: set[tuple[str, str]] = set()


def list_backends() -> dict[str, str]:
    """백엔드 이름 → 한 줄 설명."""
    return {name: spec.summary for name, spec in BACKENDS.items()}


def _warn_truncated(positions: Sequence[int], max_length: int) -> None:
    if positions:
        warnings.warn(
            f"max_length={max_length} 토큰보다 길어 뒷부분이 잘리는 문서가 있습니다: documents{list(positions[:5])}. "
            "긴 문서는 먼저 청크로 나누세요.",
            UserWarning,
            stacklevel=4,
        )
