"""Fixtures for the framework retrievers: a small text catalog of three shops in local mode.

Each point's payload holds the text and metadata in every framework's layout at once, so one
collection serves all three retrievers with their defaults: ``page_content`` / ``metadata``
(LangChain's Qdrant store), ``text`` + flat keys (LlamaIndex's), ``content`` / ``meta``
(qdrant-haystack's). The tenant field is the top-level ``shop``.
"""

from __future__ import annotations

import asyncio

import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient, models

import genseek.testing
from genseek import AsyncGenerativeSearch, GenerativeSearch
from genseek.plugin.registry import build_registry
from genseek.testing import FixedSeedsSampler, HashingEncoder

DIM = 32
SHOPS = ("acme", "globex", "initech")
GENRES = {
    "rock": ["punk rock with fast drums", "live stadium rock anthem", "garage rock riff", "hard rock ballad"],
    "folk": ["slow acoustic folk song", "folk fiddle dance", "quiet folk lullaby", "acoustic folk duet"],
    "jazz": ["calm piano jazz trio", "late night jazz saxophone", "swing jazz big band", "cool jazz trumpet"],
}
#: The seed texts of the fixed sampler: seed 0 reads the query as "rock", seed 1 as "folk".
SEED_TEXTS = ["rock", "folk"]


def _rows() -> list[tuple[int, str, str, str]]:
    rows, i = [], 0
    for shop in SHOPS:
        for genre, texts in GENRES.items():
            for text in texts:
                rows.append((i, f"{text} ({shop})", genre, shop))
                i += 1
    return rows


ROWS = _rows()


def payload(text: str, genre: str, shop: str, n: int) -> dict:
    return {
        "page_content": text, "metadata": {"genre": genre, "n": n},
        "text": text, "genre": genre, "n": n,
        "content": text, "meta": {"genre": genre, "shop": shop, "n": n},
        "shop": shop,
    }


def points(encoder: HashingEncoder) -> list[models.PointStruct]:
    return [
        models.PointStruct(id=i, vector={"dense": encoder.encode(text).tolist()}, payload=payload(text, genre, shop, i))
        for i, text, genre, shop in ROWS
    ]


VECTORS = {"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)}


def fill(client: QdrantClient, name: str = "docs") -> QdrantClient:
    encoder = HashingEncoder(DIM)
    client.create_collection(name, vectors_config=VECTORS)
    client.upsert(name, points(encoder))
    return client


@pytest.fixture(scope="session")
def encoder() -> HashingEncoder:
    return HashingEncoder(DIM)


@pytest.fixture(scope="session")
def docs_client() -> QdrantClient:
    """Local-mode client with collection ``docs`` (36 points, 12 per shop). Tests must not modify it."""
    return fill(QdrantClient(":memory:"))


@pytest.fixture(scope="session")
def seed_vectors(encoder):
    return encoder.encode(SEED_TEXTS)


def _make_search(client, encoder, seed_vectors, **options) -> GenerativeSearch:
    cls = AsyncGenerativeSearch if isinstance(client, AsyncQdrantClient) else GenerativeSearch
    kwargs = dict(encoder=encoder, sampler=FixedSeedsSampler(seed_vectors), vector_name="dense", tenant_field="shop",
                  anchor_encoder=encoder)
    kwargs.update(options)
    return cls(client, "docs", **kwargs)


@pytest.fixture(scope="session")
def search(docs_client, encoder, seed_vectors) -> GenerativeSearch:
    """Two fixed seeds ("rock", "folk") plus the query itself as the anchor; scoped by ``shop``."""
    return _make_search(docs_client, encoder, seed_vectors)


@pytest.fixture(scope="session")
def async_search(encoder, seed_vectors) -> AsyncGenerativeSearch:
    """The same catalog in an ``AsyncQdrantClient(":memory:")`` and its async searcher."""
    client = AsyncQdrantClient(":memory:")

    async def fill_async() -> None:
        await client.create_collection("docs", vectors_config=VECTORS)
        await client.upsert("docs", points(encoder))

    asyncio.run(fill_async())
    return _make_search(client, encoder, seed_vectors)


@pytest.fixture(scope="session")
def registry():
    """Built-ins plus the test kit (``hashing`` encoder, ``fixed`` sampler)."""
    return build_registry(extra_plugins=[genseek.testing])


@pytest.fixture
def tenant_config(seed_vectors):
    """A stored-configuration dict for ``docs`` (``for_tenant(config=...)``), partition ``acme``."""
    return {
        "collection": "docs", "vector_name": "dense", "tenant_field": "shop", "partition": "acme",
        "encoder": {"id": "hashing", "options": {"dim": DIM}},
        "sampler": {"id": "fixed", "options": {"seeds": seed_vectors.astype(float).round(6).tolist()}},
        "fuser": {"id": "rrf"},
        "search": {"n_seeds": 2, "limit": 5},
        "allowed_overrides": ["limit", "filter", "n_seeds"],
    }


def shop_is(value: str) -> models.FieldCondition:
    return models.FieldCondition(key="shop", match=models.MatchValue(value=value))


def genre_is(value: str) -> models.FieldCondition:
    return models.FieldCondition(key="genre", match=models.MatchValue(value=value))


#: Caller filters that try to reach another tenant; genseek AND-s each with shop == <bound tenant>.
ATTACKS = {
    "should-foreign": models.Filter(should=[shop_is("globex")]),
    "should-either": models.Filter(should=[shop_is("acme"), shop_is("globex")]),
    "must_not-own": models.Filter(must_not=[shop_is("acme")]),
    "nested-or": models.Filter(must=[models.Filter(should=[shop_is("globex"), genre_is("rock")])]),
    "min_should": models.Filter(
        min_should=models.MinShould(conditions=[shop_is("globex"), shop_is("initech")], min_count=1)
    ),
    "must-foreign": models.Filter(must=[shop_is("initech")]),
}


@pytest.fixture(params=sorted(ATTACKS))
def attack(request) -> models.Filter:
    """Each of :data:`ATTACKS` in turn."""
    return ATTACKS[request.param]


@pytest.fixture(scope="session")
def make_search(encoder, seed_vectors):
    """``make_search(client, **GenerativeSearch options)``: the :func:`search` configuration on another client."""
    return lambda client, **options: _make_search(client, encoder, seed_vectors, **options)


@pytest.fixture(scope="session")
def fill_docs():
    """``fill_docs(client)``: create and fill collection ``docs`` in ``client``."""
    return fill


@pytest.fixture(scope="session")
def shop_of():
    """``shop_of(point_id)``: the shop a catalog point belongs to."""
    shops = {i: shop for i, _, _, shop in ROWS}
    return lambda point_id: shops[int(point_id)]
