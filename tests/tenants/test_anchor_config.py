"""Per-tenant anchored search: the ``anchor`` section, its resolution and bound searchers."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models

from genseek import AsyncGenerativeSearch, DimensionMismatchError, GenerativeSearch
from genseek.errors import ConfigError, InvalidRequestError, UnknownComponentError
from genseek.search import DEFAULT_ANCHOR_WEIGHT
from genseek.scope import scoped_filter
from genseek.tenants import check_components, parse_config, resolve_request
from genseek.tenants.resolve import component_kwargs
from genseek.testing import HashingEncoder

TENANTS = ("acme", "globex", "initech")  # tests/conftest.py's catalog: tenant = TENANTS[id % 3]
HASHING_32 = {"id": "hashing", "options": {"dim": 32}}


def anchored_config(make_config, seeds, partition="acme", anchor=None, **overrides):
    return make_config(
        partition,
        encoder=HASHING_32,
        sampler={"id": "fixed", "options": {"seeds": seeds}},
        search={"n_seeds": 4, "limit": 10},
        limits={"max_n_seeds": 4},
        anchor={"encoder": HASHING_32, "weight": 2.0} if anchor is None else anchor,
        **overrides,
    )


# -- the model -----------------------------------------------------------------------------------------
def test_the_anchor_section_is_validated(make_config):
    config = parse_config(make_config(anchor={"encoder": HASHING_32, "weight": 3.0}))
    assert config.anchor.enabled and config.anchor.weight == 3.0 and config.anchor.encoder.id == "hashing"
    assert parse_config(make_config()).anchor is None
    assert parse_config(make_config(anchor={"enabled": False, "weight": 2.0})).anchor.encoder is None
    with pytest.raises(ConfigError, match="an enabled anchor needs anchor.encoder"):
        parse_config(make_config(anchor={"weight": 2.0}))
    for weight in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match=r"anchor\.weight"):
            parse_config(make_config(anchor={"encoder": HASHING_32, "weight": weight}))
    with pytest.raises(ConfigError, match=r"anchor\.colour"):
        parse_config(make_config(anchor={"encoder": HASHING_32, "colour": "blue"}))
    with pytest.raises(ConfigError, match=r"api_key looks like a secret"):
        parse_config(make_config(anchor={"encoder": {"id": "hashing", "options": {"api_key": "sk-live-1"}}}))


def test_components_and_constructor_arguments(registry, make_config, monkeypatch):
    with pytest.raises(UnknownComponentError, match="unknown encoder 'nope'"):
        check_components(parse_config(make_config(anchor={"encoder": {"id": "nope"}})), registry)
    monkeypatch.setenv("ANCHOR_TOKEN", "t-123")
    config = parse_config(make_config(anchor={"encoder": {"id": "hashing", "options": {"dim": 32, "token": {"$env": "ANCHOR_TOKEN"}}},
                                              "weight": 1.5}))
    kwargs = component_kwargs(config)
    assert kwargs["anchor_encoder"] == "hashing" and kwargs["anchor_weight"] == 1.5
    assert kwargs["anchor_encoder_options"] == {"dim": 32, "token": "t-123"}  # references expanded at build time
    assert not {"anchor_encoder", "anchor_encoder_options", "anchor_weight"} & set(component_kwargs(parse_config(make_config())))
    vector_only = component_kwargs(parse_config(make_config(anchor={"enabled": False, "weight": 2.0})))
    assert vector_only["anchor_weight"] == 2.0 and "anchor_encoder" not in vector_only


# -- resolution ------------------------------------------------------------------------------------------
def test_anchor_and_anchor_weight_are_overrides_like_the_other_search_keys(make_config):
    config = parse_config(make_config(anchor={"encoder": HASHING_32}, allowed_overrides=["anchor", "anchor_weight"]))
    resolved = resolve_request(config, {}, sampler_controls=set())
    assert resolved.params["anchor"] is None and resolved.params["anchor_weight"] is None  # the searcher's defaults
    resolved = resolve_request(config, {"anchor": False, "anchor_weight": 2.5}, sampler_controls=set())
    assert resolved.params["anchor"] is False and resolved.params["anchor_weight"] == 2.5
    assert resolved.params["tenant"] == "acme"
    strict = parse_config(make_config(anchor={"encoder": HASHING_32}))
    with pytest.raises(InvalidRequestError, match="does not allow requests to set anchor"):
        resolve_request(strict, {"anchor": False}, sampler_controls=set())
    with pytest.raises(InvalidRequestError, match="does not allow requests to set anchor_weight"):
        resolve_request(strict, {"anchor_weight": 9.0}, sampler_controls=set())


def test_a_disabled_anchor_resolves_to_off_unless_the_request_turns_it_on(make_config):
    config = parse_config(make_config(anchor={"encoder": HASHING_32, "enabled": False}, allowed_overrides=["anchor"]))
    assert resolve_request(config, {}, sampler_controls=set()).params["anchor"] is False
    assert resolve_request(config, {"anchor": True}, sampler_controls=set()).params["anchor"] is True


# -- bound searchers --------------------------------------------------------------------------------------
def test_a_tenant_with_an_anchor_searches_it_in_its_own_scope(recorder, registry, make_config, seeds):
    config = anchored_config(make_config, seeds, "globex")
    searcher = GenerativeSearch.for_tenant("globex", client=recorder, config=config, registry=registry)
    assert searcher.searcher.anchor_weight == 2.0
    result = searcher.search("rock anthem")
    assert result.anchor_index == 4 and result.seed_labels[-1] == "anchor"
    np.testing.assert_allclose(result.seeds[-1], HashingEncoder(dim=32).encode("rock anthem"), atol=1e-6)
    np.testing.assert_allclose(result.seed_weights, [1, 1, 1, 1, 2.0])
    assert result.info["anchor"] == {"weight": 2.0, "source": "encoder"}
    scoped = scoped_filter(None, "tenant", "globex")
    searched = recorder.searches()
    assert len(searched) == 5 and all(flt == scoped for _, _, flt in searched)  # the anchor's request too
    assert all(p.payload["tenant"] == "globex" for p in result.points)


def test_anchor_overrides_never_leave_the_tenants_scope(recorder, catalog_vectors, registry, make_config, seeds):
    vectors, _ = catalog_vectors
    config = anchored_config(make_config, seeds, "acme", allowed_overrides=["anchor", "anchor_weight", "filter"])
    searcher = GenerativeSearch.for_tenant("acme", client=recorder, config=config, registry=registry)
    foreign = 4  # globex's point: its vector as the anchor must still only find acme's points
    wide = models.Filter(should=[models.FieldCondition(key="tenant", match=models.MatchValue(value="globex")),
                                 models.FieldCondition(key="even", match=models.MatchValue(value=True))])
    result = searcher.search("rock", anchor=vectors[foreign], anchor_weight=50.0, filter=wide)
    assert result.info["anchor"] == {"weight": 50.0, "source": "vector"}
    assert foreign not in result.ids and result.points
    assert all(p.payload["tenant"] == "acme" and p.payload["even"] for p in result.points)
    assert result.by_seed[result.anchor_index]
    assert all(p.payload["tenant"] == "acme" for p in result.by_seed[result.anchor_index])
    scoped = scoped_filter(wide, "tenant", "acme")
    assert all(flt == scoped for _, _, flt in recorder.searches())
    with pytest.raises(InvalidRequestError, match="anchor_weight must be a finite number > 0"):
        searcher.search("rock", anchor_weight=0)
    with pytest.raises(InvalidRequestError, match="tenant cannot be set"):
        searcher.search("rock", anchor=vectors[foreign], tenant="globex")


def test_a_disabled_anchor_searches_like_no_anchor_until_asked(catalog, registry, make_config, seeds):
    config = anchored_config(make_config, seeds, anchor={"encoder": HASHING_32, "enabled": False}, allowed_overrides=["anchor"])
    searcher = GenerativeSearch.for_tenant("acme", client=catalog, config=config, registry=registry)
    plain = GenerativeSearch.for_tenant("acme", client=catalog, config=anchored_config(make_config, seeds, anchor={"enabled": False}),
                                        registry=registry)
    off = searcher.search("rock")
    assert off.anchor_index is None and off.ids == plain.search("rock").ids
    on = searcher.search("rock", anchor=True)
    assert on.anchor_index == 4 and on.info["anchor"] == {"weight": DEFAULT_ANCHOR_WEIGHT, "source": "encoder"}


def test_a_tenant_anchor_encoder_of_the_wrong_size_is_refused(catalog, registry, make_config, seeds):
    config = anchored_config(make_config, seeds, anchor={"encoder": {"id": "hashing", "options": {"dim": 64}}})
    with pytest.raises(DimensionMismatchError, match="anchor encoder 'hashing' gives 64-d .* is 32-d"):
        GenerativeSearch.for_tenant("acme", client=catalog, config=config, registry=registry)


def test_async_tenant_with_an_anchor(catalog_vectors, registry, make_config, seeds):
    vectors, _ = catalog_vectors

    async def scenario():
        client = AsyncQdrantClient(":memory:")
        params = models.VectorParams(size=32, distance=models.Distance.COSINE)
        await client.create_collection("items", vectors_config={"dense": params})
        await client.upsert("items", [
            models.PointStruct(id=i, vector={"dense": vectors[i].tolist()}, payload={"tenant": TENANTS[i % 3]})
            for i in range(300)
        ])
        searcher = AsyncGenerativeSearch.for_tenant("initech", client=client, config=anchored_config(make_config, seeds, "initech"),
                                                    registry=registry)
        return await searcher.search("rock anthem", limit=8)

    result = asyncio.run(scenario())
    assert result.anchor_index == 4 and result.info["anchor"] == {"weight": 2.0, "source": "encoder"}
    assert result.points and all(p.payload["tenant"] == "initech" for p in result.points)
