"""GenerativeSearch end to end in Qdrant local mode: fusion paths, provenance, bad input."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from genseek.contract import SearchRequest
from genseek import (
    AsyncGenerativeSearch,
    CollectionError,
    ConfigError,
    DimensionMismatchError,
    GenerativeSearch,
    InvalidRequestError,
    UnknownComponentError,
)
from genseek.adapters.base import Capabilities
from genseek.testing import FixedSeedsSampler, make_collection

FUSERS = ["rrf", "dbsf", "max", "mmr"]


def seeds_from(vectors, ids, jitter=0.05, seed=0):
    rng = np.random.default_rng(seed)
    s = vectors[ids] + jitter * rng.standard_normal((len(ids), vectors.shape[1])).astype(np.float32)
    return s / np.linalg.norm(s, axis=1, keepdims=True)


def make(catalog, seeds, weights=None, **kwargs):
    kwargs.setdefault("fuser", "rrf")
    return GenerativeSearch(catalog, "items", encoder=None, sampler=FixedSeedsSampler(seeds, weights), **kwargs)


@pytest.mark.parametrize("fuser", FUSERS)
@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5, 1.0]])
def test_engine_and_client_fusion_agree(catalog, catalog_vectors, fuser, weights):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [3, 400, 800, 1200])
    options = {"k": 60} if fuser == "rrf" else {}
    engine = make(catalog, seeds, weights, fuser=fuser, fusion="engine" if (weights is None or fuser != "dbsf") else "auto", fuser_options=options)
    client = make(catalog, seeds, weights, fuser=fuser, fusion="client", fuser_options=options)
    for kwargs in ({"limit": 10}, {"limit": 5, "offset": 3}, {"limit": 10, "tenant": None}):
        a = engine.search(vector=seeds[0], n_seeds=4, seed=1, **kwargs)
        b = client.search(vector=seeds[0], n_seeds=4, seed=1, **kwargs)
        assert b.fusion[0] == "client"
        assert a.ids == b.ids, (fuser, kwargs)
        assert [p.score for p in a.points] == pytest.approx([p.score for p in b.points], rel=1e-4, abs=1e-6)
    if weights is None or fuser in ("rrf", "max", "mmr"):
        assert a.fusion[0] == "engine"


def test_engine_and_client_agree_with_filter_and_threshold(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [10, 20, 30])
    flt = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
    a = make(catalog, seeds, fuser="dbsf", fusion="engine").search(
        vector=seeds[0], n_seeds=3, filter=flt, score_threshold=0.9, limit=20
    )
    b = make(catalog, seeds, fuser="dbsf", fusion="client").search(
        vector=seeds[0], n_seeds=3, filter=flt, score_threshold=0.9, limit=20
    )
    assert a.ids == b.ids
    assert all(p.payload["even"] for p in a.points)
    assert all(p.score >= 0.9 for p in a.points)


@pytest.mark.parametrize("fusion", ["auto", "engine"])
def test_provenance_matches_per_seed_queries(catalog, catalog_vectors, fusion):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [5, 700, 1400])
    result = make(catalog, seeds, fusion=fusion).search(vector=seeds[0], n_seeds=3, limit=15, candidates=25)
    assert result.fusion[0] == ("client" if fusion == "auto" else "engine")
    per_seed = [
        catalog.query_points("items", query=s.tolist(), using="dense", limit=25).points for s in seeds
    ]
    ranks = [{p.id: (r, p.score) for r, p in enumerate(lst)} for lst in per_seed]
    assert result.points
    for point in result.points:
        expected = sorted((ranks[i][point.id][0], i) for i in range(3) if point.id in ranks[i])
        assert [(h.rank, h.seed) for h in point.found_by] == expected
        for hit in point.found_by:
            assert hit.score == pytest.approx(ranks[hit.seed][point.id][1], rel=1e-5)
    for i, group in enumerate(result.by_seed):
        assert [p.id for p in group] == sorted((p.id for p in group), key=lambda pid: ranks[i][pid][0])
        assert all(i in p.seeds for p in group)
    assert result.seeds.shape == (3, 32)


def test_provenance_off_gives_one_request(catalog, catalog_vectors, monkeypatch):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [1, 2])
    search = make(catalog, seeds, provenance=False)
    assert search.planner.fusion == "auto"
    calls = []
    monkeypatch.setattr(catalog, "query_batch_points", lambda *a, **k: calls.append("batch"))
    original = catalog.query_points
    monkeypatch.setattr(catalog, "query_points", lambda *a, **k: calls.append("query") or original(*a, **k))
    result = search.search(vector=seeds[0], n_seeds=2)
    assert calls == ["query"]
    assert all(p.found_by == [] for p in result.points)


def test_single_seed_is_plain_search(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    query = vectors[42]
    result = GenerativeSearch(catalog, "items", encoder="precomputed").search(vector=query, limit=7, offset=2)
    plain = catalog.query_points("items", query=query.tolist(), using="dense", limit=7, offset=2).points
    assert result.ids == [p.id for p in plain]
    assert [p.score for p in result.points] == pytest.approx([p.score for p in plain])
    assert [h.rank for p in result.points for h in p.found_by] == list(range(2, 9))


def test_encoder_query_path(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    search = GenerativeSearch(catalog, "items", encoder="precomputed", encoder_options={"dim": 32})
    result = search.search(vectors[9], limit=1)
    assert result.ids == [9]


def test_old_server_falls_back_to_client_fusion(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [3, 9])
    search = make(catalog, seeds, fuser="rrf", fuser_options={"k": 60}, provenance=False)
    assert search.search(vector=seeds[0], n_seeds=2).fusion == ("engine", "rrf")
    search.adapter._caps = Capabilities.from_version("1.12.0")
    assert search.search(vector=seeds[0], n_seeds=2).fusion == ("client", "rrf")
    forced = make(catalog, seeds, fuser="rrf", fuser_options={"k": 60}, fusion="engine")
    forced.adapter._caps = Capabilities.from_version("1.12.0")
    with pytest.raises(InvalidRequestError, match="cannot run in this backend"):
        forced.search(vector=seeds[0], n_seeds=2)


def test_round_robin_gives_every_seed_a_share(catalog, catalog_vectors):
    vectors, labels = catalog_vectors
    far = [int(np.flatnonzero(labels == c)[0]) for c in range(4)]
    seeds = seeds_from(vectors, far)
    result = make(catalog, seeds, fuser="round_robin").search(vector=seeds[0], n_seeds=4, limit=8)
    assert result.fusion == ("client", "round_robin")
    assert all(len(group) >= 1 for group in result.by_seed)


def test_centroid_runs_in_engine_only(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [3, 9])
    result = make(catalog, seeds, fuser="centroid").search(vector=seeds[0], n_seeds=2)
    assert result.fusion == ("engine", "centroid")
    with pytest.raises(ConfigError, match="only runs in the engine"):
        make(catalog, seeds, fuser="centroid", fusion="client")


def test_async_twin_matches_sync(catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [3, 9, 27])

    async def run():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [models.PointStruct(id=i, vector={"dense": v.tolist()}) for i, v in enumerate(vectors[:300])])
        search = AsyncGenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(seeds))
        return await search.search(vector=seeds[0], n_seeds=3, limit=5)

    result = asyncio.run(run())
    sync_client = QdrantClient(":memory:")
    make_collection(sync_client, "items", vectors[:300], vector_name="dense")
    expected = make(sync_client, seeds).search(vector=seeds[0], n_seeds=3, limit=5)
    assert result.ids == expected.ids
    assert [p.seeds for p in result.points] == [p.seeds for p in expected.points]


# -- bad input: clear errors, nothing sent -------------------------------------------------------
@pytest.fixture
def guarded(catalog, catalog_vectors, monkeypatch):
    """A search whose client fails the test if anything is sent."""
    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [1, 2, 3])
    search = make(catalog, seeds, tenant_field="tenant", max_seeds=3)

    def refuse(*args, **kwargs):
        raise AssertionError("a request reached Qdrant")

    for name in ("query_points", "query_batch_points"):
        monkeypatch.setattr(catalog, name, refuse)
    return search, seeds


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vector": [np.nan] * 32}, "NaN"),
        ({"vector": [np.inf] + [0.0] * 31}, "NaN or infinite"),
        ({"vector": [0.1] * 32, "n_seeds": 0}, "n_seeds must be >= 1"),
        ({"vector": [0.1] * 32, "n_seeds": 4}, "exceeds the configured maximum"),
        ({"vector": [0.1] * 32, "n_seeds": 2.5}, "n_seeds must be an integer"),
        ({"vector": [0.1] * 32, "limit": 0}, "limit must be >= 1"),
        ({"vector": [0.1] * 32, "offset": -1}, "offset must be >= 0"),
        ({"vector": [0.1] * 32, "filter": {"must": []}}, "models.Filter"),
        ({"vector": [0.1] * 32, "tenant": None}, "pass tenant="),
        ({"vector": [0.1] * 32, "tenant": ["acme"]}, "tenant must be"),
        ({"vector": [0.1] * 32, "score_threshold": float("nan")}, "score_threshold"),
        ({"vector": [0.1] * 32, "seed": -3}, "seed must be"),
        ({}, "exactly one of"),
        ({"query": "x", "vector": [0.1] * 32}, "exactly one of"),
        ({"query": "text"}, "no encoder"),
        ({"vector": [0.1] * 32, "guidance": 2.0}, "does not accept the control"),
        ({"vector": [0.1] * 32, "search_params": {"ef": 64}}, "unsupported search_params"),
        ({"vector": [0.1] * 32, "search_params": {"hnsw_ef": 0}}, "hnsw_ef"),
        ({"vector": [0.1] * 32, "search_params": {"exact": "yes"}}, "exact"),
        ({"vector": [0.1] * 32, "search_params": "fast"}, "search_params must be"),
    ],
)
def test_bad_input_is_rejected_before_sending(guarded, kwargs, message):
    search, _ = guarded
    kwargs = {"tenant": "acme", "n_seeds": 3, **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        search.search(**kwargs)


def test_dimension_mismatch(catalog):
    with pytest.raises(DimensionMismatchError, match="16-d seeds but vector 'dense'"):
        GenerativeSearch(catalog, "items", encoder=None, sampler=FixedSeedsSampler(np.ones((2, 16))))
    search = GenerativeSearch(catalog, "items", encoder=None)
    with pytest.raises(DimensionMismatchError, match="8-d seeds"):
        search.search(vector=np.ones(8))


def test_missing_collection_and_vector(catalog):
    with pytest.raises(CollectionError, match="'nope' does not exist"):
        GenerativeSearch(catalog, "nope", encoder=None)
    with pytest.raises(CollectionError, match="no vector named 'sparse'.*dense"):
        GenerativeSearch(catalog, "items", encoder=None, vector_name="sparse")


def test_unknown_components_list_alternatives(catalog):
    with pytest.raises(UnknownComponentError, match="unknown fuser 'bogus'.*'rrf'"):
        GenerativeSearch(catalog, "items", encoder=None, fuser="bogus")
    with pytest.raises(UnknownComponentError, match="unknown sampler"):
        GenerativeSearch(catalog, "items", encoder=None, sampler="bogus")


def test_bad_construction_arguments(catalog):
    with pytest.raises(ConfigError, match="fusion must be"):
        GenerativeSearch(catalog, "items", encoder=None, fusion="server")
    with pytest.raises(ConfigError, match="max_seeds"):
        GenerativeSearch(catalog, "items", encoder=None, max_seeds=0)
    with pytest.raises(ConfigError, match="invalid options"):
        GenerativeSearch(catalog, "items", encoder=None, fuser="rrf", fuser_options={"kk": 1})
    with pytest.raises(ConfigError, match="no registered adapter"):
        GenerativeSearch(object(), "items", encoder=None)
    with pytest.raises(ConfigError, match="async client"):
        AsyncGenerativeSearch(catalog, "items", encoder=None)


def test_search_params_reach_every_request(catalog, catalog_vectors):
    from genseek.adapters.qdrant import build_requests

    vectors, _ = catalog_vectors
    seeds = seeds_from(vectors, [3, 9, 27])
    plain = make(catalog, seeds).search(vector=seeds[0], n_seeds=3, limit=5)
    for fusion in ("auto", "engine"):
        search = make(catalog, seeds, fusion=fusion)
        exact = search.search(vector=seeds[0], n_seeds=3, limit=5, search_params=models.SearchParams(hnsw_ef=64, exact=True))
        assert exact.ids == plain.ids
        prepared = search.planner.prepare(
            seeds[0], SearchRequest(n_seeds=3, limit=5, search_params={"hnsw_ef": 64}),
            capabilities=search.adapter.capabilities(), controls={},
        )
        fused, per_seed = build_requests(prepared.request)
        expected = models.SearchParams(hnsw_ef=64)
        assert all(r.params == expected for r in per_seed)
        if fused is not None:
            assert all(p.params == expected for p in fused.prefetch)
