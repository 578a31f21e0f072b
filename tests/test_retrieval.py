import pytest
from langchain_core.documents import Document

from course_utils.data import to_documents
from course_utils.metrics import evaluate
from course_utils.retrieval import build_retriever, get_embeddings, kiwi_tokenize, retrieval_run, search
from course_utils.standins import CharNgramEmbeddings


@pytest.fixture(scope="module")
def course_documents(course_test_split):
    return to_documents(course_test_split[0])


def test_kiwi_drops_particles_and_endings():
    assert kiwi_tokenize("강아지가 산책을 좋아해요") == ["강아지", "산책", "좋아하"]
    assert kiwi_tokenize("강아지는") == kiwi_tokenize("강아지를")
    assert kiwi_tokenize("") == []
    with pytest.raises(TypeError, match="text"):
        kiwi_tokenize(None)


@pytest.mark.parametrize("kind", ["vector", "bm25", "hybrid"])
def test_each_retriever_returns_k_documents_with_ids(course_documents, kind):
    retriever = build_retriever(course_documents, kind=kind, k=7, embeddings=CharNgramEmbeddings())
    found = search(retriever, "강아지 예방접종 시기")
    ids = [document.metadata["id"] for document in found]
    assert len(ids) == len(set(ids)) and 7 <= len(ids) <= 14
    assert "pet-003" in ids[:3]
    assert len(search(retriever, "강아지 예방접종 시기", k=3)) == 3


def test_first_stage_quality_floor_on_the_course_test_split(course_test_split, course_documents):
    """측정값(README)보다 한참 낮은 바닥선: 검색 경로가 망가지면 떨어집니다."""
    _, queries, qrels = course_test_split
    run = retrieval_run(build_retriever(course_documents, kind="bm25", k=20), queries)
    assert evaluate(qrels, run, ["recall@20"])["recall@20"] > 0.6


def test_retrieval_run_scores_follow_rank(course_documents):
    retriever = build_retriever(course_documents, kind="bm25", k=4)
    run = retrieval_run(retriever, {"q": "여권 재발급"})
    assert list(run["q"].values()) == [4.0, 3.0, 2.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"kind": "sparse"}, ValueError, "kind"),
        ({"k": 0}, ValueError, "k 는"),
        ({"k": "10"}, ValueError, "k 는"),
        ({"k": True}, ValueError, "k 는"),
    ],
)
def test_bad_retriever_arguments(course_documents, kwargs, error, words):
    with pytest.raises(error, match=words):
        build_retriever(course_documents, **kwargs)


def test_empty_or_wrong_documents():
    with pytest.raises(ValueError, match="documents"):
        build_retriever([], kind="bm25")
    with pytest.raises(TypeError, match="Document"):
        build_retriever(["그냥 문자열"], kind="bm25")


@pytest.mark.parametrize("query", ["", "   ", None])
def test_empty_query_is_rejected(course_documents, query):
    retriever = build_retriever(course_documents[:5], kind="bm25", k=2)
    with pytest.raises(ValueError, match="query"):
        search(retriever, query)


def test_emoji_and_mixed_scripts_search_without_error(course_documents):
    retriever = build_retriever(course_documents, kind="hybrid", k=3, embeddings=CharNgramEmbeddings())
    assert len(search(retriever, "🐶 강아지 vaccination 예방接種?")) >= 3


def test_offline_embeddings_are_the_announced_stand_in(capsys):
    embeddings = get_embeddings()
    assert isinstance(embeddings, CharNgramEmbeddings)
    get_embeddings()
    assert capsys.readouterr().out.count("[대체 모델 사용]") <= 1


@pytest.mark.filterwarnings("ignore:huggingface_hub/transformers:RuntimeWarning")
def test_openai_is_chosen_when_a_key_exists_and_not_forced_offline(monkeypatch, fresh_runtime):
    from langchain_openai import OpenAIEmbeddings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("RERANK_COURSE_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("course_utils.env.hub_reachable", lambda *a, **k: False)
    fresh_runtime()
    embeddings = get_embeddings()
    assert isinstance(embeddings, OpenAIEmbeddings) and embeddings.request_timeout == 30


def test_explicit_choices_fail_clearly_offline():
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        get_embeddings("openai")
    with pytest.raises(RuntimeError, match="허브"):
        get_embeddings("huggingface")
    with pytest.raises(ValueError, match="choice"):
        get_embeddings("word2vec")


def test_char_ngram_embeddings_are_normalised_and_deterministic():
    embeddings = CharNgramEmbeddings()
    first = embeddings.embed_query("반려견 산책 시간")
    assert first == CharNgramEmbeddings().embed_query("반려견 산책 시간")
    assert abs(sum(value * value for value in first) - 1.0) < 1e-5
    near, far = embeddings.embed_documents(["반려견 산책은 하루 두 번", "예금자 보호 제도"])
    similarity = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert similarity(first, near) > similarity(first, far)
    assert embeddings.embed_documents([]) == []
    assert not any(embeddings.embed_query(""))


def test_documents_keep_their_metadata_through_faiss():
    documents = [Document(page_content="강아지 산책", metadata={"id": "a", "title": "산책"})]
    found = search(build_retriever(documents, kind="vector", k=1, embeddings=CharNgramEmbeddings()), "산책")
    assert found[0].metadata == {"id": "a", "title": "산책"}
