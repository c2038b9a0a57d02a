"""Fusion maths against hand-computed rankings."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client.http import models

from genseek.adapters.base import Capabilities
from genseek.errors import ConfigError
from genseek.fusers.base import FusionContext
from genseek.fusers.centroid import CentroidFuser
from genseek.fusers.dbsf import DBSFFuser, normalized_scores
from genseek.fusers.maximum import MaxFuser
from genseek.fusers.mmr import MMRFuser
from genseek.fusers.round_robin import RoundRobinFuser
from genseek.fusers.rrf import RRFFuser


def pts(*pairs, vectors=None):
    return [
        models.ScoredPoint(id=pid, version=0, score=score, vector=None if vectors is None else vectors[pid])
        for pid, score in pairs
    ]


def ctx(n=2, weights=None, limit=10, candidates=10, seeds=None, distance="cosine"):
    seeds = np.eye(n, 2, dtype=np.float32) if seeds is None else np.asarray(seeds, np.float32)
    weights = np.ones(n, np.float32) if weights is None else np.asarray(weights, np.float32)
    return FusionContext(seeds=seeds, weights=weights, limit=limit, candidates=candidates, distance=distance)


LISTS = [pts((1, 0.9), (2, 0.8), (3, 0.7)), pts((3, 0.95), (4, 0.6), (1, 0.5))]


def test_rrf_matches_hand_computation():
    # k=60, 0-based ranks: 1 -> 1/60 + 1/62, 3 -> 1/62 + 1/60, 2 -> 1/61, 4 -> 1/61
    fused = RRFFuser(k=60).fuse(LISTS, ctx())
    scores = {p.id: p.score for p in fused}
    assert scores[1] == pytest.approx(1 / 60 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 62 + 1 / 60)
    assert scores[2] == pytest.approx(1 / 61)
    assert [p.id for p in fused] == [1, 3, 2, 4]  # ties keep first-seen order


def test_weighted_rrf_uses_qdrant_formula():
    # weight 2 on seed 1: 1/((r+1)/2 + k - 1)
    fused = RRFFuser(k=2).fuse(LISTS, ctx(weights=[1.0, 2.0]))
    scores = {p.id: p.score for p in fused}
    assert scores[3] == pytest.approx(1 / (3 / 1 + 1) + 1 / (1 / 2 + 1))
    assert scores[4] == pytest.approx(1 / (2 / 2 + 1))
    assert fused[0].id == 3


def test_rrf_zero_weight_seed_contributes_nothing():
    fused = RRFFuser(k=2).fuse(LISTS, ctx(weights=[1.0, 0.0]))
    assert [p.id for p in fused][:3] == [1, 2, 3]
    assert {p.id: p.score for p in fused}[4] == 0.0


def test_rrf_rejects_bad_k():
    with pytest.raises(ConfigError, match="k must be"):
        RRFFuser(k=0)


def test_dbsf_normalisation_and_sum():
    a = normalized_scores(LISTS[0])
    mean, std = 0.8, 0.1  # sample std of (0.9, 0.8, 0.7)
    assert a == pytest.approx([(s - (mean - 3 * std)) / (6 * std) for s in (0.9, 0.8, 0.7)])
    assert normalized_scores(pts((9, 0.3))) == [0.5]
    assert normalized_scores(pts((1, 0.3), (2, 0.3))) == [0.5, 0.5]
    fused = DBSFFuser().fuse(LISTS, ctx())
    b = normalized_scores(LISTS[1])
    expected = {1: a[0] + b[2], 2: a[1], 3: a[2] + b[0], 4: b[1]}
    assert {p.id: p.score for p in fused} == pytest.approx(expected)
    assert [p.id for p in fused] == sorted(expected, key=expected.get, reverse=True)


def test_max_takes_best_score():
    fused = MaxFuser().fuse(LISTS, ctx())
    assert [(p.id, p.score) for p in fused] == [(3, 0.95), (1, 0.9), (2, 0.8), (4, 0.6)]


@pytest.mark.parametrize("distance", ["euclid", "manhattan"])
def test_score_fusers_treat_distances_as_lower_is_closer(distance):
    distances = [pts((1, 0.0), (2, 0.5), (3, 2.0)), pts((4, 0.1), (3, 0.3), (5, 3.0))]
    fused = MaxFuser().fuse(distances, ctx(distance=distance))
    assert [(p.id, p.score) for p in fused] == [(1, 0.0), (4, -0.1), (3, -0.3), (2, -0.5), (5, -3.0)]
    as_similarities = [pts(*((p.id, -p.score) for p in ranked)) for ranked in distances]
    expected = [(p.id, p.score) for p in DBSFFuser().fuse(as_similarities, ctx())]
    assert [(p.id, p.score) for p in DBSFFuser().fuse(distances, ctx(distance=distance))] == expected
    assert expected[-1][0] == 5  # the farthest point fuses last
    caps = Capabilities.from_version("1.17.0")
    assert MaxFuser().engine_fusion(ctx(distance=distance), caps) is None  # distances fuse on the client
    assert DBSFFuser().engine_fusion(ctx(distance=distance), caps) is None
    assert MaxFuser().engine_fusion(ctx(), caps) is not None and DBSFFuser().engine_fusion(ctx(), caps) is not None


def test_max_and_dbsf_find_the_closest_points_of_a_euclid_collection():
    from qdrant_client import QdrantClient

    from genseek import GenerativeSearch
    from genseek.testing import FixedSeedsSampler

    client = QdrantClient(":memory:")
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((100, 4)).astype(np.float32)
    client.create_collection("e", vectors_config=models.VectorParams(size=4, distance=models.Distance.EUCLID))
    client.upsert("e", [models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)])
    sampler = FixedSeedsSampler([vectors[3], vectors[50]])
    for provenance in (True, False):
        search = GenerativeSearch(client, "e", encoder=None, sampler=sampler, fuser="max", provenance=provenance)
        result = search.search(vector=vectors[0], n_seeds=2, limit=2)
        assert set(result.ids) == {3, 50} and [p.score for p in result.points] == [0.0, 0.0]
        search = GenerativeSearch(client, "e", encoder=None, sampler=sampler, fuser="dbsf", provenance=provenance)
        assert {3, 50} <= set(search.search(vector=vectors[0], n_seeds=2, limit=5).ids)


def test_round_robin_interleaves_and_skips_duplicates():
    fused = RoundRobinFuser().fuse(LISTS, ctx())
    assert [p.id for p in fused] == [1, 3, 2, 4]
    fused = RoundRobinFuser().fuse(LISTS, ctx(weights=[1.0, 3.0]))  # heavier seed goes first
    assert [p.id for p in fused] == [3, 1, 4, 2]
    assert [p.score for p in fused] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])


def test_mmr_trades_relevance_for_novelty():
    vectors = {1: [1.0, 0.0], 2: [0.99, 0.14], 3: [0.6, 0.8]}
    lists = [pts((1, 1.0), (2, 0.99), (3, 0.6), vectors=vectors)]
    seeds = [[1.0, 0.0]]
    relevance_only = MMRFuser(diversity=0.0).fuse(lists, ctx(n=1, seeds=seeds, limit=3))
    assert [p.id for p in relevance_only] == [1, 2, 3]
    diverse = MMRFuser(diversity=0.7).fuse(lists, ctx(n=1, seeds=seeds, limit=3))
    # after picking 1, point 3 (far from 1) beats near-duplicate 2:
    # 0.3*0.6 - 0.7*0.6 = -0.24  >  0.3*0.99 - 0.7*0.99 = -0.396
    assert [p.id for p in diverse] == [1, 3, 2]
    assert diverse[1].score == pytest.approx(0.6, abs=1e-6)  # score stays the relevance


def test_mmr_rejects_bad_diversity():
    with pytest.raises(ConfigError, match="diversity"):
        MMRFuser(diversity=1.5)


def test_fusers_do_not_modify_inputs():
    before = [[(p.id, p.score) for p in ranked] for ranked in LISTS]
    for fuser in (RRFFuser(), DBSFFuser(), MaxFuser(), RoundRobinFuser()):
        fuser.fuse(LISTS, ctx())
    assert [[(p.id, p.score) for p in ranked] for ranked in LISTS] == before


def test_limit_is_respected():
    for fuser in (RRFFuser(), DBSFFuser(), MaxFuser(), RoundRobinFuser()):
        assert len(fuser.fuse(LISTS, ctx(limit=2))) == 2


def test_engine_gating_by_version():
    old = Capabilities.from_version("1.9.0")
    v116 = Capabilities.from_version("1.16.3")
    new = Capabilities.from_version("v1.17.0-dev")
    weighted = ctx(weights=[1.0, 2.0])
    assert RRFFuser().engine_fusion(ctx(), old) is None  # no prefetch before 1.10
    assert RRFFuser(k=60).engine_fusion(ctx(), Capabilities.from_version("1.15.0")) is None  # k needs 1.16
    assert RRFFuser(k=60).engine_fusion(ctx(), v116).rrf_k == 60
    assert RRFFuser().engine_fusion(weighted, v116) is None  # weights need 1.17
    assert RRFFuser().engine_fusion(weighted, new).weights == (1.0, 2.0)
    assert DBSFFuser().engine_fusion(ctx(), Capabilities.from_version("1.10.0")) is None
    assert DBSFFuser().engine_fusion(weighted, new) is None  # Qdrant's DBSF has no weights
    assert MaxFuser().engine_fusion(ctx(), Capabilities.from_version("1.13.0")) is None
    assert MMRFuser().engine_fusion(ctx(), Capabilities.from_version("1.14.0")) is None
    assert CentroidFuser().engine_fusion(ctx(), old).method == "centroid"
    assert Capabilities.from_version(None).prefetch is False


def test_centroid_is_weighted_and_normalised():
    plan = CentroidFuser().engine_fusion(ctx(weights=[3.0, 1.0]), Capabilities.everything())
    assert np.linalg.norm(plan.vector) == pytest.approx(1.0)
    assert plan.vector[0] / plan.vector[1] == pytest.approx(3.0)
