"""The registry facade: the only code that calls ``pm.hook``.

Everything else in genseek asks the registry for components by id::

    registry = get_registry()
    encoder = registry.encoder("hf-text", path="/models/minilm")
    fuser = registry.fuser("rrf", k=60)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pluggy

from ..errors import ConfigError, PluginError, UnknownComponentError
from .register import Register, Registration

KINDS = ("encoder", "sampler", "fuser", "adapter")
_HOOKS = {
    "encoder": "register_encoders",
    "sampler": "register_samplers",
    "fuser": "register_fusers",
    "adapter": "register_adapters",
}


def _base_classes() -> dict[str, tuple[type, ...]]:
    from ..adapters.base import Adapter, AsyncAdapter
    from ..encoders.base import Encoder
    from ..fusers.base import Fuser
    from ..samplers.base import Sampler

    return {"encoder": (Encoder,), "sampler": (Sampler,), "fuser": (Fuser,), "adapter": (Adapter, AsyncAdapter)}


class Registry:
    """Typed access to every registered component, built from a plugin manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.plugin_manager = pm
        self._components: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        bases = _base_classes()
        for kind, hook_name in _HOOKS.items():
            for plugin_name, plugin in pm.list_name_plugin():
                caller = pm.subset_hook_caller(
                    hook_name, remove_plugins=[p for p in pm.get_plugins() if p is not plugin]
                )
                register = Register(kind, bases[kind], plugin_name, self._add)
                try:
                    caller(register=register)
                except PluginError:
                    raise
                except Exception as exc:  # noqa: BLE001 - name the plugin that broke
                    raise PluginError(
                        f"genseek plugin {plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                    ) from exc

    def _add(self, registration: Registration) -> None:
        kind = registration.kind
        for name in (registration.id, *registration.aliases):
            existing = self._components[kind].get(name) or self._components[kind].get(
                self._aliases[kind].get(name, "")
            )
            if existing is not None:
                raise PluginError(
                    f"duplicate {kind} id {name!r}: registered by plugin {existing.plugin!r} and again "
                    f"by plugin {registration.plugin!r}. Disable one of them with GENSEEK_DISABLE_PLUGINS."
                )
        self._components[kind][registration.id] = registration
        for alias in registration.aliases:
            self._aliases[kind][alias] = registration.id

    # -- lookup ---------------------------------------------------------------------------------
    def registration(self, kind: str, component_id: str) -> Registration:
        """The registration of ``component_id`` (or an alias); raises :class:`UnknownComponentError`."""
        if kind not in self._components:
            raise ConfigError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        table = self._components[kind]
        resolved = self._aliases[kind].get(component_id, component_id)
        if resolved not in table:
            raise UnknownComponentError(kind, component_id, table)
        return table[resolved]

    def registrations(self, kind: str) -> list[Registration]:
        """All registrations of one kind, in registration order."""
        return list(self._components[kind].values())

    def ids(self, kind: str) -> list[str]:
        return sorted(self._components[kind])

    def create(self, kind: str, component_id: str, **options: Any) -> Any:
        """Instantiate a component; bad options become a :class:`ConfigError` naming the component."""
        registration = self.registration(kind, component_id)
        try:
            return registration.factory(**options)
        except TypeError as exc:
            raise ConfigError(f"{kind} {component_id!r}: invalid options {sorted(options)}: {exc}") from exc

    def encoder(self, component_id: str, **options: Any) -> Any:
        return self.create("encoder", component_id, **options)

    def sampler(self, component_id: str, **options: Any) -> Any:
        return self.create("sampler", component_id, **options)

    def fuser(self, component_id: str, **options: Any) -> Any:
        return self.create("fuser", component_id, **options)

    def adapter_for(self, client: Any, *, adapter_id: str | None = None) -> Any:
        """An adapter instance driving ``client``: the named one, or the first that accepts it."""
        if adapter_id is not None:
            registration = self.registration("adapter", adapter_id)
            if not registration.factory.accepts(client):
                raise ConfigError(f"adapter {adapter_id!r} cannot drive a {type(client).__name__}")
            return registration.factory(client)
        for registration in self.registrations("adapter"):
            if registration.factory.accepts(client):
                return registration.factory(client)
        raise ConfigError(
            f"no registered adapter drives a {type(client).__module__}.{type(client).__name__}; "
            f"adapters: {', '.join(self.ids('adapter'))}. Pass a QdrantClient, an AsyncQdrantClient, "
            "or install the plugin for your backend."
        )


_default: Registry | None = None
_lock = threading.Lock()


def get_registry(*, refresh: bool = False) -> Registry:
    """The process-wide registry, built on first use (never at import time)."""
    global _default
    with _lock:
        if _default is None or refresh:
            from .manager import make_plugin_manager

            _default = Registry(make_plugin_manager())
        return _default


def build_registry(extra_plugins: Iterable[object] = (), **kwargs: Any) -> Registry:
    """A new, independent registry (tests and applications that want isolation)."""
    from .manager import make_plugin_manager

    return Registry(make_plugin_manager(extra_plugins=extra_plugins, **kwargs))
