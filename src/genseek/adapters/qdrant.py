"""The qdrant-client adapter: local mode (``":memory:"`` / ``path=``), server and cluster.

The same code drives every deployment: local mode is qdrant-client's in-process engine behind the
same API, and servers are gated by the version ``client.info()`` reports.

Request shapes (one round trip per plan; :func:`plan_call` translates a plan into the call, and
the sync and async adapters both make exactly that call):

* engine fusion, no per-seed lists (and one-seed searches) — one ``query_points``, with a
  ``Prefetch`` per seed unless the fusion searches one vector;
* engine fusion with provenance — one ``query_batch_points``: the fused request followed by one
  plain request per seed (ids and scores only, to say which seeds found each point);
* client-side fusion — one ``query_batch_points`` of per-seed requests.

The caller's filter (already AND-ed with the tenant condition) goes into every prefetch, every
per-seed request and the top-level request.

Threads: qdrant-client's local mode has no locking of its own, so on a local-mode client both
adapters make every call under :func:`genseek.locking.local_client_lock` (one re-entrant lock per
client, shared with :class:`~genseek.tenants.store.TenantStore`); application code that uses the
same client from other threads must take that lock too. Local mode also has no shards: its
capabilities say ``shard_keys=False`` and genseek refuses ``shard_key_selector`` there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http import models

from ..contract import (
    DISTANCE_NAMES,
    Capabilities,
    Dbsf,
    EngineFusion,
    Max,
    Mmr,
    Nearest,
    QDRANT_DEFAULT_RRF_K,
    Rrf,
    SeedSearch,
    SeedSearchResponse,
    VectorSpace,
)
from ..errors import CollectionError
from ..locking import is_local_mode, local_client_lock
from .base import Adapter, AsyncAdapter


# -- translation, shared by the sync and async adapters -------------------------------------------
def engine_query(fusion: EngineFusion, n_seeds: int) -> models.Query:
    """Translate an in-engine fusion record (:mod:`genseek.contract`) into a qdrant-client query.

    Unweighted RRF with Qdrant's default ``k`` (2) is sent as the plain ``Fusion.RRF`` query, the
    form every Qdrant with prefetch understands; any other ``k`` or weights as ``Rrf(k, weights)``.
    """
    if isinstance(fusion, Rrf):
        if fusion.weights is None and fusion.k == QDRANT_DEFAULT_RRF_K:
            return models.FusionQuery(fusion=models.Fusion.RRF)
        weights = list(fusion.weights) if fusion.weights is not None else None
        return models.RrfQuery(rrf=models.Rrf(k=fusion.k, weights=weights))
    if isinstance(fusion, Dbsf):
        return models.FusionQuery(fusion=models.Fusion.DBSF)
    if isinstance(fusion, Mmr):
        return models.NearestQuery(
            nearest=_floats(fusion.vector), mmr=models.Mmr(diversity=fusion.diversity, candidates_limit=fusion.candidates)
        )
    if isinstance(fusion, Max):
        variables = [f"$score[{i}]" for i in range(n_seeds)]
        return models.FormulaQuery(formula=models.MaxExpression(max=variables), defaults=dict.fromkeys(variables, fusion.floor))
    if isinstance(fusion, Nearest):
        return models.NearestQuery(nearest=_floats(fusion.vector))
    raise TypeError(f"unknown engine fusion record {type(fusion).__name__}")


def build_requests(search: SeedSearch) -> tuple[models.QueryRequest | None, list[models.QueryRequest]]:
    """The fused request (or ``None``) and the per-seed requests (empty unless ``search.per_seed``)."""
    index_params = models.SearchParams(**search.params) if search.params else None
    fused = None
    engine = search.engine
    if engine is not None:
        prefetch = None
        if engine.uses_prefetch:
            prefetch = [
                models.Prefetch(
                    query=_floats(seed), using=search.vector_name, filter=search.filter, limit=search.depth(row),
                    params=index_params,
                )
                for row, seed in enumerate(search.seeds)
            ]
        fused = models.QueryRequest(
            prefetch=prefetch,
            query=engine_query(engine, len(search.seeds)),
            using=search.vector_name if isinstance(engine, (Mmr, Nearest)) else None,  # the query is a vector
            filter=search.filter,
            params=None if engine.uses_prefetch else index_params,
            limit=search.limit,
            offset=search.offset or None,
            score_threshold=search.score_threshold,
            with_payload=search.with_payload,
            with_vector=search.with_vectors,
            shard_key=search.shard_key_selector,
        )
    per_seed: list[models.QueryRequest] = []
    if search.per_seed:
        per_seed = [
            models.QueryRequest(
                query=_floats(seed),
                using=search.vector_name,
                filter=search.filter,
                params=index_params,
                limit=search.depth(row),
                with_payload=search.seed_payload,
                with_vector=search.seed_vectors,
                shard_key=search.shard_key_selector,
            )
            for row, seed in enumerate(search.seeds)
        ]
    return fused, per_seed


@dataclass(frozen=True)
class QdrantCall:
    """One qdrant-client call that runs a :class:`SeedSearch`: ``method`` with ``kwargs`` (after the
    collection name), and how to read its answer (:meth:`response`).

    A fused request alone is one ``query_points``; anything with per-seed lists is one
    ``query_batch_points`` (the fused request first, when there is one). The sync and async
    adapters make exactly this call, so both send the same requests.
    """

    method: Literal["query_points", "query_batch_points"]
    kwargs: dict[str, Any]
    fused: bool

    def response(self, answer: Any) -> SeedSearchResponse:
        """The :class:`SeedSearchResponse` of the call's answer."""
        if self.method == "query_points":
            return SeedSearchResponse(fused=answer.points)
        lists = [r.points for r in answer]
        if not self.fused:
            return SeedSearchResponse(fused=None, per_seed=lists)
        return SeedSearchResponse(fused=lists[0], per_seed=lists[1:] or None)


