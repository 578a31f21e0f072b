"""실습 문제 채점기 (Kaggle Learn 방식): ``q1.check(답)``, ``q1.hint()``, ``q1.solution()``.

채점기는 셀이 실행됐는지가 아니라 **답이 맞는지** 를 확인합니다. 정답은 강의 데이터로 다시 계산합니다.

Example:
    >>> from course_utils.exercises import overview
    >>> overview.q2.check(lambda ranked, relevant: 0.0)
    ❌ 순위 ['d3', 'd1', 'd2'] · 정답 {'d1'} 에서 0.5 가 나와야 하는데 0.0 이 나왔습니다.
    >>> overview.q2.passed
    False
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace


class Exercise:
    """실습 문제 하나.

    Args:
        title: 문제 제목.
        checker: 답을 받아 틀린 이유(문자열)를 돌려주고, 맞으면 ``None`` 을 돌려주는 함수.
        hint: 힌트 문장.
        solution: 정답 예시 코드.
    """

    def __init__(self, title: str, checker: Callable[[object], str | None], hint: str, solution: str) -> None:
        self.title = title
        self._checker = checker
        self._hint = hint
        self._solution = solution
        #: 마지막 ``check()`` 가 정답이었는지.
        self.passed = False

    def check(self, answer: object = None) -> None:
        """답을 채점하고 결과를 출력합니다. 결과는 ``passed`` 에도 남습니다."""
        self.passed = False
        if answer is None or answer is Ellipsis:
            print(f"✋ '{self.title}': 아직 답이 없습니다. 답을 넣고 다시 실행하세요. 막히면 hint() 를 보세요.")
            return
        try:
            problem = self._checker(answer)
        except Exception as error:  # 채점 중 학습자 코드가 낸 예외를 알려 주되 커널은 멈추지 않습니다.
            problem = f"답을 확인하다가 {type(error).__name__} 이(가) 났습니다: {error}"
        if problem:
            print(f"❌ {problem}")
            return
        self.passed = True
        print(f"✅ 정답입니다! ({self.title})")

    def hint(self) -> None:
        print(f"💡 힌트: {self._hint}")

    def solution(self) -> None:
        print(f"📝 정답 예시:\n{self._solution}")


def _close(actual: object, expected: float, tolerance: float = 1e-6) -> bool:
    return (
        isinstance(actual, (int, float))
        and not isinstance(actual, bool)
        and math.isclose(actual, expected, abs_tol=tolerance)
    )


# --- 00 개요 ------------------------------------------------------------------------------------------


def _bm25_recall_at_5() -> float:
    from .data import load_course_dataset, to_documents
    from .metrics import evaluate
    from .retrieval import build_retriever, retrieval_run

    corpus, queries, qrels = load_course_dataset("test")
    run = retrieval_run(build_retriever(to_documents(corpus), kind="bm25", k=5), queries)
    return evaluate(qrels, run, ["recall@5"])["recall@5"]


def _check_recall(answer: object) -> str | None:
    expected = _bm25_recall_at_5()
    if not _close(answer, expected):
        return f"BM25(k=5) 의 recall@5 평균과 다릅니다. 받은 값: {answer!r}"
    return None


_RR_CASES = [
    (["d3", "d1", "d2"], {"d1"}, 0.5),
    (["d1", "d2"], {"d1", "d2"}, 1.0),
    (["d4", "d5", "d6"], {"d1"}, 0.0),
    ([], {"d1"}, 0.0),
    (["a", "b", "c", "d"], {"d", "c"}, 1 / 3),
]


def _check_reciprocal_rank(answer: object) -> str | None:
    if not callable(answer):
        return "함수를 넣어야 합니다: reciprocal_rank(ranked_ids, relevant_ids)."
    for ranked, relevant, expected in _RR_CASES:
        actual = answer(list(ranked), set(relevant))
        if actual is None:
            return "함수가 None 을 돌려줍니다. 아직 구현하지 않았다면 hint() 를 보세요."
        if not _close(actual, expected):
            return f"순위 {ranked} · 정답 {relevant} 에서 {expected:.4g} 가 나와야 하는데 {actual!r} 이 나왔습니다."
    return None


def _check_pipeline(answer: object) -> str | None:
    from langchain_classic.retrievers import ContextualCompressionRetriever

    if not isinstance(answer, ContextualCompressionRetriever):
        return f"ContextualCompressionRetriever 를 넣어야 합니다 (받은 값: {type(answer).__name__})."
    documents = answer.invoke("강아지 예방접종은 언제 시작하나요?")
    if len(documents) != 2:
        return f"top_n=2 로 문서 2개가 나와야 하는데 {len(documents)}개가 나왔습니다."
    if not all("relevance_score" in document.metadata for document in documents):
        return "각 문서의 metadata 에 relevance_score 가 있어야 합니다 (리랭커의 as_compressor 를 쓰세요)."
    return None


overview = SimpleNamespace(
    q1=Exercise(
        "BM25 의 recall@5",
        _check_recall,
        "build_retriever(documents, kind='bm25', k=5) 로 검색기를 만들고 retrieval_run → evaluate(qrels, run, ['recall@5']).",
        "retriever = build_retriever(documents, kind='bm25', k=5)\n"
        "run = retrieval_run(retriever, queries)\n"
        "recall_at_5 = evaluate(qrels, run, ['recall@5'])['recall@5']",
    ),
    q2=Exercise(
        "역순위(reciprocal rank) 직접 구현",
        _check_reciprocal_rank,
        "ranked_ids 를 앞에서부터 보며 처음 나오는 정답의 순위(1부터)를 r 이라 하면 1/r 입니다. 없으면 0.",
        "def reciprocal_rank(ranked_ids, relevant_ids):\n"
        "    for rank, doc_id in enumerate(ranked_ids, start=1):\n"
        "        if doc_id in relevant_ids:\n"
        "            return 1 / rank\n"
        "    return 0.0",
    ),
    q3=Exercise(
        "리랭커를 넣은 LangChain 파이프라인",
        _check_pipeline,
        "ContextualCompressionRetriever(base_compressor=reranker.as_compressor(top_n=2), base_retriever=...)",
        "pipeline = ContextualCompressionRetriever(\n"
        "    base_compressor=reranker.as_compressor(top_n=2),\n"
        "    base_retriever=retrievers['hybrid'],\n"
        ")",
    ),
)
