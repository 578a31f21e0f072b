"""강의의 모든 노트북을 순서대로 헤드리스 실행하고, 실행본과 HTML 을 build/ 에 남긴 뒤 요약을 출력합니다.

`make course` 가 부릅니다. 네트워크나 키가 없으면 노트북이 스스로 대체 모델을 쓰고 배너로 알립니다.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

from course_utils.env import runtime
from course_utils.evaluation import check_course_dataset

ROOT = Path(__file__).resolve().parents[1]
STANDIN_MARK = "[대체 모델 사용]"
SUMMARY_TAG = "course-summary"
COURSE_KERNEL = "reranker-course"


@dataclass
class NotebookReport:
    name: str
    seconds: float = 0.0
    error: str = ""
    standins: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)


def _kernel_name() -> str:
    """setup.sh 가 등록한 이 가상 환경의 커널을 쓰고, 없으면 기본 python3 커널을 씁니다."""
    try:
        KernelSpecManager().get_kernel_spec(COURSE_KERNEL)
    except NoSuchKernel:
        return "python3"
    return COURSE_KERNEL


def _stdout_of(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("name") == "stdout")


def run_notebook(path: Path, build: Path, kernel: str, timeout: int) -> NotebookReport:
    report = NotebookReport(path.stem)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        report.error = str(error).strip().splitlines()[-1][:300]
    report.seconds = time.perf_counter() - started

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        text = _stdout_of(cell)
        # 대체 모델 배너는 HTML 한 번으로 보이며, 같은 출력의 text/plain 에 글자판이 들어 있습니다.
        banners = "\n".join(
            output.get("data", {}).get("text/plain", "")
            for output in cell.get("outputs", [])
            if output.get("output_type") == "display_data"
        )
        report.standins += [line for line in (text + "\n" + banners).splitlines() if line.startswith(STANDIN_MARK)]
        if SUMMARY_TAG in cell.metadata.get("tags", []):
            # 품질 표는 HTML 로 보이고, 같은 출력의 text/plain 에 글자판이 있습니다 (배너는 위에서 따로 모음).
            tables = [line for line in banners.splitlines() if not line.startswith(STANDIN_MARK)]
            report.summaries.append("\n".join([text.rstrip(), *tables]).strip())

    (build / "executed").mkdir(parents=True, exist_ok=True)
    (build / "html").mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, build / "executed" / path.name)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    (build / "html" / f"{path.stem}.html").write_text(body, encoding="utf-8")
    return report


def print_summary(reports: list[NotebookReport], build: Path, total: float) -> None:
    print("\n" + "=" * 72)
    print("reranker-course 실행 요약")
    print("=" * 72)
    print(runtime().describe())
    print(check_course_dataset().describe())
    for report in reports:
        status = "성공" if not report.error else f"실패: {report.error}"
        print(f"  {report.name:<22} {report.seconds:6.1f}초  {status}")
    print(f"  합계 {total:.1f}초 · 실행본 {build / 'executed'} · HTML {build / 'html'}")
    standins = sorted({line for report in reports for line in report.standins})
    if standins:
        print("\n대체 모델(stand-in)이 쓰였습니다. 아래 숫자는 원래 모델의 결과가 아닙니다:")
        for line in standins:
            print("  - " + line.removeprefix(STANDIN_MARK).strip())
    for report in reports:
        for summary in report.summaries:
            print(f"\n[{report.name}]\n{summary}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--timeout", type=int, default=600, help="셀 하나의 제한 시간(초)")
    args = parser.parse_args(argv)

    paths = sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print(f"{args.notebooks} 에 실행할 노트북이 없습니다.", file=sys.stderr)
        return 1
    kernel = _kernel_name()
    started = time.perf_counter()
    reports = []
    for path in paths:
        print(f"실행 중: {path.name} ...", flush=True)
        reports.append(run_notebook(path, args.build, kernel, args.timeout))
    print_summary(reports, args.build, time.perf_counter() - started)
    return 1 if any(report.error for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
