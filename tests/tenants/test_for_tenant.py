"""``GenerativeSearch.for_tenant``: bound searchers, isolation whatever the request carries."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, GenerativeSearch
from genseek.errors import ConfigError, InvalidRequestError
from genseek.tenants import TenantStore, UnknownTenantError

TENANTS = ("acme", "globex", "initech")
ALLOWED = ["n_seeds", "limit", "offset", "filter", "seed", "with_payload", "candidates", "score_threshold"]


@pytest.fixture(scope="module")
def tenant_store(catalog, registry, seeds):
    """Configurations for the three catalog tenants, in the catalog's own client."""
    store = TenantStore(catalog, collection="genseek_tenants_bound", registry=registry, max_staleness=0)
    for tenant in TENANTS:
        config = {
            "collection": "items",
            "vector_name": "dense",
            "partition": tenant,
            "sampler": {"id": "fixed", "options": {"seeds": seeds}},
            "search": {"n_seeds": 4, "limit": 10},
            "limits": {"max_n_seeds": 4, "max_limit": 30, "max_offset": 20, "max_candidates": 200},
            "allowed_overrides": ALLOWED,
        }
        store.put(tenant, config, expected_version=store.current_version(tenant))
    return store


def _owners(client, ids):
    return {r.id: r.payload["tenant"] for r in client.retrieve("items", ids, with_payload=["tenant"])}


def test_bound_searcher_returns_only_the_tenants_points(catalog, catalog_vectors, tenant_store, registry):
    searcher = GenerativeSearch.for_tenant("globex", client=catalog, store=tenant_store, registry=registry)
    result = searcher.search(vector=catalog_vectors[0][5], limit=25)
    assert len(result.points) == 25
    assert set(_owners(catalog, [p.id for p in result.points]).values()) == {"globex"}
    assert searcher.version == tenant_store.current_version("globex")


def test_for_tenant_on_an_instance_reuses_its_client_and_registry(catalog, catalog_vectors, tenant_store, registry):
    base = GenerativeSearch(catalog, "items", encoder=None, vector_name="dense", registry=registry)
    searcher = base.for_tenant("initech", store=tenant_store)
    result = searcher.search(vector=catalog_vectors[0][9])
    assert result.points and set(_owners(catalog, [p.id for p in result.points]).values()) == {"initech"}


def test_unknown_tenant_and_refused_overrides(catalog, catalog_vectors, tenant_store, registry):
    with pytest.raises(UnknownTenantError, match=r"unknown tenant 'umbrella'.*'acme'"):
        GenerativeSearch.for_tenant("umbrella", client=catalog, store=tenant_store, registry=registry)
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=tenant_store, registry=registry)
    vector = catalog_vectors[0][1]
    with pytest.raises(InvalidRequestError, match="tenant cannot be set"):
        searcher.search(vector=vector, tenant="globex")
    with pytest.raises(InvalidRequestError, match="n_seeds=5 is above"):
        searcher.search(vector=vector, n_seeds=5)
    with pytest.raises(InvalidRequestError, match="does not allow requests to set with_vectors"):
        searcher.search(vector=vector, with_vectors=True)
    with pytest.raises(ConfigError, match="needs client="):
        GenerativeSearch.for_tenant("acme", store=None)


def test_configuration_changes_reach_bound_searchers(catalog, catalog_vectors, registry, seeds):
    store = TenantStore(catalog, collection="genseek_tenants_changes", registry=registry, max_staleness=0)
    config = {"collection": "items", "vector_name": "dense", "partition": "acme", "search": {"limit": 5}}
    store.put("acme", config, expected_version=0)
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=store, registry=registry)
    assert len(searcher.search(vector=catalog_vectors[0][2]).points) == 5
    store.put("acme", {**config, "search": {"limit": 8}}, expected_version=1)
    assert len(searcher.search(vector=catalog_vectors[0][2]).points) == 8 and searcher.version == 2
    store.put("acme", {**config, "partition": "globex"}, expected_version=2)
    points = searcher.search(vector=catalog_vectors[0][2]).points
    assert set(_owners(catalog, [p.id for p in points]).values()) == {"globex"}


