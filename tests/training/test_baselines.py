"""Non-parametric baselines: nearest training pairs and pseudo-relevance feedback, as ordinary samplers."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient

from genseek import GenerativeSearch
from genseek.errors import InvalidRequestError
from genseek.testing import clustered_vectors, make_collection
from genseek.training.baselines import FeedbackSampler, NearestPairsSampler
from genseek.training.pairs import PairSet


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def pairs() -> PairSet:
    # queries in 3-d; pair 3 points the query's way but is scaled up (cosine must ignore the norm)
    queries = np.array([
        [1.0, 0.0, 0.0],     # 0: cos 1 with e1
        [0.8, 0.6, 0.0],     # 1: cos .8
        [0.0, 1.0, 0.0],     # 2: cos 0
        [50.0, 0.0, 50.0],   # 3: cos .707, huge dot product
        [-1.0, 0.0, 0.0],    # 4: cos -1
        [0.95, 0.31, 0.0],   # 5: cos .95, same group as pair 0
    ], np.float32)
    targets = np.arange(6 * 4, dtype=np.float32).reshape(6, 4) + 1.0
    groups = np.array([10, 11, 12, 13, 14, 10])
    return PairSet(queries, targets, groups=groups)


def test_nearest_pairs_returns_targets_of_the_nearest_queries_by_cosine(pairs):
    sampler = NearestPairsSampler(pairs, query_encoder="hf-text")
    seeds = sampler.sample(np.array([2.0, 0.0, 0.0]), 4, generator=np.random.default_rng(0))
    # cosine order: 0 (1.0), 5 (.95, but group 10 is taken), 1 (.8), 3 (.707), 2 (0), 4 (-1)
    np.testing.assert_array_equal(seeds.vectors, pairs.targets[[0, 1, 3, 2]])
    assert seeds.labels == ("pair 0", "pair 1", "pair 3", "pair 2")
    np.testing.assert_array_equal(seeds.weights, np.ones(4, np.float32))
    info = sampler.info
    assert info.deterministic and info.query_dim == 3 and info.target_dim == 4 and info.query_encoder == "hf-text"


def test_nearest_pairs_one_target_per_group_and_n(pairs):
    sampler = NearestPairsSampler(pairs)
    query = np.array([0.95, 0.31, 0.0])  # nearest is pair 5; pair 0 shares its group
    seeds = sampler.sample(query, 2, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(seeds.vectors, pairs.targets[[5, 1]])
    assert len(sampler.sample(query, 1, generator=np.random.default_rng(0)).vectors) == 1
    # only 5 groups exist: asking for more gives one target per group
    everything = sampler.sample(query, 10, generator=np.random.default_rng(0))
    assert len(everything.vectors) == 5
    assert len({tuple(v) for v in everything.vectors}) == 5
    assert not any(np.array_equal(v, pairs.targets[0]) for v in everything.vectors)


def test_nearest_pairs_without_groups_uses_every_pair(pairs):
    ungrouped = NearestPairsSampler(PairSet(pairs.queries, pairs.targets))
    seeds = ungrouped.sample(np.array([1.0, 0.0, 0.0]), 3, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(seeds.vectors, pairs.targets[[0, 5, 1]])


def test_nearest_pairs_is_deterministic(pairs):
    sampler = NearestPairsSampler(pairs)
    query = unit([0.3, 0.5, 0.2])
    a = sampler.sample(query, 3, generator=np.random.default_rng(1))
    b = sampler.sample(query, 3, generator=np.random.default_rng(999))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.labels == b.labels


def test_nearest_pairs_rejects_token_sequences_and_unknown_controls(pairs):
    tokens = np.random.default_rng(0).standard_normal((6, 3, 8)).astype(np.float32)
    with pytest.raises(InvalidRequestError, match="token sequences"):
        NearestPairsSampler(PairSet(tokens, pairs.targets))
    with pytest.raises(InvalidRequestError, match="does not accept the control"):
        NearestPairsSampler(pairs).sample(np.ones(3), 2, generator=np.random.default_rng(0), guidance=1.0)


# -- feedback through a real search ----------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog():
    vectors, _ = clustered_vectors(400, 16, clusters=6, intrinsic_dim=4, seed=3)
    client = QdrantClient(":memory:")
    make_collection(client, "items", vectors, vector_name="dense")
    return client, vectors


def plain_top(client):
    plain = GenerativeSearch(client, "items", encoder=None, sampler="identity", vector_name="dense")

    def top(query: np.ndarray, n: int) -> np.ndarray:
        result = plain.search(vector=query, n_seeds=1, limit=n, with_payload=False, with_vectors=True)
        return np.stack([np.asarray(p.vector["dense"], np.float32) for p in result.points])

    return top


def test_feedback_sampler_returns_what_its_callable_gives():
    calls = []
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)

    def top(query, n):
        calls.append((query.copy(), n))
        return rows  # more rows than asked for: the sampler keeps n

    sampler = FeedbackSampler(top, dim=3)
    seeds = sampler.sample([1.0, 2.0, 3.0], 2, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(seeds.vectors, rows[:2])
    assert len(calls) == 1 and calls[0][1] == 2
    np.testing.assert_array_equal(calls[0][0], [1.0, 2.0, 3.0])
    assert sampler.info.deterministic and sampler.info.query_dim == sampler.info.target_dim == 3
    with pytest.raises(InvalidRequestError, match="does not accept the control"):
        sampler.sample([1.0, 2.0, 3.0], 2, generator=np.random.default_rng(0), steer=1)


def test_feedback_sampler_through_generative_search(catalog):
    client, vectors = catalog
    top = plain_top(client)
    sampler = FeedbackSampler(top, dim=16)
    search = GenerativeSearch(client, "items", encoder=None, sampler=sampler, vector_name="dense")
    query = vectors[17]
    result = search.search(vector=query, n_seeds=4, limit=10)
    # the seeds are the stored vectors of plain search's top 4 (the query's own point first)
    np.testing.assert_allclose(result.seeds, top(query, 4), atol=1e-6)
    np.testing.assert_allclose(result.seeds[0], vectors[17], atol=1e-5)
    assert result.anchor_index is None and len(result.points) == 10
    assert 17 in {p.id for p in result.points}  # fused over seeds: not necessarily first
    assert all(p.found_by for p in result.points)
    plain_ids = [p.id for p in client.query_points("items", query=query.tolist(), using="dense", limit=40).points]
    assert {p.id for p in result.points} <= set(plain_ids)  # feedback stays in the query's neighbourhood


def test_feedback_sampler_with_an_anchor_vector(catalog):
    client, vectors = catalog
    sampler = FeedbackSampler(plain_top(client), dim=16)
    search = GenerativeSearch(client, "items", encoder=None, sampler=sampler, vector_name="dense")
    query, anchor = vectors[17], vectors[300]
    result = search.search(vector=query, n_seeds=3, limit=10, anchor=anchor)
    assert result.seeds.shape == (4, 16) and result.anchor_index == 3
    np.testing.assert_allclose(result.seeds[:3], plain_top(client)(query, 3), atol=1e-6)
    np.testing.assert_allclose(result.seeds[3], anchor, atol=1e-6)
    assert result.seed_labels is None or result.seed_labels[3] == "anchor"
    assert any(p.found_by_anchor for p in result.points)
    assert 300 in {p.id for p in result.by_seed[3]}
