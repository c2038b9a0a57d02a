"""Edge catalog persistence under crashes and damage, and all-or-nothing upserts.

* ``create`` is atomic: a failure or a kill at any point leaves nothing that blocks ``create`` or
  ``open``; leftovers of dead creations are swept;
* a damaged ``genseek-catalog.json`` is a :class:`CatalogCorruptError` naming the file and the
  fix, and :meth:`EdgeCatalog.repair` rebuilds it from the shard;
* ``upsert`` validates its whole input first: one bad id, vector or payload anywhere writes nothing;
* integers outside signed 64 bits (tenants, filter values) are refused before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
from qdrant_client import models

pytest.importorskip("qdrant_edge")

from genseek.adapters import edge_catalog  # noqa: E402
from genseek.adapters.edge_catalog import (  # noqa: E402
    META_FILE,
    STAGING_INFIX,
    CatalogCorruptError,
    CatalogLockedError,
    EdgeCatalog,
)
from genseek.adapters.edge_storage import lock_directory, unlock_directory  # noqa: E402
from genseek.adapters.edge_filters import UnsupportedFilterError  # noqa: E402
from genseek.errors import CollectionError, ConfigError, DimensionMismatchError, GenseekError, InvalidRequestError  # noqa: E402
from genseek.search import GenerativeSearch  # noqa: E402
from genseek.testing import FixedSeedsSampler  # noqa: E402

DIM = 16
CREATE = {"vectors": {"dense": (DIM, "cosine")}, "tenant_field": "tenant", "payload_indexes": {"rank": "integer"}}


def staging_dirs(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}{STAGING_INFIX}"))


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    payloads = [{"tenant": ("a", "b")[i % 2], "rank": i} for i in range(n)]
    return vectors, payloads


def filled(path, n=50):
    catalog = EdgeCatalog.create(path, **CREATE)
    vectors, payloads = data(n)
    catalog.upsert(range(n), vectors, payloads)
    catalog.close()
    return vectors


# -- atomic creation --------------------------------------------------------------------------------
def _boom(*args, **kwargs):
    raise OSError(28, "No space left on device (injected)")


@pytest.mark.parametrize("failing", ["write_meta", "commit_staging", "fsync_dir", "_schema"])
@pytest.mark.parametrize("existing_empty_dir", [False, True])
def test_a_failed_create_leaves_nothing_behind(tmp_path, monkeypatch, failing, existing_empty_dir):
    path = tmp_path / "cat"
    if existing_empty_dir:
        path.mkdir()
    if failing == "_schema":  # the second payload index fails: after the shard and the tenant index exist
        original, calls = edge_catalog._schema, []

        def schema(*args, **kwargs):
            calls.append(args)
            if len(calls) == 3:  # 1: validation of the tenant schema, 2: tenant index, 3: 'rank'
                _boom()
            return original(*args, **kwargs)

        monkeypatch.setattr(edge_catalog, "_schema", schema)
    else:
        monkeypatch.setattr(edge_catalog, failing, _boom)
    with pytest.raises(OSError, match="injected"):
        EdgeCatalog.create(path, **CREATE)
    monkeypatch.undo()
    assert (sorted(os.listdir(path)) == [] if existing_empty_dir else not path.exists())
    assert staging_dirs(path) == []
    with pytest.raises(CollectionError, match="holds no genseek Edge catalog"):
        EdgeCatalog.open(path)
    vectors = filled(path)  # create works again
    with EdgeCatalog.open(path) as catalog:
        assert len(catalog) == len(vectors) and catalog.payload_indexes == {"tenant": "keyword", "rank": "integer"}


KILLED_CREATE = textwrap.dedent("""
    import os, sys
    from genseek.adapters import edge_catalog
    from genseek.adapters.edge_catalog import EdgeCatalog

    path, when = sys.argv[1], sys.argv[2]
    if when == "metadata":
        edge_catalog.write_meta = lambda *a, **k: os._exit(9)
    else:
        commit = edge_catalog.commit_staging
        def commit_then_die(staging, target):
            commit(staging, target)
            os._exit(9)
        edge_catalog.commit_staging = commit_then_die
    EdgeCatalog.create(path, vectors={"dense": (16, "cosine")}, tenant_field="tenant", payload_indexes={"rank": "integer"})
