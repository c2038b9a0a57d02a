"""Bad input is refused before anything is sent: every ``search`` / ``refine`` argument, sync and async.

Each case passes one wrong value for one argument and checks that a :class:`GenseekError` naming
that argument is raised while the recording client saw no request at all. Valid input of the
newly checked kinds (non-Latin queries, option values, complex filters) still works.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, GenerativeSearch, GenseekError, InvalidRequestError
from genseek.encoders.base import check_query_text
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.testkit import tiny_prior
from genseek.request_checks import check_filter_tree, check_point_id
from genseek.testing import FixedSeedsSampler, HashingEncoder

DIM = 32
GOOD = [0.1] * DIM


def _cond(key: str = "cluster", value: Any = 1) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


#: Wrong filters: each is a models.Filter the client would accept and then silently mis-handle
#: (or that only one backend refuses).
BAD_FILTERS = [
    models.Filter(must=[models.FieldCondition(key="cluster")]),  # nothing set
    models.Filter(must=[models.FieldCondition(key="", match=models.MatchValue(value=1))]),
    models.Filter(must=[models.FieldCondition(key="  ", match=models.MatchValue(value=1))]),
    models.Filter(should=[_cond(), models.Filter(must_not=[models.FieldCondition(key="rank")])]),  # nested
    models.Filter(must=[models.Filter(must=[models.Filter(should=[models.FieldCondition(key="x")])])]),
    models.Filter(min_should=models.MinShould(conditions=[_cond()], min_count=0)),
    models.Filter(min_should=models.MinShould(conditions=[_cond(), _cond("rank", 2)], min_count=3)),
    models.Filter(min_should=models.MinShould(conditions=[], min_count=1)),
    models.Filter(min_should=models.MinShould(conditions=[models.FieldCondition(key="rank")], min_count=1)),
    models.Filter(must=[models.FieldCondition(key="rank", range=models.Range())]),
    models.Filter(must=[models.FieldCondition(key="rank", range=models.Range(gt=float("nan")))]),
    models.Filter(must=[models.FieldCondition(key="rank", values_count=models.ValuesCount())]),
    models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key=""))]),
    models.Filter(must_not=[models.IsNullCondition(is_null=models.PayloadField(key=""))]),
    models.Filter(must=[models.HasIdCondition(has_id=[1, -4])]),
    models.Filter(must=[models.HasIdCondition(has_id=["not-a-uuid"])]),
    models.Filter(must=[models.HasVectorCondition(has_vector="sparse")]),
    models.Filter(must=[models.NestedCondition(nested=models.Nested(key="", filter=models.Filter(must=[_cond()])))]),
    models.Filter(must=[models.NestedCondition(
        nested=models.Nested(key="offers", filter=models.Filter(must=[models.FieldCondition(key="price")])))]),
]

#: (argument, wrong value) for the arguments every search and refine takes.
SHARED_CASES: list[tuple[str, Any]] = [
    *[("n_seeds", v) for v in (0, -1, 2.5, "3", True, None, 4)],
    *[("limit", v) for v in (0, -3, "10", 1.5, True, None)],
    *[("offset", v) for v in (-1, "0", 0.5, True)],
    *[("filter", v) for v in ({"must": []}, "rank > 3", 7, *BAD_FILTERS)],
    *[("tenant", v) for v in (None, ["acme"], "", True, 1.5, {"id": "acme"})],
    *[("seed", v) for v in (-3, "1", 1.5, True)],
    *[("score_threshold", v) for v in (float("nan"), float("inf"), "0.5", True, [0.5])],
    *[("with_payload", v) for v in ("tenant", 3, {"include": ["tenant"]}, [""], [3])],
    *[("with_vectors", v) for v in ("dense", ["nope"], [], [3], 1, {"dense": True})],
    *[("candidates", v) for v in (0, "20", 2.5, True)],
    *[("shard_key_selector", v) for v in ("acme", "", [], True, 1.5, {"a": 1}, [1.5])],
    *[("consistency", v) for v in ("strong", 0, -1, True, 1.5, {"x": 1}, [1])],
    *[("timeout", v) for v in (0, -5, "10", 2.5, True, [10])],
    *[("search_params", v) for v in ("fast", {"ef": 64}, {"hnsw_ef": True}, {"exact": "yes"}, [("hnsw_ef", 1)])],
    *[("anchor", v) for v in ("text", {"a": 1}, np.zeros(DIM), [np.nan] * DIM, np.ones((2, 2, DIM)),
                              np.ones(DIM) * (1 + 1j), [True] * DIM, np.ones(7), 3.0)],
    *[("anchor_weight", v) for v in (0, -1.0, float("nan"), "2", True)],
    ("guidance", 2.0),  # a sampler control the sampler does not take
]

#: (argument, wrong value) for the query of a search.
VECTOR_CASES: list[tuple[str, Any]] = [
    *[("vector", v) for v in (["0.1"] * DIM, {"a": 1.0}, np.ones(DIM) * (1 + 2j), np.zeros(DIM), [0] * DIM,
                              [np.nan] * DIM, [np.inf] + [0.0] * (DIM - 1), [], np.ones((2, 3, DIM)), 3.0,
                              [True] * DIM, [0.1] * (DIM - 1) + [None], "0.1 0.2", [[0.1] * DIM, [0.2] * 5],
                              [1e39] * DIM)],
]
TEXT_CASES: list[tuple[str, Any]] = [
    *[("query", v) for v in ("", "   ", "\t\n", "?!…", "...", "—", "。、！", "¿¡", "🎸🎸", 42, ["rock", "  "], [])],
]


def _case_id(case: tuple[str, Any]) -> str:
    name, value = case
    return f"{name}={type(value).__name__}:{str(value)[:20]}"


def _expect_refused(call, name: str, client) -> GenseekError:
    """``call()`` raises a GenseekError whose message names ``name``, and ``client`` saw no request."""
    with pytest.raises(GenseekError) as info:
        call()
    message = str(info.value)
    assert name in message, f"the error does not name {name!r}: {message}"
    assert client.sent == [], f"{name}: a request reached the client: {client.sent[:1]}"
    return info.value


# -- sync ---------------------------------------------------------------------------------------
@pytest.fixture
def searches(recorder, catalog_vectors):
    vectors, _ = catalog_vectors
    seeds = vectors[[1, 2, 3]]
    vector_search = GenerativeSearch(recorder, "items", encoder=None, sampler=FixedSeedsSampler(seeds),
                                     tenant_field="tenant", max_seeds=3, anchor_weight=2.0)
    text_search = GenerativeSearch(recorder, "items", encoder=HashingEncoder(dim=DIM), tenant_field="tenant",
                                   anchor_encoder=HashingEncoder(dim=DIM))
    vector_search.search(vector=GOOD, tenant="acme", n_seeds=3)  # warm: capabilities are read once
    assert recorder.sent, "the recording client records searches"
    recorder.sent.clear()
    return vector_search, text_search


@pytest.fixture(scope="module")
def prior() -> DiffusionSampler:
    return DiffusionSampler(tiny_prior(target_dim=DIM, query_dim=64, query_encoder="hashing"), device="cpu")


@pytest.fixture
def refiner(recorder, prior):
    search = GenerativeSearch(recorder, "items", encoder=HashingEncoder(), sampler=prior, tenant_field="tenant",
                              max_seeds=3)
    assert search.refine(7, "guitar", strength=0.0, tenant="globex", limit=2).ids[0] == 7
    recorder.sent.clear()
    return search


@pytest.mark.parametrize("case", SHARED_CASES + VECTOR_CASES, ids=_case_id)
def test_search_refuses_each_bad_argument_before_sending(searches, recorder, case):
    name, value = case
    kwargs: dict[str, Any] = {"vector": GOOD, "tenant": "acme", "n_seeds": 3, name: value}
    _expect_refused(lambda: searches[0].search(**kwargs), name, recorder)


@pytest.mark.parametrize("case", TEXT_CASES, ids=_case_id)
def test_search_refuses_empty_or_wordless_text_queries(searches, recorder, case):
    _, value = case
    _expect_refused(lambda: searches[1].search(value, tenant="acme"), "query", recorder)


def test_text_controls_are_checked_like_queries(recorder, prior):
    search = GenerativeSearch(recorder, "items", encoder=HashingEncoder(), sampler=prior, tenant_field="tenant")
    for negative in ("", "  ", "?!", ["live", "…"]):
        error = _expect_refused(lambda: search.search("rock", tenant="acme", negative=negative), "negative", recorder)
        assert isinstance(error, InvalidRequestError)


REFINE_CASES: list[tuple[str, Any]] = [
    *[("point_id", v) for v in (-1, True, 1.5, "not-a-uuid", "", None, [7], {"id": 7}, 2**64, np.bool_(True))],
    *[("strength", v) for v in (-0.1, 1.5, "0.5", True, float("nan"), None, [0.5])],
]


@pytest.mark.parametrize(
    "case",
    REFINE_CASES + [c for c in SHARED_CASES if c[0] not in ("guidance", "n_seeds")] + [("preset", "quality")],
    ids=_case_id,
)
def test_refine_refuses_each_bad_argument_before_reading_the_point(refiner, recorder, case):
    name, value = case
    kwargs: dict[str, Any] = {"point_id": 7, "query": "guitar", "strength": 0.5, "tenant": "globex", name: value}
    _expect_refused(lambda: refiner.refine(**kwargs), name, recorder)


@pytest.mark.parametrize("case", VECTOR_CASES + TEXT_CASES, ids=_case_id)
def test_refine_refuses_bad_queries_before_reading_the_point(refiner, recorder, case):
    """Every wrong vector here is refused for its values or shape, whatever the prior's query size."""
    name, value = case
    vector = value if name == "vector" else None
    query = value if name == "query" else None
    _expect_refused(lambda: refiner.refine(7, query, vector=vector, strength=0.5, tenant="globex"), name, recorder)


