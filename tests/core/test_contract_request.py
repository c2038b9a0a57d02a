"""SearchRequest is the one list of search parameters: signatures, tenant overrides and defaults follow it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, GenerativeSearch, Sampler, SeedSet
from genseek.adapters.base import Capabilities, SeedSearch, SeedSearchResponse
from genseek.contract import SearchRequest
from genseek.samplers.base import SamplerInfo
from genseek.tenants import LIBRARY_DEFAULTS
from genseek.tenants.model import FORBIDDEN_OVERRIDES, SEARCH_PARAMETERS

FLT = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
ANCHOR = np.linspace(-1.0, 1.0, 32).astype(np.float32)


@pytest.mark.parametrize("searcher", [GenerativeSearch, AsyncGenerativeSearch])
def test_both_signatures_are_the_contract_with_its_defaults(searcher):
    parameters = inspect.signature(searcher.search).parameters
    keywords = {name: p.default for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    keywords.pop("vector")
    assert keywords == SearchRequest.defaults()
    assert str(inspect.signature(searcher.search)) == str(inspect.signature(GenerativeSearch.search))


class NoisySampler(Sampler):
    """Seeds drawn from the request's generator, so ``seed=`` shows in the seeds."""

    id = "noisy"

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(self.id, target_dim=DIM)

    def sample(self, query, n, *, generator, **controls):
        return SeedSet(vectors=generator.standard_normal((n, DIM)).astype(np.float32))


#: A non-default value of every SearchRequest field, and how the planned request (as an adapter
#: receives it: ``SeedSearch``) shows it.
TENANT_FIELD, DIM = "tenant", 32
REACHES: dict[str, tuple[Any, Callable[[SeedSearch], bool]]] = {
    "n_seeds": (3, lambda r: len(r.seeds) == 4),  # 3 seeds + the anchor row
    "limit": (7, lambda r: r.limit == 7),
    "offset": (2, lambda r: r.offset == 2),
    "filter": (FLT, lambda r: FLT in r.filter.must),
    "tenant": ("globex", lambda r: any(getattr(c, "key", None) == TENANT_FIELD and c.match.value == "globex"
                                         for c in r.filter.must)),
    "seed": (5, lambda r: np.allclose(r.seeds[0], np.random.default_rng(5).standard_normal(DIM), atol=1e-6)),
    "score_threshold": (0.25, lambda r: r.score_threshold == 0.25),
    "with_payload": (["rank"], lambda r: r.with_payload == ["rank", TENANT_FIELD]),
    "with_vectors": (True, lambda r: r.with_vectors is True),
    "candidates": (33, lambda r: r.candidates == 33),
    "shard_key_selector": ("shard-a", lambda r: r.shard_key_selector == "shard-a"),
    "consistency": ("majority", lambda r: r.consistency == "majority"),
    "timeout": (9, lambda r: r.timeout == 9),
    "search_params": ({"hnsw_ef": 77}, lambda r: r.params == {"hnsw_ef": 77}),
    "anchor": (ANCHOR, lambda r: np.allclose(r.seeds[-1], ANCHOR)),
    "anchor_weight": (3.0, lambda r: r.engine.weights[-1] == 3.0),
}


def test_every_field_is_checked_below():
    assert set(REACHES) == set(SearchRequest.names())


def _searchers(catalog, async_catalog):
    caps = replace(Capabilities.everything(), shard_keys=True)
    common = dict(encoder=None, sampler=NoisySampler(), vector_name="dense", tenant_field=TENANT_FIELD,
                  provenance=False, fusion="engine")
    sync, asynchronous = GenerativeSearch(catalog, "items", **common), AsyncGenerativeSearch(async_catalog, "items", **common)
    sent: list[SeedSearch] = []

    def record(request):
        sent.append(request)
        return SeedSearchResponse(fused=[])

    async def record_async(request):
        return record(request)

    async def caps_async():
        return caps

    sync.adapter.run, sync.adapter.capabilities = record, lambda: caps
    asynchronous.adapter.run, asynchronous.adapter.capabilities = record_async, caps_async
    return sync, asynchronous, sent


@pytest.fixture
def async_catalog(catalog_vectors):
    vectors, _ = catalog_vectors
    client = AsyncQdrantClient(":memory:")

    async def fill():
        await client.create_collection("items", vectors_config={"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)})
        await client.upsert("items", points=models.Batch(ids=list(range(10)), vectors={"dense": vectors[:10].tolist()}))

    asyncio.run(fill())
    return client


@pytest.mark.parametrize("field", list(REACHES))
def test_every_field_reaches_both_adapters(field, catalog, async_catalog):
    """Each field set on a sync and an async search shows in the request their adapter receives."""
    sync, asynchronous, sent = _searchers(catalog, async_catalog)
    base = {"tenant": "acme", "anchor": np.ones(DIM, np.float32), "n_seeds": 2}  # needed by some checks
    value, reached = REACHES[field]
    kwargs = {**base, field: value}
    vector = np.ones(DIM, np.float32)
    sync.search(vector=vector, **kwargs)
    asyncio.run(asynchronous.search(vector=vector, **kwargs))
    assert len(sent) == 2
    for request, twin in zip(sent, ("sync", "async")):
        assert reached(request), (field, twin, request)
    sync.search(vector=vector, **base)
    assert not reached(sent[-1]), field  # each check tells the value set from the default


def test_tenant_overrides_and_defaults_derive_from_it():
    assert SEARCH_PARAMETERS | FORBIDDEN_OVERRIDES == set(SearchRequest.names())
    assert LIBRARY_DEFAULTS == {k: v for k, v in SearchRequest.defaults().items() if k in SEARCH_PARAMETERS}


def test_split_separates_sampler_controls_and_refuses_nothing_it_knows():
    request, controls = SearchRequest.split({"limit": 5, "guidance": 2.0, "negative": "live"}, n_seeds=1)
    assert (request.limit, request.n_seeds, request.offset) == (5, 1, 0)
    assert controls == {"guidance": 2.0, "negative": "live"}
    assert SearchRequest.split({"n_seeds": 4}, n_seeds=1)[0].n_seeds == 4  # the caller wins over a call default
    with pytest.raises(ValidationError):
        SearchRequest(limitt=5)
    with pytest.raises(ValidationError):
        request.limit = 3  # frozen
