"""Tenant configurations stored in Qdrant itself, versioned, cached and with history.

Layout of the genseek-owned collection (default ``genseek_tenants``; one 1-d placeholder vector,
the records are payload only):

* one **version record** per write, id ``uuid5(tenant/v<N>)``: the configuration as JSON (or a
  deletion tombstone), who wrote it, when, why, and a random writer token;
* one **head record** per tenant, id ``uuid5(tenant/head)``: the latest version number.

**Optimistic concurrency.** A write names the version it was based on. It is inserted with
``update_mode=insert_only`` under the id of the *next* version, so of two writers racing from the
same version exactly one creates that record — the server arbitrates, no lock is needed across
processes. The loser reads back a foreign writer token and gets :class:`StaleVersionError`;
nothing of its write is kept. The head record only moves forward (``update_filter``) and readers
probe past it, so a writer that crashed between the two writes leaves nothing inconsistent.

**Cached reads with bounded staleness.** :meth:`TenantStore.get` serves a copy at most
``max_staleness`` seconds old (default 5 s), so every app instance sees a change within that bound;
``max_staleness=0`` always reads through. **History** is the list of version records;
:meth:`TenantStore.rollback` writes an old version's configuration as a new version, so a rollback
is itself recorded and can be undone.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from qdrant_client.http import models

from ..errors import ConfigError, GenseekError, TenantConfigError
from ..locking import local_client_lock
from .model import TenantConfig, check_tenant_id, parse_config
from .records import StoredConfig, decode_head, decode_version, head_tenant

DEFAULT_COLLECTION = "genseek_tenants"
DEFAULT_MAX_STALENESS = 5.0
_NAMESPACE = uuid.UUID("6a0f3c1e-52d4-4c59-9a43-2f1b9c7e0d61")
_PLACEHOLDER = "genseek"


class StaleVersionError(GenseekError):
    """A configuration write was based on a version that is no longer the latest."""

    def __init__(self, tenant: str, expected: int, current: int) -> None:
        self.tenant, self.expected, self.current = tenant, expected, current
        super().__init__(
            f"tenant {tenant!r}: the write was based on version {expected}, but the latest version is {current}; "
            "nothing was written. Read the latest configuration (`genseek tenant get`), re-apply your change "
            "and write again with that version."
        )


class UnknownTenantError(GenseekError, LookupError):
    """No configuration is stored for this tenant (or it was deleted)."""

    def __init__(self, tenant: str, known: list[str], collection: str) -> None:
        self.tenant, self.known = tenant, known
        listing = ", ".join(repr(k) for k in known[:20]) or "none"
        more = f" (and {len(known) - 20} more)" if len(known) > 20 else ""
        super().__init__(
            f"unknown tenant {tenant!r}: no configuration in collection {collection!r}; known tenants: {listing}{more}. "
            "Create it with `genseek tenant set` or TenantStore.put()."
        )


def _point_id(tenant: str, what: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}/{what}"))


class TenantStore:
    """Versioned tenant configurations in a Qdrant collection (synchronous qdrant-client).

    Args:
        client: a :class:`qdrant_client.QdrantClient` (local mode, server or cluster).
        collection: the genseek-owned collection that holds the configurations.
        max_staleness: how old (seconds) a cached configuration :meth:`get` may return.
        registry: the component registry configurations are checked against (default: the
            process-wide one).
        validator: called with each configuration before it is written; raise to refuse it
            (default: :func:`genseek.tenants.resolve.check_components` with ``registry`` —
            unknown component ids and sampler controls are refused before anything is written).
        clock: monotonic clock (tests).
    """

    def __init__(
        self,
        client: Any,
        *,
        collection: str = DEFAULT_COLLECTION,
        max_staleness: float = DEFAULT_MAX_STALENESS,
        registry: Any = None,
        validator: Callable[[TenantConfig], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_staleness < 0:
            raise ConfigError(f"max_staleness must be >= 0 seconds, got {max_staleness!r}")
        self.client = client
        self.collection = collection
        self.max_staleness = float(max_staleness)
        self._validator = validator
        self.registry = registry
        self._clock = clock
        self._cache: dict[str, tuple[StoredConfig, float]] = {}
        self._lock = threading.Lock()
        #: held around every call on ``client`` when it is in local mode (genseek.local_client_lock)
        self._client_lock = local_client_lock(client)

    # -- collection -----------------------------------------------------------------------------
    def exists(self) -> bool:
        with self._client_lock:
            return bool(self.client.collection_exists(self.collection))

    def ensure_collection(self) -> None:
        """Create the configuration collection (and its payload indexes) if it is missing."""
        with self._client_lock:  # local mode: check and create as one step (no second thread creates it between)
            if self.exists():
                return
            self.client.create_collection(
                self.collection,
                vectors_config={_PLACEHOLDER: models.VectorParams(size=1, distance=models.Distance.DOT)},
            )
            with warnings.catch_warnings():  # local mode warns that payload indexes have no effect
                warnings.simplefilter("ignore", UserWarning)
                for field in ("tenant", "kind"):
                    self.client.create_payload_index(
                        self.collection, field, field_schema=models.PayloadSchemaType.KEYWORD
                    )

    # -- reads ----------------------------------------------------------------------------------
    def get(self, tenant: str, *, max_staleness: float | None = None) -> TenantConfig:
        """The tenant's current configuration; raises :class:`UnknownTenantError`."""
        return self.get_versioned(tenant, max_staleness=max_staleness).config  # type: ignore[return-value]

    def get_versioned(self, tenant: str, *, max_staleness: float | None = None) -> StoredConfig:
        """The current :class:`StoredConfig` (cached up to ``max_staleness`` seconds)."""
        check_tenant_id(tenant)
        bound = self.max_staleness if max_staleness is None else max_staleness
        now = self._clock()
        with self._lock:
            cached = self._cache.get(tenant)
        if cached is not None and now - cached[1] < bound:
            stored = cached[0]
        else:
            stored = self._read_current(tenant)
            with self._lock:
                if stored is None:
                    self._cache.pop(tenant, None)
                else:
                    self._cache[tenant] = (stored, now)
        if stored is None or stored.deleted:
            raise UnknownTenantError(tenant, self.tenants(), self.collection)
        return stored

    def current_version(self, tenant: str) -> int:
        """The latest version number (0 when the tenant was never written). Always reads through."""
        check_tenant_id(tenant)
        if not self.exists():
            return 0
        return self._latest_version(tenant)

    def tenants(self) -> list[str]:
        """Ids of the tenants that have a (non-deleted) configuration, sorted."""
        if not self.exists():
            return []
        heads = self._scroll(models.Filter(must=[_match("kind", "head")]))
        listed = []
        for payload in heads:
            tenant = head_tenant(payload, collection=self.collection)
            head_id = _point_id(tenant, "head")
            _, deleted = decode_head(payload, tenant=tenant, collection=self.collection, point_id=head_id)
            if not deleted:
                listed.append(tenant)
        return sorted(listed)

    def history(self, tenant: str) -> list[StoredConfig]:
        """Every stored version of ``tenant``, oldest first (including deletions and rollbacks).

        The versions are 1 to the latest without a gap; a record that went missing or was edited so
        that it no longer lists as this tenant's is reported (:class:`TenantConfigError`).
        """
        check_tenant_id(tenant)
        if not self.exists():
            return []
        records = self._scroll(models.Filter(must=[_match("kind", "version"), _match("tenant", tenant)]))
        decoded: dict[int, StoredConfig] = {}
        for payload in records:
            stored = decode_version(payload, tenant=tenant, collection=self.collection)
            if stored.version in decoded:
                raise TenantConfigError(tenant, f"version record {stored.version}", self.collection,
                                        "two records claim this version")
            decoded[stored.version] = stored
        for version in range(1, self._latest_version(tenant) + 1):
            if version not in decoded:  # not listed: read it by its id, which names what is wrong with it
                decoded[version] = self._decode_version(tenant, version)
        return [decoded[version] for version in sorted(decoded)]

    def version(self, tenant: str, version: int) -> StoredConfig:
        """One stored version (raises :class:`ConfigError` when it does not exist)."""
        check_tenant_id(tenant)
        if type(version) is not int or version < 1:
            raise ConfigError(f"a configuration version is an integer >= 1, got {version!r}")
        record = self._retrieve(_point_id(tenant, f"v{version}")) if self.exists() else None
        if record is None:
            raise ConfigError(f"tenant {tenant!r} has no version {version}; see `genseek tenant history {tenant}`")
        return decode_version(record, tenant=tenant, collection=self.collection, version=version)

    # -- writes ---------------------------------------------------------------------------------
    def put(
        self,
        tenant: str,
        config: TenantConfig | dict[str, Any],
        *,
        expected_version: int,
        author: str = "",
        comment: str = "",
    ) -> StoredConfig:
        """Write ``config`` as the tenant's next version.

        ``expected_version`` is the version the change was based on (0 for a new tenant). The
        configuration is validated (model, then components) before anything is written.

        Raises:
            ConfigError: the configuration is invalid (nothing written).
            StaleVersionError: another write happened since ``expected_version`` (nothing written).
        """
        check_tenant_id(tenant)
        parsed = parse_config(config, tenant=tenant)
        self._validate(parsed)
        return self._write(tenant, parsed, expected_version=expected_version, author=author, comment=comment)

    def delete(self, tenant: str, *, expected_version: int, author: str = "", comment: str = "") -> StoredConfig:
        """Record a deletion (a tombstone version; :meth:`rollback` can restore the tenant)."""
        check_tenant_id(tenant)
        return self._write(tenant, None, expected_version=expected_version, author=author, comment=comment or "deleted")

    def rollback(
        self, tenant: str, to_version: int, *, expected_version: int | None = None, author: str = "", comment: str = ""
    ) -> StoredConfig:
        """Write version ``to_version``'s configuration again, as a new version.

        ``expected_version`` defaults to the current version (read now); pass it to make sure
        nobody changed the tenant since you looked at its history.
        """
        target = self.version(tenant, to_version)
        expected = self.current_version(tenant) if expected_version is None else expected_version
        if target.config is not None:
            self._validate(target.config)
        return self._write(
            tenant, target.config, expected_version=expected, author=author, comment=comment or f"rollback to v{to_version}"
        )

    def invalidate(self, tenant: str | None = None) -> None:
        """Drop cached configurations (one tenant, or all)."""
        with self._lock:
            if tenant is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant, None)

    # -- internals ------------------------------------------------------------------------------
    def _validate(self, config: TenantConfig) -> None:
        if self._validator is not None:
            self._validator(config)
            return
        from .resolve import check_components

        check_components(config, self.registry)

    def _write(
        self, tenant: str, config: TenantConfig | None, *, expected_version: int, author: str, comment: str
    ) -> StoredConfig:
        if not isinstance(expected_version, int) or isinstance(expected_version, bool) or expected_version < 0:
            raise ConfigError(f"expected_version must be an integer >= 0 (0 for a new tenant), got {expected_version!r}")
        self.ensure_collection()
        current = self._latest_version(tenant)
        if current != expected_version:
            raise StaleVersionError(tenant, expected_version, current)
        if config is None and (current == 0 or self._decode_version(tenant, current).deleted):
            raise UnknownTenantError(tenant, self.tenants(), self.collection)
        version = current + 1
        token = uuid.uuid4().hex
        written_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        payload = {
            "kind": "version",
            "tenant": tenant,
            "version": version,
            "deleted": config is None,
            "config_json": None if config is None else config.model_dump_json(),
            "written_at": written_at,
            "author": author,
            "comment": comment,
            "writer": token,
        }
        with self._client_lock:
            self.client.upsert(
                self.collection,
                [models.PointStruct(id=_point_id(tenant, f"v{version}"), vector={_PLACEHOLDER: [0.0]},
                                    payload=payload)],
                update_mode=models.UpdateMode.INSERT_ONLY,
            )
        stored = self._retrieve(_point_id(tenant, f"v{version}"))
        if stored is None or stored.get("writer") != token:
            raise StaleVersionError(tenant, expected_version, self._latest_version(tenant))
        self._advance_head(tenant, version, deleted=config is None)
        self.invalidate(tenant)
        return decode_version(payload, tenant=tenant, collection=self.collection, version=version)

    def _advance_head(self, tenant: str, version: int, *, deleted: bool) -> None:
        head = {"kind": "head", "tenant": tenant, "version": version, "deleted": deleted}
        with self._client_lock:
            self.client.upsert(
                self.collection,
                [models.PointStruct(id=_point_id(tenant, "head"), vector={_PLACEHOLDER: [0.0]}, payload=head)],
                update_filter=models.Filter(
                    must=[models.FieldCondition(key="version", range=models.Range(lt=version))]
                ),
            )

    def _latest_version(self, tenant: str) -> int:
        head_id = _point_id(tenant, "head")
        head = self._retrieve(head_id)
        if head is None:
            version = 0
        else:
            version, _ = decode_head(head, tenant=tenant, collection=self.collection, point_id=head_id)
        while True:  # a writer may have stopped between its version record and the head update
            following = self._retrieve(_point_id(tenant, f"v{version + 1}"))
            if following is None:
                return version
            version += 1

    def _decode_version(self, tenant: str, version: int) -> StoredConfig:
        record = self._retrieve(_point_id(tenant, f"v{version}"))
        if record is None:
            raise TenantConfigError(tenant, f"version record {version}", self.collection, "the record is missing")
        return decode_version(record, tenant=tenant, collection=self.collection, version=version)

    def _read_current(self, tenant: str) -> StoredConfig | None:
        if not self.exists():
            return None
        version = self._latest_version(tenant)
        return None if version == 0 else self._decode_version(tenant, version)

    def _retrieve(self, point_id: str) -> dict[str, Any] | None:
        with self._client_lock:
            records = self.client.retrieve(self.collection, [point_id], with_payload=True, with_vectors=False)
        return dict(records[0].payload or {}) if records else None

    def _scroll(self, scroll_filter: models.Filter) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            with self._client_lock:
                records, offset = self.client.scroll(
                    self.collection, scroll_filter=scroll_filter, limit=256, offset=offset, with_payload=True
                )
            out.extend(dict(r.payload or {}) for r in records)
            if offset is None:
                return out


def _match(key: str, value: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


__all__ = ["DEFAULT_COLLECTION", "StaleVersionError", "StoredConfig", "TenantStore", "UnknownTenantError"]
