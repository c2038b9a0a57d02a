"""``genseek tenant`` against a local-mode directory."""

from __future__ import annotations

import json

from genseek.cli import main

CONFIG = {"collection": "items", "vector_name": "dense", "partition": "acme", "sampler": {"id": "identity"}}


def test_set_get_list_history_rollback(tmp_path, capsys):
    where = ["--path", str(tmp_path / "qdrant")]
    config = tmp_path / "acme.json"
    config.write_text(json.dumps(CONFIG))

    assert main(["tenant", "set", "acme", "--file", str(config), *where, "--comment", "first"]) == 0
    assert "wrote version 1" in capsys.readouterr().out
    changed = {**CONFIG, "search": {"limit": 5}}
    assert main(["tenant", "set", "acme", "--config", json.dumps(changed), *where, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"tenant": "acme", "version": 2}

    assert main(["tenant", "get", "acme", *where]) == 0
    assert json.loads(capsys.readouterr().out)["search"]["limit"] == 5
    assert main(["tenant", "list", *where]) == 0
    assert capsys.readouterr().out.split() == ["acme"]
    assert main(["tenant", "history", "acme", *where, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["version"] for h in history] == [1, 2] and history[0]["comment"] == "first"

    assert main(["tenant", "rollback", "acme", "1", *where]) == 0
    assert "version 1 restored as version 3" in capsys.readouterr().out
    assert main(["tenant", "get", "acme", *where, "--version", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["search"]["limit"] == 5

    # a write based on a stale version, a bad configuration, an unknown tenant: clear errors, nothing written
    assert main(["tenant", "set", "acme", "--file", str(config), *where, "--expected-version", "1"]) == 1
    assert "latest version is 3; nothing was written" in capsys.readouterr().err
    bad = {**CONFIG, "search": {"n_seeds": 99}}
    assert main(["tenant", "set", "acme", "--config", json.dumps(bad), *where]) == 1
    assert "n_seeds" in capsys.readouterr().err
    assert main(["tenant", "set", "acme", "--config", "{not json", *where]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["tenant", "get", "globex", *where]) == 1
    assert "unknown tenant 'globex'" in capsys.readouterr().err
    assert main(["tenant", "history", "acme", *where, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3

    assert main(["tenant", "delete", "acme", *where]) == 0
    capsys.readouterr()
    assert main(["tenant", "list", *where]) == 0
    assert "no tenants configured" in capsys.readouterr().out
