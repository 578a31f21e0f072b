"""rank() 의 성질 (hypothesis): 결과는 입력의 순열이고, top_n 을 지키며, 동점이 아니면 입력 순서와 상관없습니다."""

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils.rerankers import load_reranker

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
MIXED = st.one_of(HANGUL, st.characters(codec="ascii", categories=("L", "N", "Zs")), st.sampled_from("🐶🐱✨ 。、!?"))
TEXTS = st.text(alphabet=MIXED, min_size=0, max_size=60)
QUERIES = st.text(alphabet=MIXED, min_size=1, max_size=20).filter(lambda text: text.strip())
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", params=["feature-ltr", "cross-encoder"])
def reranker(request):
    return load_reranker(request.param)


@SETTINGS
@given(query=QUERIES, documents=st.lists(TEXTS, max_size=8), top_n=st.one_of(st.none(), st.integers(1, 10)))
def test_result_is_a_permutation_that_respects_top_n(reranker, query, documents, top_n):
    results = reranker.rank(query, documents, top_n=top_n)
    expected = len(documents) if top_n is None else min(top_n, len(documents))
    assert len(results) == expected
    indices = [result.index for result in results]
    assert len(set(indices)) == len(indices) and all(0 <= index < len(documents) for index in indices)
    assert all(documents[result.index] == result.text for result in results)
    scores = [result.score for result in results]
    assert scores == sorted(scores, reverse=True)
    if top_n is None:
        assert sorted(indices) == list(range(len(documents)))


@SETTINGS
@given(query=QUERIES, documents=st.lists(TEXTS, min_size=1, max_size=8, unique=True), seed=st.integers(0, 1000))
def test_order_of_the_input_does_not_matter_beyond_ties(reranker, query, documents, seed):
    shuffled = documents[:]
    random.Random(seed).shuffle(shuffled)
    first = {result.text: result.score for result in reranker.rank(query, documents)}
    second = {result.text: result.score for result in reranker.rank(query, shuffled)}
    assert first.keys() == second.keys()
    for text, score in first.items():
        assert second[text] == pytest.approx(score, abs=1e-5)
    ordered = [result.text for result in reranker.rank(query, shuffled)]
    ordered_scores = [first[text] for text in ordered]
    assert all(a >= b - 1e-5 for a, b in itertools.pairwise(ordered_scores))
