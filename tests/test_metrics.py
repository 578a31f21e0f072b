"""evaluate 를 독립 구현(pytrec_eval, BEIR 가 쓰는 trec_eval 바인딩)과 맞춰 봅니다."""

import math
import random

import pytest

from course_utils.metrics import evaluate, parse_metric, rank_documents

pytrec_eval = pytest.importorskip("pytrec_eval")

REFERENCE_MEASURES = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "map@10": "map_cut_10", "precision@5": "P_5"}


def reference(qrels, run):
    """pytrec_eval 의 질의별 값. MRR@10 은 recip_rank 에서 10위 밖(1/r < 0.1)을 0 으로 바꿔 얻습니다."""
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10", "map_cut.10", "P.5", "recip_rank"})
    values = evaluator.evaluate(run)
    out = {}
    for query_id, measures in values.items():
        row = {ours: measures[theirs] for ours, theirs in REFERENCE_MEASURES.items()}
        rr = measures["recip_rank"]
        row["mrr@10"] = rr if rr >= 0.1 - 1e-12 else 0.0
        out[query_id] = row
    return out


def random_case(rng):
    doc_ids = [f"d{i}" for i in range(rng.randint(3, 30))]
    qrels, run = {}, {}
    for q in range(rng.randint(1, 8)):
        query_id = f"q{q}"
        judged = rng.sample(doc_ids, rng.randint(1, len(doc_ids)))
        qrels[query_id] = {doc_id: rng.choice([0, 0, 1, 2]) for doc_id in judged}
        if rng.random() < 0.15:
            continue  # run 에 없는 질의
        retrieved = rng.sample(doc_ids, rng.randint(0, len(doc_ids)))
        # 점수를 몇 단계로만 두어 동점을 많이 만듭니다.
        run[query_id] = {doc_id: float(rng.randint(0, 4)) for doc_id in retrieved}
    return qrels, run


@pytest.mark.parametrize("seed", range(300))
def test_matches_pytrec_eval_on_random_runs_with_ties(seed):
    rng = random.Random(seed)
    qrels, run = random_case(rng)
    metrics = ("ndcg@10", "mrr@10", "recall@10", "map@10", "precision@5")
    ours = evaluate(qrels, run, metrics) if any(g > 0 for j in qrels.values() for g in j.values()) else None
    if ours is None:
        with pytest.raises(ValueError, match="관련 문서"):
            evaluate(qrels, run, metrics)
        return
    expected = reference(qrels, {query_id: scores for query_id, scores in run.items() if scores})
    for query_id, values in ours.per_query.items():
        # 빈 run 이나 run 에 없는 질의는 pytrec_eval 이 빼므로 0 과 비교합니다 (trec_eval -c).
        ref = expected.get(query_id, dict.fromkeys(metrics, 0.0))
        for metric in metrics:
            assert math.isclose(values[metric], ref[metric], abs_tol=1e-9), (seed, query_id, metric)
    for metric in metrics:
        mean = sum(values[metric] for values in ours.per_query.values()) / len(ours.per_query)
        assert math.isclose(ours[metric], mean, abs_tol=1e-12)
    assert set(ours.per_query) | set(ours.skipped) == set(qrels)


def test_hand_computed_values():
    qrels = {"q": {"a": 2, "b": 1, "c": 0}}
    run = {"q": {"c": 3.0, "a": 2.0, "x": 1.0, "b": 0.5}}
    result = evaluate(qrels, run, ("mrr@10", "recall@2", "ndcg@10", "map@10", "precision@2"))
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert result == pytest.approx(
        {"mrr@10": 0.5, "recall@2": 0.5, "ndcg@10": dcg / idcg, "map@10": (1 / 2 + 2 / 4) / 2, "precision@2": 0.5}
    )


def test_ties_are_broken_like_trec_eval():
    assert rank_documents({"d1": 1.0, "d3": 1.0, "d2": 2.0}) == ["d2", "d3", "d1"]


def test_queries_without_relevant_documents_are_skipped_and_reported():
    result = evaluate({"q1": {"a": 1}, "q2": {"b": 0}}, {"q1": {"a": 1.0}, "q2": {"b": 1.0}}, ["ndcg@10"])
    assert result == {"ndcg@10": 1.0} and result.skipped == ["q2"] and list(result.per_query) == ["q1"]


def test_missing_query_in_run_counts_as_zero():
    result = evaluate({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": {"a": 1.0}}, ["recall@10"])
    assert result["recall@10"] == 0.5


@pytest.mark.parametrize(
    ("metrics", "error", "words"),
    [
        (["ndcg"], ValueError, "컷오프"),
        (["ndcg@0"], ValueError, "컷오프"),
        (["bleu@10"], ValueError, "쓸 수 있는 지표"),
        ([10], TypeError, "문자열"),
        ([], ValueError, "비어"),
    ],
)
def test_bad_metric_names(metrics, error, words):
    with pytest.raises(error, match=words):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, metrics)


def test_bad_qrels_and_run_shapes():
    with pytest.raises(TypeError, match="qrels"):
        evaluate([("q", "a", 1)], {})
    with pytest.raises(TypeError, match=r"run\['q'\]"):
        evaluate({"q": {"a": 1}}, {"q": ["a"]})
    with pytest.raises(ValueError, match="숫자"):
        evaluate({"q": {"a": 1}}, {"q": {"a": float("nan")}})


def test_parse_metric_is_case_and_space_tolerant():
    assert parse_metric(" NDCG@10 ") == ("ndcg", 10)
