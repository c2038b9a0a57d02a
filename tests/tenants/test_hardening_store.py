"""Hand-tampered store records are named errors; bound searchers follow a re-created store."""

from __future__ import annotations

import asyncio
import json

import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, GenerativeSearch
from genseek.errors import ConfigError, TenantConfigError
from genseek.tenants import TenantStore, UnknownTenantError
from genseek.tenants.store import _point_id


def _record(store: TenantStore, what: str, tenant: str = "acme") -> dict:
    return dict(store.client.retrieve(store.collection, [_point_id(tenant, what)], with_payload=True)[0].payload)


def _overwrite(store: TenantStore, what: str, payload: dict, tenant: str = "acme") -> None:
    store.client.overwrite_payload(store.collection, payload, points=[_point_id(tenant, what)])


def _owners(client, points) -> set:
    return {r.payload["tenant"] for r in client.retrieve("items", [p.id for p in points], with_payload=["tenant"])}


def _deep(depth: int) -> str:
    return '{"collection": "items", "partition": "acme", "description": ' + "[" * depth + "]" * depth + "}"


VERSION_TAMPERINGS = {
    "not JSON": lambda r: {**r, "config_json": "{not json"},
    "truncated JSON": lambda r: {**r, "config_json": r["config_json"][: len(r["config_json"]) // 2]},
    "empty string": lambda r: {**r, "config_json": ""},
    "JSON list": lambda r: {**r, "config_json": "[1, 2]"},
    "JSON string": lambda r: {**r, "config_json": '"acme"'},
    "JSON number": lambda r: {**r, "config_json": "7"},
    "JSON null, not deleted": lambda r: {**r, "config_json": "null"},
    "config as an object": lambda r: {**r, "config_json": json.loads(r["config_json"])},
    "config missing, not deleted": lambda r: {**r, "config_json": None},
    "deleted but holds a config": lambda r: {**r, "deleted": True},
    "deeply nested JSON": lambda r: {**r, "config_json": _deep(100_000)},
    "unknown key in the config": lambda r: {**r, "config_json": r["config_json"][:-1] + ', "colour": "blue"}'},
    "invalid config value": lambda r: {**r, "config_json": r["config_json"].replace('"limit":10', '"limit":-1')},
    "secret in the config": lambda r: {**r, "config_json": r["config_json"].replace(
        '"description":""', '"description":"https://bob:hunter2@example.com"')},
    "missing config_json": lambda r: {k: v for k, v in r.items() if k != "config_json"},
    "missing version": lambda r: {k: v for k, v in r.items() if k != "version"},
    "missing tenant": lambda r: {k: v for k, v in r.items() if k != "tenant"},
    "missing kind": lambda r: {k: v for k, v in r.items() if k != "kind"},
    "missing deleted": lambda r: {k: v for k, v in r.items() if k != "deleted"},
    "version as a string": lambda r: {**r, "version": "1"},
    "version as a float": lambda r: {**r, "version": 1.0},
    "version as a boolean": lambda r: {**r, "version": True},
    "version zero": lambda r: {**r, "version": 0},
    "version negative": lambda r: {**r, "version": -1},
    "version of another record": lambda r: {**r, "version": 2},
    "version null": lambda r: {**r, "version": None},
    "another tenant": lambda r: {**r, "tenant": "globex"},
    "tenant as a number": lambda r: {**r, "tenant": 1},
    "wrong kind": lambda r: {**r, "kind": "head"},
    "deleted as a string": lambda r: {**r, "deleted": "false"},
    "deleted as a number": lambda r: {**r, "deleted": 0},
    "author as a number": lambda r: {**r, "author": 3},
    "writer as a list": lambda r: {**r, "writer": ["x"]},
    "extra field": lambda r: {**r, "is_admin": True},
    "empty payload": lambda r: {},
}


@pytest.mark.parametrize("tamper", VERSION_TAMPERINGS.values(), ids=VERSION_TAMPERINGS.keys())
def test_a_tampered_version_record_is_a_named_error_everywhere(tamper, store, make_config, catalog):
    store.put("acme", make_config(), expected_version=0)
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=store)
    _overwrite(store, "v1", tamper(_record(store, "v1")))
    pattern = r"tenant 'acme': the version record 1 in collection 'genseek_tenants' is corrupt \(.+\); nothing was served"
    with pytest.raises(TenantConfigError, match=pattern):
        store.get("acme")
    with pytest.raises(TenantConfigError, match=pattern):
        store.version("acme", 1)
    with pytest.raises(TenantConfigError, match="tenant 'acme'"):
        store.history("acme")
    with pytest.raises(TenantConfigError, match=pattern):  # a bound searcher fails closed
        searcher.search(vector=[0.1] * 32)
    with pytest.raises(TenantConfigError, match=pattern):
        GenerativeSearch.for_tenant("acme", client=catalog, store=store)
    store.put("acme", make_config(search={"limit": 4}), expected_version=1)  # the repair the message names
    assert store.get("acme").search.limit == 4
    assert len(searcher.search(vector=[0.1] * 32).points) == 4


HEAD_TAMPERINGS = {
    "version as a string": lambda h: {**h, "version": "x"},
    "version numeric string": lambda h: {**h, "version": "1"},
    "version null": lambda h: {**h, "version": None},
    "version as a boolean": lambda h: {**h, "version": True},
    "version as a float": lambda h: {**h, "version": 1.5},
    "version negative": lambda h: {**h, "version": -3},
    "version as a list": lambda h: {**h, "version": [1]},
    "missing version": lambda h: {k: v for k, v in h.items() if k != "version"},
    "missing deleted": lambda h: {k: v for k, v in h.items() if k != "deleted"},
    "deleted as a string": lambda h: {**h, "deleted": "no"},
    "wrong kind": lambda h: {**h, "kind": "version"},
    "extra field": lambda h: {**h, "owner": "mallory"},
}


@pytest.mark.parametrize("tamper", HEAD_TAMPERINGS.values(), ids=HEAD_TAMPERINGS.keys())
def test_a_tampered_head_record_is_a_named_error_and_writes_nothing(tamper, store, make_config, catalog):
    store.put("acme", make_config(), expected_version=0)
    _overwrite(store, "head", tamper(_record(store, "head")))
    before = store.client.count(store.collection).count
    pattern = r"tenant 'acme': the head record \(point [0-9a-f-]+\) in collection 'genseek_tenants' is corrupt"
    calls = [lambda: store.get("acme"), lambda: store.current_version("acme"),
             lambda: store.put("acme", make_config(), expected_version=1),
             lambda: GenerativeSearch.for_tenant("acme", client=catalog, store=store)]
    if _record(store, "head").get("kind") == "head":  # listing finds heads by their kind
        calls.append(store.tenants)
    for call in calls:
        with pytest.raises(TenantConfigError, match=pattern):
            call()
    assert store.client.count(store.collection).count == before
    store.client.delete(store.collection, [_point_id("acme", "head")])  # the repair the message names
    assert store.current_version("acme") == 1 and store.get("acme").partition == "acme"


@pytest.mark.parametrize("tenant_value", [None, 5, "", "acme\n", ["acme"]], ids=repr)
def test_a_head_record_naming_no_valid_tenant_is_a_named_error(tenant_value, store, make_config):
    store.put("acme", make_config(), expected_version=0)
    _overwrite(store, "head", {**_record(store, "head"), "tenant": tenant_value})
    with pytest.raises(TenantConfigError, match="head record .* is corrupt .*not a valid tenant id"):
        store.tenants()


def test_a_record_copied_under_another_tenants_id_is_refused(store, make_config):
    store.put("acme", make_config("acme"), expected_version=0)
    store.put("globex", make_config("globex"), expected_version=0)
    _overwrite(store, "v1", _record(store, "v1", "acme"), tenant="globex")  # globex's record now says acme
    with pytest.raises(TenantConfigError, match="tenant 'globex'.*names the tenant 'acme'"):
        store.get("globex")
    assert store.get("acme").partition == "acme"


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "1", None])
def test_a_version_that_is_not_a_positive_integer_is_refused(version, store, make_config):
    store.put("acme", make_config(), expected_version=0)
    with pytest.raises(ConfigError, match="a configuration version is an integer >= 1"):
        store.version("acme", version)


