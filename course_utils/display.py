"""결과를 보여 주는 도구: 지표 표, 리랭커 요약 표, 순위 나란히 보기(정적 HTML, 위젯이 없는 곳에서도 보입니다)."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.documents import Document

from .metrics import EvaluationResult, bootstrap_interval, evaluate
from .models_info import MODEL_CARDS

if TYPE_CHECKING:
    from .bench import LatencyStats
    from .rerankers import Reranker

#: 등급별 배경색 (밝은/어두운 테마 모두에서 글자가 읽히도록 글자색도 함께 지정합니다).
GRADE_STYLES = {
    2: "background:#bbf7d0;color:#14532d",
    1: "background:#fef08a;color:#713f12",
}


@dataclass(frozen=True)
class MetricsTable:
    """품질 표: 값마다 질의 수와 부트스트랩 95% 구간, 기준 줄과의 짝지은 차이와 그 구간.

    ``print()`` 하면 텍스트로, 노트북 셀의 마지막 값이나 ``display()`` 로는 HTML 표로 보입니다.

    Attributes:
        columns: 열 이름들 (첫 열은 시스템).
        rows: 줄마다 칸 문자열.
        caption: 표 아래에 붙는 읽는 법.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str

    def to_text(self) -> str:
        widths = [max(_display_width(row[i]) for row in (self.columns, *self.rows)) for i in range(len(self.columns))]
        lines = [
            "  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (self.columns, *self.rows)
        ]
        return "\n".join([*lines, f"※ {self.caption}"])

    def to_html(self) -> str:
        header = "".join(f"<th style='white-space:nowrap'>{html.escape(column)}</th>" for column in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:{'left' if i == 0 else 'right'};white-space:nowrap'>{html.escape(cell)}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row in self.rows
        )
        return (
            f"<div style='max-width:100%;overflow-x:auto'><table class='course-metrics'><tr>{header}</tr>{body}</table>"
            f"<div style='font-size:smaller'>※ {html.escape(self.caption)}</div></div>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()


def metrics_table(
    rows: Mapping[str, EvaluationResult], baseline: str | None = None, digits: int = 3, confidence: float = 0.95
) -> MetricsTable:
    """``{시스템 이름: evaluate 결과}`` 를 품질 표로 만듭니다. 칸마다 평균과 부트스트랩 구간이 함께 나옵니다.

    Args:
        rows: 시스템 이름 → ``evaluate`` 의 결과 (질의별 값이 있어야 구간을 냅니다).
        baseline: 다른 줄과 짝지어 비교할 기준 줄 이름. ``None`` 이면 첫 줄. 첫 지표에 대해 기준 대비 차이와
            그 짝지은 구간 열이 붙습니다 (같은 질의끼리 비교하므로 두 구간을 따로 보는 것보다 정확합니다).
        digits: 소수 자릿수.
        confidence: 구간의 신뢰 수준.

    Example:
        >>> qrels = {f"q{i}": {"a": 1} for i in range(10)}
        >>> first = evaluate(qrels, {f"q{i}": {"a": 1.0, "b": 2.0 if i % 2 else 0.0} for i in range(10)}, ["mrr@10"])
        >>> after = evaluate(qrels, {f"q{i}": {"a": 3.0, "b": 2.0} for i in range(10)}, ["mrr@10"])
        >>> print(metrics_table({"BM25": first, "리랭킹": after}))
        시스템  질의  MRR@10                Δ MRR@10 (짝지은 95% 구간)
        BM25    10    0.750 [0.600, 0.900]  기준
        리랭킹  10    1.000 [1.000, 1.000]  +0.250 [+0.100, +0.400]
        ※ [ ] 는 질의를 다시 뽑는 부트스트랩 95% 구간 (2,000번, 씨앗 0). Δ 는 같은 질의끼리 뺀 평균 차이입니다.
    """
    if not rows:
        raise ValueError("rows 가 비어 있습니다.")
    not_results = [name for name, result in rows.items() if not isinstance(result, EvaluationResult)]
    if not_results:
        raise TypeError(
            f"rows 의 값은 evaluate(...) 의 결과여야 합니다 (질의별 값으로 구간을 냅니다). 아닌 줄: {not_results}"
        )
    baseline = next(iter(rows)) if baseline is None else baseline
    if baseline not in rows:
        raise ValueError(f"rows 에 없는 baseline 입니다: {baseline!r}. 있는 줄: {list(rows)}")
    metric_names = list(dict.fromkeys(name for result in rows.values() for name in result))
    primary = metric_names[0]
    columns = ("시스템", "질의", *(_metric_label(name) for name in metric_names))
    compare = len(rows) > 1
    if compare:
        columns += (f"Δ {_metric_label(primary)} (짝지은 {confidence:.0%} 구간)",)
    table_rows = []
    for system, result in rows.items():
        cells = [system, str(len(result.per_query))]
        for name in metric_names:
            if name not in result:
                cells.append("-")
                continue
            low, high = bootstrap_interval(result, name, confidence=confidence)
            cells.append(f"{result[name]:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]")
        if compare:
            if system == baseline:
                cells.append("기준")
            elif primary in result and sorted(result.per_query) == sorted(rows[baseline].per_query):
                low, high = bootstrap_interval(result, primary, baseline=rows[baseline], confidence=confidence)
                change = result[primary] - rows[baseline][primary]
                cells.append(f"{change:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]")
            else:
                cells.append("질의가 달라 비교하지 않음")
        table_rows.append(tuple(cells))
    caption = f"[ ] 는 질의를 다시 뽑는 부트스트랩 {confidence:.0%} 구간 (2,000번, 씨앗 0)." + (
        " Δ 는 같은 질의끼리 뺀 평균 차이입니다." if compare else ""
    )
    return MetricsTable(columns, tuple(table_rows), caption)


@dataclass(frozen=True)
class HtmlTable:
    """줄마다 ``{열: 값}`` 인 표. 노트북에서는 HTML 로 (한글이 섞여도 열이 맞음), ``print()`` 로는 텍스트로 보입니다."""

    rows: tuple[Mapping[str, object], ...]

    def _columns(self) -> list[str]:
        return list(dict.fromkeys(column for row in self.rows for column in row))

    def __str__(self) -> str:
        columns = self._columns()
        cells = [columns, *([str(row.get(column, "")) for column in columns] for row in self.rows)]
        widths = [max(_display_width(line[i]) for line in cells) for i in range(len(columns))]
        return "\n".join("  ".join(_pad(c, w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        columns = self._columns()
        header = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(row.get(column, '')))}</td>" for column in columns) + "</tr>"
            for row in self.rows
        )
        return f"<table><tr>{header}</tr>{body}</table>"


def html_table(rows: Sequence[Mapping[str, object]]) -> HtmlTable:
    """``[{열: 값}, ...]`` 을 표로 보여 줍니다 (노트북 셀의 마지막 값이나 ``display()`` 로).

    Example:
        >>> print(html_table([{"후보": 5, "p50 (ms)": 12.5}, {"후보": 10, "p50 (ms)": 24.0}]))
        후보  p50 (ms)
        5     12.5
        10    24.0
    """
    if not rows:
        raise ValueError("rows 가 비어 있습니다.")
    return HtmlTable(tuple(rows))


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
                f"<td title='{html.escape(document.page_content, quote=True)}' style='text-align:left;min-width:11em'>"
                f"<b>{html.escape(title)}</b><br><small>{html.escape(_snippet(document.page_content, snippet_chars))}"
                f"</small></td><td style='min-width:60px'>{bar}</td></tr>"
            )
        caption = html.escape(name)
        if judged and any(grade > 0 for grade in judged.values()):
            run = {"q": {doc.metadata.get("id"): float(len(documents) - rank) for rank, doc in enumerate(documents)}}
            cutoff = max(len(documents), 1)
            caption += f"<br><small>nDCG@{cutoff} {evaluate({'q': judged}, run, [f'ndcg@{cutoff}'])[f'ndcg@{cutoff}']:.3f}</small>"
        columns.append(
            "<div style='flex:1 1 300px;max-width:420px;padding:4px'>"
            f"<table class='ranking-column'><caption><b>{caption}</b></caption>"
            "<tr style='white-space:nowrap'><th>순위</th><th>이동</th><th>문서</th><th>점수</th></tr>"
            + "".join(rows)
            + "</table></div>"
        )
    legend = " · 초록: 등급 2(답), 노랑: 등급 1(부분 관련)" if judged else ""
    return (
        f"<div><p><b>질의:</b> {html.escape(query)}<small>{legend}</small></p>"
        # 열이 많으면 좁은 화면에서는 다음 줄로 내려 놓습니다 (가로로 잘리거나 스크롤되지 않게).
        f"<div style='display:flex;flex-wrap:wrap;align-items:flex-start'>{''.join(columns)}</div></div>"
    )


