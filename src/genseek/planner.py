"""``SearchPlanner``: a request checked, scoped and turned into the plan an adapter runs (no I/O).

The sync :class:`~genseek.search.GenerativeSearch` and :class:`~genseek.search.AsyncGenerativeSearch`
share one planner, so both check, scope and fuse the same way; they only differ in how they
call the adapter. Planning a search:

1. :meth:`SearchPlanner.encode` — check the query (or vector) and the anchor arguments, encode;
2. :meth:`SearchPlanner.prepare` — check every :class:`~genseek.contract.SearchRequest` field,
   sample the seeds, add the anchor row, AND the caller's filter with the tenant condition, choose
   where fusion runs and its typed in-engine record, and build the
   :class:`~genseek.contract.SeedSearch`; on an HNSW backend a search fused on the client becomes
   two passes (:mod:`genseek.pooling`, :meth:`SearchPlanner.next_pass`);
3. :meth:`SearchPlanner.finish` — fuse on the client when needed, verify tenancy on what came
   back, attach provenance.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from qdrant_client.http import models

from .anchor import Anchor, Anchoring, with_anchor
from .contract import Capabilities, EngineFusion, FusionContext, Nearest, SearchRequest, SeedSearch, SeedSearchResponse, VectorSpace, check_int
from .encoders.base import Encoder, check_query_text, infer_modality
from .errors import ConfigError, DimensionMismatchError, InvalidRequestError, UnknownComponentError
from .fusers.base import Fuser
from .plugin.registry import Registry, get_registry
from .pooling import POOLING_KEY, PoolPlan
from .request_checks import (
    RequestOptions,
    check_filter_tree,
    check_point_id,
    check_request_options,
    check_search_params,
    check_strength,
)
from .result import SearchResult, attach_provenance
from .samplers.base import Sampler, SeedSet
from .scope import TenantGuard, check_filter, check_tenant, scoped_filter
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
        """Check what the search parameters of ``request`` need the searcher or the collection for
        (no I/O; the fields' own checks ran when it was made, the anchor's run in :meth:`encode`):
        ``n_seeds`` against ``max_seeds``, index settings, the caller's filter (recursively,
        :func:`check_filter_tree`), the tenant and the pass-through options
        (:func:`check_request_options`; the shard key against ``capabilities``)."""
        check_int("n_seeds", request.n_seeds, low=1, high=self.max_seeds)  # the field's own checks ran in SearchRequest
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
            return Nearest(vector=ctx.seeds[0])
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


__all__ = [
    "CANDIDATE_FACTOR",
    "DEFAULT_ANCHOR_WEIGHT",
    "DEFAULT_MAX_SEEDS",
    "MIN_CANDIDATES",
    "FusionMode",
    "PreparedSearch",
    "SearchPlanner",
]
