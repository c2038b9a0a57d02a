"""The migration lock: heartbeat independent of batch length, fencing before every write, takeovers.

Applier A runs in a thread and is paused inside a step (in its encoder, or while building a copy
batch); the main thread plays applier B. Every write A sends to Qdrant goes through a recording
proxy, so the tests can assert that A wrote nothing once B had taken the lock over.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http import models

import genseek.testing
from genseek.errors import ConfigError, GenseekError
from genseek.migrations import Ledger, MigrationLockedError, MigrationLockLostError, Migrator
from genseek.migrations import operations
from genseek.migrations.lock import LockLease
from genseek.plugin.hookspecs import hookimpl
from genseek.plugin.registry import build_registry
from genseek.testing import HashingEncoder

DIM = 8
STEPS = ["m001_tenant_index", "m002_add_text", "m003_fill_text"]


class GatedEncoder(HashingEncoder):
    """``HashingEncoder`` that pauses (once) on its ``pause_at``-th call until released."""

    id = "gated"
    description = "hashing encoder that can pause (tests)"
    pause_at: int | None = None
    fail_after_pause = False
    calls = 0
    reached = threading.Event()
    release = threading.Event()

    def encode_batch(self, items, *, modality):
        cls = type(self)
        call = cls.calls
        cls.calls += 1
        if call == cls.pause_at:
            cls.reached.set()
            assert cls.release.wait(60), "the test never released the paused encoder"
            if cls.fail_after_pause:
                raise RuntimeError("injected encoder failure after the pause")
        return super().encode_batch(items, modality=modality)

    @classmethod
    def reset(cls, pause_at=None, fail_after_pause=False):
        cls.pause_at, cls.fail_after_pause, cls.calls = pause_at, fail_after_pause, 0
        cls.reached, cls.release = threading.Event(), threading.Event()


class _Plugin:
    @hookimpl
    def register_encoders(self, register):
        register(GatedEncoder)


@pytest.fixture(scope="module")
def gated_registry():
    return build_registry(extra_plugins=[genseek.testing, _Plugin()])


@pytest.fixture(autouse=True)
def _reset_gate():
    GatedEncoder.reset()
    yield
    GatedEncoder.release.set()  # never leave a paused thread behind
    GatedEncoder.reset()


def plan(collection="legacy", encoder="gated", copy=False):
    steps = [
        {"name": STEPS[0], "op": "payload_index", "field": "shop", "is_tenant": True},
        {"name": STEPS[1], "op": "add_vector", "vector": "text", "encoder": encoder, "encoder_options": {"dim": DIM}},
        {"name": STEPS[2], "op": "backfill", "vector": "text", "field": "text", "encoder": encoder,
         "encoder_options": {"dim": DIM}, "batch_size": 16},
    ]
    if copy:
        steps[1].update(strategy="copy", batch_size=40)
    return {"collection": collection, "steps": steps}


class Recording:
    """Forwards every call to ``client``; records the point writes (``upsert``, ``update_vectors``)."""

    def __init__(self, client):
        self._inner = client
        self.writes: list[tuple[str, str]] = []

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name not in ("upsert", "update_vectors"):
            return attr

        def call(collection_name, *args, **kwargs):
            self.writes.append((name, collection_name))
            return attr(collection_name, *args, **kwargs)

        return call


class Applier(threading.Thread):
    """Runs ``migrator.apply()`` in a thread; keeps its result or exception."""

    def __init__(self, migrator):
        super().__init__(daemon=True)
        self.migrator, self.result, self.error = migrator, None, None

    def run(self):
        try:
            self.result = self.migrator.apply()
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            self.error = exc

    def finish(self):
        self.join(60)
        assert not self.is_alive(), "applier A never finished"


def assert_backfilled(client, collection, before, helpers):
    """Every point with text has exactly its own vector; payloads and legacy vectors unchanged."""
    reference = HashingEncoder(dim=DIM)
    records, _ = client.scroll(collection, limit=10_000, with_payload=True, with_vectors=True)
    assert len(records) == helpers.n_points
    for record in records:
        payload, legacy = before[record.id]
        assert record.payload == payload
        assert np.allclose(record.vector["legacy"], legacy)
        text = helpers.legacy_text(record.id)
        if text:
            assert np.allclose(record.vector["text"], reference.encode(text), atol=1e-6)
        else:
            assert "text" not in record.vector


def take_over(make_b, timeout=20.0):
    """Retry ``make_b().apply()`` until the lock is stale enough to take over; returns (B, steps run)."""
    deadline = time.monotonic() + timeout
    refusals = 0
    while True:
        b = make_b()
        try:
            return b, b.apply(), refusals
        except MigrationLockedError:
            refusals += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def pause_copy_at(batch, thread, fail=False):
    """Pause ``thread`` (once) while it builds copy batch number ``batch`` (then raise, with
    ``fail``); returns the patched ``_named`` and the (reached, release) events."""
    reached, release = threading.Event(), threading.Event()
    original, seen = operations._named, {"n": 0}

    def named(vector):
        if threading.current_thread() is thread[0] and not reached.is_set():
            seen["n"] += 1
            if seen["n"] == batch * 40 + 1:  # first point of that batch (copy batches of 40)
                reached.set()
                assert release.wait(60)
                if fail:
                    raise RuntimeError("injected copy failure after the pause")
        return original(vector)

    return named, reached, release


def test_a_step_slower_than_stale_lock_after_keeps_its_lock(legacy, gated_registry, helpers):
    """The defect: a batch longer than stale_lock_after let a second applier take over."""
    before = helpers.snapshot(legacy, "legacy")
    GatedEncoder.reset(pause_at=2)
    a = Migrator(Recording(legacy), plan(), registry=gated_registry, progress=False,
                 stale_lock_after=1.5, heartbeat_every=0.25)
    applier = Applier(a)
    applier.start()
    assert GatedEncoder.reached.wait(60)
    time.sleep(2.5)  # A's current batch has now run for longer than stale_lock_after
    b = Migrator(legacy, plan(), registry=gated_registry, progress=False, stale_lock_after=1.5)
    with pytest.raises(MigrationLockedError, match=r"another migration of 'legacy' is running \(owner " + a.owner):
        b.apply()
    GatedEncoder.release.set()
    applier.finish()
    assert applier.error is None and applier.result == STEPS
    assert_backfilled(legacy, "legacy", before, helpers)
    assert Ledger(legacy).lock_record("legacy") is None  # released


@pytest.mark.parametrize("where", ["backfill", "copy"])
@pytest.mark.parametrize("how", ["heartbeat_fails", "break_lock", "step_fails_after_takeover"])
def test_takeover_stops_the_old_applier_before_its_next_write(legacy, gated_registry, helpers, monkeypatch, caplog,
                                                              where, how):
    collection = "legacy"
    if where == "copy":  # the copy strategy switches an alias; the app reads through it
        legacy.update_collection_aliases(change_aliases_operations=[
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="legacy", alias_name="catalog"))
        ])
        collection = "catalog"
    before = helpers.snapshot(legacy, "legacy")
    recording = Recording(legacy)
    a = Migrator(recording, plan(collection, copy=where == "copy"), registry=gated_registry, progress=False,
                 stale_lock_after=0.5, heartbeat_every=0.2)
    applier = Applier(a)
    if where == "backfill":
        GatedEncoder.reset(pause_at=2, fail_after_pause=how == "step_fails_after_takeover")
        reached, release = GatedEncoder.reached, GatedEncoder.release
    else:
        named, reached, release = pause_copy_at(2, [applier], fail=how == "step_fails_after_takeover")
        monkeypatch.setattr(operations, "_named", named)
    heartbeat_down = threading.Event()
    if how == "heartbeat_fails":
        original = a.ledger.heartbeat

        def heartbeat(*args, **kwargs):
            if heartbeat_down.is_set():
                raise ConnectionError("network down (injected)")
            return original(*args, **kwargs)

        monkeypatch.setattr(a.ledger, "heartbeat", heartbeat)
    caplog.set_level(logging.WARNING, logger="genseek.migrations")
    applier.start()
    assert reached.wait(60)
    written_before = len(recording.writes)
    assert written_before > 0  # A was mid-step: some batches were already written
    heartbeat_down.set()

    the_plan = plan(collection, copy=where == "copy")
    b, ran, refusals = take_over(lambda: Migrator(legacy, the_plan, registry=gated_registry, progress=False,
                                                  stale_lock_after=0.5, break_lock=how != "heartbeat_fails"))
    assert STEPS[2] in ran
    if how == "heartbeat_fails":
        assert refusals >= 1  # B had to wait until A's lock went stale (A's heartbeat is down)
        assert any("could not refresh the migration lock of" in r.getMessage() and "network down" in r.getMessage()
                   for r in caplog.records)  # the failing heartbeat is not silent
    assert len(recording.writes) == written_before  # A is still paused: nothing written meanwhile

    release.set()
    applier.finish()
    assert isinstance(applier.error, MigrationLockLostError), applier.error
    assert isinstance(applier.error, GenseekError)
    message = str(applier.error)
    assert f"the migration lock of {collection!r}" in message
    assert b.owner in message  # who took it
    assert "stopped before its next write" in message and "genseek migrate apply" in message
    if how == "step_fails_after_takeover":
        assert isinstance(applier.error.__cause__, RuntimeError)  # the step's own error, not recorded
    assert len(recording.writes) == written_before  # no batch (nor ledger record) written by A after the takeover

    # B's result stands: correct data, one successful record per step, nothing failed or overwritten by A
    assert_backfilled(legacy, collection, before, helpers)
    if where == "copy":
        assert helpers.snapshot(legacy, "legacy") == before
    entries = Ledger(legacy).entries(collection)
    assert [(e["name"], e["status"], e.get("error")) for e in entries] == [(name, "applied", None) for name in STEPS]
    assert entries[2]["owner"] == b.owner
    assert Ledger(legacy).lock_record(collection) is None
    assert Migrator(legacy, the_plan, registry=gated_registry, progress=False).apply() == []


def test_the_heartbeat_thread_notices_a_takeover(legacy, gated_registry, caplog):
    caplog.set_level(logging.WARNING, logger="genseek.migrations")
    ledger = Ledger(legacy)
    with LockLease(ledger, "legacy", "host:1:a", stale_after=60, heartbeat_every=0.1) as lease:
        first = ledger._lock("legacy")["heartbeat"]
        time.sleep(0.5)
        assert ledger._lock("legacy")["heartbeat"] > first  # refreshed in the background
        lease.check()  # still held
        ledger.acquire("legacy", "host:2:b", force=True)  # a --break-lock run
        deadline = time.monotonic() + 10
        while not any("taken over by host:2:b" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the heartbeat never noticed the takeover"
            time.sleep(0.05)
        with pytest.raises(MigrationLockLostError, match="taken over by host:2:b"):
            lease.check()
    assert ledger._lock("legacy")["owner"] == "host:2:b"  # releasing left the new holder's lock alone


def test_a_failing_heartbeat_stops_writes_before_the_lock_can_go_stale(legacy, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="genseek.migrations")
    ledger = Ledger(legacy)

    def down(*args, **kwargs):
        raise ConnectionError("qdrant unreachable (injected)")

    lease = LockLease(ledger, "legacy", "host:1:a", stale_after=1.0, heartbeat_every=1.0)
    with lease:
        monkeypatch.setattr(ledger, "heartbeat", down)
        time.sleep(2.8)  # > 2.5 heartbeats without a confirmed refresh, < the 4 after which others take over
        with pytest.raises(MigrationLockLostError, match=r"has not been refreshed .*ConnectionError: qdrant unreachable"):
            lease.check()
        assert any("could not refresh the migration lock of 'legacy'" in r.getMessage() for r in caplog.records)
        # the lock is not stale for others yet (4 heartbeats): it stopped writing before that
        with pytest.raises(MigrationLockedError):
            Ledger(legacy).acquire("legacy", "host:2:b", stale_after=0.0)
        monkeypatch.undo()
    assert ledger.lock_record("legacy") is None  # released on exit: the next run can start at once


def test_takers_wait_for_at_least_four_heartbeats_of_the_holder(legacy):
    ledger = Ledger(legacy)
    ledger.acquire("legacy", "host:1:a", heartbeat_every=30.0)
    with pytest.raises(MigrationLockedError, match="stale after 120 s"):
        ledger.acquire("legacy", "host:2:b", stale_after=0.0)
    token, _ = ledger.acquire("legacy", "host:2:b", force=True)
    assert ledger.lock_record("legacy") == {"token": token, "owner": "host:2:b", "since": ledger._lock("legacy")["since"]}


def test_writes_outside_a_held_lock_are_refused(legacy):
    lease = LockLease(Ledger(legacy), "legacy", "host:1:a", stale_after=60)
    with pytest.raises(MigrationLockLostError, match="not held by this migrator"):
        lease.check()


@pytest.mark.parametrize("options, message", [
    ({"stale_lock_after": -1}, "stale_lock_after must be"),
    ({"stale_lock_after": "soon"}, "stale_lock_after must be"),
    ({"heartbeat_every": 0}, "heartbeat_every must be"),
    ({"heartbeat_every": float("nan")}, "heartbeat_every must be"),
])
def test_bad_lock_settings_are_config_errors(legacy, gated_registry, options, message):
    with pytest.raises(ConfigError, match=message):
        Migrator(legacy, plan(), registry=gated_registry, **options)


CHILD = textwrap.dedent("""
    import json, sys, time
    from qdrant_client import QdrantClient
    import genseek.testing
    from genseek.migrations import Migrator
    from genseek.plugin.registry import build_registry

    path, plan, progress = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]

    def hook(step, state):
        with open(progress, "a") as f:
            f.write(f"{state.batches}\\n")
        time.sleep(0.3)

    client = QdrantClient(path=path)
    Migrator(client, plan, registry=build_registry(extra_plugins=[genseek.testing]), progress=False,
             batch_hook=hook, stale_lock_after=4.0, heartbeat_every=1.0).apply()
    print("FINISHED")
