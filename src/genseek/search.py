"""``GenerativeSearch``: the public entry point.

One search = encode the query → sample seed vectors (plus, for an anchored search, the query's
direct catalog-space vector as the last seed, :mod:`genseek.anchor`) → one Qdrant round trip with
a prefetch per seed (caller filter AND tenant condition everywhere) → fuse (in the engine when the
backend can, otherwise on the client, same ranking either way) → points tagged with the seeds that
found them. On an HNSW backend a search fused on the client takes two round trips: the walks, then
every seed scored exactly against what they found (:mod:`genseek.pooling`).

Validation, tenant scoping and the fusion decision live in :class:`~genseek.planner.SearchPlanner`,
shared by the synchronous :class:`GenerativeSearch` and :class:`AsyncGenerativeSearch`, so both
behave the same; this module only runs the plans. ``for_tenant`` is installed on both by
:mod:`genseek.tenants` (which ``import genseek`` loads).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from qdrant_client.http import models

from .anchor import Anchor
from .contract import SearchRequest, VectorSpace
from .encoders.base import Encoder
from .errors import ConfigError
from .fusers.base import Fuser
from .planner import DEFAULT_ANCHOR_WEIGHT, DEFAULT_MAX_SEEDS, FusionMode, PreparedSearch, SearchPlanner
from .plugin.registry import Registry
from .pooling import empty_response
from .result import SearchResult
from .samplers.base import Sampler

_COMMON_DOC = """
    Args:
        client: a qdrant-client client (local mode, server, cluster), or any client a registered
            adapter accepts (e.g. a Qdrant Edge shard with the ``edge`` plugin).
        collection: the collection to search.
        encoder: encoder id (e.g. ``"hf-text"``) or instance; ``None`` for vector-only queries.
        sampler: sampler id or instance; ``"identity"`` is plain single-vector search.
        vector_name: the named vector to search (``None``: the collection's only dense vector).
        fuser: fuser id or instance: ``rrf``, ``dbsf``, ``centroid``, ``max``, ``round_robin``, ``mmr``.
        tenant_field: payload key holding the tenant; when set, every search must name a tenant
            and can only ever return that tenant's points.
        max_seeds: the largest ``n_seeds`` a request may ask for.
        fusion: ``auto``: on the client when ``provenance`` is on (the per-seed lists it needs
            are then fetched anyway, so one batch of n per-seed requests is the cheapest plan),
            otherwise in the engine when the backend supports the fuser; ``engine`` (error if
            unsupported) or ``client``. Every path returns the same ranking.
        provenance: tag points with the seeds that found them. With ``fusion="engine"`` this
            adds one per-seed request per seed to the same batched round trip.
        registry: component registry (default: the process-wide one).
        encoder_options / sampler_options / fuser_options: keyword options used when the
            component is given by id.
        anchor_encoder: encoder id or instance that embeds the query directly in the catalog's
            space (e.g. the text model a text catalog was built with). With one, searches are
            anchored by default: the query's direct vector is searched as one more seed — the
            last row of ``result.seeds``, labelled ``"anchor"`` — beside the generated seeds
            (see :mod:`genseek.anchor`). Its size must match the collection's vector
            (:class:`DimensionMismatchError` otherwise, once the collection's vector is known).
            When it is the search's ``encoder`` (the same instance, or the same id and options),
            the query is embedded once and that vector is the anchor.
        anchor_encoder_options: keyword options used when ``anchor_encoder`` is given by id.
        anchor_weight: default fusion weight of the anchor's list (finite, > 0); the generated
            seeds keep the weights the sampler gives them.
"""


class _SearchBase:
    """The constructor and component accessors shared by the sync and async searchers."""

    _asynchronous: bool = False
    _wrong_client = ""
    #: ``GenerativeSearch.for_tenant("acme", client=...)`` / ``search.for_tenant("acme")``: a searcher
    #: bound to a tenant's stored configuration; installed by :mod:`genseek.tenants` (``ForTenant``).
    for_tenant: ClassVar[Any]

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        encoder: Encoder | str | None,
        sampler: Sampler | str = "identity",
        vector_name: str | None = None,
        fuser: Fuser | str = "rrf",
        tenant_field: str | None = None,
        max_seeds: int = DEFAULT_MAX_SEEDS,
        fusion: FusionMode = "auto",
        provenance: bool = True,
        registry: Registry | None = None,
        adapter: str | None = None,
        encoder_options: Mapping[str, Any] | None = None,
        sampler_options: Mapping[str, Any] | None = None,
        fuser_options: Mapping[str, Any] | None = None,
        anchor_encoder: Encoder | str | None = None,
        anchor_encoder_options: Mapping[str, Any] | None = None,
        anchor_weight: float = DEFAULT_ANCHOR_WEIGHT,
    ) -> None:
        self.planner = SearchPlanner(
            collection,
            encoder=encoder,
            sampler=sampler,
            fuser=fuser,
            vector_name=vector_name,
            tenant_field=tenant_field,
            max_seeds=max_seeds,
            fusion=fusion,
            provenance=provenance,
            registry=registry,
            encoder_options=encoder_options,
            sampler_options=sampler_options,
            fuser_options=fuser_options,
            anchor_encoder=anchor_encoder,
            anchor_encoder_options=anchor_encoder_options,
            anchor_weight=anchor_weight,
        )
        self.adapter = self.planner.registry.adapter_for(client, adapter_id=adapter)
        if self.adapter.is_async != self._asynchronous:
            raise ConfigError(self._wrong_client)
        self._vector_name = vector_name
        self._bind()

    def _bind(self) -> None:
        """Prepare to read the collection's vector space (sync: now; async: on first use)."""
        raise NotImplementedError

    @property
    def encoder(self) -> Encoder | None:
        return self.planner.encoder

    @property
    def sampler(self) -> Sampler:
        return self.planner.sampler

    @property
    def fuser(self) -> Fuser:
        return self.planner.fuser

    @property
    def anchor_encoder(self) -> Encoder | None:
        return self.planner.anchoring.encoder

    @property
    def anchor_weight(self) -> float:
        """The default fusion weight of the anchor's list."""
        return self.planner.anchoring.weight


class GenerativeSearch(_SearchBase):
    __doc__ = "Generative search over one Qdrant collection (synchronous).\n" + _COMMON_DOC

    _wrong_client = "GenerativeSearch needs a synchronous client; use AsyncGenerativeSearch for async clients"

    def _bind(self) -> None:
        self.planner.bind_space(self.adapter.vector_space(self.planner.collection, self._vector_name))

    @property
    def vector_space(self) -> VectorSpace:
        assert self.planner.space is not None
        return self.planner.space

    def search(
        self,
        query: Any = None,
        *,
        vector: Any = None,
        n_seeds: int = 8,
        limit: int = 10,
        offset: int = 0,
        filter: models.Filter | None = None,
        tenant: str | int | None = None,
        seed: int | None = None,
        score_threshold: float | None = None,
        with_payload: Any = True,
        with_vectors: Any = False,
        candidates: int | None = None,
        shard_key_selector: Any = None,
        consistency: Any = None,
        timeout: int | None = None,
        search_params: Any = None,
        anchor: Any = None,
        anchor_weight: float | None = None,
        **sampler_controls: Any,
    ) -> SearchResult:
        """Run one generative search.

        Args:
            query: text, an image or an audio path/array, encoded with the search's encoder.
            vector: an already-encoded query vector (instead of ``query``).
            n_seeds: how many seed vectors to sample (1 … ``max_seeds``).
            limit / offset: page of fused results.
            filter: a :class:`qdrant_client.models.Filter`, applied to every seed and AND-ed with
                the tenant condition.
            tenant: the tenant value (required when the search has a ``tenant_field``).
            seed: random seed for the sampler; the same seed gives the same seeds.
            score_threshold: drop fused points scoring below it.
            with_payload / with_vectors: as in ``query_points``; ``with_vectors`` may only name
                vectors the collection has.
            candidates: per-seed list depth (default ``max(20, 2 × (limit + offset))``).
            shard_key_selector / consistency / timeout: passed through to Qdrant after checking
                (see :func:`check_request_options`); ``shard_key_selector`` is refused on
                qdrant-client local mode, which has no shards.
            search_params: index settings for every per-seed search and prefetch:
                ``{"hnsw_ef": 256}`` trades speed for recall, ``{"exact": True}`` bypasses the index;
                ``{"seed_pooling": False}`` or ``"shared"`` changes how an HNSW backend's walks are
                pooled and rescored (:mod:`genseek.pooling`).
            anchor: search the query's direct catalog-space vector beside the seeds. ``None``
                (default): anchored when the search has an ``anchor_encoder``; ``True``: embed
                ``query`` with the anchor encoder; ``False``: not anchored (the ranking of a
                search without anchor); a vector: that catalog-space vector is the anchor. The
                anchor is the last row of ``result.seeds`` (``result.anchor_index``), its hits
                are marked ``SeedHit.anchor``, and ``result.info["anchor"]`` gives its weight and
                source.
            anchor_weight: fusion weight of the anchor's list for this request (finite, > 0;
                default: the search's ``anchor_weight``); ignored when the request is not anchored.
            **sampler_controls: sampler-specific controls (guidance, negative prompt, …).

        Raises:
            InvalidRequestError: any invalid argument — nothing is sent to Qdrant. This includes a
                vector that is not one finite real vector (or all zeros under cosine/dot), a text
                query without a letter or digit, and a filter with an empty or impossible part
                (:func:`check_filter_tree`).
            DimensionMismatchError: the seeds or the anchor do not fit the collection's vector.
        """
        total = time.perf_counter()
        arguments = locals()  # this signature's keywords are SearchRequest's fields (tests hold them equal)
        request = SearchRequest.of({name: arguments[name] for name in SearchRequest.names()})
        query_vector, anchored = self.planner.encode(query, vector, anchor, anchor_weight)
        prepared = self.planner.prepare(
            query_vector, request, capabilities=self.adapter.capabilities(), controls=sampler_controls, anchor=anchored
        )
        return self._execute(prepared, score_threshold, total)

    def _execute(self, prepared: PreparedSearch, score_threshold: float | None, total: float) -> SearchResult:
        """Send the planned request (one round trip; two for a pooled search) and finish the result."""
        start = time.perf_counter()
        response = self.adapter.run(prepared.request)
        if prepared.pool is not None:  # the pooling pass ran; now the rescoring pass (genseek.pooling)
            second = self.planner.next_pass(prepared, response)
            response = self.adapter.run(second) if second is not None else empty_response(len(prepared.seeds))
        prepared.timings["qdrant_ms"] = (time.perf_counter() - start) * 1e3
        result = self.planner.finish(prepared, response, score_threshold)
        prepared.timings["total_ms"] = (time.perf_counter() - total) * 1e3
        return result

    def refine(
        self, point_id: Any, query: Any = None, *, vector: Any = None, strength: float = 0.5, **kwargs: Any
    ) -> SearchResult:
        """"More like this point, but …": refine a stored point's vector toward a new query, then search.

        The point's stored vector is read through the adapter with the tenant scope applied (a
        point of another tenant is "not found"), re-noised along the prior's deterministic ODE to
        the level given by ``strength`` and denoised under ``query`` (DDIM inversion,
        GD-Retriever §4.3). The result is searched as one seed.

        Args:
            point_id: id of the stored point to start from: an integer >= 0 or a UUID
                (:func:`check_point_id`).
            query / vector: the new condition ("with electric guitar"), as for :meth:`search`.
            strength: in ``[0, 1]``; 0 searches the stored vector itself, larger values move further.
            **kwargs: the other :meth:`search` arguments (``tenant``, ``filter``, ``limit`` …) and
                the sampler's refine controls (``guidance``, ``negative``, ``steps``, ``align``).
                ``anchor`` / ``anchor_weight`` mean what they mean for :meth:`search`
                (``anchor=True`` embeds ``query`` with the anchor encoder); the refined vector is
                then the one generated seed and the anchor the second row.

        Raises:
            InvalidRequestError: the sampler cannot refine, any argument is invalid (checked before
                the stored point is read: nothing is sent), or the point is not found (for this tenant).
        """
        total = time.perf_counter()
        request, controls = SearchRequest.split(kwargs, n_seeds=1)  # a refine searches one seed
        capabilities = self.adapter.capabilities()
        scope, point_id, strength = self.planner.refine_scope(point_id, strength, request, controls, capabilities)
        query_vector, anchored = self.planner.encode(query, vector, request.anchor, request.anchor_weight)
        controls = self.planner.encode_controls(controls)
        stored = self.adapter.fetch_vectors(self.planner.collection, self.vector_space.name, [point_id], scope)
        seeds = self.planner.refine_seeds(point_id, stored, query_vector, strength, request.tenant, controls)
        prepared = self.planner.prepare(
            query_vector, request, capabilities=capabilities, controls={}, seeds=seeds, anchor=anchored
        )
        return self._execute(prepared, request.score_threshold, total)


class AsyncGenerativeSearch(_SearchBase):
    __doc__ = "Generative search over one Qdrant collection (asyncio twin of GenerativeSearch).\n" + _COMMON_DOC

    _asynchronous = True
    _wrong_client = "AsyncGenerativeSearch needs an async client (AsyncQdrantClient); use GenerativeSearch"

    def _bind(self) -> None:
        self._bound = asyncio.Lock()

    async def _ensure_bound(self) -> None:
        if self.planner.space is None:
            async with self._bound:
                if self.planner.space is None:
                    self.planner.bind_space(await self.adapter.vector_space(self.planner.collection, self._vector_name))

    async def search(
        self,
        query: Any = None,
        *,
        vector: Any = None,
        n_seeds: int = 8,
        limit: int = 10,
        offset: int = 0,
        filter: models.Filter | None = None,
        tenant: str | int | None = None,
        seed: int | None = None,
        score_threshold: float | None = None,
        with_payload: Any = True,
        with_vectors: Any = False,
        candidates: int | None = None,
        shard_key_selector: Any = None,
        consistency: Any = None,
        timeout: int | None = None,
        search_params: Any = None,
        anchor: Any = None,
        anchor_weight: float | None = None,
        **sampler_controls: Any,
    ) -> SearchResult:
        """Same arguments and result as :meth:`GenerativeSearch.search`.

        Encoding and sampling (CPU-bound) run in a worker thread so the event loop stays free.
        """
        total = time.perf_counter()
        arguments = locals()  # the same keywords as GenerativeSearch.search (tests hold them equal)
        request, controls = SearchRequest.of({name: arguments[name] for name in SearchRequest.names()}), sampler_controls
        await self._ensure_bound()
        capabilities = await self.adapter.capabilities()

        def plan() -> PreparedSearch:
            query_vector, anchored = self.planner.encode(query, vector, request.anchor, request.anchor_weight)
            return self.planner.prepare(query_vector, request, capabilities=capabilities, controls=controls, anchor=anchored)

        prepared = await asyncio.to_thread(plan)
        return await self._execute(prepared, request.score_threshold, total)

    async def _execute(self, prepared: PreparedSearch, score_threshold: float | None, total: float) -> SearchResult:
        """Send the planned request (one round trip; two for a pooled search) and finish the result."""
        start = time.perf_counter()
        response = await self.adapter.run(prepared.request)
        if prepared.pool is not None:  # the pooling pass ran; now the rescoring pass (genseek.pooling)
            second = self.planner.next_pass(prepared, response)
            response = await self.adapter.run(second) if second is not None else empty_response(len(prepared.seeds))
        prepared.timings["qdrant_ms"] = (time.perf_counter() - start) * 1e3
        result = self.planner.finish(prepared, response, score_threshold)
        prepared.timings["total_ms"] = (time.perf_counter() - total) * 1e3
        return result

    async def refine(
        self, point_id: Any, query: Any = None, *, vector: Any = None, strength: float = 0.5, **kwargs: Any
    ) -> SearchResult:
        """Same arguments and result as :meth:`GenerativeSearch.refine` (the prior runs in a worker thread)."""
        total = time.perf_counter()
        await self._ensure_bound()
        request, controls = SearchRequest.split(kwargs, n_seeds=1)  # a refine searches one seed
        capabilities = await self.adapter.capabilities()
        scope, point_id, strength = self.planner.refine_scope(point_id, strength, request, controls, capabilities)

        def encode() -> tuple[np.ndarray, Anchor | None, dict[str, Any]]:
            query_vector, anchored = self.planner.encode(query, vector, request.anchor, request.anchor_weight)
            return query_vector, anchored, self.planner.encode_controls(controls)

        query_vector, anchored, controls = await asyncio.to_thread(encode)
        assert self.planner.space is not None
        stored = await self.adapter.fetch_vectors(self.planner.collection, self.planner.space.name, [point_id], scope)

        def plan() -> PreparedSearch:
            seeds = self.planner.refine_seeds(point_id, stored, query_vector, strength, request.tenant, controls)
            return self.planner.prepare(query_vector, request, capabilities=capabilities, controls={}, seeds=seeds,
                                        anchor=anchored)

        prepared = await asyncio.to_thread(plan)
        return await self._execute(prepared, request.score_threshold, total)


__all__ = ["DEFAULT_ANCHOR_WEIGHT", "AsyncGenerativeSearch", "GenerativeSearch", "SearchPlanner"]
