"""Edge catalog lifecycle: persistence, the directory lock, payload indexes, managed HNSW, migration."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

pytest.importorskip("qdrant_edge")

from genseek.adapters.qdrant_edge import (  # noqa: E402
    CatalogLockedError,
    EdgeCatalog,
    StaleIndexError,
    StaleIndexWarning,
    build_catalog,
    catalog_from_qdrant,
)
from genseek.errors import CollectionError, ConfigError, DimensionMismatchError  # noqa: E402
from genseek.search import GenerativeSearch  # noqa: E402
from genseek.testing import FixedSeedsSampler, clustered_vectors, make_collection  # noqa: E402


@pytest.fixture(scope="module")
def small():
    vectors, labels = clustered_vectors(600, 16, clusters=6, intrinsic_dim=4, seed=3)
    payloads = [{"tenant": ("a", "b")[i % 2], "cluster": int(labels[i])} for i in range(len(vectors))]
    return vectors, payloads


def searcher(catalog, seeds, **kwargs):
    """Max fusion: no exact score ties, so rankings compare exactly."""
    return GenerativeSearch(catalog, catalog.name, encoder=None, sampler=FixedSeedsSampler(seeds), fusion="engine", fuser="max",
                            tenant_field=catalog.tenant_field, **kwargs)


def test_persistence_round_trip(tmp_path, small):
    vectors, payloads = small
    seeds = vectors[[1, 50, 300]]
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant",
                       payload_indexes={"cluster": "integer"}) as catalog:
        before = searcher(catalog, seeds).search(vector=seeds[0], n_seeds=3, tenant="b", limit=10)
        name, status = catalog.name, catalog.index_status()
    assert catalog.closed
    with EdgeCatalog.open(tmp_path / "cat") as reopened:
        assert reopened.name == name == "cat"
        assert len(reopened) == len(vectors)
        assert reopened.tenant_field == "tenant"
        assert reopened.payload_indexes == {"tenant": "keyword", "cluster": "integer"}
        assert reopened.index_status().last_optimize_s == status.last_optimize_s
        schema = reopened.shard.info().payload_schema
        assert set(schema) == {"tenant", "cluster"}
        after = searcher(reopened, seeds).search(vector=seeds[0], n_seeds=3, tenant="b", limit=10)
    assert [(p.id, round(p.score, 5), p.payload) for p in after.points] == [
        (p.id, round(p.score, 5), p.payload) for p in before.points
    ]


def test_tenant_field_gets_an_is_tenant_index(tmp_path, small):
    vectors, payloads = small
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant") as catalog:
        params = catalog.shard.info().payload_schema["tenant"].params
        assert params.is_tenant is True


def test_second_open_is_a_clear_error_in_the_same_process(tmp_path, small):
    vectors, payloads = small
    with build_catalog(tmp_path / "cat", vectors, payloads):
        with pytest.raises(CatalogLockedError, match="already open.*one process per directory"):
            EdgeCatalog.open(tmp_path / "cat")
    EdgeCatalog.open(tmp_path / "cat").close()  # released on close


def test_second_process_gets_a_clear_error(tmp_path, small):
    vectors, payloads = small
    script = textwrap.dedent(f"""
        from genseek.adapters.qdrant_edge import EdgeCatalog, CatalogLockedError
        try:
            EdgeCatalog.open({str(tmp_path / 'cat')!r})
        except CatalogLockedError as exc:
            print("LOCKED", exc)
    """)
    with build_catalog(tmp_path / "cat", vectors, payloads):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "LOCKED" in out.stdout, out.stderr
    assert "held by process" in out.stdout


def test_create_refuses_an_existing_catalog_and_open_a_missing_one(tmp_path, small):
    vectors, payloads = small
    build_catalog(tmp_path / "cat", vectors, payloads).close()
    with pytest.raises(ConfigError, match="already holds an Edge catalog"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"dense": (16, "cosine")})
    with pytest.raises(CollectionError, match="holds no genseek Edge catalog"):
        EdgeCatalog.open(tmp_path / "nothing-here")


def test_bulk_load_builds_hnsw(tmp_path, small):
    vectors, payloads = small
    with build_catalog(tmp_path / "cat", vectors, payloads, indexing_threshold_kb=8) as catalog:
        status = catalog.index_status()
    assert status.points == len(vectors)
    assert status.indexed_vectors == len(vectors) and status.unindexed_vectors == 0
    assert not status.stale and status.last_optimize_s is not None


def test_stale_index_is_reported_and_handled_by_policy(tmp_path, small):
    vectors, payloads = small
    seeds = vectors[[1, 2]]
    catalog = build_catalog(tmp_path / "cat", vectors[:500], payloads[:500], tenant_field="tenant",
                            indexing_threshold_kb=8, stale_tolerance=20, on_stale="error")
    try:
        catalog.upsert(range(500, 600), vectors[500:], payloads[500:], optimize=False)
        status = catalog.index_status()
        assert status.stale and status.writes_since_optimize == 100
        with pytest.raises(StaleIndexError, match=r"100 point\(s\) written since the last optimize\(\)"):
            searcher(catalog, seeds).search(vector=seeds[0], n_seeds=2, tenant="a")
        catalog.on_stale = "warn"
        with pytest.warns(StaleIndexWarning):
            stale_result = searcher(catalog, seeds).search(vector=seeds[0], n_seeds=2, tenant="a")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once per stale period
            searcher(catalog, seeds).search(vector=seeds[0], n_seeds=2, tenant="a")
        catalog.on_stale = "optimize"
        fresh_result = searcher(catalog, seeds).search(vector=seeds[0], n_seeds=2, tenant="a")
        assert not catalog.index_status().stale
        # a stale index is slower, never wrong
        assert [p.id for p in fresh_result.points] == [p.id for p in stale_result.points]
    finally:
        catalog.close()


def test_small_writes_within_tolerance_are_not_stale(tmp_path, small):
    vectors, payloads = small
    with build_catalog(tmp_path / "cat", vectors[:590], payloads[:590], stale_tolerance=50) as catalog:
        catalog.upsert(range(590, 600), vectors[590:], payloads[590:])
        assert not catalog.index_status().stale
        catalog.upsert(range(0, 60), vectors[:60], payloads[:60])  # >= tolerance: a bulk load, optimized
        assert catalog.index_status().writes_since_optimize == 0


def test_upsert_validates_its_input(tmp_path, small):
    vectors, payloads = small
    with EdgeCatalog.create(tmp_path / "cat", vectors={"dense": (16, "cosine")}, tenant_field="tenant") as catalog:
        with pytest.raises(DimensionMismatchError, match="16-d"):
            catalog.upsert([1], np.ones((1, 8)), [{"tenant": "a"}])
        with pytest.raises(ConfigError, match="tenant field"):
            catalog.upsert([1, 2], vectors[:2], [{"tenant": "a"}, {"other": 1}])
        with pytest.raises(ConfigError, match="unsigned"):
            catalog.upsert([-1], vectors[:1], [{"tenant": "a"}])
        with pytest.raises(ConfigError, match="NaN"):
            catalog.upsert([1], np.full((1, 16), np.nan), [{"tenant": "a"}])
        assert len(catalog) == 0


def test_unnamed_vector_and_uuid_ids(tmp_path, small):
    vectors, _ = small
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(len(vectors))]
    with build_catalog(tmp_path / "cat", vectors, ids=ids, vector_name=None) as catalog:
        assert catalog.vector_space(None).name is None
        result = GenerativeSearch(catalog, catalog.name, encoder=None, sampler=FixedSeedsSampler(vectors[:2]),
                                  fusion="client").search(vector=vectors[0], n_seeds=2, with_vectors=True)
        assert result.points[0].id == ids[0]
        assert isinstance(result.points[0].vector, list)
        with pytest.raises(CollectionError, match="single unnamed vector"):
            catalog.vector_space("dense")


def test_wrong_collection_name_and_bare_shard_are_clear_errors(tmp_path, small):
    vectors, payloads = small
    with build_catalog(tmp_path / "cat", vectors, payloads, name="tracks") as catalog:
        with pytest.raises(CollectionError, match="'tracks'"):
            GenerativeSearch(catalog, "items", encoder=None, sampler=FixedSeedsSampler(vectors[:2]))
        with pytest.raises(ConfigError, match="EdgeCatalog.open"):
            GenerativeSearch(catalog.shard, "tracks", encoder=None, sampler=FixedSeedsSampler(vectors[:2]))


def test_move_a_local_mode_collection_into_edge(tmp_path, small, same_ranking):
    vectors, payloads = small
    client = QdrantClient(path=str(tmp_path / "local"))
    make_collection(client, "items", vectors, vector_name="dense", payload=lambda i: payloads[i])
    seeds = vectors[[5, 100, 400]]
    # local mode records no payload indexes, so name them (a server's are copied by default)
    with catalog_from_qdrant(client, "items", tmp_path / "edge", batch_size=128, tenant_field="tenant",
                             payload_indexes={"cluster": "integer"}) as catalog:
        assert catalog.name == "items" and len(catalog) == len(vectors)
        assert catalog.tenant_field == "tenant"
        assert catalog.payload_indexes == {"tenant": "keyword", "cluster": "integer"}
        for fusion in ("engine", "client"):
            got = GenerativeSearch(catalog, "items", encoder=None, sampler=FixedSeedsSampler(seeds), fuser="max",
                                   tenant_field="tenant", fusion=fusion).search(vector=seeds[0], n_seeds=3, tenant="a")
            want = GenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(seeds), fuser="max",
                                    tenant_field="tenant", fusion="client").search(vector=seeds[0], n_seeds=3, tenant="a")
            same_ranking(got.points, want.points)
            assert [p.payload for p in got.points] == [p.payload for p in want.points]
    client.close()


def test_move_one_tenant_only(tmp_path, small):
    vectors, payloads = small
    client = QdrantClient(":memory:")
    make_collection(client, "items", vectors, vector_name="dense", payload=lambda i: payloads[i])
    only_b = models.Filter(must=[models.FieldCondition(key="tenant", match=models.MatchValue(value="b"))])
    with catalog_from_qdrant(client, "items", tmp_path / "edge", scroll_filter=only_b, tenant_field="tenant",
                             name="items-b") as catalog:
        assert len(catalog) == len(vectors) // 2
        assert catalog.count(only_b) == len(catalog)
    client.close()


def test_async_search_on_edge(tmp_path, small):
    import asyncio

    from genseek.search import AsyncGenerativeSearch

    vectors, payloads = small
    seeds = vectors[[1, 50, 300]]
    with build_catalog(tmp_path / "cat", vectors, payloads, tenant_field="tenant") as catalog:
        want = searcher(catalog, seeds).search(vector=seeds[0], n_seeds=3, tenant="a", limit=8)
        search = AsyncGenerativeSearch(catalog, catalog.name, encoder=None, sampler=FixedSeedsSampler(seeds),
                                       fusion="engine", fuser="max", tenant_field="tenant", adapter="edge-async")

        async def main():
            return await asyncio.gather(*[search.search(vector=seeds[0], n_seeds=3, tenant="a", limit=8) for _ in range(4)])

        results = asyncio.run(main())
    for got in results:
        assert [(p.id, round(p.score, 5)) for p in got.points] == [(p.id, round(p.score, 5)) for p in want.points]



def test_bad_settings_fail_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="schema must be one of"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "cosine")}, payload_indexes={"x": "bogus"})
    with pytest.raises(ConfigError, match="distance"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "hamming")})
    with pytest.raises(ConfigError, match="on_stale"):
        EdgeCatalog.create(tmp_path / "cat", vectors={"v": (4, "cosine")}, on_stale="sometimes")
    assert not (tmp_path / "cat" / "genseek-catalog.json").exists()
