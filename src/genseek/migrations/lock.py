"""The migration lock held while a migrator changes anything: a lease with a background heartbeat
and a fencing check before every write.

Contract:

* :meth:`Ledger.acquire` stores a lock record with a fresh random **token** (the fencing token),
  the holder's id and how often it promises to refresh it (``heartbeat_every``);
* while the lock is held, a daemon thread refreshes the record every ``heartbeat_every`` seconds,
  however long a batch or a step takes. A refresh only touches the record while it still holds
  this lease's token, and reads it back to confirm;
* :meth:`LockLease.check` runs before every write (each backfill or copy batch, each ledger record,
  each schema change): one read of the lock record by id. It raises
  :class:`MigrationLockLostError` — and the migrator stops — when another migrator's token is in
  the record (a takeover), when the record is gone, or when no refresh was confirmed for
  ``2.5 × heartbeat_every`` seconds (heartbeats failing: the lease may be taken over soon, so the
  run stops before that can happen). Heartbeat failures are logged as warnings, never swallowed;
* other migrators treat the lock as stale only after ``max(stale_after, 4 × heartbeat_every)``
  seconds without a refresh, so a live holder stops writing at least ``1.5 × heartbeat_every``
  seconds before anyone can take over by staleness. ``break_lock`` takes over at once; the old
  holder then stops at its next write check. Times are wall-clock (``time.time()``) and assume
  the hosts' clocks agree to well within ``heartbeat_every``.

A run stopped this way wrote nothing after it noticed the takeover, and records nothing in the
ledger (the ledger belongs to the new holder); running ``apply`` again resumes from the ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .ledger import LEASE_INTERVALS, STALE_INTERVALS, Ledger, MigrationLockLostError

logger = logging.getLogger("genseek.migrations")


def default_heartbeat_every(stale_after: float) -> float:
    """The heartbeat interval used when none is given: a quarter of ``stale_after``, 0.5–60 s."""
    return min(60.0, max(0.5, float(stale_after) / 4.0))


class LockLease:
    """Hold the lock of ``target`` in ``ledger`` for one ``apply``/``rollback`` (a context manager).

    Args:
        ledger: the ledger holding the lock record.
        target: the plan's target collection.
        owner: this migrator's id (host:pid:random), shown to others in lock errors.
        stale_after: seconds without a refresh after which *another* holder's lock is taken over.
        heartbeat_every: seconds between refreshes of this lease (default
            :func:`default_heartbeat_every`).
        force: take the lock over even if its holder looks alive (``break_lock``).
    """

    def __init__(
        self,
        ledger: Ledger,
        target: str,
        owner: str,
        *,
        stale_after: float,
        heartbeat_every: float | None = None,
        force: bool = False,
    ) -> None:
        self.ledger = ledger
        self.target = target
        self.owner = owner
        self.stale_after = float(stale_after)
        self.heartbeat_every = float(heartbeat_every) if heartbeat_every is not None else default_heartbeat_every(stale_after)
        self.force = force
        self.token: str | None = None
        self.step: str | None = None  # the step running now, named in errors
        self._state = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ok = 0.0
        self._lost: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._failures = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> LockLease:
        self._stop.clear()
        self._lost, self._error, self._failures = None, None, 0
        self.token, self._last_ok = self.ledger.acquire(
            self.target, self.owner, stale_after=self.stale_after, force=self.force, heartbeat_every=self.heartbeat_every
        )
        self._thread = threading.Thread(target=self._run, name=f"genseek-migration-heartbeat:{self.target}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.heartbeat_every))
            self._thread = None
        token, self.token = self.token, None
        if token is None:
            return
        try:
            self.ledger.release(self.target, token)  # deletes the record only if it still holds our token
        except Exception as release_error:
            if exc_type is None:
                raise
            # keep the run's own error; the lock goes stale and is taken over later
            logger.warning(
                "could not release the migration lock of %r (%s: %s); it counts as stale after %.0f s",
                self.target, type(release_error).__name__, release_error,
                max(self.stale_after, STALE_INTERVALS * self.heartbeat_every),
            )

    # -- heartbeat ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.heartbeat_every):
            if not self.beat():
                return

    def beat(self) -> bool:
        """Refresh the lock once; returns ``False`` when it is lost (the heartbeat then stops)."""
        started = time.time()
        try:
            holder = self.ledger.heartbeat(self.target, self.token or "", now=started)
        except Exception as exc:  # noqa: BLE001 - recorded, logged and acted on by check()
            with self._state:
                self._error = exc
                self._failures += 1
                failures = self._failures
            logger.warning(
                "could not refresh the migration lock of %r (attempt %d failed: %s: %s); this migrator stops "
                "writing if no refresh succeeds within %.1f s of the last one",
                self.target, failures, type(exc).__name__, exc, LEASE_INTERVALS * self.heartbeat_every,
            )
            return True
        if holder is None or holder.get("token") != self.token:
            with self._state:
                self._lost = dict(holder or {})
            logger.error("%s", self._lost_message(holder))
            return False
        with self._state:
            self._last_ok = started
            self._error, self._failures = None, 0
        return True

    # -- fencing --------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`MigrationLockLostError` unless this lease still holds the lock.

        Cheap: one read of the lock record by id (plus in-memory state from the heartbeat).
        Called before every write the migrator makes.
        """
        if self.token is None:
            raise MigrationLockLostError(
                f"the migration lock of {self.target!r} is not held by this migrator ({self.owner}); "
                "writes happen only inside Migrator.apply()/rollback(), which take it"
            )
        with self._state:
            lost = self._lost
        if lost is not None:
            raise MigrationLockLostError(self._lost_message(lost or None, None if lost else self._step_record()))
        try:
            holder = self.ledger.lock_record(self.target)
        except Exception as exc:  # noqa: BLE001 - cannot prove we hold the lock: do not write
            raise MigrationLockLostError(
                f"could not read the migration lock of {self.target!r} in ledger {self.ledger.collection!r} "
                f"before writing{self._where()} ({type(exc).__name__}: {exc}); this migrator ({self.owner}) stopped "
                "without writing. Check the connection to Qdrant, then run `genseek migrate apply` again: it resumes "
                "from the ledger"
            ) from exc
        if holder is None or holder.get("token") != self.token:
            with self._state:
                self._lost = dict(holder or {})
            raise MigrationLockLostError(self._lost_message(holder, self._step_record()))
        with self._state:
            age = time.time() - self._last_ok
            error = self._error
        limit = LEASE_INTERVALS * self.heartbeat_every
        if age > limit:
            cause = f"; last error: {type(error).__name__}: {error}" if error is not None else ""
            raise MigrationLockLostError(
                f"the migration lock of {self.target!r} (ledger {self.ledger.collection!r}) has not been refreshed "
                f"for {age:.1f} s (more than {limit:.1f} s){cause}. This migrator ({self.owner}) stopped before "
                f"writing{self._where()}, because other migrators may take a lock over after "
                f"{STALE_INTERVALS * self.heartbeat_every:.1f} s of silence. Nothing more was written; fix the "
                "connection to Qdrant, then run `genseek migrate apply` again: it resumes from the ledger"
            ) from error

    def _where(self) -> str:
        return f" (step {self.step!r})" if self.step else ""

    def _step_record(self) -> dict[str, Any] | None:
        """The ledger record of the running step (to say who ran it since), best effort."""
        if not self.step:
            return None
        try:
            return self.ledger.get(self.target, self.step)
        except Exception:  # noqa: BLE001 - only used to enrich an error message
            return None

    def _lost_message(self, holder: dict[str, Any] | None, record: dict[str, Any] | None = None) -> str:
        if holder:
            who = f"was taken over by {holder.get('owner', '?')} (since {holder.get('since', '?')})"
        else:
            who = "was released or deleted by someone else (e.g. a `--break-lock` run that has finished)"
            if record and record.get("owner") not in (None, self.owner):
                who = (
                    f"was taken over and released again by {record['owner']}, which the ledger records as having "
                    f"run step {self.step!r} since (status {record.get('status')!r} at {record.get('updated_at')})"
                )
        return (
            f"the migration lock of {self.target!r} (ledger {self.ledger.collection!r}) {who}; this migrator "
            f"({self.owner}) stopped before its next write{self._where()}, so it wrote nothing after the takeover "
            "and recorded nothing in the ledger. Let the other migration finish (`genseek migrate status` shows "
            "the steps), then run `genseek migrate apply` again if steps are left: it resumes from the ledger"
        )


__all__ = ["LEASE_INTERVALS", "LockLease", "STALE_INTERVALS", "default_heartbeat_every"]
