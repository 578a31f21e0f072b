"""비교 위젯을 브라우저 없이 조작합니다: 값을 넣고 '비교'를 눌러 만들어진 HTML 을 확인합니다."""

import pytest

from course_utils.rerankers import RerankAPIError, Reranker, load_reranker
from course_utils.widgets import MAX_CANDIDATES, RankingComparison


class ReverseReranker(Reranker):
    """1단계 순서를 뒤집는 리랭커 (이동 표시를 예측할 수 있게)."""

    backend, model = "test", "reverse"

    def _score(self, query, texts):
        return [float(position) for position in range(len(texts))]


class BrokenReranker(Reranker):
    backend, model, is_standin = "test", "broken", True

    def _score(self, query, texts):
        raise RerankAPIError("Cohere API 가 키를 받아 주지 않았습니다 (HTTP 401).", "auth", 401)


@pytest.fixture(scope="module")
def comparison(course_test_split):
    corpus, queries, qrels = course_test_split
    rerankers = {"reverse": ReverseReranker(), "feature-ltr": load_reranker("feature-ltr"), "broken": BrokenReranker()}
    return RankingComparison(corpus, queries, qrels, rerankers, k=5)


def test_dataset_query_shows_every_column_with_movement_grades_and_ndcg(comparison):
    comparison.query_list.value = "pet-t01"
    comparison.reranker_select.value = ("reverse", "feature-ltr")
    comparison.button.click()
    page = comparison.output.value
    assert page.count("class='ranking-column'") == 3
    assert "1단계 검색" in page and "reverse" in page and "feature-ltr" in page
    assert "↑4" in page and "↓4" in page  # 뒤집으면 5등이 1등으로, 1등이 5등으로
    assert page.count("nDCG@5") == 3 and "#bbf7d0" in page
    assert "title='" in page and comparison.progress.value == 2


def test_free_text_query_has_no_grades(comparison):
    comparison.query_list.value = ""
    comparison.query_box.value = "🐶 우리 강아지 주사는 언제 맞혀요?"
    comparison.reranker_select.value = ("reverse",)
    comparison.button.click()
    page = comparison.output.value
    assert page.count("class='ranking-column'") == 2 and "nDCG" not in page and "#bbf7d0" not in page


def test_empty_query_is_explained_in_the_output(comparison):
    comparison.query_list.value = ""
    comparison.query_box.value = "   "
    comparison.button.click()
    assert "query 가 비어 있습니다" in comparison.output.value


def test_no_reranker_selected_shows_first_stage_and_a_hint(comparison):
    comparison.query_list.value = "gov-t01"
    comparison.reranker_select.value = ()
    comparison.button.click()
    assert (
        comparison.output.value.count("class='ranking-column'") == 1 and "하나 이상 고르면" in comparison.output.value
    )


def test_a_failing_reranker_does_not_hide_the_others(comparison):
    comparison.query_list.value = "fin-t01"
    comparison.reranker_select.value = ("reverse", "broken (대체 모델)")
    comparison.button.click()
    page = comparison.output.value
    assert page.count("class='ranking-column'") == 2 and "HTTP 401" in page and "대체 모델(broken" in page


def test_stand_ins_are_labelled_in_the_selection(comparison):
    assert "broken (대체 모델)" in comparison.reranker_select.options


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"k": 0}, "k 는"), ({"k": MAX_CANDIDATES + 1}, "k 는"), ({"reranker_names": ["nope"]}, "알 수 없는 리랭커")],
)
def test_bad_compare_arguments(comparison, kwargs, words):
    with pytest.raises(ValueError, match=words):
        comparison.compare("pet-t01", **kwargs)


def test_bad_constructor_arguments(course_test_split):
    corpus, queries, qrels = course_test_split
    with pytest.raises(ValueError, match="k 는"):
        RankingComparison(corpus, queries, qrels, {}, k=100)
    with pytest.raises(TypeError, match="rerankers"):
        RankingComparison(corpus, queries, qrels, {"x": "not a reranker"})


def test_static_html_needs_no_widgets(comparison):
    page = comparison.compare("health-t01", ["feature-ltr"], k=3)
    assert page.startswith("<div>") and "<script" not in page and page.count("class='ranking-column'") == 2
