"""Metric functions against values computed by hand."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from genseek.errors import InvalidRequestError
from genseek.training import metrics


def test_recall_at_k_hand_computed():
    ranked = [[3, 1, 7, 9], [5, 6, 2, 8]]
    relevant = [{1, 9}, {4}]
    # query 0: top-2 holds 1 of {1, 9} -> 0.5; query 1: 4 never retrieved -> 0
    assert metrics.recall_at_k(ranked, relevant, 2) == pytest.approx(0.25)
    # top-4: query 0 has both -> 1.0
    assert metrics.recall_at_k(ranked, relevant, 4) == pytest.approx(0.5)


def test_median_rank_and_first_ranks():
    ranked = [[3, 1, 7], [5, 6, 2], [0, 4, 8]]
    relevant = [{1}, {2}, {9}]
    ranks = metrics.first_relevant_ranks(ranked, relevant)
    assert ranks.tolist()[:2] == [2.0, 3.0] and math.isinf(ranks[2])
    assert metrics.median_rank(ranked, relevant) == 3.0


def test_triplet_accuracy_hand_computed():
    pred = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    pos = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    neg = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    # <p,pos> vs <p,neg>: 1>=0 yes, 0>=1 no, 1>=1 yes (ties count)
    assert metrics.triplet_accuracy(pred, pos, neg) == pytest.approx(2 / 3)


def test_miscs_hand_computed():
    seeds = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    # unit vectors: e1, e2, (1,1)/√2 ; pairwise cosines 0, 1/√2, 1/√2 -> mean √2/3
    assert metrics.miscs(seeds) == pytest.approx(math.sqrt(2) / 3)
    assert metrics.miscs(np.ones((4, 3))) == pytest.approx(1.0)
    with pytest.raises(InvalidRequestError, match="at least 2"):
        metrics.miscs(np.ones((1, 3)))


def test_frechet_distance_hand_computed():
    # 1-d: N(mean 0, var 1) vs N(mean 3, var 4) -> 9 + 1 + 4 - 2*2 = 10 (sample estimates below)
    a = np.array([[-1.0], [1.0]])  # mean 0, sample var 2
    b = np.array([[1.0], [5.0]])  # mean 3, sample var 8
    # (0-3)^2 + 2 + 8 - 2*sqrt(16) = 9 + 10 - 8 = 11
    assert metrics.frechet_distance(a, b) == pytest.approx(11.0)
    x = np.random.default_rng(0).standard_normal((50, 4))
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_vendi_score_extremes():
    assert metrics.vendi_score(np.ones((5, 3))) == pytest.approx(1.0)
    assert metrics.vendi_score(np.eye(4)) == pytest.approx(4.0)
    # two identical + one orthogonal: K/n eigenvalues 2/3, 1/3 -> exp(H)
    h = -(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3)
    assert metrics.vendi_score(np.array([[1.0, 0], [1.0, 0], [0, 1.0]])) == pytest.approx(math.exp(h))


def test_label_entropy_hand_computed():
    assert metrics.label_entropy(["rock"] * 4) == pytest.approx(0.0)
    assert metrics.label_entropy(["rock", "rock", "jazz", "pop"]) == pytest.approx(
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(2, 6), st.integers(0, 10_000))
def test_miscs_bounded_and_vendi_bounded(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d))
    assert -1.0 - 1e-9 <= metrics.miscs(x) <= 1.0 + 1e-9
    assert 1.0 - 1e-6 <= metrics.vendi_score(x) <= n + 1e-6


def test_bad_inputs_are_named():
    with pytest.raises(InvalidRequestError, match="no relevant"):
        metrics.recall_at_k([[1]], [set()], 1)
    with pytest.raises(InvalidRequestError, match="NaN"):
        metrics.frechet_distance(np.array([[np.nan], [1.0]]), np.ones((2, 1)))
