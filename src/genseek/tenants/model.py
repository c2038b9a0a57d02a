"""The per-tenant configuration model (pydantic, unknown keys rejected, every field described).

A :class:`TenantConfig` says, for one tenant of a shared collection: which encoder, sampler (and
its weights and controls) and fuser to use, whether searches are anchored (:class:`AnchorSpec`),
the search defaults, the filter always applied, the
limits a request may not exceed, which request overrides are accepted, and the tenant's
partition value (the payload value that scopes every search to the tenant's points).

Secrets are never stored (:mod:`genseek.tenants.credentials`): an option whose name looks like a
credential (``api_key``, ``token``, ``authorization``, ``private_key``, ``passphrase`` …) must be an
environment reference ``{"$env": "NAME"}``, which is replaced by the variable's value only when
the component is built (:func:`expand_env`), and no string anywhere may look like a credential
(a URL with ``user:password@``, a bearer token, a private key …).

No value is converted: the models are strict, and ``partition`` is checked by the same rule as
``search(tenant=...)`` (:func:`genseek.scope.check_tenant_value`).
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from qdrant_client.http import models

from ..contract import SearchRequest
from ..errors import ConfigError
from ..scope import check_tenant_value, parse_path
from .credentials import check_config_strings, check_options

#: Request keys a tenant-bound search never accepts: the tenant is fixed by the binding, and
#: shard routing belongs to the deployment, not to a request.
FORBIDDEN_OVERRIDES: frozenset[str] = frozenset({"tenant", "shard_key_selector"})
#: Search parameters a request may override (when the tenant allows it): every
#: :class:`~genseek.contract.SearchRequest` field but :data:`FORBIDDEN_OVERRIDES`; everything
#: else a request passes is a sampler control, checked against the sampler's ``info.controls``.
SEARCH_PARAMETERS: frozenset[str] = frozenset(SearchRequest.names()) - FORBIDDEN_OVERRIDES

#: Tenant ids: ASCII only (no look-alike letters, spaces, controls), matched in full.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


class _Strict(BaseModel):
    """Unknown keys are refused and no value is converted (``true`` is not ``1``, ``"5"`` is not ``5``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def expand_env(options: dict[str, Any], *, where: str) -> dict[str, Any]:
    """Replace every ``{"$env": "NAME"}`` in ``options`` by ``os.environ["NAME"]``.

    Raises :class:`ConfigError` naming the variable when it is unset.
    """

    def expand(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"$env"}:
                name = value["$env"]
                if name not in os.environ:
                    raise ConfigError(f"{where} refers to the environment variable {name!r}, which is not set; export it")
                return os.environ[name]
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    return {key: expand(value) for key, value in options.items()}


class ComponentSpec(_Strict):
    """A registered component (encoder or fuser) and the options it is built with."""

    id: str = Field(description="registered component id (see `genseek plugins`)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword options for the component's constructor; secrets as {'$env': 'NAME'}",
    )

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_options("options", value)


class SamplerSpec(_Strict):
    """The sampler (the prior), where its weights live and the controls it runs with."""

    id: str = Field(default="identity", description="registered sampler id (see `genseek plugins`)")
    weights: str | None = Field(
        default=None,
        description="location of the sampler's weights (a directory or file path, or a URI the sampler "
        "understands); passed to the sampler as its `weights` option",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="constructor options; secrets as {'$env': 'NAME'}")
    controls: dict[str, Any] = Field(
        default_factory=dict,
        description="default sampling controls (guidance, steps, preset, negative prompts …); names are "
        "checked against the sampler's info.controls when the configuration is resolved",
    )

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_options("sampler.options", value)

    @field_validator("controls")
    @classmethod
    def _controls(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_options("sampler.controls", value)


class AnchorSpec(_Strict):
    """Anchored search: the query embedded directly in the catalog's space, searched beside the seeds.

    See :mod:`genseek.anchor`. ``{"encoder": {"id": "hf-text"}, "weight": 4.0, "enabled": true}``
    anchors every request with the query embedded by ``hf-text``; ``{"enabled": false, ...}`` keeps
    the settings but anchors only requests that pass ``anchor=`` (``anchor`` must then be an
    allowed override).
    """

    encoder: ComponentSpec | None = Field(
        default=None,
        description="encoder that embeds the query in the catalog's own space (None: requests pass "
        "anchor=<vector> themselves); its vector size must match the collection's vector",
    )
    weight: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="fusion weight of the anchor's list (None: the library's DEFAULT_ANCHOR_WEIGHT)",
    )
    enabled: bool = Field(
        default=True, description="anchor requests that do not say otherwise (needs encoder)"
    )

    @model_validator(mode="after")
    def _enabled_needs_encoder(self) -> AnchorSpec:
        if self.enabled and self.encoder is None:
            raise ValueError(
                "an enabled anchor needs anchor.encoder (the encoder that embeds queries in the catalog's space); "
                "without one set anchor.enabled=false and let requests pass anchor=<vector> "
                "(add 'anchor' to allowed_overrides)"
            )
        return self


class SearchDefaults(_Strict):
    """Search parameters used when a request does not set them."""

    n_seeds: int = Field(default=8, ge=1, description="seed vectors sampled per query")
    limit: int = Field(default=10, ge=1, description="fused results returned per page")
    candidates: int | None = Field(default=None, ge=1, description="per-seed list depth (None: max(20, 2·(limit+offset)))")
    score_threshold: float | None = Field(default=None, description="drop fused points scoring below it")
    fusion: Literal["auto", "engine", "client"] = Field(default="auto", description="where fusion runs")
    provenance: bool = Field(default=True, description="tag points with the seeds that found them")
    consistency: int | Literal["majority", "quorum", "all"] | None = Field(
        default=None, description="read consistency sent with every request (replicated clusters; None: the server's)"
    )


class Limits(_Strict):
    """Hard limits: no request (and no default) of this tenant may exceed them."""

    max_n_seeds: int = Field(default=16, ge=1, le=256, description="largest n_seeds a request may ask for")
    max_limit: int = Field(default=100, ge=1, description="largest limit (page size) a request may ask for")
    max_offset: int = Field(default=1000, ge=0, description="largest offset a request may ask for")
    max_candidates: int = Field(default=1000, ge=1, description="largest per-seed list depth")


class TenantConfig(_Strict):
    """Everything genseek needs to serve one tenant of a shared collection."""

    schema_version: Literal[1] = Field(default=1, description="version of this configuration schema")
    collection: str = Field(description="collection (or alias) holding the tenant's points")
    vector_name: str | None = Field(default=None, description="named vector searched (None: the only dense vector)")
    tenant_field: str = Field(default="tenant", min_length=1, description="payload key holding the partition value")
    partition: StrictStr | StrictInt = Field(
        description="this tenant's value of tenant_field (a non-empty string or a 64-bit integer, never a boolean "
        "or float); every search is restricted to it"
    )
    shard_key: StrictStr | StrictInt | None = Field(
        default=None,
        description="custom shard key holding this tenant's points (collections created with sharding_method=custom); "
        "sent as shard_key_selector with every request, never settable by a request",
    )
    encoder: ComponentSpec | None = Field(default=None, description="query encoder (None: requests pass vectors)")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec, description="seed sampler, its weights and controls")
    anchor: AnchorSpec | None = Field(
        default=None, description="anchored search: the query's direct catalog-space vector searched beside the seeds"
    )
    fuser: ComponentSpec = Field(default_factory=lambda: ComponentSpec(id="rrf"), description="rank fusion")
    search: SearchDefaults = Field(default_factory=SearchDefaults, description="search defaults")
    default_filter: dict[str, Any] | None = Field(
        default=None,
        description="a Qdrant filter (JSON form of models.Filter) AND-ed with every request's filter; "
        "a request can narrow it, never remove it",
    )
    limits: Limits = Field(default_factory=Limits, description="limits requests may not exceed")
    allowed_overrides: list[str] = Field(
        default_factory=lambda: ["limit", "offset", "filter", "seed"],
        description="request parameters (search parameters or sampler control names) a request may set",
    )
    description: str = Field(default="", description="free text for operators")

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        check_config_strings(data)
        return data

    @field_validator("schema_version", mode="before")
    @classmethod
    def _schema_version(cls, value: Any) -> Any:
        if type(value) is not int:  # Literal[1] alone accepts True (True == 1)
            raise ValueError(f"schema_version is the integer 1, got {value!r}")
        return value

    @field_validator("partition", mode="before")
    @classmethod
    def _partition(cls, value: Any) -> str | int:
        return check_tenant_value(value, what="partition")

    @field_validator("shard_key", mode="before")
    @classmethod
    def _shard_key(cls, value: Any) -> str | int | None:
        return None if value is None else check_tenant_value(value, what="shard_key")

    @field_validator("tenant_field")
    @classmethod
    def _tenant_field(cls, value: str) -> str:
        parse_path(value)  # the key must be one Qdrant accepts, resolved as Qdrant resolves it
        return value

    @field_validator("default_filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                models.Filter.model_validate(value)
            except ValidationError as exc:
                raise ValueError(f"default_filter is not a valid Qdrant filter: {_first_error(exc)}") from None
        return value

    @field_validator("allowed_overrides")
    @classmethod
    def _overrides(cls, value: list[str]) -> list[str]:
        forbidden = sorted(set(value) & FORBIDDEN_OVERRIDES)
        if forbidden:
            raise ValueError(f"{', '.join(forbidden)} can never be overridden by a request of a tenant-bound search")
        return sorted(set(value))

    @model_validator(mode="after")
    def _within_limits(self) -> TenantConfig:
        if self.search.n_seeds > self.limits.max_n_seeds:
            raise ValueError(f"search.n_seeds={self.search.n_seeds} is above limits.max_n_seeds={self.limits.max_n_seeds}")
        if self.search.limit > self.limits.max_limit:
            raise ValueError(f"search.limit={self.search.limit} is above limits.max_limit={self.limits.max_limit}")
        if self.search.candidates is not None and self.search.candidates > self.limits.max_candidates:
            raise ValueError(
                f"search.candidates={self.search.candidates} is above limits.max_candidates={self.limits.max_candidates}"
            )
        return self

    @property
    def filter(self) -> models.Filter | None:
        """``default_filter`` as a :class:`qdrant_client.models.Filter`."""
        return None if self.default_filter is None else models.Filter.model_validate(self.default_filter)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "(root)"
    return f"{where}: {error.get('msg')}"


def parse_config(data: Any, *, tenant: str | None = None) -> TenantConfig:
    """Validate ``data`` (a mapping or a :class:`TenantConfig`) into a :class:`TenantConfig`.

    Raises :class:`ConfigError` listing every problem (field path and message).
    """
    if isinstance(data, TenantConfig):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"a tenant configuration is a JSON object, got {type(data).__name__}")
    try:
        return TenantConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(root)'}: {e.get('msg')}" for e in exc.errors()
        )
        who = f" for tenant {tenant!r}" if tenant else ""
        raise ConfigError(f"invalid tenant configuration{who}: {problems}") from None


def check_tenant_id(tenant: Any) -> str:
    """Tenant ids are 1-128 ASCII letters, digits and ``_ . : -``, starting with a letter or digit.

    They name stored records, so the whole id must match: no trailing newline, no control
    characters, no Unicode look-alikes or invisible characters (non-breaking or zero-width spaces,
    line separators). Returns ``tenant`` unchanged; raises :class:`ConfigError` otherwise.
    """
    if type(tenant) is not str or not _ID.fullmatch(tenant):
        raise ConfigError(
            f"invalid tenant id {tenant!r}: use 1-128 ASCII letters, digits, '_', '.', ':' or '-', starting with a "
            "letter or digit (no spaces, control, invisible or non-ASCII characters)"
        )
    return tenant


__all__ = [
    "AnchorSpec",
    "ComponentSpec",
    "FORBIDDEN_OVERRIDES",
    "Limits",
    "SEARCH_PARAMETERS",
    "SamplerSpec",
    "SearchDefaults",
    "TenantConfig",
    "check_tenant_id",
    "expand_env",
    "parse_config",
]
