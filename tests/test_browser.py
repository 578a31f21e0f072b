"""실제 브라우저로 노트북을 엽니다: JupyterLab 을 띄우고 헤드리스 chromium 으로 노트북 05 의 모든 셀을 실행한 뒤
순위 비교 위젯의 '비교' 버튼을 눌러, 순위 열들이 기대한 행 수로 그려지는지 확인합니다.

- 브라우저는 Debian 의 ``/usr/bin/chromium`` 을 Playwright(파이썬)로 움직입니다. Playwright 의 브라우저 내려받기
  (``playwright install``)는 이 환경에서 되지 않으므로 실행 파일 경로를 직접 줍니다. 설치는 ``scripts/setup.sh``.
- chromium 이나 playwright 가 없으면 건너뜁니다. 단, ``CI=true`` 이면 실패합니다 (CI 가 조용히 통과하지 않도록).
- 저장소의 노트북은 건드리지 않습니다: 임시 폴더에 복사한 것을 열고, 자동 저장도 끕니다 (끝나면 바이트 단위로 확인).
- 스크린숏: ``build/browser/<노트북 이름>_widget.png``.

개발할 때만 ``BROWSER_TEST_NOTEBOOK=notebooks/00_overview.ipynb`` 로 다른 노트북(순위 비교 위젯이 하나 있는)을 열 수 있습니다.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # setup.sh 로 만든 환경에는 있습니다 (dev extra).
    sync_playwright = expect = None

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/05_summary.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 90  # 초
RUN_ALL_TIMEOUT = 300  # 초: 2코어에서 모든 셀 실행은 30–60초
CLICK_TIMEOUT = 120  # 초: '비교' 버튼을 누른 뒤 순위 열이 그려질 때까지
MOVEMENT = re.compile(r"^(?:↑\d+|↓\d+|–|신규)$")

# 테스트용 JupyterLab 설정 (사용자 설정 폴더를 임시 폴더로 바꿔 줍니다).
LAB_SETTINGS = {
    # 노트북에 출력이 저장되지 않게 (임시 복사본이지만 이중으로 막습니다).
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # 화면 밖 셀도 DOM 에 있게 해서 오류 출력과 위젯을 셀 위치와 상관없이 찾습니다.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # 뉴스 알림 창과 업데이트 확인(외부 요청)을 끕니다.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def require(condition: bool, reason: str) -> None:
    """준비물이 없으면 건너뜁니다. CI 에서는 건너뛰지 않고 실패합니다."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true 에서는 건너뛰지 않습니다)")
    pytest.skip(reason)


