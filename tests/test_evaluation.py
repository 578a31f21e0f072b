"""강의 공통 평가: 평가 질의는 한곳에서 고르고, 모든 노트북이 같은 1단계 기준선을 보며, 품질 숫자에는 구간이 붙습니다."""

import re
from collections import Counter

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

from course_utils.data import load_course_dataset
from course_utils.evaluation import (
    BASELINE_NAME,
    EVAL_QUERIES_PER_DOMAIN,
    course_evaluation,
    evaluation_query_ids,
)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# f-문자열 안에서 지표 값을 꺼내 숫자로 찍는 코드 (구간 없이 품질 숫자를 보이는 길).
BARE_METRIC = re.compile(r"""\{[^{}]*\[\s*["'](?:ndcg|mrr|recall|precision|map)@\d+["']\s*\][^{}]*:[^{}]*f\}""")


def test_subset_is_deterministic_balanced_and_spread_over_each_domain():
    _, queries, _ = load_course_dataset("test")
    chosen = evaluation_query_ids(queries)
    assert chosen == evaluation_query_ids(reversed(list(queries)))  # 입력 순서와 상관없음
    per_domain = Counter(query_id.split("-")[0] for query_id in chosen)
    assert set(per_domain) == {"pet", "gov", "health", "fin", "it"}
    assert set(per_domain.values()) == {EVAL_QUERIES_PER_DOMAIN} and len(chosen) >= 30
    # 분야 안에서 앞쪽만이 아니라 처음과 끝을 모두 고릅니다.
    pet = sorted(query_id for query_id in queries if query_id.startswith("pet-"))
    assert pet[0] in chosen and pet[-1] in chosen
    assert evaluation_query_ids(queries, per_domain=None) == sorted(queries)
    for bad in (0, -1, 2.5, True, "6"):
        with pytest.raises(ValueError, match="per_domain"):
            evaluation_query_ids(queries, per_domain=bad)


def test_course_evaluation_baseline_focus_query_and_description():
    evaluation = course_evaluation()
    assert len(evaluation.queries) == 5 * EVAL_QUERIES_PER_DOMAIN
    assert set(evaluation.qrels) == set(evaluation.queries) == set(evaluation.first_stage)
    assert all(len(scores) <= evaluation.k for scores in evaluation.first_stage.values())
    assert set(evaluation.baseline.per_query) <= set(evaluation.queries)
    # 나란히 보기의 질의: 1단계 1위는 답이 아니고, 답은 후보 안에 있습니다.
    focus = evaluation.focus_query()
    judged = evaluation.qrels[focus]
    assert judged.get(evaluation.candidates(focus, 1)[0], 0) < 2
    assert any(judged.get(doc_id, 0) == 2 for doc_id in evaluation.candidates(focus))
    line = evaluation.describe()
    assert f"평가 질의 {len(evaluation.queries)}개" in line and BASELINE_NAME in line and "95% 구간" in line
    # 같은 조건이면 언제 만들어도 같은 기준선입니다.
    assert course_evaluation().describe() == line


def test_notebooks_take_their_queries_and_baseline_from_course_evaluation():
    for path in NOTEBOOKS:
        code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        if "hybrid (1단계)" not in code:
            continue
        assert "course_evaluation(" in code, f"{path.name}: 평가 질의와 기준선은 course_evaluation() 에서 받아야 합니다"
        assert not re.search(r"sorted\(queries\)\[", code), f"{path.name}: 평가 질의를 따로 고르면 안 됩니다"
        assert not BARE_METRIC.search(code), f"{path.name}: 품질 숫자를 구간 없이 찍습니다: {BARE_METRIC.search(code)}"
        assert "print(metrics_table(" not in code, f"{path.name}: 품질 표는 display(metrics_table(...)) 로 보입니다"


def test_bare_metric_pattern_catches_a_number_without_interval():
    assert BARE_METRIC.search('print(f"nDCG {scores["ndcg@10"]:.3f}")')
    assert not BARE_METRIC.search('display(metrics_table({"a": scores}))')


def prefix_until_evaluation(path):
    """노트북을 course_evaluation() 을 부르는 첫 셀까지만 남깁니다 (그 셀이 기준선을 찍습니다)."""
    notebook = nbformat.read(path, as_version=4)
    cut = next(
        i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and "course_evaluation(" in cell.source
    )
    notebook.cells = notebook.cells[: cut + 1]
    return notebook


def test_every_notebook_prints_the_same_first_stage_baseline():
    lines = {}
    for path in NOTEBOOKS:
        notebook = prefix_until_evaluation(path)
        NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
        ).execute()
        printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
        lines[path.name] = [line for line in printed.splitlines() if line.startswith("평가 질의")]
    assert all(len(found) == 1 for found in lines.values()), lines
    assert len({found[0] for found in lines.values()}) == 1, lines
    assert len(lines) == len(NOTEBOOKS) >= 6
