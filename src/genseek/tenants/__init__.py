"""Per-tenant configuration: the model, its versioned store in Qdrant, and resolution.

* :class:`TenantConfig` — what one tenant runs with (components, anchoring, defaults, limits, allowed
  overrides, partition value); unknown keys rejected, no value converted, secrets as
  ``{"$env": "NAME"}`` and credential-looking values refused (:mod:`.credentials`);
* :class:`TenantStore` — configurations in a genseek-owned Qdrant collection: versioned writes
  with optimistic concurrency, cached reads with bounded staleness, history and rollback; every
  record read back is checked (:mod:`.records`), a corrupt one is a
  :class:`~genseek.errors.TenantConfigError` naming the tenant and the record;
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
