"""``GenerativeSearch``: the public entry point.

One search = encode the query → sample seed vectors (plus, for an anchored search, the query's
direct catalog-space vector as the last seed, :mod:`genseek.anchor`) → one Qdrant round trip with
a prefetch per seed (caller filter AND tenant condition everywhere) → fuse (in the engine when the
backend can, otherwise on the client, same ranking either way) → points tagged with the seeds that
found them. On an HNSW backend a search fused on the client takes two round trips: the walks, then
every seed scored exactly against what they found (:mod:`genseek.pooling`).

Validation, tenant scoping and the fusion decision live in :class:`SearchPlanner`, shared by the
synchronous :class:`GenerativeSearch` and :class:`AsyncGenerativeSearch`, so both behave the same.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from qdrant_client.http import models

from .adapters.base import Capabilities, SeedSearch, SeedSearchResponse, VectorSpace
from .anchor import Anchor, Anchoring, with_anchor
from .encoders.base import Encoder, check_query_text, infer_modality
from .contract import SearchRequest
from .errors import ConfigError, DimensionMismatchError, InvalidRequestError, UnknownComponentError
from .fusers.base import EngineFusion, FusionContext, Fuser
from .plugin.registry import Registry, get_registry
from .pooling import POOLING_KEY, PoolPlan, empty_response
from .request_checks import (
    check_filter_tree,
    check_int,
    check_point_id,
    RequestOptions,
    check_request_options,
    check_search_params,
    check_strength,
)
from .result import SearchResult, attach_provenance
from .samplers.base import Sampler, SeedSet
from .tenancy import TenantGuard, check_filter, check_tenant, scoped_filter
from .tenants.bound import ForTenant
from .vectors import as_matrix, as_vector, check_direction

FusionMode = Literal["auto", "engine", "client"]

#: Default upper bound on ``n_seeds`` per request.
DEFAULT_MAX_SEEDS = 64
#: Default per-seed list depth: ``max(MIN_CANDIDATES, CANDIDATE_FACTOR * (limit + offset))``.
MIN_CANDIDATES = 20
CANDIDATE_FACTOR = 2
#: Default fusion weight of the anchor's list in weighted RRF (the generated seeds keep their own
#: weights, 1 by default): the value benchmarks/quality.py chooses for the demo's configuration
#: (8 seeds of the e5-small prior) on training-clip queries only.
DEFAULT_ANCHOR_WEIGHT = 4.0


@dataclass
class PreparedSearch:
    """A validated search, ready for an adapter, plus what is needed to finish it."""

    request: SeedSearch
    seeds: SeedSet
    fuser: Fuser
    context: FusionContext
    guard: TenantGuard
    strip_tenant_field: bool
    offset: int
    single: bool
    timings: dict[str, float]
    anchor: Anchor | None = None
    anchor_index: int | None = None
    pool: PoolPlan | None = None
    pooled: SeedSearchResponse | None = None


@dataclass(frozen=True)
class _Checked:
    """What :meth:`SearchPlanner._validate` returns: the caller's filter, the tenant, the options
    and the search parameters (:func:`check_search_params`)."""

    filter: models.Filter | None
    tenant: Any
    options: RequestOptions
    params: dict[str, Any]


def _resolve(
    registry: Registry, kind: str, value: Any, options: Mapping[str, Any] | None, name: str | None = None
) -> Any:
    if isinstance(value, str):
        return registry.create(kind, value, **dict(options or {}))
    if options:
        name = name or kind
        raise ConfigError(f"{name}_options only apply when {name} is given by id, not as an instance")
    return value


class SearchPlanner:
    """Validates requests and turns them into :class:`SeedSearch` plans (no I/O).

    Shared by the sync and async searchers; holds the resolved encoder, sampler and fuser.
    """

    def __init__(
        self,
        collection: str,
        *,
        encoder: Encoder | str | None,
        sampler: Sampler | str,
        fuser: Fuser | str,
        vector_name: str | None,
        tenant_field: str | None,
        max_seeds: int,
        fusion: FusionMode,
        provenance: bool,
        registry: Registry | None,
        encoder_options: Mapping[str, Any] | None,
        sampler_options: Mapping[str, Any] | None,
        fuser_options: Mapping[str, Any] | None,
        anchor_encoder: Encoder | str | None = None,
        anchor_encoder_options: Mapping[str, Any] | None = None,
        anchor_weight: float = DEFAULT_ANCHOR_WEIGHT,
    ) -> None:
        if not isinstance(collection, str) or not collection:
            raise ConfigError("collection must be a non-empty collection name")
        if fusion not in ("auto", "engine", "client"):
            raise ConfigError(f"fusion must be 'auto', 'engine' or 'client', got {fusion!r}")
        if not isinstance(max_seeds, int) or max_seeds < 1:
            raise ConfigError(f"max_seeds must be a positive integer, got {max_seeds!r}")
        if tenant_field is not None and (not isinstance(tenant_field, str) or not tenant_field):
            raise ConfigError(f"tenant_field must be a payload key, got {tenant_field!r}")
        registry = registry or get_registry()
        self.registry = registry
        self.collection = collection
        self.encoder: Encoder | None = None if encoder is None else _resolve(registry, "encoder", encoder, encoder_options)
        self.sampler: Sampler = _resolve(registry, "sampler", sampler, sampler_options)
        self.fuser: Fuser = _resolve(registry, "fuser", fuser, fuser_options)
        if anchor_encoder is None and anchor_encoder_options:
            raise ConfigError("anchor_encoder_options only apply with anchor_encoder=<id>")
        same_id = isinstance(anchor_encoder, str) and anchor_encoder == encoder
        if same_id and dict(anchor_encoder_options or {}) == dict(encoder_options or {}):
            anchor_encoder = self.encoder  # one instance: the query is embedded once for both uses
        elif anchor_encoder is not None:
            anchor_encoder = _resolve(registry, "encoder", anchor_encoder, anchor_encoder_options, "anchor_encoder")
        self.anchoring = Anchoring(anchor_encoder, anchor_weight)
        self.vector_name = vector_name
        self.tenant_field = tenant_field
        self.max_seeds = max_seeds
        self.fusion = fusion
        self.provenance = provenance
        self.space: VectorSpace | None = None
        if fusion == "client" and not self.fuser.client_side:
            raise ConfigError(f"fuser {self.fuser.id!r} only runs in the engine; use fusion='auto' or 'engine'")
        self._check_sampler_fits_encoder()

    def _check_sampler_fits_encoder(self) -> None:
        """A trained prior must be fed the vectors of the encoder it was trained on."""
        info = self.sampler.info
        if self.encoder is None:
            return
        encoder_info = self.encoder.info
        if info.query_dim is not None and encoder_info.dim is not None and info.query_dim != encoder_info.dim:
            raise DimensionMismatchError(
                f"sampler {self.sampler.id!r} expects {info.query_dim}-d queries but encoder {encoder_info.id!r} "
                f"gives {encoder_info.dim}-d; use the query encoder the prior was trained on"
                + (f" ({info.query_encoder!r})" if info.query_encoder else "")
            )
        if info.query_encoder is not None and _canonical(self.registry, info.query_encoder) != _canonical(
            self.registry, encoder_info.id
        ):
            raise ConfigError(
                f"sampler {self.sampler.id!r} was trained on queries from encoder {info.query_encoder!r} but this "
                f"search encodes with {encoder_info.id!r}; use encoder={info.query_encoder!r}"
            )

    def encode_controls(self, controls: dict[str, Any]) -> dict[str, Any]:
        """Encode text values of the sampler's ``query_controls`` (e.g. ``negative="live"``) with the search's encoder."""
        names = getattr(self.sampler, "query_controls", frozenset()) & controls.keys()
        if not names:
            return controls
        out = dict(controls)
        for name in names:
            value = controls[name]
            is_list = isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) for v in value)
            if not (isinstance(value, str) or is_list):
                continue
            if self.encoder is None:
                raise InvalidRequestError(
                    f"control {name!r} is text, but this search has no encoder to embed it; pass an encoded vector"
                )
            texts = list(value) if is_list else [value]
            for i, text in enumerate(texts):
                check_query_text(text, name=f"control {name!r}" + (f" item {i}" if is_list else ""))
            out[name] = self.encoder.encode(texts if is_list else value, modality="text")
        return out

    def refine_scope(
        self, point_id: Any, strength: Any, request: SearchRequest, controls: dict[str, Any],
        capabilities: Capabilities | None = None,
    ) -> tuple[models.Filter | None, int | str, float]:
        """Validate a refine request (sampler, point id, strength, controls, every search parameter)
        before anything is read.

        Returns the filter that limits reading the stored point to the tenant (``None`` without
        tenancy), the point id as Qdrant stores it (:func:`check_point_id`) and the strength.
        """
        if not getattr(self.sampler, "can_refine", False):
            raise InvalidRequestError(
                f"sampler {self.sampler.id!r} cannot refine a point; create the search with a generative sampler "
                "that supports it (e.g. sampler='diffusion')"
            )
        point_id = check_point_id(point_id)
        strength = check_strength(strength)
        if self.sampler.refine_controls is None:
            self.sampler.check_controls(controls)
        else:
            self.sampler.check_refine_controls(controls)
        checked = self._validate(request, capabilities)
        return scoped_filter(None, self.tenant_field, checked.tenant), point_id, strength

    def refine_seeds(
        self, point_id: Any, stored: Mapping[Any, np.ndarray], query_vector: np.ndarray, strength: Any, tenant: Any,
        controls: dict[str, Any],
    ) -> SeedSet:
        """Run the sampler's inversion-based refinement of a stored point's vector (one seed).

        The request was checked by :meth:`refine_scope`, and its text controls encoded by
        :meth:`encode_controls`, before the point was read.
        """
        wanted = str(point_id).lower()
        vector = next((v for k, v in stored.items() if str(k).lower() == wanted), None)
        if vector is None:
            scope = f" for tenant {tenant!r}" if self.tenant_field is not None else ""
            raise InvalidRequestError(
                f"point {point_id!r} was not found in collection {self.collection!r}{scope} "
                f"(or it has no vector {self.space.name or '(default)'!r})"  # type: ignore[union-attr]
            )
        start = time.perf_counter()
        refined = self.sampler.refine(vector, query_vector, strength, **controls)
        elapsed = (time.perf_counter() - start) * 1e3
        return SeedSet(
            vectors=np.asarray(refined, np.float32)[None, :],
            labels=(f"refined {point_id}",),
            info={"refined_from": point_id, "strength": strength, "refine_ms": elapsed},
        )

    def bind_space(self, space: VectorSpace) -> None:
        """Record the collection's vector space and check the sampler/encoder fit it."""
        target_dim = self.sampler.info.target_dim
        if target_dim is not None and target_dim != space.dim:
            raise DimensionMismatchError(
                f"sampler {self.sampler.id!r} produces {target_dim}-d seeds but vector "
                f"{space.name or '(default)'!r} of collection {self.collection!r} is {space.dim}-d; "
                "use weights trained for this collection's embedding space"
            )
        self.anchoring.check_space(space, self.collection)
        self.space = space

    # -- request validation ---------------------------------------------------------------------
    def encode(
        self, query: Any, vector: Any, anchor: Any = None, anchor_weight: Any = None
    ) -> tuple[np.ndarray, Anchor | None]:
        """Validate the query and the anchor arguments, then encode both (sends nothing).

        Returns the query vector and the request's :class:`~genseek.anchor.Anchor` (``None``: not
        anchored); see :mod:`genseek.anchor`.
        """
        assert self.space is not None, "bind_space() must run first"
        plan = None
        if (query is None) != (vector is None):  # otherwise encode_query names the problem
            plan = self.anchoring.plan(
                anchor, anchor_weight, query=query, vector=vector, space=self.space, collection=self.collection
            )
        query_vector = self.encode_query(query, vector)
        if plan is None:
            return query_vector, None
        same_encoder = query is not None and self.anchoring.encoder is self.encoder  # embed the query once
        return query_vector, self.anchoring.build(
            plan, self.space, self.collection, encoded=query_vector if same_encoder else None
        )

    def encode_query(self, query: Any, vector: Any) -> np.ndarray:
        """The query vector of a request: ``vector=`` checked, or ``query=`` checked and encoded.

        ``vector`` must be one finite real vector (or a ``(T, d)`` token sequence for samplers
        that condition on sequences), not text, a mapping, booleans or complex numbers. Text
        queries need a letter or digit (:func:`~genseek.encoders.base.check_query_text`). A vector
        that is all zeros is refused under cosine/dot (the collection's distance for ``vector=``,
        the encoder's for an encoded query): it has no direction.
        """
        if (query is None) == (vector is None):
            raise InvalidRequestError("pass exactly one of query= (text, image, audio) or vector= (an embedding)")
        if vector is not None:
            distance = self.space.distance if self.space is not None else "cosine"
            matrix = as_matrix(vector, name="vector")  # refuses non-numeric, complex, NaN/inf, empty, > 2-d
            if np.ndim(vector) == 2 and matrix.shape[0] > 1:  # a token sequence for sequence-conditioned samplers
                return check_direction(matrix, name="vector", distance=distance)
            return check_direction(as_vector(vector, name="vector"), name="vector", distance=distance)
        if self.encoder is None:
            raise InvalidRequestError("this search has no encoder; pass vector= or create it with encoder=<id>")
        items = query if isinstance(query, (list, tuple)) else [query]
        if not items:
            raise InvalidRequestError("query is an empty list; pass the text (or image, audio) to search for")
        for i, item in enumerate(items):
            if isinstance(item, str) and infer_modality(item) == "text":
                check_query_text(item, name="query" if items is not query else f"query[{i}]")
        encoded = self.encoder.encode(query)
        info = self.encoder.info
        return check_direction(encoded, name=f"query (as encoded by {info.id!r})", distance=info.distance)

    def prepare(
        self,
        query_vector: np.ndarray,
        request: SearchRequest,
        *,
        capabilities: Capabilities,
        controls: dict[str, Any],
        seeds: SeedSet | None = None,
        anchor: Anchor | None = None,
    ) -> PreparedSearch:
        """Validate ``request``, sample the seeds (unless ``seeds`` are given) and plan the search. Sends nothing.

        ``anchor`` (from :meth:`encode`, which reads ``request.anchor``/``anchor_weight``) is searched
        as the last seed row, with its own weight.
        """
        assert self.space is not None, "bind_space() must run first"
        checked = self._validate(request, capabilities)
        n_seeds, limit, offset, candidates = request.n_seeds, request.limit, request.offset, request.candidates
        score_threshold, seed = request.score_threshold, request.seed
        caller_filter, tenant_value, options = checked.filter, checked.tenant, checked.options
        timings: dict[str, float] = {}
        if seeds is None:
            self.sampler.check_controls(controls)
            controls = self.encode_controls(controls)
            start = time.perf_counter()
            seeds = self.sampler.sample(query_vector, n_seeds, generator=np.random.default_rng(seed), **controls)
            timings["sample_ms"] = (time.perf_counter() - start) * 1e3
        else:
            timings["sample_ms"] = float(seeds.info.get("refine_ms", 0.0))
        if not isinstance(seeds, SeedSet):
            raise InvalidRequestError(f"sampler {self.sampler.id!r} returned {type(seeds).__name__}, not a SeedSet")
        if seeds.dim != self.space.dim:
            raise DimensionMismatchError(
                f"sampler {self.sampler.id!r} produced {seeds.dim}-d seeds but vector "
                f"{self.space.name or '(default)'!r} of collection {self.collection!r} is {self.space.dim}-d"
            )
        if len(seeds) > self.max_seeds:
            raise InvalidRequestError(f"sampler {self.sampler.id!r} returned {len(seeds)} seeds, above max_seeds={self.max_seeds}")
        seeds, anchor_index = with_anchor(seeds, anchor)
        if anchor is not None and anchor.encode_ms is not None:
            timings["anchor_encode_ms"] = anchor.encode_ms

        depth = candidates or max(MIN_CANDIDATES, CANDIDATE_FACTOR * (limit + offset))
        context = FusionContext(
            seeds=seeds.vectors, weights=seeds.weights, limit=limit + offset, candidates=depth, distance=self.space.distance
        )
        guard = TenantGuard(self.tenant_field, tenant_value)
        payload_selector, strip = guard.payload_selector(options.with_payload)
        single = len(seeds) == 1
        params = dict(checked.params)
        engine = self._engine_fusion(context, capabilities, single)
        client_fusion = engine is None
        pooling = params.pop(POOLING_KEY, True)
        pooled = (  # genseek.pooling: where the per-seed lists are fused here, from an approximate index
            pooling is not False and client_fusion and not single and capabilities.approximate and not params.get("exact")
        )
        per_seed = client_fusion or (self.provenance and not single)
        request = SeedSearch(
            collection=self.collection,
            vector_name=self.space.name,
            seeds=seeds.vectors,
            filter=scoped_filter(caller_filter, self.tenant_field, tenant_value),
            limit=limit + offset if (client_fusion or single) else limit,
            offset=0 if (client_fusion or single) else offset,
            candidates=depth,
            engine=engine,
            per_seed=per_seed,
            score_threshold=score_threshold if not client_fusion else None,
            with_payload=payload_selector,
            with_vectors=options.with_vectors,
            per_seed_payload=client_fusion,
            per_seed_vectors=client_fusion and self.fuser.needs_vectors,
            shard_key_selector=options.shard_key_selector,
            consistency=options.consistency,
            timeout=options.timeout,
            params=params,
        )
        prepared = PreparedSearch(
            request, seeds, self.fuser, context, guard, strip, offset, single, timings, anchor, anchor_index
        )
        if pooled:
            prepared.pool = PoolPlan.plan(request, self.space.distance, pooling)
            prepared.request = prepared.pool.first()
        return prepared

    def next_pass(self, prepared: PreparedSearch, response: SeedSearchResponse) -> SeedSearch | None:
        """After the pooling pass of a pooled search (:mod:`genseek.pooling`): the rescoring request,
        or ``None`` when the walks found nothing. Updates ``prepared`` to the request that finishes it."""
        assert prepared.pool is not None and prepared.pooled is None, "next_pass() runs once, after the pooling pass"
        prepared.pooled = response
        second = prepared.pool.second(response)
        prepared.request = second if second is not None else prepared.pool.final
        return second

    def _validate(self, request: SearchRequest, capabilities: Capabilities | None = None) -> _Checked:
        """Check every search parameter of ``request`` (no I/O; the anchor's are checked by
        :meth:`encode`): counts, threshold, seed, index settings, the caller's filter (recursively,
        :func:`check_filter_tree`), the tenant and the pass-through options
        (:func:`check_request_options`; the shard key against ``capabilities``)."""
        n_seeds, limit, offset, candidates = request.n_seeds, request.limit, request.offset, request.candidates
        score_threshold, seed = request.score_threshold, request.seed
        check_int("n_seeds", n_seeds, low=1, high=self.max_seeds)
        check_int("limit", limit, low=1)
        check_int("offset", offset, low=0)
        if candidates is not None:
            check_int("candidates", candidates, low=1)
        if score_threshold is not None and (
            isinstance(score_threshold, bool)
            or not isinstance(score_threshold, (int, float))
            or not math.isfinite(score_threshold)
        ):
            raise InvalidRequestError(f"score_threshold must be a finite number, got {score_threshold!r}")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise InvalidRequestError(f"seed must be a non-negative integer, got {seed!r}")
        params = check_search_params(request.search_params)
        caller_filter = check_filter(request.filter)
        if caller_filter is not None:
            check_filter_tree(caller_filter, space=self.space)
        tenant_value = check_tenant(self.tenant_field, request.tenant)
        options = check_request_options(
            with_payload=request.with_payload, with_vectors=request.with_vectors,
            shard_key_selector=request.shard_key_selector, consistency=request.consistency, timeout=request.timeout,
            capabilities=capabilities, space=self.space,
        )
        return _Checked(caller_filter, tenant_value, options, params)

    def _engine_fusion(self, ctx: FusionContext, caps: Capabilities, single: bool) -> EngineFusion | None:
        if single:  # one seed: a plain nearest search, scores stay similarities
            return EngineFusion("centroid", vector=ctx.seeds[0])
        if self.fuser.client_side and (self.fusion == "client" or (self.fusion == "auto" and self.provenance)):
            # With provenance the per-seed lists are fetched anyway; fusing them on the client is
            # then strictly cheaper than a second, fused pass in the engine (n searches instead of
            # 2n; benchmarks/search_overhead.py) and gives the same ranking.
            return None
        engine = self.fuser.engine_fusion(ctx, caps)
        if engine is None and (self.fusion == "engine" or not self.fuser.client_side):
            raise InvalidRequestError(
                f"fuser {self.fuser.id!r} cannot run in this backend's engine (version "
                f"{'.'.join(map(str, caps.version)) if caps.version else 'unknown'}); use fusion='auto'"
            )
        return engine

    def finish(self, prepared: PreparedSearch, response: SeedSearchResponse, score_threshold: float | None) -> SearchResult:
        """Fuse on the client when needed, verify tenancy, attach provenance."""
        start = time.perf_counter()
        request = prepared.request
        if prepared.single:
            per_seed = [response.fused or []]
            fused = (response.fused or [])[prepared.offset :]
        elif request.engine is None:
            per_seed = response.per_seed or []
            fused = prepared.fuser.fuse(per_seed, prepared.context)
            if score_threshold is not None:
                fused = [p for p in fused if p.score >= score_threshold]
            fused = fused[prepared.offset :]
            if request.per_seed_vectors:
                fused = [_with_requested_vectors(p, request.with_vectors) for p in fused]
        else:
            per_seed = response.per_seed or []
            fused = response.fused or []
        prepared.guard.verify(fused, prepared.strip_tenant_field)
        per_seed_lists = per_seed if (self.provenance or prepared.single) else None
        points, by_seed = attach_provenance(fused, per_seed_lists, len(prepared.seeds), prepared.anchor_index)
        prepared.timings["fuse_ms"] = (time.perf_counter() - start) * 1e3
        info = {"sampler": dict(prepared.seeds.info), "timings_ms": prepared.timings, "candidates": request.candidates}
        if prepared.pool is not None:
            info["pooling"] = prepared.pool.describe(prepared.pooled)
        if prepared.anchor is not None:
            info["anchor"] = prepared.anchor.describe()
        return SearchResult(
            points=points,
            seeds=prepared.seeds.vectors,
            seed_weights=prepared.seeds.weights,
            by_seed=by_seed,
            seed_labels=prepared.seeds.labels,
            fusion=("engine" if request.engine is not None else "client", prepared.fuser.id),
            info=info,
            anchor_index=prepared.anchor_index,
        )


