"""The Qdrant Edge adapter (``edge``): generative search inside the process, on the real engine.

Qdrant Edge (``pip install 'genseek[edge]'``, import ``qdrant_edge``) embeds Qdrant's engine: HNSW,
payload indexes, server-side fusion — without a server. Its client object is an
:class:`~genseek.adapters.edge_catalog.EdgeCatalog` (one shard in a directory, acting as one
collection)::

    from genseek.adapters.qdrant_edge import build_catalog
    catalog = build_catalog("/data/tracks", vectors, payloads, tenant_field="tenant")
    search = GenerativeSearch(catalog, catalog.name, encoder=None, sampler=..., tenant_field="tenant")

Request shapes mirror :mod:`genseek.adapters.qdrant` (one planned request per search):

* engine fusion — one ``QueryRequest`` with a ``Prefetch(Nearest(seed), filter)`` per seed and the
  fusion as its query: ``Fusion.Rrf(k, weights)``, ``Fusion.Dbsf()``, ``Mmr(centroid, lambda_ = 1 −
  diversity)``, ``Formula(Max($score[i]))``, or a single ``Nearest`` (centroid);
* with provenance or client-side fusion — one ``query_batch`` of the fused request and/or one
  plain request per seed (Edge plans the batch as a whole).

The scoped filter (caller AND tenant) is translated by :mod:`genseek.adapters.edge_filters` —
completely or not at all — and placed in every prefetch, every per-seed request and at the top.
Results come back as qdrant-client :class:`~qdrant_client.models.ScoredPoint`, so
:class:`~genseek.search.GenerativeSearch` runs unchanged.

Cluster-only request options: an Edge catalog is one shard with one replica, so
``consistency`` has nothing to choose from and ``shard_key_selector`` nothing to route to; both
are accepted (after the same value checks every backend applies) and ignored (the tenant *filter*
still scopes every request), which lets one tenant configuration drive embedded and clustered
deployments alike (``docs/scaling.md``). Caller filters are checked for empty or impossible parts
by :func:`genseek.request_checks.check_filter_tree` before this adapter sees them, as on every backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import threading
import uuid
from typing import Any

import numpy as np
from qdrant_client.http import models

from ..contract import Capabilities, Dbsf, EngineFusion, Max, Mmr, Nearest, Rrf, SeedSearch, SeedSearchResponse, VectorSpace
from ..errors import CollectionError, ConfigError
from .base import Adapter, AsyncAdapter
from .edge_catalog import (
    CatalogCorruptError,
    CatalogLockedError,
    EdgeCatalog,
    IndexStatus,
    StaleIndexError,
    StaleIndexWarning,
    build_catalog,
)
from .edge_filters import (
    UnsupportedFilterError,
    edge_module,
    to_edge_filter,
    to_edge_payload_selector,
    to_edge_vector_selector,
)
from .edge_migrate import catalog_from_qdrant, catalog_to_qdrant, iter_catalog_points

def edge_capabilities() -> Capabilities:
    """What Edge runs in one request: prefetch, (weighted) RRF with any k, DBSF, formulas, MMR.

    Each flag is backed by the shared adapter contract tests, which check that the engine gives
    the same ranking as genseek's client-side fuser on the same data.
    """
    return Capabilities.everything()


def edge_search_params(params: dict[str, Any]) -> Any:
    """``SeedSearch.params`` (checked by the planner: ``hnsw_ef``, ``exact``, ``indexed_only``) →
    ``qdrant_edge.SearchParams`` (``None`` when there are none)."""
    if not params:
        return None
    return edge_module().SearchParams(**params)


def edge_fusion_query(fusion: EngineFusion, n_seeds: int, using: str) -> Any:
    """Translate an in-engine fusion record (:mod:`genseek.contract`) into Edge's query DSL
    (MMR's ``diversity`` is Edge's ``1 − lambda_``)."""
    qe = edge_module()
    if isinstance(fusion, Rrf):
        weights = list(fusion.weights) if fusion.weights is not None else None
        return qe.Fusion.Rrf(k=fusion.k, weights=weights)
    if isinstance(fusion, Dbsf):
        return qe.Fusion.Dbsf()
    if isinstance(fusion, Mmr):
        return qe.Mmr(_floats(fusion.vector), lambda_=1.0 - fusion.diversity, candidates_limit=fusion.candidates, using=using)
    if isinstance(fusion, Max):
        expr = qe.Expression
        names = [f"$score[{i}]" for i in range(n_seeds)]
        return qe.Formula(expr.Max([expr.Variable(name) for name in names]), defaults=dict.fromkeys(names, fusion.floor))
    if isinstance(fusion, Nearest):
        return qe.Query.Nearest(_floats(fusion.vector), using=using)
    raise TypeError(f"unknown engine fusion record {type(fusion).__name__}")


def build_edge_requests(search: SeedSearch, vector_names: list[str]) -> tuple[Any | None, list[Any]]:
    """The fused Edge request (or ``None``) and the per-seed requests (empty unless ``per_seed``).

    The same filter object goes into every prefetch, every per-seed request and the top level.
    """
    qe = edge_module()
    using = search.vector_name or ""
    flt = to_edge_filter(search.filter)
    params = edge_search_params(search.params)
    fused = None
    engine = search.engine
    if engine is not None:
        prefetches = None
        if engine.uses_prefetch:
            prefetches = [
                qe.Prefetch(limit=search.depth(row), query=qe.Query.Nearest(_floats(seed), using=using), filter=flt, params=params)
                for row, seed in enumerate(search.seeds)
            ]
        fused = qe.QueryRequest(
            limit=search.limit,
            offset=search.offset or None,
            query=edge_fusion_query(engine, len(search.seeds), using),
            prefetches=prefetches,
            with_vector=to_edge_vector_selector(search.with_vectors, vector_names),
            with_payload=to_edge_payload_selector(search.with_payload),
            filter=flt,
            score_threshold=search.score_threshold,
            params=params if not engine.uses_prefetch else None,
        )
    per_seed: list[Any] = []
    if search.per_seed:
        seed_payload = to_edge_payload_selector(search.seed_payload)
        seed_vectors = to_edge_vector_selector(search.seed_vectors, vector_names)
        per_seed = [
            qe.QueryRequest(
                limit=search.depth(row),
                query=qe.Query.Nearest(_floats(seed), using=using),
                with_vector=seed_vectors,
                with_payload=seed_payload,
                filter=flt,
                params=params,
            )
            for row, seed in enumerate(search.seeds)
        ]
    return fused, per_seed


def to_scored_point(point: Any) -> models.ScoredPoint:
    """An Edge ``ScoredPoint`` as a qdrant-client ``ScoredPoint`` (UUID ids become strings)."""
    pid = point.id
    if isinstance(pid, uuid.UUID):
        pid = str(pid)
    return models.ScoredPoint(
        id=pid,
        version=int(point.version),
        score=float(point.score),
        payload=point.payload,
        vector=point.vector,
        order_value=point.order_value,
    )


def _floats(vector: Any) -> list[float]:
    return np.asarray(vector, dtype=np.float32).tolist()


class EdgeAdapter(Adapter):
    """Drives an :class:`EdgeCatalog` (a Qdrant Edge shard in a directory)."""

    id = "edge"
    description = "Qdrant Edge: the Qdrant engine embedded in-process (HNSW, payload indexes, fusion in the engine)"

    def __init__(self, client: Any) -> None:
        if not isinstance(client, EdgeCatalog):
            raise ConfigError(
                "the 'edge' adapter drives a genseek EdgeCatalog, not a bare qdrant_edge.EdgeShard: open the "
                "directory with genseek.adapters.qdrant_edge.EdgeCatalog.open(path) (it records the vectors, "
                "tenant field and index state genseek needs)"
            )
        super().__init__(client)
        self.catalog: EdgeCatalog = client

    @classmethod
    def accepts(cls, client: Any) -> bool:
        if isinstance(client, EdgeCatalog):
            return True
        edge = sys.modules.get("qdrant_edge")  # a bare shard implies qdrant_edge is imported already
        return edge is not None and isinstance(client, edge.EdgeShard)

    def capabilities(self) -> Capabilities:
        return edge_capabilities()

    def _check_collection(self, collection: str) -> None:
        if collection != self.catalog.name:
            raise CollectionError(
                f"collection {collection!r} is not in this Edge catalog; the catalog at {self.catalog.path} is "
                f"{self.catalog.name!r} (one catalog = one collection)"
            )

    def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace:
        """The catalog's ``vector_name``, listing every vector of the catalog (``""``: unnamed)."""
        self._check_collection(collection)
        space = self.catalog.vector_space(vector_name)
        return dataclasses.replace(space, vectors=tuple(s.name or "" for s in self.catalog.vector_spaces))

    def run(self, search: SeedSearch) -> SeedSearchResponse:
        self._check_collection(search.collection)
        self.catalog.check_index()
        names = [s.name or "" for s in self.catalog.vector_spaces]
        fused, per_seed = build_edge_requests(search, names)
        shard = self.catalog.shard
        if fused is not None and not per_seed:
            return SeedSearchResponse(fused=[to_scored_point(p) for p in shard.query(fused)])
        qe = edge_module()
        requests = ([fused] if fused is not None else []) + per_seed
        lists = [[to_scored_point(p) for p in ranked] for ranked in shard.query_batch(qe.QueryBatchRequest(requests))]
        if fused is None:
            return SeedSearchResponse(fused=None, per_seed=lists)
        return SeedSearchResponse(fused=lists[0], per_seed=lists[1:] if search.per_seed else None)

    def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]:
        self._check_collection(collection)
        qe = edge_module()
        if not ids:
            return {}
        scope = models.Filter(must=[models.HasIdCondition(has_id=list(ids))] + ([filter] if filter is not None else []))
        name = vector_name or ""
        records, _ = self.catalog.shard.scroll(
            qe.ScrollRequest(limit=len(ids), filter=to_edge_filter(scope), with_payload=False, with_vector=[name])
        )
        out = {}
        for record in records:
            vector = record.vector
            if isinstance(vector, dict):
                vector = vector.get(name)
            if vector is not None:
                pid = str(record.id) if isinstance(record.id, uuid.UUID) else record.id
                out[pid] = np.asarray(vector, dtype=np.float32)
        return out


