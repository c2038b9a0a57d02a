"""The adapter contract, run against every backend (qdrant-client local mode and Qdrant Edge) and
against each one's synchronous and asynchronous adapter.

Reference for every ranking: genseek's client-side fuser over local-mode per-seed lists — the
path that is defined in Python and reviewed against the papers. Each backend, fusing in its
engine or on the client, must give the same ranking on the same data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qdrant_client import models

from genseek.errors import CollectionError, GenseekError
from genseek.search import GenerativeSearch
from genseek.testing import FixedSeedsSampler

SEED_ROWS = [3, 100, 700, 1200, 41]


@pytest.fixture(scope="module")
def seeds(catalog_vectors) -> np.ndarray:
    vectors, _ = catalog_vectors
    rng = np.random.default_rng(11)
    raw = vectors[SEED_ROWS] + 0.05 * rng.standard_normal((len(SEED_ROWS), vectors.shape[1])).astype(np.float32)
    return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)


def make_search(b, seeds, *, fuser="rrf", fusion="auto", weights=None, provenance=False, fuser_options=None,
                tenant_field="tenant"):
    """The backend's searcher (an async twin behind a synchronous view for the async backends)."""
    return b.searcher(
        encoder=None,
        sampler=FixedSeedsSampler(seeds, weights=weights),
        fuser=fuser,
        fuser_options=fuser_options,
        fusion=fusion,
        provenance=provenance,
        tenant_field=tenant_field,
    )


FUSER_CASES = [
    # (id, fuser, options, weights, engine?)
    ("rrf", "rrf", None, None, True),
    ("rrf-k60", "rrf", {"k": 60}, None, True),
    ("rrf-weighted", "rrf", None, [3.0, 1.0, 1.0, 0.5, 2.0], True),
    ("dbsf", "dbsf", None, None, True),
    ("mmr", "mmr", {"diversity": 0.3}, None, True),
    ("max", "max", None, None, True),
    ("centroid", "centroid", None, None, True),
    ("round_robin", "round_robin", None, None, False),
]


@pytest.mark.parametrize("case", FUSER_CASES, ids=[c[0] for c in FUSER_CASES])
@pytest.mark.parametrize("fusion", ["engine", "client"])
def test_every_fuser_ranks_like_the_client_side_reference(case, fusion, backend, local_backend, seeds, same_ranking):
    _, fuser, options, weights, engine_ok = case
    if fusion == "engine" and not engine_ok:
        pytest.skip(f"{fuser} has no engine form")
    if fusion == "client" and fuser == "centroid":
        pytest.skip("centroid is an engine query only")
    kwargs = dict(fuser=fuser, weights=weights, fuser_options=options)
    reference_fusion = "engine" if fuser == "centroid" else "client"
    reference = make_search(local_backend, seeds, fusion=reference_fusion, **kwargs)
    searched = make_search(backend, seeds, fusion=fusion, **kwargs)
    flt = models.Filter(must=[models.FieldCondition(key="rank", range=models.Range(gte=30))])
    for tenant in ("acme", "initech"):
        want = reference.search(vector=seeds[0], n_seeds=len(seeds), tenant=tenant, limit=12, filter=flt)
        got = searched.search(vector=seeds[0], n_seeds=len(seeds), tenant=tenant, limit=12, filter=flt)
        assert got.fusion == (fusion, fuser)
        assert len(want.points) == 12
        same_ranking(got.points, want.points)


def test_offset_and_score_threshold(backend, local_backend, seeds, same_ranking):
    for fusion in ("engine", "client"):
        want = make_search(local_backend, seeds, fuser="max", fusion="client").search(
            vector=seeds[0], n_seeds=4, tenant="globex", limit=5, offset=3, score_threshold=0.5
        )
        got = make_search(backend, seeds, fuser="max", fusion=fusion).search(
            vector=seeds[0], n_seeds=4, tenant="globex", limit=5, offset=3, score_threshold=0.5
        )
        same_ranking(got.points, want.points)
        assert all(p.score >= 0.5 for p in got.points)


def test_single_seed_is_a_plain_nearest_search(backend, local_backend, seeds, same_ranking):
    got = make_search(backend, seeds).search(vector=seeds[1], n_seeds=1, tenant="acme", limit=10)
    want = make_search(local_backend, seeds).search(vector=seeds[1], n_seeds=1, tenant="acme", limit=10)
    same_ranking(got.points, want.points)
    assert [p.seeds for p in got.points] == [[0]] * len(got.points)


@pytest.mark.parametrize("fusion", ["engine", "client"])
def test_provenance_names_the_seeds_that_found_each_point(fusion, backend, local_backend, seeds):
    got = make_search(backend, seeds, fusion=fusion, provenance=True).search(
        vector=seeds[0], n_seeds=5, tenant="acme", limit=10
    )
    want = make_search(local_backend, seeds, fusion="client", provenance=True).search(
        vector=seeds[0], n_seeds=5, tenant="acme", limit=10
    )
    found_got = {p.id: sorted(p.seeds) for p in got.points}
    found_want = {p.id: sorted(p.seeds) for p in want.points}
    for pid in set(found_got) & set(found_want):
        assert found_got[pid] == found_want[pid]
    for point in got.points:
        assert point.found_by, "every RRF result was found by at least one seed"
        for hit in point.found_by:
            assert point in got.by_seed[hit.seed] or any(q.id == point.id for q in got.by_seed[hit.seed])