# -- a store re-created or restored while searchers run ------------------------------------------
def _recreate(store: TenantStore) -> None:
    store.client.delete_collection(store.collection)


def _bound(catalog, store, config_partition, make_config, **fields):
    store.put("acme", make_config(config_partition, **fields), expected_version=store.current_version("acme"))
    return GenerativeSearch.for_tenant("acme", client=catalog, store=store)


@pytest.mark.parametrize("versions_before, versions_after", [(1, 1), (3, 1), (2, 2), (1, 3)])
def test_a_bound_searcher_follows_a_re_created_store(versions_before, versions_after, catalog, catalog_vectors,
                                                      registry, make_config):
    store = TenantStore(catalog, collection="genseek_tenants_recreated", registry=registry, max_staleness=0)
    searcher = _bound(catalog, store, "acme", make_config)
    for _ in range(versions_before - 1):
        store.put("acme", make_config("acme"), expected_version=store.current_version("acme"))
    vector = catalog_vectors[0][7]
    assert _owners(catalog, searcher.search(vector=vector).points) == {"acme"}
    assert searcher.version == versions_before
    _recreate(store)
    for _ in range(versions_after):
        store.put("acme", make_config("globex"), expected_version=store.current_version("acme"))
    assert _owners(catalog, searcher.search(vector=vector).points) == {"globex"}
    assert searcher.version == versions_after and searcher.config.partition == "globex"
    store.client.delete_collection(store.collection)


