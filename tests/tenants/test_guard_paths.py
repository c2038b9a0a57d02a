"""The tenant guard reads the tenant field exactly as Qdrant's tenant filter does.

``"meta.tenant"`` is always the nested key ``tenant`` of ``meta`` (never a literal key holding a
dot), ``"meta[].tenant"`` reads array items, and values match only with their type (``True`` is
not ``1``). So a legitimate point never raises a false alarm, and a foreign point is still caught.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient
from qdrant_client.http import models

from genseek import GenerativeSearch, GenseekError
from genseek.errors import ConfigError, InvalidRequestError
from genseek.scope import TenantGuard, parse_path, payload_value, payload_values
from genseek.tenants import parse_config


def _point(payload, point_id=1):
    return models.ScoredPoint(id=point_id, version=0, score=1.0, payload=payload)


def test_a_literal_dotted_key_beside_the_nested_field_is_no_false_alarm():
    guard = TenantGuard("meta.tenant", "a")
    point = _point({"meta": {"tenant": "a", "x": 1}, "meta.tenant": "someone-else"})
    guard.verify([point], strip=True)
    assert point.payload == {"meta": {"x": 1}, "meta.tenant": "someone-else"}  # only the nested field is stripped


@pytest.mark.parametrize("payload", [
    {"meta": {"tenant": "b"}, "meta.tenant": "a"},  # the literal key must not vouch for a foreign point
    {"meta.tenant": "a"},
    {"meta": [{"tenant": "a"}]},  # 'meta.tenant' does not read array items ('meta[].tenant' does)
    {"meta": {"tenant": ["b", "c"]}},
    {"meta": {"tenant": {"tenant": "a"}}},
    {"meta": "a"},
    {},
    None,
])
def test_a_foreign_point_is_still_caught(payload):
    with pytest.raises(GenseekError, match="tenant isolation check failed"):
        TenantGuard("meta.tenant", "a").verify([_point(payload)], strip=False)


@pytest.mark.parametrize("tenant, stored", [(1, True), (1, 1.0), (1, "1"), (0, False), ("1", 1), ("true", True),
                                            (1, [True, 1.0]), ("a", ["A"])])
def test_values_of_another_type_are_another_tenant(tenant, stored):
    with pytest.raises(GenseekError, match="tenant isolation check failed"):
        TenantGuard("tenant", tenant).verify([_point({"tenant": stored})], strip=False)


@pytest.mark.parametrize("field, payload", [
    ("tenant", {"tenant": ["b", 1]}),
    ("meta[].tenant", {"meta": [{"tenant": "b"}, {"tenant": 1}]}),
    ("meta[1].tenant", {"meta": [{"tenant": "b"}, {"tenant": 1}]}),
    ('"meta.tenant"', {"meta.tenant": 1, "meta": {"tenant": "b"}}),
    ("a-b.c_d", {"a-b": {"c_d": 1}}),
])
def test_array_index_and_quoted_keys_are_resolved(field, payload):
    point = _point(payload)
    TenantGuard(field, 1).verify([point], strip=False)
    with pytest.raises(GenseekError, match="tenant isolation check failed"):
        TenantGuard(field, 2).verify([point], strip=False)


def test_stripping_follows_the_same_paths():
    point = _point({"owners": [{"id": 1, "role": "r"}, {"id": 2}], "y": 0})
    TenantGuard("owners[].id", 1).verify([point], strip=True)
    assert point.payload == {"owners": [{"role": "r"}, {}], "y": 0}
    only = _point({"owners": [{"id": 1}, {"id": 2}]})
    TenantGuard("owners[].id", 2).verify([only], strip=True)
    assert only.payload is None
    quoted = _point({"meta.tenant": "a", "meta": {"tenant": "b"}})
    TenantGuard('"meta.tenant"', "a").verify([quoted], strip=True)
    assert quoted.payload == {"meta": {"tenant": "b"}}


@pytest.mark.parametrize("path, steps", [
    ("tenant", ("tenant",)), ("meta.tenant", ("meta", "tenant")), ("a[].b", ("a", None, "b")),
    ("a[0][2].b", ("a", 0, 2, "b")), ('"a.b".c', ("a.b", "c")), ('a."b c"', ("a", "b c")), ("a[]", ("a", None)),
])
def test_paths_parse_like_qdrant(path, steps):
    assert parse_path(path) == steps


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "a b", "a[x]", "a[-1]", "a[", '"a', "a.[]", "a/b", "a\n"])
def test_malformed_paths_are_refused(path, make_config):
    with pytest.raises(InvalidRequestError, match="invalid payload key"):
        parse_path(path)
    with pytest.raises(ConfigError, match="tenant_field"):
        parse_config(make_config(tenant_field=path))


def test_a_search_on_a_nested_field_beside_a_literal_key():
    client = QdrantClient(":memory:")
    client.create_collection("mixed", vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE))
    client.upsert("mixed", [
        models.PointStruct(id=i, vector=[1.0, i / 10], payload={"meta": {"tenant": "ab"[i % 2]}, "meta.tenant": "ba"[i % 2]})
        for i in range(10)
    ])
    search = GenerativeSearch(client, "mixed", encoder=None, tenant_field="meta.tenant")
    found = search.search(vector=[1.0, 0.0], tenant="a", limit=10, with_payload=True)
    assert sorted(p.id for p in found.points) == [0, 2, 4, 6, 8]
    assert all(p.payload == {"meta": {"tenant": "a"}, "meta.tenant": "b"} for p in found.points)
    assert all(p.payload is None for p in search.search(vector=[1.0, 0.0], tenant="a", with_payload=False).points)


# -- property: the guard owns exactly the points Qdrant's tenant filter matches -------------------
_scalars = st.sampled_from(["a", "b", "", 1, 0, 2, True, False, 1.0, 0.0, None])
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["tenant", "meta", "x", "meta.tenant"]), inner, max_size=3),
    ),
    max_leaves=8,
)
_payloads = st.dictionaries(st.sampled_from(["tenant", "meta", "meta.tenant", "owners", "y"]), _values, max_size=4)
_fields = st.sampled_from(["tenant", "meta.tenant", "meta[].tenant", "meta[0].tenant", '"meta.tenant"', "owners[]",
                           "owners[].tenant", "meta.meta.tenant", "tenant[]"])


def _plant(steps, value, filler):
    """A payload that holds ``value`` at the path ``steps`` (arrays padded with ``filler``)."""
    if not steps:
        return value
    step, inner = steps[0], _plant(steps[1:], value, filler)
    if isinstance(step, str):
        return {step: inner}
    return [inner, filler] if step is None else [filler] * step + [inner]


def test_the_guard_owns_exactly_what_the_qdrant_filter_matches():
    client = QdrantClient(":memory:")
    client.create_collection("one", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    checked = {"owned": 0, "foreign": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(noise=_payloads, field=_fields, tenant=st.sampled_from(["a", "b", 1, 0, 2]), data=st.data())
    def check(noise, field, tenant, data):
        planted = data.draw(st.one_of(st.just(tenant), _values, st.lists(st.one_of(st.just(tenant), _scalars), max_size=3)))
        payload = {**noise, **_plant(parse_path(field), planted, data.draw(_values))} if data.draw(st.booleans()) else noise
        client.upsert("one", [models.PointStruct(id=1, vector=[1.0, 0.0], payload=payload)])
        condition = models.FieldCondition(key=field, match=models.MatchValue(value=tenant))
        matched = client.count("one", count_filter=models.Filter(must=[condition])).count == 1
        try:
            TenantGuard(field, tenant).verify([_point(payload)], strip=False)
            owned = True
        except GenseekError:
            owned = False
        assert owned == matched, (payload, field, tenant, payload_values(payload, field))
        checked["owned" if owned else "foreign"] += 1

    check()
    assert checked["owned"] >= 20 and checked["foreign"] >= 20, checked


def test_payload_value_reads_nested_paths_not_literal_keys():
    payload = {"meta": {"tenant": "a"}, "meta.tenant": "b", "list": [{"k": 1}, {"k": 2}]}
    assert payload_value(payload, "meta.tenant") == "a"
    assert payload_value(payload, '"meta.tenant"') == "b"
    assert payload_value(payload, "list[].k") == [1, 2]
    assert payload_value(payload, "missing.key") is None
