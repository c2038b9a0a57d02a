"""The contract between genseek's layers: what a search asks for, and the plan adapters run.

* :class:`SearchRequest` — every search parameter once, with its default and its meaning: the
  parameters a search accepts besides the query (``query=`` / ``vector=``) and the sampler's
  controls. ``GenerativeSearch.search`` and ``AsyncGenerativeSearch.search`` take exactly these
  keywords (a test holds the signature to the model), tenant configuration derives what a request
  may override from it (:data:`genseek.tenants.model.SEARCH_PARAMETERS`), and its defaults are
  what a search uses when nothing else says otherwise
  (:data:`genseek.tenants.resolve.LIBRARY_DEFAULTS`). A field's own checks run when the request
  is made; those that need the collection (vector names, distance) or the backend's
  :class:`Capabilities` when it is planned (:mod:`genseek.request_checks`).
* The plan — :class:`SeedSearch` (one search, scoped and checked, ready to run), the in-engine
  fusion records (:class:`Rrf`, :class:`Dbsf`, :class:`Mmr`, :class:`Max`, :class:`Nearest`,
  :class:`Centroid`), :class:`SeedSearchResponse`, and what planning needs to know:
  :class:`Capabilities`, :class:`VectorSpace`, :class:`FusionContext`. The planner decides every
  part of a plan; adapters translate it into their backend's calls and decide nothing.

This module depends only on pydantic, numpy, qdrant-client's models and :mod:`genseek.errors`,
so every layer (searchers, fusers, adapters, tenants, plugins) may import it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from qdrant_client.http import models

from .errors import InvalidRequestError


def check_int(name: str, value: Any, *, low: int, high: int | None = None) -> None:
    """Refuse anything but an integer (not a boolean) in ``[low, high]`` for the argument ``name``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise InvalidRequestError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise InvalidRequestError(f"{name}={value} exceeds the configured maximum of {high} (max_seeds)")


def _count(name: str, low: int, *, optional: bool = False) -> AfterValidator:
    def check(value: Any) -> Any:
        if not (optional and value is None):
            check_int(name, value, low=low)
        return value

    return AfterValidator(check)


def _check_threshold(value: Any) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        raise InvalidRequestError(f"score_threshold must be a finite number, got {value!r}")
    return value


def _check_seed(value: Any) -> Any:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidRequestError(f"seed must be a non-negative integer, got {value!r}")
    return value


class SearchRequest(BaseModel):
    """The search parameters of one request (frozen; unknown names are refused).

    The checks a value needs nothing else for (counts, the threshold, the random seed) are part of
    the field and run when the request is made: :meth:`of` raises the
    :class:`~genseek.errors.InvalidRequestError` that names the value. The others need the
    searcher or the collection — ``n_seeds`` against ``max_seeds``, the filter against the
    collection's payload, ``tenant`` against the ``tenant_field``, the options against the
    backend's :class:`Capabilities`, the anchor against the encoder — and run when the request is
    planned (:class:`genseek.planner.SearchPlanner`), before anything is sent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    n_seeds: Annotated[Any, _count("n_seeds", 1)] = Field(8, description="how many seed vectors to sample (1 … max_seeds)")
    limit: Annotated[Any, _count("limit", 1)] = Field(10, description="how many fused results to return")
    offset: Annotated[Any, _count("offset", 0)] = Field(0, description="fused results to skip (paging)")
    filter: Any = Field(None, description="a qdrant-client Filter applied to every seed, AND-ed with the tenant condition")
    tenant: Any = Field(None, description="the tenant value (required when the search has a tenant_field)")
    seed: Annotated[Any, AfterValidator(_check_seed)] = Field(
        None, description="random seed of the sampler: the same seed gives the same seeds"
    )
    score_threshold: Annotated[Any, AfterValidator(_check_threshold)] = Field(None, description="drop fused points scoring below it")
    with_payload: Any = Field(True, description="as in query_points")
    with_vectors: Any = Field(False, description="as in query_points; may only name vectors the collection has")
    candidates: Annotated[Any, _count("candidates", 1, optional=True)] = Field(
        None, description="per-seed list depth (default max(20, 2 × (limit + offset)))"
    )
    shard_key_selector: Any = Field(None, description="Qdrant shard key routing (clusters only)")
    consistency: Any = Field(None, description="Qdrant read consistency")
    timeout: Any = Field(None, description="Qdrant request timeout in seconds")
    search_params: Any = Field(
        None, description="hnsw_ef / exact / indexed_only for every walk and prefetch, and seed_pooling (genseek.pooling)"
    )
    anchor: Any = Field(None, description="search the query's direct catalog-space vector beside the seeds (genseek.anchor)")
    anchor_weight: Any = Field(None, description="fusion weight of the anchor's list for this request")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(cls.model_fields)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter's default."""
        return {name: info.default for name, info in cls.model_fields.items()}

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> SearchRequest:
        """The request of these parameter values.

        Raises:
            InvalidRequestError: a value fails its field's check (the first, in field order), or
                a name is not a search parameter.
        """
        try:
            return cls(**values)
        except ValidationError as error:
            raise _request_error(error) from None

    @classmethod
    def split(cls, kwargs: Mapping[str, Any], **defaults: Any) -> tuple[SearchRequest, dict[str, Any]]:
        """``(request, sampler controls)`` from ``search`` keyword arguments; ``defaults`` replace the
        model's defaults for this call (e.g. ``n_seeds=1`` for a refine) unless ``kwargs`` set them.
        Raises :class:`~genseek.errors.InvalidRequestError` as :meth:`of` does."""
        names = cls.model_fields
        values = {**defaults, **{k: v for k, v in kwargs.items() if k in names}}
        return cls.of(values), {k: v for k, v in kwargs.items() if k not in names}


