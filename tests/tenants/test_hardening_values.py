"""Partition and tenant values are never converted, and tenant ids are matched in full.

One rule (``genseek.scope.tenant_value_problem``) decides for ``search(tenant=...)``, for a
configuration's ``partition`` and for a partition read back from a hand-edited stored record.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient
from qdrant_client.http import models

from genseek import GenerativeSearch
from genseek.errors import ConfigError, InvalidRequestError, TenantConfigError
from genseek.scope import check_tenant, same_value, tenant_value_problem
from genseek.tenants import TenantStore, parse_config
from genseek.tenants.model import check_tenant_id
from genseek.tenants.store import _point_id

INT64_MAX = 2**63 - 1
#: Partition values stored in the test collection (3 points each). Several are equal in Python
#: (``1 == 1.0 == True``) but are distinct payload values for Qdrant.
STORED = (1, 0, -1, True, False, 1.0, 0.0, "1", "0", "true", "acme", "Acme", "acme ", INT64_MAX, -(2**63))
REFUSED = [
    True, False, 1.0, 0.0, -0.0, 1.5, math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1, 10**30, None,
    "", " ", "acme\n", "\nacme", " acme", "acme ", "\tacme", "ac\u200bme", "acme\u200d", "\ufeffacme", "acme\u00a0",
    "ac\u00a0me", "acme\u2028", "acme\u2029", "ac\x00me", "acme\x7f", "ac\u202eme", "\u3000acme",
    [], [1], ["acme"], {}, {"partition": "acme"}, b"acme", (1,),
]
ACCEPTED = [0, 1, -1, INT64_MAX, -(2**63), "1", "acme", "Acme Corp", "café", "客户", "a.b:c-d_e", "x" * 500]


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_every_non_tenant_value_is_refused_by_both_paths_alike(value, make_config):
    assert tenant_value_problem(value) is not None
    message = "pass tenant=" if value is None else "tenant must be a non-empty string or a 64-bit integer"
    with pytest.raises(InvalidRequestError, match=message):
        check_tenant("tenant", value)
    with pytest.raises(ConfigError, match=r"partition: .*partition must be a non-empty string"):
        parse_config(make_config(partition=value))


@pytest.mark.parametrize("value", ACCEPTED, ids=repr)
def test_valid_values_are_kept_exactly_by_both_paths(value, make_config):
    assert check_tenant("tenant", value) is value
    parsed = parse_config(make_config(partition=value)).partition
    assert parsed == value and type(parsed) is type(value)
    again = parse_config(json.loads(parse_config(make_config(partition=value)).model_dump_json())).partition
    assert again == value and type(again) is type(value)  # the stored form reads back as the same value


@pytest.mark.parametrize("value", [True, 1.0, "", 2**64, [1], "k\n"], ids=repr)
def test_shard_keys_are_not_converted_either(value, make_config):
    with pytest.raises(ConfigError, match="shard_key"):
        parse_config(make_config(shard_key=value))
    assert parse_config(make_config(shard_key=3)).shard_key == 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"search": {"n_seeds": True}}, "search.n_seeds"),
        ({"search": {"limit": "5"}}, "search.limit"),
        ({"search": {"limit": 5.0}}, "search.limit"),
        ({"search": {"provenance": 1}}, "search.provenance"),
        ({"limits": {"max_limit": "100"}}, "limits.max_limit"),
        ({"schema_version": True}, "schema_version"),
        ({"collection": 5}, "collection"),
        ({"anchor": {"enabled": "false"}}, "anchor.enabled"),
    ],
)
def test_no_configuration_value_is_converted(change, field, make_config):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        parse_config(make_config(**change))


def _tamper_partition(store: TenantStore, tenant: str, raw_partition: str) -> None:
    """Hand-edit the stored record's JSON so that ``partition`` is ``raw_partition`` (JSON text)."""
    point = _point_id(tenant, "v1")
    payload = store.client.retrieve(store.collection, [point], with_payload=True)[0].payload
    config = json.loads(payload["config_json"])
    text = json.dumps({**config, "partition": "__P__"}).replace('"__P__"', raw_partition)
    store.client.set_payload(store.collection, {"config_json": text}, points=[point])


@pytest.mark.parametrize("raw", ["true", "false", "1.0", "0.0", "1e0", "NaN", "Infinity", "null", '""', '" 1"',
                                 "9223372036854775808", "[1]", '{"v": 1}', '"acme\\n"', '"ac\\u200bme"'])
