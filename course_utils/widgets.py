"""순위 비교 위젯: 질의 하나에 대해 1단계 검색과 각 리랭커가 같은 후보를 어떻게 세우는지 나란히 봅니다.

Colab 에서 따로 위젯 관리자 없이 보이도록 ipywidgets 의 기본 위젯만 씁니다. 같은 표는
``RankingComparison.compare()`` 로 정적 HTML 로도 얻을 수 있습니다 (GitHub 보기, 내보낸 HTML).

Example:
    >>> from course_utils.data import load_course_dataset
    >>> from course_utils.rerankers import load_reranker
    >>> corpus, queries, qrels = load_course_dataset()
    >>> rerankers = {"feature-ltr": load_reranker("feature-ltr")}
    >>> comparison = RankingComparison(corpus, queries, qrels, rerankers, retriever_kind="bm25")
    >>> "nDCG@" in comparison.compare("pet-t01")
    True
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from langchain_core.documents import Document

from .data import Corpus, Qrels, Queries, to_documents
from .display import rankings_html
from .rerankers import Reranker
from .retrieval import RetrieverKind, build_retriever, search

#: 후보 수 슬라이더의 범위. 느린 리랭커도 한 번에 끝나도록 상한을 둡니다.
MIN_CANDIDATES, MAX_CANDIDATES = 3, 30


def reranker_label(name: str, reranker: Reranker) -> str:
    """선택 목록에 보일 이름. 대체 모델이면 그렇게 적습니다."""
    return f"{name} (대체 모델)" if reranker.is_standin else name


class RankingComparison:
    """질의 입력(자유 입력 또는 test 질의 목록), 리랭커 여러 개 선택, 후보 수, '비교' 버튼으로 순위를 나란히 보여 줍니다.

    Args:
        corpus: ``load_course_dataset`` 의 말뭉치 (또는 같은 모양의 여러분 데이터).
        queries: 목록에 보일 질의들 (``{query_id: text}``).
        qrels: 판정. 목록의 질의를 고르면 관련 문서를 색으로 칠하고 열마다 nDCG 를 보여 줍니다.
        rerankers: ``{이름: load_reranker(...) 로 만든 리랭커}``.
        retriever_kind: 1단계 검색 종류.
        k: 처음 후보 수.
    """

    def __init__(
        self,
        corpus: Corpus,
        queries: Queries,
        qrels: Qrels | None = None,
        rerankers: Mapping[str, Reranker] | None = None,
        retriever_kind: RetrieverKind = "hybrid",
        k: int = 10,
    ) -> None:
        import ipywidgets as widgets

        if isinstance(k, bool) or not isinstance(k, int) or not MIN_CANDIDATES <= k <= MAX_CANDIDATES:
            raise ValueError(f"k 는 {MIN_CANDIDATES}–{MAX_CANDIDATES} 사이의 정수여야 합니다 (받은 값: {k!r}).")
        rerankers = dict(rerankers or {})
        if not all(isinstance(reranker, Reranker) for reranker in rerankers.values()):
            raise TypeError("rerankers 의 값은 load_reranker(...) 로 만든 리랭커여야 합니다.")
        self.corpus = corpus
        self.queries = dict(queries)
        self.qrels = qrels or {}
        self.rerankers = {reranker_label(name, reranker): reranker for name, reranker in rerankers.items()}
        # 후보는 슬라이더의 상한만큼 한 번에 뽑아 두고, 비교할 때 앞에서 k 개만 씁니다.
        self._retriever = build_retriever(to_documents(corpus), kind=retriever_kind, k=MAX_CANDIDATES)

        self.query_box = widgets.Text(
            placeholder="질의를 입력하세요 (예: 강아지 예방접종 시기)", description="질의", continuous_update=False
        )
        self.query_list = widgets.Dropdown(
            options=[("(직접 입력)", "")] + [(f"[{qid}] {text}", qid) for qid, text in self.queries.items()],
            description="test 질의",
        )
        self.reranker_select = widgets.SelectMultiple(
            options=list(self.rerankers),
            value=tuple(self.rerankers),
            description="리랭커",
            rows=min(6, max(2, len(self.rerankers))),
        )
        self.k_slider = widgets.IntSlider(
            value=k, min=MIN_CANDIDATES, max=MAX_CANDIDATES, description="후보 k", continuous_update=False
        )
        self.button = widgets.Button(description="비교", button_style="primary", icon="search")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="", layout=widgets.Layout(width="200px"))
        self.status = widgets.Label(value="")
        self.output = widgets.HTML(value="")
        self.button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.query_list, self.query_box]),
                widgets.HBox([self.reranker_select, self.k_slider]),
                widgets.HBox([self.button, self.progress, self.status]),
                self.output,
            ]
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _resolve_query(self, query: str) -> tuple[str, str | None]:
        """목록의 질의 id 면 (본문, id), 아니면 (입력 그대로, None)."""
        if query in self.queries:
            return self.queries[query], query
        return query, None

    def compare(self, query: str, reranker_names: list[str] | None = None, k: int | None = None) -> str:
        """순위 비교 표를 HTML 로 돌려줍니다 (위젯 없이도 쓸 수 있음).

        Args:
            query: 질의 본문, 또는 ``queries`` 의 질의 id.
            reranker_names: 비교할 리랭커 이름들 (``None`` 이면 전부). 선택 목록의 이름(대체 모델 표시 포함)을 씁니다.
            k: 후보 수 (``None`` 이면 슬라이더 값).
        """
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query 가 비어 있습니다. 질의를 입력하거나 test 질의를 고르세요.")
        k = self.k_slider.value if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not MIN_CANDIDATES <= k <= MAX_CANDIDATES:
            raise ValueError(f"k 는 {MIN_CANDIDATES}–{MAX_CANDIDATES} 사이의 정수여야 합니다 (받은 값: {k!r}).")
        names = list(self.rerankers) if reranker_names is None else list(reranker_names)
        unknown = [name for name in names if name not in self.rerankers]
        if unknown:
            raise ValueError(f"알 수 없는 리랭커 {unknown}. 쓸 수 있는 이름: {', '.join(self.rerankers)}")
        text, query_id = self._resolve_query(query)
        candidates = search(self._retriever, text, k)
        rankings: dict[str, list[Document]] = {"1단계 검색": candidates}
        scores: dict[str, dict[str, float]] = {}
        errors: list[str] = []
        self.progress.max = max(len(names), 1)
        for step, name in enumerate(names, start=1):
            self.status.value = f"{name} 계산 중..."
            try:
                results = self.rerankers[name].rank(text, candidates)
            except Exception as error:  # 한 리랭커가 실패해도(API 장애 등) 나머지 열은 보여 줍니다.
                errors.append(f"{name}: {error}")
            else:
                rankings[name] = [result.document for result in results]
                scores[name] = {result.document.metadata["id"]: result.score for result in results}
            self.progress.value = step
        self.status.value = ""
        judged = self.qrels.get(query_id) if query_id else None
        page = rankings_html(text, rankings, judged=judged, scores=scores)
        notes = [] if names else ["<p>리랭커를 하나 이상 고르면 1단계 옆에 그 순위가 나옵니다.</p>"]
        notes += [f"<p style='color:#b91c1c'>⚠️ {html.escape(error)}</p>" for error in errors]
        standins = [name for name in names if self.rerankers[name].is_standin]
        if standins:
            notes.append(
                f"<p><small>대체 모델({', '.join(html.escape(name) for name in standins)})의 순위는 원래 모델의 결과가 아닙니다.</small></p>"
            )
        return page + "".join(notes)

    def run(self) -> None:
        """위젯의 현재 값으로 비교해 결과 칸에 씁니다 ('비교' 버튼이 부릅니다). 잘못된 입력은 결과 칸에 안내합니다."""
        query = self.query_list.value or self.query_box.value
        try:
            self.output.value = self.compare(query, list(self.reranker_select.value), self.k_slider.value)
        except ValueError as error:
            self.output.value = f"<p style='color:#b91c1c'>{html.escape(str(error))}</p>"
