"""Anchored generative search: the query's direct catalog-space vector searched beside the seeds."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from genseek import (
    AsyncGenerativeSearch,
    ConfigError,
    DimensionMismatchError,
    GenerativeSearch,
    GenseekError,
    InvalidRequestError,
)
from genseek.adapters.base import Capabilities
from genseek.search import DEFAULT_ANCHOR_WEIGHT
from genseek.scope import scoped_filter
from genseek.testing import FixedSeedsSampler, HashingEncoder, make_collection

TENANTS = ("acme", "globex", "initech")  # tests/conftest.py's catalog: tenant = TENANTS[id % 3]
EVEN = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
RRF_K = 2


def seeds_from(vectors, ids, jitter=0.05, seed=0):
    rng = np.random.default_rng(seed)
    s = vectors[ids] + jitter * rng.standard_normal((len(ids), vectors.shape[1])).astype(np.float32)
    return (s / np.linalg.norm(s, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def seeds(catalog_vectors):
    return seeds_from(catalog_vectors[0], [5, 400, 900])


@pytest.fixture(scope="module")
def anchor_vector(catalog_vectors):
    """A catalog-space vector near point 1203, far from the seeds' neighbourhoods."""
    return seeds_from(catalog_vectors[0], [1203], seed=1)[0]


def make(client, seeds, weights=None, **kwargs):
    kwargs.setdefault("vector_name", "dense")
    kwargs.setdefault("encoder", None)
    return GenerativeSearch(client, "items", sampler=FixedSeedsSampler(seeds, weights), **kwargs)


def plain_list(client, vector, limit, flt):
    return client.query_points("items", query=np.asarray(vector).tolist(), using="dense", limit=limit, query_filter=flt).points


# -- the anchor is one more seed row, in every request ---------------------------------------------
PATHS = [("client", True), ("auto", True), ("engine", False), ("engine", True)]


@pytest.mark.parametrize("fusion, provenance", PATHS)
def test_the_anchor_is_searched_in_every_request_with_the_tenant_scope_and_filter(recorder, seeds, anchor_vector, fusion, provenance):
    search = make(recorder, seeds, fusion=fusion, provenance=provenance, tenant_field="tenant")
    result = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, tenant="acme", filter=EVEN, limit=10)
    expected_filter = scoped_filter(EVEN, "tenant", "acme")
    searches = recorder.searches()
    assert len(recorder.sent) == 1  # still one round trip
    assert all(flt == expected_filter for _, _, flt in searches)  # tenant AND caller filter everywhere
    rows = [vector for where, vector, _ in searches if where in ("prefetch", "request")]
    prefetched = [vector for where, vector, _ in searches if where == "prefetch"]
    per_seed = [vector for where, vector, _ in searches if where == "request"]
    for group in (prefetched, per_seed):
        if group:  # each list of searched rows is the seeds, then the anchor
            assert len(group) == 4
            np.testing.assert_allclose(group[:3], seeds, atol=1e-6)
            np.testing.assert_allclose(group[3], anchor_vector, atol=1e-6)
    assert len(rows) == (8 if (fusion == "engine" and provenance) else 4)
    if fusion == "engine":  # the fused query weighs the anchor's prefetch (the last) with the anchor weight
        method, sent = recorder.sent[0]
        fused_query = sent["query"] if method == "query_points" else sent[0].query
        assert fused_query == models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=[1.0, 1.0, 1.0, DEFAULT_ANCHOR_WEIGHT]))
    assert result.fusion[0] == ("engine" if fusion == "engine" else "client")
    assert result.points and all(p.payload["tenant"] == "acme" and p.payload["even"] for p in result.points)
    assert all(p.payload["tenant"] == "acme" for group in result.by_seed for p in group)


