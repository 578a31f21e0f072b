"""노트북을 실제 커널로 돌려 봅니다: 가짜 키가 어디에도 남지 않는지, '모두 실행'을 두 번 해도 되는지."""

import json
import re
import shutil

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from course_utils.offline_models import build_offline_models

CANARIES = {
    "COHERE_API_KEY": "canary-cohere-7f3a9c1e5b2d4f60",
    "CO_API_KEY": "canary-co-0b1c2d3e4f5a6b7c",
    "JINA_API_KEY": "canary-jina-9d8c7b6a5f4e3d2c",
    "OPENAI_API_KEY": "canary-openai-1a2b3c4d5e6f7a8b",
}
TIMING = re.compile(r"ms|초|p50|p95|지연|시간")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """새 캐시 폴더 (이미 만든 오프라인 모델만 복사해 다시 만들지 않게 함)."""
    cache = tmp_path / "cache"
    shutil.copytree(build_offline_models().parent, cache / "offline-models")
    monkeypatch.setenv("RERANK_COURSE_CACHE", str(cache))
    monkeypatch.setenv("RERANK_COURSE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def execute(notebook):
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    )
    client.execute()
    return notebook


@pytest.mark.parametrize("name", ["02_cohere.ipynb", "03_jina.ipynb"])
def test_fake_keys_leave_no_trace_in_outputs_html_or_files(name, isolated_cache, tmp_path, monkeypatch):
    for variable, value in CANARIES.items():
        monkeypatch.setenv(variable, value)
    executed = execute(nbformat.read(ROOT / "notebooks" / name, as_version=4))
    html, _ = HTMLExporter().from_notebook_node(executed)
    written = [json.dumps(executed, ensure_ascii=False), html]
    written += [path.read_bytes().decode("utf-8", "ignore") for path in isolated_cache.rglob("*") if path.is_file()]
    for value in CANARIES.values():
        assert not any(value in text for text in written), f"{name} 에 키가 남았습니다"
    # 키가 있다는 사실만 가려서 보여 줍니다.
    assert "설정됨(****)" in json.dumps(executed, ensure_ascii=False)


def summary_without_timings(cells):
    # 품질 표는 HTML 로 보이고 같은 출력(display 또는 셀의 마지막 값)의 text/plain 에 글자판이 있습니다 (대체 모델 배너는 뺍니다).
    text = "\n".join(
        output.get("text", "") if output.get("name") == "stdout" else output.get("data", {}).get("text/plain", "")
        for cell in cells
        if "course-summary" in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
        if output.get("name") == "stdout" or output.get("output_type") in ("display_data", "execute_result")
    )
    return [
        line
        for line in text.splitlines()
        if line.strip() and not TIMING.search(line) and "127.0.0.1" not in line and "[대체 모델 사용]" not in line
    ]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_run_all_twice_in_one_kernel_gives_the_same_numbers(path, isolated_cache):
    notebook = nbformat.read(path, as_version=4)
    count = len(notebook.cells)
    notebook.cells = notebook.cells + [nbformat.from_dict(json.loads(json.dumps(cell))) for cell in notebook.cells]
    execute(notebook)
    first, second = summary_without_timings(notebook.cells[:count]), summary_without_timings(notebook.cells[count:])
    assert first, "요약 셀(course-summary)의 출력이 없습니다"
    assert first == second