# -- async --------------------------------------------------------------------------------------
class AsyncRecordingClient(AsyncQdrantClient):
    """An async local-mode client that keeps every data request it is sent (``sent``), then runs it."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.sent: list[tuple[str, Any]] = []

    async def query_points(self, collection_name, **kwargs):
        self.sent.append(("query_points", dict(kwargs)))
        return await super().query_points(collection_name, **kwargs)

    async def query_batch_points(self, collection_name, requests, **kwargs):
        self.sent.append(("query_batch_points", list(requests)))
        return await super().query_batch_points(collection_name, requests=requests, **kwargs)

    async def scroll(self, collection_name, **kwargs):
        self.sent.append(("scroll", dict(kwargs)))
        return await super().scroll(collection_name, **kwargs)


@pytest.fixture(scope="module")
def async_setup(catalog_vectors, prior):
    """An async recording client with the catalog, and warmed vector/text/refine searches on it."""
    vectors, _ = catalog_vectors
    tenants = ("acme", "globex", "initech")
    loop = asyncio.new_event_loop()
    client = AsyncRecordingClient()

    async def build():
        params = models.VectorParams(size=DIM, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": v.tolist()}, payload={"tenant": tenants[i % 3], "rank": i})
            for i, v in enumerate(vectors[:300])
        ])
        vector_search = AsyncGenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(vectors[[1, 2, 3]]),
                                              tenant_field="tenant", max_seeds=3)
        text_search = AsyncGenerativeSearch(client, "items", encoder=HashingEncoder(dim=DIM), tenant_field="tenant",
                                            anchor_encoder=HashingEncoder(dim=DIM))
        refiner = AsyncGenerativeSearch(client, "items", encoder=HashingEncoder(), sampler=prior, tenant_field="tenant",
                                        max_seeds=3)
        await vector_search.search(vector=GOOD, tenant="acme", n_seeds=3)
        await text_search.search("rock", tenant="acme")
        assert (await refiner.refine(7, "guitar", strength=0.0, tenant="globex", limit=2)).ids[0] == 7
        return vector_search, text_search, refiner

    searches = loop.run_until_complete(build())
    yield loop, client, searches
    loop.close()


@pytest.mark.parametrize("case", SHARED_CASES + VECTOR_CASES + TEXT_CASES, ids=_case_id)
def test_async_search_refuses_each_bad_argument_before_sending(async_setup, case):
    loop, client, (vector_search, text_search, _) = async_setup
    client.sent.clear()
    name, value = case
    if name == "query":
        call = lambda: loop.run_until_complete(text_search.search(value, tenant="acme"))  # noqa: E731
    else:
        kwargs = {"vector": GOOD, "tenant": "acme", "n_seeds": 3, name: value}
        call = lambda: loop.run_until_complete(vector_search.search(**kwargs))  # noqa: E731
    _expect_refused(call, name, client)


@pytest.mark.parametrize(
    "case", REFINE_CASES + [c for c in SHARED_CASES if c[0] not in ("guidance", "n_seeds")] + TEXT_CASES, ids=_case_id
)
def test_async_refine_refuses_each_bad_argument_before_reading_the_point(async_setup, case):
    loop, client, (_, _, refiner) = async_setup
    client.sent.clear()
    name, value = case
    kwargs: dict[str, Any] = {"point_id": 7, "query": "guitar", "strength": 0.5, "tenant": "globex", name: value}
    _expect_refused(lambda: loop.run_until_complete(refiner.refine(**kwargs)), name, client)


# -- what is still accepted ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["ロック", "موسيقى", "80s", "٣", "Ünïcödé", "  jazz!  ", "rock-'n'-roll"])
def test_text_in_any_script_with_a_letter_or_digit_is_searched(searches, recorder, text):
    assert check_query_text(text) == text
    result = searches[1].search(text, tenant="acme", limit=3)
    assert len(result.points) == 3 and recorder.sent


def test_valid_option_values_reach_the_request(searches, recorder, catalog_vectors):
    vector_search, _ = searches
    base = vector_search.search(vector=GOOD, tenant="acme", n_seeds=3).ids
    for consistency in ("majority", "quorum", "all", 2, models.ReadConsistencyType.ALL):
        recorder.sent.clear()
        result = vector_search.search(vector=GOOD, tenant="acme", n_seeds=3, consistency=consistency, timeout=5)
        assert result.ids == base
    result = vector_search.search(vector=GOOD, tenant="acme", n_seeds=3, with_vectors=["dense"],
                                  with_payload=("rank",), limit=3)
    assert all(set(p.vector) == {"dense"} and set(p.payload) == {"rank"} for p in result.points)
    result = vector_search.search(vector=np.asarray(GOOD, np.float64)[None, :], tenant="acme", n_seeds=3)
    assert result.ids == base  # a (1, d) float64 matrix is one vector


def test_shard_keys_reach_every_request_where_the_backend_routes_by_them(recorder, catalog_vectors):
    """Local mode refuses shard keys; a backend that routes by them gets one on every request."""
    vectors, _ = catalog_vectors
    for fusion, provenance in (("engine", False), ("engine", True), ("client", True)):
        search = GenerativeSearch(recorder, "items", encoder=None, sampler=FixedSeedsSampler(vectors[:3]),
                                  fusion=fusion, provenance=provenance, tenant_field="tenant")
        assert search.adapter.capabilities().shard_keys is False
        with pytest.raises(InvalidRequestError, match="shard_key_selector='acme' cannot be honoured.*local mode"):
            search.search(vector=vectors[0], n_seeds=3, tenant="acme", shard_key_selector="acme")
        search.adapter._caps = dataclasses.replace(search.adapter.capabilities(), shard_keys=True)
        recorder.sent.clear()
        assert search.search(vector=vectors[0], n_seeds=3, tenant="acme", shard_key_selector=["acme", 3]).points
        (method, sent), = recorder.sent
        keys = [sent["shard_key_selector"]] if method == "query_points" else [r.shard_key for r in sent]
        assert keys and all(key == ["acme", 3] for key in keys), (fusion, provenance)


def test_complex_valid_filters_are_searched(searches, recorder, catalog_vectors):
    vector_search, _ = searches
    flt = models.Filter(
        must=[models.Filter(should=[_cond("cluster", 1), _cond("cluster", 2)])],
        must_not=[models.IsNullCondition(is_null=models.PayloadField(key="rank")),
                  models.IsEmptyCondition(is_empty=models.PayloadField(key="cluster"))],
        min_should=models.MinShould(conditions=[_cond("even", True), models.FieldCondition(
            key="rank", range=models.Range(gte=0))], min_count=2),
    )
    check_filter_tree(flt)
    result = vector_search.search(vector=GOOD, tenant="acme", n_seeds=3, filter=flt, limit=20)
    assert result.points and all(p.payload["cluster"] in (1, 2) and p.payload["even"] for p in result.points)
    ids = [p.id for p in result.points[:3]]
    only = vector_search.search(vector=GOOD, tenant="acme", n_seeds=3, limit=20,
                                filter=models.Filter(must=[models.HasIdCondition(has_id=ids)]))
    assert sorted(only.ids) == sorted(ids)


def test_point_ids_are_normalised():
    value = uuid.UUID("5c56c793-69f3-4fbf-87e6-c4bf54c28c26")
    assert check_point_id(value) == str(value)
    assert check_point_id(value.hex) == str(value)  # 32 hex digits: the same point
    assert check_point_id(str(value).upper()) == str(value)
    assert check_point_id(np.int64(7)) == 7 and check_point_id(0) == 0


def test_refine_accepts_numpy_ids(refiner):
    assert refiner.refine(np.int64(7), "guitar", strength=0.0, tenant="globex", limit=1).ids == [7]


@pytest.fixture(scope="module")
def edge_search(tmp_path_factory, catalog_vectors):
    """A tenant-scoped search over a small Qdrant Edge catalog."""
    pytest.importorskip("qdrant_edge")
    from genseek.adapters.qdrant_edge import build_catalog

    vectors, _ = catalog_vectors
    payloads = [{"tenant": ("acme", "globex", "initech")[i % 3], "rank": i, "cluster": i % 5} for i in range(120)]
    path = tmp_path_factory.mktemp("edge") / "cat"
    with build_catalog(path, vectors[:120], payloads, tenant_field="tenant", name="items") as catalog:
        search = GenerativeSearch(catalog, "items", encoder=None, tenant_field="tenant")
        assert search.search(vector=vectors[0], tenant="acme", limit=3).points
        yield search


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=lambda f: str(f)[:40])
def test_bad_filters_are_refused_the_same_way_on_edge(edge_search, catalog_vectors, monkeypatch, flt):
    """The planner refuses them (a plain InvalidRequestError, not Edge's translation error); the
    adapter is never asked to run."""
    ran: list[Any] = []
    monkeypatch.setattr(edge_search.adapter, "run", lambda request: ran.append(request))
    with pytest.raises(InvalidRequestError) as info:
        edge_search.search(vector=catalog_vectors[0][0], tenant="acme", filter=flt)
    assert type(info.value) is InvalidRequestError and str(info.value).startswith("filter")
    assert ran == []
