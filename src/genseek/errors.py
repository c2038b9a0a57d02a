"""The genseek error hierarchy.

Every error genseek raises on purpose is a :class:`GenseekError`. Messages name the component
involved and say how to fix the problem, so that an application developer can act on them
without reading genseek's source.

::

    GenseekError
    ├── ConfigError                 bad configuration value or combination
    │   └── TenantConfigError       a stored tenant configuration record is corrupt (names tenant and record)
    ├── PluginError                 a plugin failed to load or registered something invalid
    ├── UnknownComponentError       an id that no plugin registered (lists what is available)
    ├── DimensionMismatchError      vectors whose size differs from the collection's vector
    ├── CollectionError             a missing collection or named vector
    ├── InvalidRequestError         a bad argument to a search call (nothing was sent)
    ├── WeightsError                missing, truncated, tampered or mismatched model weights
    └── MissingDependencyError      an optional extra is not installed (says which)
"""

from __future__ import annotations

from collections.abc import Iterable


class GenseekError(Exception):
    """Base class of every error genseek raises deliberately."""


class ConfigError(GenseekError, ValueError):
    """A configuration value is invalid or inconsistent."""


class TenantConfigError(ConfigError):
    """A record of the tenant-configuration store is corrupt (hand-edited, truncated, foreign).

    ``tenant`` is the tenant the record belongs to (or claims to), ``record`` names the record
    (``"version record 3"``, ``"head record"``) and ``collection`` the store's collection. Nothing
    is served from a corrupt record: searches of that tenant fail until it is repaired.
    """

    def __init__(self, tenant: str, record: str, collection: str, problem: str, fix: str = "") -> None:
        self.tenant, self.record, self.collection, self.problem = tenant, record, collection, problem
        fix = fix or (
            f"write a valid configuration as a new version (`genseek tenant set {tenant} --file config.json`) "
            f"or restore a good one (`genseek tenant rollback {tenant} <version>`)"
        )
        super().__init__(
            f"tenant {tenant!r}: the {record} in collection {collection!r} is corrupt ({problem}); "
            f"nothing was served from it. To repair it, {fix}."
        )


class PluginError(GenseekError):
    """A plugin could not be loaded, or registered something invalid (e.g. a duplicate id)."""


class UnknownComponentError(GenseekError, LookupError):
    """A component id that no loaded plugin registered."""

    def __init__(self, kind: str, component_id: str, available: Iterable[str]) -> None:
        self.kind = kind
        self.component_id = component_id
        self.available = sorted(available)
        listing = ", ".join(repr(a) for a in self.available) or "none"
        super().__init__(
            f"unknown {kind} {component_id!r}; available {kind}s: {listing}. "
            f"Install the plugin that provides it, or check `genseek plugins`."
        )


class DimensionMismatchError(GenseekError, ValueError):
    """A vector's size does not match what the collection (or a model) expects."""


class CollectionError(GenseekError, LookupError):
    """A collection or a named vector does not exist."""


class InvalidRequestError(GenseekError, ValueError):
    """A search request argument is invalid. Raised before anything is sent to Qdrant."""


class SamplerBusyError(GenseekError, RuntimeError):
    """Too many sampling calls are queued for one sampler (back-pressure): retry later or shed load.

    Raised before the call is queued, so nothing of the request has run.
    """


class WeightsError(GenseekError):
    """Model weights are missing, truncated, tampered with, or do not fit the collection."""


class MissingDependencyError(GenseekError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, component: str, package: str, extra: str) -> None:
        self.component = component
        self.package = package
        self.extra = extra
        super().__init__(
            f"{component} needs the {package!r} package, which is not installed. "
            f"Install it with `pip install 'genseek[{extra}]'`."
        )


__all__ = [
    "CollectionError",
    "ConfigError",
    "DimensionMismatchError",
    "GenseekError",
    "InvalidRequestError",
    "MissingDependencyError",
    "PluginError",
    "SamplerBusyError",
    "TenantConfigError",
    "UnknownComponentError",
    "WeightsError",
]
