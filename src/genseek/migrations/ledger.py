"""The migration ledger: what ran on which collection, when, with which parameters, and where a
backfill stopped — stored in a genseek-owned Qdrant collection (default ``genseek_migrations``).

It also holds one lock record per target (``owner``, fencing ``token``, ``heartbeat`` time,
``heartbeat_every``, ``since``); see :mod:`genseek.migrations.lock` for how it is held.

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
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from qdrant_client.http import models

from ..errors import GenseekError

DEFAULT_LEDGER = "genseek_migrations"
_NAMESPACE = uuid.UUID("0b7e9f24-51a6-4f0c-8d1e-7a3c5b9d2e48")
_PLACEHOLDER = "genseek"


#: A lock holder refuses to write once its last confirmed heartbeat is this many intervals old.
LEASE_INTERVALS = 2.5
#: Other migrators take a silent lock over only after this many of the holder's intervals.
STALE_INTERVALS = 4.0


class MigrationLockedError(GenseekError):
    """Another migrator holds the target's lock (two runs of one plan must not interleave)."""


class MigrationLockLostError(GenseekError):
    """This migrator lost the target's lock while running (taken over, or its heartbeat failing).

    Raised before the write that would have followed; the run stops, nothing more is written and
    the ledger is left to the new holder. Running ``apply`` again resumes from the ledger.
    """


def new_owner() -> str:
    """A lock owner id: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Ledger:
    """Read and write ledger records (synchronous qdrant-client).

    ``guard``, when set (by the migrator, while it holds the lock), is called before every record
    write and raises to refuse it — the fencing check of
    :class:`~genseek.migrations.lock.LockLease`.
    """

    def __init__(self, client: Any, collection: str = DEFAULT_LEDGER) -> None:
        self.client = client
        self.collection = collection
        self.guard: Callable[[], None] | None = None

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
        """Merge ``fields`` into the record (creating it) and store it; returns the new record.

        Calls :attr:`guard` first: a migrator that lost its lock writes no record.
        """
        if self.guard is not None:
            self.guard()
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

    def start(
        self, target: str, name: str, *, op: str, params: dict[str, Any], position: int, owner: str | None = None
    ) -> dict[str, Any]:
        """Mark the step ``running`` (keeping a resumed step's checkpoint and state); ``owner``
        records which migrator runs it."""
        previous = self.get(target, name) or {}
        return self.write(
            target,
            name,
            owner=owner,
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
    def acquire(
        self,
        target: str,
        owner: str,
        *,
        stale_after: float = 900.0,
        force: bool = False,
        heartbeat_every: float | None = None,
    ) -> tuple[str, float]:
        """Take the target's lock (insert-only, so two racing migrators cannot both get it).

        The record gets a fresh random fencing token; returns ``(token, heartbeat_time)``. A lock
        whose holder has not refreshed it for ``max(stale_after, 4 × its heartbeat_every)``
        seconds (a crashed run) is taken over; ``force`` takes it over at once, and the old
        holder stops at its next write check (:class:`~genseek.migrations.lock.LockLease`).
        A lock already held by ``owner`` itself (a run of this migrator that could not release
        it) is taken over too. Raises :class:`MigrationLockedError` otherwise.
        """
        self.ensure()
        point_id = self._id(target, "__lock__")
        token = uuid.uuid4().hex
        now = time.time()
        payload = {
            "kind": "lock",
            "lock_target": target,
            "owner": owner,
            "token": token,
            "heartbeat": now,
            "heartbeat_every": float(heartbeat_every or 0.0),
            "since": _now(),
        }
        point = models.PointStruct(id=point_id, vector={_PLACEHOLDER: [0.0]}, payload=payload)
        self.client.upsert(self.collection, [point], update_mode=models.UpdateMode.INSERT_ONLY)
        holder = self._lock(target)
        if holder is None or holder.get("token") == token:
            return self._confirm(target, token, now)
        age = time.time() - float(holder.get("heartbeat", 0))
        stale = max(float(stale_after), STALE_INTERVALS * float(holder.get("heartbeat_every") or 0.0))
        if not force and holder.get("owner") != owner and age <= stale:
            raise MigrationLockedError(
                f"another migration of {target!r} is running (owner {holder.get('owner')}, since {holder.get('since')}, "
                f"last active {age:.0f} s ago; its lock counts as stale after {stale:.0f} s); wait for it, or if it "
                "crashed, take the lock over with `genseek migrate apply --break-lock` (Migrator(..., break_lock=True))"
            )
        now = time.time()
        point.payload = {**payload, "heartbeat": now}
        self.client.upsert(self.collection, [point])
        return self._confirm(target, token, now)

    def _confirm(self, target: str, token: str, now: float) -> tuple[str, float]:
        holder = self._lock(target) or {}
        if holder.get("token") != token:  # pragma: no cover - lost a takeover race
            raise MigrationLockedError(
                f"another migrator ({holder.get('owner')}) took the lock of {target!r} at the same moment; retry"
            )
        return token, now

    def _lock_selector(self, target: str, token: str) -> models.Filter:
        return models.Filter(
            must=[
                models.HasIdCondition(has_id=[self._id(target, "__lock__")]),
                models.FieldCondition(key="token", match=models.MatchValue(value=token)),
            ]
        )

    def heartbeat(self, target: str, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """Refresh the lock only while it holds ``token``; returns the lock record read back.

        The caller compares the returned record's ``token`` with its own: a different one (or
        ``None``) means the lock was taken over or released.
        """
        self.client.set_payload(
            self.collection, {"heartbeat": time.time() if now is None else now}, points=self._lock_selector(target, token)
        )
        return self._lock(target)

    def release(self, target: str, token: str) -> None:
        """Delete the lock record if it still holds ``token`` (a taken-over lock is left alone)."""
        if not self.exists():
            return
        self.client.delete(self.collection, points_selector=self._lock_selector(target, token))

    def lock_record(self, target: str) -> dict[str, Any] | None:
        """The target's lock record (``None`` when unlocked): one read by id, for fencing checks."""
        records = self.client.retrieve(
            self.collection, [self._id(target, "__lock__")], with_payload=["token", "owner", "since"]
        )
        return dict(records[0].payload or {}) if records else None

    def _lock(self, target: str) -> dict[str, Any] | None:
        records = self.client.retrieve(self.collection, [self._id(target, "__lock__")], with_payload=True)
        return dict(records[0].payload or {}) if records else None


def _decode(payload: dict[str, Any] | None) -> dict[str, Any]:
    record = dict(payload or {})
    for key in ("params", "state", "checkpoint"):
        if isinstance(record.get(key), str):
            record[key] = json.loads(record[key])
    return record


__all__ = ["DEFAULT_LEDGER", "LEASE_INTERVALS", "Ledger", "MigrationLockLostError", "MigrationLockedError", "STALE_INTERVALS", "new_owner"]
