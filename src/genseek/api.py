"""Everything a plugin author needs, from one module.

A genseek plugin (an encoder, a sampler, a fuser or a storage adapter, see
:mod:`genseek.plugin.hookspecs`) imports only this module::

    from genseek.api import Fuser, FusionContext, hookimpl, ranked_by_score

It re-exports, unchanged:

* the request contract and the plan types (:mod:`genseek.contract`): :class:`SearchRequest`,
  :class:`SeedSearch` / :class:`SeedSearchResponse`, :class:`Capabilities`, :class:`VectorSpace`,
  :class:`FusionContext` and the engine-fusion records (:class:`Rrf`, :class:`Dbsf`, :class:`Mmr`,
  :class:`Max`, :class:`Nearest`, :class:`Centroid`);
* the component base classes and their value types: :class:`Encoder` / :class:`EncoderInfo`,
  :class:`Sampler` / :class:`SamplerInfo` / :class:`SeedSet`, :class:`Fuser` with its scoring
  helpers, :class:`Adapter` / :class:`AsyncAdapter`;
* the plugin markers :data:`hookimpl` / :data:`hookspec` and the registration type
  :class:`Register`;
* genseek's errors, to raise the one that names the problem, and the checks that raise them
  (:func:`check_int`, :func:`check_query_text`).

Names here are the stable plugin API: they keep their meaning within a major version.
"""

from __future__ import annotations

from .adapters.base import Adapter, AsyncAdapter
from .contract import (
    DISTANCE_NAMES,
    DISTANCES,
    FEATURE_VERSIONS,
    QDRANT_DEFAULT_RRF_K,
    Capabilities,
    Centroid,
    Dbsf,
    EngineFusion,
    FusionContext,
    Max,
    Mmr,
    Nearest,
    Rrf,
    SearchRequest,
    SeedSearch,
    SeedSearchResponse,
    VectorSpace,
    check_int,
    parse_version,
)
from .encoders.base import Encoder, EncoderInfo, check_query_text
from .errors import (
    CollectionError,
    ConfigError,
    DimensionMismatchError,
    GenseekError,
    InvalidRequestError,
    MissingDependencyError,
    PluginError,
    SamplerBusyError,
    TenantConfigError,
    UnknownComponentError,
    WeightsError,
)
from .fusers.base import DISTANCE_SCORES, Fuser, ranked_by_score, rescored, score_similarity, weighted_centroid
from .plugin import Register, hookimpl, hookspec
from .samplers.base import Sampler, SamplerInfo, SeedSet, torch_seed_from

__all__ = [
    "DISTANCES",
    "DISTANCE_NAMES",
    "DISTANCE_SCORES",
    "FEATURE_VERSIONS",
    "QDRANT_DEFAULT_RRF_K",
    "Adapter",
    "AsyncAdapter",
    "Capabilities",
    "Centroid",
    "CollectionError",
    "ConfigError",
    "Dbsf",
    "DimensionMismatchError",
    "Encoder",
    "EncoderInfo",
    "EngineFusion",
    "Fuser",
    "FusionContext",
    "GenseekError",
    "InvalidRequestError",
    "Max",
    "MissingDependencyError",
    "Mmr",
    "Nearest",
    "PluginError",
    "Register",
    "Rrf",
    "Sampler",
    "SamplerBusyError",
    "SamplerInfo",
    "SearchRequest",
    "SeedSearch",
    "SeedSearchResponse",
    "SeedSet",
    "TenantConfigError",
    "UnknownComponentError",
    "VectorSpace",
    "WeightsError",
    "check_int",
    "check_query_text",
    "hookimpl",
    "hookspec",
    "parse_version",
    "ranked_by_score",
    "rescored",
    "score_similarity",
    "torch_seed_from",
    "weighted_centroid",
]
