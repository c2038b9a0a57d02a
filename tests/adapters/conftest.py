"""Fixtures for the adapter contract suite: the same catalog in every backend.

``backend`` is parametrised over qdrant-client local mode and Qdrant Edge, each driven by its
synchronous and by its asynchronous adapter (``qdrant-async`` on an ``AsyncQdrantClient``,
``edge-async`` on the same catalog); all hold the session catalog of the root conftest (1,500
clustered 32-d vectors, named vector ``dense``, payload ``tenant``/``cluster``/``even``/``rank``)
plus a few extra payload fields for filters. :meth:`Backend.searcher` builds the matching searcher; an
async one is wrapped in :class:`SyncView` so every contract test runs unchanged on both twins.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient, models

from genseek.search import AsyncGenerativeSearch, GenerativeSearch

from genseek.testing import make_collection

TENANTS = ("acme", "globex", "initech")
GENRES = ("rock", "jazz", "pop", "folk")
COLLECTION = "items"


def payload_of(i: int, labels: np.ndarray) -> dict[str, Any]:
    """The payload of point ``i``: scalar, list, nested, geo, text, datetime and optional fields."""
    payload: dict[str, Any] = {
        "tenant": TENANTS[i % 3],
        "cluster": int(labels[i]),
        "even": i % 2 == 0,
        "rank": i,
        "price": round((i * 37 % 1000) / 10.0, 1),
        "genres": [GENRES[i % 4]] if i % 5 == 2 else [GENRES[i % 4], GENRES[(i // 4) % 4]],
        "title": f"track {i} {GENRES[i % 4]} {'live' if i % 5 == 0 else 'studio'}",
        "released": f"20{10 + i % 15:02d}-0{1 + i % 9}-15T00:00:00Z",
        "location": {"lon": -10.0 + (i % 40), "lat": 35.0 + (i % 25)},
        "offers": [{"shop": "a", "price": i % 7}, {"shop": "b", "price": i % 11}],
    }
    if i % 7 == 0:
        payload["mood"] = None
    elif i % 7 != 1:
        payload["mood"] = "calm" if i % 2 else "energetic"
    return payload


@dataclass
class Backend:
    name: str
    client: Any
    collection: str = COLLECTION
    #: the adapter to choose (``None``: the one the client implies)
    adapter: str | None = None
    #: the event loop an async backend's calls run on (``None``: a synchronous backend)
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def asynchronous(self) -> bool:
        return self.loop is not None

    def searcher(self, **kwargs: Any) -> Any:
        """``GenerativeSearch(client, collection, **kwargs)``, or for an async backend the
        ``AsyncGenerativeSearch`` twin behind a :class:`SyncView`."""
        if not self.asynchronous:
            return GenerativeSearch(self.client, self.collection, adapter=self.adapter, **kwargs)
        return SyncView(AsyncGenerativeSearch(self.client, self.collection, adapter=self.adapter, **kwargs), self.loop)


class SyncView:
    """A synchronous view of an async object (a searcher or its adapter) for the shared tests.

    Coroutine methods run to completion on ``loop``; called from inside that loop (a patched
    adapter method wrapping the original), they return the awaitable instead. Attributes set on
    the view are set on the object, and a plain function set in place of a coroutine method is
    wrapped so that the async caller can await it.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "adapter":
            return SyncView(value, self._loop)
        if not inspect.iscoroutinefunction(value):
            return value
        loop = self._loop

        def run(*args: Any, **kwargs: Any) -> Any:
            awaitable = value(*args, **kwargs)
            return awaitable if loop.is_running() else loop.run_until_complete(awaitable)

        return run

    def __setattr__(self, name: str, value: Any) -> None:
        if callable(value) and inspect.iscoroutinefunction(getattr(self._target, name, None)):
            function = value

            async def value(*args: Any, **kwargs: Any) -> Any:  # noqa: F811 - the awaitable replacement
                out = function(*args, **kwargs)
                return await out if inspect.isawaitable(out) else out

        setattr(self._target, name, value)


@pytest.fixture(scope="session")
def payloads(catalog_vectors) -> list[dict[str, Any]]:
    vectors, labels = catalog_vectors
    return [payload_of(i, labels) for i in range(len(vectors))]


