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
"${pip[@]}" -c requirements/constraints.txt -e ".[jupyter,dev,offline]" 2> >(grep -v "is neither a file nor a directory" >&2)
# 노트북 실행기가 이 가상 환경의 파이썬을 쓰도록 커널을 등록합니다.
"$venv/bin/python" -m ipykernel install --sys-prefix --name reranker-course \
    --display-name "Python (reranker-course)" >/dev/null
# 브라우저 테스트(tests/test_browser.py)는 Debian 의 chromium 을 씁니다. Playwright 의 브라우저 내려받기
# (`playwright install`)는 이 환경에서 되지 않으므로 쓰지 않습니다. 한글 글꼴(fonts-noto-cjk)이 있어야
# 스크린숏의 한글이 네모로 나오지 않습니다. 이미 있으면 아무것도 하지 않습니다.
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "브라우저 테스트용 chromium 과 fonts-noto-cjk 를 apt-get 으로 설치합니다..."
        export DEBIAN_FRONTEND=noninteractive
        if ! log=$({ apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; } \
            2>&1 < /dev/null); then
            printf '%s\n' "$log" | tail -n 5 >&2
            echo "chromium 을 설치하지 못했습니다. 브라우저 테스트는 건너뜁니다 (CI 에서는 실패)." >&2
        fi
    else
        echo "참고: 브라우저 테스트에는 chromium 이 필요합니다 (sudo apt-get install chromium fonts-noto-cjk). 없으면 그 테스트는 건너뜁니다."
    fi
fi
echo "설치 완료: $venv ($(($(date +%s) - started))초)"
