"""The plugin-manager factory.

:func:`make_plugin_manager` builds a fresh :class:`pluggy.PluginManager` — nothing is loaded at
import time — in this order: hook specs → entry-point plugins of the ``genseek`` group (minus
those named in ``GENSEEK_DISABLE_PLUGINS``) → genseek's built-in plugins → ``check_pending()``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from importlib import metadata

import pluggy

from ..errors import PluginError
from . import hookspecs

ENTRY_POINT_GROUP = "genseek"
DISABLE_ENV = "GENSEEK_DISABLE_PLUGINS"

#: Modules holding genseek's own hook implementations; they go through the same hooks as plugins.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "genseek.encoders.builtin",
    "genseek.samplers.builtin",
    "genseek.fusers.builtin",
    "genseek.adapters.builtin",
)


def disabled_plugins(environ: dict[str, str] | None = None) -> frozenset[str]:
    """Names listed (comma-separated) in ``GENSEEK_DISABLE_PLUGINS``."""
    raw = (environ if environ is not None else os.environ).get(DISABLE_ENV, "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def make_plugin_manager(
    *, extra_plugins: Iterable[object] = (), load_entry_points: bool = True, disabled: Iterable[str] | None = None
) -> pluggy.PluginManager:
    """Build a plugin manager with entry-point plugins, ``extra_plugins`` and the built-ins.

    Args:
        extra_plugins: plugin objects/modules to register directly (tests, applications).
        load_entry_points: load the ``genseek`` entry-point group.
        disabled: plugin names to skip; defaults to ``GENSEEK_DISABLE_PLUGINS``.

    Raises:
        PluginError: a plugin failed to import (the message names it and its distribution),
            or implements a hook that does not exist.
    """
    blocked = disabled_plugins() if disabled is None else frozenset(disabled)
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in blocked or pm.has_plugin(entry_point.name):
                continue
            _register(pm, _load_entry_point(entry_point), entry_point.name, _dist_label(entry_point))
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if name not in blocked:
            _register(pm, plugin, name, "extra_plugins")
    for module_name in BUILTIN_PLUGINS:
        if module_name not in blocked:
            _register(pm, importlib.import_module(module_name), module_name, "genseek (built-in)")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements a hook genseek does not define: {exc}") from exc
    return pm


def _load_entry_point(entry_point: metadata.EntryPoint) -> object:
    try:
        return entry_point.load()
    except Exception as exc:  # noqa: BLE001 - any import failure must name the plugin
        raise PluginError(
            f"genseek plugin {entry_point.name!r} ({entry_point.value}) from distribution "
            f"{_dist_label(entry_point)} failed to load: {type(exc).__name__}: {exc}. "
            f"Fix or uninstall that distribution, or skip it with {DISABLE_ENV}={entry_point.name}"
        ) from exc


def _register(pm: pluggy.PluginManager, plugin: object, name: str, origin: str) -> None:
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"genseek plugin {name!r} from {origin} could not be registered: {exc}") from exc


def _dist_label(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"
