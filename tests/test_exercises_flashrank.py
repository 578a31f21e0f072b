"""04 FlashRank 노트북의 실습 문제: 정답은 통과하고, 흔한 오답은 떨어집니다."""

from pathlib import Path

import pytest
from flashrank import Config
from langchain_classic.retrievers import ContextualCompressionRetriever

from course_utils.data import to_documents
from course_utils.exercises import flashrank as exercises
from course_utils.metrics import rank_documents
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever


@pytest.fixture(scope="module")
def korean_reranker():
    return load_reranker("flashrank", "ms-marco-MultiBERT-L-12", max_length=256)


@pytest.fixture(scope="module")
def retriever(course_test_split):
    return build_retriever(to_documents(course_test_split[0]), kind="bm25", k=10)


def test_q1_accepts_only_the_multilingual_flashrank_model(korean_reranker, capsys):
    exercises.q1.check(korean_reranker)
    assert exercises.q1.passed and "✅" in capsys.readouterr().out
    wrong_answers = [
        load_reranker("flashrank", "ms-marco-TinyBERT-L-2-v2"),
        load_reranker("flashrank", "ms-marco-MiniLM-L-12-v2"),
        load_reranker("feature-ltr"),
        "ms-marco-MultiBERT-L-12",
    ]
    for wrong in wrong_answers:
        exercises.q1.check(wrong)
        assert not exercises.q1.passed
    assert "영어" in capsys.readouterr().out


def test_q2_wants_the_onnx_file_the_reranker_reads(korean_reranker):
    model_dir = korean_reranker._ranker.model_dir
    right = model_dir / Config.model_file_map[model_dir.name]
    for answer in (right, str(right)):
        exercises.q2.check(answer)
        assert exercises.q2.passed
    wrong_answers = [
        model_dir,
        model_dir / "tokenizer.json",
        Path("/tmp/ms-marco-MultiBERT-L-12") / Config.model_file_map["ms-marco-MultiBERT-L-12"],
        42,
    ]
    for wrong in wrong_answers:
        exercises.q2.check(wrong)
        assert not exercises.q2.passed


def test_q3_checks_the_function_on_cases_and_course_data():
    def correct(before, after, qrels):
        broken = set()
        for query_id, scores in before.items():
            if not scores or not after.get(query_id):
                continue
            first, second = rank_documents(scores)[0], rank_documents(after[query_id])[0]
            judged = qrels.get(query_id, {})
            if judged.get(first, 0) > 0 and judged.get(second, 0) == 0:
                broken.add(query_id)
        return broken

    def only_judged_zero(before, after, qrels):
        """판정이 없는 문서(등급 0 과 같음)를 빠뜨린 흔한 실수."""
        broken = set()
        for query_id, scores in before.items():
            first, second = rank_documents(scores)[0], rank_documents(after[query_id])[0]
            if qrels[query_id].get(first, 0) > 0 and qrels[query_id].get(second) == 0:
                broken.add(query_id)
        return broken

    def every_wrong_first(before, after, qrels):
        """원래 1위가 정답이었는지는 보지 않은 실수."""
        return {
            query_id for query_id, scores in after.items() if qrels[query_id].get(rank_documents(scores)[0], 0) == 0
        }

    exercises.q3.check(correct)
    assert exercises.q3.passed
    exercises.q3.check(lambda before, after, qrels: list(correct(before, after, qrels)))
    assert exercises.q3.passed
    for wrong in (only_judged_zero, every_wrong_first, lambda before, after, qrels: None, "not callable"):
        exercises.q3.check(wrong)
        assert not exercises.q3.passed


def test_q4_needs_a_four_document_pipeline_over_the_course_cache(korean_reranker, retriever):
    from flashrank import Ranker
    from langchain_community.document_compressors import FlashrankRerank

    exercises.q4.check(
        ContextualCompressionRetriever(base_compressor=korean_reranker.as_compressor(top_n=4), base_retriever=retriever)
    )
    assert exercises.q4.passed
    three = ContextualCompressionRetriever(
        base_compressor=korean_reranker.as_compressor(top_n=3), base_retriever=retriever
    )
    english = ContextualCompressionRetriever(
        base_compressor=load_reranker("flashrank", "ms-marco-TinyBERT-L-2-v2").as_compressor(top_n=4),
        base_retriever=retriever,
    )
    ltr = ContextualCompressionRetriever(
        base_compressor=load_reranker("feature-ltr").as_compressor(top_n=4), base_retriever=retriever
    )
    ranker = korean_reranker._ranker
    outside_dir = Ranker.__new__(Ranker)
    outside_dir.__dict__.update(ranker.__dict__)
    outside_dir.model_dir = Path("/opt/elsewhere") / ranker.model_dir.name
    outside = ContextualCompressionRetriever(
        base_compressor=FlashrankRerank(client=outside_dir, top_n=4, model="ms-marco-MultiBERT-L-12"),
        base_retriever=retriever,
    )
    for wrong in (three, english, ltr, outside, retriever):
        exercises.q4.check(wrong)
        assert not exercises.q4.passed
