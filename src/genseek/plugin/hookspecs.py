"""Hook specifications: the whole plugin API of genseek.

A plugin is any module or object with functions decorated by :data:`genseek.hookimpl` whose names
match the specs below. Distributions expose plugins through the ``genseek`` entry-point group::

    [project.entry-points.genseek]
    my_plugin = "my_package.genseek_plugin"

Every hook here is a *registration* hook: it fires once per plugin, when the registry is built
(:func:`genseek.plugin.get_registry`), receives a typed ``register`` object bound to the calling
plugin, and returns nothing. The register validates each component and rejects duplicate ids
with a :class:`~genseek.errors.PluginError` naming both plugins — component ids end up stored in
collections and tenant configurations, so they are never silently renamed.

Built-in components are registered through these same hooks (``genseek.*.builtin`` modules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .register import Register

PROJECT_NAME = "genseek"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_encoders(register: Register) -> None:
    """Register :class:`~genseek.encoders.base.Encoder` subclasses (or factories).

    Call ``register(EncoderClass)``; the id is ``EncoderClass.id`` unless ``id=`` is given.
    Metadata must be readable from the class without loading weights. Fires once per plugin
    when the registry is built; the return value is ignored.
    """


@hookspec
def register_samplers(register: Register) -> None:
    """Register :class:`~genseek.samplers.base.Sampler` subclasses (or factories).

    Call ``register(SamplerClass)``. Fires once per plugin when the registry is built; the
    return value is ignored.
    """


@hookspec
def register_fusers(register: Register) -> None:
    """Register :class:`~genseek.fusers.base.Fuser` subclasses (or factories).

    Call ``register(FuserClass)``. Fires once per plugin when the registry is built; the
    return value is ignored.
    """


@hookspec
def register_adapters(register: Register) -> None:
    """Register storage :class:`~genseek.adapters.base.Adapter` (or ``AsyncAdapter``) subclasses.

    Call ``register(AdapterClass)``. When a search is created for a client object, the first
    registered adapter whose ``accepts(client)`` is true drives it (plugins load before the
    built-ins, so a plugin can take over a client type). Fires once per plugin when the registry
    is built; the return value is ignored.
    """
