"""The typed ``register`` objects handed to registration hooks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PluginError

#: Component ids: lowercase letters, digits, ``-``, ``_`` and ``.``, starting with a letter.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Registration:
    """One registered component.

    Attributes:
        kind: ``encoder`` | ``sampler`` | ``fuser`` | ``adapter``.
        id: the component id.
        factory: the class (or callable) that builds an instance from keyword options.
        plugin: name of the plugin that registered it.
        aliases: other ids that resolve to it.
    """

    kind: str
    id: str
    factory: Callable[..., Any]
    plugin: str
    aliases: tuple[str, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """Class-level metadata (no instance is created, no weights are loaded)."""
        keys = ("description", "modalities", "dim", "distance", "normalized", "controls", "client_side", "is_async")
        meta: dict[str, Any] = {}
        for key in keys:
            value = getattr(self.factory, key, None)
            if value is None or callable(value) or isinstance(value, property):
                continue
            meta[key] = sorted(value) if isinstance(value, (set, frozenset)) else value
        return meta


@dataclass
class Register:
    """Collects the components one plugin registers for one kind.

    Call it: ``register(ComponentClass, id=None, aliases=())``. ``ComponentClass`` must subclass
    one of ``bases`` (or, for a factory function, pass ``id=``).
    """

    kind: str
    bases: tuple[type, ...]
    plugin: str
    _sink: Callable[[Registration], None] = field(repr=False)

    def __call__(self, factory: Callable[..., Any], *, id: str | None = None, aliases: tuple[str, ...] = ()) -> None:
        component_id = id or getattr(factory, "id", None)
        if not isinstance(component_id, str) or not ID_PATTERN.match(component_id):
            raise PluginError(
                f"plugin {self.plugin!r} registered a {self.kind} with invalid id {component_id!r}; "
                "ids are lowercase letters, digits, '-', '_' or '.', starting with a letter"
            )
        if isinstance(factory, type) and not issubclass(factory, self.bases):
            raise PluginError(
                f"plugin {self.plugin!r} registered {factory.__qualname__} as {self.kind} "
                f"{component_id!r}, but it does not subclass "
                + " or ".join(f"{b.__module__}.{b.__qualname__}" for b in self.bases)
            )
        if not callable(factory):
            raise PluginError(f"plugin {self.plugin!r} registered a non-callable {self.kind} {component_id!r}")
        for alias in aliases:
            if not ID_PATTERN.match(alias):
                raise PluginError(f"plugin {self.plugin!r}: invalid alias {alias!r} for {self.kind} {component_id!r}")
        self._sink(Registration(self.kind, component_id, factory, self.plugin, tuple(aliases)))