def test_the_anchor_weight_reaches_the_engine(recorder, seeds, anchor_vector):
    search = make(recorder, seeds, weights=[1.0, 2.0, 0.5], fusion="engine", provenance=False, anchor_weight=3.0)
    result = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector)
    (method, sent), = recorder.sent
    assert method == "query_points"
    assert sent["query"] == models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=[1.0, 2.0, 0.5, 3.0]))
    assert result.fusion == ("engine", "rrf")
    np.testing.assert_allclose(result.seed_weights, [1.0, 2.0, 0.5, 3.0])
    assert result.info["anchor"] == {"weight": 3.0, "source": "vector"}

    recorder.sent.clear()
    result = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, anchor_weight=2.5)  # per request
    assert recorder.sent[0][1]["query"].rrf.weights == [1.0, 2.0, 0.5, 2.5]
    assert result.info["anchor"]["weight"] == 2.5


def test_default_anchor_weight(catalog, seeds, anchor_vector):
    assert DEFAULT_ANCHOR_WEIGHT > 0
    search = make(catalog, seeds)
    assert search.anchor_weight == DEFAULT_ANCHOR_WEIGHT
    result = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector)
    np.testing.assert_allclose(result.seed_weights, [1.0, 1.0, 1.0, DEFAULT_ANCHOR_WEIGHT])


def test_anchored_rrf_is_weighted_rrf_over_the_seed_and_anchor_lists(catalog, seeds, anchor_vector):
    weight, depth, limit = 4.0, 25, 15
    scoped = scoped_filter(None, "tenant", "globex")
    expected: dict = {}
    for vector, w in [(s, 1.0) for s in seeds] + [(anchor_vector, weight)]:
        for rank, point in enumerate(plain_list(catalog, vector, depth, scoped)):
            expected[point.id] = expected.get(point.id, 0.0) + 1.0 / ((rank + 1) / w + RRF_K - 1)
    for fusion, provenance in PATHS:
        result = make(catalog, seeds, fusion=fusion, provenance=provenance, tenant_field="tenant").search(
            vector=seeds[0], n_seeds=3, anchor=anchor_vector, anchor_weight=weight, tenant="globex",
            candidates=depth, limit=limit,
        )
        assert [p.score for p in result.points] == pytest.approx(sorted(expected.values(), reverse=True)[:limit])
        assert all(p.score == pytest.approx(expected[p.id]) for p in result.points), (fusion, provenance)
    # the head of the list is plain search's head: the anchor's top hit outranks everything
    assert result.points[0].id == plain_list(catalog, anchor_vector, 1, scoped)[0].id


@pytest.mark.parametrize("fuser", ["rrf", "dbsf", "max", "mmr"])
def test_engine_and_client_fusion_agree_with_an_anchor(catalog, seeds, anchor_vector, fuser):
    options = {"k": 60} if fuser == "rrf" else {}
    # Qdrant's DBSF has no weights, so an anchor of weight != 1 fuses on the client with dbsf
    engine = make(catalog, seeds, fuser=fuser, fuser_options=options, fusion="auto" if fuser == "dbsf" else "engine")
    client = make(catalog, seeds, fuser=fuser, fuser_options=options, fusion="client")
    for kwargs in ({"limit": 10}, {"limit": 5, "offset": 3}):
        a = engine.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, **kwargs)
        b = client.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, **kwargs)
        assert a.ids == b.ids, (fuser, kwargs)
        assert [p.score for p in a.points] == pytest.approx([p.score for p in b.points], rel=1e-4, abs=1e-6)
        assert a.fusion[0] == ("client" if fuser == "dbsf" else "engine") and b.fusion[0] == "client"


def test_without_weighted_rrf_the_anchor_fuses_on_the_client_with_the_same_ranking(catalog, seeds, anchor_vector):
    search = make(catalog, seeds, provenance=False)
    engine = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector)
    search.adapter._caps = Capabilities.from_version("1.16.0")  # RRF k, but no weighted RRF
    client = search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector)
    assert engine.fusion == ("engine", "rrf") and client.fusion == ("client", "rrf")
    assert engine.ids == client.ids
    # an anchor weighted like the seeds needs no weights: plain RRF in the engine
    assert search.search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, anchor_weight=1.0).fusion == ("engine", "rrf")


