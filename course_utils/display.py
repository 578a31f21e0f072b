"""결과를 보여 주는 도구: 지표 표, 순위 나란히 보기(정적 HTML, 위젯이 없는 곳에서도 보입니다)."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Mapping, Sequence

from langchain_core.documents import Document

from .metrics import evaluate

#: 등급별 배경색 (밝은/어두운 테마 모두에서 글자가 읽히도록 글자색도 함께 지정합니다).
GRADE_STYLES = {
    2: "background:#bbf7d0;color:#14532d",
    1: "background:#fef08a;color:#713f12",
}


def metrics_table(rows: Mapping[str, Mapping[str, float]], digits: int = 3) -> str:
    """``{시스템 이름: {지표: 값}}`` 을 고정폭 텍스트 표로 만듭니다 (노트북·터미널 어디서나 읽힘).

    Example:
        >>> print(metrics_table({"BM25": {"ndcg@10": 0.5, "mrr@10": 0.25}}))
        시스템  ndcg@10   mrr@10
        BM25      0.500    0.250
    """
    if not rows:
        raise ValueError("rows 가 비어 있습니다.")
    metric_names = list(dict.fromkeys(name for values in rows.values() for name in values))
    name_width = max(_display_width(name) for name in [*rows, "시스템"])
    header = _pad("시스템", name_width) + "".join(f"  {name:>{max(len(name), digits + 4)}}" for name in metric_names)
    lines = [header]
    for system, values in rows.items():
        cells = "".join(
            f"  {values[name]:>{max(len(name), digits + 4)}.{digits}f}"
            if name in values
            else f"  {'-':>{max(len(name), digits + 4)}}"
            for name in metric_names
        )
        lines.append(_pad(system, name_width) + cells)
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """한글 등 전각 문자는 고정폭 글꼴에서 두 칸을 차지합니다."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def _snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _score_bar(score: float, low: float, high: float) -> str:
    width = 100 if high <= low else round(100 * (score - low) / (high - low))
    return (
        f"<div style='font-size:11px'>{score:.3f}</div>"
        f"<div style='background:#3b82f6;height:5px;width:{max(width, 3)}%'></div>"
    )


def rankings_html(
    query: str,
    rankings: Mapping[str, Sequence[Document]],
    judged: Mapping[str, int] | None = None,
    snippet_chars: int = 60,
    scores: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """여러 순위를 나란히 놓은 HTML 표. 첫 열이 기준(1단계)이고, 다른 열에는 기준 대비 이동(↑/↓/신규)을 표시합니다.

    위젯이 없는 곳(GitHub 의 노트북 보기, 내보낸 HTML)에서도 보이도록 순수 HTML 만 씁니다.

    Args:
        query: 질의 (제목에 표시).
        rankings: ``{열 이름: 순서대로 놓인 Document}``. 문서는 ``metadata["id"]`` 로 구별합니다.
        judged: 그 질의의 ``qrels`` (``{doc_id: grade}``). 주면 관련 문서를 등급별 색으로 칠하고 열마다 nDCG 를 적습니다.
        snippet_chars: 본문을 이만큼만 보여 주고 나머지는 마우스를 올리면 보입니다.
        scores: ``{열 이름: {doc_id: 점수}}``. 주면 점수를 막대로 보여 줍니다 (열 안에서만 비교하세요).
    """
    if not rankings:
        raise ValueError("rankings 가 비어 있습니다.")
    if not isinstance(query, str):
        raise TypeError(f"query 는 문자열이어야 합니다 (받은 값: {type(query).__name__}).")
    judged = judged or {}
    scores = scores or {}
    baseline_name = next(iter(rankings))
    baseline = {doc.metadata.get("id"): rank for rank, doc in enumerate(rankings[baseline_name])}
    columns = []
    for name, documents in rankings.items():
        column_scores = scores.get(name, {})
        low, high = min(column_scores.values(), default=0.0), max(column_scores.values(), default=0.0)
        rows = []
        for rank, document in enumerate(documents):
            doc_id = document.metadata.get("id")
            style = GRADE_STYLES.get(judged.get(doc_id, 0), "")
            if name == baseline_name:
                movement = ""
            elif doc_id not in baseline:
                movement = "신규"
            else:
                delta = baseline[doc_id] - rank
                movement = f"↑{delta}" if delta > 0 else f"↓{-delta}" if delta < 0 else "–"
            title = document.metadata.get("title") or _snippet(document.page_content, 20)
            bar = _score_bar(column_scores[doc_id], low, high) if doc_id in column_scores else ""
            rows.append(
                f"<tr style='{style}'><td>{rank + 1}</td><td>{html.escape(movement)}</td>"
                f"<td title='{html.escape(document.page_content, quote=True)}' style='text-align:left'>"
                f"<b>{html.escape(title)}</b><br><small>{html.escape(_snippet(document.page_content, snippet_chars))}"
                f"</small></td><td style='min-width:60px'>{bar}</td></tr>"
            )
        caption = html.escape(name)
        if judged and any(grade > 0 for grade in judged.values()):
            run = {"q": {doc.metadata.get("id"): float(len(documents) - rank) for rank, doc in enumerate(documents)}}
            cutoff = max(len(documents), 1)
            caption += f"<br><small>nDCG@{cutoff} {evaluate({'q': judged}, run, [f'ndcg@{cutoff}'])[f'ndcg@{cutoff}']:.3f}</small>"
        columns.append(
            "<td style='vertical-align:top;padding:4px'>"
            f"<table class='ranking-column'><caption><b>{caption}</b></caption>"
            "<tr><th>순위</th><th>이동</th><th>문서</th><th>점수</th></tr>" + "".join(rows) + "</table></td>"
        )
    legend = " · 초록: 등급 2(답), 노랑: 등급 1(부분 관련)" if judged else ""
    return (
        f"<div><p><b>질의:</b> {html.escape(query)}<small>{legend}</small></p>"
        f"<table><tr>{''.join(columns)}</tr></table></div>"
    )


def show_rankings(
    query: str, rankings: Mapping[str, Sequence[Document]], judged: Mapping[str, int] | None = None
) -> None:
    """``rankings_html`` 을 노트북에 표시합니다."""
    from IPython.display import HTML, display

    display(HTML(rankings_html(query, rankings, judged)))
