"""로컬 리랭크 API 서버: Cohere(``POST /v2/rerank``)와 Jina·vLLM(``POST /v1/rerank``) 모양으로 답하고,
LLM 리스트와이즈 리랭킹용으로 OpenAI 모양(``POST /v1/chat/completions``)의 순열 답도 냅니다.

키나 네트워크가 없을 때 수정하지 않은 ``langchain_cohere.CohereRerank`` 와 ``JinaRerank`` 가 이 서버로
요청을 보내게 해서, 실제 API 와 같은 코드 경로를 오프라인으로 돌립니다. 점수는 강의의 오프라인 모델
(multilingual-e5-small 을 크로스 인코더 모양으로 만든 것, ``course_utils.offline_models``)이 냅니다. 자체 호스팅(self-hosting) 수업도 겸합니다: vLLM 과 Infinity 같은 서빙 엔진이 같은 모양의 API 를 냅니다.

Example:
    >>> with RerankServer(score_fn=lambda query, texts: [float(len(t)) for t in texts]) as server:
    ...     import requests
    ...     reply = requests.post(
    ...         f"{server.url}/v2/rerank",
    ...         json={"model": "m", "query": "q", "documents": ["a", "abc"]},
    ...         headers={"Authorization": f"Bearer {server.api_key}"},
    ...         timeout=10,
    ...     ).json()
    ...     [result["index"] for result in reply["results"]]
    [1, 0]
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import functools
import json
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ScoreFunction = Callable[[str, list[str]], list[float]]
#: 한 요청에 받는 최대 문서 수 (Cohere 와 같은 한도). 지나치게 큰 요청으로 서버가 멈추지 않게 합니다.
MAX_DOCUMENTS = 1000
MAX_BODY_BYTES = 10 * 1024 * 1024
#: 교실 공용 서버의 기본 한도: CPU 에서 쌍 하나에 수십 ms 라, 한 사람의 큰 요청이 방 전체를 세우지 않게 합니다.
CLASSROOM_MAX_DOCUMENTS = 100
CLASSROOM_MAX_BODY_BYTES = 1024 * 1024
#: 한도를 넘은 본문을 버리며 읽는 최대 양. 그 너머는 읽지 않고 연결을 닫습니다.
DISCARD_LIMIT_BYTES = 64 * 1024 * 1024
#: 장애 주입(fault injection)에 쓸 수 있는 이름. 수업과 테스트에서 API 가 실패하는 모습을 재현합니다.
FAULTS = ("401", "403", "429", "500", "503", "slow", "malformed")


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_request(body: dict, max_documents: int = MAX_DOCUMENTS) -> tuple[str, list[str], int | None, str]:
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(HTTPStatus.BAD_REQUEST, "query must be a non-empty string")
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise RequestError(HTTPStatus.BAD_REQUEST, f"documents must be a list of at most {max_documents} items")
    if len(documents) > max_documents:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"documents must be a list of at most {max_documents} items (got {len(documents)}). "
            f"documents 에는 문서를 최대 {max_documents}개까지 넣을 수 있습니다 (받은 수: {len(documents)}). "
            "요청을 나누어 보내세요.",
        )
    texts = []
    for item in documents:
        # Jina 는 {"text": ...} 객체도 받습니다.
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise RequestError(HTTPStatus.BAD_REQUEST, "each document must be a string or an object with 'text'")
        texts.append(text)
    top_n = body.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise RequestError(HTTPStatus.BAD_REQUEST, "top_n must be a positive integer")
    return query, texts, top_n, str(body.get("model") or "")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args) -> None:
        """요청마다 stderr 에 찍히는 기본 로그를 끕니다 (노트북 출력이 지저분해지지 않게)."""

    def _send(self, status: HTTPStatus, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str, shape: str) -> None:
        self._send(status, _error_payload(shape, message))

    def _apply_fault(self, fault: str, shape: str) -> bool:
        """주입된 장애를 흉내 냅니다. 요청을 여기서 끝냈으면 ``True``."""
        if fault == "slow":
            time.sleep(self.server.slow_seconds)
            return False
        if fault == "malformed":
            data = b'{"results": [ this is not json'
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        status = HTTPStatus(int(fault))
        payload = json.dumps(_error_payload(shape, f"injected fault {fault}")).encode()
        self.send_response(status)
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            self.send_header("Retry-After", str(self.server.retry_after_seconds))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        return True

    def _discard_body(self, length: int) -> None:
        self.close_connection = True
        remaining = min(length, DISCARD_LIMIT_BYTES)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    def do_GET(self) -> None:
        """``GET /health``: 모델 점수 계산과 상관없이 바로 답합니다 (부하 중에도 서버가 살아 있는지 확인용)."""
        if self.path.rstrip("/") != "/health":
            self._error(HTTPStatus.NOT_FOUND, f"unknown path {self.path}; use GET /health", False)
            return
        self._send(HTTPStatus.OK, {"status": "ok", "in_flight": self.server.in_flight})

    def do_POST(self) -> None:
        shape = _ROUTES.get(self.path.rstrip("/"))
        if shape is None:
            message = f"unknown path {self.path}; use /v2/rerank, /v1/rerank or /v1/chat/completions"
            self._error(HTTPStatus.NOT_FOUND, message, "cohere")
            return
        fault = self.server.next_fault()
        if fault and self._apply_fault(fault, shape):
            return
        if self.headers.get("Authorization", "") != f"Bearer {self.server.api_key}":
            self._error(HTTPStatus.UNAUTHORIZED, "invalid or missing bearer token", shape)
            return
        try:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length must be a non-negative integer")
            if length > self.server.max_body_bytes:
                # 본문을 메모리에 올리지 않고 흘려 읽은 뒤 답합니다 (읽지 않고 닫으면 보내던 쪽은 413 대신
                # "연결 끊김" 만 봅니다). 터무니없이 크면 그만 읽고 연결을 닫습니다.
                self._discard_body(length)
                raise RequestError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"request body too large ({length} bytes, limit {self.server.max_body_bytes}). "
                    f"요청 본문이 너무 큽니다 ({length}바이트, 한도 {self.server.max_body_bytes}바이트). "
                    "문서를 줄이거나 요청을 나누어 보내세요.",
                )
            body = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(body, dict):
                raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            if shape == "openai":
                query, texts = _parse_chat_request(body, self.server.max_documents)
                top_n, model = None, str(body.get("model") or "")
            else:
                query, texts, top_n, model = _parse_request(body, self.server.max_documents)
        except json.JSONDecodeError:
            self._error(HTTPStatus.BAD_REQUEST, "body is not valid JSON", shape)
            return
        except RequestError as error:
            self._error(error.status, str(error), shape)
            return
        try:
            scores = self.server.score(query, texts) if texts else []
        except Exception as error:
            message = f"scoring failed: {type(error).__name__}. 점수 계산에 실패했습니다. 서버 로그를 확인하세요."
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, message, shape)
            return
        order = sorted(range(len(texts)), key=lambda index: (-scores[index], index))[:top_n]
        if shape == "openai":
            self._send(HTTPStatus.OK, _chat_completion(model, body["messages"], order))
        elif shape == "jina":
            results = [{"index": i, "relevance_score": float(scores[i]), "document": {"text": texts[i]}} for i in order]
            tokens = sum(len(query) + len(text) for text in texts)
            self._send(HTTPStatus.OK, {"model": model, "usage": {"total_tokens": tokens}, "results": results})
        else:
            results = [{"index": i, "relevance_score": float(scores[i])} for i in order]
            meta = {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
            self._send(HTTPStatus.OK, {"id": str(uuid.uuid4()), "results": results, "meta": meta})


#: 경로 → 응답 모양. 오류 본문의 모양도 서비스마다 다릅니다.
_ROUTES = {"/v2/rerank": "cohere", "/v1/rerank": "jina", "/v1/chat/completions": "openai"}


def _error_payload(shape: str, message: str) -> dict:
    """Cohere 는 ``{"message"}``, Jina 는 ``{"detail"}``, OpenAI 는 ``{"error": {"message", "type"}}`` 로 알립니다."""
    if shape == "openai":
        return {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return {"detail": message} if shape == "jina" else {"message": message}


def _parse_chat_request(body: dict, max_documents: int) -> tuple[str, list[str]]:
    """``/v1/chat/completions`` 본문에서 강의의 리스트와이즈 프롬프트(질의와 번호 붙은 문단)를 읽습니다."""
    from .listwise import read_listwise_request

    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(message, dict) for message in messages):
        raise RequestError(HTTPStatus.BAD_REQUEST, "messages must be a list of {role, content} objects")
    try:
        query, passages = read_listwise_request(messages)
    except ValueError as error:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"this local endpoint only answers the course's listwise prompt: {error}",
        ) from None
    if len(passages) > max_documents:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"at most {max_documents} passages per request")
    return query, passages


def _chat_completion(model: str, messages: list[dict], order: list[int]) -> dict:
    """오프라인 모델의 순서를 ``[2] > [1] > ...`` 로 적은 OpenAI 모양의 응답.

    토큰 수는 어림값입니다 (한국어는 대략 두 글자에 한 토큰): 실제 API 의 토크나이저로 센 값이 아닙니다.
    """
    answer = " > ".join(f"[{index + 1}]" for index in order)
    prompt_tokens = sum(len(str(message.get("content", ""))) for message in messages) // 2
    completion_tokens = len(answer) // 2
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclasses.dataclass
class _Job:
    query: str
    texts: list[str]
    scores: list[float] = dataclasses.field(default_factory=list)
    error: Exception | None = None
    done: threading.Event = dataclasses.field(default_factory=threading.Event)


#: 작업 스레드가 한 번에 모으는 요청 수의 상한 (문서 수 한도와 곱해 메모리가 넘치지 않게).
MAX_BATCH_JOBS = 32


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # 기본 대기열(5)로는 교실 30명이 한꺼번에 연결할 때 연결이 거절됩니다.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        score_fn: ScoreFunction,
        api_key: str,
        max_documents: int = MAX_DOCUMENTS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        super().__init__(address, _Handler)
        self.score_fn = score_fn
        self.api_key = api_key
        self.max_documents = max_documents
        self.max_body_bytes = max_body_bytes
        # 모델 하나를 여러 요청 스레드가 함께 쓰면 토크나이저가 "Already borrowed" 로 깨질 수 있고, CPU 에서는
        # 동시에 계산해도 빨라지지 않습니다. 점수 계산은 작업 스레드 하나가 맡고, 요청 받기와 /health 는 막지 않습니다.
        # 교실에서는 모두 같은 셀을 같은 때에 돌리므로, 기다리는 요청 중 질의가 같은 것은 한 번에 계산합니다.
        self.pending: queue.Queue[_Job] = queue.Queue()
        self.in_flight = 0
        threading.Thread(target=self._score_worker, name="rerank-scorer", daemon=True).start()
        self.faults: collections.deque[str] = collections.deque()
        self.faults_lock = threading.Lock()
        self.slow_seconds = 5.0
        self.retry_after_seconds = 1

    def score(self, query: str, texts: list[str]) -> list[float]:
        """작업 스레드에 점수 계산을 맡기고 기다립니다. 계산이 실패하면 그 예외를 다시 냅니다."""
        job = _Job(query, texts)
        with self.faults_lock:
            self.in_flight += 1
        try:
            self.pending.put(job)
            job.done.wait()
        finally:
            with self.faults_lock:
                self.in_flight -= 1
        if job.error is not None:
            raise job.error
        return job.scores

    def _score_worker(self) -> None:
        while True:
            jobs = [self.pending.get()]
            if jobs[0] is None:
                return
            while len(jobs) < MAX_BATCH_JOBS:
                try:
                    jobs.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            stop = None in jobs
            by_query: dict[str, list[_Job]] = {}
            for job in jobs:
                if job is not None:
                    by_query.setdefault(job.query, []).append(job)
            for query, group in by_query.items():
                texts = [text for job in group for text in job.texts]
                try:
                    scores = list(self.score_fn(query, texts))
                except Exception as error:  # 요청마다 500 으로 알리고 서버는 계속 돕니다.
                    for job in group:
                        job.error = error
                        job.done.set()
                    continue
                start = 0
                for job in group:
                    job.scores = scores[start : start + len(job.texts)]
                    start += len(job.texts)
                    job.done.set()
            if stop:
                return

    def server_close(self) -> None:
        self.pending.put(None)  # type: ignore[arg-type]
        super().server_close()

    def next_fault(self) -> str | None:
        with self.faults_lock:
            return self.faults.popleft() if self.faults else None


class RerankServer:
    """백그라운드 스레드로 도는 리랭크 API (기본: 127.0.0.1 의 빈 포트). ``with`` 블록을 벗어나면 멈춥니다.

    교실 공용 서버로 쓸 때는 ``python -m course_utils.rerank_server --host 0.0.0.0 --port 8080`` 처럼 띄웁니다.

    Args:
        score_fn: ``(query, texts) -> scores``. ``None`` 이면 강의의 오프라인 모델을 씁니다.
        api_key: 요청의 ``Authorization: Bearer`` 와 맞아야 하는 키. ``None`` 이면 무작위로 만듭니다.
        host: 들을 주소. 기본 ``"127.0.0.1"`` (이 컴퓨터만). 교실에서는 ``"0.0.0.0"``.
        port: 들을 포트. ``0`` 이면 빈 포트.
        max_documents: 한 요청의 최대 문서 수 (넘으면 413).
        max_body_bytes: 요청 본문의 최대 바이트 수 (넘으면 413).
    """

    def __init__(
        self,
        score_fn: ScoreFunction | None = None,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_documents: int = MAX_DOCUMENTS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.api_key = api_key or secrets.token_urlsafe(16)
        self._server = _Server((host, port), score_fn or _offline_scores, self.api_key, max_documents, max_body_bytes)
        self._thread: threading.Thread | None = None

    def inject_faults(self, *faults: str, slow_seconds: float = 5.0, retry_after_seconds: int = 1) -> None:
        """다음 요청들에 차례로 장애를 냅니다 (하나에 하나씩, 다 쓰면 정상으로 돌아옴).

        Args:
            faults: ``FAULTS`` 의 이름들. ``"429"`` 는 ``Retry-After`` 헤더를, ``"slow"`` 는 ``slow_seconds`` 만큼
                늦은 정상 응답을, ``"malformed"`` 는 JSON 이 아닌 200 응답을 냅니다.
        """
        unknown = [fault for fault in faults if fault not in FAULTS]
        if unknown:
            raise ValueError(f"알 수 없는 장애 {unknown}. 쓸 수 있는 장애: {', '.join(FAULTS)}")
        with self._server.faults_lock:
            self._server.faults.extend(faults)
        self._server.slow_seconds = slow_seconds
        self._server.retry_after_seconds = retry_after_seconds

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RerankServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="rerank-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RerankServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


_scorer_lock = threading.Lock()


@functools.cache
def _offline_cross_encoder():
    from sentence_transformers import CrossEncoder

    from .env import quiet_model_loading
    from .offline_models import cross_encoder_path

    source = cross_encoder_path()
    with quiet_model_loading():
        return CrossEncoder(str(source), device="cpu", trust_remote_code=True)


def prepare_offline_scorer() -> None:
    """오프라인 모델을 (없으면 만들어) 불러 둡니다. 동시에 여러 요청이 와도 한 번만 만듭니다."""
    with _scorer_lock:
        _offline_cross_encoder()


def _offline_scores(query: str, texts: list[str]) -> list[float]:
    from .scoring import score_pairs

    prepare_offline_scorer()
    return score_pairs(_offline_cross_encoder(), query, texts)[0]


@functools.cache
def shared_offline_server() -> RerankServer:
    """프로세스에 하나뿐인 로컬 API 서버 (처음 부를 때 시작하고, 프로세스가 끝날 때 멈춥니다)."""
    server = RerankServer().start()
    atexit.register(server.stop)
    return server


def main(argv: list[str] | None = None) -> int:
    """교실 공용 서버: ``python -m course_utils.rerank_server --host 0.0.0.0 --port 8080 --api-key 키``."""
    import argparse
    import os

    parser = argparse.ArgumentParser(
        prog="python -m course_utils.rerank_server", description="교실 공용 리랭크 API 서버 (오프라인 모델)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="들을 주소 (교실 전체: 0.0.0.0, 기본: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="포트 (기본: 8080)")
    parser.add_argument("--api-key", default=os.environ.get("RERANK_SERVER_API_KEY"), help="학생에게 나눠 줄 키")
    parser.add_argument("--max-documents", type=int, default=CLASSROOM_MAX_DOCUMENTS, help="요청당 최대 문서 수")
    args = parser.parse_args(argv)
    if not 1 <= args.max_documents <= MAX_DOCUMENTS:
        parser.error(f"--max-documents 에는 1 이상 {MAX_DOCUMENTS} 이하의 정수를 넣으세요.")
    prepare_offline_scorer()
    server = RerankServer(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        max_documents=args.max_documents,
        max_body_bytes=CLASSROOM_MAX_BODY_BYTES,
    ).start()
    print(
        f"리랭크 서버가 {server.url} 에서 돕니다 (Cohere: /v2/rerank, Jina: /v1/rerank, LLM 리스트와이즈: /v1/chat/completions, 상태: /health)."
    )
    print(
        f"학생 노트북: load_reranker('cohere', base_url='http://<이 컴퓨터 주소>:{args.port}', api_key='{server.api_key}')"
    )
    print("멈추려면 Ctrl+C 를 누르세요.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("멈추는 중...")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
