"""The migration ledger: what ran on which collection, when, with which parameters, and where a
backfill stopped — stored in a genseek-owned Qdrant collection (default ``genseek_migrations``).

One record per (target collection, step name), id ``uuid5(target/name)``. Status moves
``running`` → ``applied`` (or ``failed``, resumable) → ``rolled_back``. ``checkpoint`` holds a
backfill's scroll offset and counts, rewritten after every batch; ``state`` holds what a step needs
to be rolled back (e.g. whether it created the collection, the alias's previous target).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from qdrant_client.http import models

from ..errors import GenseekError

DEFAULT_LEDGER = "genseek_migrations"
_NAMESPACE = uuid.UUID("0b7e9f24-51a6-4f0c-8d1e-7a3c5b9d2e48")
_PLACEHOLDER = "genseek"


class MigrationLockedError(GenseekError):
    """Another migrator holds the target's lock (two runs of one plan must not interleave)."""


def new_owner() -> str:
    """A lock owner id: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Ledger:
    """Read and write ledger records (synchronous qdrant-client)."""

    def __init__(self, client: Any, collection: str = DEFAULT_LEDGER) -> None:
        self.client = client
        self.collection = collection

    def _id(self, target: str, name: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{target}/{name}"))

    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.collection))

    def ensure(self) -> None:
        if not self.exists():
            self.client.create_collection(
                self.collection, vectors_config={_PLACEHOLDER: models.VectorParams(size=1, distance=models.Distance.DOT)}
            )

    def get(self, target: str, name: str) -> dict[str, Any] | None:
        """The record of step ``name`` on ``target`` (decoded), or ``None``."""
        if not self.exists():
            return None
        records = self.client.retrieve(self.collection, [self._id(target, name)], with_payload=True)
        return _decode(records[0].payload) if records else None

    def entries(self, target: str) -> list[dict[str, Any]]:
        """All records of ``target``, in the order the steps were first started."""
        if not self.exists():
            return []
        out: list[dict[str, Any]] = []
        offset = None
        flt = models.Filter(must=[models.FieldCondition(key="target", match=models.MatchValue(value=target))])
        while True:
            records, offset = self.client.scroll(self.collection, scroll_filter=flt, limit=256, offset=offset, with_payload=True)
            out.extend(_decode(r.payload) for r in records)
            if offset is None:
                return sorted(out, key=lambda e: (e.get("position", 0), e.get("started_at", "")))

    def write(self, target: str, name: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the record (creating it) and store it; returns the new record."""
        self.ensure()
        record = self.get(target, name) or {"target": target, "name": name}
        record.update(fields)
        record["updated_at"] = _now()
        payload = {k: (json.dumps(v) if k in ("params", "state", "checkpoint") else v) for k, v in record.items()}
        self.client.upsert(
            self.collection,
            [models.PointStruct(id=self._id(target, name), vector={_PLACEHOLDER: [0.0]}, payload=payload)],
        )
        return record

    def start(self, target: str, name: str, *, op: str, params: dict[str, Any], position: int) -> dict[str, Any]:
        previous = self.get(target, name) or {}
        return self.write(
            target,
            name,
            op=op,
            params=params,
            position=position,
            status="running",
            started_at=previous.get("started_at") if previous.get("status") in ("running", "failed") else _now(),
            finished_at=None,
            error=None,
            checkpoint=previous.get("checkpoint") if previous.get("status") in ("running", "failed") else None,
            state=previous.get("state") if previous.get("status") in ("running", "failed") else None,
        )

    def checkpoint(self, target: str, name: str, checkpoint: dict[str, Any]) -> None:
        self.write(target, name, checkpoint=checkpoint)

    def finish(self, target: str, name: str, *, state: dict[str, Any]) -> dict[str, Any]:
        return self.write(target, name, status="applied", finished_at=_now(), state=state)

    def fail(self, target: str, name: str, error: BaseException) -> None:
        self.write(target, name, status="failed", error=f"{type(error).__name__}: {error}")

    def rolled_back(self, target: str, name: str) -> None:
        self.write(target, name, status="rolled_back", rolled_back_at=_now())

    # -- lock: one migrator per target at a time ---------------------------------------------------
    def acquire(self, target: str, owner: str, *, stale_after: float = 900.0, force: bool = False) -> None:
        """Take the target's lock (insert-only, so two racing migrators cannot both get it).

        A lock whose holder has not written for ``stale_after`` seconds (a crashed run) is taken
        over; ``force`` takes it over at once. Raises :class:`MigrationLockedError` otherwise.
        """
        self.ensure()
        point_id = self._id(target, "__lock__")
        payload = {"kind": "lock", "lock_target": target, "owner": owner, "heartbeat": time.time(), "since": _now()}
        point = models.PointStruct(id=point_id, vector={_PLACEHOLDER: [0.0]}, payload=payload)
        self.client.upsert(self.collection, [point], update_mode=models.UpdateMode.INSERT_ONLY)
        holder = self._lock(target)
        if holder is None or holder.get("owner") == owner:
            return
        age = time.time() - float(holder.get("heartbeat", 0))
        if not force and age <= stale_after:
            raise MigrationLockedError(
                f"another migration of {target!r} is running (owner {holder.get('owner')}, since {holder.get('since')}, "
                f"last active {age:.0f} s ago); wait for it, or if it crashed, take the lock over with "
                "`genseek migrate apply --break-lock` (Migrator(..., break_lock=True))"
            )
        self.client.upsert(self.collection, [point])
        if (self._lock(target) or {}).get("owner") != owner:  # pragma: no cover - lost a takeover race
            raise MigrationLockedError(f"another migrator took the lock of {target!r} at the same moment; retry")

    def heartbeat(self, target: str, owner: str) -> None:
        """Refresh the lock (called after every backfill batch) — only while ``owner`` holds it."""
        self.client.set_payload(
            self.collection,
            {"heartbeat": time.time()},
            points=models.Filter(
                must=[
                    models.HasIdCondition(has_id=[self._id(target, "__lock__")]),
                    models.FieldCondition(key="owner", match=models.MatchValue(value=owner)),
                ]
            ),
        )

    def release(self, target: str, owner: str) -> None:
        if not self.exists():
            return
        self.client.delete(
            self.collection,
            points_selector=models.Filter(
                must=[
                    models.HasIdCondition(has_id=[self._id(target, "__lock__")]),
                    models.FieldCondition(key="owner", match=models.MatchValue(value=owner)),
                ]
            ),
        )

    def _lock(self, target: str) -> dict[str, Any] | None:
        records = self.client.retrieve(self.collection, [self._id(target, "__lock__")], with_payload=True)
        return dict(records[0].payload or {}) if records else None


def _decode(payload: dict[str, Any] | None) -> dict[str, Any]:
    record = dict(payload or {})
    for key in ("params", "state", "checkpoint"):
        if isinstance(record.get(key), str):
            record[key] = json.loads(record[key])
    return record


__all__ = ["DEFAULT_LEDGER", "Ledger", "MigrationLockedError", "new_owner"]
