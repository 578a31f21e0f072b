import pytest
from langchain_core.documents import Document

from course_utils.data import to_documents
from course_utils.metrics import evaluate
from course_utils.retrieval import build_retriever, get_embeddings, kiwi_tokenize, retrieval_run, search


@pytest.fixture(scope="module")
def course_documents(course_test_split):
    return to_documents(course_test_split[0])


@pytest.fixture(scope="module")
def e5():
    """오프라인 e5-small 임베딩. 같은 문단을 여러 테스트가 다시 임베딩하지 않게 메모리 캐시를 씌웁니다."""
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_core.stores import InMemoryByteStore

    return CacheBackedEmbeddings.from_bytes_store(
        get_embeddings(), InMemoryByteStore(), namespace="e5", key_encoder="sha256"
    )


def test_kiwi_drops_particles_and_endings():
    assert kiwi_tokenize("강아지가 산책을 좋아해요") == ["강아지", "산책", "좋아하"]
    assert kiwi_tokenize("강아지는") == kiwi_tokenize("강아지를")
    assert kiwi_tokenize("") == []
    with pytest.raises(TypeError, match="text"):
        kiwi_tokenize(None)


@pytest.mark.parametrize("kind", ["vector", "bm25", "hybrid"])
def test_each_retriever_returns_k_documents_with_ids(course_documents, kind, e5):
    retriever = build_retriever(course_documents, kind=kind, k=7, embeddings=e5)
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


def test_emoji_and_mixed_scripts_search_without_error(course_documents, e5):
    retriever = build_retriever(course_documents, kind="hybrid", k=3, embeddings=e5)
    assert len(search(retriever, "🐶 강아지 vaccination 예방接種?")) >= 3


def test_offline_embeddings_are_e5_through_the_online_class_and_prompts(capsys):
    from langchain_huggingface import HuggingFaceEmbeddings

    from course_utils.offline_models import OFFLINE_EMBEDDING_LABEL, bi_encoder_path

    embeddings = get_embeddings()
    assert isinstance(embeddings, HuggingFaceEmbeddings)
    assert embeddings.model_name == str(bi_encoder_path())
    assert embeddings.encode_kwargs["prompt"] == "passage: " and embeddings.query_encode_kwargs["prompt"] == "query: "
    get_embeddings()
    out = capsys.readouterr().out
    assert out.count("[대체 모델 사용]") <= 1 and "글자 n-gram" not in out
    if "[대체 모델 사용]" in out:
        assert OFFLINE_EMBEDDING_LABEL in out


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
    with pytest.raises(ValueError, match="choice"):
        get_embeddings("word2vec")


def test_offline_embeddings_are_normalised_and_understand_paraphrases(e5):
    query = e5.embed_query("반려견 산책 시간")
    assert abs(sum(value * value for value in query) - 1.0) < 1e-5
    # 글자가 거의 겹치지 않는 바꿔 말하기(강아지 ↔ 반려견)도 실제 가중치는 알아봅니다.
    near, far = e5.embed_documents(["강아지는 하루 두 번 밖에 데리고 나가 걷게 합니다.", "예금자 보호 제도"])
    similarity = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert similarity(query, near) > similarity(query, far) + 0.05


def test_documents_keep_their_metadata_through_faiss(e5):
    documents = [Document(page_content="강아지 산책", metadata={"id": "a", "title": "산책"})]
    found = search(build_retriever(documents, kind="vector", k=1, embeddings=e5), "산책")
    assert found[0].metadata == {"id": "a", "title": "산책"}
