#!/usr/bin/env bash
# 강의 환경(가상 환경)을 만듭니다. `make course` 와 `make test` 가 필요할 때 부릅니다.
# 사용법: bash scripts/setup.sh [가상환경 폴더] [파이썬]
set -euo pipefail
venv="${1:-.venv}"
python="${2:-python3}"
cd "$(dirname "$0")/.."

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "Python 3.10 이상이 필요합니다: $("$python" --version 2>&1)" >&2
    exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

started=$(date +%s)
# torch 를 먼저 고정 버전으로 설치합니다. 그렇지 않으면 다른 패키지의 torch 요구가
# 레지스트리의 최신 CUDA 빌드(수 GB)를 끌어옵니다. 이미 있으면 pip 은 아무것도 하지 않습니다.
"${pip[@]}" "torch==2.13.0" 2> >(grep -v "is neither a file nor a directory" >&2)
# 나머지는 잠금 파일(constraints)로 재현 가능하게 설치합니다.
"${pip[@]}" -c requirements/constraints.txt -e ".[jupyter,dev]" 2> >(grep -v "is neither a file nor a directory" >&2)
# 노트북 실행기가 이 가상 환경의 파이썬을 쓰도록 커널을 등록합니다.
"$venv/bin/python" -m ipykernel install --sys-prefix --name reranker-course \
    --display-name "Python (reranker-course)" >/dev/null
echo "설치 완료: $venv ($(($(date +%s) - started))초)"
