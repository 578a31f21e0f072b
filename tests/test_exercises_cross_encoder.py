import math

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever

from course_utils.data import document_text, to_documents
from course_utils.exercises import cross_encoder
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever


@pytest.fixture(scope="module")
def reranker():
    return load_reranker("cross-encoder")


def test_q1_accepts_the_reranked_top_document_only(course_test_split, reranker, capsys):
    corpus, queries, qrels = course_test_split
    doc_ids = sorted(qrels[cross_encoder.Q1_QUERY_ID])
    results = reranker.rank(queries[cross_encoder.Q1_QUERY_ID], [document_text(corpus[d]) for d in doc_ids])
    right = doc_ids[results[0].index]
    cross_encoder.q1.check(right)
    assert cross_encoder.q1.passed and "✅" in capsys.readouterr().out
    last = doc_ids[results[-1].index]
    assert not math.isclose(results[0].score, results[-1].score, abs_tol=1e-3)
    for wrong in (last, "pet-999", results[0].index, None):
        cross_encoder.q1.check(wrong)
        assert not cross_encoder.q1.passed


def test_q2_needs_time_proportional_to_pairs_and_tokens():
    def correct(n_queries, candidates, tokens):
        return 20 * n_queries * candidates / 20 * tokens / 256

    cross_encoder.q2.check(correct)
    assert cross_encoder.q2.passed
    wrongs = (
        lambda n_queries, candidates, tokens: 20 * n_queries * candidates / 20,  # 토큰 수를 빠뜨림
        lambda n_queries, candidates, tokens: 20 * n_queries * candidates / 20 * (tokens / 256) ** 2,
        lambda n_queries, candidates, tokens: 20 * candidates / 20 * tokens / 256,  # 질의 수를 빠뜨림
        lambda n_queries, candidates, tokens: None,
        "20초",
    )
    for wrong in wrongs:
        cross_encoder.q2.check(wrong)
        assert not cross_encoder.q2.passed


def test_q3_inverts_the_sigmoid():
    cross_encoder.q3.check(lambda p: math.log(p / (1 - p)))
    assert cross_encoder.q3.passed
    for wrong in (math.log, lambda p: p - 0.5, lambda p: math.log((1 - p) / p), 0.0):
        cross_encoder.q3.check(wrong)
        assert not cross_encoder.q3.passed


def test_q4_needs_ten_bm25_candidates_reranked_to_four(course_test_split, reranker):
    documents = to_documents(course_test_split[0])
    ten = build_retriever(documents, kind="bm25", k=10)
    cross_encoder.q4.check(
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(4), base_retriever=ten)
    )
    assert cross_encoder.q4.passed
    twenty = build_retriever(documents, kind="bm25", k=20)
    wrongs = (
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(3), base_retriever=ten),
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(4), base_retriever=twenty),
        ContextualCompressionRetriever(
            base_compressor=load_reranker("feature-ltr").as_compressor(4), base_retriever=ten
        ),
        ten,
    )
    for wrong in wrongs:
        cross_encoder.q4.check(wrong)
        assert not cross_encoder.q4.passed
