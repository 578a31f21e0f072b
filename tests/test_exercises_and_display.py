import unicodedata

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document

from course_utils.data import to_documents
from course_utils.display import metrics_table, rankings_html
from course_utils.exercises import Exercise, overview
from course_utils.metrics import evaluate
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever, retrieval_run


def test_q1_accepts_the_measured_recall_only(course_test_split, capsys):
    corpus, queries, qrels = course_test_split
    run = retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=5), queries)
    right = evaluate(qrels, run, ["recall@5"])["recall@5"]
    overview.q1.check(right)
    assert overview.q1.passed and "✅" in capsys.readouterr().out
    for wrong in (right + 0.01, "0.7", True):
        overview.q1.check(wrong)
        assert not overview.q1.passed


def test_q2_checks_the_function_on_several_cases():
    def correct(ranked, relevant):
        return next((1 / rank for rank, doc in enumerate(ranked, 1) if doc in relevant), 0.0)

    def off_by_one(ranked, relevant):
        return next((1 / rank for rank, doc in enumerate(ranked, start=2) if doc in relevant), 0.0)

    overview.q2.check(correct)
    assert overview.q2.passed
    for wrong in (off_by_one, lambda ranked, relevant: 1.0, "not callable"):
        overview.q2.check(wrong)
        assert not overview.q2.passed


def test_q3_needs_a_two_document_reranking_pipeline(course_test_split):
    retriever = build_retriever(to_documents(course_test_split[0]), kind="bm25", k=10)
    reranker = load_reranker("feature-ltr")
    overview.q3.check(
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(2), base_retriever=retriever)
    )
    assert overview.q3.passed
    overview.q3.check(
        ContextualCompressionRetriever(base_compressor=reranker.as_compressor(3), base_retriever=retriever)
    )
    assert not overview.q3.passed
    overview.q3.check(retriever)
    assert not overview.q3.passed


def test_unanswered_and_crashing_answers_do_not_raise(capsys):
    exercise = Exercise("테스트", lambda answer: 1 / 0, "힌트", "정답")
    exercise.check(None)
    exercise.check(5)
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "아직 답이 없습니다" in out and "ZeroDivisionError" in out and "힌트" in out and "정답" in out
    assert not exercise.passed


def test_metrics_table_carries_query_count_intervals_and_paired_difference():
    qrels = {f"q{i}": {"a": 1} for i in range(8)}
    first = evaluate(qrels, {f"q{i}": {"a": 1.0, "b": 2.0 if i < 4 else 0.0} for i in range(8)}, ["mrr@10", "ndcg@10"])
    after = evaluate(qrels, {f"q{i}": {"a": 3.0, "b": 2.0} for i in range(8)}, ["mrr@10"])
    table = metrics_table({"하이브리드 (1단계)": first, "리랭킹": after})
    lines = str(table).splitlines()
    assert lines[0].split()[:3] == ["시스템", "질의", "MRR@10"]
    assert " 8 " in lines[1] and "0.750 [" in lines[1] and "기준" in lines[1]
    assert " 8 " in lines[2] and "1.000 [1.000, 1.000]" in lines[2] and "+0.250 [" in lines[2]
    assert "-" in lines[2].split("]")[1]  # ndcg@10 을 재지 않은 줄은 '-'
    assert "부트스트랩 95% 구간" in lines[-1]

    # 한글 이름이 있어도 열이 맞습니다 (전각 문자는 두 칸).
    def columns_before_bracket(line):
        return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line[: line.index("[")])

    assert columns_before_bracket(lines[1]) == columns_before_bracket(lines[2])
    assert "<table" in table._repr_html_() and "질의" in table._repr_html_()
    with pytest.raises(ValueError):
        metrics_table({})
    with pytest.raises(TypeError, match="evaluate"):
        metrics_table({"평균만": {"ndcg@10": 0.5}})
    with pytest.raises(ValueError, match="baseline"):
        metrics_table({"a": first}, baseline="b")


def test_rankings_html_marks_movement_grades_and_escapes():
    a = Document(page_content="첫째 <b>문서</b>", metadata={"id": "a", "title": "A"})
    b = Document(page_content="둘째 문서", metadata={"id": "b", "title": "B"})
    c = Document(page_content="셋째 문서", metadata={"id": "c", "title": "C"})
    page = rankings_html("질의", {"1단계": [a, b], "리랭커": [b, a, c]}, judged={"b": 2})
    assert "↑1" in page and "↓1" in page and "신규" in page
    assert "#bbf7d0" in page and "<b>문서</b>" not in page
    with pytest.raises(ValueError):
        rankings_html("질의", {})
