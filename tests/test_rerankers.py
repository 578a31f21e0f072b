import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import BaseDocumentCompressor, Document

from course_utils.bench import timed_rerank_run
from course_utils.data import to_documents
from course_utils.metrics import evaluate
from course_utils.rerankers import (
    BACKENDS,
    RankedResults,
    Reranker,
    list_backends,
    load_reranker,
    register_backend,
)
from course_utils.retrieval import build_retriever, retrieval_run

PASSAGES = [
    "고양이 사료는 나이에 맞게 고릅니다.",
    "강아지 예방접종은 생후 6~8주에 시작해 몇 주 간격으로 이어 갑니다.",
    "여권을 잃어버리면 가까운 재외공관에 신고합니다.",
]


@pytest.fixture(scope="module")
def ltr():
    return load_reranker("feature-ltr")


def test_rank_returns_a_sorted_permutation_with_indices(ltr):
    results = ltr.rank("강아지 예방접종 시기", PASSAGES)
    assert isinstance(results, RankedResults)
    assert sorted(result.index for result in results) == [0, 1, 2]
    assert results[0].index == 1 and results[0].text == PASSAGES[1]
    scores = [result.score for result in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= score <= 1 for score in scores)
    assert [result.index for result in results.top_k(2)] == [result.index for result in results][:2]
    assert "강아지 예방접종" in results.to_table() and "<table>" in results._repr_html_()


def test_top_n_and_documents_keep_metadata(ltr):
    documents = [Document(page_content=text, metadata={"id": f"d{i}"}) for i, text in enumerate(PASSAGES)]
    results = ltr.rank("여권 분실", documents, top_n=1)
    assert len(results) == 1 and results[0].document.metadata == {"id": "d2"}
    assert len(ltr.rank("여권 분실", documents, top_n=10)) == 3


def test_input_order_does_not_change_scores(ltr):
    forward = {result.text: result.score for result in ltr.rank("강아지 사료", PASSAGES)}
    backward = {result.text: result.score for result in ltr.rank("강아지 사료", PASSAGES[::-1])}
    assert forward == pytest.approx(backward)


def test_documented_odd_inputs(ltr):
    assert len(ltr.rank("강아지", [])) == 0
    duplicated = ltr.rank("강아지", [PASSAGES[1], PASSAGES[1]])
    assert [result.index for result in duplicated] == [0, 1] and duplicated[0].score == duplicated[1].score
    assert len(ltr.rank("🐶 강아지 vaccine?", ["", "🐶🐶", PASSAGES[1] * 50])) == 3


@pytest.mark.parametrize(
    ("query", "documents", "top_n", "error", "words"),
    [
        ("", PASSAGES, None, ValueError, "query"),
        ("   ", PASSAGES, None, ValueError, "query"),
        (None, PASSAGES, None, TypeError, "query"),
        ("강아지", None, None, TypeError, "documents"),
        ("강아지", "한 문자열", None, TypeError, "documents"),
        ("강아지", ["좋아요", None], None, TypeError, r"documents\[1\]"),
        ("강아지", ["좋아요", 3], None, TypeError, r"documents\[1\]"),
        ("강아지", PASSAGES, 0, ValueError, "top_n"),
        ("강아지", PASSAGES, -2, ValueError, "top_n"),
        ("강아지", PASSAGES, 1.5, ValueError, "top_n"),
    ],
)
def test_bad_rank_inputs_name_the_argument(ltr, query, documents, top_n, error, words):
    with pytest.raises(error, match=words):
        ltr.rank(query, documents, top_n=top_n)


def test_unknown_backend_and_model_list_what_exists():
    with pytest.raises(ValueError, match="feature-ltr"):
        load_reranker("colbert")
    with pytest.raises(ValueError, match="course-lexical-logreg"):
        load_reranker("feature-ltr", model="gpt-reranker")
    with pytest.raises(ValueError, match="model"):
        load_reranker("feature-ltr", model="")


def test_describe_says_backend_model_device_and_stand_in(ltr):
    assert ltr.describe() == "feature-ltr: course-lexical-logreg · cpu"
    assert not ltr.is_standin and "feature-ltr" in list_backends()