def show_rankings(
    query: str, rankings: Mapping[str, Sequence[Document]], judged: Mapping[str, int] | None = None
) -> None:
    """``rankings_html`` 을 노트북에 표시합니다."""
    from IPython.display import HTML, display

    display(HTML(rankings_html(query, rankings, judged)))


# --- 리랭커 요약 표: 측정한 지표 + 지연 시간 + 원래 모델의 공개 정보 ------------------------------------

#: 요약 표에 보일 모델 카드 항목의 한국어 이름 (``models_info.ModelCard`` 의 필드).
CARD_FIELD_LABELS = {
    "size": "크기",
    "licence": "라이선스",
    "korean": "한국어",
    "price": "가격 단위",
    "published": "공개 수치",
}
#: 대체 모델로 잰 줄의 이름 뒤에 붙는 표시.
STANDIN_TAG = "[대체 모델]"
_METRIC_LABELS = {"ndcg": "nDCG", "mrr": "MRR", "recall": "Recall", "map": "MAP", "precision": "P"}


def _metric_label(name: str) -> str:
    """``"ndcg@10"`` → ``"nDCG@10"``."""
    base, _, cutoff = name.partition("@")
    return f"{_METRIC_LABELS.get(base.lower(), base)}@{cutoff}" if cutoff else name