""")


def test_sigkill_mid_backfill_then_another_applier_resumes(tmp_path, legacy, registry, helpers):
    before = helpers.snapshot(legacy, "legacy")
    path = str(tmp_path / "qdrant")
    disk = QdrantClient(path=path)
    disk.create_collection("legacy", vectors_config={"legacy": models.VectorParams(size=16, distance=models.Distance.COSINE)})
    records, _ = legacy.scroll("legacy", limit=10_000, with_payload=True, with_vectors=True)
    disk.upsert("legacy", [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records])
    disk.close()
    progress = tmp_path / "progress.txt"
    fill = plan(encoder="hashing")
    child = subprocess.Popen([sys.executable, "-c", CHILD, path, json.dumps(fill), str(progress)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 120
        while not (progress.exists() and len(progress.read_text().split()) >= 3):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never reached its third batch"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)  # no finally, no release, no ledger update
    finally:
        child.kill()
        out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL and "FINISHED" not in out, err

    disk = QdrantClient(path=path)
    try:
        status = {s.name: s.status for s in Migrator(disk, fill, registry=registry, progress=False).status()}
        assert status[STEPS[2]] == "running"  # killed mid-step
        rescuer = Migrator(disk, fill, registry=registry, progress=False, stale_lock_after=1.0)
        with pytest.raises(MigrationLockedError, match="stale after 4 s"):  # the dead holder's heartbeat is recent
            rescuer.apply()
        _, ran, _ = take_over(lambda: Migrator(disk, fill, registry=registry, progress=False, stale_lock_after=1.0))
        assert ran == [STEPS[2]]
        assert_backfilled(disk, "legacy", before, helpers)
        entries = Ledger(disk).entries("legacy")
        assert [(e["name"], e["status"]) for e in entries] == [(name, "applied") for name in STEPS]
        assert entries[2]["checkpoint"]["done"] is True and entries[2]["checkpoint"]["batches"] >= 3
    finally:
        disk.close()
