"""evaluate_rankings: hand-computed P@10 / nDCG@10 / R@100 / intent coverage / α-nDCG, and its guards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genseek.errors import InvalidRequestError
from genseek.training.ireval import evaluate_rankings
from genseek.training.relevance import Query, QuerySet

pytest.importorskip("ir_measures")

fs = frozenset


def dcg(gains) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


# -- standard measures -----------------------------------------------------------------------------


@pytest.fixture
def plain_set() -> QuerySet:
    return QuerySet("plain", (
        Query("q1", "one", fs({0, 2, 5, 20, 150})),
        Query("q2", "two", fs({7})),
        Query("q3", "three", fs({1})),
    ))


PLAIN_RANKINGS = {"q1": list(range(200)), "q2": [3, 7], "q3": []}


def test_standard_measures_by_hand(plain_set):
    out = evaluate_rankings(plain_set, PLAIN_RANKINGS, per_query=True)
    # q1: relevant at ranks 1, 3, 6 (top 10), 21, 151
    p1 = 3 / 10
    ndcg1 = dcg([1, 0, 1, 0, 0, 1, 0, 0, 0, 0]) / dcg([1] * 5)
    r1 = 4 / 5
    # q2: a 2-document ranking, relevant at rank 2; P@10 still divides by 10
    p2, ndcg2, r2 = 1 / 10, (1 / math.log2(3)) / 1.0, 1.0
    # q3: empty ranking -> 0 everywhere, and it stays in the mean
    per = out["per_query"]
    assert per["P@10"] == pytest.approx({"q1": p1, "q2": p2, "q3": 0.0})
    assert per["nDCG@10"] == pytest.approx({"q1": ndcg1, "q2": ndcg2, "q3": 0.0})
    assert per["R@100"] == pytest.approx({"q1": r1, "q2": r2, "q3": 0.0})
    assert out["P@10"] == pytest.approx((p1 + p2) / 3)
    assert out["nDCG@10"] == pytest.approx((ndcg1 + ndcg2) / 3)
    assert out["R@100"] == pytest.approx((r1 + r2) / 3)
    # no intents in this set: no intent measures
    assert set(out) == {"P@10", "nDCG@10", "R@100", "per_query"}


def test_per_query_is_opt_in_and_ids_may_be_any_hashable_doc(plain_set):
    out = evaluate_rankings(plain_set, PLAIN_RANKINGS)
    assert "per_query" not in out and set(out) == {"P@10", "nDCG@10", "R@100"}
    # numpy integer ids (what argsort gives) are the same documents as Python ints
    numpy_ids = {k: np.asarray(v, np.int64) for k, v in PLAIN_RANKINGS.items()}
    assert evaluate_rankings(plain_set, numpy_ids) == pytest.approx(out)


def test_an_empty_ranking_counts_as_zero_not_dropped(plain_set):
    with_empty = evaluate_rankings(plain_set, PLAIN_RANKINGS)
    only_two = QuerySet("two", plain_set.queries[:2])
    without = evaluate_rankings(only_two, {k: PLAIN_RANKINGS[k] for k in ("q1", "q2")})
    for name in ("P@10", "nDCG@10", "R@100"):
        assert with_empty[name] == pytest.approx(without[name] * 2 / 3)
    all_empty = evaluate_rankings(plain_set, {"q1": [], "q2": [], "q3": []})
    assert all_empty == {"P@10": 0.0, "nDCG@10": 0.0, "R@100": 0.0}


def test_missing_and_extra_queries_raise(plain_set):
    with pytest.raises(InvalidRequestError, match="no ranking for 1 queries of 'plain'.*'q3'"):
        evaluate_rankings(plain_set, {"q1": [0], "q2": [7]})
    with pytest.raises(InvalidRequestError, match="not in 'plain'.*'zz'"):
        evaluate_rankings(plain_set, {**PLAIN_RANKINGS, "zz": [1]})


# -- intent measures -------------------------------------------------------------------------------


@pytest.fixture
def intent_set() -> QuerySet:
    return QuerySet("intents", (
        Query("a", "a", fs({1, 2, 3}), {"A": fs({1, 2}), "B": fs({3})}),
        Query("b", "b", fs({4, 5, 6}), {"A": fs({4}), "B": fs({5}), "C": fs({6})}),
        Query("c", "c", fs({7, 8}), {"A": fs({7}), "B": fs({8})}),
    ))


def test_intent_measures_by_hand(intent_set):
    alpha = 0.5
    rankings = {"a": [1, 2, 9, 3], "b": [5, 8], "c": []}
    out = evaluate_rankings(intent_set, rankings, per_query=True)
    per = out["per_query"]
    # a: doc 1 covers A (gain 1), doc 2 covers A again (gain 1-α), doc 9 nothing, doc 3 covers B (gain 1).
    # Ideal greedy: 1 (A), 3 (B), then 2 (A again, 1-α).
    alpha_a = dcg([1, 1 - alpha, 0, 1]) / dcg([1, 1, 1 - alpha])
    # b: doc 5 covers B; doc 8 is not judged for b. Ideal: three fresh intents.
    alpha_b = dcg([1, 0]) / dcg([1, 1, 1])
    assert per["alpha-nDCG@10"] == pytest.approx({"a": alpha_a, "b": alpha_b, "c": 0.0})
    # intent coverage: a covers A and B; b covers 1 of 3; c nothing
    assert per["intent-coverage@10"] == pytest.approx({"a": 1.0, "b": 1 / 3, "c": 0.0})
    assert out["alpha-nDCG@10"] == pytest.approx((alpha_a + alpha_b) / 3)
    assert out["intent-coverage@10"] == pytest.approx((1 + 1 / 3) / 3)
    # the standard measures use the union relevance
    assert per["P@10"] == pytest.approx({"a": 0.3, "b": 0.1, "c": 0.0})
    assert per["nDCG@10"]["a"] == pytest.approx(dcg([1, 1, 0, 1]) / dcg([1, 1, 1]))


def test_intent_coverage_counts_intents_in_the_top_10_only():
    qs = QuerySet("deep", (Query("q", "q", fs({0, 50}), {"near": fs({0}), "far": fs({50})}),))
    out = evaluate_rankings(qs, {"q": list(range(100))}, per_query=True)
    assert out["intent-coverage@10"] == pytest.approx(0.5)
    assert out["R@100"] == pytest.approx(1.0)
    # α-nDCG@10 only sees doc 0 of the ideal [0, 50]
    assert out["alpha-nDCG@10"] == pytest.approx(1 / dcg([1, 1]))


def test_intent_measures_need_every_query_to_have_intents(intent_set):
    mixed = QuerySet("mixed", intent_set.queries[:1] + (Query("plain", "p", fs({1})),))
    out = evaluate_rankings(mixed, {"a": [1], "plain": [1]})
    assert "alpha-nDCG@10" not in out and "intent-coverage@10" not in out
    assert out["P@10"] == pytest.approx(0.1)


# -- cross-check with an independent implementation ------------------------------------------------


def test_standard_measures_agree_with_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(0)
    queries, rankings = [], {}
    for i in range(25):
        relevant = rng.choice(300, size=int(rng.integers(1, 40)), replace=False)
        queries.append(Query(f"q{i}", str(i), fs(int(d) for d in relevant)))
        rankings[f"q{i}"] = [int(d) for d in rng.permutation(300)[: int(rng.integers(5, 150))]]
    # make some queries easy, so the values are spread out
    for i in range(0, 25, 3):
        rel = sorted(queries[i].relevant)
        rankings[f"q{i}"] = rel[: len(rel) // 2] + [d for d in rankings[f"q{i}"] if d not in rel[: len(rel) // 2]]
    qs = QuerySet("random", tuple(queries))
    ours = evaluate_rankings(qs, rankings, per_query=True)["per_query"]
    qrels = ranx.Qrels({q.qid: {str(d): 1 for d in q.relevant} for q in queries})
    run = ranx.Run({qid: {str(d): float(len(r) - k) for k, d in enumerate(r)} for qid, r in rankings.items()})
    theirs = ranx.evaluate(qrels, run, ["precision@10", "ndcg@10", "recall@100"], return_mean=False)
    order = list(run.keys())
    for ours_name, ranx_name in (("P@10", "precision@10"), ("nDCG@10", "ndcg@10"), ("R@100", "recall@100")):
        expected = dict(zip(order, np.asarray(theirs[ranx_name], float)))
        assert ours[ours_name] == pytest.approx(expected, abs=1e-9), ours_name
    assert len(set(np.round(list(ours["nDCG@10"].values()), 6))) > 5  # not a degenerate all-zero case
