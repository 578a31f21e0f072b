"""API 장애: 모든 Cohere·Jina 호출이 정해진 시간 안에, 무엇을 하면 되는지 알려 주는 한국어 오류로 끝나는지 봅니다.

로컬 서버에 장애를 주입하고, 실제 SDK(cohere.ClientV2)와 LangChain 압축기(CohereRerank, JinaRerank) 경로로 부릅니다.
"""

import time

import pytest
from langchain_core.documents import Document

from course_utils.rerank_server import RerankServer
from course_utils.rerankers import RerankAPIError, load_reranker
from course_utils.rerankers import api as rerank_api

QUERY = "강아지 예방접종 시기"
TEXTS = ["짧음", "조금 더 긴 문서입니다"]
FAKE_KEY = "canary-key-0123456789"
BACKENDS = ("cohere", "jina")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(rerank_api, "API_BACKOFF_BASE_S", 0.01)


@pytest.fixture
def server():
    with RerankServer(score_fn=lambda query, texts: [float(len(t)) for t in texts], api_key=FAKE_KEY) as running:
        yield running


def reranker_for(backend, server, timeout=5.0):
    return load_reranker(backend, api_key=FAKE_KEY, base_url=server.url, timeout=timeout)


def expect_failure(reranker, kind, words, bound_s):
    started = time.perf_counter()
    with pytest.raises(RerankAPIError) as caught:
        reranker.rank(QUERY, TEXTS)
    elapsed = time.perf_counter() - started
    assert caught.value.kind == kind and words in str(caught.value)
    assert FAKE_KEY not in str(caught.value)
    assert elapsed < bound_s, f"{elapsed:.1f}s"
    return caught.value


@pytest.mark.parametrize("backend", BACKENDS)
def test_healthy_self_hosted_server_works_with_any_model_name(backend, server):
    reranker = load_reranker(backend, "BAAI/bge-reranker-v2-m3", api_key=FAKE_KEY, base_url=server.url)
    assert not reranker.is_standin and reranker.device == "자체 호스팅 API"
    assert [result.index for result in reranker.rank(QUERY, TEXTS)] == [1, 0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("status", ["401", "403"])
def test_rejected_key_says_check_the_key(backend, server, status):
    server.inject_faults(status)
    error = expect_failure(reranker_for(backend, server), "auth", "키", bound_s=5)
    assert error.status == int(status) and "RERANK_COURSE_OFFLINE=1" in str(error)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rate_limit_is_retried_honouring_retry_after_then_succeeds(backend, server):
    server.inject_faults("429", "429", retry_after_seconds=1)
    started = time.perf_counter()
    assert [result.index for result in reranker_for(backend, server).rank(QUERY, TEXTS)] == [1, 0]
    # 두 번의 429 에 Retry-After: 1 을 따르면 적어도 2초를 기다립니다.
    assert 1.9 < time.perf_counter() - started < 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_persistent_rate_limit_gives_up_after_bounded_retries(backend, server):
    server.inject_faults(*["429"] * 6, retry_after_seconds=0)
    expect_failure(reranker_for(backend, server), "rate_limit", "기다린 뒤", bound_s=10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("status", ["500", "503"])
def test_transient_server_error_is_retried(backend, server, status):
    server.inject_faults(status)
    assert len(reranker_for(backend, server).rank(QUERY, TEXTS)) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_persistent_server_error_gives_up(backend, server):
    server.inject_faults(*["503"] * 6)
    expect_failure(reranker_for(backend, server), "server", "잠시 뒤", bound_s=10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_slow_response_hits_the_timeout(backend, server):
    server.inject_faults("slow", slow_seconds=3)
    expect_failure(reranker_for(backend, server, timeout=0.5), "timeout", "제한 시간", bound_s=2.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_json_is_reported(backend, server):
    server.inject_faults("malformed")
    expect_failure(reranker_for(backend, server), "malformed", "읽을 수 없습니다", bound_s=5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_connection_refused_is_reported(backend):
    closed = RerankServer(score_fn=lambda query, texts: [0.0] * len(texts)).start()
    url = closed.url
    closed.stop()
    reranker = load_reranker(backend, api_key=FAKE_KEY, base_url=url, timeout=2)
    expect_failure(reranker, "connection", "연결할 수 없습니다", bound_s=5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_langchain_compressor_path_raises_the_same_errors(backend, server):
    server.inject_faults("401")
    compressor = reranker_for(backend, server).as_compressor(top_n=1)
    with pytest.raises(RerankAPIError, match="키"):
        compressor.compress_documents([Document(page_content=text) for text in TEXTS], QUERY)


def test_cohere_compressor_sends_max_tokens_per_doc(server):
    seen = {}

    def spy(query, texts):
        seen["count"] = len(texts)
        return [0.0] * len(texts)

    with RerankServer(score_fn=spy, api_key=FAKE_KEY) as spying:
        compressor = load_reranker(
            "cohere", api_key=FAKE_KEY, base_url=spying.url, max_tokens_per_doc=64
        ).as_compressor(1)
        assert compressor.max_tokens_per_doc == 64
        assert len(compressor.compress_documents([Document(page_content="a")], QUERY)) == 1
    assert seen["count"] == 1


def test_unknown_fault_names_are_rejected(server):
    with pytest.raises(ValueError, match="429"):
        server.inject_faults("418")


def test_retired_cohere_model_is_refused_even_self_hosted(server):
    with pytest.raises(ValueError, match="2025-04-30"):
        load_reranker("cohere", "rerank-english-v2.0", api_key=FAKE_KEY, base_url=server.url)