def _canonical(registry: Registry, encoder_id: str) -> str:
    """An encoder id with registry aliases resolved (unregistered ids stay as they are)."""
    try:
        return registry.registration("encoder", encoder_id).id
    except UnknownComponentError:  # e.g. an encoder instance that is not registered: compare as given
        return encoder_id


def _with_requested_vectors(point: models.ScoredPoint, with_vectors: Any) -> models.ScoredPoint:
    if with_vectors is True:
        return point
    if not with_vectors:
        return point.model_copy(update={"vector": None})
    if isinstance(point.vector, dict):
        return point.model_copy(update={"vector": {k: v for k, v in point.vector.items() if k in with_vectors}})
    return point


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

    #: ``GenerativeSearch.for_tenant("acme", client=...)`` or ``search.for_tenant("acme")``: a
    #: searcher bound to a tenant's stored configuration (see :mod:`genseek.tenants`).
    for_tenant = ForTenant(asynchronous=False)

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
        request = SearchRequest(**{name: arguments[name] for name in SearchRequest.names()})
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

    #: Async twin of :attr:`GenerativeSearch.for_tenant` (needs ``store=``, see :mod:`genseek.tenants`).
    for_tenant = ForTenant(asynchronous=True)

    _asynchronous = True
    _wrong_client = "AsyncGenerativeSearch needs an async client (AsyncQdrantClient); use GenerativeSearch"

    def _bind(self) -> None:
        self._bound = asyncio.Lock()

    async def _ensure_bound(self) -> None:
        if self.planner.space is None:
            async with self._bound:
                if self.planner.space is None:
                    self.planner.bind_space(await self.adapter.vector_space(self.planner.collection, self._vector_name))

    async def search(self, query: Any = None, *, vector: Any = None, **kwargs: Any) -> SearchResult:
        """Same arguments and result as :meth:`GenerativeSearch.search`.

        Encoding and sampling (CPU-bound) run in a worker thread so the event loop stays free.
        """
        total = time.perf_counter()
        await self._ensure_bound()
        request, controls = SearchRequest.split(kwargs)
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
