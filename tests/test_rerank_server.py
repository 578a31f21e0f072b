import json
import socket

import pytest
import requests

from course_utils.rerank_server import RerankServer


def by_length(query, texts):
    return [float(len(text)) for text in texts]


@pytest.fixture
def server():
    with RerankServer(score_fn=by_length, api_key="test-key") as running:
        yield running


def post(server, path, body, key="test-key", raw=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if raw is not None:
        return requests.post(f"{server.url}{path}", data=raw, headers=headers, timeout=10)
    return requests.post(f"{server.url}{path}", json=body, headers=headers, timeout=10)


def test_listens_on_loopback_with_a_free_port(server):
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")


def test_cohere_v2_shape(server):
    reply = post(
        server, "/v2/rerank", {"model": "rerank-v3.5", "query": "q", "documents": ["a", "ccc", "bb"], "top_n": 2}
    )
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"id", "results", "meta"} and body["meta"]["billed_units"]["search_units"] == 1
    assert body["results"] == [{"index": 1, "relevance_score": 3.0}, {"index": 2, "relevance_score": 2.0}]


def test_jina_v1_shape_accepts_text_objects(server):
    body = post(server, "/v1/rerank", {"model": "m", "query": "q", "documents": [{"text": "a"}, "bbb"]}).json()
    assert [result["index"] for result in body["results"]] == [1, 0]
    assert body["results"][0]["document"] == {"text": "bbb"} and body["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize(("path", "field"), [("/v2/rerank", "message"), ("/v1/rerank", "detail")])
def test_requests_without_the_bearer_key_get_401(server, key, path, field):
    reply = post(server, path, {"query": "q", "documents": ["a"]}, key=key)
    assert reply.status_code == 401 and field in reply.json()


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, b"{not json"),
        (None, b"[1, 2]"),
        ({"query": "", "documents": ["a"]}, None),
        ({"query": "q", "documents": "a"}, None),
        ({"query": "q", "documents": [3]}, None),
        ({"query": "q", "documents": ["a"], "top_n": 0}, None),
        ({"query": "q", "documents": ["a"] * 1001}, None),
    ],
)
def test_malformed_requests_get_400(server, body, raw):
    assert post(server, "/v2/rerank", body, raw=raw).status_code == 400


def test_unknown_path_is_404(server):
    assert post(server, "/v3/rerank", {"query": "q", "documents": []}).status_code == 404


def test_empty_document_list_is_an_empty_result(server):
    assert post(server, "/v2/rerank", {"query": "q", "documents": []}).json()["results"] == []


def test_stops_cleanly_and_frees_the_port():
    running = RerankServer(score_fn=by_length).start()
    host, port = running.url.removeprefix("http://").split(":")
    running.stop()
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
        pass


def test_langchain_jina_compressor_runs_against_it():
    """JinaRerank 자체는 고치지 않고, 세션만 바꿔 이 서버로 보냅니다 (실제 API 와 같은 코드 경로)."""
    from langchain_community.document_compressors import JinaRerank
    from langchain_core.documents import Document

    from course_utils.rerankers.api import _TimeoutSession

    with RerankServer(score_fn=by_length, api_key="k") as running:
        compressor = JinaRerank(jina_api_key="k", model="jina-reranker-v2-base-multilingual", top_n=1)
        compressor.session = _TimeoutSession("k", running.url)
        found = compressor.compress_documents([Document(page_content="a"), Document(page_content="abc")], "q")
    assert [(document.page_content, document.metadata["relevance_score"]) for document in found] == [("abc", 3.0)]
    assert json.dumps(found[0].metadata)