def test_round_robin_starts_with_the_anchor_and_centroid_leans_toward_it(catalog, seeds, anchor_vector):
    rr = make(catalog, seeds, fuser="round_robin").search(vector=seeds[0], n_seeds=3, anchor=anchor_vector, limit=8)
    anchor_top = [p.id for p in plain_list(catalog, anchor_vector, 2, None)]
    assert rr.ids[0] == anchor_top[0] and rr.ids[4] == anchor_top[1]  # first slot of every round of 4
    plain = make(catalog, seeds, fuser="centroid").search(vector=seeds[0], n_seeds=3, limit=5)
    leaning = make(catalog, seeds, fuser="centroid").search(
        vector=seeds[0], n_seeds=3, anchor=anchor_vector, anchor_weight=100.0, limit=5
    )
    assert leaning.fusion == ("engine", "centroid") and leaning.ids != plain.ids
    assert leaning.ids[0] == anchor_top[0]


# -- anchor=False, and searches without an anchor -------------------------------------------------
@pytest.mark.parametrize("fusion, provenance", PATHS)
def test_anchor_false_is_todays_ranking(catalog, seeds, fusion, provenance):
    common = {"fusion": fusion, "provenance": provenance, "encoder": HashingEncoder(dim=32)}
    unanchored = make(catalog, seeds, **common)
    anchored = make(catalog, seeds, anchor_encoder=HashingEncoder(dim=32), **common)
    expected = unanchored.search("acoustic guitar", n_seeds=3, limit=12, offset=2)
    off = anchored.search("acoustic guitar", n_seeds=3, limit=12, offset=2, anchor=False)
    on = anchored.search("acoustic guitar", n_seeds=3, limit=12, offset=2)  # default: anchored
    assert off.ids == expected.ids and [p.score for p in off.points] == [p.score for p in expected.points]
    assert [p.found_by for p in off.points] == [p.found_by for p in expected.points]
    assert off.anchor_index is None and off.seeds.shape == (3, 32) and "anchor" not in off.info
    assert off.fusion == expected.fusion and len(off.by_seed) == 3
    assert on.anchor_index == 3 and on.ids != off.ids
    assert expected.anchor_index is None and np.array_equal(expected.generated_seeds, expected.seeds)


# -- the anchor encoder ----------------------------------------------------------------------------
def test_anchor_true_embeds_the_query_with_the_anchor_encoder(catalog, seeds):
    anchor_encoder = HashingEncoder(dim=32)
    search = make(catalog, seeds, encoder=HashingEncoder(dim=32), anchor_encoder=anchor_encoder)
    assert search.anchor_encoder is anchor_encoder
    by_default = search.search("rock anthem", n_seeds=3, limit=10)
    explicit = search.search("rock anthem", n_seeds=3, limit=10, anchor=True)
    direct = anchor_encoder.encode("rock anthem")
    as_vector = search.search("rock anthem", n_seeds=3, limit=10, anchor=direct)
    for result in (by_default, explicit, as_vector):
        np.testing.assert_allclose(result.seeds[-1], direct, atol=1e-6)
        assert result.anchor_index == 3 and result.seed_labels == ("seed 0", "seed 1", "seed 2", "anchor")
    assert by_default.ids == explicit.ids == as_vector.ids
    assert by_default.info["anchor"] == {"weight": DEFAULT_ANCHOR_WEIGHT, "source": "encoder"}
    assert by_default.info["timings_ms"]["anchor_encode_ms"] >= 0
    assert as_vector.info["anchor"]["source"] == "vector" and "anchor_encode_ms" not in as_vector.info["timings_ms"]


def test_anchor_encoder_by_id_goes_through_the_registry(catalog, catalog_vectors, seeds):
    vectors, _ = catalog_vectors
    search = make(catalog, seeds, encoder="precomputed", anchor_encoder="precomputed", anchor_encoder_options={"dim": 32})
    assert search.anchor_encoder.id == "precomputed"
    result = search.search(vectors[77], n_seeds=3, tenant=None)
    np.testing.assert_allclose(result.seeds[-1], vectors[77])
    assert 77 in result.ids and result.points[[p.id for p in result.points].index(77)].found_by_anchor


