"""테스트용 로컬 모델 허브: ``huggingface_hub`` 가 모델을 받을 때 쓰는 Hugging Face Hub 프로토콜의 일부를 127.0.0.1 에서 답합니다.

``HF_ENDPOINT`` 를 이 서버로 돌리면 강의의 **온라인** 경로(``runtime()`` 의 허브 확인, ``snapshot_download``,
FlashRank 압축 파일 받기)가 인터넷 없이 끝까지 돕니다. 강의의 오프라인 모델 폴더를 강의가 쓰는 실제 모델 id
(``BAAI/bge-reranker-v2-m3`` 등) 아래에 내놓고, FlashRank 압축 파일은 FlashRank 가 받는 경로
(``/prithivida/flashrank/resolve/main/<이름>.zip``)에 둡니다.

답하는 요청:
    - ``GET /api/models/<조직>/<모델>[/revision/<판>]``: 모델 정보 (``sha``, ``siblings``).
    - ``GET /api/models/<조직>/<모델>/tree/<판>``: 파일 목록 (``snapshot_download``).
    - ``HEAD``/``GET /<조직>/<모델>/resolve/<판>/<파일>``: 파일 (``X-Repo-Commit``, ``ETag``, ``Range`` 이어 받기).
    - ``POST /_control/faults``: 테스트 하위 프로세스가 장애를 바꿀 때 (``{"모델 id": "장애" | null}``).

장애(``faults[repo_id]``): ``"404"`` (없는 모델), ``"401"``·``"403"`` (권한이 필요한 gated 모델), ``"500"``,
``"truncated"`` (허브가 알린 크기보다 짧은 파일), ``"slow"`` (헤더 뒤 본문이 멈춤), ``"drop"`` (받는 중 연결이
끊기고 이어 받기도 실패), ``"drop_once"`` (한 번만 끊김: 이어 받기로 회복돼야 함).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
import zipfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

FAULTS = ("404", "401", "403", "500", "truncated", "slow", "drop", "drop_once")
#: 큰 파일로 치는 크기: 본문 장애(truncated, slow, drop)는 이보다 큰 파일(가중치)에만 냅니다.
LARGE_FILE_BYTES = 1 << 20
FLASHRANK_PREFIX = "prithivida/flashrank"
_CHUNK = 1 << 20


def _commit_sha(repo_id: str) -> str:
    return hashlib.sha1(f"local-hub:{repo_id}".encode()).hexdigest()


class _HubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: LocalHub) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.hub = hub


class _HubHandler(BaseHTTPRequestHandler):
    server: _HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        """요청마다 stderr 에 찍는 기본 로그를 끕니다 (요청 기록은 ``LocalHub.requests`` 에)."""

    # ---- 응답 도우미 ----
    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _hub_error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    # ---- 요청 처리 ----
    def do_POST(self) -> None:
        hub = self.server.hub
        hub.record(self.command, self.path)
        if self.path != "/_control/faults":
            self._hub_error(404, "EntryNotFound", "unknown path")
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        for repo_id, fault in body.items():
            hub.set_fault(repo_id, fault)
        self._json(200, {"faults": hub.faults})

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        hub = self.server.hub
        hub.record(self.command, self.path)
        path = unquote(urlsplit(self.path).path)
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+)|/tree/([^/]+)(?:/.*)?)?/?", path)
        if api:
            self._api(api.group(1), tree=api.group(3) is not None)
            return
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if resolve:
            self._file(resolve.group(1), resolve.group(3))
            return
        self._hub_error(404, "RepoNotFound", f"unknown path {path}")

    def _repo_or_error(self, repo_id: str) -> Path | None:
        hub = self.server.hub
        fault = hub.faults.get(repo_id)
        folder = hub.repos.get(repo_id)
        if fault == "500":
            self._hub_error(500, "InternalError", "injected server error")
            return None
        if folder is None or fault == "404":
            self._hub_error(404, "RepoNotFound", f"Repository Not Found for {repo_id}")
            return None
        return folder

    def _api(self, repo_id: str, tree: bool) -> None:
        folder = self._repo_or_error(repo_id)
        if folder is None:
            return
        files = self.server.hub.files(repo_id)
        if tree:
            entries = [
                {"type": "file", "oid": self.server.hub.etag(repo_id, name), "size": size, "path": name}
                for name, size in files.items()
            ]
            self._json(200, entries)
            return
        gated = self.server.hub.faults.get(repo_id) in ("401", "403")
        self._json(
            200,
            {
                "_id": _commit_sha(repo_id)[:24],
                "id": repo_id,
                "modelId": repo_id,
                "sha": _commit_sha(repo_id),
                "private": False,
                "gated": "manual" if gated else False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": "2026-12-01T00:00:00.000Z",
                "siblings": [{"rfilename": name} for name in files],
            },
        )

    def _file(self, repo_id: str, name: str) -> None:
        hub = self.server.hub
        if repo_id == FLASHRANK_PREFIX:
            self._flashrank(name)
            return
        folder = self._repo_or_error(repo_id)
        if folder is None:
            return
        fault = hub.faults.get(repo_id)
        if fault in ("401", "403"):
            self._hub_error(
                int(fault), "GatedRepo", f"Access to model {repo_id} is restricted. You must have access to it."
            )
            return
        files = hub.files(repo_id)
        if name not in files:
            self._hub_error(404, "EntryNotFound", f"{name} does not exist on main")
            return
        headers = {"X-Repo-Commit": _commit_sha(repo_id), "ETag": f'"{hub.etag(repo_id, name)}"'}
        self._send_file(folder / name, headers, fault if files[name] > LARGE_FILE_BYTES else None, repo_id)

    def _flashrank(self, name: str) -> None:
        hub = self.server.hub
        model = name.removesuffix(".zip")
        fault = hub.faults.get(f"{FLASHRANK_PREFIX}/{model}")
        if fault in ("404", "500", "401", "403"):
            self._hub_error(int(fault), "EntryNotFound" if fault == "404" else "Error", f"injected {fault}")
            return
        archive = hub.flashrank_archive(model)
        if archive is None:
            self._hub_error(404, "EntryNotFound", f"{name} does not exist on main")
            return
        self._send_file(archive, {"ETag": f'"{model}"'}, fault, f"{FLASHRANK_PREFIX}/{model}")

    def _send_file(self, file: Path, headers: dict[str, str], fault: str | None, key: str) -> None:
        hub = self.server.hub
        size = file.stat().st_size
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and int(match.group(1)) < size:
            start = int(match.group(1))
        # truncated: 허브가 알린 크기(X-Linked-Size)보다 짧은 파일을, 그 짧은 길이로 정직하게 보냅니다.
        length = size - start
        if fault == "truncated":
            length = max(0, size // 2 - start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if start else HTTPStatus.OK)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("X-Linked-Size", str(size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{start + length - 1}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = length
        if fault == "slow":
            # 헤더는 보내고 본문은 멈춥니다: 받는 쪽의 읽기 제한 시간이 끝내야 합니다.
            hub.stopping.wait(hub.slow_seconds)
            self.close_connection = True
            return
        if fault == "drop" or (fault == "drop_once" and hub.take_drop_once(key)):
            # 처음 요청은 조금 보내고 끊고, 이어 받기(Range)는 바로 끊습니다 (drop_once 는 한 번만).
            limit = 0 if start else min(length, _CHUNK)
            self.close_connection = True
        with file.open("rb") as source:
            source.seek(start)
            remaining = limit
            try:
                while remaining > 0 and not hub.stopping.is_set():
                    chunk = source.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        if limit < length:
            self.close_connection = True


class LocalHub:
    """127.0.0.1 의 빈 포트에서 도는 로컬 허브. ``with`` 블록을 벗어나면 멈춥니다.

    Args:
        repos: 모델 id → 그 내용으로 내놓을 폴더.
        flashrank: FlashRank 모델 이름 → 압축할 폴더 (압축 파일은 처음 요청 때 만들고, 안의 폴더 이름은 모델 이름).
        slow_seconds: ``"slow"`` 장애에서 본문을 멈추는 시간.
    """

    def __init__(
        self, repos: dict[str, Path], flashrank: dict[str, Path] | None = None, slow_seconds: float = 60.0
    ) -> None:
        self.repos = dict(repos)
        self.flashrank = dict(flashrank or {})
        self.slow_seconds = slow_seconds
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._drops_taken: set[str] = set()
        self._files: dict[str, dict[str, int]] = {}
        self._archives: dict[str, Path] = {}
        self._scratch = Path(tempfile.mkdtemp(prefix="local-hub-"))
        self._server = _HubServer(self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def set_fault(self, repo_id: str, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; use one of {FAULTS}")
        with self._lock:
            if fault is None:
                self.faults.pop(repo_id, None)
            else:
                self.faults[repo_id] = fault
            self._drops_taken.discard(repo_id)

    def take_drop_once(self, key: str) -> bool:
        with self._lock:
            if key in self._drops_taken:
                return False
            self._drops_taken.add(key)
            return True

    def files(self, repo_id: str) -> dict[str, int]:
        """저장소의 파일 (상대 경로 → 크기). 하위 폴더(``1_Pooling/config.json`` 등)도 담습니다."""
        if repo_id not in self._files:
            folder = self.repos[repo_id]
            self._files[repo_id] = {
                path.relative_to(folder).as_posix(): path.stat().st_size
                for path in sorted(folder.rglob("*"))
                if path.is_file() and not path.name.startswith(".")
            }
        return self._files[repo_id]

    def etag(self, repo_id: str, name: str) -> str:
        # 내용 해시 대신 (저장소, 파일, 크기) 로 만든 값: 큰 파일도 바로 답합니다. 40자라 sha256 검증 대상이 아닙니다.
        return hashlib.sha1(f"{repo_id}/{name}/{self.files(repo_id)[name]}".encode()).hexdigest()

    def flashrank_archive(self, model: str) -> Path | None:
        folder = self.flashrank.get(model)
        if folder is None:
            return None
        with self._lock:
            if model not in self._archives:
                archive = self._scratch / f"{model}.zip"
                # 압축하지 않고(STORED) 담습니다: ONNX 는 잘 줄지 않고, 테스트 시간을 아낍니다.
                from flashrank import Config

                # FlashRank 는 모델마다 정해진 ONNX 파일 이름(Config.model_file_map)을 찾으므로 그 이름으로 담습니다.
                onnx_name = Config.model_file_map.get(model)
                with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as writer:
                    for path in sorted(folder.rglob("*")):
                        if path.is_file():
                            relative = path.relative_to(folder).as_posix()
                            if path.suffix == ".onnx" and onnx_name:
                                relative = onnx_name
                            writer.write(path, f"{model}/{relative}")
                self._archives[model] = archive
        return self._archives[model]

    def start(self) -> LocalHub:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