def notebook_path() -> str:
    return os.environ.get("BROWSER_TEST_NOTEBOOK", NOTEBOOK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def kernel_processes(server_pid: int) -> list:
    import psutil

    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def stop(process: subprocess.Popen, kernels: list) -> None:
    """서버(프로세스 그룹 전체)를 끝내고, 서버가 남긴 커널도 끝냅니다."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # 서버는 SIGTERM 을 받으면 커널을 정리하고 끝납니다.
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    for kernel in kernels:
        with contextlib.suppress(Exception):  # 이미 끝났으면 괜찮습니다.
            kernel.kill()


@pytest.fixture
def jupyter_lab(tmp_path):
    """임시 루트 폴더(노트북 복사본)를 여는 JupyterLab. 주소, 토큰, 노트북 경로, 서버 프로세스를 줍니다."""
    require(CHROMIUM.exists(), f"{CHROMIUM} 가 없습니다. scripts/setup.sh 가 apt-get 으로 chromium 을 설치합니다.")
    require(sync_playwright is not None, "playwright 파이썬 패키지가 없습니다 (pip install -e '.[dev]').")
    started = time.monotonic()
    notebook = notebook_path()
    source = ROOT / notebook
    assert source.is_file(), f"{notebook} 이 없습니다 (순위 비교 위젯이 있는 노트북이어야 합니다)"
    root = tmp_path / "root"
    (root / notebook).parent.mkdir(parents=True)
    shutil.copy2(source, root / notebook)  # 노트북은 course_utils(편집 가능 설치)만 부르므로 복사본으로 충분합니다.

    settings = tmp_path / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")

    env = dict(os.environ)
    for name, folder in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",  # 사용자 커널 대신 이 가상 환경(sys.prefix)의 커널만 보입니다.
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }.items():
        env[name] = str(tmp_path / folder)
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    # Makefile 의 테스트 환경을 그대로 커널에 넘깁니다 (conftest 가 없을 때의 기본값도 채워 둠).
    env["RERANK_COURSE_OFFLINE"] = "1"
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("RERANK_COURSE_CACHE", str(tmp_path / "cache"))
    env.pop("JUPYTER_PATH", None)

    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyter-lab.log"
    command = [
        sys.executable,  # 이 가상 환경의 JupyterLab. 커널 python3 의 "python" 도 이 실행 파일로 바뀝니다.
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",  # CI 는 root 로 돕니다.
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp 으로 명령 실행과 커널 상태 확인
        "--LabApp.news_url=",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    kernels: list = []
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab 이 끝나 버렸습니다 (코드 {process.returncode}):\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab 이 {SERVER_START_TIMEOUT}초 안에 응답하지 않았습니다:\n{log_tail(log)}")
            time.sleep(0.5)
        yield {
            "base": base,
            "token": token,
            "notebook": notebook,
            "process": process,
            "profile": tmp_path / "chromium-profile",
            "started": started,
        }
    finally:
        kernels.extend(kernel_processes(process.pid))
        stop(process, kernels)


# 브라우저 안에서 부르는 작은 함수들 (JupyterLab 의 앱 객체: --LabApp.expose_app_in_browser).
NOTEBOOK_READY_JS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return Boolean(kernel && kernel.status === 'idle' && panel.content && panel.content.widgets.length > 0);
}"""

RUN_STATE_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    let code = 0, pending = 0;
    const errors = [];
    panel.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== 'code') return;
        code += 1;
        const prompt = cell.node.querySelector('.jp-InputPrompt');
        if (cell.model.executionCount === null || (prompt && prompt.textContent.includes('*'))) pending += 1;
        const outputs = cell.model.outputs;
        for (let i = 0; i < outputs.length; i++) {
            const output = outputs.get(i).toJSON();
            if (output.output_type === 'error') errors.push(`셀 ${index}: ${output.ename}: ${output.evalue}`);
        }
    });
    return {code, pending, errors, kernel: kernel ? kernel.status : 'none'};
}"""


def dismiss_popups(page) -> None:
    """커널 선택 같은 대화 상자는 기본값으로 닫고, 알림 토스트는 지웁니다."""
    dialog = page.locator(".jp-Dialog .jp-Dialog-footer .jp-mod-accept")
    if dialog.count():
        dialog.first.click()
    for close in page.locator(".Toastify__toast .jp-Notification-Toast-Close, .Toastify__close-button").all():
        with contextlib.suppress(Exception):  # 사라지는 중이면 괜찮습니다.
            close.click(timeout=1000)


def wait_for_run_all(page, timeout: float) -> dict:
    """모든 코드 셀이 실행되고 커널이 쉴 때까지 기다립니다. 오류 출력이 나오면 바로 실패합니다."""
    deadline, settled = time.monotonic() + timeout, 0
    state: dict = {}
    while time.monotonic() < deadline:
        dismiss_popups(page)
        state = page.evaluate(RUN_STATE_JS)
        assert not state["errors"], "셀이 오류를 냈습니다:\n" + "\n".join(state["errors"])
        settled = settled + 1 if state["pending"] == 0 and state["kernel"] == "idle" else 0
        if settled >= 3:  # 셀 사이에 잠깐 idle 이 되는 순간을 끝으로 보지 않도록
            return state
        time.sleep(1)
    pytest.fail(f"{timeout}초 안에 모든 셀이 끝나지 않았습니다: {state}")


def test_ranking_widget_in_jupyterlab(jupyter_lab):
    started = jupyter_lab["started"]
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 1)

    notebook = jupyter_lab["notebook"]
    original = sha256(ROOT / notebook)
    screenshot = ROOT / "build" / "browser" / f"{Path(notebook).stem}_widget.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    url = f"{jupyter_lab['base']}/lab/tree/{notebook}?token={jupyter_lab['token']}"
    lap("서버 시작")

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(jupyter_lab["profile"]),  # 새 빈 사용자 폴더
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1200},
            locale="ko-KR",
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.wait_for_function(NOTEBOOK_READY_JS, timeout=120_000, polling=500)
            dismiss_popups(page)
            lap("노트북 열기와 커널 준비")

            # 이 뒤의 실행은 화면의 메뉴와 같은 명령(Run > Run All Cells)입니다. 끝을 기다리지 않고 상태를 살핍니다.
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            state = wait_for_run_all(page, RUN_ALL_TIMEOUT)
            lap("모든 셀 실행")

            # 셀 출력 어디에도 트레이스백이 없어야 합니다 (오류 출력은 stderr 모양으로 그려집니다).
            stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            tracebacks = [text for text in stderr.all_inner_texts() if "Traceback" in text]
            assert not tracebacks, tracebacks

            # 커널이 이 가상 환경의 파이썬으로 돌았는지 (노트북의 kernelspec 은 python3).
            kernels = kernel_processes(jupyter_lab["process"].pid)
            assert kernels, "JupyterLab 이 띄운 커널 프로세스를 찾지 못했습니다"
            for kernel in kernels:
                assert Path(kernel.exe()).resolve() == Path(sys.executable).resolve(), kernel.cmdline()

            button = page.locator("button.widget-button", has_text="비교")
            expect(button).to_have_count(1, timeout=30_000)
            widget = page.locator(".jp-OutputArea-output").filter(has=button).locator(".widget-vbox").first
            expect(widget).to_be_visible()
            widget.scroll_into_view_if_needed()

            # 노트북이 정한 값: 후보 k, 고른 리랭커, 질의. 질의가 비어 있으면 test 질의 목록의 첫 질의를 고릅니다.
            k = int(widget.locator(".widget-slider .widget-readout").first.inner_text().strip())
            selected = widget.locator(".widget-select-multiple select").evaluate(
                "select => Array.from(select.selectedOptions).map(option => option.textContent)"
            )
            selected = [text.replace("\xa0", " ") for text in selected]  # ipywidgets 는 공백을 NBSP 로 그립니다
            query_list = widget.locator(".widget-dropdown select")
            query_box = widget.locator(".widget-text input")
            if query_list.evaluate("select => select.selectedIndex") <= 0 and not query_box.input_value().strip():
                query_list.select_option(index=1)
            listed_query = query_list.evaluate("select => select.selectedIndex") > 0

            button.click()
            columns = widget.locator("table.ranking-column")
            expect(columns).to_have_count(1 + len(selected), timeout=CLICK_TIMEOUT * 1000)
            lap("'비교' 클릭과 순위 열")

            assert widget.locator("p", has_text="⚠️").count() == 0, widget.inner_text()
            for index in range(columns.count()):
                column = columns.nth(index)
                caption = column.locator("caption").inner_text()
                name = "1단계 검색" if index == 0 else selected[index - 1]
                assert caption.startswith(name), (caption, name)
                if listed_query:  # 판정이 있는 질의면 열마다 nDCG@k
                    assert f"nDCG@{k}" in caption, caption
                assert column.locator("th").all_inner_texts() == ["순위", "이동", "문서", "점수"]
                rows = column.locator("tr:has(td)")
                assert rows.count() == k, f"{name}: 행 {rows.count()}개, 기대 {k}개"
                ranks = [rows.nth(row).locator("td").nth(0).inner_text().strip() for row in range(k)]
                assert ranks == [str(rank) for rank in range(1, k + 1)]
                titles = column.locator("tr td:nth-child(3) b").all_inner_texts()
                assert len(titles) == k and all(title.strip() for title in titles)
                movements = column.locator("tr td:nth-child(2)").all_inner_texts()
                if index == 0:
                    assert all(not movement.strip() for movement in movements)
                else:  # 리랭커 열: 1단계 대비 이동과 점수 막대
                    assert all(MOVEMENT.match(movement.strip()) for movement in movements), movements
                    bars = column.locator("tr td:nth-child(4) div[style*='background']")
                    assert bars.count() == k

            # 1280px 화면에서 요약 표와 정적 순위 표가 출력 칸 안에 들어가야 합니다 (가로로 잘리거나 넘치지 않음).
            page.set_viewport_size({"width": 1280, "height": 1200})
            overflow = page.evaluate(
                """() => Array.from(document.querySelectorAll('table.reranker-summary, table.reranker-cards, table.ranking-column'))
                    .map(table => {
                        const area = table.closest('.jp-OutputArea-output');
                        return [table.className, Math.round(table.getBoundingClientRect().right
                            - area.getBoundingClientRect().right), area.scrollWidth - area.clientWidth];
                    })"""
            )
            assert any(name == "reranker-summary" for name, _, _ in overflow), overflow
            assert all(right <= 0 and scroll <= 0 for _, right, scroll in overflow), overflow
            lap("1280px 화면 맞춤")

            # 위젯이 한 화면에 다 들어오게 창을 늘린 뒤 위젯만 찍습니다.
            box = widget.bounding_box()
            page.set_viewport_size({"width": 1600, "height": max(1200, int(box["height"]) + 400)})
            widget.scroll_into_view_if_needed()
            dismiss_popups(page)
            widget.screenshot(path=str(screenshot))
            lap("스크린숏")
        finally:
            context.close()

    assert sha256(ROOT / notebook) == original, f"{notebook} 이 바뀌었습니다"
    assert screenshot.stat().st_size > 10_000
    print(f"\n스크린숏: {screenshot.relative_to(ROOT)}")
    print(
        f"코드 셀 {state['code']}개, 후보 k={k}, 리랭커 {selected}, 시간(초): {timings}, 합계 {sum(timings.values()):.1f}"
    )
