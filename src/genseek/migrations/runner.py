"""The migration runner: status, dry-run plan, apply (resumable) and rollback, with a ledger.

Rules the runner enforces (llm's ``embeddings_migrations`` and Django's migration graph, in
miniature):

* steps run in plan order, each at most once: an ``applied`` step is skipped, so ``apply`` is
  idempotent and can be run at every deploy;
* a ``running``/``failed`` step (a crash, an exception) is resumed: its recorded state and
  checkpoint are kept, and each operation converges from whatever it finds;
* an applied step may not change (its parameters are compared with the ledger) and new steps go
  at the end — otherwise :class:`~genseek.errors.ConfigError` says which step and how to fix it;
* ``rollback`` undoes applied steps newest first and records it; a rolled-back step runs again on
  the next ``apply``;
* one migrator per target at a time: ``apply``/``rollback`` hold a lock record in the ledger
  (insert-only, taken over when stale or with ``break_lock``). A background thread refreshes it
  every ``heartbeat_every`` seconds whatever the length of a batch, and every write — each
  backfill/copy batch, each ledger record, each schema change — first checks that the lock still
  holds this migrator's fencing token. A migrator whose lock was taken over (or whose heartbeat
  keeps failing) stops with :class:`~genseek.migrations.ledger.MigrationLockLostError` before
  its next write and records nothing; ``apply`` again resumes (:mod:`genseek.migrations.lock`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..plugin.registry import get_registry
from .backfill import BackfillProgress
from .ledger import DEFAULT_LEDGER, Ledger, MigrationLockLostError, new_owner
from ..locking import thread_safe_client
from .lock import LockLease, default_heartbeat_every
from .operations import OPERATIONS, Context
from .plan import MigrationPlan, parse_plan


@dataclass(frozen=True)
class StepStatus:
    """One step of the plan as the ledger knows it (``status`` ``pending`` when never run)."""

    name: str
    op: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    checkpoint: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class PlannedStep:
    """One line of a dry run: ``action`` is ``run``, ``resume`` or ``skip`` (already applied)."""

    name: str
    op: str
    action: str
    description: str

    def __str__(self) -> str:
        return f"[{self.action:>6}] {self.name} ({self.op}): {self.description}"


class Migrator:
    """Apply a :class:`MigrationPlan` to its target collection.

    Args:
        client: a synchronous ``QdrantClient`` (local path, ``:memory:``, server URL).
        plan: the plan (a :class:`MigrationPlan` or its mapping form).
        registry: component registry for encoders (default: the process-wide one).
        ledger: ledger collection name (default ``genseek_migrations``).
        progress: show progress bars for long steps.
        batch_hook: called as ``hook(step_name, progress)`` after every backfill batch (monitoring, tests).
        break_lock: take over the target's lock even if another migrator seems active (after a crash);
            the other one, if still running, stops at its next write.
        stale_lock_after: seconds without a heartbeat after which another migrator's lock is taken
            over (at least 4 × that migrator's ``heartbeat_every``, whatever this says).
        heartbeat_every: seconds between refreshes of this migrator's lock, by a background thread
            (default: ``stale_lock_after / 4``, between 0.5 and 60 s).

    A qdrant-client local-mode client is wrapped so that its calls are serialised (local mode has
    no locking and the heartbeat runs in a thread); ``self.client`` is that wrapper.
    """

    def __init__(
        self,
        client: Any,
        plan: MigrationPlan | dict[str, Any],
        *,
        registry: Any = None,
        ledger: str = DEFAULT_LEDGER,
        progress: bool = True,
        batch_hook: Callable[[str, BackfillProgress], None] | None = None,
        break_lock: bool = False,
        stale_lock_after: float = 900.0,
        heartbeat_every: float | None = None,
    ) -> None:
        self.plan_spec = parse_plan(plan)
        if isinstance(stale_lock_after, bool) or not isinstance(stale_lock_after, (int, float)) or not stale_lock_after >= 0:
            raise ConfigError(f"stale_lock_after must be a number of seconds >= 0, got {stale_lock_after!r}")
        if heartbeat_every is not None and (
            isinstance(heartbeat_every, bool) or not isinstance(heartbeat_every, (int, float)) or not heartbeat_every > 0
        ):
            raise ConfigError(f"heartbeat_every must be a positive number of seconds, got {heartbeat_every!r}")
        self.owner = new_owner()
        self.break_lock = break_lock
        self.stale_lock_after = float(stale_lock_after)
        self.heartbeat_every = float(heartbeat_every) if heartbeat_every is not None else default_heartbeat_every(stale_lock_after)
        client = thread_safe_client(client)
        self.client = client
        self.ledger = Ledger(client, ledger)
        self.context = Context(
            client=client,
            target=self.plan_spec.collection,
            registry=registry or get_registry(),
            ledger=self.ledger,
            progress=progress,
            batch_hook=batch_hook,
            owner=self.owner,
        )

    @property
    def target(self) -> str:
        return self.plan_spec.collection

    # -- inspection -----------------------------------------------------------------------------
    def _records(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.ledger.entries(self.target)}

    def status(self) -> list[StepStatus]:
        """Every plan step with its ledger status, plus applied steps the plan no longer lists."""
        records = self._records()
        out = []
        for step in self.plan_spec.steps:
            record = records.pop(step.name, None) or {}
            out.append(
                StepStatus(
                    name=step.name,
                    op=step.op,
                    status=record.get("status", "pending"),
                    started_at=record.get("started_at"),
                    finished_at=record.get("finished_at"),
                    checkpoint=record.get("checkpoint"),
                    error=record.get("error"),
                )
            )
        for name, record in records.items():
            out.append(StepStatus(name=name, op=record.get("op", "?"), status=f"{record.get('status')} (not in plan)"))
        return out

    def check(self) -> None:
        """Refuse a plan that rewrites history (see the module docstring) or names unknown encoders."""
        for step in self.plan_spec.steps:
            for spec in [step, *getattr(step, "vectors", {}).values()]:
                if getattr(spec, "encoder", None) is not None:
                    self.context.registry.registration("encoder", spec.encoder)
        records = self._records()
        pending_before: str | None = None
        for step in self.plan_spec.steps:
            record = records.pop(step.name, None)
            applied = record is not None and record.get("status") == "applied"
            if applied:
                if record.get("params") != step.params():
                    raise ConfigError(
                        f"migration step {step.name!r} on {self.target!r} was applied with different parameters "
                        f"({record.get('params')}); never edit an applied step — add a new step, or roll it back first"
                    )
                if pending_before is not None:
                    raise ConfigError(
                        f"migration step {pending_before!r} comes before the applied step {step.name!r} but has not run; "
                        "new steps go at the end of the plan"
                    )
            elif pending_before is None:
                pending_before = step.name
        leftover = sorted(name for name, r in records.items() if r.get("status") == "applied")
        if leftover:
            raise ConfigError(
                f"the ledger of {self.target!r} has applied step(s) {', '.join(leftover)} that the plan does not list; "
                "keep applied steps in the plan (or roll them back with the plan that has them)"
            )

    def plan(self) -> list[PlannedStep]:
        """The dry run: what :meth:`apply` would do, step by step. Changes nothing."""
        self.check()
        records = self._records()
        out = []
        for step in self.plan_spec.steps:
            record = records.get(step.name)
            status = (record or {}).get("status")
            action = "skip" if status == "applied" else "resume" if status in ("running", "failed") else "run"
            describe = OPERATIONS[step.op][0]
            try:
                description = describe(step, self.context, record)
            except Exception as exc:  # noqa: BLE001 - the state an earlier pending step will create
                details = step.model_dump(mode="json", exclude={"name", "op"}, exclude_defaults=True)
                description = f"{step.op} {details} — details once the steps before it have run ({exc})"
            out.append(PlannedStep(step.name, step.op, action, description))
        return out

    # -- changes --------------------------------------------------------------------------------
    def apply(self, *, until: str | None = None) -> list[str]:
        """Run every pending step (up to and including ``until``); returns the names run.

        A failing step is recorded as ``failed`` with its checkpoint and re-raised; run
        :meth:`apply` again to resume it.
        """
        self.check()
        if until is not None and until not in {s.name for s in self.plan_spec.steps}:
            raise ConfigError(f"no step named {until!r} in the plan")
        with self._locked():
            return self._apply(until)

    @contextmanager
    def _locked(self) -> Iterator[LockLease]:
        """Hold the target's lock while changing anything: heartbeat thread plus fencing checks."""
        lease = LockLease(
            self.ledger,
            self.target,
            self.owner,
            stale_after=self.stale_lock_after,
            heartbeat_every=self.heartbeat_every,
            force=self.break_lock,
        )
        with lease:
            self.ledger.guard = lease.check
            self.context.lease = lease
            try:
                yield lease
            finally:
                self.ledger.guard = None
                self.context.lease = None

    def _apply(self, until: str | None) -> list[str]:
        ran = []
        lease = self.context.lease
        for position, step in enumerate(self.plan_spec.steps):
            if lease is not None:
                lease.step = step.name
            record = self.ledger.get(self.target, step.name)
            if record is None or record.get("status") != "applied":
                record = self.ledger.start(
                    self.target, step.name, op=step.op, params=step.params(), position=position, owner=self.owner
                )
                try:
                    state = OPERATIONS[step.op][1](step, self.context, record)
                except MigrationLockLostError:
                    raise  # the ledger belongs to the new holder: record nothing
                except BaseException as exc:
                    self._record_failure(step.name, exc)
                    raise
                self.ledger.finish(self.target, step.name, state=state)
                ran.append(step.name)
            if step.name == until:
                break
        return ran

    def _record_failure(self, name: str, exc: BaseException) -> None:
        """Mark step ``name`` failed — unless the lock was lost meanwhile (then say so instead)."""
        try:
            self.ledger.fail(self.target, name, exc)
        except MigrationLockLostError as lost:
            raise lost from exc

    def rollback(self, *, to: str | None = None, dry_run: bool = False) -> list[str]:
        """Undo applied steps newest first: the last one, or every one after step ``to``.

        Returns one message per undone step (what would be undone, with ``dry_run``).
        """
        self.check()
        names = [s.name for s in self.plan_spec.steps]
        if to is not None and to not in names:
            raise ConfigError(f"no step named {to!r} in the plan")
        if dry_run:
            return [f"{step.name} ({step.op}): would be rolled back" for step in reversed(self._to_undo(to)[0])]
        with self._locked():
            return self._rollback(*self._to_undo(to))  # read again under the lock

    def _to_undo(self, to: str | None) -> tuple[list[Any], dict[str, dict[str, Any]]]:
        """The applied steps a rollback (to ``to``) undoes, in plan order, and the ledger records."""
        names = [s.name for s in self.plan_spec.steps]
        records = self._records()
        applied = [s for s in self.plan_spec.steps if records.get(s.name, {}).get("status") == "applied"]
        if to is None:
            return applied[-1:], records
        return [s for s in applied if names.index(s.name) > names.index(to)], records

    def _rollback(self, chosen: list[Any], records: dict[str, dict[str, Any]]) -> list[str]:
        messages = []
        for step in reversed(chosen):
            self.context.fence(step.name)
            state = records[step.name].get("state") or {}
            message = OPERATIONS[step.op][2](step, self.context, state)
            self.ledger.rolled_back(self.target, step.name)
            messages.append(f"{step.name} ({step.op}): {message}")
        return messages


__all__ = ["Migrator", "PlannedStep", "StepStatus"]
