"""Tenant isolation: no filter a caller can write returns another tenant's points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client.http import models

from genseek import GenerativeSearch, GenseekError
from genseek.adapters.base import SeedSearchResponse
from genseek.scope import TenantGuard, scoped_filter
from genseek.testing import FixedSeedsSampler

TENANTS = ("acme", "globex", "initech")  # as in conftest.py

# Leaf conditions an attacker might use to reach other tenants' points.
leaf = st.one_of(
    st.sampled_from(TENANTS).map(lambda t: models.FieldCondition(key="tenant", match=models.MatchValue(value=t))),
    st.lists(st.sampled_from(TENANTS), min_size=1, max_size=3).map(
        lambda ts: models.FieldCondition(key="tenant", match=models.MatchAny(any=ts))
    ),
    st.sampled_from(TENANTS).map(lambda t: models.FieldCondition(key="tenant", match=models.MatchExcept(**{"except": [t]}))),
    st.booleans().map(lambda b: models.FieldCondition(key="even", match=models.MatchValue(value=b))),
    st.integers(0, 1500).map(lambda r: models.FieldCondition(key="rank", range=models.Range(gte=r))),
    st.just(models.IsEmptyCondition(is_empty=models.PayloadField(key="tenant"))),
    st.lists(st.integers(0, 1499), min_size=1, max_size=20).map(lambda ids: models.HasIdCondition(has_id=ids)),
)


def filters(depth: int = 2):
    children = leaf if depth == 0 else st.one_of(leaf, filters(depth - 1))
    clause = st.none() | st.lists(children, min_size=1, max_size=3)
    return st.builds(models.Filter, must=clause, should=clause, must_not=clause)


@pytest.fixture(scope="module")
def searches(catalog, catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = vectors[[0, 300, 600, 900]]
    return {
        mode: GenerativeSearch(
            catalog, "items", encoder=None, sampler=FixedSeedsSampler(seeds), tenant_field="tenant", fuser=fuser, fusion=mode
        )
        for mode, fuser in (("engine", "rrf"), ("client", "round_robin"))
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=st.none() | filters(), tenant=st.sampled_from(TENANTS), mode=st.sampled_from(["engine", "client"]),
       with_payload=st.sampled_from([True, False, ["even"], models.PayloadSelectorExclude(exclude=["tenant"])]))
def test_results_never_leave_the_tenant(catalog, searches, flt, tenant, mode, with_payload):
    result = searches[mode].search(vector=np.ones(32), n_seeds=4, limit=30, tenant=tenant, filter=flt,
                                   with_payload=with_payload)
    ids = result.ids + [p.id for group in result.by_seed for p in group]
    if ids:
        owners = {r.id: r.payload["tenant"] for r in catalog.retrieve("items", ids, with_payload=["tenant"])}
        assert set(owners.values()) == {tenant}
    if with_payload is False:
        assert all(p.payload is None for p in result.points)  # the guard's field is stripped again


def test_scoped_filter_nests_the_caller_filter():
    caller = models.Filter(should=[models.FieldCondition(key="tenant", match=models.MatchValue(value="globex"))])
    scoped = scoped_filter(caller, "tenant", "acme")
    assert scoped.must[0] == models.FieldCondition(key="tenant", match=models.MatchValue(value="acme"))
    assert scoped.must[1] is caller and scoped.should is None and scoped.must_not is None


def test_guard_refuses_points_of_another_tenant():
    guard = TenantGuard("tenant", "acme")
    leaked = models.ScoredPoint(id=1, version=0, score=1.0, payload={"tenant": "globex"})
    with pytest.raises(GenseekError, match="tenant isolation check failed"):
        guard.verify([leaked], strip=False)
    shared = models.ScoredPoint(id=2, version=0, score=1.0, payload={"tenant": ["globex", "acme"]})
    guard.verify([shared], strip=True)
    assert shared.payload is None


def test_guard_catches_a_backend_that_ignores_filters(catalog, catalog_vectors, monkeypatch):
    vectors, _ = catalog_vectors
    search = GenerativeSearch(catalog, "items", encoder=None, tenant_field="tenant")
    everything = catalog.query_points("items", query=vectors[0].tolist(), using="dense", limit=10).points
    monkeypatch.setattr(search.adapter, "run", lambda request: SeedSearchResponse(fused=everything))
    with pytest.raises(GenseekError, match="tenant isolation"):
        search.search(vector=vectors[0], tenant="acme")


def test_a_nested_tenant_field_is_checked_and_stripped():
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    client.create_collection("nested", vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE))
    client.upsert("nested", [
        models.PointStruct(id=i, vector=[1.0, i], payload={"meta": {"tenant": "ab"[i % 2], "x": i}, "y": i}) for i in range(8)
    ])
    search = GenerativeSearch(client, "nested", encoder=None, tenant_field="meta.tenant")
    found = search.search(vector=[1.0, 0.0], tenant="a", limit=3, with_payload=["y"])
    assert [p.payload for p in found.points] == [{"y": 0}, {"y": 2}, {"y": 4}]  # checked, then stripped
    assert all(p.payload is None for p in search.search(vector=[1.0, 0.0], tenant="b", with_payload=False).points)
    asked = search.search(vector=[1.0, 0.0], tenant="a", limit=1, with_payload=["meta"]).points[0].payload
    assert asked == {"meta": {"tenant": "a", "x": 0}}  # the caller asked for the object holding it: kept
    hidden = models.PayloadSelectorExclude(exclude=["meta"])
    assert search.search(vector=[1.0, 0.0], tenant="a", limit=1, with_payload=hidden).points[0].payload == {"y": 0}
    guard = TenantGuard("meta.tenant", "a")
    with pytest.raises(GenseekError, match="tenant isolation check failed"):
        guard.verify([models.ScoredPoint(id=1, version=0, score=1.0, payload={"meta": {"tenant": "b"}})], strip=False)
