"""실습 문제 채점기 (Kaggle Learn 방식): ``q1.check(답)``, ``q1.hint()``, ``q1.solution()``.

노트북마다 모듈이 하나씩 있습니다 (``overview``, ``cross_encoder``, ...). 채점기는 셀이 실행됐는지가 아니라
**답이 맞는지** 를 확인하며, 정답은 강의 데이터로 다시 계산합니다.

Example:
    >>> from course_utils.exercises import overview
    >>> overview.q2.check(lambda ranked, relevant: 0.0)
    ❌ 순위 ['d3', 'd1', 'd2'] · 정답 {'d1'} 에서 나와야 하는 값은 0.5 인데 돌려준 값은 0.0 입니다.
    >>> overview.q2.passed
    False
"""

from __future__ import annotations

import math
from collections.abc import Callable


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
            problem = f"답을 확인하다가 오류가 났습니다 ({type(error).__name__}: {error})"
        if problem:
            print(f"❌ {problem}")
            return
        self.passed = True
        print(f"✅ 정답입니다! ({self.title})")

    def hint(self) -> None:
        print(f"💡 힌트: {self._hint}")

    def solution(self) -> None:
        print(f"📝 정답 예시:\n{self._solution}")


def is_close(actual: object, expected: float, tolerance: float = 1e-6) -> bool:
    """채점기용: ``actual`` 이 숫자(bool 제외)이고 ``expected`` 와 ``tolerance`` 안에서 같은지."""
    return (
        isinstance(actual, (int, float))
        and not isinstance(actual, bool)
        and math.isclose(actual, expected, abs_tol=tolerance)
    )


def pipeline_problem(answer: object, compressor_type: type | None = None) -> str | None:
    """답이 ``ContextualCompressionRetriever`` 이고, 주면 압축기가 ``compressor_type`` 인지 확인합니다."""
    from langchain_classic.retrievers import ContextualCompressionRetriever

    if not isinstance(answer, ContextualCompressionRetriever):
        return f"ContextualCompressionRetriever 를 넣어야 합니다 (받은 값: {type(answer).__name__})."
    compressor = answer.base_compressor
    if compressor_type is not None and not isinstance(compressor, compressor_type):
        return (
            f"압축기가 {compressor_type.__module__}.{compressor_type.__name__} 여야 합니다 "
            f"(받은 값: {type(compressor).__name__}). reranker.as_compressor(...) 를 쓰세요."
        )
    return None


def returned_documents_problem(documents: list, top_n: int) -> str | None:
    """파이프라인이 돌려준 문서가 ``top_n`` 개이고, 점수(``relevance_score``)가 내림차순인지 확인합니다."""
    if len(documents) != top_n:
        return f"top_n={top_n} 이면 문서 {top_n}개가 나와야 하는데 {len(documents)}개가 나왔습니다."
    scores = [document.metadata.get("relevance_score") for document in documents]
    if None in scores:
        return "각 문서의 metadata 에 relevance_score 가 있어야 합니다 (리랭커의 as_compressor 를 쓰세요)."
    if scores != sorted(scores, reverse=True):
        return f"문서가 점수 내림차순이어야 합니다 (받은 점수: {scores})."
    return None