def _milliseconds(value: float) -> str:
    """지연 시간 한 칸. 텍스트 표의 지연 시간 줄에는 늘 ``ms`` 가 들어가게 합니다."""
    return f"{value:,.1f} ms" if value < 10 else f"{value:,.0f} ms"


@dataclass(frozen=True)
class RerankerMeasurement:
    """요약 표의 한 줄: 리랭커 하나를 이 런타임에서 잰 결과.

    Attributes:
        name: 표에 보일 이름 (보통 백엔드 이름, 예: ``"cross-encoder"``).
        model: 원래 모델 이름 (``models_info.MODEL_CARDS`` 의 키). 대체 모델로 쟀어도 원래 모델 이름을 적습니다.
        scores: 리랭킹 뒤 지표 평균 (``evaluate`` 의 결과).
        latency: 질의당 리랭킹 시간 (``timed_rerank_run`` 의 결과). 재지 않았으면 ``None``.
        is_standin: 대체 모델로 쟀으면 ``True`` (``reranker.is_standin``). 이 줄의 숫자는 원래 모델의 결과가 아닙니다.
        runs: 대체 모델로 쟀을 때 실제로 돈 모델 (``reranker.runs``). 표의 '측정한 모델' 칸에 그대로 나옵니다.
    """

    name: str
    model: str
    scores: Mapping[str, float]
    latency: LatencyStats | None = None
    is_standin: bool = False
    runs: str = ""

    @classmethod
    def of(
        cls, name: str, reranker: Reranker, scores: Mapping[str, float], latency: LatencyStats | None = None
    ) -> RerankerMeasurement:
        """``load_reranker`` 로 만든 리랭커에서 모델 이름과 대체 모델 여부를 가져와 한 줄을 만듭니다."""
        return cls(name, reranker.model, scores, latency, reranker.is_standin, reranker.runs)


