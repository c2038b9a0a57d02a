"""Pooled candidate search (genseek.pooling): recall on a weak HNSW index, request shapes, scoping."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, GenerativeSearch, InvalidRequestError
from genseek.contract import SearchRequest
from genseek.pooling import POOL_SIMILARITY, PoolPlan, group_seeds
from genseek.testing import FixedSeedsSampler, clustered_vectors

pytest.importorskip("qdrant_edge", reason="pooling is tested on Qdrant Edge: `pip install 'genseek[edge]'`")

from genseek.adapters.qdrant_edge import EdgeCatalog  # noqa: E402

N, DIM, QUERIES = 20_000, 128, 40
TENANTS = ("acme", "globex")


@pytest.fixture(scope="module")
def weak_catalog(tmp_path_factory):
    """20k clustered points under a deliberately weak HNSW graph (m=10, ef_construct=40), so that
    walks from off-manifold seeds miss part of their true lists."""
    vectors, _ = clustered_vectors(N, DIM, clusters=32, intrinsic_dim=16, seed=3)
    catalog = EdgeCatalog.create(tmp_path_factory.mktemp("pool") / "c", vectors={"v": (DIM, "cosine")}, name="c",
                                 tenant_field="tenant", hnsw_m=10, hnsw_ef_construct=40, indexing_threshold_kb=64,
                                 on_stale="error")
    catalog.upsert(list(range(N)), vectors, [{"tenant": TENANTS[i % 2]} for i in range(N)], optimize=True, progress=False)
    yield catalog, vectors
    catalog.close()


def off_manifold_seeds(vectors: np.ndarray, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    base = vectors[rng.choice(len(vectors), QUERIES, replace=False)]
    queries = base + 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    seeds = queries[:, None, :] + noise * rng.standard_normal((QUERIES, 8, DIM)).astype(np.float32)
    return queries, seeds / np.linalg.norm(seeds, axis=2, keepdims=True)


def fused_ids(search: GenerativeSearch, queries, seeds, params, **kwargs) -> list[list]:
    out = []
    for q, s in zip(queries, seeds):
        search.planner.sampler = FixedSeedsSampler(s)
        out.append(search.search(vector=q, n_seeds=len(s), limit=10, with_payload=False, search_params=params,
                                 **kwargs).ids)
    return out


def recall(got: list[list], want: list[list]) -> float:
    return float(np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got, want)]))


def make(catalog, seeds, **kwargs) -> GenerativeSearch:
    return GenerativeSearch(catalog, "c", encoder=None, sampler=FixedSeedsSampler(seeds[0]), fuser="rrf", **kwargs)


def test_the_default_path_reaches_the_recall_goal_where_one_walk_per_seed_does_not(weak_catalog):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    search = make(catalog, seeds)
    exact = fused_ids(search, queries, seeds, {"exact": True})
    pooled = recall(fused_ids(search, queries, seeds, None), exact)
    walks_only = recall(fused_ids(search, queries, seeds, {"seed_pooling": False}), exact)
    assert pooled >= 0.95, pooled
    assert walks_only < 0.94 and pooled - walks_only >= 0.04, (pooled, walks_only)


def test_the_two_passes_keep_the_scope_and_rescore_exactly(weak_catalog, monkeypatch):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    search = make(catalog, seeds, tenant_field="tenant")
    sent = []
    run = search.adapter.run
    monkeypatch.setattr(search.adapter, "run", lambda request: sent.append(request) or run(request))
    flt = models.Filter(must_not=[models.HasIdCondition(has_id=[1, 2, 3])])
    result = search.search(vector=queries[0], n_seeds=8, limit=10, tenant="globex", filter=flt)
    walk, rescore = sent
    groups = group_seeds(seeds[0], "cosine")
    assert len(walk.seeds) == 8 + sum(len(g) > 1 for g in groups)  # own walks + one per group
    assert walk.per_seed and not walk.per_seed_payload and walk.engine is None
    assert walk.seed_candidates is not None and max(walk.seed_candidates) == 20 * max(len(g) for g in groups)
    assert rescore.params == {"exact": True} and np.array_equal(rescore.seeds, seeds[0])
    assert rescore.per_seed_payload and rescore.candidates == 20
    id_condition, scope = rescore.filter.must
    assert isinstance(id_condition, models.HasIdCondition) and scope == walk.filter  # caller filter AND tenant
    assert result.points and all(p.payload["tenant"] == "globex" and p.id not in (1, 2, 3) for p in result.points)
    assert result.info["pooling"]["walks"] == len(walk.seeds) and result.info["pooling"]["union"] >= 20
    assert all(hit.seed < 8 for p in result.points for hit in p.found_by)


def test_pooled_lists_never_lose_what_a_seed_walk_found(weak_catalog):
    """A seed's own walk is in the union, so its rescored list scores at least as well, rank for rank."""
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    search = make(catalog, seeds)
    search.planner.sampler = FixedSeedsSampler(seeds[1])
    request = SearchRequest(n_seeds=8, limit=10, with_payload=False, candidates=30)
    prepared = search.planner.prepare(queries[1], request, capabilities=search.adapter.capabilities(), controls={})
    plan = PoolPlan.plan(prepared.pool.final, "cosine")
    walked = search.adapter.run(plan.first())
    rescored = search.adapter.run(plan.second(walked))
    own = search.adapter.run(plan.final)
    for i in range(8):
        a = [p.score for p in rescored.per_seed[i]]
        b = [p.score for p in own.per_seed[i]]
        assert len(a) == len(b) and all(x >= y - 1e-6 for x, y in zip(a, b)), i


