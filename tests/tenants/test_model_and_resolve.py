"""The configuration model (strict, secrets by reference) and request resolution."""

from __future__ import annotations

import pytest
from qdrant_client.http import models

from genseek.errors import ConfigError, InvalidRequestError, UnknownComponentError
from genseek.tenants import LIBRARY_DEFAULTS, check_components, parse_config, resolve_request
from genseek.tenants.model import expand_env


def test_unknown_keys_are_rejected_with_their_path(make_config):
    with pytest.raises(ConfigError, match=r"sampler\.colour"):
        parse_config(make_config(sampler={"id": "identity", "colour": "blue"}))
    with pytest.raises(ConfigError, match="n_seedz"):
        parse_config(make_config(search={"n_seedz": 3}))


def test_secret_values_are_refused_and_env_references_expand(monkeypatch, make_config):
    with pytest.raises(ConfigError, match=r"api_key looks like a secret.*\$env"):
        parse_config(make_config(encoder={"id": "hashing", "options": {"api_key": "sk-live-123"}}))
    config = parse_config(make_config(encoder={"id": "hashing", "options": {"api_key": {"$env": "ACME_KEY"}}}))
    assert "sk-" not in config.model_dump_json()
    with pytest.raises(ConfigError, match="ACME_KEY"):
        expand_env(config.encoder.options, where="encoder.options")
    monkeypatch.setenv("ACME_KEY", "sk-live-123")
    assert expand_env(config.encoder.options, where="encoder.options") == {"api_key": "sk-live-123"}
    with pytest.raises(ConfigError, match="environment reference"):
        parse_config(make_config(encoder={"id": "hashing", "options": {"token": {"$env": "not a name"}}}))


def test_defaults_above_limits_malformed_filters_and_forbidden_overrides_are_refused(make_config):
    with pytest.raises(ConfigError, match="n_seeds=20 is above limits.max_n_seeds=16"):
        parse_config(make_config(search={"n_seeds": 20}))
    with pytest.raises(ConfigError, match="default_filter is not a valid Qdrant filter"):
        parse_config(make_config(default_filter={"must": [{"key": "x", "match": {"nope": 1}}]}))
    with pytest.raises(ConfigError, match="tenant can never be overridden"):
        parse_config(make_config(allowed_overrides=["limit", "tenant"]))
    with pytest.raises(ConfigError, match="partition"):
        parse_config(make_config(partition=""))


def test_check_components_names_unknown_ids_and_controls(registry, make_config):
    with pytest.raises(UnknownComponentError, match="unknown encoder 'nope'.*'hashing'"):
        check_components(parse_config(make_config(encoder={"id": "nope"})), registry)
    with pytest.raises(UnknownComponentError, match="unknown fuser"):
        check_components(parse_config(make_config(fuser={"id": "borda"})), registry)
    with pytest.raises(ConfigError, match="does not accept the control.*guidance"):
        check_components(parse_config(make_config(sampler={"id": "identity", "controls": {"guidance": 2.0}})), registry)
    with pytest.raises(ConfigError, match="allowed_overrides names guidance"):
        check_components(parse_config(make_config(allowed_overrides=["guidance"])), registry)
    check_components(parse_config(make_config()), registry)


def test_layering_defaults_then_tenant_then_allowed_request(make_config):
    config = parse_config(
        make_config(
            search={"n_seeds": 4, "limit": 7},
            sampler={"id": "identity", "controls": {"guidance": 1.5, "steps": 32}},
            allowed_overrides=["limit", "steps"],
        )
    )
    resolved = resolve_request(config, {}, sampler_controls={"guidance", "steps"})
    assert resolved.params["n_seeds"] == 4 and resolved.params["limit"] == 7
    assert resolved.params["offset"] == LIBRARY_DEFAULTS["offset"]
    assert resolved.controls == {"guidance": 1.5, "steps": 32}
    assert resolved.params["tenant"] == "acme"
    resolved = resolve_request(config, {"limit": 3, "steps": 8}, sampler_controls={"guidance", "steps"})
    assert resolved.params["limit"] == 3 and resolved.controls == {"guidance": 1.5, "steps": 8}
    assert resolved.search_kwargs()["steps"] == 8


def test_requests_cannot_exceed_limits_or_set_what_is_not_allowed(make_config):
    config = parse_config(
        make_config(search={"n_seeds": 2}, limits={"max_n_seeds": 4, "max_limit": 20}, allowed_overrides=["n_seeds", "limit"])
    )
    with pytest.raises(InvalidRequestError, match="n_seeds=5 is above its limits.max_n_seeds=4"):
        resolve_request(config, {"n_seeds": 5}, sampler_controls=set())
    with pytest.raises(InvalidRequestError, match="limit=21 is above"):
        resolve_request(config, {"limit": 21}, sampler_controls=set())
    with pytest.raises(InvalidRequestError, match="does not allow requests to set offset"):
        resolve_request(config, {"offset": 10}, sampler_controls=set())
    with pytest.raises(InvalidRequestError, match="tenant cannot be set"):
        resolve_request(config, {"tenant": "globex"}, sampler_controls=set())
    with pytest.raises(InvalidRequestError, match="unknown request parameter.*guidance"):
        resolve_request(config, {"guidance": 3.0}, sampler_controls=set())


def test_filters_are_anded_with_the_default_filter(make_config):
    config = parse_config(make_config(default_filter={"must": [{"key": "even", "match": {"value": True}}]}))
    request = models.Filter(should=[models.FieldCondition(key="cluster", match=models.MatchValue(value=1))])
    resolved = resolve_request(config, {"filter": request}, sampler_controls=set())
    combined = resolved.params["filter"]
    assert combined.must == [config.filter, request]
    with pytest.raises(InvalidRequestError, match="filter must be a qdrant_client.models.Filter"):
        resolve_request(config, {"filter": {"must": []}}, sampler_controls=set())


def test_shard_key_and_consistency_flow_from_the_configuration():
    from genseek.tenants.model import TenantConfig
    from genseek.tenants.resolve import resolve_request

    config = TenantConfig(collection="items", partition="acme", shard_key="eu-acme",
                          search={"consistency": "majority"}, allowed_overrides=["limit", "consistency"])
    resolved = resolve_request(config, {"limit": 3}, sampler_controls=frozenset())
    assert resolved.params["shard_key_selector"] == "eu-acme"
    assert resolved.params["consistency"] == "majority"
    assert resolve_request(config, {"consistency": 2}, sampler_controls=frozenset()).params["consistency"] == 2
    with pytest.raises(Exception, match="shard_key_selector"):
        resolve_request(config, {"shard_key_selector": "other"}, sampler_controls=frozenset())
    assert "shard_key_selector" not in resolve_request(
        TenantConfig(collection="items", partition="acme"), {}, sampler_controls=frozenset()
    ).params
