"""강의의 평가 하나: 고정된 평가 질의, 그 질의의 1단계 후보, 1단계 기준선.

모든 노트북이 ``course_evaluation()`` 으로 같은 질의와 같은 1단계 후보를 받으므로, "hybrid (1단계)" 줄은
어느 노트북에서나 같은 값입니다. 평가 질의는 이 모듈의 ``evaluation_query_ids`` 한곳에서 고릅니다.

Example:
    >>> evaluation_query_ids(["pet-t01", "pet-t02", "pet-t03", "gov-t01", "gov-t02"], per_domain=2)
    ['gov-t01', 'gov-t02', 'pet-t01', 'pet-t03']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from .bench import LatencyStats, timed_rerank_run
from .data import Corpus, Qrels, Queries, load_course_dataset, to_documents
from .metrics import EvaluationResult, bootstrap_interval, evaluate, rank_documents
from .rerankers import Reranker
from .retrieval import RetrieverKind, build_retriever, retrieval_run

#: CPU 기본값: 분야마다 test 질의 6개 (다섯 분야, 모두 30개). ``None`` 이면 test 질의 전체.
EVAL_QUERIES_PER_DOMAIN = 6
#: 1단계가 질의마다 넘기는 후보 수.
FIRST_STAGE_K = 20
#: 기준선과 비교 표에 쓰는 지표.
EVALUATION_METRICS = ("ndcg@10", "mrr@10", "recall@5", "recall@20")
BASELINE_NAME = "hybrid (1단계)"

Run = dict[str, dict[str, float]]


def evaluation_query_ids(query_ids: Iterable[str], per_domain: int | None = EVAL_QUERIES_PER_DOMAIN) -> list[str]:
    """분야(id 의 ``-`` 앞부분)마다 id 순서로 고르게 ``per_domain`` 개를 고릅니다 (결정적).

    Args:
        query_ids: 고를 질의 id 들.
        per_domain: 분야마다 고를 수. ``None`` 이면 전부.

    Returns:
        정렬된 질의 id 목록.
    """
    if per_domain is not None and (isinstance(per_domain, bool) or not isinstance(per_domain, int) or per_domain < 1):
        raise ValueError(f"per_domain 은 1 이상의 정수나 None(전체)이어야 합니다 (받은 값: {per_domain!r}).")
    by_domain: dict[str, list[str]] = {}
    for query_id in sorted(query_ids):
        by_domain.setdefault(query_id.split("-")[0], []).append(query_id)
    chosen = []
    for ids in by_domain.values():
        if per_domain is None or per_domain >= len(ids):
            chosen += ids
        else:
            # 앞에서만 고르면 분야 안의 한 유형(예: 키워드형)에 쏠리므로 id 순서 전체에서 고르게 뽑습니다.
            chosen += [ids[round(position * (len(ids) - 1) / max(per_domain - 1, 1))] for position in range(per_domain)]
    return sorted(chosen)


@dataclass
class CourseEvaluation:
    """노트북들이 함께 쓰는 평가: 평가 질의, 그 1단계 후보, 기준선.

    Attributes:
        corpus: 말뭉치 전체 (``corpus[doc_id] = {"title", "text"}``).
        documents: ``corpus`` 의 LangChain ``Document`` 들.
        queries: 평가 질의 (고른 부분집합).
        qrels: 평가 질의의 정답 판정.
        retriever: 1단계 검색기 (질의마다 ``k`` 개).
        first_stage: 평가 질의의 1단계 run.
        baseline: 1단계 run 의 평가 결과 (``EVALUATION_METRICS``).
        per_domain: 분야마다 고른 질의 수 (``None`` 이면 전체).
        kind: 1단계 검색 종류.
        k: 1단계 후보 수.
    """

    corpus: Corpus
    documents: list[Document]
    queries: Queries
    qrels: Qrels
    retriever: BaseRetriever
    first_stage: Run
    baseline: EvaluationResult
    per_domain: int | None
    kind: str
    k: int

    def evaluate(self, run: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = EVALUATION_METRICS):
        """평가 질의의 ``run`` 을 평가합니다 (``metrics.evaluate``)."""
        return evaluate(self.qrels, run, metrics)

    def rerank(self, reranker: Reranker, top_k: int | None = None) -> tuple[Run, LatencyStats]:
        """평가 질의마다 1단계 상위 ``top_k`` 개 (``None`` 이면 전부)를 리랭커로 다시 세웁니다."""
        return timed_rerank_run(reranker, self.queries, self.first_stage, self.corpus, top_k=top_k)

    def candidates(self, query_id: str, n: int | None = None) -> list[str]:
        """질의 하나의 1단계 후보 id 를 순위대로 (앞에서 ``n`` 개)."""
        return rank_documents(self.first_stage[query_id])[:n]

    def focus_query(self, within: int | None = None) -> str:
        """나란히 보기에 쓸 질의: 1단계 1위가 답(등급 2)이 아니지만 답이 1단계 상위 ``within`` 개 안에 있는 첫 질의.

        리랭커가 고칠 수 있는 질의라야 비교가 의미 있으므로 손으로 고르지 않고 이 규칙으로 고릅니다. 그런
        질의가 없으면 1단계 1위가 답이 아닌 첫 질의, 그것도 없으면 첫 질의를 돌려줍니다.
        """
        within = within or self.k
        wrong_first = [q for q in self.queries if self.qrels[q].get(self.candidates(q, 1)[0], 0) < 2]
        fixable = [q for q in wrong_first if any(self.qrels[q].get(d, 0) == 2 for d in self.candidates(q, within))]
        return (fixable or wrong_first or list(self.queries))[0]

    def describe(self) -> str:
        """평가 조건과 기준선 한 줄 (노트북마다 같아야 합니다)."""
        low, high = bootstrap_interval(self.baseline, "ndcg@10")
        chosen = "전체" if self.per_domain is None else f"분야마다 {self.per_domain}개"
        return (
            f"평가 질의 {len(self.queries)}개 (test, {chosen}) · 1단계 {self.kind} 상위 {self.k}개 · "
            f"{BASELINE_NAME} nDCG@10 {self.baseline['ndcg@10']:.3f} [95% 구간 {low:.3f}, {high:.3f}]"
        )


def course_evaluation(
    per_domain: int | None = EVAL_QUERIES_PER_DOMAIN,
    kind: RetrieverKind = "hybrid",
    k: int = FIRST_STAGE_K,
    embeddings: Embeddings | None = None,
) -> CourseEvaluation:
    """강의 데이터의 평가 질의와 1단계 후보를 만듭니다. 기본값 그대로 부르면 모든 노트북이 같은 값을 봅니다.

    Args:
        per_domain: 분야마다 고를 test 질의 수 (``None`` 이면 전체; GPU 나 API 로 잴 때).
        kind: 1단계 검색 (``"hybrid"``, ``"vector"``, ``"bm25"``).
        k: 질의마다 1단계 후보 수.
        embeddings: 벡터 검색 임베딩 (``None`` 이면 ``get_embeddings()``).
    """
    corpus, queries, qrels = load_course_dataset("test")
    documents = to_documents(corpus)
    chosen = evaluation_query_ids(queries, per_domain)
    eval_queries = {query_id: queries[query_id] for query_id in chosen}
    eval_qrels = {query_id: qrels[query_id] for query_id in chosen}
    retriever = build_retriever(documents, kind=kind, k=k, embeddings=embeddings)
    first_stage = retrieval_run(retriever, eval_queries, k=k)
    baseline = evaluate(eval_qrels, first_stage, EVALUATION_METRICS)
    return CourseEvaluation(
        corpus, documents, eval_queries, eval_qrels, retriever, first_stage, baseline, per_domain, kind, k
    )


#: 데이터셋이 리랭커에게 일할 자리를 남기는지 보는 목표 (e5 1단계, test 질의 전체, 후보 20개).
DATASET_TARGETS = {"recall@20 하한": 0.9, "nDCG@10 상한": 0.75, "상한과의 차이 하한": 0.15}


@dataclass(frozen=True)
class DatasetCheck:
    """강의 데이터셋의 통계와, e5 1단계가 리랭커에게 남기는 자리 (``check_course_dataset`` 의 결과).

    Attributes:
        passages: 문단 수.
        test_queries: test 질의 수.
        train_queries: train 질의 수.
        first_stage: e5 벡터 검색 상위 20개의 평가 결과 (test 질의 전체).
        ceiling: 같은 후보를 판정대로 다시 세운 완벽한 리랭커의 평가 결과.
    """

    passages: int
    test_queries: int
    train_queries: int
    first_stage: EvaluationResult
    ceiling: EvaluationResult

    @property
    def gap(self) -> float:
        """완벽한 리랭커와 1단계의 nDCG@10 차이: 리랭커가 일할 수 있는 자리."""
        return self.ceiling["ndcg@10"] - self.first_stage["ndcg@10"]

    @property
    def holds(self) -> bool:
        """``DATASET_TARGETS`` 를 모두 만족하는가."""
        return (
            self.first_stage["recall@20"] >= DATASET_TARGETS["recall@20 하한"]
            and self.first_stage["ndcg@10"] <= DATASET_TARGETS["nDCG@10 상한"]
            and self.gap >= DATASET_TARGETS["상한과의 차이 하한"]
        )

    def describe(self) -> str:
        low, high = bootstrap_interval(self.first_stage, "ndcg@10")
        verdict = "목표 충족" if self.holds else "목표 미달"
        return (
            f"강의 데이터셋: 문단 {self.passages}개 · test 질의 {self.test_queries}개 · train 질의 {self.train_queries}개\n"
            f"e5 1단계 (test 질의 전체, 후보 20개): recall@20 {self.first_stage['recall@20']:.3f} · "
            f"nDCG@10 {self.first_stage['ndcg@10']:.3f} [95% 구간 {low:.3f}, {high:.3f}] · "
            f"완벽한 리랭커 {self.ceiling['ndcg@10']:.3f} (차이 {self.gap:+.3f})\n"
            f"목표: recall@20 ≥ {DATASET_TARGETS['recall@20 하한']}, nDCG@10 ≤ {DATASET_TARGETS['nDCG@10 상한']}, "
            f"차이 ≥ {DATASET_TARGETS['상한과의 차이 하한']} → {verdict}"
        )


def ceiling_run(run: Mapping[str, Mapping[str, float]], qrels: Qrels) -> Run:
    """후보는 그대로 두고 판정 등급이 높은 문서부터 세운 run: 이 후보로 리랭킹이 낼 수 있는 최댓값."""
    return {
        query_id: {doc_id: qrels.get(query_id, {}).get(doc_id, 0) * 1000 + score for doc_id, score in scores.items()}
        for query_id, scores in run.items()
    }


def check_course_dataset(embeddings: Embeddings | None = None) -> DatasetCheck:
    """강의 데이터셋의 통계와 e5 1단계의 recall@20·nDCG@10, 완벽한 리랭커와의 차이를 잽니다."""
    corpus, queries, qrels = load_course_dataset("test")
    _, train_queries, _ = load_course_dataset("train")
    retriever = build_retriever(to_documents(corpus), kind="vector", k=FIRST_STAGE_K, embeddings=embeddings)
    run = retrieval_run(retriever, queries, k=FIRST_STAGE_K)
    metrics = ("ndcg@10", "recall@20")
    return DatasetCheck(
        len(corpus),
        len(queries),
        len(train_queries),
        evaluate(qrels, run, metrics),
        evaluate(qrels, ceiling_run(run, qrels), metrics),
    )