def plan_call(search: SeedSearch) -> QdrantCall:
    """Translate ``search`` into the one qdrant-client call that runs it (no I/O)."""
    fused, per_seed = build_requests(search)
    options = {"consistency": search.consistency, "timeout": search.timeout}
    if fused is not None and not per_seed:
        kwargs = dict(
            query=fused.query,
            prefetch=fused.prefetch,
            using=fused.using,
            query_filter=fused.filter,
            search_params=fused.params,
            limit=fused.limit,
            offset=fused.offset,
            score_threshold=fused.score_threshold,
            with_payload=fused.with_payload,
            with_vectors=fused.with_vector,
            shard_key_selector=search.shard_key_selector,
            **options,
        )
        return QdrantCall("query_points", kwargs, fused=True)
    requests = ([fused] if fused is not None else []) + per_seed
    return QdrantCall("query_batch_points", {"requests": requests, **options}, fused=fused is not None)


def vector_space_of(info: models.CollectionInfo, collection: str, vector_name: str | None) -> VectorSpace:
    """Resolve ``vector_name`` in a collection's config (``None``: the only dense vector).

    The returned space lists every vector of the collection (``""``: the unnamed one, then the
    named dense and sparse vectors) in :attr:`VectorSpace.vectors`.
    """
    vectors = info.config.params.vectors
    sparse = tuple(sorted(info.config.params.sparse_vectors or {}))
    if isinstance(vectors, models.VectorParams):
        if vector_name not in (None, ""):
            raise CollectionError(
                f"collection {collection!r} has a single unnamed vector, not {vector_name!r}; pass vector_name=None"
            )
        return VectorSpace(None, int(vectors.size), DISTANCE_NAMES[vectors.distance], ("", *sparse))
    named = dict(vectors or {})
    if vector_name is None:
        if len(named) != 1:
            raise CollectionError(
                f"collection {collection!r} has named vectors {sorted(named)}; pass vector_name= to choose one"
            )
        vector_name = next(iter(named))
    if vector_name not in named:
        raise CollectionError(
            f"collection {collection!r} has no vector named {vector_name!r}; it has {sorted(named) or 'no dense vectors'}"
        )
    params = named[vector_name]
    if params.multivector_config is not None:
        raise CollectionError(f"vector {vector_name!r} of {collection!r} is a multivector; genseek needs a dense vector")
    return VectorSpace(vector_name, int(params.size), DISTANCE_NAMES[params.distance], (*sorted(named), *sparse))


def ids_filter(ids: list[Any], scope: models.Filter | None) -> models.Filter:
    conditions: list[Any] = [models.HasIdCondition(has_id=list(ids))]
    if scope is not None:
        conditions.append(scope)
    return models.Filter(must=conditions)


def vectors_by_id(records: list[models.Record], vector_name: str | None) -> dict[Any, np.ndarray]:
    out = {}
    for record in records:
        vector = record.vector
        if isinstance(vector, dict):
            vector = vector.get(vector_name or "")
        if vector is not None:
            out[record.id] = np.asarray(vector, dtype=np.float32)
    return out