def _request_error(error: ValidationError) -> Exception:
    """The field check's own error, or one that names the unknown parameter."""
    first = error.errors()[0]
    raised = first.get("ctx", {}).get("error")
    if isinstance(raised, InvalidRequestError):
        return raised
    where = ".".join(str(part) for part in first["loc"])
    return InvalidRequestError(f"{where}: {first['msg']}; search parameters are {', '.join(SearchRequest.names())}")


# -- what the backend can do ---------------------------------------------------------------------
#: (major, minor) of the Qdrant release where each server feature appeared.
FEATURE_VERSIONS: dict[str, tuple[int, int]] = {
    "prefetch": (1, 10),
    "dbsf": (1, 11),
    "formula": (1, 14),
    "mmr": (1, 15),
    "rrf_k": (1, 16),
    "weighted_rrf": (1, 17),
    "create_vector_name": (1, 18),
}


@dataclass(frozen=True)
class Capabilities:
    """What the backend can do in one request, derived from its version.

    ``version`` is ``None`` when unknown (treated as having nothing beyond plain search).
    ``shard_keys`` says whether a request may name a shard key (``shard_key_selector``): ``False``
    for qdrant-client local mode, which has no shards and would silently ignore one, so genseek
    refuses it there before anything is sent (Qdrant Edge accepts and ignores it: one shard).
    ``approximate`` says whether nearest-neighbour search goes through an approximate index
    (HNSW): ``False`` for local mode, which always scans exactly, so genseek does not pool
    candidates there (:mod:`genseek.pooling`).
    """

    version: tuple[int, int, int] | None
    prefetch: bool = False
    dbsf: bool = False
    formula: bool = False
    mmr: bool = False
    rrf_k: bool = False
    weighted_rrf: bool = False
    create_vector_name: bool = False
    shard_keys: bool = True
    approximate: bool = True

    @classmethod
    def from_version(cls, version: str | tuple[int, int, int] | None) -> Capabilities:
        """Capabilities of a Qdrant server (or local mode / Edge) reporting ``version``."""
        parsed = parse_version(version) if isinstance(version, str) else version
        if parsed is None:
            return cls(version=None)
        flags = {name: parsed[:2] >= since for name, since in FEATURE_VERSIONS.items()}
        return cls(version=parsed, **flags)

    @classmethod
    def everything(cls) -> Capabilities:
        """All features (used by engines that embed a current Qdrant)."""
        return cls(version=None, **{name: True for name in FEATURE_VERSIONS})


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """Parse ``"1.17.2"`` / ``"v1.17.0-dev"`` into ``(1, 17, 2)``; ``None`` if unparseable."""
    if not text:
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


# -- the collection's vector space ---------------------------------------------------------------
#: The one table of distances: genseek's names (``VectorSpace.distance``, encoder ``distance``,
#: migration plans) → qdrant-client's ``models.Distance``, whose values ("Cosine", …) are also
#: Qdrant Edge's ``Distance`` member names.
DISTANCES: dict[str, models.Distance] = {
    "cosine": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euclid": models.Distance.EUCLID,
    "manhattan": models.Distance.MANHATTAN,
}
#: ``models.Distance`` → genseek's name (the inverse of :data:`DISTANCES`).
DISTANCE_NAMES: dict[models.Distance, str] = {distance: name for name, distance in DISTANCES.items()}


@dataclass(frozen=True)
class VectorSpace:
    """One (named) vector of a collection: its name (``None`` = the unnamed default), size, distance.

    ``vectors`` lists every vector of the collection (dense and sparse; ``""`` is the unnamed
    one): the names a request's ``with_vectors=[...]`` may select. ``None`` when the adapter does
    not report them (names are then not checked). It takes no part in comparisons.
    """

    name: str | None
    dim: int
    distance: str  # "cosine" | "dot" | "euclid" | "manhattan"
    vectors: tuple[str, ...] | None = field(default=None, compare=False)


# -- fusion --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FusionContext:
    """Everything a fuser may need about the request being fused.

    Attributes:
        seeds: ``(n, d)`` seed vectors.
        weights: ``(n,)`` non-negative per-seed weights.
        limit: how many fused points to produce (the caller's ``limit + offset``).
        candidates: per-seed list depth (the prefetch limit).
        distance: the collection vector's distance (``cosine``, ``dot``, ``euclid``, ``manhattan``).
    """

    seeds: np.ndarray
    weights: np.ndarray
    limit: int
    candidates: int
    distance: str = "cosine"

    @property
    def uniform_weights(self) -> bool:
        return bool(np.allclose(self.weights, self.weights[0]))


