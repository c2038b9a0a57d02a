"""One local-mode client shared by threads: searches, refines, tenant-config rewrites and writes.

qdrant-client's local mode has no locking; genseek serialises its own calls with
``genseek.local_client_lock(client)`` and the application takes the same lock for its writes.
Every thread's results are compared with the same requests run alone before the threads start.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient, models

import genseek
import genseek.testing
from genseek import AsyncGenerativeSearch, GenerativeSearch
from genseek.locking import NO_LOCK, is_local_mode
from genseek.plugin.registry import build_registry
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.testkit import tiny_prior
from genseek.tenants import TenantStore
from genseek.testing import FixedSeedsSampler, HashingEncoder, clustered_vectors, make_collection

TENANTS = ("acme", "globex", "initech")
ROUNDS = 12


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered_vectors(900, 32, clusters=8, intrinsic_dim=6, seed=5)


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=[genseek.testing])


def _filled(vectors: np.ndarray) -> QdrantClient:
    client = QdrantClient(":memory:")
    make_collection(client, "items", vectors, vector_name="dense",
                    payload=lambda i: {"tenant": TENANTS[i % 3], "rank": i})
    return client


def _config(tenant: str, seeds: np.ndarray) -> dict[str, Any]:
    return {
        "collection": "items", "vector_name": "dense", "tenant_field": "tenant", "partition": tenant,
        "sampler": {"id": "fixed", "options": {"seeds": seeds.astype(float).round(6).tolist()}},
        "search": {"n_seeds": 3, "limit": 8},
    }


def _run_threads(jobs: list[Callable[[], None]], timeout: float = 240.0) -> list[BaseException]:
    """Start every job at once (a barrier), join them, return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def wrap(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread did not finish (deadlock?)"
    return errors


def test_threads_search_refine_rewrite_configs_and_write_without_errors(data, registry):
    vectors, _ = data
    client = _filled(vectors)
    store = TenantStore(client, registry=registry, max_staleness=0)  # every bound search reads the store
    seeds = vectors[[0, 300, 600]]
    for tenant in TENANTS:
        store.put(tenant, _config(tenant, seeds), expected_version=0)

    plain = GenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(seeds), tenant_field="tenant")
    prior = DiffusionSampler(tiny_prior(target_dim=32, query_dim=64, query_encoder="hashing"), device="cpu")
    refiner = GenerativeSearch(client, "items", encoder=HashingEncoder(), sampler=prior, vector_name="dense",
                               tenant_field="tenant")
    bound = {t: GenerativeSearch.for_tenant(t, client=client, store=store, registry=registry) for t in TENANTS}

    def search(tenant: str) -> list[Any]:
        return plain.search(vector=vectors[7], n_seeds=3, limit=10, tenant=tenant).ids

    def refine(tenant: str) -> list[Any]:
        point = TENANTS.index(tenant) + 3  # a point of that tenant
        return refiner.refine(point, "electric guitar", strength=0.6, tenant=tenant, limit=6, steps=4).ids

    def bound_search(tenant: str) -> list[Any]:
        return bound[tenant].search(vector=vectors[11]).ids

    expected = {(kind.__name__, t): kind(t) for kind in (search, refine, bound_search) for t in TENANTS}
    assert all(expected.values())
    got: dict[tuple[str, str], list[list[Any]]] = {key: [] for key in expected}

    def reader(kind: Callable[[str], list[Any]], tenant: str) -> Callable[[], None]:
        def job() -> None:
            for _ in range(ROUNDS):
                got[(kind.__name__, tenant)].append(kind(tenant))
        return job

    versions = {t: 1 for t in TENANTS}

    def rewriter(tenant: str) -> Callable[[], None]:
        def job() -> None:  # the same configuration, rewritten: every bound search rebuilds its searcher
            for i in range(ROUNDS):
                stored = store.put(tenant, _config(tenant, seeds), expected_version=versions[tenant], comment=f"r{i}")
                versions[tenant] = stored.version
        return job

    def app_writer() -> None:  # the application's own writes, under the shared lock
        lock = genseek.local_client_lock(client)
        for i in range(ROUNDS * 4):
            with lock:  # points of a tenant nobody searches, so expected results stay valid
                client.upsert("items", [models.PointStruct(
                    id=10_000 + i, vector={"dense": vectors[i].tolist()}, payload={"tenant": "umbrella", "rank": -1}
                )])
            with lock:
                client.delete("items", points_selector=models.PointIdsList(points=[10_000 + i - 1]))

    jobs = [reader(kind, t) for kind in (search, refine, bound_search) for t in TENANTS]
    jobs += [rewriter(t) for t in TENANTS] + [app_writer]
    errors = _run_threads(jobs)
    assert errors == [], [repr(e) for e in errors[:5]]
    for key, lists in got.items():
        assert len(lists) == ROUNDS and all(ids == expected[key] for ids in lists), key
    for tenant in TENANTS:
        assert store.current_version(tenant) == 1 + ROUNDS
        assert [h.version for h in store.history(tenant)] == list(range(1, ROUNDS + 2))
    owners = {r.id: r.payload["tenant"] for r in client.retrieve("items", [i for ids in got[("search", "acme")]
                                                                         for i in ids])}
    assert set(owners.values()) == {"acme"}