def test_async_twin(catalog_vectors, catalog, tenant_store, registry):
    vectors, labels = catalog_vectors

    async def scenario():
        client = AsyncQdrantClient(":memory:")
        await client.create_collection(
            "items", vectors_config={"dense": models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE)}
        )
        await client.upsert(
            "items",
            [
                models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload={"tenant": TENANTS[i % 3]})
                for i in range(300)
            ],
        )
        searcher = AsyncGenerativeSearch.for_tenant("acme", client=client, store=tenant_store, registry=registry)
        result = await searcher.search(vector=vectors[4], limit=12)
        owners = {r.id: r.payload["tenant"] for r in await client.retrieve("items", [p.id for p in result.points])}
        with pytest.raises(InvalidRequestError):
            await searcher.search(vector=vectors[4], tenant="globex")
        with pytest.raises(ConfigError, match="needs store="):
            AsyncGenerativeSearch.for_tenant("acme", client=client)
        return result, owners

    result, owners = asyncio.run(scenario())
    assert len(result.points) == 12 and set(owners.values()) == {"acme"}


# -- property: no request can reach another tenant's points ---------------------------------------
_values = st.sampled_from([*TENANTS, "umbrella"])
_conditions = st.one_of(
    st.builds(lambda v: models.FieldCondition(key="tenant", match=models.MatchValue(value=v)), _values),
    st.builds(lambda vs: models.FieldCondition(key="tenant", match=models.MatchAny(any=vs)), st.lists(_values, min_size=1, max_size=3)),
    st.builds(lambda vs: models.FieldCondition(key="tenant", match=models.MatchExcept(**{"except": vs})), st.lists(_values, min_size=1, max_size=2)),
    st.builds(lambda c: models.FieldCondition(key="cluster", range=models.Range(gte=c)), st.integers(0, 11)),
    st.builds(lambda b: models.FieldCondition(key="even", match=models.MatchValue(value=b)), st.booleans()),
    st.just(models.IsEmptyCondition(is_empty=models.PayloadField(key="tenant"))),
)


def _filters(inner):
    clauses = st.lists(inner, max_size=3).map(lambda xs: xs or None)
    return st.builds(lambda m, s, n: models.Filter(must=m, should=s, must_not=n), clauses, clauses, clauses)


_filter = st.one_of(st.none(), _filters(st.one_of(_conditions, _filters(_conditions))))
_overrides = st.fixed_dictionaries(
    {},
    optional={
        "n_seeds": st.integers(1, 4),
        "limit": st.integers(1, 30),
        "offset": st.integers(0, 20),
        "seed": st.integers(0, 5),
        "with_payload": st.sampled_from([True, False, ["cluster"], models.PayloadSelectorExclude(exclude=["tenant"])]),
        "candidates": st.integers(1, 200),
        "score_threshold": st.sampled_from([0.0, 0.5]),
    },
)
#: Requests that must be refused: the tenant itself, shard routing, keys not allowed, values above limits.
_refused = st.one_of(
    st.builds(lambda v: {"tenant": v}, _values),
    st.just({"shard_key_selector": "acme"}),
    st.just({"with_vectors": True}),
    st.builds(lambda n: {"n_seeds": n}, st.integers(5, 50)),
    st.builds(lambda n: {"limit": n}, st.integers(31, 1000)),
)


def test_a_bound_searcher_never_returns_another_tenants_point(catalog, catalog_vectors, tenant_store, registry):
    searchers = {t: GenerativeSearch.for_tenant(t, client=catalog, store=tenant_store, registry=registry) for t in TENANTS}
    outcomes = {"searched": 0, "refused": 0, "points": 0}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        tenant=st.sampled_from(TENANTS),
        flt=_filter,
        overrides=_overrides,
        refused=st.one_of(st.none(), _refused),
        row=st.integers(0, 1499),
    )
    def check(tenant, flt, overrides, refused, row):
        request = {**overrides, **(refused or {})}
        try:
            result = searchers[tenant].search(vector=catalog_vectors[0][row], filter=flt, **request)
        except InvalidRequestError:
            assert refused is not None, f"a valid request was refused: {request}"
            outcomes["refused"] += 1
            return
        assert refused is None, f"a request with {refused} was not refused"
        outcomes["searched"] += 1
        outcomes["points"] += len(result.points)
        assert all(owner == tenant for owner in _owners(catalog, [p.id for p in result.points]).values())
        for seed_points in result.by_seed:
            assert all(owner == tenant for owner in _owners(catalog, [p.id for p in seed_points]).values())

    check()
    assert outcomes["searched"] >= 10 and outcomes["refused"] >= 3 and outcomes["points"] > 0, outcomes