@dataclass(frozen=True)
class SummaryTable:
    """``summary_table`` 의 결과. ``print()`` 하면 텍스트로, 노트북에서는 HTML 표 하나로 보입니다.

    Attributes:
        caption: 측정 조건 한 줄 (질의 수, 후보 수, 장치 등).
        metric_names: 품질 지표 이름들 (예: ``("ndcg@10", "mrr@10")``).
        card_fields: 모델 카드에서 가져온 항목들 (예: ``("size", "licence")``).
        rows: 줄마다 ``{열 이름: 보일 문자열}``. 첫 줄은 1단계 검색(기준)입니다.
        standins: 대체 모델로 잰 줄의 이름들.
        query_count: 품질을 잰 질의 수.
    """

    caption: str
    metric_names: tuple[str, ...]
    card_fields: tuple[str, ...]
    rows: tuple[dict[str, str], ...] = field(default_factory=tuple)
    standins: tuple[str, ...] = field(default_factory=tuple)
    query_count: int = 0

    @property
    def quality_columns(self) -> tuple[str, ...]:
        return ("리랭커", "측정한 모델", *(_metric_label(name) for name in self.metric_names))

    @property
    def latency_columns(self) -> tuple[str, ...]:
        return ("리랭커", "p50", "p95", "질의 수")

    @property
    def card_columns(self) -> tuple[str, ...]:
        return ("리랭커", "원래 모델", *(CARD_FIELD_LABELS[name] for name in self.card_fields))

    def notes(self) -> list[str]:
        """표 아래에 붙는 안내 문장들."""
        notes = [
            f"품질 칸: 질의 {self.query_count}개의 평균. 1단계 줄의 [ ] 는 부트스트랩 95% 구간, 리랭커 줄의 괄호는 1단계 대비 "
            "변화와 그 짝지은 95% 구간 (같은 질의끼리 뺀 차이)입니다. 지연 시간: 질의 하나의 후보를 다시 세우는 데 걸린 시간."
        ]
        if self.standins:
            notes.append(
                f"{STANDIN_TAG} 줄({', '.join(name.removesuffix(' ' + STANDIN_TAG) for name in self.standins)})의 품질과 지연 시간은 "
                "'측정한 모델' 칸의 모델을 이 런타임에서 잰 값입니다. 원래 모델의 결과가 아니므로 원래 모델의 공개 수치와 비교하지 마세요."
            )
        notes.append(
            "모델 정보 칸은 원래 모델의 공개 정보입니다 (course_utils.models_info, 출처와 확인 날짜는 published_table)."
        )
        return notes

    def _aligned(self, title: str, columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> list[str]:
        widths = {
            column: max(_display_width(column), *(_display_width(row[column]) for row in rows)) for column in columns
        }
        lines = [title, "  ".join(_pad(column, widths[column]) for column in columns).rstrip()]
        lines += ["  ".join(_pad(row[column], widths[column]) for column in columns).rstrip() for row in rows]
        return lines

    def to_text(self) -> str:
        """고정폭 텍스트: 품질, 지연 시간, 모델 정보의 세 묶음 (터미널 폭에 맞게 나눕니다)."""
        lines = [self.caption] if self.caption else []
        lines += self._aligned("[품질: 리랭킹 전 → 후]", self.quality_columns, self.rows)
        timed = [row for row in self.rows if row["p50"] != "-"]
        if timed:
            lines += ["", *self._aligned("[지연 시간: 질의당, 이 런타임에서 측정]", self.latency_columns, timed)]
        lines += ["", "[원래 모델의 공개 정보]"]
        for row in self.rows[1:]:
            fields = " · ".join(
                f"{CARD_FIELD_LABELS[name]}: {row[CARD_FIELD_LABELS[name]]}" for name in self.card_fields
            )
            lines.append(f"  {row['리랭커']} → {row['원래 모델']}" + (f"\n      {fields}" if fields else ""))
        lines += ["", *(f"※ {note}" for note in self.notes())]
        return "\n".join(lines)

    def _html_rows(self, columns: Sequence[str]) -> str:
        """줄마다 ``columns`` 의 칸. 대체 모델 줄은 회색과 ⚠️, 품질 칸은 값 아래 줄에 변화와 구간을 둡니다."""
        metric_columns = self.quality_columns[2:]
        wrapped = ("측정한 모델", "원래 모델", *self.card_columns[2:])
        body = []
        for row in self.rows:
            standin = row["리랭커"] in self.standins
            style = " style='background:#f3f4f6;color:#374151;font-style:italic'" if standin else ""
            cells = []
            for column in columns:
                text = html.escape(row[column])
                if column == "리랭커" and standin:
                    text = f"⚠️ {text}"
                if column in metric_columns and " (" in text:
                    value, delta = text.split(" (", 1)
                    change = float(delta.split()[0])
                    color = "#15803d" if change > 0 else "#b91c1c" if change < 0 else "inherit"
                    # 값 아래 줄에 변화와 구간을 두어 열이 좁아지게 합니다 (1280px 화면에 표가 들어가도록).
                    text = f"{value}<br><span style='color:{color};font-size:smaller'>({delta}</span>"
                elif column in metric_columns and " [" in text:
                    value, interval = text.split(" [", 1)
                    text = f"{value}<br><span style='font-size:smaller'>[{interval}</span>"
                align = "left" if column in ("리랭커", *wrapped) else "right"
                # 지연 시간 칸만 한 줄로 두고, 나머지는 좁은 화면에서 줄을 바꿉니다.
                wrap = "nowrap" if column in ("p50", "p95", "질의 수") else "normal"
                cells.append(f"<td style='text-align:{align};vertical-align:top;white-space:{wrap}'>{text}</td>")
            body.append(f"<tr{style}>" + "".join(cells) + "</tr>")
        return "".join(body)

    @staticmethod
    def _html_header(columns: Sequence[str]) -> str:
        return (
            "<tr>"
            + "".join(f"<th style='white-space:nowrap'>{html.escape(column)}</th>" for column in columns)
            + "</tr>"
        )

    def to_html(self) -> str:
        """HTML 표 두 장: 이 런타임에서 잰 품질·지연 시간, 그 아래 원래 모델의 공개 정보 (1280px 화면에 들어가게 나눔)."""
        measured = [*self.quality_columns, *self.latency_columns[1:]]
        groups = (
            "<tr><th></th>"
            f"<th colspan='{len(self.quality_columns) - 1}'>품질: 리랭킹 전 → 후 (이 런타임에서 측정)</th>"
            "<th colspan='3'>지연 시간 (질의당)</th></tr>"
        )
        cards = ["리랭커", *self.card_columns[1:]]
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.caption)}</b></caption>" if self.caption else ""
        )
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes())
        return (
            f"<div><table class='reranker-summary'>{caption}{groups}{self._html_header(measured)}"
            f"{self._html_rows(measured)}</table>"
            "<table class='reranker-cards'><caption style='text-align:left'><b>원래 모델의 공개 정보</b></caption>"
            f"{self._html_header(cards)}{self._html_rows(cards)}</table>"
            f"<ul style='font-size:smaller'>{notes}</ul></div>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()


def summary_table(
    baseline: Mapping[str, float],
    measured: Sequence[RerankerMeasurement],
    metric_names: Sequence[str] = ("ndcg@10", "mrr@10", "recall@10"),
    card_fields: Sequence[str] = ("size", "licence", "price", "korean"),
    baseline_name: str = "hybrid (1단계)",
    caption: str = "",
) -> SummaryTable:
    """리랭커마다 잰 지표·지연 시간과 원래 모델의 공개 정보(``MODEL_CARDS``)를 한 표로 합칩니다.

    대체 모델로 잰 줄은 이름 뒤에 ``[대체 모델]`` 이 붙고, '측정한 모델' 칸에 원래 모델이 아니라는 것을 적습니다.
    모델 정보 칸은 언제나 원래 모델의 공개 정보입니다.

    Args:
        baseline: 1단계 검색의 지표 평균 (``evaluate`` 의 결과). 각 줄의 변화(Δ)는 이 값과의 차이입니다.
        measured: 리랭커마다 잰 결과 (``RerankerMeasurement``). 표에 이 순서대로 놓입니다.
        metric_names: 보일 지표 (``evaluate`` 에 넘긴 이름).
        card_fields: 보일 모델 카드 항목 (``"size"``, ``"licence"``, ``"korean"``, ``"price"``, ``"published"``).
        baseline_name: 첫 줄(1단계 검색)의 이름.
        caption: 표 위에 적을 측정 조건.

    Returns:
        ``SummaryTable``: ``print(표)`` 는 텍스트, 노트북 셀의 마지막 값이면 HTML 로 보입니다.

    Raises:
        ValueError: ``measured`` 가 비었거나, 이름이 겹치거나, 모르는 ``card_fields`` 가 있을 때.

    Example:
        >>> from course_utils.bench import LatencyStats
        >>> qrels = {f"q{i}": {"a": 1} for i in range(10)}
        >>> first = evaluate(qrels, {f"q{i}": {"a": 1.0, "b": 2.0 if i % 2 else 0.0} for i in range(10)}, ["mrr@10"])
        >>> after = evaluate(qrels, {f"q{i}": {"a": 3.0, "b": 2.0} for i in range(10)}, ["mrr@10"])
        >>> ltr = RerankerMeasurement(
        ...     "feature-ltr", "course-lexical-logreg", after, LatencyStats.from_seconds([0.004, 0.006])
        ... )
        >>> table = summary_table(first, [ltr], metric_names=("mrr@10",), card_fields=("licence",))
        >>> print(table.to_text().split("\\n\\n")[0])
        [품질: 리랭킹 전 → 후]
        리랭커          측정한 모델            MRR@10
        hybrid (1단계)  -                      0.750 [0.600, 0.900]
        feature-ltr     course-lexical-logreg  1.000 (+0.250 [+0.100, +0.400])
        >>> "<table" in table.to_html() and table.standins == ()
        True
    """
    measured = list(measured)
    if not measured:
        raise ValueError("measured 가 비어 있습니다. RerankerMeasurement 를 하나 이상 넣으세요.")
    names = [entry.name for entry in measured]
    if len(set(names)) != len(names) or baseline_name in names:
        raise ValueError(f"리랭커 이름이 겹칩니다: {names} (기준 줄 이름: {baseline_name!r}).")
    unknown = [name for name in card_fields if name not in CARD_FIELD_LABELS]
    if unknown:
        raise ValueError(f"모르는 card_fields {unknown}. 쓸 수 있는 항목: {', '.join(CARD_FIELD_LABELS)}")
    metric_names, card_fields = tuple(metric_names), tuple(card_fields)
    labels = [_metric_label(name) for name in metric_names]

    def empty_row(name: str) -> dict[str, str]:
        row = dict.fromkeys(("측정한 모델", "p50", "p95", "질의 수", "원래 모델"), "-")
        row.update({label: "-" for label in labels})
        row.update({CARD_FIELD_LABELS[field_name]: "-" for field_name in card_fields})
        row["리랭커"] = name
        return row

    if not isinstance(baseline, EvaluationResult) or not all(isinstance(e.scores, EvaluationResult) for e in measured):
        raise TypeError("baseline 과 scores 는 evaluate(...) 의 결과여야 합니다 (질의별 값으로 구간을 냅니다).")
    rows = [empty_row(baseline_name)]
    for name, label in zip(metric_names, labels, strict=True):
        if name in baseline:
            low, high = bootstrap_interval(baseline, name)
            rows[0][label] = f"{baseline[name]:.3f} [{low:.3f}, {high:.3f}]"
    standins = []
    for entry in measured:
        shown = f"{entry.name} {STANDIN_TAG}" if entry.is_standin else entry.name
        row = empty_row(shown)
        row["측정한 모델"] = f"{entry.runs or '대체 모델'} ({entry.model} 대신)" if entry.is_standin else entry.model
        for name, label in zip(metric_names, labels, strict=True):
            if name in entry.scores:
                value = entry.scores[name]
                if name in baseline:
                    low, high = bootstrap_interval(entry.scores, name, baseline=baseline)
                    row[label] = f"{value:.3f} ({value - baseline[name]:+.3f} [{low:+.3f}, {high:+.3f}])"
                else:
                    row[label] = f"{value:.3f}"
        if entry.latency is not None:
            row["p50"], row["p95"] = _milliseconds(entry.latency.p50_ms), _milliseconds(entry.latency.p95_ms)
            row["질의 수"] = str(entry.latency.count)
        row["원래 모델"] = entry.model
        card = MODEL_CARDS.get(entry.model)
        for field_name in card_fields:
            row[CARD_FIELD_LABELS[field_name]] = getattr(card, field_name) if card else "(모델 카드 없음)"
        if entry.is_standin:
            standins.append(shown)
        rows.append(row)
    return SummaryTable(
        caption, metric_names, card_fields, tuple(rows), tuple(standins), query_count=len(baseline.per_query)
    )