def _floats(vector: np.ndarray | None) -> list[float]:
    return np.asarray(vector, dtype=np.float32).tolist()


def _missing(collection: str) -> CollectionError:
    return CollectionError(f"collection {collection!r} does not exist; create it first (see `genseek migrate`)")


# -- adapters -----------------------------------------------------------------------------------
class QdrantAdapter(Adapter):
    """Drives a synchronous :class:`qdrant_client.QdrantClient` (local mode, server or cluster).

    On a local-mode client every call is made under the client's
    :func:`~genseek.locking.local_client_lock`, so one client can serve searches, refines and
    writes from many threads.
    """

    id = "qdrant"
    description = "qdrant-client: local mode, server or cluster (fusion in the engine when supported)"

    def __init__(self, client: QdrantClient) -> None:
        super().__init__(client)
        self._caps: Capabilities | None = None
        self._lock = local_client_lock(client)

    @classmethod
    def accepts(cls, client: Any) -> bool:
        return isinstance(client, QdrantClient)

    def capabilities(self) -> Capabilities:
        if self._caps is None:
            try:
                with self._lock:
                    version = self.client.info().version
            except Exception:  # noqa: BLE001 - a server that hides its version gets client-side fusion
                version = None
            self._caps = _for_local_mode(Capabilities.from_version(version), self.client)
        return self._caps

    def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace:
        with self._lock:
            if not self.client.collection_exists(collection):
                raise _missing(collection)
            info = self.client.get_collection(collection)
        return vector_space_of(info, collection, vector_name)

    def run(self, search: SeedSearch) -> SeedSearchResponse:
        call = plan_call(search)
        with self._lock:
            answer = getattr(self.client, call.method)(search.collection, **call.kwargs)
        return call.response(answer)

    def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]:
        with self._lock:
            records, _ = self.client.scroll(
                collection,
                scroll_filter=ids_filter(ids, filter),
                limit=len(ids),
                with_payload=False,
                with_vectors=[vector_name] if vector_name else True,
            )
        return vectors_by_id(records, vector_name)


class AsyncQdrantAdapter(AsyncAdapter):
    """Drives an :class:`qdrant_client.AsyncQdrantClient`; same requests as :class:`QdrantAdapter`.

    On a local-mode client (``AsyncQdrantClient(":memory:")``) each call is made under the client's
    :func:`~genseek.locking.local_client_lock`: its engine never suspends inside a call, so the
    thread lock is held only while one call runs, serialises event loops of different threads
    sharing the client, and needs no ``asyncio.Lock`` within one loop.
    """

    id = "qdrant-async"
    description = "qdrant-client AsyncQdrantClient (same requests as 'qdrant')"

    def __init__(self, client: AsyncQdrantClient) -> None:
        super().__init__(client)
        self._caps: Capabilities | None = None
        self._lock = local_client_lock(client)

    @classmethod
    def accepts(cls, client: Any) -> bool:
        return isinstance(client, AsyncQdrantClient)

    async def capabilities(self) -> Capabilities:
        if self._caps is None:
            try:
                with self._lock:
                    version = (await self.client.info()).version
            except Exception:  # noqa: BLE001
                version = None
            self._caps = _for_local_mode(Capabilities.from_version(version), self.client)
        return self._caps

    async def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace:
        with self._lock:
            if not await self.client.collection_exists(collection):
                raise _missing(collection)
            info = await self.client.get_collection(collection)
        return vector_space_of(info, collection, vector_name)

    async def run(self, search: SeedSearch) -> SeedSearchResponse:
        call = plan_call(search)
        with self._lock:
            answer = await getattr(self.client, call.method)(search.collection, **call.kwargs)
        return call.response(answer)

    async def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]:
        with self._lock:
            records, _ = await self.client.scroll(
                collection,
                scroll_filter=ids_filter(ids, filter),
                limit=len(ids),
                with_payload=False,
                with_vectors=[vector_name] if vector_name else True,
            )
        return vectors_by_id(records, vector_name)


def _for_local_mode(caps: Capabilities, client: Any) -> Capabilities:
    """``caps`` of a local-mode client: ``shard_keys=False`` (no shards to route to) and
    ``approximate=False`` (it scans exactly)."""
    return replace(caps, shard_keys=False, approximate=False) if is_local_mode(client) else caps
