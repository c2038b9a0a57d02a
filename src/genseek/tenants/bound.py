"""Searchers bound to one tenant: ``GenerativeSearch.for_tenant("acme")``.

A :class:`TenantSearch` builds a :class:`~genseek.search.GenerativeSearch` from the tenant's
resolved configuration and runs every request through :func:`~genseek.tenants.resolve.resolve_request`:
the tenant's partition value is always the search's ``tenant=``, a request cannot set it, and only
the overrides the tenant allows are accepted, within its limits. The configuration is re-read from
the :class:`~genseek.tenants.store.TenantStore` (cached, bounded staleness) before each search, and the
searcher is rebuilt when the stored record changed — a newer version, or a store that was re-created
or restored (:meth:`_Binding.target`) — so every app instance follows configuration changes.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, NamedTuple

from ..errors import ConfigError
from ..search import AsyncGenerativeSearch, GenerativeSearch
from .model import TenantConfig, check_tenant_id, parse_config
from .resolve import check_components, component_kwargs, resolve_request
from .records import StoredConfig
from .store import TenantStore


class _State(NamedTuple):
    """What a bound searcher runs with, replaced as one value so that a request never pairs one
    version's searcher (its tenant field) with another version's configuration."""

    stored: StoredConfig
    searcher: Any

    @property
    def version(self) -> int:
        return self.stored.version

    @property
    def config(self) -> TenantConfig:
        return self.stored.config  # type: ignore[return-value]


class _Binding:
    """What tenant searchers share: where the configuration comes from, and how to rebuild.

    Which stored record to run with (:meth:`target`): a newer version is taken at once; the
    record in use is kept; anything else — an older version, or the same version number written
    by another write — is either a stale cached read or a sign that the store was re-created or
    restored (versions start again at 1). The store is then read through, and its answer is used
    unless it is the record in use, so a searcher never keeps a configuration its store no longer
    holds, and a stale read never rolls it back.
    """

    def __init__(
        self, tenant: str, store: TenantStore | None, config: TenantConfig | dict | None, registry: Any, adapter: str | None
    ) -> None:
        self.tenant = check_tenant_id(tenant)
        if (store is None) == (config is None):
            raise ConfigError("bind a tenant to exactly one of store= (a TenantStore) or config= (a TenantConfig)")
        self.store = store
        self.fixed = None if config is None else StoredConfig(
            tenant=tenant, version=0, config=parse_config(config, tenant=tenant), written_at="", author="", comment=""
        )
        self.registry = registry if registry is not None else (store.registry if store is not None else None)
        self.adapter = adapter
        self.state: _State | None = None
        self.lock = threading.Lock()

    @property
    def version(self) -> int | None:
        return None if self.state is None else self.state.version

    @property
    def config(self) -> TenantConfig | None:
        return None if self.state is None else self.state.config

    @property
    def searcher(self) -> Any:
        return None if self.state is None else self.state.searcher

    def latest(self) -> StoredConfig:
        """The stored record as the store serves it now (cached, bounded staleness)."""
        if self.fixed is not None:
            return self.fixed
        return self.store.get_versioned(self.tenant)  # type: ignore[union-attr]

    def read_through(self) -> StoredConfig:
        """The stored record, read from the store itself (no cache)."""
        if self.fixed is not None:
            return self.fixed
        return self.store.get_versioned(self.tenant, max_staleness=0)  # type: ignore[union-attr]

    def target(self) -> tuple[_State | None, StoredConfig | None]:
        """``(state seen, record to build)``; the record is ``None`` when the state seen stays in use."""
        state = self.state
        stored = self.latest()
        if state is None or stored.version > state.version:
            return state, stored
        if stored.same_record(state.stored):
            return state, None
        confirmed = self.read_through()  # stale cached copy, or a re-created / restored store?
        return state, (None if confirmed.same_record(state.stored) else confirmed)

    def settle(self, seen: _State | None, stored: StoredConfig) -> _State | None:
        """Under ``lock``: the state to use instead of building ``stored`` (another request's), if any."""
        state = self.state
        if state is None:
            return None
        newer_elsewhere = state is not seen and state.version >= stored.version  # another request rebuilt meanwhile
        return state if stored.same_record(state.stored) or newer_elsewhere else None

    def build_kwargs(self, config: TenantConfig) -> dict[str, Any]:
        check_components(config, self.registry)
        return {**component_kwargs(config), "registry": self.registry, "adapter": self.adapter}


class _TenantBound:
    """What :class:`TenantSearch` and :class:`AsyncTenantSearch` share: the binding and its state."""

    def __init__(
        self,
        client: Any,
        tenant: str,
        *,
        store: TenantStore | None = None,
        config: TenantConfig | dict | None = None,
        registry: Any = None,
        adapter: str | None = None,
    ) -> None:
        self.client = client
        self._binding = _Binding(tenant, store, config, registry, adapter)

    @property
    def tenant(self) -> str:
        return self._binding.tenant

    @property
    def config(self) -> TenantConfig | None:
        """The configuration the searcher currently runs with (``None`` before the first async search)."""
        return self._binding.config

    @property
    def version(self) -> int | None:
        """The configuration version in use (0 for a fixed ``config=``)."""
        return self._binding.version

    @property
    def searcher(self) -> Any:
        """The underlying :class:`~genseek.search.GenerativeSearch` (or its async twin)."""
        return self._binding.searcher


class TenantSearch(_TenantBound):
    """A generative search bound to one tenant's configuration (synchronous client).

    Use :meth:`GenerativeSearch.for_tenant` to create one. :meth:`search` takes the query and the
    request overrides; everything else comes from the tenant's configuration.

    Raises (at creation): :class:`~genseek.tenants.store.UnknownTenantError` for an unknown tenant,
    :class:`~genseek.errors.ConfigError` / :class:`~genseek.errors.UnknownComponentError` for a
    configuration that cannot be built.
    """

    def __init__(self, client: Any, tenant: str, **binding: Any) -> None:
        super().__init__(client, tenant, **binding)
        self._refresh()

    def _refresh(self) -> tuple[int, TenantConfig, Any]:
        """``(version, config, searcher)`` to serve one request with (rebuilt when the store changed)."""
        binding = self._binding
        seen, stored = binding.target()
        if stored is None:
            return seen.version, seen.config, seen.searcher  # type: ignore[union-attr]
        with binding.lock:
            state = binding.settle(seen, stored)
            if state is None:
                config: TenantConfig = stored.config  # type: ignore[assignment]
                searcher = GenerativeSearch(self.client, config.collection, **binding.build_kwargs(config))
                state = binding.state = _State(stored, searcher)
            return state.version, state.config, state.searcher

    def search(self, query: Any = None, *, vector: Any = None, **request: Any) -> Any:
        """Search as this tenant. ``request`` holds the overrides (``limit=``, ``filter=``, controls …).

        Raises:
            InvalidRequestError: an override the tenant does not allow, an unknown or forbidden key
                (``tenant``, ``shard_key_selector``), or a value above the tenant's limits.
        """
        _, config, searcher = self._refresh()
        resolved = resolve_request(config, request, sampler_controls=searcher.sampler.info.controls, tenant=self.tenant)
        return searcher.search(query, vector=vector, **resolved.search_kwargs())

    def refine(self, point_id: Any, query: Any = None, *, vector: Any = None, strength: float = 0.5, **request: Any) -> Any:
        """"More like this point, but …" as this tenant (see :meth:`GenerativeSearch.refine`).

        The same resolution as :meth:`search` applies to ``request``; the stored point is read with
        the tenant's scope, so another tenant's point is "not found".
        """
        _, config, searcher = self._refresh()
        resolved = resolve_request(config, request, sampler_controls=searcher.sampler.info.controls, tenant=self.tenant)
        return searcher.refine(point_id, query, vector=vector, strength=strength, **resolved.search_kwargs())


class AsyncTenantSearch(_TenantBound):
    """The asyncio twin of :class:`TenantSearch` (an ``AsyncQdrantClient`` for the searches).

    The configuration store is synchronous; its reads run in a worker thread (mostly cache hits).
    """

    def __init__(self, client: Any, tenant: str, **binding: Any) -> None:
        super().__init__(client, tenant, **binding)
        self._lock = asyncio.Lock()

    async def _refresh(self) -> tuple[int, TenantConfig, Any]:
        """``(version, config, searcher)`` to serve one request with (rebuilt when the store changed)."""
        binding = self._binding
        seen, stored = await asyncio.to_thread(binding.target)
        if stored is None:
            return seen.version, seen.config, seen.searcher  # type: ignore[union-attr]
        async with self._lock:
            state = binding.settle(seen, stored)
            if state is None:
                config: TenantConfig = stored.config  # type: ignore[assignment]
                kwargs = await asyncio.to_thread(binding.build_kwargs, config)
                searcher = AsyncGenerativeSearch(self.client, config.collection, **kwargs)
                state = binding.state = _State(stored, searcher)
            return state.version, state.config, state.searcher

    async def search(self, query: Any = None, *, vector: Any = None, **request: Any) -> Any:
        """Same contract as :meth:`TenantSearch.search`."""
        _, config, searcher = await self._refresh()
        resolved = resolve_request(
            config, request, sampler_controls=searcher.planner.sampler.info.controls, tenant=self.tenant
        )
        return await searcher.search(query, vector=vector, **resolved.search_kwargs())

    async def refine(
        self, point_id: Any, query: Any = None, *, vector: Any = None, strength: float = 0.5, **request: Any
    ) -> Any:
        """Same contract as :meth:`TenantSearch.refine` (another tenant's point is "not found")."""
        _, config, searcher = await self._refresh()
        resolved = resolve_request(
            config, request, sampler_controls=searcher.planner.sampler.info.controls, tenant=self.tenant
        )
        return await searcher.refine(point_id, query, vector=vector, strength=strength, **resolved.search_kwargs())


class ForTenant:
    """``for_tenant`` of :class:`GenerativeSearch` / :class:`AsyncGenerativeSearch`, installed on both
    searchers by this module (so :mod:`genseek.search` needs no import of :mod:`genseek.tenants`).

    Works on the class — ``GenerativeSearch.for_tenant("acme", client=client)`` — and on an
    instance, whose client and registry it reuses: ``search.for_tenant("acme")``.
    """

    def __init__(self, *, asynchronous: bool) -> None:
        self.asynchronous = asynchronous

    def __get__(self, instance: Any, owner: type) -> Any:
        asynchronous = self.asynchronous

        def for_tenant(
            tenant: str,
            *,
            client: Any = None,
            store: TenantStore | None = None,
            config: TenantConfig | dict | None = None,
            registry: Any = None,
            adapter: str | None = None,
        ) -> TenantSearch | AsyncTenantSearch:
            """A searcher bound to ``tenant``'s configuration.

            Args:
                tenant: the tenant id (its configuration must exist in ``store``).
                client: the Qdrant client to search with (default: the instance's client).
                store: where configurations live (default: a :class:`TenantStore` on ``client``;
                    the async twin needs an explicit store with a synchronous client).
                config: bind to this configuration instead of a store.
                registry / adapter: as for ``GenerativeSearch``.
            """
            if instance is not None:
                client = client if client is not None else instance.adapter.client
                registry = registry if registry is not None else instance.planner.registry
            if client is None:
                raise ConfigError(f"{owner.__name__}.for_tenant needs client= (the Qdrant client to search with)")
            if store is None and config is None:
                if asynchronous:
                    raise ConfigError(
                        "AsyncGenerativeSearch.for_tenant needs store=TenantStore(QdrantClient(...)) "
                        "(the configuration store uses a synchronous client) or config="
                    )
                from qdrant_client import QdrantClient

                if not isinstance(client, QdrantClient):
                    raise ConfigError(
                        f"tenant configurations live in a Qdrant collection read with a QdrantClient; this searcher's "
                        f"client is a {type(client).__name__}: pass store=TenantStore(QdrantClient(...)) or config="
                    )
                store = TenantStore(client, registry=registry)
            cls = AsyncTenantSearch if asynchronous else TenantSearch
            return cls(client, tenant, store=store, config=config, registry=registry, adapter=adapter)

        return for_tenant


#: ``GenerativeSearch.for_tenant("acme", client=...)`` or ``search.for_tenant("acme")``: a searcher
#: bound to a tenant's stored configuration.
GenerativeSearch.for_tenant = ForTenant(asynchronous=False)  # type: ignore[attr-defined]
#: The async twin (needs ``store=`` or ``config=``).
AsyncGenerativeSearch.for_tenant = ForTenant(asynchronous=True)  # type: ignore[attr-defined]

__all__ = ["AsyncTenantSearch", "ForTenant", "TenantSearch"]
