"""06 노트북의 실습 채점기: 풀이는 통과하고, 흔한 실수는 이유와 함께 떨어집니다."""

from __future__ import annotations

import pytest

from course_utils.exercises import modern


@pytest.mark.parametrize("exercise", [modern.q1, modern.q2, modern.q3], ids=["q1", "q2", "q3"])
def test_the_published_solution_passes(exercise, capsys):
    namespace: dict = {}
    exec(exercise._solution, namespace)  # 강의가 쓴 풀이 코드를 그대로 실행합니다
    answer = namespace.get("answer") or next(value for name, value in namespace.items() if callable(value))
    exercise.check(answer)
    assert exercise.passed, capsys.readouterr().out


def test_common_mistakes_fail_with_a_reason(capsys):
    modern.q1.check(lambda count, window, step: -(-count // step))  # 창 수를 count ÷ step 으로 어림
    assert not modern.q1.passed and "LLM 을" in capsys.readouterr().out
    modern.q2.check(lambda i, o, ip, op: i * ip + o * op)  # 100만으로 나누지 않음
    assert not modern.q2.passed and "100만 토큰당" in capsys.readouterr().out
    modern.q3.check([1, 3, 1, 0, 2])  # 두 번 나온 번호를 지우지 않음
    assert not modern.q3.passed
    modern.q3.check("1, 3, 0, 2")
    assert not modern.q3.passed and "목록" in capsys.readouterr().out
