# reranker-course 의 두 명령: `make course` (강의 실행) 와 `make test` (테스트).
# 둘 다 가상 환경이 없거나 의존성 파일이 바뀌었으면 먼저 scripts/setup.sh 로 만듭니다.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.reranker-course-installed

.PHONY: course test setup lint

course: $(STAMP)
	$(BIN)/python scripts/run_course.py

# 테스트는 오프라인으로 돕니다: 노트북도 대체 모델로 끝까지 실행되어야 합니다.
# 캐시는 build/ 아래에 두어 사용자 캐시를 건드리지 않고, 대체 모델은 단위 테스트와 노트북이 한 번만 만듭니다.
TEST_ENV := RERANK_COURSE_OFFLINE=1 HF_HUB_OFFLINE=1 RERANK_COURSE_CACHE=$(CURDIR)/build/test-cache
test: $(STAMP)
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/python -m pytest --doctest-modules course_utils tests
	$(TEST_ENV) $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt scripts/setup.sh
	bash scripts/setup.sh $(VENV) $(PYTHON)
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