def test_compressor_in_a_langchain_pipeline_puts_scores_in_metadata(ltr, course_test_split):
    corpus = course_test_split[0]
    compressor = ltr.as_compressor(top_n=2)
    assert isinstance(compressor, BaseDocumentCompressor)
    pipeline = ContextualCompressionRetriever(
        base_compressor=compressor, base_retriever=build_retriever(to_documents(corpus), kind="bm25", k=10)
    )
    found = pipeline.invoke("강아지 예방접종 시기")
    assert len(found) == 2
    assert found[0].metadata["relevance_score"] >= found[1].metadata["relevance_score"]
    assert {"id", "title"} <= set(found[0].metadata)
    with pytest.raises(ValueError, match="top_n"):
        ltr.as_compressor(top_n=0)


def test_rerank_run_reorders_only_the_candidates(ltr, course_test_split):
    corpus, queries, qrels = course_test_split
    subset = dict(list(queries.items())[:8])
    candidates = retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=10), subset)
    reranked, latency = timed_rerank_run(ltr, subset, candidates, corpus)
    assert latency.count == 8 and 0 < latency.p50_ms <= latency.p95_ms
    assert {query_id: set(scores) for query_id, scores in reranked.items()} == {
        query_id: set(scores) for query_id, scores in candidates.items()
    }
    recall = evaluate(qrels, reranked, ["recall@10"])["recall@10"]
    assert recall == pytest.approx(evaluate(qrels, candidates, ["recall@10"])["recall@10"])


def test_feature_ltr_is_deterministic(ltr):
    assert ltr.feature_weights == load_reranker("feature-ltr").feature_weights
    assert len(ltr.feature_weights) == 7


def test_a_new_backend_is_one_registered_class(monkeypatch):
    monkeypatch.setattr("course_utils.rerankers.BACKENDS", dict(BACKENDS))

    @register_backend("length", default_model="chars", models=("chars",), summary="길이 순")
    class LengthReranker(Reranker):
        def __init__(self, model):
            self.model = model

        def _score(self, query, texts):
            return [float(len(text)) for text in texts]

    results = load_reranker("length").rank("아무 질의", ["짧음", "조금 더 긴 문장"])
    assert results[0].index == 1 and load_reranker("length").backend == "length"


def test_feature_ltr_model_is_trained_once_then_read_from_the_course_cache(tmp_path, monkeypatch):
    from course_utils.rerankers import feature_ltr

    cache_file = tmp_path / "feature-ltr" / "model.pkl"
    monkeypatch.setattr(feature_ltr, "_ltr_cache_path", lambda candidates: cache_file)
    fits = []
    real_fit = feature_ltr._fit_ltr_model
    monkeypatch.setattr(
        feature_ltr, "_fit_ltr_model", lambda candidates: fits.append(candidates) or real_fit(candidates)
    )
    texts = ["강아지 예방접종은 생후 6주부터 시작합니다.", "고양이 사료를 고르는 법"]

    def fresh_scores():
        feature_ltr._trained_ltr_model.cache_clear()
        return [result.score for result in load_reranker("feature-ltr").rank("강아지 예방접종 시기", texts)]

    try:
        trained = fresh_scores()
        assert fits == [20] and cache_file.is_file()
        assert fresh_scores() == trained and fits == [20]  # 두 번째는 캐시에서: 다시 학습하지 않음
        cache_file.write_bytes(b"\x80\x05 half-written")  # 깨진 파일은 버리고 다시 학습합니다
        assert fresh_scores() == trained and fits == [20, 20]
        assert sorted(path.name for path in cache_file.parent.iterdir()) == ["model.pkl"]  # 임시 파일이 남지 않음
    finally:
        feature_ltr._trained_ltr_model.cache_clear()


def test_torch_free_backends_score_without_importing_torch():
    # 콜드 스타트: feature-ltr 와 FlashRank 는 torch 를 쓰지 않으므로, 장치를 묻느라 torch(1–2초)를 불러오면 안 됩니다.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from course_utils.rerankers import load_reranker\n"
        "for backend in ('feature-ltr', 'flashrank'):\n"
        "    load_reranker(backend).rank('질의', ['문서 본문'])\n"
        "print(sorted(name for name in ('torch', 'transformers', 'sentence_transformers') if name in sys.modules))\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    assert finished.stdout.strip().splitlines()[-1] == "[]"
