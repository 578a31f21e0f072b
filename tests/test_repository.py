"""저장소 규칙: 노트북은 깨끗하게, 링크는 한곳(pyproject)에서, environment.yml 은 pyproject 와 같게."""

import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPO_URL = PYPROJECT["project"]["urls"]["Repository"]
REPO_SLUG = REPO_URL.removeprefix("https://github.com/")


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks_named_nn_slug():
    assert NOTEBOOKS, "notebooks/ 에 노트북이 없습니다"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name} 셀 {index}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_skeleton_and_colab_badge(path):
    notebook_cells = cells(path)
    assert source(notebook_cells[0]).startswith("# "), "첫 셀은 한국어 제목(H1)이어야 합니다"
    badge = f"https://colab.research.google.com/github/{REPO_SLUG}/blob/main/notebooks/{path.name}"
    assert badge in source(notebook_cells[1])
    markdown = "\n".join(source(cell) for cell in notebook_cells if cell["cell_type"] == "markdown")
    for heading in ("## 개요", "## 목차", "환경 설정", "실습 문제", "정리", "참고 자료"):
        assert heading in markdown, f"{path.name}: '{heading}' 절이 없습니다"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_comment_only_code_cells_or_dead_imports(path):
    for index, cell in enumerate(cells(path)):
        text = source(cell)
        if cell["cell_type"] != "code":
            continue
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines and not all(line.lstrip().startswith("#") for line in lines), f"{path.name} 셀 {index}"
        assert not re.search(r"from langchain\.retrievers|langchain_community\.rerankers", text)
        assert "getpass" not in text and "input(" not in text, "비대화형 실행에서 멈춥니다"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_bold_next_to_hangul_has_a_space(path):
    """CommonMark 는 `**리랭커(Reranker)**는` 을 굵게 그리지 않습니다."""
    glued = re.compile(r"[가-힣]\*\*[^\s*]|[^\s*]\*\*[가-힣]")
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] == "markdown":
            for line in source(cell).splitlines():
                for match in re.finditer(r"\*\*[^*]+\*\*", line):
                    before = line[max(match.start() - 1, 0) : match.start() + 3]
                    after = line[match.end() - 3 : match.end() + 1]
                    assert not glued.search(before) and not glued.search(after), f"{path.name} 셀 {index}: {line}"


def run_install_cell(path, monkeypatch, colab):
    first_code = next(source(cell) for cell in cells(path) if cell["cell_type"] == "code")
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kwargs: calls.append((args, kwargs)))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    exec(compile(first_code, path.name, "exec"), {})
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_installs_only_on_colab_and_never_torch(path, monkeypatch):
    assert run_install_cell(path, monkeypatch, colab=False) == []
    calls = run_install_cell(path, monkeypatch, colab=True)
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert args[1:4] == ["-m", "pip", "install"] and kwargs.get("check") is True
    assert f"reranker-course[offline] @ git+{REPO_URL}" in args
    assert not any("torch" in arg or "--force-reinstall" in arg for arg in args)


def requirement_lines():
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    return set(project["dependencies"]) | set(extras["jupyter"]) | set(extras["dev"]) | set(extras["offline"])


def test_environment_yml_matches_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    listed = {line for line in pip_section if not line.startswith(("-", "torch=="))}
    assert listed == requirement_lines()
    assert "torch==2.13.0" in pip_section and "-e ." in pip_section
    python = next(item for item in environment["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python.split("=")[-1] >= PYPROJECT["project"]["requires-python"].removeprefix(">=")


def test_constraints_pin_every_direct_requirement():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version
    assert "torch" not in pins, "torch 는 setup.sh 가 먼저 따로 설치합니다"
    for line in requirement_lines():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            name = re.sub(r"[-_.]+", "-", requirement.name.lower())
            assert name in pins, f"{requirement.name} 가 constraints.txt 에 없습니다"


def test_readme_starts_with_the_two_commands_and_links_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash|sh)\n(.*?)```", readme, re.S).group(1)
    assert [line for line in first_block.splitlines() if line.strip() and not line.startswith("#")] == [
        "make course",
        "make test",
    ]
    for path in NOTEBOOKS:
        assert f"https://colab.research.google.com/github/{REPO_SLUG}/blob/main/notebooks/{path.name}" in readme
    assert "GLOSSARY.md" in readme


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", script, re.M) and "set -euo pipefail" in script


KEY_PATTERNS = {
    "OpenAI": r"sk-(?:proj-)?[A-Za-z0-9_-]{20,}",
    "Hugging Face": r"hf_[A-Za-z0-9]{30,}",
    "Jina": r"jina_[A-Za-z0-9]{30,}",
    "AWS": r"AKIA[0-9A-Z]{16}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "key assignment": r"(?i)(?:cohere|co|jina|openai|hf)_api_key\s*[=:]\s*[\"'][A-Za-z0-9_\-]{20,}[\"']",
}


def test_no_api_keys_are_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or path.suffix in {".safetensors", ".onnx", ".png"}:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{name}: {label}" for label, pattern in KEY_PATTERNS.items() if re.search(pattern, text)]
    assert not found, found


# 앞부분과 몸통을 따로 적어, 이 파일 자체는 검사에 걸리지 않게 합니다.
FAKE_BODY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


@pytest.mark.parametrize(
    "sample",
    ["sk-" + "proj-" + FAKE_BODY, "hf_" + FAKE_BODY, "jina_" + FAKE_BODY, "COHERE_API_KEY" + f' = "{FAKE_BODY}"'],
)
def test_key_patterns_catch_real_looking_keys(sample):
    assert any(re.search(pattern, sample) for pattern in KEY_PATTERNS.values())


def test_the_wheel_carries_every_data_file_the_package_reads(tmp_path):
    """Colab 은 git+ 로 설치한 휠을 씁니다: 편집 설치에서만 보이는 파일이 있으면 그곳에서 깨집니다."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "course_utils"
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected <= packaged, sorted(expected - packaged)