def test_anchor_encoder_construction_errors(catalog, seeds):
    with pytest.raises(DimensionMismatchError, match=r"anchor encoder 'hashing' gives 16-d .* 'dense' of collection 'items' is 32-d"):
        make(catalog, seeds, anchor_encoder=HashingEncoder(dim=16))
    with pytest.raises(DimensionMismatchError, match="anchor encoder 'precomputed' gives 8-d"):
        make(catalog, seeds, anchor_encoder="precomputed", anchor_encoder_options={"dim": 8})
    with pytest.raises(ConfigError, match="anchor_encoder_options only apply when anchor_encoder is given by id"):
        make(catalog, seeds, anchor_encoder=HashingEncoder(dim=32), anchor_encoder_options={"dim": 32})
    with pytest.raises(ConfigError, match="anchor_encoder_options only apply with anchor_encoder"):
        make(catalog, seeds, anchor_encoder_options={"dim": 32})
    for bad in (0, -1.0, float("nan"), float("inf"), "4", True):
        with pytest.raises(ConfigError, match="anchor_weight must be a finite number > 0"):
            make(catalog, seeds, anchor_weight=bad)


# -- provenance --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fusion", ["auto", "engine"])
def test_provenance_marks_the_anchors_hits(catalog, seeds, anchor_vector, fusion):
    depth = 25
    result = make(catalog, seeds, fusion=fusion).search(
        vector=seeds[0], n_seeds=3, anchor=anchor_vector, limit=20, candidates=depth
    )
    anchor_ranks = {p.id: rank for rank, p in enumerate(plain_list(catalog, anchor_vector, depth, None))}
    assert result.anchor_index == 3 and result.seed_labels[-1] == "anchor"
    np.testing.assert_allclose(result.generated_seeds, seeds, atol=1e-6)
    np.testing.assert_allclose(result.seeds[result.anchor_index], anchor_vector, atol=1e-6)
    assert len(result.by_seed) == 4
    assert any(p.found_by_anchor for p in result.points) and not all(p.found_by_anchor for p in result.points)
    for point in result.points:
        assert point.found_by_anchor == (point.id in anchor_ranks)
        for hit in point.found_by:
            assert hit.anchor == (hit.seed == 3)
            if hit.anchor:
                assert hit.rank == anchor_ranks[point.id]
    anchor_group = result.by_seed[result.anchor_index]
    assert [p.id for p in anchor_group] == sorted((p.id for p in anchor_group), key=anchor_ranks.__getitem__)
    assert {p.id for p in anchor_group} == {p.id for p in result.points if p.found_by_anchor}


# -- bad anchors: clear errors, nothing sent ---------------------------------------------------------
@pytest.fixture
def guarded(catalog, seeds, monkeypatch):
    """Searches whose client fails the test if anything is sent or read."""

    def refuse(*args, **kwargs):
        raise AssertionError("a request reached Qdrant")

    plain = make(catalog, seeds, tenant_field="tenant")
    with_encoder = make(catalog, seeds, tenant_field="tenant", encoder=HashingEncoder(dim=32), anchor_encoder=HashingEncoder(dim=32))
    for name in ("query_points", "query_batch_points", "scroll", "retrieve"):
        monkeypatch.setattr(catalog, name, refuse)
    return {"plain": plain, "anchored": with_encoder}


@pytest.mark.parametrize(
    "searcher, kwargs, error, message",
    [
        ("plain", {"anchor": [np.nan] * 32}, InvalidRequestError, "anchor contains 32 NaN"),
        ("plain", {"anchor": [np.inf] + [0.0] * 31}, InvalidRequestError, "NaN or infinite"),
        ("plain", {"anchor": [0.1] * 16}, DimensionMismatchError, r"anchor has dimension 16 but vector 'dense' .* 32-d"),
        ("plain", {"anchor": np.ones((2, 32))}, InvalidRequestError, "single vector"),
        ("plain", {"anchor": np.ones((2, 3, 32))}, InvalidRequestError, "single vector"),
        ("plain", {"anchor": []}, InvalidRequestError, "empty"),
        ("plain", {"anchor": "rock"}, InvalidRequestError, "not text|got text"),
        ("plain", {"anchor": True}, InvalidRequestError, "has none; create it with anchor_encoder="),
        ("anchored", {"anchor": True}, InvalidRequestError, "passed vector= and no query; pass query="),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": 0}, InvalidRequestError, "anchor_weight must be a finite number > 0"),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": -2.0}, InvalidRequestError, "anchor_weight must be"),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": float("nan")}, InvalidRequestError, "anchor_weight must be"),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": float("inf")}, InvalidRequestError, "anchor_weight must be"),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": "4"}, InvalidRequestError, "anchor_weight must be"),
        ("plain", {"anchor": [0.1] * 32, "anchor_weight": True}, InvalidRequestError, "anchor_weight must be"),
        ("plain", {"anchor_weight": 0}, InvalidRequestError, "anchor_weight must be"),  # checked even when off
    ],
)
def test_bad_anchors_are_rejected_before_anything_is_sent(guarded, seeds, searcher, kwargs, error, message):
    with pytest.raises(error, match=message) as raised:
        guarded[searcher].search(vector=seeds[0], n_seeds=3, tenant="acme", **kwargs)
    assert isinstance(raised.value, GenseekError)


