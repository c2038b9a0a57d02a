"""Resolution: library defaults → tenant configuration → request overrides the tenant allows.

:func:`resolve_request` is the one function that decides what a tenant-bound search runs with. It
is pure (no I/O) so it is tested directly:

1. start from the :class:`~genseek.contract.SearchRequest` defaults (:data:`LIBRARY_DEFAULTS`);
2. apply the tenant's ``search`` defaults, the sampler's default ``controls`` and the anchor
   default (a disabled ``anchor`` section resolves to ``anchor=False`` unless the request says so);
3. apply the request's keys — each must be a search parameter or a control of the tenant's sampler,
   must be listed in ``allowed_overrides``, and may never be ``tenant``/``shard_key_selector``;
4. enforce ``limits`` on the result (whatever set the value);
5. the filter sent is ``default_filter AND request filter``; the search then ANDs the tenant's
   partition condition on top (:func:`genseek.scope.scoped_filter`), so a request can narrow
   the result set, never widen it or leave the tenant's partition.

Each layer is a ``SearchRequest.model_copy(update=...)``: the result is a ``SearchRequest``, and
the names a request or ``allowed_overrides`` may use are its fields
(:data:`~genseek.tenants.model.SEARCH_PARAMETERS`). Values are checked when the search plans
the request, as for any other search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrant_client.http import models

from ..contract import SearchRequest
from ..errors import ConfigError, InvalidRequestError
from ..plugin.registry import Registry, get_registry
from ..scope import check_filter
from .model import FORBIDDEN_OVERRIDES, SEARCH_PARAMETERS, TenantConfig, expand_env

#: What a search uses when neither the tenant nor the request says otherwise: the
#: :class:`~genseek.contract.SearchRequest` defaults of the parameters a request may set.
LIBRARY_DEFAULTS: dict[str, Any] = {
    name: default for name, default in SearchRequest.defaults().items() if name in SEARCH_PARAMETERS
}


@dataclass(frozen=True)
class ResolvedRequest:
    """What a tenant-bound request resolves to: a :class:`~genseek.contract.SearchRequest` (its
    ``tenant`` set to the tenant's partition value) and the sampler controls."""

    request: SearchRequest
    controls: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The request as :meth:`GenerativeSearch.search` keyword arguments: every parameter a
        request may set, plus those the binding set (``tenant``, and ``shard_key_selector`` when the
        tenant routes to a shard)."""
        chosen = SEARCH_PARAMETERS | self.request.model_fields_set
        return {name: getattr(self.request, name) for name in SearchRequest.names() if name in chosen}

    def search_kwargs(self) -> dict[str, Any]:
        return {**self.params, **self.controls}


def resolve_request(
    config: TenantConfig,
    request: Mapping[str, Any],
    *,
    sampler_controls: frozenset[str] | set[str],
    tenant: str = "",
) -> ResolvedRequest:
    """Layer defaults, the tenant's configuration and the allowed request overrides.

    Args:
        config: the tenant's configuration.
        request: the request's keyword arguments (without ``query``/``vector``).
        sampler_controls: the names the tenant's sampler accepts (``sampler.info.controls``).
        tenant: the tenant id, for error messages.

    Raises:
        InvalidRequestError: a forbidden, unknown or not-allowed override, or a value above the
            tenant's limits. Nothing is sent.
    """
    who = f"tenant {tenant!r}" if tenant else "this tenant"
    forbidden = sorted(set(request) & FORBIDDEN_OVERRIDES)
    if forbidden:
        raise InvalidRequestError(
            f"{who}: {', '.join(forbidden)} cannot be set on a tenant-bound search; the tenant's partition "
            f"({config.tenant_field}={config.partition!r}) is fixed by the binding"
        )
    controls_known = set(sampler_controls)
    unknown = sorted(k for k in request if k not in SEARCH_PARAMETERS and k not in controls_known)
    if unknown:
        raise InvalidRequestError(
            f"{who}: unknown request parameter(s) {', '.join(unknown)}; search parameters are "
            f"{', '.join(sorted(SEARCH_PARAMETERS))} and sampler {config.sampler.id!r} accepts the controls "
            f"{', '.join(sorted(controls_known)) or 'none'}"
        )
    allowed = set(config.allowed_overrides)
    refused = sorted(k for k in request if k not in allowed)
    if refused:
        raise InvalidRequestError(
            f"{who} does not allow requests to set {', '.join(refused)}; allowed overrides: "
            f"{', '.join(sorted(allowed)) or 'none'}. Add them to allowed_overrides with `genseek tenant set` to allow them."
        )

    tenant_defaults: dict[str, Any] = {
        "n_seeds": config.search.n_seeds,
        "limit": config.search.limit,
        "candidates": config.search.candidates,
        "score_threshold": config.search.score_threshold,
        "consistency": config.search.consistency,
    }
    if config.anchor is not None and not config.anchor.enabled:
        tenant_defaults["anchor"] = False
    overrides = {key: value for key, value in request.items() if key in SEARCH_PARAMETERS}
    controls = {**config.sampler.controls, **{k: v for k, v in request.items() if k not in SEARCH_PARAMETERS}}
    resolved = SearchRequest().model_copy(update=tenant_defaults).model_copy(update=overrides)

    limits = config.limits
    _within(who, "n_seeds", resolved.n_seeds, limits.max_n_seeds, "limits.max_n_seeds")
    _within(who, "limit", resolved.limit, limits.max_limit, "limits.max_limit")
    _within(who, "offset", resolved.offset, limits.max_offset, "limits.max_offset")
    if resolved.candidates is not None:
        _within(who, "candidates", resolved.candidates, limits.max_candidates, "limits.max_candidates")

    binding: dict[str, Any] = {"filter": _and(config.filter, check_filter(resolved.filter)), "tenant": config.partition}
    if config.shard_key is not None:  # cluster routing comes from the deployment, never from the request
        binding["shard_key_selector"] = config.shard_key
    return ResolvedRequest(request=resolved.model_copy(update=binding), controls=controls)


def _within(who: str, name: str, value: Any, high: int, limit_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be an integer, got {value!r}")
    if value > high:
        raise InvalidRequestError(f"{who}: {name}={value} is above its {limit_name}={high}")


def _and(first: models.Filter | None, second: models.Filter | None) -> models.Filter | None:
    parts = [f for f in (first, second) if f is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else models.Filter(must=parts)


# -- components ---------------------------------------------------------------------------------
def component_kwargs(config: TenantConfig) -> dict[str, Any]:
    """``GenerativeSearch`` constructor arguments for the tenant (environment references expanded)."""
    sampler_options = expand_env(dict(config.sampler.options), where="sampler.options")
    if config.sampler.weights is not None:
        sampler_options["weights"] = config.sampler.weights
    return {
        "encoder": None if config.encoder is None else config.encoder.id,
        "encoder_options": None if config.encoder is None else expand_env(dict(config.encoder.options), where="encoder.options"),
        "sampler": config.sampler.id,
        "sampler_options": sampler_options,
        "fuser": config.fuser.id,
        "fuser_options": expand_env(dict(config.fuser.options), where="fuser.options"),
        "vector_name": config.vector_name,
        "tenant_field": config.tenant_field,
        "max_seeds": config.limits.max_n_seeds,
        "fusion": config.search.fusion,
        "provenance": config.search.provenance,
        **_anchor_kwargs(config),
    }


def _anchor_kwargs(config: TenantConfig) -> dict[str, Any]:
    """The anchor constructor arguments (none without an ``anchor`` section: the library defaults)."""
    anchor = config.anchor
    if anchor is None:
        return {}
    kwargs: dict[str, Any] = {}
    if anchor.encoder is not None:
        kwargs["anchor_encoder"] = anchor.encoder.id
        kwargs["anchor_encoder_options"] = expand_env(dict(anchor.encoder.options), where="anchor.encoder.options")
    if anchor.weight is not None:
        kwargs["anchor_weight"] = anchor.weight
    return kwargs


def check_components(config: TenantConfig, registry: Registry | None = None) -> None:
    """Check a configuration against the registered components before it is stored or used.

    Unknown encoder/sampler/fuser ids raise :class:`~genseek.errors.UnknownComponentError`
    (listing what is available); sampler controls and allowed overrides that the sampler does not
    accept raise :class:`ConfigError`. The sampler is instantiated (weights load lazily), the
    encoder is not.
    """
    registry = registry or get_registry()
    if config.encoder is not None:
        registry.registration("encoder", config.encoder.id)
    if config.anchor is not None and config.anchor.encoder is not None:
        registry.registration("encoder", config.anchor.encoder.id)
    registry.registration("fuser", config.fuser.id)
    registry.registration("sampler", config.sampler.id)
    kwargs = component_kwargs(config)
    sampler = registry.create("sampler", config.sampler.id, **kwargs["sampler_options"])
    accepted = set(sampler.info.controls)
    bad = sorted(set(config.sampler.controls) - accepted)
    if bad:
        raise ConfigError(
            f"sampler {config.sampler.id!r} does not accept the control(s) {', '.join(bad)}; "
            f"it accepts: {', '.join(sorted(accepted)) or 'none'}"
        )
    overrides = sorted(set(config.allowed_overrides) - SEARCH_PARAMETERS - accepted)
    if overrides:
        raise ConfigError(
            f"allowed_overrides names {', '.join(overrides)}, which is neither a search parameter "
            f"({', '.join(sorted(SEARCH_PARAMETERS))}) nor a control of sampler {config.sampler.id!r}"
        )


__all__ = ["LIBRARY_DEFAULTS", "ResolvedRequest", "check_components", "component_kwargs", "resolve_request"]
