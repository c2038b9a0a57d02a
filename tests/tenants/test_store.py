"""The configuration store: versions, optimistic concurrency, cache staleness, history, rollback."""

from __future__ import annotations

import threading

import pytest
from qdrant_client import QdrantClient

from genseek.errors import ConfigError, UnknownComponentError
from genseek.tenants import StaleVersionError, TenantStore, UnknownTenantError


def test_put_get_history_rollback_delete(store, make_config):
    assert store.tenants() == [] and store.current_version("acme") == 0
    first = store.put("acme", make_config(), expected_version=0, author="ops", comment="initial")
    second = store.put("acme", make_config(search={"n_seeds": 4}), expected_version=1)
    assert (first.version, second.version) == (1, 2)
    assert store.get("acme").search.n_seeds == 4
    restored = store.rollback("acme", 1)
    assert restored.version == 3 and restored.comment == "rollback to v1"
    assert store.get("acme").search.n_seeds == 8
    assert [h.version for h in store.history("acme")] == [1, 2, 3]
    assert store.history("acme")[0].author == "ops"
    store.put("globex", make_config("globex"), expected_version=0)
    assert store.tenants() == ["acme", "globex"]
    store.delete("acme", expected_version=3)
    assert store.tenants() == ["globex"]
    with pytest.raises(UnknownTenantError, match=r"unknown tenant 'acme'.*'globex'"):
        store.get("acme")
    store.rollback("acme", 3)
    assert store.get("acme").search.n_seeds == 8 and store.current_version("acme") == 5


def test_stale_write_is_refused_and_changes_nothing(store, make_config):
    store.put("acme", make_config(), expected_version=0)
    store.put("acme", make_config(search={"limit": 5}), expected_version=1)
    with pytest.raises(StaleVersionError, match="based on version 1, but the latest version is 2"):
        store.put("acme", make_config(search={"limit": 9}), expected_version=1)
    with pytest.raises(StaleVersionError):
        store.put("acme", make_config(), expected_version=0)  # "create" of an existing tenant
    assert store.get("acme").search.limit == 5 and len(store.history("acme")) == 2


def test_concurrent_writes_from_the_same_version_one_wins_one_is_refused(registry, make_config):
    client = QdrantClient(":memory:")
    setup = TenantStore(client, registry=registry)
    setup.put("acme", make_config(), expected_version=0)
    writers = [TenantStore(client, registry=registry) for _ in range(2)]
    barrier = threading.Barrier(2)
    for writer in writers:  # both read version 1 before either writes: the race reaches the insert
        original = writer._latest_version

        def latest(tenant, original=original, first=[True]):
            version = original(tenant)
            if first.pop() if first else False:  # only the check before the insert waits
                barrier.wait(timeout=10)
            return version

        writer._latest_version = latest
    outcomes: list = [None, None]

    def write(index: int) -> None:
        try:
            outcomes[index] = writers[index].put("acme", make_config(search={"limit": 11 + index}), expected_version=1)
        except StaleVersionError as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [o for o in outcomes if not isinstance(o, StaleVersionError)]
    losers = [o for o in outcomes if isinstance(o, StaleVersionError)]
    assert len(winners) == 1 and len(losers) == 1
    current = setup.get_versioned("acme", max_staleness=0)
    assert current.version == 2 and current.config.search.limit == winners[0].config.search.limit
    assert len(setup.history("acme")) == 2


def test_reads_are_cached_with_bounded_staleness(registry, make_config):
    client = QdrantClient(":memory:")
    now = [100.0]
    reader = TenantStore(client, registry=registry, max_staleness=5.0, clock=lambda: now[0])
    writer = TenantStore(client, registry=registry)
    writer.put("acme", make_config(), expected_version=0)
    assert reader.get("acme").search.limit == 10
    writer.put("acme", make_config(search={"limit": 3}), expected_version=1)
    now[0] += 4.9
    assert reader.get("acme").search.limit == 10  # within the bound: cached
    now[0] += 0.2
    assert reader.get("acme").search.limit == 3  # past it: re-read
    writer.put("acme", make_config(search={"limit": 4}), expected_version=2)
    assert reader.get("acme", max_staleness=0).search.limit == 4


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"encoder": {"id": "no-such-encoder"}}, UnknownComponentError, "unknown encoder 'no-such-encoder'"),
        ({"search": {"n_seeds": 40}, "limits": {"max_n_seeds": 16}}, ConfigError, "above limits.max_n_seeds"),
        ({"default_filter": {"must": "tenant = acme"}}, ConfigError, "not a valid Qdrant filter"),
        ({"sampler": {"id": "identity", "controls": {"guidance": 3}}}, ConfigError, "does not accept the control"),
        ({"fuser": {"id": "rrf", "options": {"password": "hunter2"}}}, ConfigError, "looks like a secret"),
    ],
)
def test_bad_configurations_give_clear_errors_and_change_nothing(store, make_config, change, error, message):
    store.put("acme", make_config(), expected_version=0)
    before = [h.as_dict() for h in store.history("acme")]
    with pytest.raises(error, match=message):
        store.put("acme", make_config(**change), expected_version=1)
    assert [h.as_dict() for h in store.history("acme")] == before
    with pytest.raises(error, match=message):
        store.put("fresh", make_config("fresh", **change), expected_version=0)
    assert store.tenants() == ["acme"] and store.history("fresh") == []


def test_a_writer_that_stopped_before_moving_the_head_leaves_a_consistent_store(store, make_config, monkeypatch):
    store.put("acme", make_config(), expected_version=0)

    def crash(*args, **kwargs):
        raise RuntimeError("process killed")

    monkeypatch.setattr(store, "_advance_head", crash)
    with pytest.raises(RuntimeError):
        store.put("acme", make_config(search={"limit": 2}), expected_version=1)
    monkeypatch.undo()
    assert store.current_version("acme") == 2 and store.get("acme").search.limit == 2
    with pytest.raises(StaleVersionError):
        store.put("acme", make_config(), expected_version=1)
    assert store.put("acme", make_config(), expected_version=2).version == 3


def test_configurations_survive_a_restart(tmp_path, registry, make_config):
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    TenantStore(client, registry=registry).put("acme", make_config(search={"limit": 6}), expected_version=0)
    client.close()
    reopened = QdrantClient(path=str(tmp_path / "qdrant"))
    assert TenantStore(reopened, registry=registry).get("acme").search.limit == 6
    reopened.close()


def test_invalid_tenant_ids_and_versions_are_clear_errors(store, make_config):
    with pytest.raises(ConfigError, match="invalid tenant id"):
        store.put("acme corp", make_config(), expected_version=0)
    with pytest.raises(ConfigError, match="expected_version must be an integer"):
        store.put("acme", make_config(), expected_version=-1)
    store.put("acme", make_config(), expected_version=0)
    with pytest.raises(ConfigError, match="has no version 7"):
        store.rollback("acme", 7)
