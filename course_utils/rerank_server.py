"""로컬 리랭크 API 서버: Cohere(``POST /v2/rerank``)와 Jina·vLLM(``POST /v1/rerank``) 모양으로 답합니다.

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
import functools
import json
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
#: 장애 주입(fault injection)에 쓸 수 있는 이름. 수업과 테스트에서 API 가 실패하는 모습을 재현합니다.
FAULTS = ("401", "403", "429", "500", "503", "slow", "malformed")


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_request(body: dict) -> tuple[str, list[str], int | None, str]:
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(HTTPStatus.BAD_REQUEST, "query must be a non-empty string")
    documents = body.get("documents")
    if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"documents must be a list of at most {MAX_DOCUMENTS} items")
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

    def _error(self, status: HTTPStatus, message: str, jina_shape: bool) -> None:
        # Cohere 는 {"message"}, Jina 는 {"detail"} 로 오류를 알립니다.
        self._send(status, {"detail": message} if jina_shape else {"message": message})

    def _apply_fault(self, fault: str, jina_shape: bool) -> bool:
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
        payload = json.dumps({"detail" if jina_shape else "message": f"injected fault {fault}"}).encode()
        self.send_response(status)
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            self.send_header("Retry-After", str(self.server.retry_after_seconds))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        return True

    def do_POST(self) -> None:
        jina_shape = self.path.rstrip("/") == "/v1/rerank"
        if self.path.rstrip("/") not in ("/v1/rerank", "/v2/rerank"):
            self._error(HTTPStatus.NOT_FOUND, f"unknown path {self.path}; use /v2/rerank or /v1/rerank", jina_shape)
            return
        fault = self.server.next_fault()
        if fault and self._apply_fault(fault, jina_shape):
            return
        if self.headers.get("Authorization", "") != f"Bearer {self.server.api_key}":
            self._error(HTTPStatus.UNAUTHORIZED, "invalid or missing bearer token", jina_shape)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
            body = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(body, dict):
                raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            query, texts, top_n, model = _parse_request(body)
        except json.JSONDecodeError:
            self._error(HTTPStatus.BAD_REQUEST, "body is not valid JSON", jina_shape)
            return
        except RequestError as error:
            self._error(error.status, str(error), jina_shape)
            return
        scores = self.server.score_fn(query, texts) if texts else []
        order = sorted(range(len(texts)), key=lambda index: (-scores[index], index))[:top_n]
        if jina_shape:
            results = [{"index": i, "relevance_score": float(scores[i]), "document": {"text": texts[i]}} for i in order]
            tokens = sum(len(query) + len(text) for text in texts)
            self._send(HTTPStatus.OK, {"model": model, "usage": {"total_tokens": tokens}, "results": results})
        else:
            results = [{"index": i, "relevance_score": float(scores[i])} for i in order]
            meta = {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
            self._send(HTTPStatus.OK, {"id": str(uuid.uuid4()), "results": results, "meta": meta})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], score_fn: ScoreFunction, api_key: str) -> None:
        super().__init__(address, _Handler)
        self.score_fn = score_fn
        self.api_key = api_key
        self.faults: collections.deque[str] = collections.deque()
        self.faults_lock = threading.Lock()
        self.slow_seconds = 5.0
        self.retry_after_seconds = 1

    def next_fault(self) -> str | None:
        with self.faults_lock:
            return self.faults.popleft() if self.faults else None


class RerankServer:
    """127.0.0.1 의 빈 포트에서 백그라운드 스레드로 도는 리랭크 API. ``with`` 블록을 벗어나면 멈춥니다.

    Args:
        score_fn: ``(query, texts) -> scores``. ``None`` 이면 강의의 오프라인 모델을 씁니다.
        api_key: 요청의 ``Authorization: Bearer`` 와 맞아야 하는 키. ``None`` 이면 무작위로 만듭니다.
    """

    def __init__(self, score_fn: ScoreFunction | None = None, api_key: str | None = None) -> None:
        self.api_key = api_key or secrets.token_urlsafe(16)
        self._server = _Server(("127.0.0.1", 0), score_fn or _offline_scores, self.api_key)
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