def test_a_hand_edited_stored_partition_is_refused_with_the_tenant_and_record(raw, store, make_config, catalog):
    store.put("acme", make_config(partition=1), expected_version=0)
    _tamper_partition(store, "acme", raw)
    with pytest.raises(TenantConfigError, match=r"tenant 'acme': the version record 1 .* is corrupt .*partition"):
        store.get("acme")
    with pytest.raises(TenantConfigError, match="version record 1"):
        GenerativeSearch.for_tenant("acme", client=catalog, store=store)


# -- property: a bound search never returns another partition's point -----------------------------
@pytest.fixture(scope="module")
def typed_catalog() -> tuple[QdrantClient, dict[int, object]]:
    """``items`` (named vector ``dense``) with three points per value of :data:`STORED`."""
    client = QdrantClient(":memory:")
    client.create_collection("items", vectors_config={"dense": models.VectorParams(size=4, distance=models.Distance.COSINE)})
    rng = np.random.default_rng(3)
    owners: dict[int, object] = {}
    points = []
    for index in range(3 * len(STORED)):
        owners[index] = STORED[index % len(STORED)]
        points.append(models.PointStruct(id=index, vector={"dense": rng.normal(size=4).tolist()},
                                         payload={"tenant": owners[index], "n": index}))
    client.upsert("items", points)
    return client, owners


_json_scalars = st.one_of(
    st.sampled_from([*STORED, *REFUSED[:40]]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=3),
    st.text(max_size=6),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(0, 2), max_size=1),
)


def test_a_bound_search_never_returns_another_partitions_point(typed_catalog, registry, make_config):
    client, owners = typed_catalog
    seen = {"accepted": 0, "refused": 0, "points": 0}

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(partition=_json_scalars, via_json=st.booleans())
    def check(partition, via_json):
        config = make_config(partition=partition, vector_name="dense")
        if via_json:  # the configuration as it arrives from `genseek tenant set --file` or a stored record
            try:
                config = json.loads(json.dumps(config))
            except (TypeError, ValueError):
                return
            partition = config["partition"]
        problem = tenant_value_problem(partition)
        try:
            searcher = GenerativeSearch.for_tenant("t", client=client, config=config, registry=registry)
        except ConfigError:
            assert problem is not None, f"a valid partition {partition!r} was refused"
            seen["refused"] += 1
            return
        assert problem is None, f"the partition {partition!r} was accepted: {problem}"
        seen["accepted"] += 1
        result = searcher.search(vector=[1.0, 0.5, -0.2, 0.1], limit=100)
        returned = {p.id for p in result.points}
        expected = {i for i, owner in owners.items() if same_value(owner, partition)}
        assert returned == expected, (partition, sorted(returned), sorted(expected))
        assert all(same_value(owners[i], partition) for i in returned)
        seen["points"] += len(returned)

    check()
    assert seen["accepted"] >= 5 and seen["refused"] >= 5 and seen["points"] > 0, seen


# -- tenant ids ------------------------------------------------------------------------------------
BAD_IDS = [
    "acme\n", "acme\r\n", "acme\r", "\nacme", "ac\nme", "acme\x00", "acme\t", "ac me", " acme", "acme ",
    "acme\u00a0", "acme\u2028", "acme\u2029", "ac\u200bme", "acme\u200c", "acme\u200d", "\ufeffacme", "acme\u2060",
    "\u0430cme", "ac\u0301me", "ａcme", "acme\u3000", "", "-acme", ".acme", "acme/x", "acme#1", "a" * 129,
    5, None, b"acme", ["acme"],
]


@pytest.mark.parametrize("tenant", BAD_IDS, ids=repr)
def test_tenant_ids_are_matched_in_full_and_ascii_only(tenant, store, make_config, catalog):
    with pytest.raises(ConfigError, match="invalid tenant id"):
        check_tenant_id(tenant)
    with pytest.raises(ConfigError, match="invalid tenant id"):
        store.put(tenant, make_config(), expected_version=0)
    with pytest.raises(ConfigError, match="invalid tenant id"):
        GenerativeSearch.for_tenant(tenant, client=catalog, config=make_config())
    assert store.tenants() == [] and not store.exists()  # nothing was written, not even the collection


@pytest.mark.parametrize("tenant", ["a", "7", "a" * 128, "acme.eu:prod-1_x", "ACME"])
def test_valid_tenant_ids(tenant, store, make_config):
    assert check_tenant_id(tenant) == tenant
    store.put(tenant, make_config(), expected_version=0)
    assert store.tenants() == [tenant]
