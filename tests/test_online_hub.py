"""온라인 경로를 로컬 허브(``tests/local_hub.py``, 127.0.0.1)에 대고 끝까지 돌립니다.

학습자 대부분이 타는 길(Colab, 온라인, 처음 쓸 때 허브에서 모델을 받음, FlashRank 압축 파일 받기)을 인터넷 없이
재현합니다. ``huggingface_hub`` 는 환경 변수를 불러올 때 읽으므로 각 단계는 새 환경의 하위 프로세스에서 돕니다
(빈 캐시, ``HF_ENDPOINT`` = 로컬 허브, ``HF_HUB_OFFLINE=0``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from local_hub import LocalHub

from course_utils.offline_models import bi_encoder_path, build_flashrank_folder, cross_encoder_path

ROOT = Path(__file__).resolve().parents[1]
QUERY = "강아지 예방접종 시기"
DOCUMENTS = ["고양이 사료 고르기", "강아지 예방접종은 생후 6~8주에 시작합니다."]
#: 장애 시나리오에 쓰는 저장소 (내용은 오프라인 크로스 인코더 폴더). 장애는 저장소마다 따로 겁니다.
FAULT_REPOS = (
    "course-test/gated-401",
    "course-test/gated-403",
    "course-test/server-500",
    "course-test/truncated",
    "course-test/slow",
    "course-test/drop",
    "course-test/drop-once",
)
#: 하위 프로세스가 쓰는 허브 제한 시간(초). 실제 기본값은 10초이고, 테스트를 짧게 하려고 줄입니다.
HUB_TIMEOUT_S = "2"


@pytest.fixture(scope="module")
def hub():
    from course_utils.env import runtime

    cross, bi = cross_encoder_path(), bi_encoder_path()
    flashrank_dir = runtime().cache_dir / "flashrank"
    flashrank_name = build_flashrank_folder(flashrank_dir)
    repos = {
        "BAAI/bge-reranker-v2-m3": cross,
        "jinaai/jina-reranker-v2-base-multilingual": cross,
        "intfloat/multilingual-e5-small": bi,
        **dict.fromkeys(FAULT_REPOS, cross),
    }
    with LocalHub(repos, {"ms-marco-MultiBERT-L-12": flashrank_dir / flashrank_name}, slow_seconds=30) as running:
        yield running


def closed_port_url() -> str:
    """아무도 듣지 않는 127.0.0.1 주소 (허브가 꺼진 상황)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def online_env(tmp: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "RERANK_COURSE_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp / "hf-home"),
        RERANK_COURSE_CACHE=str(tmp / "course-cache"),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_ETAG_TIMEOUT=HUB_TIMEOUT_S,
        HF_HUB_DOWNLOAD_TIMEOUT=HUB_TIMEOUT_S,
        NO_PROXY="127.0.0.1,localhost",
        TOKENIZERS_PARALLELISM="false",
    )
    env.update(extra)
    return env


def run_child(code: str, env: dict[str, str], timeout: float = 240) -> dict:
    """``code`` 를 새 파이썬 프로세스에서 돌리고, 마지막 ``RESULT {json}`` 줄을 돌려줍니다."""
    script = "import json, time\nresult = {}\n" + textwrap.dedent(code) + "\nprint('RESULT ' + json.dumps(result))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


#: 학습자처럼 옵션 없이 (이 id 는 강의가 확인한 사용자 정의 코드 모델이라 trust_remote_code 가 저절로 켜짐).
JINA_WEIGHTS = 'CROSS_ENCODER = ("cross-encoder", "jinaai/jina-reranker-v2-base-multilingual", {})\n'
#: 기본 모델 id. 로컬 허브는 사용자 정의 코드 폴더를 내놓으므로 trust_remote_code 를 켭니다.
DEFAULT_MODEL = 'CROSS_ENCODER = ("cross-encoder", "BAAI/bge-reranker-v2-m3", {"trust_remote_code": True})\n'
LOAD_ALL = f"""
from course_utils.env import runtime
from course_utils.rerankers import load_reranker
from course_utils.retrieval import get_embeddings

result["online"] = runtime().online
for backend, model, options in [CROSS_ENCODER, ("flashrank", None, {{}})]:
    started = time.perf_counter()
    reranker = load_reranker(backend, model, **options)
    ranked = reranker.rank({QUERY!r}, {DOCUMENTS!r})
    result[f"{{backend}}:{{reranker.model}}"] = {{
        "standin": reranker.is_standin, "top": ranked[0].index, "seconds": time.perf_counter() - started
    }}
result["embedding_dims"] = len(get_embeddings("huggingface").embed_query("강아지"))
"""