def test_binding_to_a_fixed_configuration_without_a_store(catalog, catalog_vectors, registry, make_config):
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, config=make_config("initech"), registry=registry)
    points = searcher.search(vector=catalog_vectors[0][3], limit=6).points
    assert len(points) == 6 and set(_owners(catalog, [p.id for p in points]).values()) == {"initech"}
    assert searcher.version == 0 and searcher.config.partition == "initech"
    with pytest.raises(ConfigError, match="exactly one of store="):
        GenerativeSearch.for_tenant("acme", client=catalog, config=make_config(), store=TenantStore(catalog))
    with pytest.raises(ConfigError, match="invalid tenant configuration"):
        GenerativeSearch.for_tenant("acme", client=catalog, config={"collection": "items"}, registry=registry)


def test_refine_is_tenant_bound_too(catalog, catalog_vectors, tenant_store, registry):
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=tenant_store, registry=registry)
    with pytest.raises(InvalidRequestError, match="tenant cannot be set"):
        searcher.refine(1, vector=catalog_vectors[0][1], tenant="globex")
    with pytest.raises(InvalidRequestError):  # the test kit's fixed sampler cannot refine: refused, nothing sent
        searcher.refine(0, vector=catalog_vectors[0][1])


def test_a_request_pairs_one_configuration_version_with_its_searcher(catalog, catalog_vectors, registry, make_config):
    """Another thread installing a new version mid-request must not mix that version's partition,
    filter or limits with the searcher (tenant field, collection) of the version this request took."""
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, config=make_config("acme"), registry=registry)
    other = GenerativeSearch.for_tenant("globex", client=catalog, config=make_config("globex"), registry=registry)
    refresh = searcher._refresh

    def racing_refresh():
        state = refresh()
        searcher._binding.state = other._binding.state  # a concurrent refresh replaced the state meanwhile
        return state

    searcher._refresh = racing_refresh
    points = searcher.search(vector=catalog_vectors[0][3], limit=6).points
    assert len(points) == 6 and set(_owners(catalog, [p.id for p in points]).values()) == {"acme"}


def test_a_stale_read_does_not_roll_a_bound_searcher_back(catalog, catalog_vectors, registry, seeds):
    store = TenantStore(catalog, collection="genseek_tenants_stale", registry=registry, max_staleness=0)
    config = {"collection": "items", "vector_name": "dense", "partition": "acme", "search": {"limit": 5}}
    store.put("acme", config, expected_version=0)
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, store=store, registry=registry)
    store.put("acme", {**config, "search": {"limit": 7}}, expected_version=1)
    assert len(searcher.search(vector=catalog_vectors[0][2]).points) == 7 and searcher.version == 2
    stale = store.version("acme", 1)
    searcher._binding.latest = lambda: stale  # e.g. an older cached copy (a read-through confirms version 2)
    assert len(searcher.search(vector=catalog_vectors[0][2]).points) == 7 and searcher.version == 2


def test_async_refine_is_tenant_bound(catalog_vectors, registry, tmp_path):
    from genseek.samplers.testkit import tiny_prior

    vectors, _ = catalog_vectors
    weights = tiny_prior(target_dim=vectors.shape[1], query_dim=vectors.shape[1]).save_pretrained(tmp_path / "prior")
    store = TenantStore(QdrantClient(":memory:"), registry=registry, max_staleness=0)
    config = {"collection": "items", "vector_name": "dense", "partition": "acme",
              "sampler": {"id": "diffusion", "weights": str(weights)}}
    store.put("acme", config, expected_version=0)

    async def scenario():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload={"tenant": TENANTS[i % 3]}) for i in range(30)
        ])
        searcher = AsyncGenerativeSearch.for_tenant("acme", client=client, store=store, registry=registry)
        same = await searcher.refine(3, vector=vectors[0], strength=0.0)
        with pytest.raises(InvalidRequestError, match="not found"):  # point 4 belongs to globex
            await searcher.refine(4, vector=vectors[0], strength=0.0)
        with pytest.raises(InvalidRequestError, match="tenant cannot be set"):
            await searcher.refine(4, vector=vectors[0], tenant="globex")
        return same

    same = asyncio.run(scenario())
    assert same.ids[0] == 3 and same.seed_labels == ("refined 3",)