def test_another_instance_sees_the_re_created_store_within_its_staleness_bound(catalog, catalog_vectors, registry,
                                                                              make_config):
    now = [0.0]
    writer = TenantStore(catalog, collection="genseek_tenants_other", registry=registry, max_staleness=0)
    reader = TenantStore(catalog, collection="genseek_tenants_other", registry=registry, max_staleness=5,
                         clock=lambda: now[0])
    writer.put("acme", make_config("acme"), expected_version=0)
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=reader)
    vector = catalog_vectors[0][11]
    _recreate(writer)
    writer.put("acme", make_config("initech"), expected_version=0)
    assert _owners(catalog, searcher.search(vector=vector).points) == {"acme"}  # within the bound: cached
    now[0] = 6.0
    assert _owners(catalog, searcher.search(vector=vector).points) == {"initech"}
    writer.client.delete_collection(writer.collection)


def test_a_store_restored_to_an_older_state_is_followed(catalog, catalog_vectors, registry, make_config):
    store = TenantStore(catalog, collection="genseek_tenants_restored", registry=registry, max_staleness=0)
    searcher = _bound(catalog, store, "acme", make_config)
    store.put("acme", make_config("globex"), expected_version=1)
    vector = catalog_vectors[0][5]
    assert _owners(catalog, searcher.search(vector=vector).points) == {"globex"} and searcher.version == 2
    # restore a backup taken at version 1: version 2 and the head's move to it are gone
    store.client.delete(store.collection, [_point_id("acme", "v2")])
    store.client.set_payload(store.collection, {"version": 1}, points=[_point_id("acme", "head")])
    assert _owners(catalog, searcher.search(vector=vector).points) == {"acme"} and searcher.version == 1
    store.client.delete_collection(store.collection)


def test_a_re_created_store_without_the_tenant_fails_closed(catalog, catalog_vectors, registry, make_config):
    store = TenantStore(catalog, collection="genseek_tenants_gone", registry=registry, max_staleness=0)
    searcher = _bound(catalog, store, "acme", make_config)
    _recreate(store)
    store.put("globex", make_config("globex"), expected_version=0)
    with pytest.raises(UnknownTenantError, match="unknown tenant 'acme'"):
        searcher.search(vector=catalog_vectors[0][5])
    store.client.delete_collection(store.collection)


def test_the_async_twin_follows_a_re_created_store(catalog_vectors, registry, make_config):
    vectors, _ = catalog_vectors
    store = TenantStore(QdrantClient(":memory:"), registry=registry, max_staleness=0)
    store.put("acme", make_config("acme"), expected_version=0)

    async def scenario():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload={"tenant": ("acme", "globex")[i % 2]})
            for i in range(40)
        ])
        searcher = AsyncGenerativeSearch.for_tenant("acme", client=client, store=store, registry=registry)
        before = await searcher.search(vector=vectors[0])
        _recreate(store)
        store.put("acme", make_config("globex"), expected_version=0)
        after = await searcher.search(vector=vectors[0])
        return [p.id % 2 for p in before.points], [p.id % 2 for p in after.points]

    before, after = asyncio.run(scenario())
    assert before and set(before) == {0} and after and set(after) == {1}
