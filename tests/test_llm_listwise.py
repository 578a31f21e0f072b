"""``llm-listwise`` 백엔드: 실제 ``ChatOpenAI`` 가 로컬 서버의 ``/v1/chat/completions`` 로 요청을 보내는 경로와 그 장애."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from course_utils.listwise import build_listwise_messages
from course_utils.rerank_server import RerankServer
from course_utils.rerankers import RerankAPIError, load_reranker

FAKE_KEY = "canary-key-0123456789"
QUERY = "강아지 예방접종 시기"
# 점수 = 글자 수인 서버에서 정답 순서는 긴 것부터입니다.
LENGTHS = [3, 1, 7, 2, 9, 4, 5, 8, 6]
TEXTS = ["가" * length for length in LENGTHS]


@pytest.fixture
def server():
    with RerankServer(score_fn=lambda query, texts: [float(len(t)) for t in texts], api_key=FAKE_KEY) as running:
        yield running


def listwise(server, **options):
    options.setdefault("timeout", 5.0)
    return load_reranker("llm-listwise", api_key=FAKE_KEY, base_url=f"{server.url}/v1", **options)


def chat(server, body, key=FAKE_KEY):
    return requests.post(
        f"{server.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def test_endpoint_answers_the_listwise_prompt_in_openai_shape(server):
    messages = build_listwise_messages(QUERY, TEXTS[:3])
    reply = chat(server, {"model": "gpt-5.4-mini", "messages": messages})
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-5.4-mini"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "[3] > [1] > [2]"}
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},
        {"model": "m", "messages": "안녕"},
        {"model": "m", "messages": [{"role": "user", "content": "안녕하세요"}]},
        {"model": "m", "messages": ["문자열"]},
    ],
)
def test_endpoint_rejects_other_prompts_in_openai_error_shape(server, body):
    reply = chat(server, body)
    assert reply.status_code == 400
    assert set(reply.json()["error"]) >= {"message", "type"}


def test_endpoint_checks_the_key(server):
    reply = chat(server, {"model": "m", "messages": build_listwise_messages(QUERY, TEXTS[:2])}, key="wrong")
    assert reply.status_code == 401 and "error" in reply.json()


def test_listwise_ranking_with_windows_counts_calls_and_tokens(server):
    reranker = listwise(server, window=4, step=2)
    ranked = reranker.rank(QUERY, TEXTS)
    best_first = sorted(range(len(TEXTS)), key=lambda index: -LENGTHS[index])
    # 창이 2개씩 겹치므로 맨 앞의 두 문단은 반드시 정답 순서입니다.
    assert [result.index for result in ranked][:2] == best_first[:2]
    usage = reranker.last_usage
    assert usage.calls == 4 and usage.input_tokens > 0 and usage.output_tokens > 0 and usage.repaired_answers == 0
    reranker.rank(QUERY, TEXTS[:3])
    assert reranker.total_usage.calls == 5 and reranker.last_usage.calls == 1
    assert not reranker.is_standin and reranker.device == "자체 호스팅 API"


def test_with_one_window_the_whole_order_comes_from_the_llm(server):
    ranked = listwise(server).rank(QUERY, TEXTS)
    assert [result.index for result in ranked] == sorted(range(len(TEXTS)), key=lambda index: -LENGTHS[index])
    assert [result.score for result in ranked] == sorted((result.score for result in ranked), reverse=True)


@pytest.mark.parametrize(("fault", "kind"), [("401", "auth"), ("403", "auth"), ("malformed", "malformed")])
def test_failures_that_retrying_cannot_fix_end_at_once_with_a_korean_message(server, fault, kind):
    server.inject_faults(fault)
    started = time.perf_counter()
    with pytest.raises(RerankAPIError) as caught:
        listwise(server).rank(QUERY, TEXTS[:3])
    assert caught.value.kind == kind and "OpenAI" in str(caught.value)
    assert FAKE_KEY not in str(caught.value)
    assert time.perf_counter() - started < 5


def test_rate_limit_follows_retry_after_and_then_succeeds(server):
    server.inject_faults("429", retry_after_seconds=1)
    started = time.perf_counter()
    ranked = listwise(server).rank(QUERY, TEXTS[:3])
    assert [result.index for result in ranked] == [2, 0, 1]
    assert 0.9 <= time.perf_counter() - started < 10


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_retried_a_bounded_number_of_times(server, status):
    server.inject_faults(*[status] * 10)
    started = time.perf_counter()
    with pytest.raises(RerankAPIError) as caught:
        listwise(server, max_retries=2).rank(QUERY, TEXTS[:3])
    assert caught.value.kind == "server" and caught.value.status == int(status)
    assert time.perf_counter() - started < 15


def test_a_slow_server_ends_in_a_timeout(server):
    server.inject_faults(*["slow"] * 5, slow_seconds=3)
    started = time.perf_counter()
    with pytest.raises(RerankAPIError) as caught:
        listwise(server, timeout=0.5, max_retries=0).rank(QUERY, TEXTS[:3])
    assert caught.value.kind == "timeout"
    assert time.perf_counter() - started < 3


def test_a_refused_connection_says_check_the_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reranker = load_reranker(
        "llm-listwise", api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout=2.0, max_retries=0
    )
    with pytest.raises(RerankAPIError) as caught:
        reranker.rank(QUERY, TEXTS[:3])
    assert caught.value.kind == "connection"


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"window": 1}, "window"),
        ({"step": 20}, "step"),
        ({"max_passage_chars": 0}, "max_passage_chars"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_options_name_the_option(server, options, word):
    with pytest.raises(ValueError, match=word):
        listwise(server, **options)


def test_without_a_key_the_local_endpoint_answers_from_the_offline_model_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reranker = load_reranker("llm-listwise")
    assert reranker.is_standin and "multilingual-e5-small" in reranker.describe()
    assert "대체 모델" in reranker.describe() and "gpt-5.4-mini" in reranker.describe()
    documents = ["고양이 사료는 나이에 맞게 고릅니다.", "강아지 예방접종은 생후 6~8주에 시작합니다."]
    assert reranker.rank("강아지 예방접종은 언제 시작하나요?", documents)[0].index == 1
    assert reranker.last_usage.calls == 1
