"""The cluster path: shard keys and read consistency reach every request; embedded → server moves.

Request-flow tests run everywhere (a recording wrapper around a local-mode client). Tests marked
``server`` need a Qdrant server at ``QDRANT_URL`` (optionally ``QDRANT_API_KEY``) and are skipped
cleanly without one; they use the *same* adapter code as local mode.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
import warnings

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from genseek.search import GenerativeSearch
from genseek.testing import FixedSeedsSampler, clustered_vectors, make_collection

QDRANT_URL = os.environ.get("QDRANT_URL")
needs_server = pytest.mark.skipif(not QDRANT_URL, reason="set QDRANT_URL to run against a Qdrant server")


class RecordingClient(QdrantClient):
    """A local-mode client that records the routing arguments of each query, then drops them
    (local mode raises on shard keys and ignores consistency)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.calls: list[tuple[str, dict]] = []

    def query_points(self, collection_name, **kwargs):
        self.calls.append(("query_points", {k: kwargs.get(k) for k in ("shard_key_selector", "consistency")}))
        kwargs["shard_key_selector"] = None
        return super().query_points(collection_name, **kwargs)

    def query_batch_points(self, collection_name, requests, **kwargs):
        keys = [r.shard_key for r in requests]
        self.calls.append(("query_batch_points", {"shard_keys": keys, "consistency": kwargs.get("consistency")}))
        requests = [r.model_copy(update={"shard_key": None}) for r in requests]
        return super().query_batch_points(collection_name, requests=requests, **kwargs)


@pytest.fixture(scope="module")
def data():
    vectors, _ = clustered_vectors(400, 16, clusters=5, intrinsic_dim=4, seed=9)
    payloads = [{"tenant": ("acme", "globex")[i % 2], "rank": i} for i in range(len(vectors))]
    return vectors, payloads


@pytest.mark.parametrize("fusion,provenance", [("engine", False), ("engine", True), ("client", True)])
def test_shard_key_and_consistency_reach_every_request(fusion, provenance, data):
    vectors, payloads = data
    client = RecordingClient()
    make_collection(client, "items", vectors, payload=lambda i: payloads[i])
    search = GenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(vectors[:4]), fusion=fusion,
                              provenance=provenance, tenant_field="tenant")
    # local mode has no shard keys (and refuses them): act as a cluster that routes by them
    search.adapter._caps = dataclasses.replace(search.adapter.capabilities(), shard_keys=True)
    result = search.search(vector=vectors[0], n_seeds=4, tenant="acme", shard_key_selector="acme",
                           consistency=models.ReadConsistencyType.MAJORITY)
    assert result.points
    (method, recorded), = client.calls
    assert recorded["consistency"] == models.ReadConsistencyType.MAJORITY
    if method == "query_points":
        assert recorded["shard_key_selector"] == "acme"
    else:
        assert recorded["shard_keys"] and all(key == "acme" for key in recorded["shard_keys"])


def test_edge_accepts_cluster_options_and_keeps_the_tenant_filter(tmp_path, data):
    pytest.importorskip("qdrant_edge")
    from genseek.adapters.qdrant_edge import build_catalog

    vectors, payloads = data
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant") as catalog:
        search = GenerativeSearch(catalog, catalog.name, encoder=None, sampler=FixedSeedsSampler(vectors[:3]),
                                  fuser="max", fusion="engine", tenant_field="tenant")
        plain = search.search(vector=vectors[0], n_seeds=3, tenant="globex")
        routed = search.search(vector=vectors[0], n_seeds=3, tenant="globex", shard_key_selector="globex",
                               consistency=models.ReadConsistencyType.ALL)
    assert [p.id for p in routed.points] == [p.id for p in plain.points]
    assert all(p.payload["tenant"] == "globex" for p in routed.points)


def test_edge_catalog_moves_into_a_qdrant_client_collection(tmp_path, data):
    """Edge → qdrant-client (local mode here; the same call targets a server, see the server test)."""
    pytest.importorskip("qdrant_edge")
    from genseek.adapters.qdrant_edge import build_catalog, catalog_to_qdrant

    vectors, payloads = data
    target = QdrantClient(":memory:")
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant", name="items") as catalog:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # local mode: payload indexes have no effect
            catalog_to_qdrant(catalog, target, progress=False)
        want = GenerativeSearch(catalog, "items", encoder=None, sampler=FixedSeedsSampler(vectors[:3]), fuser="max",
                                fusion="engine", tenant_field="tenant").search(vector=vectors[0], n_seeds=3, tenant="acme")
    assert target.count("items", exact=True).count == len(vectors)
    got = GenerativeSearch(target, "items", encoder=None, sampler=FixedSeedsSampler(vectors[:3]), fuser="max",
                           fusion="engine", tenant_field="tenant").search(vector=vectors[0], n_seeds=3, tenant="acme")
    assert [(p.id, round(p.score, 5), p.payload) for p in got.points] == [
        (p.id, round(p.score, 5), p.payload) for p in want.points
    ]