def test_shared_walks_and_off(weak_catalog):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    search = make(catalog, seeds)
    shared = search.search(vector=queries[0], n_seeds=8, search_params={"seed_pooling": "shared"})
    assert shared.info["pooling"]["walks"] == len(group_seeds(seeds[0], "cosine"))
    off = search.search(vector=queries[0], n_seeds=8, search_params={"seed_pooling": False})
    assert "pooling" not in off.info
    exact = search.search(vector=queries[0], n_seeds=8, search_params={"exact": True})
    assert "pooling" not in exact.info
    for bad in ("union", 1, [True]):
        with pytest.raises(InvalidRequestError, match="seed_pooling"):
            search.search(vector=queries[0], n_seeds=8, search_params={"seed_pooling": bad})


def test_plain_and_engine_fused_searches_are_not_pooled(weak_catalog):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    assert "pooling" not in make(catalog, seeds).search(vector=queries[0], n_seeds=1).info
    assert "pooling" not in make(catalog, seeds, provenance=False).search(vector=queries[0], n_seeds=8).info


def test_nothing_found_gives_an_empty_result(weak_catalog):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    nobody = models.Filter(must=[models.FieldCondition(key="tenant", match=models.MatchValue(value="nobody"))])
    result = make(catalog, seeds).search(vector=queries[0], n_seeds=8, filter=nobody)
    assert result.points == [] and result.info["pooling"]["union"] == 0


def test_async_pooling_gives_the_sync_results(weak_catalog):
    catalog, vectors = weak_catalog
    queries, seeds = off_manifold_seeds(vectors)
    sync = make(catalog, seeds, tenant_field="tenant")
    asynchronous = AsyncGenerativeSearch(catalog, "c", encoder=None, sampler=FixedSeedsSampler(seeds[2]), fuser="rrf",
                                         tenant_field="tenant", adapter="edge-async")
    sync.planner.sampler = FixedSeedsSampler(seeds[2])
    want = sync.search(vector=queries[2], n_seeds=8, tenant="acme")
    got = asyncio.run(asynchronous.search(vector=queries[2], n_seeds=8, tenant="acme"))
    assert got.ids == want.ids and got.info["pooling"] == want.info["pooling"]


def test_seed_groups():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    seeds = np.stack([a, a + 0.1 * rng.standard_normal(16), b, a + 0.1 * rng.standard_normal(16), b * 2]).astype(np.float32)
    assert group_seeds(seeds, "cosine") == [[0, 1, 3], [2, 4]]
    assert group_seeds(seeds, "euclid") == [[0], [1], [2], [3], [4]]
    orthogonal = np.eye(4, dtype=np.float32)
    assert group_seeds(orthogonal, "cosine", POOL_SIMILARITY) == [[0], [1], [2], [3]]
