"""Adapters only translate: every part of a plan reaches each backend's call, and the sync and async
twins of an adapter send the same call for the same plan.

Together with ``tests/core/test_contract_request.py`` (every ``SearchRequest`` field shows in the
``SeedSearch`` both searchers hand their adapter) this covers a parameter end to end: it cannot be
dropped by the planner or by an adapter without a test failing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from genseek.adapters.qdrant import AsyncQdrantAdapter, QdrantAdapter
from genseek.contract import Centroid, Dbsf, Max, Mmr, Nearest, Rrf, SeedSearch

FLT = models.Filter(must=[models.FieldCondition(key="colour", match=models.MatchValue(value="red"))])
SEEDS = np.eye(3, 4, dtype=np.float32)
BASE = SeedSearch(
    collection="items", vector_name="dense", seeds=SEEDS, filter=None, limit=5, offset=0, candidates=10,
    engine=Rrf(k=2, weights=None), per_seed=True,
)

#: A changed value of every SeedSearch field (applied to BASE: engine fusion with per-seed lists).
CHANGES: dict[str, Any] = {
    "collection": "other",
    "vector_name": "other",
    "seeds": SEEDS[::-1].copy(),
    "filter": FLT,
    "limit": 6,
    "offset": 2,
    "candidates": 11,
    "engine": Dbsf(),
    "per_seed": False,
    "score_threshold": 0.3,
    "with_payload": ["rank"],
    "with_vectors": True,
    "per_seed_payload": True,
    "per_seed_vectors": True,
    "shard_key_selector": "shard-a",
    "consistency": "majority",
    "timeout": 7,
    "params": {"hnsw_ef": 9},
    "seed_candidates": (3, 4, 5),
}
#: What Qdrant Edge accepts and ignores: one shard, one replica, no request timeout (see
#: genseek.adapters.qdrant_edge); the collection is checked against the catalog's name instead.
EDGE_IGNORES = {"shard_key_selector", "consistency", "timeout"}

ENGINES = [
    Rrf(k=2, weights=None),
    Rrf(k=5, weights=None),
    Rrf(k=2, weights=(1.0, 2.0, 3.0)),
    Dbsf(),
    Mmr(vector=np.ones(4, np.float32), diversity=0.3, candidates=20),
    Max(floor=-1.0),
    Nearest(vector=np.ones(4, np.float32)),
]


def test_every_plan_field_is_listed():
    assert set(CHANGES) == {f.name for f in dataclasses.fields(SeedSearch)}


def _answers(method: str, kwargs: dict[str, Any]) -> Any:
    empty = models.QueryResponse(points=[])
    return empty if method == "query_points" else [empty] * len(kwargs["requests"])


class Recorder(QdrantClient):
    """Records each search call ``(method, collection, kwargs)`` and answers with empty lists."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.calls: list[tuple[str, str, str]] = []

    def _record(self, method: str, collection: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((method, collection, repr(sorted(kwargs.items()))))
        return _answers(method, kwargs)

    def query_points(self, collection_name, **kwargs):
        return self._record("query_points", collection_name, kwargs)

    def query_batch_points(self, collection_name, **kwargs):
        return self._record("query_batch_points", collection_name, kwargs)


class AsyncRecorder(AsyncQdrantClient):
    """The async twin of :class:`Recorder`."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.calls: list[tuple[str, str, str]] = []

    async def query_points(self, collection_name, **kwargs):
        self.calls.append(("query_points", collection_name, repr(sorted(kwargs.items()))))
        return _answers("query_points", kwargs)

    async def query_batch_points(self, collection_name, **kwargs):
        self.calls.append(("query_batch_points", collection_name, repr(sorted(kwargs.items()))))
        return _answers("query_batch_points", kwargs)


def qdrant_calls(plan: SeedSearch) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """The call the sync and the async qdrant-client adapter make for ``plan``."""
    sync_client, async_client = Recorder(), AsyncRecorder()
    QdrantAdapter(sync_client).run(plan)
    asyncio.run(AsyncQdrantAdapter(async_client).run(plan))
    assert len(sync_client.calls) == len(async_client.calls) == 1  # one round trip
    return sync_client.calls[0], async_client.calls[0]


@pytest.mark.parametrize("field", list(CHANGES))
def test_every_plan_field_reaches_the_qdrant_call_of_both_twins(field):
    base_sync, base_async = qdrant_calls(BASE)
    changed_sync, changed_async = qdrant_calls(dataclasses.replace(BASE, **{field: CHANGES[field]}))
    assert base_sync == base_async and changed_sync == changed_async  # the twins never drift
    assert changed_sync != base_sync, field


@pytest.mark.parametrize("shape", ["fused only", "fused and per-seed", "per-seed only", "one seed"])
def test_both_twins_make_the_same_call_for_every_request_shape(shape):
    plans = {
        "fused only": dataclasses.replace(BASE, per_seed=False),
        "fused and per-seed": BASE,
        "per-seed only": dataclasses.replace(BASE, engine=None, per_seed_payload=True),
        "one seed": dataclasses.replace(BASE, seeds=SEEDS[:1], engine=Nearest(vector=SEEDS[0]), per_seed=False),
    }
    sync_call, async_call = qdrant_calls(plans[shape])
    assert sync_call == async_call
    assert sync_call[0] == ("query_points" if shape in ("fused only", "one seed") else "query_batch_points")


def test_every_engine_record_translates_to_its_own_qdrant_query():
    calls = [qdrant_calls(dataclasses.replace(BASE, engine=engine, per_seed=False))[0] for engine in ENGINES]
    assert len(set(calls)) == len(ENGINES)


# -- Qdrant Edge ----------------------------------------------------------------------------------
def edge_requests(plan: SeedSearch) -> str:
    from genseek.adapters.qdrant_edge import build_edge_requests

    return repr(build_edge_requests(plan, ["dense", "other"]))


@pytest.mark.parametrize("field", sorted(set(CHANGES) - {"collection"}))
def test_every_plan_field_reaches_the_edge_requests(field):
    pytest.importorskip("qdrant_edge", reason="Qdrant Edge tests need `pip install 'genseek[edge]'`")
    base = dataclasses.replace(BASE, engine=Rrf(k=2, weights=(1.0, 1.0, 2.0)))
    changed = edge_requests(dataclasses.replace(base, **{field: CHANGES[field]}))
    if field in EDGE_IGNORES:
        assert changed == edge_requests(base), field
    else:
        assert changed != edge_requests(base), field


def test_every_engine_record_translates_to_its_own_edge_query():
    pytest.importorskip("qdrant_edge", reason="Qdrant Edge tests need `pip install 'genseek[edge]'`")
    requests = [edge_requests(dataclasses.replace(BASE, engine=engine, per_seed=False)) for engine in ENGINES]
    assert len(set(requests)) == len(ENGINES)


def test_centroid_is_a_nearest_search_of_its_vector():
    vector = np.ones(4, np.float32)
    centroid, nearest = Centroid(vector=vector), Nearest(vector=vector)
    assert (centroid.method, nearest.method) == ("centroid", "nearest") and not centroid.uses_prefetch
    plan = dataclasses.replace(BASE, per_seed=False)
    assert qdrant_calls(dataclasses.replace(plan, engine=centroid)) == qdrant_calls(dataclasses.replace(plan, engine=nearest))
