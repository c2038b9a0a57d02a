"""``genseek migrate`` and the migration lock: --stale-lock-after, lock errors without a traceback."""

from __future__ import annotations

import json

from qdrant_client import QdrantClient

from genseek.cli import main
from genseek.migrations import Ledger

PLAN = {
    "collection": "tracks",
    "steps": [{"name": "m001_create", "op": "create_collection", "vectors": {"text": {"size": 8, "distance": "dot"}}}],
}


def test_stale_lock_after_is_validated_and_used(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    where = ["--path", str(tmp_path / "qdrant")]
    assert main(["migrate", "apply", str(plan), *where, "--stale-lock-after", "-1"]) == 1
    assert "stale_lock_after must be a number of seconds >= 0" in capsys.readouterr().err

    client = QdrantClient(path=str(tmp_path / "qdrant"))
    Ledger(client).acquire("tracks", "other-host:42:abcd", heartbeat_every=0.0)  # a crashed run's lock
    client.close()
    assert main(["migrate", "apply", str(plan), *where]) == 1
    err = capsys.readouterr().err
    assert "another migration of 'tracks' is running (owner other-host:42:abcd" in err and "Traceback" not in err
    assert main(["migrate", "apply", str(plan), *where, "--stale-lock-after", "0"]) == 0  # taken over at once
    assert "applied: m001_create" in capsys.readouterr().out
