"""Micro-batching of concurrent sampling calls: same seeds as alone, errors kept apart, bounded queue."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from genseek import GenerativeSearch, SamplerBusyError
from genseek.errors import ConfigError, InvalidRequestError
from genseek.samplers.batching import MicroBatcher, batch_key
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.testkit import tiny_prior
from genseek.testing import HashingEncoder

#: Batched kernels may round differently from a batch of one: seeds agree to this absolute tolerance.
BATCH_ATOL = 1e-5
TENANTS = ("acme", "globex", "initech")  # tests/conftest.py's catalog: tenant = TENANTS[id % 3]


class SlowJob:
    """A batched job that records its batches and holds each pass until released (or ``delay``)."""

    def __init__(self, delay: float = 0.0, fail_on: object = None) -> None:
        self.batches: list[list] = []
        self.delay = delay
        self.fail_on = fail_on
        self.entered = threading.Event()
        self.release = threading.Event()
        if delay == 0.0:
            self.release.set()

    def __call__(self, items: list) -> list:
        self.batches.append(list(items))
        self.entered.set()
        self.release.wait(timeout=10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on!r}")
        return [item * 10 for item in items]


def test_calls_arriving_while_a_pass_runs_share_the_next_pass():
    job = SlowJob()
    job.release.clear()
    batcher = MicroBatcher(job)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.submit, "k", 0)
        assert job.entered.wait(5)
        rest = [pool.submit(batcher.submit, "k", i) for i in range(1, 8)]
        deadline = time.monotonic() + 5
        while batcher.pending < 7 and time.monotonic() < deadline:
            time.sleep(0.001)
        job.release.set()
        results = [first.result()] + [f.result() for f in rest]
    assert [r for r, _ in results] == [i * 10 for i in range(8)]  # each call gets its own result
    assert [len(b) for b in job.batches] == [1, 7]
    assert [size for _, size in results] == [1] + [7] * 7


def test_calls_with_other_keys_are_not_mixed():
    job = SlowJob(delay=0.02)
    batcher = MicroBatcher(job)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(batcher.submit, key, i) for i, key in enumerate("ababab")]
        results = [f.result()[0] for f in futures]
    assert results == [i * 10 for i in range(6)]
    for batch in job.batches:
        assert len({i % 2 for i in batch}) == 1  # every pass holds calls of one key only


def test_the_window_gathers_calls_that_arrive_just_after_the_first():
    job = SlowJob()
    batcher = MicroBatcher(job, window_ms=300)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher.submit, "k", 1)
        time.sleep(0.02)
        second = pool.submit(batcher.submit, "k", 2)
        assert first.result() == (10, 2) and second.result() == (20, 2)
    assert job.batches == [[1, 2]]


def test_a_failing_call_does_not_fail_its_batch():
    job = SlowJob(fail_on=3)
    job.release.clear()
    batcher = MicroBatcher(job)
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(batcher.submit, "k", 0)
        assert job.entered.wait(5)
        rest = {i: pool.submit(batcher.submit, "k", i) for i in (1, 2, 3, 4)}
        while batcher.pending < 4:
            time.sleep(0.001)
        job.release.set()
        assert first.result() == (0, 1)
        with pytest.raises(ValueError, match="bad item 3"):
            rest[3].result()
        assert [rest[i].result()[0] for i in (1, 2, 4)] == [10, 20, 40]
    assert [1, 2, 3, 4] in job.batches  # the batched pass was tried, then each call alone


def test_the_queue_bound_refuses_at_once_with_a_clear_error():
    job = SlowJob()
    job.release.clear()
    batcher = MicroBatcher(job, max_pending=2, name="sampler 'diffusion'")
    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(batcher.submit, "k", 0)
        assert job.entered.wait(5)
        queued = [pool.submit(batcher.submit, "k", i) for i in (1, 2)]
        while batcher.pending < 2:
            time.sleep(0.001)
        with pytest.raises(SamplerBusyError, match=r"sampler 'diffusion': 2 sampling calls are already queued \(max_pending=2\)"):
            batcher.submit("k", 3)
        assert batcher.pending == 2  # the refused call was not queued
        job.release.set()
        assert leader.result()[0] == 0 and [f.result()[0] for f in queued] == [10, 20]


def test_max_batch_splits_large_bursts():
    job = SlowJob()
    job.release.clear()
    batcher = MicroBatcher(job, max_batch=3)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.submit, "k", 0)
        assert job.entered.wait(5)
        rest = [pool.submit(batcher.submit, "k", i) for i in range(1, 8)]
        while batcher.pending < 7:
            time.sleep(0.001)
        job.release.set()
        assert [f.result()[0] for f in [first, *rest]] == [i * 10 for i in range(8)]
    assert max(len(b) for b in job.batches) == 3 and sum(len(b) for b in job.batches) == 8


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batch_window_ms": -1}, "batch_window_ms"),
        ({"batch_window_ms": True}, "batch_window_ms"),
        ({"batch_max_size": 0}, "batch_max_size"),
        ({"batch_max_pending": 1.5}, "batch_max_pending"),
    ],
)
def test_bad_batching_settings_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        DiffusionSampler(tiny_prior(), device="cpu", **options)


def test_batch_keys_compare_controls_by_value():
    a = np.ones(4, np.float32)
    assert batch_key(8, {"guidance": 2.0, "negative": a}) == batch_key(8, {"negative": a.copy(), "guidance": 2.0})
    assert batch_key(8, {"guidance": 2.0}) != batch_key(4, {"guidance": 2.0})
    assert batch_key(8, {"negative": a}) != batch_key(8, {"negative": a * 2})
    assert batch_key(8, {"guidance": 1}) != batch_key(8, {"guidance": True})
    odd = object()
    assert batch_key(8, {"steer": odd}) != batch_key(8, {"steer": odd})  # unknown types never share a pass


@pytest.fixture(scope="module")
def sampler() -> DiffusionSampler:
    return DiffusionSampler(tiny_prior(target_dim=32, query_dim=64, query_encoder="hashing"), device="cpu")


def test_concurrent_samples_equal_sequential_seed_for_seed(sampler):
    queries = np.random.default_rng(0).standard_normal((24, 64)).astype(np.float32)
    alone = [sampler.sample(q, 8, generator=np.random.default_rng(i), steps=6).vectors for i, q in enumerate(queries)]
    barrier = threading.Barrier(12)

    def one(i: int):
        barrier.wait() if i < 12 else None
        return sampler.sample(queries[i], 8, generator=np.random.default_rng(i), steps=6)

    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(one, range(24)))
    assert max(s.info["batch_size"] for s in together) > 1  # some calls really shared a pass
    for i, seeds in enumerate(together):
        np.testing.assert_allclose(seeds.vectors, alone[i], atol=BATCH_ATOL, rtol=0)


def test_a_bad_query_among_concurrent_ones_fails_alone(sampler):
    good = np.ones(64, np.float32)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(sampler.sample, good, 4, generator=np.random.default_rng(i), steps=4) for i in range(5)]
        bad = pool.submit(sampler.sample, np.ones(63, np.float32), 4, generator=np.random.default_rng(9), steps=4)
        assert all(f.result().vectors.shape == (4, 32) for f in futures)
        with pytest.raises(Exception, match="64-d"):
            bad.result()


def test_sampling_never_changes_torch_thread_settings(sampler, monkeypatch):
    def refuse(*args):
        raise AssertionError("torch.set_num_threads was called inside a request")

    monkeypatch.setattr(torch, "set_num_threads", refuse)
    before = torch.get_num_threads()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: sampler.sample(np.ones(64, np.float32), 4, generator=np.random.default_rng(i)), range(8)))
    sampler.refine(np.ones(32, np.float32), np.ones(64, np.float32), 0.5)
    assert torch.get_num_threads() == before


def test_concurrent_searches_of_two_tenants_never_cross(catalog, sampler):
    search = GenerativeSearch(catalog, "items", encoder=HashingEncoder(), sampler=sampler, vector_name="dense",
                              tenant_field="tenant")
    requests = [(TENANTS[i % 2], f"query number {i}", i) for i in range(32)]
    alone = {(t, q): search.search(q, tenant=t, seed=s, n_seeds=6, limit=8, steps=4).ids for t, q, s in requests}
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda r: (r, search.search(r[1], tenant=r[0], seed=r[2], n_seeds=6, limit=8, steps=4)),
                                requests))
    for (tenant, query, _), result in results:
        assert result.points and all(p.payload["tenant"] == tenant for p in result.points)
        assert result.ids == alone[(tenant, query)]


def test_a_text_control_without_a_search_encoder_is_refused(sampler):
    with pytest.raises(InvalidRequestError, match="negative"):
        sampler.sample(np.ones(64, np.float32), 2, generator=np.random.default_rng(0), negative="text")
