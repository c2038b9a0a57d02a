"""Migrations from an empty start and from a legacy app collection; resumable backfills."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http import models

from genseek.errors import CollectionError, ConfigError, DimensionMismatchError, UnknownComponentError
from genseek.migrations import Ledger, Migrator, load_plan
from genseek.testing import HashingEncoder

DIM = 8


def fill_plan(collection="legacy", batch_size=16, **backfill):
    return {
        "collection": collection,
        "steps": [
            {"name": "m001_tenant_index", "op": "payload_index", "field": "shop", "is_tenant": True},
            {"name": "m002_add_text", "op": "add_vector", "vector": "text", "encoder": "flaky", "encoder_options": {"dim": DIM}},
            {"name": "m003_fill_text", "op": "backfill", "vector": "text", "field": "text", "encoder": "flaky",
             "encoder_options": {"dim": DIM}, "batch_size": batch_size, **backfill},
        ],
    }


def assert_backfilled(client, collection, before, helpers, *, only=lambda i: True):
    """Every point with text has exactly its own vector; payloads and legacy vectors unchanged."""
    reference = HashingEncoder(dim=DIM)
    records, _ = client.scroll(collection, limit=10_000, with_payload=True, with_vectors=True)
    assert len(records) == helpers.n_points
    for record in records:
        payload, legacy = before[record.id]
        assert record.payload == payload
        assert np.allclose(record.vector["legacy"], legacy)
        text = helpers.legacy_text(record.id)
        if text and only(record.id):
            assert np.allclose(record.vector["text"], reference.encode(text), atol=1e-6)
        else:
            assert "text" not in record.vector


def test_from_an_empty_start(registry):
    client = QdrantClient(":memory:")
    plan = {
        "collection": "tracks",
        "steps": [
            {"name": "m001_create", "op": "create_collection",
             "vectors": {"text": {"encoder": "hashing", "encoder_options": {"dim": DIM}}, "image": {"size": 4, "distance": "cosine"}}},
            {"name": "m002_tenant", "op": "payload_index", "field": "tenant", "is_tenant": True},
            {"name": "m003_live", "op": "alias", "alias": "tracks_live"},
        ],
    }
    migrator = Migrator(client, plan, registry=registry, progress=False)
    lines = [str(line) for line in migrator.plan()]
    assert "create collection 'tracks' with vectors text(8, Dot), image(4, Cosine)" in lines[0]
    assert client.get_collections().collections == []  # the dry run changed nothing, not even the ledger
    assert migrator.apply() == ["m001_create", "m002_tenant", "m003_live"]
    params = client.get_collection("tracks_live").config.params.vectors
    assert (params["text"].size, params["text"].distance) == (DIM, models.Distance.DOT)  # unit-norm encoder: DOT
    assert migrator.apply() == []  # idempotent
    assert [s.status for s in migrator.status()] == ["applied"] * 3
    assert all(line.action == "skip" for line in migrator.plan())
    assert migrator.rollback(to="m001_create") == [
        "m003_live (alias): alias 'tracks_live' removed",
        "m002_tenant (payload_index): deleted payload index on 'tenant'",
    ]
    assert client.get_aliases().aliases == []
    assert migrator.rollback()[0].startswith("m001_create (create_collection): deleted collection")
    assert not client.collection_exists("tracks")
    assert migrator.apply() == ["m001_create", "m002_tenant", "m003_live"]  # rolled-back steps run again


def test_from_a_legacy_app_collection(legacy, registry, flaky, helpers):
    before = helpers.snapshot(legacy, "legacy")
    migrator = Migrator(legacy, fill_plan(), registry=registry, progress=False)
    plan = [str(line) for line in migrator.plan()]
    assert "add vector 'text' (8, Dot) to 'legacy' with create_vector_name" in plan[1]
    assert migrator.apply() == ["m001_tenant_index", "m002_add_text", "m003_fill_text"]
    assert_backfilled(legacy, "legacy", before, helpers)
    assert all(count == 1 for count in flaky.encoded.values())
    checkpoint = migrator.status()[2].checkpoint
    texts = sum(1 for i in range(helpers.n_points) if helpers.legacy_text(i))
    assert checkpoint["encoded"] == texts and checkpoint["done"] is True
    assert checkpoint["skipped_missing"] == helpers.n_points - texts
    assert migrator.apply() == [] and flaky.calls == len(range(0, helpers.n_points, 16))  # nothing re-encoded
    messages = migrator.rollback(to="m001_tenant_index")
    assert "deleted vector 'text'" in messages[-1]
    assert helpers.snapshot(legacy, "legacy") == before


def test_backfill_rollback_keeps_vectors_it_did_not_write(legacy, registry, flaky, helpers):
    migrator = Migrator(legacy, fill_plan(), registry=registry, progress=False)
    migrator.apply(until="m002_add_text")
    own = [0.5] * DIM  # the application wrote point 1's vector itself, before the backfill
    legacy.update_vectors("legacy", [models.PointVectors(id=1, vector={"text": own})])
    migrator.apply()
    message = migrator.rollback(to="m002_add_text")[0]
    assert "left as it is: 1 points had it before the backfill" in message
    record = legacy.retrieve("legacy", [1], with_vectors=["text"])[0]
    assert np.allclose(record.vector["text"], own)
    # without vectors written by others, a rollback clears what the backfill wrote
    fresh = Migrator(QdrantClient(":memory:"), fill_plan(), registry=registry, progress=False)
    fresh.client.create_collection("legacy", vectors_config={"legacy": models.VectorParams(size=4, distance=models.Distance.COSINE)})
    fresh.client.upsert("legacy", [models.PointStruct(id=2, vector={"legacy": [1.0, 0, 0, 0]}, payload={"text": "x"})])
    fresh.apply()
    assert "cleared vector 'text'" in fresh.rollback(to="m002_add_text")[0]
    assert fresh.client.retrieve("legacy", [2], with_vectors=True)[0].vector.get("text") is None


@pytest.mark.parametrize("where", ["encoder", "after_write"])
@pytest.mark.parametrize("k", [0, 4, 12])
def test_backfill_interrupted_at_batch_k_then_resumed(legacy, registry, flaky, helpers, monkeypatch, where, k):
    before = helpers.snapshot(legacy, "legacy")
    migrator = Migrator(legacy, fill_plan(), registry=registry, progress=False)
    if where == "encoder":
        flaky.fail_at = k  # one encoder call per batch of 16 points
    else:  # crash after batch k's vectors were written, before its checkpoint was recorded
        original, seen = Ledger.checkpoint, []

        def crash(self, target, name, checkpoint):
            seen.append(checkpoint)
            if len(seen) == k + 1:
                raise RuntimeError("process killed after the write")
            original(self, target, name, checkpoint)

        monkeypatch.setattr(Ledger, "checkpoint", crash)
    with pytest.raises(RuntimeError):
        migrator.apply()
    monkeypatch.undo()
    status = {s.name: s for s in migrator.status()}
    assert status["m003_fill_text"].status == "failed" and "RuntimeError" in status["m003_fill_text"].error
    flaky.fail_at = None
    assert Migrator(legacy, fill_plan(), registry=registry, progress=False).apply() == ["m003_fill_text"]
    assert_backfilled(legacy, "legacy", before, helpers)
    texts = [helpers.legacy_text(i) for i in range(helpers.n_points) if helpers.legacy_text(i)]
    assert sorted(flaky.encoded) == sorted(texts) and set(flaky.encoded.values()) == {1}  # none twice, none skipped
    final = migrator.status()[2].checkpoint
    # a batch written after the last checkpoint is found again on resume and skipped, not re-encoded
    assert final["encoded"] + final["skipped_existing"] == len(texts) and final["done"]
    assert migrator.ledger.get("legacy", "m003_fill_text")["state"]["vectors_present"] == len(texts)


def test_tenant_filtered_backfill_with_a_progress_bar(legacy, registry, flaky, helpers, capsys):
    before = helpers.snapshot(legacy, "legacy")
    plan = fill_plan(filter={"must": [{"key": "shop", "match": {"value": "shop1"}}]})
    Migrator(legacy, plan, registry=registry, progress=True).apply()
    assert "backfill legacy.text" in capsys.readouterr().err
    assert_backfilled(legacy, "legacy", before, helpers, only=lambda i: i % 3 == 1)


def test_copy_strategy_builds_a_copy_and_switches_the_alias(legacy, registry, flaky, helpers):
    legacy.update_collection_aliases(
        change_aliases_operations=[models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="legacy", alias_name="catalog"))]
    )
    before = helpers.snapshot(legacy, "legacy")
    plan = fill_plan(collection="catalog")
    plan["steps"][1]["strategy"] = "copy"
    migrator = Migrator(legacy, plan, registry=registry, progress=False)
    assert "then switch alias 'catalog'" in str(migrator.plan()[1])
    migrator.apply()
    assert {a.alias_name: a.collection_name for a in legacy.get_aliases().aliases} == {"catalog": "legacy__m002_add_text"}
    assert_backfilled(legacy, "catalog", before, helpers)
    assert helpers.snapshot(legacy, "legacy") == before  # the original is untouched
    assert "text" not in legacy.get_collection("legacy").config.params.vectors
    migrator.rollback(to="m001_tenant_index")
    assert {a.alias_name: a.collection_name for a in legacy.get_aliases().aliases} == {"catalog": "legacy"}


def test_copy_strategy_keeps_an_unnamed_vector(registry, flaky, helpers):
    client = QdrantClient(":memory:")
    client.create_collection("plain", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    client.upsert("plain", [models.PointStruct(id=i, vector=[1.0, i, 0.0, 1.0], payload={"shop": "s", "text": f"t{i}"}) for i in range(1, 6)])
    client.update_collection_aliases(
        change_aliases_operations=[models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="plain", alias_name="catalog"))]
    )
    stored = {r.id: r.vector for r in client.scroll("plain", limit=100, with_vectors=True)[0]}
    plan = fill_plan(collection="catalog")
    plan["steps"][1]["strategy"] = "copy"
    Migrator(client, plan, registry=registry, progress=False).apply()
    records, _ = client.scroll("catalog", limit=100, with_payload=True, with_vectors=True)
    assert len(records) == 5
    for record in records:
        vectors = record.vector if isinstance(record.vector, dict) else {"": record.vector}
        assert np.allclose(vectors[""], stored[record.id]) and len(vectors["text"]) == DIM
        assert record.payload == {"shop": "s", "text": f"t{record.id}"}


def test_copy_strategy_needs_an_alias(legacy, registry, flaky):
    plan = fill_plan()
    plan["steps"][1]["strategy"] = "copy"
    with pytest.raises(CollectionError, match="not an alias"):
        Migrator(legacy, plan, registry=registry, progress=False).apply()
    assert "text" not in legacy.get_collection("legacy").config.params.vectors


def test_applied_history_cannot_be_rewritten(legacy, registry, flaky):
    Migrator(legacy, fill_plan(), registry=registry, progress=False).apply(until="m002_add_text")
    edited = fill_plan()
    edited["steps"][1]["encoder_options"] = {"dim": 12}
    with pytest.raises(ConfigError, match="m002_add_text.*applied with different parameters"):
        Migrator(legacy, edited, registry=registry, progress=False).apply()
    inserted = fill_plan()
    inserted["steps"].insert(0, {"name": "m000_new", "op": "payload_index", "field": "meta.rank", "schema": "integer"})
    with pytest.raises(ConfigError, match="new steps go at the end"):
        Migrator(legacy, inserted, registry=registry, progress=False).plan()
    dropped = fill_plan()
    del dropped["steps"][0]
    with pytest.raises(ConfigError, match="m001_tenant_index.*does not list"):
        Migrator(legacy, dropped, registry=registry, progress=False).status() and Migrator(
            legacy, dropped, registry=registry, progress=False
        ).apply()


def test_mismatches_are_clear_errors_and_write_nothing(legacy, registry, flaky, helpers):
    before = helpers.snapshot(legacy, "legacy")
    with pytest.raises(CollectionError, match="has vector 'legacy' as 16-d Cosine, the step wants 8-d"):
        Migrator(legacy, {"collection": "legacy", "steps": [
            {"name": "m1", "op": "create_collection", "vectors": {"legacy": {"size": 8, "distance": "cosine"}}}]},
            registry=registry, progress=False).apply()
    with pytest.raises(UnknownComponentError, match="unknown encoder 'nope'.*'flaky'"):
        Migrator(legacy, fill_plan(encoder="nope"), registry=registry, progress=False).apply()
    assert "text" not in legacy.get_collection("legacy").config.params.vectors  # checked before any step ran
    plan = fill_plan()
    plan["steps"][2]["encoder_options"] = {"dim": 4}
    with pytest.raises(DimensionMismatchError, match="4-d vectors but vector 'text'"):
        Migrator(legacy, plan, registry=registry, progress=False).apply()
    assert flaky.calls == 0 and helpers.snapshot(legacy, "legacy") == before


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"collection": "c", "steps": [{"name": "a", "op": "teleport"}]}, "does not match any of the expected tags"),
        ({"collection": "c", "steps": [{"name": "a", "op": "alias", "alias": "x", "colour": 1}]}, "colour"),
        ({"collection": "c", "steps": [{"name": "a", "op": "alias", "alias": "x"}] * 2}, "appears twice"),
        ({"collection": "c", "steps": [{"name": "a", "op": "payload_index", "field": "f", "schema": "float", "is_tenant": True}]}, "is_tenant"),
        ({"collection": "c", "steps": [{"name": "a", "op": "create_collection", "vectors": {"v": {"size": 4}}}]}, "distance='auto' needs encoder"),
    ],
)
def test_invalid_plans_are_refused_with_the_problem(plan, message):
    from genseek.migrations import parse_plan

    with pytest.raises(ConfigError, match=message):
        parse_plan(plan)


def test_plans_load_from_json_and_toml(tmp_path):
    data = {"collection": "tracks", "steps": [{"name": "m1", "op": "alias", "alias": "live"}]}
    (tmp_path / "plan.json").write_text(json.dumps(data))
    (tmp_path / "plan.toml").write_text('collection = "tracks"\n[[steps]]\nname = "m1"\nop = "alias"\nalias = "live"\n')
    assert load_plan(tmp_path / "plan.json") == load_plan(tmp_path / "plan.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_plan(tmp_path / "missing.json")


def test_one_migrator_at_a_time(legacy, registry, flaky):
    from genseek.migrations.ledger import MigrationLockedError

    other = Migrator(legacy, fill_plan(), registry=registry, progress=False)
    other.ledger.acquire("legacy", "someone-else")
    migrator = Migrator(legacy, fill_plan(), registry=registry, progress=False)
    with pytest.raises(MigrationLockedError, match="another migration of 'legacy' is running.*--break-lock"):
        migrator.apply()
    assert [s.status for s in migrator.status()] == ["pending"] * 3
    stale = Migrator(legacy, fill_plan(), registry=registry, progress=False, stale_lock_after=0.0)
    assert stale.apply(until="m001_tenant_index") == ["m001_tenant_index"]  # a silent holder is taken over
    other.ledger.acquire("legacy", "someone-else")
    forced = Migrator(legacy, fill_plan(), registry=registry, progress=False, break_lock=True)
    assert forced.apply() == ["m002_add_text", "m003_fill_text"]
    assert forced.ledger._lock("legacy") is None  # released


def test_backfill_from_media_paths_relative_to_a_root(tmp_path, registry):
    client = QdrantClient(":memory:")
    client.create_collection("photos", vectors_config={"legacy": models.VectorParams(size=4, distance=models.Distance.COSINE)})
    for i in range(5):
        (tmp_path / f"img_{i}.png").write_text(f"a photo of thing{i}")
    client.upsert("photos", [
        models.PointStruct(id=i, vector={"legacy": [1.0, 0, 0, float(i)]}, payload={"media": {"path": f"img_{i}.png"}})
        for i in range(5)
    ])
    plan = {"collection": "photos", "steps": [
        {"name": "m1", "op": "add_vector", "vector": "clip", "encoder": "file-content", "encoder_options": {"dim": DIM}},
        {"name": "m2", "op": "backfill", "vector": "clip", "field": "media.path", "encoder": "file-content",
         "encoder_options": {"dim": DIM}, "modality": "image", "root": str(tmp_path), "batch_size": 2},
    ]}
    Migrator(client, plan, registry=registry, progress=False).apply()
    reference = HashingEncoder(dim=DIM)
    for record in client.retrieve("photos", list(range(5)), with_vectors=True):
        assert np.allclose(record.vector["clip"], reference.encode(f"a photo of thing{record.id}"), atol=1e-6)
