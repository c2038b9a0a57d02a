"""genseek — generative search for Qdrant applications.

A small diffusion prior turns one query into several seed vectors; genseek searches them in one
Qdrant request with the caller's filters and the tenant's scope, fuses the ranked lists and
returns ordinary Qdrant points tagged with the seeds that found them.

Quick start::

    from qdrant_client import QdrantClient
    from genseek import GenerativeSearch

    search = GenerativeSearch(QdrantClient(":memory:"), "tracks", encoder="hf-text", sampler="identity")
    result = search.search("energetic rock", n_seeds=8, limit=10)
"""

from .encoders.base import Encoder, EncoderInfo
from .errors import (
    CollectionError,
    ConfigError,
    DimensionMismatchError,
    GenseekError,
    InvalidRequestError,
    MissingDependencyError,
    PluginError,
    SamplerBusyError,
    UnknownComponentError,
    WeightsError,
)
from .fusers.base import Fuser
from .locking import local_client_lock
from .plugin import get_registry, hookimpl
from .result import GenerativePoint, SearchResult, SeedHit
from .samplers.base import Sampler, SeedSet
from .search import AsyncGenerativeSearch, GenerativeSearch
from . import tenants as _tenants  # noqa: F401  (installs GenerativeSearch.for_tenant / AsyncGenerativeSearch.for_tenant)

__version__ = "0.1.0"

__all__ = [
    "AsyncGenerativeSearch",
    "CollectionError",
    "ConfigError",
    "DimensionMismatchError",
    "Encoder",
    "EncoderInfo",
    "Fuser",
    "GenerativePoint",
    "GenerativeSearch",
    "GenseekError",
    "InvalidRequestError",
    "MissingDependencyError",
    "PluginError",
    "Sampler",
    "SamplerBusyError",
    "SearchResult",
    "SeedHit",
    "SeedSet",
    "UnknownComponentError",
    "WeightsError",
    "__version__",
    "get_registry",
    "hookimpl",
    "local_client_lock",
]
