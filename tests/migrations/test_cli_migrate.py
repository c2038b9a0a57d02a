"""``genseek migrate`` against a local-mode directory."""

from __future__ import annotations

import json

from qdrant_client import QdrantClient

from genseek.cli import main

PLAN = {
    "collection": "tracks",
    "steps": [
        {"name": "m001_create", "op": "create_collection", "vectors": {"text": {"size": 8, "distance": "dot"}}},
        {"name": "m002_tenant", "op": "payload_index", "field": "shop", "is_tenant": True},
        {"name": "m003_live", "op": "alias", "alias": "tracks_live"},
    ],
}


def test_status_plan_apply_rollback(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    where = ["--path", str(tmp_path / "qdrant")]

    assert main(["migrate", "plan", str(plan), *where]) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing changed" in out and "[   run] m001_create" in out

    assert main(["migrate", "status", str(plan), *where, "--json"]) == 0
    assert [row["status"] for row in json.loads(capsys.readouterr().out)] == ["pending"] * 3

    assert main(["migrate", "apply", str(plan), *where, "--until", "m002_tenant", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"applied": ["m001_create", "m002_tenant"]}
    assert main(["migrate", "apply", str(plan), *where]) == 0
    assert "applied: m003_live" in capsys.readouterr().out
    assert main(["migrate", "apply", str(plan), *where]) == 0
    assert "nothing to apply" in capsys.readouterr().out

    assert main(["migrate", "rollback", str(plan), *where, "--to", "m001_create", "--dry-run"]) == 0
    assert capsys.readouterr().out.count("would be rolled back") == 2
    assert main(["migrate", "rollback", str(plan), *where]) == 0
    assert "alias 'tracks_live' removed" in capsys.readouterr().out
    assert main(["migrate", "status", str(plan), *where]) == 0
    out = capsys.readouterr().out
    assert "rolled_back  m003_live" in out and "applied      m001_create" in out

    client = QdrantClient(path=str(tmp_path / "qdrant"))
    assert client.collection_exists("tracks") and client.get_aliases().aliases == []
    client.close()


def test_errors_are_reported_without_a_traceback(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"collection": "tracks", "steps": [{"name": "x", "op": "teleport"}]}))
    assert main(["migrate", "apply", str(bad), "--path", str(tmp_path / "q")]) == 1
    assert "invalid migration plan" in capsys.readouterr().err
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(PLAN))
    monkeypatch.delenv("QDRANT_URL", raising=False)
    assert main(["migrate", "status", str(good)]) == 1
    assert "--path DIR (local mode) or --url URL" in capsys.readouterr().err
