"""03 Jina 노트북의 채점기: 정답은 통과하고, 흔한 오답은 떨어집니다."""

import pytest
from langchain_community.document_compressors import JinaRerank

from course_utils.exercises import jina
from course_utils.metrics import evaluate
from course_utils.rerankers import load_reranker


@pytest.fixture(scope="module")
def jina_api():
    return load_reranker("jina")


def test_q1_needs_a_v2_jina_compressor_with_four_documents(jina_api, capsys):
    jina.q1.check(jina_api.as_compressor(top_n=4))
    assert jina.q1.passed and "✅" in capsys.readouterr().out
    wrong_answers = (
        JinaRerank(jina_api_key="not-a-real-key", top_n=4),  # 기본 model: 영어 전용 v1
        jina_api.as_compressor(top_n=3),
        load_reranker("feature-ltr").as_compressor(top_n=4),
        "jina-reranker-v2-base-multilingual",
    )
    for wrong in wrong_answers:
        jina.q1.check(wrong)
        assert not jina.q1.passed
    assert "v1" in capsys.readouterr().out


def test_q2_maps_response_indices_to_the_sent_document_ids():
    def correct(response, doc_ids):
        return {doc_ids[item["index"]]: item["relevance_score"] for item in response["results"]}

    def by_response_position(response, doc_ids):
        return {doc_ids[position]: item["relevance_score"] for position, item in enumerate(response["results"])}

    def every_document(response, doc_ids):
        scores = dict.fromkeys(doc_ids, 0.0)
        scores.update(correct(response, doc_ids))
        return scores

    jina.q2.check(correct)
    assert jina.q2.passed
    for wrong in (by_response_position, every_document, lambda response, doc_ids: [], "not callable"):
        jina.q2.check(wrong)
        assert not jina.q2.passed


def test_q3_finds_queries_whose_ndcg_dropped():
    def correct(before, after, qrels):
        old = evaluate(qrels, before, ["ndcg@10"]).per_query
        new = evaluate(qrels, after, ["ndcg@10"]).per_query
        return {query_id for query_id in old if new[query_id]["ndcg@10"] < old[query_id]["ndcg@10"]}

    def by_mrr(before, after, qrels):
        old = evaluate(qrels, before, ["mrr@10"]).per_query
        new = evaluate(qrels, after, ["mrr@10"]).per_query
        return {query_id for query_id in old if new[query_id]["mrr@10"] < old[query_id]["mrr@10"]}

    def including_ties(before, after, qrels):
        old = evaluate(qrels, before, ["ndcg@10"]).per_query
        new = evaluate(qrels, after, ["ndcg@10"]).per_query
        return {query_id for query_id in old if new[query_id]["ndcg@10"] <= old[query_id]["ndcg@10"]}

    jina.q3.check(correct)
    assert jina.q3.passed
    jina.q3.check(lambda before, after, qrels: sorted(correct(before, after, qrels)))
    assert jina.q3.passed, "목록으로 돌려줘도 같은 답입니다"
    for wrong in (by_mrr, including_ties, lambda before, after, qrels: "q1", "not callable"):
        jina.q3.check(wrong)
        assert not jina.q3.passed


def test_q4_accepts_only_the_licence_respecting_options(capsys):
    for right in ({"B", "C", "F"}, ["f", "c", "b"], "B, C, F"):
        jina.q4.check(right)
        assert jina.q4.passed
    for wrong in ({"A", "B", "C", "F"}, {"B", "C"}, {"B", "C", "D", "F"}, {"B", "C", "E", "F"}, {"B", "G"}, 3):
        jina.q4.check(wrong)
        assert not jina.q4.passed
    assert "비상업" in capsys.readouterr().out


def test_unanswered_exercises_say_so(capsys):
    for exercise in (jina.q1, jina.q2, jina.q3, jina.q4):
        exercise.check(None)
        exercise.hint()
        exercise.solution()
        assert not exercise.passed
    assert capsys.readouterr().out.count("아직 답이 없습니다") == 4