class AsyncEdgeAdapter(AsyncAdapter):
    """Asyncio twin of :class:`EdgeAdapter`: the same requests, run in a worker thread.

    Choose it explicitly — ``AsyncGenerativeSearch(catalog, ..., adapter="edge-async")`` — since the
    same :class:`EdgeCatalog` also drives the synchronous adapter. Calls are serialised by a lock
    (one Edge shard, used from one thread at a time), so the event loop never blocks on the engine.
    """

    id = "edge-async"
    description = "Qdrant Edge for AsyncGenerativeSearch (engine calls in a worker thread)"

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._sync = EdgeAdapter(client)
        self._lock = threading.Lock()

    @classmethod
    def accepts(cls, client: Any) -> bool:
        return EdgeAdapter.accepts(client)

    async def _call(self, fn: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def capabilities(self) -> Capabilities:
        return self._sync.capabilities()

    async def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace:
        return self._sync.vector_space(collection, vector_name)

    async def run(self, search: SeedSearch) -> SeedSearchResponse:
        return await self._call(self._sync.run, search)

    async def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]:
        return await self._call(self._sync.fetch_vectors, collection, vector_name, ids, filter)


__all__ = [
    "AsyncEdgeAdapter",
    "CatalogCorruptError",
    "CatalogLockedError",
    "EdgeAdapter",
    "EdgeCatalog",
    "IndexStatus",
    "StaleIndexError",
    "StaleIndexWarning",
    "UnsupportedFilterError",
    "build_catalog",
    "build_edge_requests",
    "catalog_from_qdrant",
    "catalog_to_qdrant",
    "iter_catalog_points",
    "edge_capabilities",
    "edge_fusion_query",
    "to_scored_point",
]
