"""reranker-course 의 공용 패키지.

흐름은 한 방향입니다: ``env`` → ``data`` → ``offline_models`` → ``retrieval`` → ``rerankers`` (백엔드마다 모듈
하나) → ``metrics``/``bench`` → ``display``/``widgets``. 노트북은 이 모듈들을 불러 쓰고, 이 패키지는 노트북을
부르지 않습니다.
"""

__version__ = "0.1.0"
