"""Decoding the records of the configuration store, refusing anything that was not written by it.

Every record read back from the store's collection is checked field by field before it is used;
a record that was hand-edited, truncated, copied under another tenant's id or written by
something else raises :class:`~genseek.errors.TenantConfigError` naming the tenant and the record
(never a raw ``JSONDecodeError``, ``KeyError``, ``TypeError`` or ``ValueError``), and nothing is
served from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, TenantConfigError
from .model import TenantConfig, check_tenant_id, parse_config

#: The payload of a version record: required fields, then optional ones (all strings).
VERSION_FIELDS = ("kind", "tenant", "version", "deleted", "config_json")
VERSION_TEXT_FIELDS = ("written_at", "author", "comment", "writer")
#: The payload of a head record.
HEAD_FIELDS = ("kind", "tenant", "version", "deleted")


@dataclass(frozen=True)
class StoredConfig:
    """One version of a tenant's configuration as stored (``config`` is ``None`` for a deletion).

    ``writer`` is the random token of the write that created the record: it identifies the record
    itself, so a store that was re-created or restored (versions starting again at 1) is told apart
    from the one a searcher was bound to, even at the same version number.
    """

    tenant: str
    version: int
    config: TenantConfig | None
    written_at: str
    author: str
    comment: str
    writer: str = ""

    @property
    def deleted(self) -> bool:
        return self.config is None

    def same_record(self, other: StoredConfig | None) -> bool:
        """Whether ``other`` is this very record (same version, written by the same write)."""
        return other is not None and (self.version, self.writer) == (other.version, other.writer)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "version": self.version,
            "deleted": self.deleted,
            "written_at": self.written_at,
            "author": self.author,
            "comment": self.comment,
            "config": None if self.config is None else self.config.model_dump(mode="json"),
        }


class _Corrupt(Exception):
    """A problem found in a record (turned into a TenantConfigError by the caller)."""


def decode_version(payload: Any, *, tenant: str, collection: str, version: int | None = None) -> StoredConfig:
    """A version record of ``tenant`` (version ``version`` when the caller knows which it read).

    Raises :class:`TenantConfigError` for any record that is not exactly what the store writes.
    """
    record = f"version record {version}" if version is not None else "a version record"
    try:
        fields = _fields(payload, VERSION_FIELDS, VERSION_TEXT_FIELDS, kind="version", tenant=tenant)
        number = _integer(fields["version"], low=1)
        if version is not None and number != version:
            raise _Corrupt(f"it says version {number!r}, but it is stored as version {version}")
        record = f"version record {number}"
        deleted = _boolean(fields["deleted"])
        config = _config(fields["config_json"], deleted, tenant)
    except _Corrupt as exc:
        raise TenantConfigError(tenant, record, collection, str(exc)) from None
    return StoredConfig(
        tenant=tenant,
        version=number,
        config=config,
        written_at=fields.get("written_at", ""),
        author=fields.get("author", ""),
        comment=fields.get("comment", ""),
        writer=fields.get("writer", ""),
    )


def decode_head(payload: Any, *, tenant: str, collection: str, point_id: str) -> tuple[int, bool]:
    """``(latest version, deleted)`` from ``tenant``'s head record; raises :class:`TenantConfigError`."""
    try:
        fields = _fields(payload, HEAD_FIELDS, (), kind="head", tenant=tenant)
        return _integer(fields["version"], low=0), _boolean(fields["deleted"])
    except _Corrupt as exc:
        raise TenantConfigError(
            tenant, f"head record (point {point_id})", collection, str(exc),
            fix=f"delete that point from {collection!r} (the latest version is then found from the version records "
            "and the head is written again by the next write) or restore the collection from a backup",
        ) from None


def head_tenant(payload: Any, *, collection: str) -> str:
    """The tenant a head record (read by listing) belongs to; raises :class:`TenantConfigError`."""
    tenant = payload.get("tenant") if isinstance(payload, dict) else None
    try:
        return check_tenant_id(tenant)
    except ConfigError:
        raise TenantConfigError(
            str(tenant), "head record", collection, f"its tenant field {tenant!r} is not a valid tenant id",
            fix=f"delete that head record from {collection!r} or restore the collection from a backup",
        ) from None


def _fields(
    payload: Any, required: tuple[str, ...], text: tuple[str, ...], *, kind: str, tenant: str
) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise _Corrupt(f"its payload is a {type(payload).__name__}, not an object")
    missing = [name for name in required if name not in payload]
    if missing:
        raise _Corrupt(f"it lacks the field(s) {', '.join(missing)}")
    extra = sorted(str(name) for name in payload if name not in required and name not in text)
    if extra:
        raise _Corrupt(f"it has unexpected field(s) {', '.join(extra)}")
    if payload["kind"] != kind:
        raise _Corrupt(f"its kind is {payload['kind']!r}, expected {kind!r}")
    if payload["tenant"] != tenant or type(payload["tenant"]) is not str:
        raise _Corrupt(f"it names the tenant {payload['tenant']!r}")
    for name in text:
        if name in payload and type(payload[name]) is not str:
            raise _Corrupt(f"its {name} is {payload[name]!r}, expected a string")
    return payload


def _integer(value: Any, *, low: int) -> int:
    if type(value) is not int or value < low:
        raise _Corrupt(f"its version is {value!r}, expected an integer >= {low}")
    return value


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Corrupt(f"its deleted flag is {value!r}, expected true or false")
    return value


def _config(raw: Any, deleted: bool, tenant: str) -> TenantConfig | None:
    if deleted:
        if raw is not None:
            raise _Corrupt("it is a deletion but holds a configuration")
        return None
    if type(raw) is not str:
        raise _Corrupt(f"its config_json is {type(raw).__name__}, expected the configuration as a JSON string")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _Corrupt(f"its config_json is not valid JSON ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise _Corrupt(f"its config_json holds a JSON {type(data).__name__}, not an object")
    try:
        return parse_config(data, tenant=tenant)
    except ConfigError as exc:
        raise _Corrupt(str(exc)) from None
    except RecursionError:
        raise _Corrupt("its configuration is nested too deeply") from None


__all__ = ["StoredConfig", "decode_head", "decode_version", "head_tenant"]