@dataclass(frozen=True)
class EngineFusion:
    """What the engine runs as a request's top-level query: one record per method, every field
    required and set by the planner or the fuser, so an adapter only translates it.

    ``uses_prefetch``: the request has one prefetch per seed and the query combines them
    (:class:`Rrf`, :class:`Dbsf`, :class:`Mmr`, :class:`Max`); otherwise one vector is searched
    alone (:class:`Nearest`, :class:`Centroid`).
    """

    method: ClassVar[str]
    uses_prefetch: ClassVar[bool] = True


#: Qdrant's RRF rank constant when a request names none.
QDRANT_DEFAULT_RRF_K = 2


@dataclass(frozen=True)
class Rrf(EngineFusion):
    """Reciprocal rank fusion of the prefetches with rank constant ``k`` and per-seed ``weights``
    (``None``: all equal)."""

    method: ClassVar[str] = "rrf"
    k: int
    weights: tuple[float, ...] | None

    @property
    def rrf_k(self) -> int:
        """``k`` under the name the earlier, untyped ``EngineFusion`` record used."""
        return self.k


@dataclass(frozen=True)
class Dbsf(EngineFusion):
    """Distribution-based score fusion of the prefetches (Qdrant's DBSF has no weights)."""

    method: ClassVar[str] = "dbsf"


@dataclass(frozen=True)
class Mmr(EngineFusion):
    """Maximal marginal relevance around ``vector`` over the prefetches: ``diversity`` = 1 − λ in
    [0, 1], re-ranking the ``candidates`` nearest."""

    method: ClassVar[str] = "mmr"
    vector: np.ndarray = field(compare=False)
    diversity: float
    candidates: int


@dataclass(frozen=True)
class Max(EngineFusion):
    """The best ``$score[i]`` over the prefetches (a formula); a seed that did not find a point
    contributes ``floor``."""

    method: ClassVar[str] = "max"
    floor: float


@dataclass(frozen=True)
class Nearest(EngineFusion):
    """A plain nearest-neighbour search of ``vector``, no prefetch: a one-seed search."""

    method: ClassVar[str] = "nearest"
    uses_prefetch: ClassVar[bool] = False
    vector: np.ndarray = field(compare=False)


@dataclass(frozen=True)
class Centroid(Nearest):
    """The centroid fuser's query: a nearest search of the seeds' weighted mean (``vector``)."""

    method: ClassVar[str] = "centroid"


# -- the planned search --------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedSearch:
    """One generative search, ready to run.

    ``filter`` already contains the tenant condition; adapters must apply it to every per-seed
    request, to every prefetch and at the top level. ``engine`` is the in-engine fusion to run
    (``None``: client-side fusion). ``per_seed`` asks for each seed's ranked list too
    (provenance and client-side fusion); such lists carry ``with_payload``/``with_vectors`` only
    when ``per_seed_payload`` is set, and the seed vector's own values when ``per_seed_vectors``.
    ``seed_candidates`` (when set) gives each seed row its own list depth instead of ``candidates``
    (:meth:`depth`): adapters use it for per-seed requests and prefetches alike. ``params`` are
    checked index settings (``hnsw_ef``, ``exact``, ``indexed_only``), sent as they are.
    """

    collection: str
    vector_name: str | None
    seeds: np.ndarray
    filter: models.Filter | None
    limit: int
    offset: int
    candidates: int
    engine: EngineFusion | None
    per_seed: bool
    score_threshold: float | None = None
    with_payload: Any = True
    with_vectors: Any = False
    per_seed_payload: bool = False
    per_seed_vectors: bool = False
    shard_key_selector: Any = None
    consistency: Any = None
    timeout: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed_candidates: tuple[int, ...] | None = None

    def depth(self, row: int) -> int:
        """The list depth of seed row ``row``."""
        return self.candidates if self.seed_candidates is None else self.seed_candidates[row]

    @property
    def seed_payload(self) -> Any:
        """``with_payload`` of the per-seed lists."""
        return self.with_payload if self.per_seed_payload else False

    @property
    def seed_vectors(self) -> Any:
        """``with_vectors`` of the per-seed lists (the seed's own vector: ``True``)."""
        if self.per_seed_vectors:
            return True
        return self.with_vectors if self.per_seed_payload else False


@dataclass
class SeedSearchResponse:
    """What an adapter's ``run`` returns: the engine-fused list and/or the per-seed lists."""

    fused: list[models.ScoredPoint] | None = None
    per_seed: list[list[models.ScoredPoint]] | None = None


__all__ = [
    "DISTANCES",
    "DISTANCE_NAMES",
    "FEATURE_VERSIONS",
    "Capabilities",
    "Centroid",
    "Dbsf",
    "EngineFusion",
    "FusionContext",
    "Max",
    "Mmr",
    "Nearest",
    "QDRANT_DEFAULT_RRF_K",
    "Rrf",
    "SearchRequest",
    "SeedSearch",
    "SeedSearchResponse",
    "VectorSpace",
    "parse_version",
    "check_int",
]
