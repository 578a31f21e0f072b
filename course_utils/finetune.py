"""내 데이터로 검색을 더 낫게: 어려운 오답 캐기와 임베딩 모델 미세 조정(fine-tuning).

BEIR 폴더의 train 분할로 오프라인 multilingual-e5-small(바이 인코더)을 sentence-transformers 의 학습기로 더 학습하고,
test 분할에서 전후를 잽니다. 2코어 CPU 에서 몇 분 안에 끝나도록 단어 임베딩 표(25만 × 384)는 얼리고(freeze),
씨앗과 걸음 수를 고정해 같은 입력이면 같은 결과가 나옵니다.

Example:
    >>> pairs = training_pairs(
    ...     {"d1": {"title": "", "text": "답"}, "d2": {"title": "", "text": "오답"}},
    ...     {"q1": "질문"},
    ...     {"q1": {"d1": 2, "d2": 0}},
    ... )
    >>> pairs
    [('query: 질문', 'passage: 답')]
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .data import Corpus, Qrels, Queries, document_text, load_beir
from .env import quiet_model_loading
from .metrics import EvaluationResult, evaluate
from .rerankers.base import _check_positive

#: CPU 기본값: 2코어에서 3분 안쪽 (2026-12, 걸음당 약 4–6초).
DEFAULT_STEPS = 24
DEFAULT_BATCH_SIZE = 16
DEFAULT_LEARNING_RATE = 2e-5
#: 학습할 때 자르는 토큰 수 (강의 문단은 대부분 이보다 짧습니다).
MAX_SEQ_LENGTH = 192
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "


def training_pairs(corpus: Corpus, queries: Queries, qrels: Qrels) -> list[tuple[str, str]]:
    """(질의, 답 문단) 쌍: 등급 2 판정마다 하나, e5 의 접두어를 붙여서."""
    return [
        (QUERY_PREFIX + queries[query_id], PASSAGE_PREFIX + document_text(corpus[doc_id]))
        for query_id in sorted(qrels)
        for doc_id, grade in sorted(qrels[query_id].items())
        if grade == 2 and query_id in queries
    ]


def mine_negatives(model, pairs: list[tuple[str, str]], corpus: Corpus, range_min: int = 1, range_max: int = 20):
    """쌍마다 어려운 오답 하나를 캡니다 (``sentence_transformers.util.mine_hard_negatives``).

    모델이 답 다음으로 가깝다고 보는 문단 가운데 상위 ``range_min`` 개를 건너뛰고 ``range_max`` 위까지에서 가장
    가까운 것을 고릅니다. 판정이 없는 관련 문단(거짓 오답, false negative)이 뽑힐 위험을 줄이려고, 답과의 유사도가
    답 자신의 유사도의 95% 를 넘는 문단은 건너뜁니다 (``relative_margin``).

    Returns:
        ``datasets.Dataset``: 열 ``anchor``, ``positive``, ``negative``.
    """
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    dataset = Dataset.from_dict({"anchor": [q for q, _ in pairs], "positive": [p for _, p in pairs]})
    passages = [PASSAGE_PREFIX + document_text(entry) for entry in corpus.values()]
    return mine_hard_negatives(
        dataset,
        model,
        corpus=passages,
        num_negatives=1,
        range_min=range_min,
        range_max=range_max,
        relative_margin=0.05,
        sampling_strategy="top",
        batch_size=32,
        output_format="triplet",
        use_faiss=False,
        verbose=False,
    )


@dataclass(frozen=True)
class FineTuneReport:
    """``finetune_embeddings`` 의 결과.

    Attributes:
        output_dir: 학습한 모델 폴더 (sentence-transformers 형식, ``get_embeddings`` 가 아닌 ``SentenceTransformer`` 로 읽음).
        steps: 학습 걸음 수.
        triplets: 학습에 쓴 (질의, 답, 어려운 오답) 수.
        wall_seconds: 학습에 걸린 벽시계 시간.
        cpu_seconds: 같은 동안 이 프로세스가 쓴 CPU 시간 (코어 둘을 다 쓰면 벽시계의 약 두 배).
        losses: 걸음마다의 손실.
    """

    output_dir: Path
    steps: int
    triplets: int
    wall_seconds: float
    cpu_seconds: float
    losses: tuple[float, ...]


def finetune_embeddings(
    data_dir: str | Path,
    output_dir: str | Path,
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    seed: int = 0,
    base_model: str | Path | None = None,
) -> FineTuneReport:
    """BEIR 폴더의 train 분할로 e5 임베딩 모델을 ``MultipleNegativesRankingLoss`` 로 더 학습합니다.

    같은 배치의 다른 답들과 캐낸 어려운 오답을 모두 오답으로 쓰는 대조 학습(contrastive learning)입니다.

    Args:
        data_dir: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/train.tsv`` 가 있는 폴더.
        output_dir: 학습한 모델을 저장할 폴더 (있으면 덮어씁니다).
        steps: 학습 걸음 수 (걸음마다 ``batch_size`` 개의 세 쌍).
        batch_size: 한 걸음의 (질의, 답, 오답) 수.
        learning_rate: 학습률.
        seed: 난수 씨앗 (같으면 같은 결과).
        base_model: 출발 모델 폴더. ``None`` 이면 강의의 오프라인 e5 (바이 인코더).
    """
    import torch
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    try:  # sentence-transformers 5.4 부터의 자리 (옛 자리는 6.x 에서 DeprecationWarning 을 냅니다)
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    from .offline_models import bi_encoder_path

    steps, batch_size = _check_positive("steps", steps), _check_positive("batch_size", batch_size)
    if not 0 < learning_rate < 1:
        raise ValueError(f"learning_rate 는 0 과 1 사이여야 합니다 (받은 값: {learning_rate!r}).")
    corpus, queries, qrels = load_beir(data_dir, split="train")
    pairs = training_pairs(corpus, queries, qrels)
    if not pairs:
        raise ValueError(f"{data_dir} 의 train 분할에 등급 2 판정이 없어 학습할 쌍이 없습니다.")
    output_dir = Path(output_dir)
    torch.manual_seed(seed)
    with quiet_model_loading():
        model = SentenceTransformer(str(base_model or bi_encoder_path()), device="cpu")
    model.max_seq_length = MAX_SEQ_LENGTH
    # 25만 단어의 임베딩 표는 얼립니다: 계산과 메모리가 크게 줄고, 작은 데이터로 희귀 단어를 망치지도 않습니다.
    model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    triplets = mine_negatives(model, pairs, corpus)

    step_losses: list[float] = []

    class _RecordLoss(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                step_losses.append(float(logs["loss"]))

    scratch = output_dir.with_name(output_dir.name + ".training")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(scratch),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=max(1, steps // 10),
        seed=seed,
        data_seed=seed,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=triplets,
        loss=MultipleNegativesRankingLoss(model),
        callbacks=[_RecordLoss()],
    )
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # 다 저장한 뒤 이름을 바꾸므로, 중간에 멈춰도 반쯤 저장된 모델 폴더가 남지 않습니다.
    shutil.rmtree(scratch, ignore_errors=True)
    staged = output_dir.with_name(output_dir.name + ".saving")
    shutil.rmtree(staged, ignore_errors=True)
    with quiet_model_loading():
        model.save(str(staged))
    shutil.rmtree(output_dir, ignore_errors=True)
    staged.rename(output_dir)
    return FineTuneReport(output_dir, steps, len(triplets), wall, cpu, tuple(step_losses))


def reranker_folder(embedding_dir: str | Path, output_dir: str | Path) -> Path:
    """학습한 e5 임베딩을 강의의 오프라인 리랭커와 같은 크로스 인코더 모양 폴더로 만듭니다.

    ``load_reranker("cross-encoder", 폴더)`` 로 부를 수 있습니다 (모델 코드는 폴더 안에 있어 ``trust_remote_code``).
    """
    from .offline_models import build_offline_models

    template = build_offline_models() / "cross-encoder"
    weights = Path(embedding_dir) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{embedding_dir} 에 model.safetensors 가 없습니다 (finetune_embeddings 의 결과 폴더인가요?)."
        )
    output_dir = Path(output_dir)
    staged = output_dir.with_name(output_dir.name + ".saving")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(template, staged, ignore=shutil.ignore_patterns("model.safetensors", "README.md"))
    shutil.copyfile(weights, staged / "model.safetensors")
    (staged / "README.md").write_text(
        f"{embedding_dir} 에서 미세 조정한 multilingual-e5-small 을 크로스 인코더 모양으로 둔 폴더입니다.\n",
        encoding="utf-8",
    )
    shutil.rmtree(output_dir, ignore_errors=True)
    staged.rename(output_dir)
    return output_dir


def first_stage_results(
    data_dir: str | Path, models: Mapping[str, str | Path], k: int = 20
) -> dict[str, EvaluationResult]:
    """모델마다 test 분할의 벡터 검색(1단계)을 잽니다: ``{이름: evaluate 결과}`` (nDCG@10, recall@20)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    from .data import to_documents
    from .retrieval import build_retriever, retrieval_run

    corpus, queries, qrels = load_beir(data_dir, split="test")
    documents = to_documents(corpus)
    results = {}
    for name, path in models.items():
        with quiet_model_loading():
            embeddings = HuggingFaceEmbeddings(
                model_name=str(path),
                model_kwargs={"device": "cpu"},
                encode_kwargs={"prompt": PASSAGE_PREFIX, "normalize_embeddings": True},
                query_encode_kwargs={"prompt": QUERY_PREFIX, "normalize_embeddings": True},
            )
        run = retrieval_run(build_retriever(documents, kind="vector", k=k, embeddings=embeddings), queries, k=k)
        results[name] = evaluate(qrels, run, ("ndcg@10", "recall@20"))
    return results