def test_first_use_downloads_from_the_hub_then_the_cache_serves_without_network(hub, tmp_path):
    hub.requests.clear()
    first = run_child(JINA_WEIGHTS + LOAD_ALL, online_env(tmp_path, hub.url))
    assert first["online"] is True
    name = "cross-encoder:jinaai/jina-reranker-v2-base-multilingual"
    assert first[name]["standin"] is False and first[name]["top"] == 1, first
    assert first["flashrank:ms-marco-MultiBERT-L-12"]["standin"] is False, first
    assert first["flashrank:ms-marco-MultiBERT-L-12"]["top"] == 1, first
    assert first["embedding_dims"] == 384
    paths = [path for _, path in hub.requests]
    assert any(path.startswith("/api/models/jinaai/jina-reranker-v2-base-multilingual") for path in paths)
    assert "/prithivida/flashrank/resolve/main/ms-marco-MultiBERT-L-12.zip" in paths
    snapshots = tmp_path / "hf-home" / "hub" / "models--jinaai--jina-reranker-v2-base-multilingual" / "snapshots"
    assert any((folder / "model.safetensors").is_file() for folder in snapshots.iterdir())
    # 강의의 오프라인 모델은 만들지 않았습니다 (온라인 길은 그것에 기대지 않음).
    assert not (tmp_path / "course-cache" / "offline-models").exists()

    # 두 번째 실행: 허브가 켜져 있어도 HTTP 요청 없이 캐시에서 불러옵니다 (허브가 꺼진 경우는 아래 download 테스트).
    hub.requests.clear()
    second = run_child(JINA_WEIGHTS + LOAD_ALL, online_env(tmp_path, hub.url))
    assert second["online"] is True and hub.requests == []
    assert all(value["standin"] is False for key, value in second.items() if ":" in key), second


def test_download_command_fills_a_folder_that_works_with_the_hub_off(hub, tmp_path):
    target = tmp_path / "models"
    models = ["intfloat/multilingual-e5-small", "BAAI/bge-reranker-v2-m3", "ms-marco-MultiBERT-L-12"]
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "download", "--to", str(target), "--models", *models],
        cwd=ROOT,
        env=online_env(tmp_path / "downloader", hub.url),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (target / "hf" / "BAAI--bge-reranker-v2-m3" / "model.safetensors").is_file()
    assert not list((target / "hf").glob(".partial-*"))
    offline = run_child(
        DEFAULT_MODEL + LOAD_ALL,
        online_env(tmp_path / "air-gapped", closed_port_url(), RERANK_COURSE_MODELS_DIR=str(target)),
    )
    assert offline["online"] is False
    assert offline["cross-encoder:BAAI/bge-reranker-v2-m3"]["standin"] is False
    assert offline["flashrank:ms-marco-MultiBERT-L-12"]["standin"] is False
    assert offline["embedding_dims"] == 384


def test_download_command_reports_a_wrong_id_in_korean(hub, tmp_path):
    hub.set_fault("BAAI/bge-reranker-base", None)
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "download", "--to", str(tmp_path), "--models", "BAAI/bge-reranker-base"],
        cwd=ROOT,
        env=online_env(tmp_path, hub.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 로컬 허브에 없는 id = 허브에서 404. 추적 대신 한국어 안내와 종료 코드 1.
    assert done.returncode == 1
    assert "찾을 수 없습니다" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "hf" / "BAAI--bge-reranker-base").exists()


FAULT_RUN = """
from course_utils.env import ModelDownloadError, find_local_model, runtime
from course_utils.rerankers import load_reranker
import requests

def set_fault(repo, fault):
    requests.post(HUB + "/_control/faults", json={repo: fault}, timeout=10).raise_for_status()

def attempt(backend, model, **options):
    started = time.perf_counter()
    try:
        reranker = load_reranker(backend, model, **options)
        outcome = {"ok": True, "standin": reranker.is_standin, "top": reranker.rank(QUERY, DOCUMENTS)[0].index}
    except ModelDownloadError as error:
        outcome = {"ok": False, "kind": error.kind, "message": str(error)}
    except Exception as error:
        outcome = {"ok": False, "kind": "unexpected " + type(error).__name__, "message": str(error)[:500]}
    outcome["seconds"] = round(time.perf_counter() - started, 1)
    return outcome

assert runtime().online
for repo, fault in CASES:
    if fault:
        set_fault(repo, fault)
    first = attempt("cross-encoder", repo, trust_remote_code=True)
    first["cached_after_failure"] = find_local_model(repo) is not None
    set_fault(repo, None)
    retry = attempt("cross-encoder", repo, trust_remote_code=True) if fault in RETRY else None
    result[repo] = {"fault": fault, "first": first, "retry": retry}

# FlashRank 압축 파일: 받는 중 연결이 끊기면 반쯤 풀린 폴더 없이 실패하고, 다시 하면 됩니다.
key = "prithivida/flashrank/ms-marco-MultiBERT-L-12"
set_fault(key, "drop")
first = attempt("flashrank", None)
folder = runtime().cache_dir / "flashrank"
leftovers = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
set_fault(key, None)
result["flashrank"] = {"first": first, "leftovers": leftovers, "retry": attempt("flashrank", None)}
"""


