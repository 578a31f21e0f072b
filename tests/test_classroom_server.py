"""교실 공용 리랭크 서버(``course_utils.rerank_server``)를 부하와 큰 요청으로 시험합니다 (127.0.0.1 만).

점수는 강의의 오프라인 모델이 냅니다 (이 CPU 에서 쌍 하나 약 60 ms). 그래서 요청은 짧은 문서 2개로 작게 두어,
클라이언트 30 × 요청 20 = 600 요청(쌍 1,200개)이 2코어에서도 1분 남짓에 끝나게 합니다.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from course_utils.rerank_server import CLASSROOM_MAX_BODY_BYTES, CLASSROOM_MAX_DOCUMENTS, RerankServer

CLIENTS = 30
REQUESTS_PER_CLIENT = 20
#: 부하 시험 전체의 상한(초). 넘으면 실패로 칩니다 (끝없이 매달리지 않게).
LOAD_DEADLINE_S = 240
QUERY = "강아지 예방접종 시기"
DOCUMENTS = ["강아지 예방접종은 생후 6~8주에 시작합니다.", "고양이 사료는 나이에 맞게 고릅니다."]


@pytest.fixture(scope="module")
def classroom_server():
    from course_utils.rerank_server import prepare_offline_scorer

    prepare_offline_scorer()
    with RerankServer(
        api_key="room-key", max_documents=CLASSROOM_MAX_DOCUMENTS, max_body_bytes=CLASSROOM_MAX_BODY_BYTES
    ) as server:
        yield server


def test_thirty_clients_get_answers_and_health_stays_responsive(classroom_server):
    url = f"{classroom_server.url}/v2/rerank"
    headers = {"Authorization": "Bearer room-key"}
    deadline = time.monotonic() + LOAD_DEADLINE_S
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with requests.Session() as session:
            for _ in range(REQUESTS_PER_CLIENT):
                if time.monotonic() > deadline:
                    with lock:
                        errors.append(f"client {number}: deadline")
                    return
                started = time.perf_counter()
                try:
                    reply = session.post(
                        url, json={"model": "m", "query": QUERY, "documents": DOCUMENTS}, headers=headers, timeout=120
                    )
                    ok = reply.status_code == 200 and reply.json()["results"][0]["index"] == 0
                    problem = None if ok else f"client {number}: HTTP {reply.status_code} {reply.text[:200]}"
                except requests.RequestException as error:
                    problem = f"client {number}: {type(error).__name__}"
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if problem:
                        errors.append(problem)

    health_latencies: list[float] = []
    stop_health = threading.Event()

    def watch_health() -> None:
        while not stop_health.is_set():
            started = time.perf_counter()
            reply = requests.get(f"{classroom_server.url}/health", timeout=5)
            assert reply.status_code == 200 and reply.json()["status"] == "ok"
            health_latencies.append(time.perf_counter() - started)
            stop_health.wait(0.5)

    watcher = threading.Thread(target=watch_health, daemon=True)
    started = time.perf_counter()
    watcher.start()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    elapsed = time.perf_counter() - started
    stop_health.set()
    watcher.join(timeout=10)

    latencies.sort()
    report = {
        "clients": CLIENTS,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "elapsed_s": round(elapsed, 1),
        "health_checks": len(health_latencies),
        "health_max_s": round(max(health_latencies), 3) if health_latencies else None,
    }
    print("classroom load:", json.dumps(report))
    assert errors == [], errors[:5]
    assert len(latencies) == CLIENTS * REQUESTS_PER_CLIENT
    # 점수 계산이 줄을 서 있어도 /health 는 바로 답해야 합니다 (강사가 서버가 살아 있는지 볼 수 있게).
    assert len(health_latencies) >= 3 and max(health_latencies) < 2.0, report


def post(server, body=None, raw=None):
    headers = {"Authorization": "Bearer room-key", "Content-Type": "application/json"}
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(f"{server.url}/v2/rerank", data=data, headers=headers, timeout=30)


def test_too_many_documents_get_a_clear_4xx(classroom_server):
    reply = post(classroom_server, {"query": "q", "documents": ["a"] * (CLASSROOM_MAX_DOCUMENTS + 1)})
    assert reply.status_code == 400
    message = reply.json()["message"]
    assert f"최대 {CLASSROOM_MAX_DOCUMENTS}개" in message and "나누어" in message


def test_huge_body_gets_413_and_the_server_keeps_serving(classroom_server):
    huge = json.dumps({"query": "q", "documents": ["가" * 1000] * 2000}).encode()
    assert len(huge) > CLASSROOM_MAX_BODY_BYTES
    reply = post(classroom_server, raw=huge)
    assert reply.status_code == 413 and "너무 큽니다" in reply.json()["message"]
    assert requests.get(f"{classroom_server.url}/health", timeout=5).status_code == 200
    assert post(classroom_server, {"query": QUERY, "documents": DOCUMENTS}).status_code == 200


@pytest.mark.parametrize("length", ["-5", "abc"])
def test_bad_content_length_is_a_400_not_a_hang(classroom_server, length):
    import socket

    host, port = classroom_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            f"POST /v2/rerank HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer room-key\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        head = connection.recv(200).decode("latin-1")
    assert head.startswith("HTTP/1.0 400") or head.startswith("HTTP/1.1 400"), head


def test_server_shuts_down_cleanly_while_a_client_waits():
    slow_started = threading.Event()

    def slow_scores(query, texts):
        slow_started.set()
        time.sleep(1.0)
        return [0.0] * len(texts)

    server = RerankServer(score_fn=slow_scores, api_key="k").start()
    outcome: dict[str, object] = {}

    def request() -> None:
        try:
            outcome["status"] = requests.post(
                f"{server.url}/v2/rerank",
                json={"query": "q", "documents": ["a"]},
                headers={"Authorization": "Bearer k"},
                timeout=10,
            ).status_code
        except requests.RequestException as error:
            outcome["status"] = type(error).__name__

    waiting = threading.Thread(target=request)
    waiting.start()
    assert slow_started.wait(10)
    started = time.perf_counter()
    server.stop()
    waiting.join(timeout=15)
    assert time.perf_counter() - started < 5 and not waiting.is_alive()
    assert outcome["status"] in (200, "ConnectionError")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/health", timeout=2)
