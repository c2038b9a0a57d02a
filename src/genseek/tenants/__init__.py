"""Per-tenant configuration: the model, its versioned store in Qdrant, and resolution.

* :class:`TenantConfig` — what one tenant runs with (components, anchoring, defaults, limits, allowed
  overrides, partition value); unknown keys rejected, secrets as ``{"$env": "NAME"}``;
* :class:`TenantStore` — configurations in a genseek-owned Qdrant collection: versioned writes
  with optimistic concurrency, cached reads with bounded staleness, history and rollback;
* :func:`resolve_request` — library defaults → tenant configuration → allowed request overrides;
* :class:`TenantSearch` — what ``GenerativeSearch.for_tenant("acme")`` returns.
"""

from .bound import AsyncTenantSearch, TenantSearch
from .model import AnchorSpec, ComponentSpec, Limits, SamplerSpec, SearchDefaults, TenantConfig, parse_config
from .resolve import LIBRARY_DEFAULTS, ResolvedRequest, check_components, resolve_request
from .store import StaleVersionError, StoredConfig, TenantStore, UnknownTenantError

__all__ = [
    "AnchorSpec",
    "AsyncTenantSearch",
    "ComponentSpec",
    "LIBRARY_DEFAULTS",
    "Limits",
    "ResolvedRequest",
    "SamplerSpec",
    "SearchDefaults",
    "StaleVersionError",
    "StoredConfig",
    "TenantConfig",
    "TenantSearch",
    "TenantStore",
    "UnknownTenantError",
    "check_components",
    "parse_config",
    "resolve_request",
]