def test_genseek_takes_the_lock_for_searches_refines_and_store_writes(data, registry):
    """While another thread holds the client's lock, genseek's calls wait for it (and then succeed)."""
    vectors, _ = data
    client = _filled(vectors[:300])
    store = TenantStore(client, registry=registry)
    search = GenerativeSearch(client, "items", encoder=None, tenant_field="tenant")
    prior = DiffusionSampler(tiny_prior(target_dim=32, query_dim=64, query_encoder="hashing"), device="cpu")
    refiner = GenerativeSearch(client, "items", encoder=HashingEncoder(), sampler=prior, tenant_field="tenant")
    calls = {
        "search": lambda: search.search(vector=vectors[1], tenant="globex").ids,
        "refine": lambda: refiner.refine(4, "guitar", strength=0.0, tenant="globex", limit=3).ids,
        "store.put": lambda: store.put("acme", _config("acme", vectors[:3]), expected_version=0).version,
    }
    lock = genseek.local_client_lock(client)
    for name, call in calls.items():
        out: list[Any] = []
        with lock:
            worker = threading.Thread(target=lambda: out.append(call()))
            worker.start()
            worker.join(timeout=0.5)
            assert worker.is_alive() and out == [], f"{name} ran while the client's lock was held elsewhere"
        worker.join(timeout=60)
        assert out and out[0], name
    assert calls["search"]()[0] == 1 and calls["refine"]()[0] == 4


def test_the_lock_is_per_client_reentrant_and_only_for_local_mode(data):
    vectors, _ = data
    a, b = QdrantClient(":memory:"), QdrantClient(":memory:")
    assert genseek.local_client_lock(a) is genseek.local_client_lock(a)
    assert genseek.local_client_lock(a) is not genseek.local_client_lock(b)
    assert is_local_mode(a) and is_local_mode(AsyncQdrantClient(":memory:"))
    remote = QdrantClient(url="http://127.0.0.1:1", check_compatibility=False)  # never contacted
    assert not is_local_mode(remote) and genseek.local_client_lock(remote) is NO_LOCK
    assert genseek.local_client_lock(object()) is NO_LOCK
    client = _filled(vectors[:200])
    search = GenerativeSearch(client, "items", encoder=None)
    with genseek.local_client_lock(client):  # code holding the lock may call genseek
        assert search.search(vector=vectors[5], limit=1).ids == [5]


def test_async_local_client_shared_by_event_loops_in_threads(data):
    """Two threads, each with its own event loop and many concurrent tasks, share one AsyncQdrantClient."""
    vectors, _ = data
    seeds = vectors[[2, 400, 800]]
    client = AsyncQdrantClient(":memory:")

    async def setup() -> tuple[AsyncGenerativeSearch, dict[str, list[Any]]]:
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": v.tolist()}, payload={"tenant": TENANTS[i % 3]})
            for i, v in enumerate(vectors)
        ])
        search = AsyncGenerativeSearch(client, "items", encoder=None, sampler=FixedSeedsSampler(seeds),
                                       tenant_field="tenant")
        want = {t: (await search.search(vector=seeds[0], n_seeds=3, tenant=t)).ids for t in TENANTS}
        return search, want

    search, want = asyncio.run(setup())
    found: list[tuple[str, list[Any]]] = []

    async def loop_body(offset: int) -> None:
        async def one(tenant: str) -> None:
            for _ in range(4):
                found.append((tenant, (await search.search(vector=seeds[0], n_seeds=3, tenant=tenant)).ids))

        async def write() -> None:
            for i in range(20):
                with genseek.local_client_lock(client):
                    await client.upsert("items", [models.PointStruct(
                        id=20_000 + offset + i, vector={"dense": vectors[i].tolist()}, payload={"tenant": "umbrella"}
                    )])
                await asyncio.sleep(0)

        await asyncio.gather(*(one(t) for t in TENANTS), write())

    errors = _run_threads([lambda o=o: asyncio.run(loop_body(o)) for o in (0, 1000)])
    assert errors == [], [repr(e) for e in errors[:5]]
    assert len(found) == 2 * 3 * 4 and all(ids == want[tenant] for tenant, ids in found)


def test_thread_safe_client_proxies_sync_local_mode_and_refuses_async_local_mode():
    from qdrant_client import AsyncQdrantClient, QdrantClient

    from genseek.locking import local_client_lock, thread_safe_client

    client = QdrantClient(":memory:")
    proxy = thread_safe_client(client)
    assert proxy is not client and thread_safe_client(proxy) is proxy
    lock = local_client_lock(client)
    assert lock.acquire(blocking=False)  # re-entrant: the proxy's calls run under the same lock
    try:
        assert proxy.get_collections().collections == []
    finally:
        lock.release()
    with pytest.raises(TypeError, match="local_client_lock"):
        thread_safe_client(AsyncQdrantClient(":memory:"))
