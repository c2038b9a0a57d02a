"""Collection migrations: ordered, named, idempotent steps recorded in a ledger in Qdrant.

* :class:`MigrationPlan` — the steps for one target collection (``create_collection``,
  ``add_vector``, ``payload_index``, ``backfill``, ``alias``), from Python, JSON or TOML;
* :class:`Migrator` — ``status()``, ``plan()`` (dry run), ``apply()`` (resumable),
  ``rollback()``;
* :func:`backfill` — encode a payload field into a named vector, resumable after a crash at any
  batch, touching nothing but that vector;
* one migrator per target: a lock in the ledger with a heartbeat thread and a fencing check
  before every write (:class:`MigrationLockedError`, :class:`MigrationLockLostError`).
"""

from .backfill import BackfillProgress, backfill
from .ledger import DEFAULT_LEDGER, Ledger, MigrationLockLostError, MigrationLockedError
from .plan import AddVector, Alias, Backfill, CreateCollection, MigrationPlan, PayloadIndex, VectorSpec, load_plan, parse_plan
from .runner import Migrator, PlannedStep, StepStatus

__all__ = [
    "AddVector",
    "Alias",
    "Backfill",
    "BackfillProgress",
    "CreateCollection",
    "DEFAULT_LEDGER",
    "Ledger",
    "MigrationLockLostError",
    "MigrationLockedError",
    "MigrationPlan",
    "Migrator",
    "PayloadIndex",
    "PlannedStep",
    "StepStatus",
    "VectorSpec",
    "backfill",
    "load_plan",
    "parse_plan",
]
