"""02 Cohere 노트북의 실습 문제: 정답은 통과하고, 틀린 답은 떨어집니다."""

import math

import cohere
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_cohere import CohereRerank

from course_utils.data import to_documents
from course_utils.exercises import cohere as exercises
from course_utils.rerank_server import shared_offline_server
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever


def test_q1_plan_accepts_the_batched_plan_only(capsys):
    def correct(num_queries, docs_per_query):
        if num_queries == 0 or docs_per_query == 0:
            return (0, 0, 0)
        return (num_queries, num_queries * math.ceil(docs_per_query / 100), math.ceil(num_queries / 10))

    exercises.q1.check(correct)
    assert exercises.q1.passed and "✅" in capsys.readouterr().out

    def one_call_per_document(num_queries, docs_per_query):
        calls = num_queries * docs_per_query
        return (calls, calls, math.ceil(calls / 10))

    def units_ignore_the_100_limit(num_queries, docs_per_query):
        if num_queries == 0 or docs_per_query == 0:
            return (0, 0, 0)
        return (num_queries, num_queries, math.ceil(num_queries / 10))

    def floor_minutes(num_queries, docs_per_query):
        if num_queries == 0 or docs_per_query == 0:
            return (0, 0, 0)
        return (num_queries, num_queries * math.ceil(docs_per_query / 100), num_queries // 10)

    for wrong in (one_call_per_document, units_ignore_the_100_limit, floor_minutes, lambda q, d: None, (60, 60, 6)):
        exercises.q1.check(wrong)
        assert not exercises.q1.passed


def test_q2_ranking_from_response_reads_index_and_score():
    def correct(response, doc_ids):
        ordered = sorted(response["results"], key=lambda item: -item["relevance_score"])
        return [doc_ids[item["index"]] for item in ordered]

    exercises.q2.check(correct)
    assert exercises.q2.passed

    def trusts_the_order(response, doc_ids):
        return [doc_ids[item["index"]] for item in response["results"]]

    def ascending(response, doc_ids):
        ordered = sorted(response["results"], key=lambda item: item["relevance_score"])
        return [doc_ids[item["index"]] for item in ordered]

    def ignores_the_response(response, doc_ids):
        return list(doc_ids)

    for wrong in (trusts_the_order, ascending, ignores_the_response, "not callable"):
        exercises.q2.check(wrong)
        assert not exercises.q2.passed


def test_q3_needs_a_two_document_cohere_pipeline_with_a_current_model(course_test_split):
    retriever = build_retriever(to_documents(course_test_split[0]), kind="bm25", k=10)
    reranker = load_reranker("cohere")
    exercises.q3.check(
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(top_n=2), base_retriever=retriever)
    )
    assert exercises.q3.passed

    server = shared_offline_server()
    retired = CohereRerank(
        client=cohere.ClientV2(api_key=server.api_key, base_url=server.url, timeout=30),
        model="rerank-english-v2.0",
        top_n=2,
    )
    wrong_answers = [
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(top_n=3), base_retriever=retriever),
        ContextualCompressionRetriever(
            base_compressor=load_reranker("feature-ltr").as_compressor(top_n=2), base_retriever=retriever
        ),
        ContextualCompressionRetriever(base_compressor=retired, base_retriever=retriever),
        retriever,
    ]
    for wrong in wrong_answers:
        exercises.q3.check(wrong)
        assert not exercises.q3.passed


def test_expected_plan_matches_the_billing_rule():
    assert exercises.expected_plan(60, 20) == (60, 60, 6)
    assert exercises.expected_plan(5, 250) == (5, 15, 1)
    assert exercises.expected_plan(0, 20) == (0, 0, 0)