def test_hub_faults_end_in_bounded_time_with_korean_guidance_and_no_broken_cache(hub, tmp_path):
    cases = [
        ("BAAI/bge-reranker-v2-m3-typo", None),
        ("course-test/gated-401", "401"),
        ("course-test/gated-403", "403"),
        ("course-test/server-500", "500"),
        ("course-test/truncated", "truncated"),
        ("course-test/slow", "slow"),
        ("course-test/drop", "drop"),
        ("course-test/drop-once", "drop_once"),
    ]
    retry = ["truncated", "slow", "drop", "drop_once"]
    prelude = f"HUB = {hub.url!r}\nQUERY = {QUERY!r}\nDOCUMENTS = {DOCUMENTS!r}\nCASES = {cases!r}\nRETRY = {retry!r}\n"
    started = time.perf_counter()
    report = run_child(prelude + FAULT_RUN, online_env(tmp_path, hub.url), timeout=420)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    expected = {
        "BAAI/bge-reranker-v2-m3-typo": ("not_found", "철자"),
        "course-test/gated-401": ("gated", "HF_TOKEN"),
        "course-test/gated-403": ("gated", "HF_TOKEN"),
        "course-test/server-500": ("server", "다시 실행"),
        "course-test/truncated": ("incomplete", "다시 실행"),
        "course-test/slow": ("timeout", "제한 시간"),
        "course-test/drop": ("connection", "연결"),
    }
    for repo, (kind, hint) in expected.items():
        first = report[repo]["first"]
        assert first["ok"] is False and first["kind"] == kind, (repo, first)
        assert hint in first["message"] and "RERANK_COURSE_OFFLINE=1" in first["message"], (repo, first)
        assert first["seconds"] < 60, (repo, first)
        assert first["cached_after_failure"] is False, (repo, first)
        if report[repo]["retry"] is not None:
            assert report[repo]["retry"]["ok"] and not report[repo]["retry"]["standin"], (repo, report[repo])
    # 한 번 끊긴 다운로드는 이어 받기(Range)로 회복합니다.
    assert report["course-test/drop-once"]["first"]["ok"] is True, report["course-test/drop-once"]
    assert any(method == "GET" and path.startswith("/course-test/drop-once/resolve/") for method, path in hub.requests)
    flashrank = report["flashrank"]
    assert flashrank["first"]["ok"] is False and flashrank["first"]["kind"] == "connection", flashrank
    assert flashrank["leftovers"] == [], flashrank
    assert flashrank["retry"]["ok"] and not flashrank["retry"]["standin"], flashrank
    assert time.perf_counter() - started < 400


def standard_cross_encoder_folder(folder: Path) -> Path:
    """사용자 정의 코드 없는 표준 ``BertForSequenceClassification`` 폴더 (e5 가중치 + 시드로 만든 점수 머리).

    ``BAAI/bge-reranker-*`` 를 부르는 노트북은 ``trust_remote_code`` 없이 불러오므로, 허브가 그 id 아래에
    내놓는 폴더도 표준 구조여야 합니다. 점수 머리가 무작위라 순위는 뜻이 없고, 이 테스트는 경로만 봅니다.
    """
    import shutil

    import torch
    from transformers import BertForSequenceClassification

    if (folder / "model.safetensors").is_file():
        return folder
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(bi_encoder_path(), num_labels=1)
    model.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(cross_encoder_path() / name, folder / name)
    return folder


def test_notebook_01_runs_online_downloading_from_the_hub(tmp_path):
    """01 을 학습자처럼 온라인으로 끝까지 돌립니다: 허브에서 처음 받고, 대체 모델 배너도 추적도 없습니다."""
    import nbformat

    standard = standard_cross_encoder_folder(tmp_path / "standard-cross")
    repos = {
        "BAAI/bge-reranker-v2-m3": standard,
        "BAAI/bge-reranker-base": standard,
        "intfloat/multilingual-e5-small": bi_encoder_path(),
    }
    executed = tmp_path / "01_online.ipynb"
    with LocalHub(repos, {}) as running:
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--ExecutePreprocessor.timeout=600",
                "--output",
                str(executed),
                str(ROOT / "notebooks" / "01_cross_encoder.ipynb"),
            ],
            cwd=ROOT / "notebooks",
            env=online_env(tmp_path, running.url),
            capture_output=True,
            text=True,
            timeout=900,
        )
        seconds = time.perf_counter() - started
        paths = [path for _, path in running.requests]
    assert done.returncode == 0, done.stderr[-4000:]
    print(f"01 online: {seconds:.0f} s")
    notebook = nbformat.read(executed, as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells], ensure_ascii=False)
    assert "대체 모델" not in outputs and "Traceback" not in outputs
    for repo in repos:
        assert any(path.startswith(f"/api/models/{repo}") for path in paths), repo
        snapshots = tmp_path / "hf-home" / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"
        assert any((snapshot / "config.json").is_file() for snapshot in snapshots.iterdir()), repo
    # 온라인 길은 강의의 오프라인 모델을 만들지 않습니다.
    assert not (tmp_path / "course-cache" / "offline-models").exists()