def test_payload_and_vector_selectors(backend, local_backend, seeds):
    for with_payload in (True, False, ["genres"], models.PayloadSelectorExclude(exclude=["title", "offers"])):
        got = make_search(backend, seeds, fuser="max", fusion="engine").search(
            vector=seeds[0], n_seeds=3, tenant="acme", limit=4, with_payload=with_payload, with_vectors=["dense"]
        )
        want = make_search(local_backend, seeds, fuser="max", fusion="engine").search(
            vector=seeds[0], n_seeds=3, tenant="acme", limit=4, with_payload=with_payload, with_vectors=["dense"]
        )
        assert [p.payload for p in got.points] == [p.payload for p in want.points]
        for g, w in zip(got.points, want.points):
            assert set(g.vector) == set(w.vector) == {"dense"}
            np.testing.assert_allclose(g.vector["dense"], w.vector["dense"], atol=1e-5)


def test_tenant_field_is_checked_and_stripped(backend, seeds):
    result = make_search(backend, seeds, fusion="engine").search(
        vector=seeds[0], n_seeds=3, tenant="globex", limit=8, with_payload=["rank"]
    )
    assert result.points
    assert all(set(p.payload) == {"rank"} and p.payload["rank"] % 3 == 1 for p in result.points)


def test_caller_filter_cannot_widen_the_tenant(backend, seeds):
    widening = models.Filter(
        should=[models.FieldCondition(key="tenant", match=models.MatchValue(value="acme")),
                models.FieldCondition(key="tenant", match=models.MatchValue(value="globex"))],
        must_not=[models.FieldCondition(key="tenant", match=models.MatchValue(value="initech"))],
    )
    for fusion in ("engine", "client"):
        result = make_search(backend, seeds, fusion=fusion).search(
            vector=seeds[0], n_seeds=5, tenant="initech", limit=10, filter=widening
        )
        assert result.points == []
        result = make_search(backend, seeds, fusion=fusion).search(
            vector=seeds[0], n_seeds=5, tenant="acme", limit=10, filter=widening
        )
        assert result.points and all(p.payload["tenant"] == "acme" for p in result.points)


def test_fetch_vectors_respects_the_scope(backend, catalog_vectors):
    vectors, _ = catalog_vectors
    search = make_search(backend, vectors[:2])
    scope = models.Filter(must=[models.FieldCondition(key="tenant", match=models.MatchValue(value="acme"))])
    got = search.adapter.fetch_vectors(backend.collection, "dense", [0, 1, 2, 3, 9999], scope)
    assert sorted(got) == [0, 3]  # 1, 2 belong to other tenants; 9999 does not exist
    np.testing.assert_allclose(got[3], vectors[3], atol=1e-5)


def test_missing_collection_and_vector_are_clear_errors(backend, seeds):
    if backend.asynchronous:
        pytest.skip("the async searcher reads the collection on first use: test_async_missing_collection_and_vector")
    with pytest.raises(CollectionError, match="nope"):
        GenerativeSearch(backend.client, "nope", encoder=None, sampler=FixedSeedsSampler(seeds))
    with pytest.raises(CollectionError, match="sparse"):
        GenerativeSearch(backend.client, backend.collection, encoder=None, sampler=FixedSeedsSampler(seeds),
                         vector_name="sparse")


def test_adapter_is_chosen_by_client_type(backend, seeds):
    if backend.asynchronous:
        pytest.skip("async adapters: test_async_adapter_is_chosen_by_client_type")
    search = make_search(backend, seeds)
    assert search.adapter.id == ("edge" if backend.name == "edge" else "qdrant")
    assert isinstance(search.adapter.capabilities().prefetch, bool)


def test_a_point_of_another_tenant_is_never_returned(backend, seeds):
    """Second line of defence: results are verified even if a backend ignored the filter."""
    search = make_search(backend, seeds, fusion="engine")
    original = search.adapter.run

    def leaky(request):
        return original(type(request)(**{**request.__dict__, "filter": None}))

    search.adapter.run = leaky
    with pytest.raises(GenseekError, match="tenant isolation"):
        search.search(vector=seeds[0], n_seeds=3, tenant="acme", limit=10)


@pytest.mark.parametrize("fusion", ["auto", "engine"])
def test_search_params_exact_search(fusion, backend, local_backend, seeds, same_ranking):
    """``search_params={"exact": True, "hnsw_ef": …}`` reaches every backend and gives the exact ranking."""
    got = make_search(backend, seeds, fuser="rrf", fusion=fusion).search(
        vector=seeds[0], n_seeds=3, tenant="acme", limit=8, search_params={"exact": True, "hnsw_ef": 128}
    )
    want = make_search(local_backend, seeds, fuser="rrf", fusion=fusion).search(
        vector=seeds[0], n_seeds=3, tenant="acme", limit=8
    )
    same_ranking(got.points, want.points)


def test_async_adapter_is_chosen_by_client_type(backend, seeds):
    if not backend.asynchronous:
        pytest.skip("sync adapters: test_adapter_is_chosen_by_client_type")
    search = make_search(backend, seeds)
    assert search.adapter.id == ("edge-async" if backend.name == "edge-async" else "qdrant-async")
    assert isinstance(search.adapter.capabilities().prefetch, bool)


def test_async_missing_collection_and_vector(backend, seeds):
    if not backend.asynchronous:
        pytest.skip("sync searchers: test_missing_collection_and_vector_are_clear_errors")
    for collection, vector_name, named in ((backend.collection, "sparse", "sparse"), ("nope", None, "nope")):
        search = dataclasses.replace(backend, collection=collection).searcher(
            encoder=None, sampler=FixedSeedsSampler(seeds), vector_name=vector_name
        )
        with pytest.raises(CollectionError, match=named):
            search.search(vector=seeds[0], n_seeds=2)