# -- against a real server ---------------------------------------------------------------------------
@pytest.fixture
def server():
    client = QdrantClient(url=QDRANT_URL, api_key=os.environ.get("QDRANT_API_KEY"), timeout=60)
    created: list[str] = []
    yield client, created
    for name in created:
        try:
            client.delete_collection(name)
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass
    client.close()


def _name(prefix: str) -> str:
    return f"genseek-test-{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.server
@needs_server
def test_tenant_per_custom_shard_key_on_a_server(server, data, tmp_path):
    client, created = server
    vectors, payloads = data
    name = _name("shards")
    created.append(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE),
                             sharding_method=models.ShardingMethod.CUSTOM)
    client.create_payload_index(name, "tenant", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True))
    for tenant in ("acme", "globex"):
        client.create_shard_key(name, tenant)
        rows = [i for i, p in enumerate(payloads) if p["tenant"] == tenant]
        client.upsert(name, points=[models.PointStruct(id=i, vector=vectors[i].tolist(), payload=payloads[i]) for i in rows],
                      shard_key_selector=tenant, wait=True)
    reference = QdrantClient(":memory:")
    make_collection(reference, "ref", vectors, vector_name=None, payload=lambda i: payloads[i])
    for fusion, provenance in (("engine", False), ("engine", True), ("client", True)):
        kwargs = dict(encoder=None, sampler=FixedSeedsSampler(vectors[:4]), fuser="max", tenant_field="tenant",
                      fusion=fusion, provenance=provenance)
        got = GenerativeSearch(client, name, **kwargs).search(
            vector=vectors[0], n_seeds=4, tenant="globex", shard_key_selector="globex",
            consistency=models.ReadConsistencyType.MAJORITY)
        want = GenerativeSearch(reference, "ref", **kwargs).search(vector=vectors[0], n_seeds=4, tenant="globex")
        assert [p.id for p in got.points] == [p.id for p in want.points]
        assert all(p.payload["tenant"] == "globex" for p in got.points)
        # the shard key alone also isolates: another tenant's key finds none of globex's points
        other = GenerativeSearch(client, name, **{**kwargs, "tenant_field": None}).search(
            vector=vectors[0], n_seeds=4, shard_key_selector="acme")
        assert all(p.payload["tenant"] == "acme" for p in other.points)


@pytest.mark.server
@needs_server
def test_embedded_to_cluster_with_migrate_and_an_alias(server, data):
    client, created = server
    vectors, payloads = data
    local = QdrantClient(":memory:")
    source = _name("embedded")
    make_collection(local, source, vectors, vector_name="dense", payload=lambda i: payloads[i])
    created.append(source)
    local.migrate(client, collection_names=[source], recreate_on_collision=True)
    alias = _name("alias")
    client.update_collection_aliases(change_aliases_operations=[
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=source, alias_name=alias))])
    try:
        kwargs = dict(encoder=None, sampler=FixedSeedsSampler(vectors[:3]), fuser="max", fusion="engine",
                      tenant_field="tenant")
        want = GenerativeSearch(local, source, **kwargs).search(vector=vectors[0], n_seeds=3, tenant="acme")
        got = GenerativeSearch(client, alias, **kwargs).search(vector=vectors[0], n_seeds=3, tenant="acme")
        assert [p.id for p in got.points] == [p.id for p in want.points]
        np.testing.assert_allclose([p.score for p in got.points], [p.score for p in want.points], atol=1e-4)
    finally:
        client.update_collection_aliases(change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))])


@pytest.mark.server
@needs_server
def test_edge_catalog_to_a_sharded_server_collection(server, data, tmp_path):
    pytest.importorskip("qdrant_edge")
    from genseek.adapters.qdrant_edge import build_catalog, catalog_to_qdrant

    client, created = server
    vectors, payloads = data
    name = _name("from-edge")
    created.append(name)
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant") as catalog:
        catalog_to_qdrant(catalog, client, name, shard_by_tenant=True, progress=False)
    assert client.count(name, exact=True, shard_key_selector="acme").count == len(vectors) // 2
    result = GenerativeSearch(client, name, encoder=None, sampler=FixedSeedsSampler(vectors[:3]), tenant_field="tenant",
                              fusion="engine").search(vector=vectors[0], n_seeds=3, tenant="acme", shard_key_selector="acme")
    assert result.points and all(p.payload["tenant"] == "acme" for p in result.points)