@pytest.fixture(scope="session")
def local_backend(catalog_vectors, payloads) -> Backend:
    vectors, _ = catalog_vectors
    client = QdrantClient(":memory:")
    make_collection(client, COLLECTION, vectors, vector_name="dense", payload=lambda i: payloads[i])
    with warnings.catch_warnings():  # local mode: "payload indexes have no effect" (recorded in the schema anyway)
        warnings.simplefilter("ignore", UserWarning)
        client.create_payload_index(
            COLLECTION, "tenant", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
        )
    return Backend("qdrant-local", client)


@pytest.fixture(scope="session")
def edge_backend(catalog_vectors, payloads, tmp_path_factory) -> Backend:
    pytest.importorskip("qdrant_edge", reason="Qdrant Edge tests need `pip install 'genseek[edge]'`")
    from genseek.adapters.qdrant_edge import build_catalog

    vectors, _ = catalog_vectors
    catalog = build_catalog(
        tmp_path_factory.mktemp("edge") / "items",
        vectors,
        payloads,
        name=COLLECTION,
        tenant_field="tenant",
        payload_indexes={"cluster": "integer", "rank": "integer", "price": "float", "genres": "keyword",
                         "title": "text", "released": "datetime", "location": "geo", "even": "bool"},
        indexing_threshold_kb=64,  # small enough that the 1,500-point catalog gets a real HNSW index
        on_stale="error",
    )
    yield Backend("edge", catalog)
    catalog.close()


@pytest.fixture(scope="session")
def event_loop_for_async() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def async_local_backend(local_backend, event_loop_for_async) -> Backend:
    """The local backend's collection, copied point for point into an ``AsyncQdrantClient(":memory:")``."""
    source = local_backend.client
    info = source.get_collection(COLLECTION)
    records, _ = source.scroll(COLLECTION, limit=100_000, with_payload=True, with_vectors=True)
    client = AsyncQdrantClient(":memory:")

    async def build() -> None:
        await client.create_collection(COLLECTION, vectors_config=info.config.params.vectors)
        points = [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records]
        await client.upsert(COLLECTION, points=points)

    event_loop_for_async.run_until_complete(build())
    return Backend("qdrant-local-async", client, loop=event_loop_for_async)


@pytest.fixture(scope="session")
def async_edge_backend(edge_backend, event_loop_for_async) -> Backend:
    """The Edge catalog, driven by the ``edge-async`` adapter."""
    return Backend("edge-async", edge_backend.client, adapter="edge-async", loop=event_loop_for_async)


BACKENDS = {
    "qdrant-local": "local_backend",
    "edge": "edge_backend",
    "qdrant-local-async": "async_local_backend",
    "edge-async": "async_edge_backend",
}


@pytest.fixture(params=list(BACKENDS))
def backend(request) -> Backend:
    """Each contract test runs once per backend and twin (the Edge runs skip without qdrant-edge-py)."""
    return request.getfixturevalue(BACKENDS[request.param])


def assert_same_ranking(got: list[models.ScoredPoint], want: list[models.ScoredPoint], *, places: int = 4) -> None:
    """Same scores in the same order and, within each run of tied scores, the same ids.

    Engines break exact ties differently, so the order *inside* a tie is not compared; the last
    tie group may be cut at the limit differently, so only its size is compared.
    """
    got_scores = [round(p.score, places) for p in got]
    want_scores = [round(p.score, places) for p in want]
    assert got_scores == want_scores, f"scores differ:\n got  {got_scores}\n want {want_scores}"
    groups: dict[float, tuple[set, set]] = {}
    for g, w in zip(got, want):
        key = round(g.score, places)
        groups.setdefault(key, (set(), set()))
        groups[key][0].add(g.id)
        groups[key][1].add(w.id)
    last = want_scores[-1] if want_scores else None
    for key, (ids_got, ids_want) in groups.items():
        if key != last:
            assert ids_got == ids_want, f"ids with score {key} differ: {sorted(ids_got)} vs {sorted(ids_want)}"


__all__ = ["Backend", "SyncView", "assert_same_ranking"]


@pytest.fixture
def same_ranking():
    """:func:`assert_same_ranking` as a fixture (test modules here do not import conftest)."""
    return assert_same_ranking