def test_default_anchor_is_off_for_a_vector_only_request(recorder, seeds):
    """anchor=None anchors a request only when there is a query for the anchor encoder to embed."""
    search = make(recorder, seeds, tenant_field="tenant", encoder=HashingEncoder(dim=32),
                  anchor_encoder=HashingEncoder(dim=32))
    result = search.search(vector=seeds[0], n_seeds=3, tenant="acme")
    assert result.anchor_index is None and "anchor" not in result.info
    assert len(result.seeds) == 3


# -- async twin ------------------------------------------------------------------------------------
def test_async_twin_matches_sync(catalog_vectors, seeds, anchor_vector):
    vectors, _ = catalog_vectors
    kwargs = {"encoder": HashingEncoder(dim=32), "sampler": FixedSeedsSampler(seeds), "vector_name": "dense",
              "anchor_encoder": HashingEncoder(dim=32), "tenant_field": "tenant"}

    async def run():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": v.tolist()}, payload={"tenant": TENANTS[i % 3]})
            for i, v in enumerate(vectors[:300])
        ])
        search = AsyncGenerativeSearch(client, "items", **kwargs)
        by_encoder = await search.search("rock anthem", n_seeds=3, limit=8, tenant="acme")
        by_vector = await search.search("rock anthem", n_seeds=3, limit=8, tenant="acme", anchor=anchor_vector, anchor_weight=2.0)
        off = await search.search("rock anthem", n_seeds=3, limit=8, tenant="acme", anchor=False)
        with pytest.raises(InvalidRequestError, match="passed vector="):
            await search.search(vector=seeds[0], n_seeds=3, tenant="acme", anchor=True)
        with pytest.raises(DimensionMismatchError, match="anchor has dimension 8"):
            await search.search("rock", n_seeds=3, tenant="acme", anchor=np.ones(8))
        wrong = AsyncGenerativeSearch(client, "items", **{**kwargs, "anchor_encoder": HashingEncoder(dim=16)})
        with pytest.raises(DimensionMismatchError, match="anchor encoder 'hashing' gives 16-d"):
            await wrong.search("rock", n_seeds=3, tenant="acme")  # the async twin learns the size on first use
        return by_encoder, by_vector, off

    by_encoder, by_vector, off = asyncio.run(run())
    sync_client = QdrantClient(":memory:")
    make_collection(sync_client, "items", vectors[:300], vector_name="dense", payload=lambda i: {"tenant": TENANTS[i % 3]})
    sync = GenerativeSearch(sync_client, "items", **kwargs)
    for got, request in [
        (by_encoder, {}),
        (by_vector, {"anchor": anchor_vector, "anchor_weight": 2.0}),
        (off, {"anchor": False}),
    ]:
        expected = sync.search("rock anthem", n_seeds=3, limit=8, tenant="acme", **request)
        assert got.ids == expected.ids and got.anchor_index == expected.anchor_index
        assert [p.found_by for p in got.points] == [p.found_by for p in expected.points]
        assert got.info.get("anchor") == expected.info.get("anchor")
    assert by_encoder.info["anchor"]["source"] == "encoder" and by_vector.info["anchor"] == {"weight": 2.0, "source": "vector"}
    assert off.anchor_index is None


