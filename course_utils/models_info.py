"""강의가 다루는 리랭커 모델의 공개 정보: 크기, 라이선스, 한국어 지원, 가격 단위, 공개된 성능 수치와 출처.

노트북의 측정값(여러분의 런타임)과 나란히 보여 주는 **인용** 수치입니다. 측정 조건(데이터, 하드웨어, 지표)이
강의 데이터셋과 다르므로 숫자끼리 직접 비교하지 마세요.

Example:
    >>> MODEL_CARDS["BAAI/bge-reranker-v2-m3"].licence
    'Apache-2.0'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCard:
    """모델 한 개의 공개 정보.

    Attributes:
        name: 모델 이름.
        backend: ``load_reranker`` 의 백엔드 이름.
        size: 파라미터 수와 구조.
        licence: 라이선스 (API 는 서비스 약관).
        korean: 한국어 지원에 대한 공개 정보.
        price: 과금 단위 (자체 실행이면 "자체 실행(하드웨어 비용)").
        published: 공개된 성능 수치와 그 조건.
        source: 출처.
        checked: 출처를 확인한 날짜.
    """

    name: str
    backend: str
    size: str
    licence: str
    korean: str
    price: str
    published: str
    source: str
    checked: str


_SELF_HOSTED = "자체 실행(하드웨어 비용)"
_COHERE_PRICE = "검색 1회 = 질의 1개 + 문서 최대 100개. 체험 키: rerank 분당 10회, 모든 API 합쳐 월 1000회"
_FLASHRANK_LICENCE = "라이브러리 Apache-2.0, 모델 파일(Hugging Face prithivida/flashrank) CC-BY-SA-4.0"
_CARDS = [
    ModelCard(
        "course-lexical-logreg",
        "feature-ltr",
        "어휘 특징 7개 + 로지스틱 회귀 (가중치 8개, 신경망 아님)",
        "Apache-2.0 (강의 저장소의 코드, 강의 train 질의로 학습)",
        "한국어 전용 (Kiwi 형태소, 강의 데이터로 학습). 말을 바꾼 질의에는 약함",
        "자체 실행(CPU, 하드웨어 비용)",
        "공개 수치 없음: 강의 데이터셋에서만 잼 (README, 00_overview)",
        "reranker-course course_utils.rerankers.FeatureLTRReranker",
        "2026-11",
    ),
    ModelCard(
        "BAAI/bge-reranker-v2-m3",
        "cross-encoder",
        "568M, XLM-RoBERTa large (24층, hidden 1024)",
        "Apache-2.0",
        "다국어(한국어 포함)",
        _SELF_HOSTED,
        "MIRACL 한국어 nDCG@10 73.79 (bge-m3 상위 100개 리랭킹, 리랭킹 전 69.9)",
        "BAAI FlagEmbedding 저장소 llm_reranker README 의 MIRACL 결과 그림 (miracl-bge-m3.png)",
        "2026-11",
    ),
    ModelCard(
        "BAAI/bge-reranker-base",
        "cross-encoder",
        "278M, XLM-RoBERTa base, 512토큰",
        "MIT",
        "모델 카드: 주로 중국어·영어",
        _SELF_HOSTED,
        "한국어 공개 수치 없음",
        "Hugging Face 모델 카드 BAAI/bge-reranker-base",
        "2026-11",
    ),
    ModelCard(
        "dragonkue/bge-reranker-v2-m3-ko",
        "cross-encoder",
        "568M, bge-reranker-v2-m3 의 한국어 파인튜닝",
        "Apache-2.0",
        "한국어 특화",
        _SELF_HOSTED,
        "외부 한국어 RAG 벤치마크(allganize/RAG-Evaluation-Dataset-KO 300문항, 상위 20개 → 5개 리랭킹): "
        "MRR 0.7697 (리랭커 없는 하이브리드 0.7171). 같은 벤치에서 리랭커 25개 중 11개는 리랭커 없음보다 낮음",
        "BAEM1N, Korean RAG Benchmark: reranker 편 (baem1n.dev, 데이터셋 갱신 2026-04-28)",
        "2026-11",
    ),
    ModelCard(
        "Dongjin-kr/ko-reranker",
        "cross-encoder",
        "560M, bge-reranker-large 를 번역된 MS MARCO 로 파인튜닝",
        "MIT",
        "한국어 특화",
        _SELF_HOSTED,
        "저자의 평가 세트: MRR 0.87 (리랭커 없이 0.80, bge-reranker-large 0.84)",
        "aws-samples/aws-ai-ml-workshop-kr 의 reranker-kr README (5. Performance), 모델 카드 Dongjin-kr/ko-reranker",
        "2026-11",
    ),
    ModelCard(
        "jina-reranker-v2-base-multilingual",
        "jina",
        "278M, 최대 1024토큰",
        "CC-BY-NC-4.0 (가중치, 상업적 이용은 Jina 와 별도 계약) · API 는 유료",
        "다국어(한국어 포함)",
        "API: 입력 토큰 수 단위 과금 / 가중치: 비상업 자체 실행",
        "MKQA 54.83, BEIR 53.17 (다국어·영어 벤치마크, 한국어만의 수치 아님). jina.ai 는 더 새 모델(v3, m0)을 권함",
        "Hugging Face 모델 카드 jinaai/jina-reranker-v2-base-multilingual (2024-06 공개), jina.ai 모델 페이지",
        "2026-11",
    ),
    ModelCard(
        "rerank-v3.5",
        "cohere",
        "비공개, 문서당 최대 4096토큰 (max_tokens_per_doc 기본값 4096)",
        "Cohere 서비스 약관",
        "다국어(한국어 포함)",
        _COHERE_PRICE,
        "공개 한국어 수치 없음. rerank-english-v2.0·rerank-multilingual-v2.0 은 2025-04-30 종료 (대체: rerank-v3.5)",
        "Cohere 문서: Rerank, Rate limits, Deprecations (2024-12-02 공지), rerank-v3.5 changelog",
        "2026-11",
    ),
    ModelCard(
        "rerank-v4.0-pro",
        "cohere",
        "비공개, 문맥 32,768토큰 (2025-12 공개)",
        "Cohere 서비스 약관",
        "다국어(한국어 포함)",
        _COHERE_PRICE,
        "공개 한국어 수치 없음",
        "Cohere 문서: Rerank, Reranking best practices",
        "2026-11",
    ),
    ModelCard(
        "rerank-v4.0-fast",
        "cohere",
        "비공개, 문맥 32,768토큰 (2025-12 공개, pro 보다 빠른 판)",
        "Cohere 서비스 약관",
        "다국어(한국어 포함)",
        _COHERE_PRICE,
        "공개 한국어 수치 없음",
        "Cohere 문서: Rerank, Reranking best practices",
        "2026-11",
    ),
    ModelCard(
        "rerank-multilingual-v3.0",
        "cohere",
        "비공개, 문서당 최대 4096토큰",
        "Cohere 서비스 약관",
        "다국어(한국어 포함)",
        _COHERE_PRICE,
        "공개 한국어 수치 없음. 새 프로젝트에는 rerank-v3.5 이후 모델을 권함",
        "Cohere 문서: Rerank 모델 목록",
        "2026-11",
    ),
    ModelCard(
        "ms-marco-TinyBERT-L-2-v2",
        "flashrank",
        "4.4M (약 4MB ONNX)",
        _FLASHRANK_LICENCE,
        "영어 전용(MS MARCO)",
        _SELF_HOSTED,
        "FlashRank 기본 모델, 한국어 수치 없음",
        "FlashRank README (PrithivirajDamodaran/FlashRank), Hugging Face prithivida/flashrank",
        "2026-11",
    ),
    ModelCard(
        "ms-marco-MiniLM-L-12-v2",
        "flashrank",
        "33.4M (int8 ONNX 약 34MB)",
        _FLASHRANK_LICENCE,
        "영어 전용(MS MARCO)",
        _SELF_HOSTED,
        "한국어 수치 없음",
        "FlashRank README",
        "2026-11",
    ),
    ModelCard(
        "ms-marco-MultiBERT-L-12",
        "flashrank",
        "약 150MB (다국어 BERT, int8 ONNX)",
        _FLASHRANK_LICENCE,
        "'100개 이상 언어' (공개 품질 수치 없음)",
        _SELF_HOSTED,
        "공개 품질 수치 없음 (한국어 성능은 직접 재야 함)",
        "FlashRank README",
        "2026-11",
    ),
    ModelCard(
        "Qwen/Qwen3-Reranker-0.6B",
        "causal-lm",
        "0.6B (Qwen3 인과 LM, 28층, 문맥 32k 토큰, 약 1.2GB)",
        "Apache-2.0",
        "다국어 (한국어 포함). 한국어만의 공개 수치는 0.6B 에 없음",
        _SELF_HOSTED,
        "MMTEB-R 0.6B 66.36 · 4B 72.74 · 8B 72.94. 한국어 벤치(baem1n.dev, 2026): 4B MRR 0.7514 (리랭커 없이 0.7171)",
        "Hugging Face 모델 카드 Qwen/Qwen3-Reranker-0.6B (2025-06), baem1n.dev Korean RAG Benchmark",
        "2026-12",
    ),
    ModelCard(
        "mixedbread-ai/mxbai-rerank-base-v2",
        "causal-lm",
        "0.5B (494M, Qwen2.5 기반 인과 LM, 문맥 8k, 답 토큰 1/0)",
        "Apache-2.0",
        "다국어 (공개 한국어 수치 없음)",
        _SELF_HOSTED,
        "BEIR 평균 nDCG@10 55.57, Mr.TyDi(다국어) 28.56. 한국어만의 수치 없음",
        "Mixedbread 문서 mxbai-rerank-base-v2 (2025-06 갱신), 프롬프트는 mixedbread-ai/mxbai-rerank (AnswerDotAI/rerankers mxbai_v2.py)",
        "2026-12",
    ),
    ModelCard(
        "gpt-5.4-mini",
        "llm-listwise",
        "비공개 (범용 LLM, RankGPT 방식의 순열 답)",
        "OpenAI 서비스 약관",
        "다국어 (공개 한국어 리랭킹 수치 없음)",
        "입력 100만 토큰당 0.75달러, 출력 4.50달러. 후보 20개 창 하나에 질의당 입력 약 3,400토큰",
        "공개 리랭킹 수치 없음 (RankGPT 논문은 이전 세대 GPT 로 잼)",
        "OpenAI 가격표 (2026-06 인용 기사로 확인), Sun et al. 2023 arXiv:2304.09542",
        "2026-12",
    ),
]
MODEL_CARDS: dict[str, ModelCard] = {card.name: card for card in _CARDS}


def published_table(names: Iterable[str], fields: Iterable[str] = ("size", "licence", "korean", "published")) -> str:
    """고른 모델들의 공개 정보를 텍스트 표로 만들고, 끝에 출처와 확인 날짜를 붙입니다.

    Raises:
        ValueError: 모르는 모델 이름 (아는 이름을 알려 줍니다).
    """
    names = list(names)
    unknown = [name for name in names if name not in MODEL_CARDS]
    if unknown:
        raise ValueError(f"모르는 모델 {unknown}. 아는 모델: {', '.join(MODEL_CARDS)}")
    labels = {"size": "크기", "licence": "라이선스", "korean": "한국어", "price": "가격 단위", "published": "공개 수치"}
    lines = []
    for name in names:
        card = MODEL_CARDS[name]
        lines.append(f"■ {name}")
        lines += [f"    {labels[field]}: {getattr(card, field)}" for field in fields]
        lines.append(f"    출처: {card.source} (확인 {card.checked})")
    return "\n".join(lines)