""")


@pytest.mark.parametrize("when", ["metadata", "after_rename"])
def test_a_process_killed_while_creating_blocks_neither_create_nor_open(tmp_path, when):
    path = tmp_path / "cat"
    out = subprocess.run([sys.executable, "-c", KILLED_CREATE, str(path), when], capture_output=True, text=True, timeout=120)
    assert out.returncode == 9, out.stderr
    if when == "metadata":  # died before the rename: no catalog, one dead staging directory
        assert not path.exists() and len(staging_dirs(path)) == 1
        with pytest.raises(CollectionError, match=r"its creation was interrupted .*Run EdgeCatalog.create again"):
            EdgeCatalog.open(path)
        filled(path)
        assert staging_dirs(path) == []  # swept by create()
    else:  # died right after the rename: the catalog is complete
        assert staging_dirs(path) == []
    with EdgeCatalog.open(path) as catalog:
        assert catalog.payload_indexes == {"tenant": "keyword", "rank": "integer"}
        assert catalog.shard.info().payload_schema["tenant"].params.is_tenant is True


def test_a_live_creation_is_not_swept_but_a_dead_one_is(tmp_path):
    path = tmp_path / "cat"
    live, dead = tmp_path / f".cat{STAGING_INFIX}live", tmp_path / f".cat{STAGING_INFIX}dead"
    live.mkdir()
    dead.mkdir()
    (dead / "genseek.lock").write_text("123")
    fd = lock_directory(live)  # another create() building right now
    try:
        EdgeCatalog.create(path, **CREATE).close()
        assert staging_dirs(path) == [live.name]
    finally:
        unlock_directory(fd)


def test_create_needs_a_new_or_empty_directory(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"is not empty \(notes.txt\) and holds no Edge catalog.*new or empty"):
        EdgeCatalog.create(tmp_path / "busy", **CREATE)
    assert os.listdir(tmp_path / "busy") == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        EdgeCatalog.create(tmp_path / "file", **CREATE)
    filled(tmp_path / "cat")
    listing = sorted(os.listdir(tmp_path / "cat"))
    with pytest.raises(ConfigError, match="already holds an Edge catalog; open it"):
        EdgeCatalog.create(tmp_path / "cat", **CREATE)
    assert sorted(os.listdir(tmp_path / "cat")) == listing
    with EdgeCatalog.open(tmp_path / "cat") as catalog:  # the refusal changed nothing
        assert len(catalog) == 50
        with pytest.raises(CatalogLockedError):  # repair() of an open catalog waits for its holder
            EdgeCatalog.repair(tmp_path / "cat")


def test_create_refuses_conflicting_tenant_settings_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="tenant field 'tenant' schema 'integer' but tenant_schema is 'keyword'"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "cosine")}, tenant_field="tenant",
                           payload_indexes={"tenant": "integer"})
    with pytest.raises(ConfigError, match="tenant field must be indexed as keyword, uuid or integer"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "cosine")}, tenant_field="tenant", tenant_schema="float")
    with pytest.raises(ConfigError, match="stale_tolerance"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "cosine")}, stale_tolerance=-1)
    assert not (tmp_path / "cat").exists() and staging_dirs(tmp_path / "cat") == []


# -- leftovers of an interrupted create of an older genseek (shard without metadata) ---------------
def old_leftover(path, points=0):
    """What the old, non-atomic create() left when it died after creating the shard."""
    import qdrant_edge as qe

    path.mkdir()
    (path / "genseek.lock").write_text("4242")
    shard = qe.EdgeShard.create(str(path / "shard"), qe.EdgeConfig(
        vectors={"dense": qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)}))
    if points:
        shard.update(qe.UpdateOperation.create_field_index("tenant", qe.KeywordIndexParams(is_tenant=True)))
        shard.update(qe.UpdateOperation.create_field_index("rank", qe.PayloadSchemaType.Integer))
        vectors, payloads = data(points)
        shard.update(qe.UpdateOperation.upsert_points(
            [qe.Point(i, {"dense": vectors[i].tolist()}, payloads[i]) for i in range(points)]))
    shard.flush()
    shard.close()


def test_an_empty_leftover_shard_is_replaced_by_create(tmp_path):
    path = tmp_path / "cat"
    old_leftover(path)
    with pytest.raises(CollectionError, match=r"only an Edge shard .*EdgeCatalog.repair.*EdgeCatalog.create"):
        EdgeCatalog.open(path)
    vectors = filled(path)
    with EdgeCatalog.open(path) as catalog:
        assert len(catalog) == len(vectors)


def test_a_leftover_shard_with_points_is_kept_and_repair_makes_it_a_catalog(tmp_path):
    path = tmp_path / "cat"
    old_leftover(path, points=30)
    with pytest.raises(ConfigError, match=r"holds 30 point\(s\); create\(\) replaces only an empty leftover.*repair"):
        EdgeCatalog.create(path, **CREATE)
    with EdgeCatalog.repair(path, name="tracks") as catalog:
        assert (catalog.name, len(catalog), catalog.tenant_field) == ("tracks", 30, "tenant")
        assert catalog.payload_indexes == {"tenant": "keyword", "rank": "integer"}
        assert [(s.name, s.dim, s.distance) for s in catalog.vector_spaces] == [("dense", DIM, "cosine")]
    with EdgeCatalog.open(path) as catalog:
        assert catalog.name == "tracks" and len(catalog) == 30


# -- damaged metadata -------------------------------------------------------------------------------
def _edit(change):
    def apply(text):
        meta = json.loads(text)
        change(meta)
        return json.dumps(meta)

    return apply


CORRUPTIONS = {
    "not_json": (lambda text: "this is not json", r"not valid JSON \(Expecting value at line 1, column 1"),
    "truncated": (lambda text: text[: len(text) // 2], r"not valid JSON .*truncated\?"),
    "empty": (lambda text: "", "the file is empty"),
    "binary": (lambda text: "\udcff", "not UTF-8"),
    "a_list": (lambda text: "[1, 2]", "the top level must be a JSON object, not list"),
    "missing_keys": (_edit(lambda m: (m.pop("vectors"), m.pop("index"))), r"missing key\(s\) \['vectors', 'index'\]"),
    "vectors_a_string": (_edit(lambda m: m.update(vectors="dense")), "'vectors' must be a non-empty list"),
    "dim_a_string": (_edit(lambda m: m["vectors"][0].update(dim="16")), r"'vectors'\[0\].dim must be a positive integer"),
    "vector_lacks_distance": (_edit(lambda m: m["vectors"][0].pop("distance")), r"'vectors'\[0\] lacks \['distance'\]"),
    "unknown_distance": (_edit(lambda m: m["vectors"][0].update(distance="hamming")), "distance must be one of"),
    "name_a_number": (_edit(lambda m: m.update(name=5)), "'name' must be a non-empty string, got 5"),
    "indexes_a_list": (_edit(lambda m: m.update(payload_indexes=[])), "'payload_indexes' must be an object"),
    "unknown_index_schema": (_edit(lambda m: m["payload_indexes"].update(rank="bigint")), "unknown schema"),
    "negative_writes": (_edit(lambda m: m["index"].update(writes_since_optimize=-1)), "must be a non-negative integer"),
    "index_a_number": (_edit(lambda m: m.update(index=3)), "'index' must be an object, got 3"),
    "tenant_a_list": (_edit(lambda m: m.update(tenant_field=["tenant"])), "'tenant_field' must be a payload key or null"),
    "version_a_string": (_edit(lambda m: m.update(schema_version="1")), "'schema_version' must be an integer"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_damaged_metadata_is_a_clear_error_and_repair_fixes_it(tmp_path, kind):
    path = tmp_path / "cat"
    vectors = filled(path)
    meta_file = path / META_FILE
    good = json.loads(meta_file.read_text())
    change, problem = CORRUPTIONS[kind]
    damaged = change(meta_file.read_text())
    meta_file.write_bytes(damaged.encode("utf-8", "surrogateescape"))
    with pytest.raises(CatalogCorruptError, match=problem) as caught:
        EdgeCatalog.open(path)
    message = str(caught.value)
    assert str(meta_file) in message and f"EdgeCatalog.repair({str(path)!r})" in message
    assert isinstance(caught.value, GenseekError)
    with EdgeCatalog.repair(path) as catalog:
        assert len(catalog) == len(vectors)
        assert catalog.name == "cat"
        assert (catalog.tenant_field, catalog.payload_indexes) == (good["tenant_field"], good["payload_indexes"])
        assert [(s.name, s.dim, s.distance) for s in catalog.vector_spaces] == [("dense", DIM, "cosine")]
    assert (path / (META_FILE + ".damaged")).read_bytes() == damaged.encode("utf-8", "surrogateescape")
    with EdgeCatalog.open(path) as catalog:  # repaired for good
        assert len(catalog) == len(vectors)


def test_other_metadata_problems(tmp_path):
    path = tmp_path / "cat"
    filled(path)
    meta_file = path / META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "schema_version": 99}))
    with pytest.raises(ConfigError, match="schema_version 99 is not supported"):
        EdgeCatalog.open(path)
    meta_file.write_text(json.dumps(meta))
    (path / "shard").rename(path / "shard.moved")
    with pytest.raises(CatalogCorruptError, match=r"describes catalog 'cat' but .*shard \(its Edge shard"):
        EdgeCatalog.open(path)
    with pytest.raises(CollectionError, match="nothing to repair"):
        EdgeCatalog.repair(path)
    (path / "shard.moved").rename(path / "shard")
    with EdgeCatalog.repair(path) as catalog:  # an intact catalog is just opened
        assert len(catalog) == 50
    assert not (path / (META_FILE + ".damaged")).exists()


# -- all-or-nothing upserts ---------------------------------------------------------------------------
N, BAD = 2000, 1500


def _rows():
    vectors, _ = data(N, seed=1)
    return list(range(N)), vectors, [{"tenant": f"t{i % 3}", "rank": i, "meta": {"tags": ["x"]}} for i in range(N)]


def _bad_id(value):
    def apply(ids, vectors, payloads):
        ids[BAD] = value
    return apply


def _bad_vector(value):
    def apply(ids, vectors, payloads):
        vectors[BAD, 3] = value
    return apply


def _bad_payload(change):
    def apply(ids, vectors, payloads):
        payloads[BAD] = change(dict(payloads[BAD]))
    return apply


def _set(key, value):
    return lambda p: {**p, key: value}


UPSERT_CASES = {
    "negative_id": (_bad_id(-1), ConfigError, r"point id -1 \(row 1500\): point ids must be unsigned"),
    "id_too_big": (_bad_id(2**64), ConfigError, r"\(row 1500\): point ids must be unsigned integers \(0 … 2\*\*64-1\)"),
    "float_id": (_bad_id(1.5), ConfigError, r"point id 1.5 \(row 1500\)"),
    "bool_id": (_bad_id(True), ConfigError, r"point id True \(row 1500\)"),
    "not_a_uuid": (_bad_id("track-7"), ConfigError, r"point id 'track-7' \(row 1500\).*UUID strings"),
    "none_id": (_bad_id(None), ConfigError, r"point id None \(row 1500\).*not NoneType"),
    "nan_vector": (_bad_vector(np.nan), ConfigError, r"NaN or infinite .* at point 1500 \(row 1500\)"),
    "inf_vector": (_bad_vector(np.inf), ConfigError, r"NaN or infinite .* at point 1500 \(row 1500\)"),
    "payload_a_list": (_bad_payload(lambda p: ["tenant", "t0"]), ConfigError, r"payload of point 1500 \(row 1500\) must be a mapping"),
    "int_key": (_bad_payload(lambda p: {**p, 7: "x"}), ConfigError, r"\(row 1500\): payload keys must be strings, got 7"),
    "set_value": (_bad_payload(_set("tags", {"a"})), ConfigError, r"\(row 1500\)\['tags'\]: a set is not JSON"),
    "datetime_value": (_bad_payload(_set("at", dt.datetime(2024, 1, 1))), ConfigError, "a datetime is not JSON.*ISO 8601"),
    "nan_value": (_bad_payload(_set("score", float("nan"))), ConfigError, r"\['score'\]: nan is not a finite number"),
    "huge_int": (_bad_payload(_set("rank", 2**63)), ConfigError, r"\['rank'\]: the integer 9223372036854775808 is outside"),
    "nested_huge_int": (_bad_payload(lambda p: {**p, "meta": {"n": [1, -(2**63) - 1]}}), ConfigError,
                        r"\['meta'\]\['n'\]\[1\]: the integer -9223372036854775809 is outside Qdrant's signed 64-bit"),
    "tenant_missing": (_bad_payload(lambda p: {"rank": 1}), ConfigError, r"1 point\(s\) lack the tenant field 'tenant' \(first: \[1500\]\)"),
    "tenant_bool": (_bad_payload(_set("tenant", True)), ConfigError, r"point 1500 \(row 1500\): the tenant field 'tenant' must be"),
    "tenant_float": (_bad_payload(_set("tenant", 2.0)), ConfigError, "the tenant field 'tenant' must be a non-empty string or an integer"),
    "tenant_list": (_bad_payload(_set("tenant", ["a"])), ConfigError, "the tenant field 'tenant' must be"),
    "tenant_beyond_int64": (_bad_payload(_set("tenant", 2**63)), ConfigError, r"\['tenant'\]: the integer 9223372036854775808 is outside"),
}


@pytest.fixture(scope="module")
def empty_catalog(tmp_path_factory):
    catalog = EdgeCatalog.create(tmp_path_factory.mktemp("upsert") / "cat", **CREATE)
    yield catalog
    catalog.close()


@pytest.mark.parametrize("case", sorted(UPSERT_CASES))
def test_one_bad_row_writes_nothing(empty_catalog, case):
    change, error, message = UPSERT_CASES[case]
    ids, vectors, payloads = _rows()
    change(ids, vectors, payloads)
    writes = empty_catalog.index_status().writes_since_optimize
    with pytest.raises(error, match=message):
        empty_catalog.upsert(ids, vectors, payloads, batch_size=256)
    assert len(empty_catalog) == 0  # not even the 1,024 points before row 1,500
    assert empty_catalog.index_status().writes_since_optimize == writes


@pytest.mark.parametrize("vectors, message", [
    (np.full((N, DIM), "x"), "values must be real numbers .*got dtype <U1"),
    (np.array([None] * N * DIM, dtype=object).reshape(N, DIM), "got dtype object"),
    (np.ones((N, DIM), dtype=bool), "got dtype bool"),
    (np.ones((N, DIM), dtype=complex), "got dtype complex128"),
    ([[0.0] * DIM] * BAD + [[0.0] * (DIM - 1)] + [[0.0] * DIM] * (N - BAD - 1), "numpy cannot read as one"),
    (np.full((N, DIM), 1e39), "too large for float32"),
    (np.ones((N, DIM + 1)), "16-d, got 17-d rows"),
    (np.ones((N - 1, DIM)), r"expected an \(2000, 16\) array, got shape \(1999, 16\)"),
])
def test_bad_vector_arrays_write_nothing(empty_catalog, vectors, message):
    ids, _, payloads = _rows()
    with pytest.raises((ConfigError, DimensionMismatchError), match=message):
        empty_catalog.upsert(ids, vectors, payloads)
    assert len(empty_catalog) == 0


def test_other_bad_arguments_write_nothing(empty_catalog):
    ids, vectors, payloads = _rows()
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        empty_catalog.upsert(ids, vectors, payloads, batch_size=0)
    with pytest.raises(ConfigError, match="got 1999 payloads for 2000 ids"):
        empty_catalog.upsert(ids, vectors, payloads[:-1])
    with pytest.raises(ConfigError, match=r"2000 point\(s\) lack the tenant field 'tenant' \(no payloads given\)"):
        empty_catalog.upsert(ids, vectors)
    with pytest.raises(ConfigError, match="ids must be a sequence"):
        empty_catalog.upsert("0123", vectors[:4], payloads[:4])
    loops = dict(payloads[0])
    loops["self"] = loops
    with pytest.raises(ConfigError, match="nested too deeply"):
        empty_catalog.upsert([0], vectors[:1], [loops])
    assert len(empty_catalog) == 0


def test_values_at_the_edges_of_the_ranges_are_written(tmp_path):
    with EdgeCatalog.create(tmp_path / "cat", vectors={"dense": (DIM, "cosine")}, tenant_field="shop",
                            tenant_schema="integer") as catalog:
        vectors, _ = data(6)
        ids = [0, 2**64 - 1, np.uint64(7), uuid.UUID(int=5), str(uuid.UUID(int=6)), np.int32(9)]
        payloads = [
            {"shop": 2**63 - 1, "n": np.int64(-(2**63)), "x": np.float32(0.5), "flag": np.bool_(True)},
            {"shop": -(2**63), "v": np.arange(3), "t": (1, "a"), "none": None},
            {"shop": 1}, {"shop": 1}, {"shop": 1}, {"shop": "s"},
        ]
        assert catalog.upsert(ids, vectors.astype(np.float64), payloads) == 6
        assert len(catalog) == 6
        top = models.Filter(must=[models.FieldCondition(key="shop", match=models.MatchValue(value=2**63 - 1))])
        assert catalog.count(top) == 1
        (record,) = catalog.shard.retrieve([2**64 - 1], with_payload=True, with_vector=False)
        assert record.payload == {"shop": -(2**63), "v": [0, 1, 2], "t": [1, "a"], "none": None}
        with pytest.raises(ConfigError, match=r"point id -3 \(row 1\)"):
            catalog.delete([0, -3])
        assert len(catalog) == 6  # the bad id deleted nothing
        catalog.delete([0, uuid.UUID(int=5)])
        assert len(catalog) == 4


def test_tenant_ids_beyond_int64_are_refused_before_anything_is_sent(tmp_path):
    vectors, _ = data(40)
    with EdgeCatalog.create(tmp_path / "cat", vectors={"dense": (DIM, "cosine")}, tenant_field="shop",
                            tenant_schema="integer") as catalog:
        catalog.upsert(range(40), vectors, [{"shop": (2**63 - 1, 3)[i % 2]} for i in range(40)])
        search = GenerativeSearch(catalog, catalog.name, encoder=None, sampler=FixedSeedsSampler(vectors[:2]),
                                  tenant_field="shop", fusion="engine", fuser="max")
        result = search.search(vector=vectors[0], n_seeds=2, tenant=2**63 - 1, limit=5)
        assert result.points and all(p.id % 2 == 0 for p in result.points)
        for tenant in (2**63, -(2**63) - 1, 2**64 + 5):
            with pytest.raises(InvalidRequestError, match=rf"{tenant} is outside .*signed 64-bit range"):
                search.search(vector=vectors[0], n_seeds=2, tenant=tenant, limit=5)
            caller = models.Filter(must=[models.FieldCondition(key="shop", match=models.MatchValue(value=tenant))])
            with pytest.raises(InvalidRequestError, match=rf"the integer {tenant} is outside Qdrant's signed 64-bit"):
                search.search(vector=vectors[0], n_seeds=2, tenant=3, filter=caller, limit=5)
        for match in (models.MatchAny(any=[3, 2**63]), models.MatchExcept(**{"except": [2**64]})):
            with pytest.raises(UnsupportedFilterError, match="outside Qdrant's signed 64-bit range"):
                catalog.count(models.Filter(must=[models.FieldCondition(key="shop", match=match)]))


# -- loaders are all or nothing too ----------------------------------------------------------------
@pytest.mark.parametrize("existing_empty_dir", [False, True])
def test_build_catalog_with_bad_input_leaves_path_as_it_was(tmp_path, existing_empty_dir):
    from genseek.adapters.edge_catalog import build_catalog

    path = tmp_path / "cat"
    if existing_empty_dir:
        path.mkdir()
    vectors, payloads = data(40)
    payloads[30] = {"tenant": "a", "when": dt.date(2024, 1, 1)}
    with pytest.raises(ConfigError, match=r"payload of point 30 \(row 30\)\['when'\]: a date is not JSON"):
        build_catalog(path, vectors, payloads, tenant_field="tenant")
    assert (os.listdir(path) == [] if existing_empty_dir else not path.exists())
    with pytest.raises(ConfigError, match=r"expected an \(n, d\) array, got shape \(16,\)"):
        build_catalog(path, vectors[0], payloads[:1])
    payloads[30] = {"tenant": "a"}
    with build_catalog(path, vectors, payloads, tenant_field="tenant") as catalog:  # the retry works
        assert len(catalog) == 40


def test_catalog_from_qdrant_that_fails_part_way_leaves_nothing(tmp_path):
    from qdrant_client import QdrantClient

    from genseek.adapters.edge_migrate import catalog_from_qdrant

    client = QdrantClient(":memory:")
    client.create_collection("items", vectors_config={"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)})
    vectors, payloads = data(300)
    payloads[250] = {"tenant": "a", "big": 2**64}  # qdrant-client local mode stores it; Edge cannot hold it exactly
    client.upsert("items", [models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload=payloads[i])
                            for i in range(300)])
    with pytest.raises(ConfigError, match=r"\['big'\]: the integer 18446744073709551616 is outside"):
        catalog_from_qdrant(client, "items", tmp_path / "edge", batch_size=100, tenant_field="tenant")
    assert not (tmp_path / "edge").exists() and staging_dirs(tmp_path / "edge") == []
    client.set_payload("items", {"big": 1}, points=[250])
    with catalog_from_qdrant(client, "items", tmp_path / "edge", batch_size=100, tenant_field="tenant") as catalog:
        assert len(catalog) == 300
    client.close()