# -- refine ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prior():
    from genseek.samplers.diffusion import DiffusionSampler
    from genseek.samplers.testkit import tiny_prior

    return DiffusionSampler(tiny_prior(target_dim=32, query_dim=32), device="cpu")


def test_refine_with_an_anchor(recorder, catalog_vectors, prior):
    vectors, _ = catalog_vectors
    search = GenerativeSearch(recorder, "items", encoder=HashingEncoder(dim=32), sampler=prior, vector_name="dense",
                              tenant_field="tenant", anchor_encoder=HashingEncoder(dim=32))
    point = 7  # globex
    anchored = search.refine(point, "electric guitar", strength=0.0, tenant="globex", limit=6)
    assert anchored.seed_labels == (f"refined {point}", "anchor") and anchored.anchor_index == 1
    np.testing.assert_allclose(anchored.generated_seeds, vectors[[point]], atol=1e-6)  # the one generated seed
    np.testing.assert_allclose(anchored.seeds[1], HashingEncoder(dim=32).encode("electric guitar"), atol=1e-6)
    assert anchored.info["anchor"]["source"] == "encoder" and "anchor_encode_ms" in anchored.info["timings_ms"]
    assert all(p.payload["tenant"] == "globex" for p in anchored.points)
    scoped = scoped_filter(None, "tenant", "globex")
    methods = [method for method, _ in recorder.sent]
    assert methods == ["scroll", "query_batch_points"]
    assert scoped in recorder.sent[0][1]["scroll_filter"].must  # the stored point is read in the tenant's scope
    searched = recorder.searches()
    assert len(searched) == 2 and all(flt == scoped for _, _, flt in searched)  # refined seed and anchor, both scoped

    unanchored = search.refine(point, "electric guitar", strength=0.0, tenant="globex", limit=6, anchor=False)
    assert unanchored.seed_labels == (f"refined {point}",) and unanchored.anchor_index is None
    assert unanchored.ids[0] == point

    by_vector = search.refine(point, "electric guitar", strength=0.0, tenant="globex", anchor=vectors[8], anchor_weight=2.0)
    np.testing.assert_allclose(by_vector.seeds[1], vectors[8])
    assert by_vector.info["anchor"] == {"weight": 2.0, "source": "vector"} and by_vector.ids[:2] != unanchored.ids[:2]


def test_a_refine_with_a_bad_anchor_reads_nothing(recorder, catalog_vectors, prior):
    vectors, _ = catalog_vectors
    search = GenerativeSearch(recorder, "items", encoder=HashingEncoder(dim=32), sampler=prior, vector_name="dense",
                              tenant_field="tenant", anchor_encoder=HashingEncoder(dim=32))
    bad = [
        ({"anchor": np.ones(5)}, DimensionMismatchError),
        ({"anchor": [np.nan] * 32}, InvalidRequestError),
        ({"anchor_weight": -1}, InvalidRequestError),
        ({"vector": vectors[0], "anchor": True}, InvalidRequestError),  # nothing for the anchor encoder to embed
    ]
    for kwargs, error in bad:
        query = None if "vector" in kwargs else "guitar"
        with pytest.raises(error):
            search.refine(7, query, strength=0.5, tenant="globex", **kwargs)
    assert recorder.sent == []


def test_async_refine_with_an_anchor(catalog_vectors, prior):
    vectors, _ = catalog_vectors

    async def run():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload={"tenant": TENANTS[i % 3]})
            for i in range(60)
        ])
        search = AsyncGenerativeSearch(client, "items", encoder=HashingEncoder(dim=32), sampler=prior,
                                       tenant_field="tenant", anchor_encoder=HashingEncoder(dim=32))
        result = await search.refine(3, "guitar", strength=0.0, tenant="acme", limit=5)
        with pytest.raises(InvalidRequestError, match="has none"):
            await AsyncGenerativeSearch(client, "items", encoder=HashingEncoder(dim=32), sampler=prior,
                                        tenant_field="tenant").refine(3, "guitar", tenant="acme", anchor=True)
        return result

    result = asyncio.run(run())
    assert result.seed_labels == ("refined 3", "anchor") and result.anchor_index == 1
    assert result.info["anchor"]["source"] == "encoder"
    assert all(p.payload["tenant"] == "acme" for p in result.points)
