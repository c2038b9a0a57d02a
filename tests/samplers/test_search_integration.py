"""The prior samplers inside GenerativeSearch: dimensions, text controls, refine with tenant scope."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, ConfigError, DimensionMismatchError, GenerativeSearch, InvalidRequestError
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.testkit import tiny_prior
from genseek.testing import HashingEncoder

TENANTS = ("acme", "globex", "initech")  # tests/conftest.py's catalog: tenant = TENANTS[id % 3]


@pytest.fixture(scope="module")
def prior_sampler() -> DiffusionSampler:
    return DiffusionSampler(tiny_prior(target_dim=32, query_dim=64, query_encoder="hashing"), device="cpu")


def make_search(catalog, sampler, **kwargs) -> GenerativeSearch:
    return GenerativeSearch(catalog, "items", encoder=HashingEncoder(), sampler=sampler, vector_name="dense", **kwargs)


def test_search_with_the_diffusion_prior(catalog, prior_sampler):
    search = make_search(catalog, prior_sampler)
    result = search.search("energetic rock", n_seeds=6, limit=5, seed=3, guidance=1.0, steps=6)
    assert result.seeds.shape == (6, 32) and len(result.points) == 5
    assert result.info["sampler"]["solver"] == "dpmpp_2m" and result.info["sampler"]["steps"] == 6
    again = search.search("energetic rock", n_seeds=6, limit=5, seed=3, guidance=1.0, steps=6)
    assert result.ids == again.ids and np.array_equal(result.seeds, again.seeds)


def test_text_negative_is_encoded_with_the_search_encoder(catalog, prior_sampler):
    search = make_search(catalog, prior_sampler)
    by_text = search.search("rock", n_seeds=4, seed=1, guidance=2.0, negative="live recording", steps=4)
    by_vector = search.search(
        "rock", n_seeds=4, seed=1, guidance=2.0, negative=HashingEncoder().encode("live recording"), steps=4
    )
    plain = search.search("rock", n_seeds=4, seed=1, guidance=2.0, steps=4)
    assert np.array_equal(by_text.seeds, by_vector.seeds)
    assert not np.allclose(by_text.seeds, plain.seeds)
    several = search.search("rock", n_seeds=2, seed=1, guidance=2.0, negative=["live", "recording"], steps=4)
    assert several.seeds.shape == (2, 32)


def test_dimension_and_encoder_checks(catalog):
    with pytest.raises(DimensionMismatchError, match="produces 48-d seeds"):
        make_search(catalog, DiffusionSampler(tiny_prior(target_dim=48, query_dim=64), device="cpu"))
    with pytest.raises(DimensionMismatchError, match="expects 16-d queries"):
        make_search(catalog, DiffusionSampler(tiny_prior(target_dim=32, query_dim=16), device="cpu"))
    with pytest.raises(ConfigError, match="encoder='e5'"):
        make_search(catalog, DiffusionSampler(tiny_prior(target_dim=32, query_dim=64, query_encoder="e5"), device="cpu"))


def test_refine_a_stored_point(catalog, catalog_vectors, prior_sampler):
    vectors, _ = catalog_vectors
    search = make_search(catalog, prior_sampler, tenant_field="tenant")
    point = 7  # tenant TENANTS[7 % 3] == "globex"
    same = search.refine(point_id=point, query="electric guitar", strength=0.0, tenant="globex", limit=3)
    assert same.ids[0] == point and same.seed_labels == (f"refined {point}",)
    np.testing.assert_allclose(same.seeds[0], vectors[point], atol=1e-6)
    edited = search.refine(point, "electric guitar", strength=0.6, tenant="globex", limit=5, guidance=1.0)
    assert edited.seeds.shape == (1, 32) and not np.allclose(edited.seeds[0], vectors[point], atol=1e-3)
    assert all(p.payload["tenant"] == "globex" for p in edited.points)
    # another tenant's point is "not found", and nothing leaks
    with pytest.raises(InvalidRequestError, match="not found .* for tenant 'acme'"):
        search.refine(point, "electric guitar", strength=0.5, tenant="acme")
    with pytest.raises(InvalidRequestError, match="not found"):
        search.refine(10_000_000, "electric guitar", strength=0.5, tenant="globex")
    with pytest.raises(InvalidRequestError, match="does not accept"):
        search.refine(point, "electric guitar", strength=0.5, tenant="globex", preset="quality")
    with pytest.raises(InvalidRequestError, match="tenant"):
        search.refine(point, "electric guitar", strength=0.5)
    first_order = search.refine(point, "electric guitar", strength=0.6, tenant="globex", limit=5, guidance=1.0, order=1)
    assert not np.allclose(first_order.seeds[0], edited.seeds[0])  # a refine control reaches the sampler


def test_refine_needs_a_refining_sampler(catalog):
    search = GenerativeSearch(catalog, "items", encoder=HashingEncoder(dim=32), sampler="identity", vector_name="dense")
    with pytest.raises(InvalidRequestError, match="cannot refine"):
        search.refine(1, "more guitar", strength=0.5)


def test_invalid_refine_reads_nothing(catalog, prior_sampler, monkeypatch):
    """Every check runs before the stored point is read: a refused request sends no request at all."""
    sent = []
    monkeypatch.setattr(catalog, "scroll", lambda *a, **k: sent.append("scroll"))
    monkeypatch.setattr(catalog, "query_batch_points", lambda *a, **k: sent.append("batch"))
    monkeypatch.setattr(catalog, "query_points", lambda *a, **k: sent.append("query"))
    identity = GenerativeSearch(catalog, "items", encoder=HashingEncoder(dim=32), sampler="identity", vector_name="dense")
    with pytest.raises(InvalidRequestError, match="cannot refine"):
        identity.refine(1, "more guitar", strength=0.5)
    search = make_search(catalog, prior_sampler, tenant_field="tenant")
    with pytest.raises(InvalidRequestError, match="does not accept"):
        search.refine(7, "guitar", strength=0.5, tenant="globex", preset="quality")
    with pytest.raises(InvalidRequestError, match="limit"):
        search.refine(7, "guitar", strength=0.5, tenant="globex", limit=0)
    with pytest.raises(InvalidRequestError, match="filter"):
        search.refine(7, "guitar", strength=0.5, tenant="globex", filter={"must": []})
    assert sent == []


def test_refine_searches_one_seed_whatever_max_seeds(catalog, prior_sampler):
    search = make_search(catalog, prior_sampler, tenant_field="tenant", max_seeds=4)
    assert search.refine(7, "guitar", strength=0.0, tenant="globex", limit=2).ids[0] == 7


def test_async_refine_and_search(catalog_vectors, prior_sampler):
    vectors, _ = catalog_vectors

    async def run():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert(
            "items",
            [models.PointStruct(id=i, vector={"dense": v.tolist()}, payload={"tenant": TENANTS[i % 3]}) for i, v in enumerate(vectors[:300])],
        )
        search = AsyncGenerativeSearch(
            client, "items", encoder=HashingEncoder(), sampler=prior_sampler, vector_name="dense", tenant_field="tenant"
        )
        found = await search.search("rock", n_seeds=3, limit=4, tenant="acme", seed=0, steps=4, negative="live")
        same = await search.refine(3, "guitar", strength=0.0, tenant="acme", limit=2)
        with pytest.raises(InvalidRequestError, match="not found"):
            await search.refine(4, "guitar", strength=0.3, tenant="acme")
        return found, same

    found, same = asyncio.run(run())
    assert found.seeds.shape == (3, 32) and all(p.payload["tenant"] == "acme" for p in found.points)
    assert same.ids[0] == 3
