"""genseek's plugin system (pluggy): hook specs, the manager factory and the registry facade."""

from .hookspecs import hookimpl, hookspec
from .manager import BUILTIN_PLUGINS, DISABLE_ENV, ENTRY_POINT_GROUP, make_plugin_manager
from .register import Register, Registration
from .registry import Registry, build_registry, get_registry

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "Register",
    "Registration",
    "Registry",
    "build_registry",
    "get_registry",
    "hookimpl",
    "hookspec",
    "make_plugin_manager",
]
