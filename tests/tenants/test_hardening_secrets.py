"""No credential is accepted into a tenant configuration: not by key name, not by value, not in a URL."""

from __future__ import annotations

import pytest

from genseek.errors import ConfigError
from genseek.tenants import parse_config
from genseek.tenants.credentials import credential_problem, is_secret_name

SECRET_KEYS = [
    "authorization", "Authorization", "proxy_authorization", "private_key", "privateKey", "PRIVATE-KEY",
    "access_key_id", "accessKeyId", "AWS_SECRET_ACCESS_KEY", "secret_access_key", "passphrase", "bearer",
    "bearer_token", "ssh_key", "sshKey", "api_key", "apiKey", "X-Api-Key", "x_api_key", "apikey", "token",
    "hf_token", "HF_TOKEN", "sessionToken", "access_token", "refresh-token", "client_secret", "clientSecret",
    "password", "db_password", "mypassword", "passwd", "pwd", "credentials", "gcp_credential", "creds",
    "cookie", "auth", "http_auth", "jwt", "signature", "sas_token", "signing_key", "encryption_key",
    "account_key", "license_key", "master_key",
]
PLAIN_KEYS = ["model", "pooling", "device", "max_tokens", "max_length", "batch_size", "author", "keyboard",
              "key_field", "cache_key", "monkey", "passes", "bypass", "tokenizer", "session", "signal", "weights"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_credential_keys_are_recognised(key):
    assert is_secret_name(key)


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_ordinary_option_names_are_not_secrets(key, make_config):
    assert not is_secret_name(key)
    assert parse_config(make_config(encoder={"id": "hashing", "options": {key: "x"}})).encoder.options == {key: "x"}


_PLACES = {
    "encoder.options": lambda v: {"encoder": {"id": "hashing", "options": v}},
    "sampler.options": lambda v: {"sampler": {"id": "identity", "options": v}},
    "sampler.controls": lambda v: {"sampler": {"id": "identity", "controls": v}},
    "fuser.options": lambda v: {"fuser": {"id": "rrf", "options": v}},
    "options": lambda v: {"anchor": {"encoder": {"id": "hashing", "options": v}}},
}


@pytest.mark.parametrize("key", SECRET_KEYS[::3])
@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize("shape", ["plain", "nested", "in a list", "number"])
def test_a_plain_value_under_a_credential_key_is_refused_with_its_path(key, place, shape, make_config):
    value = {"plain": "s3cr3t-value", "nested": {"client": {key: "s3cr3t-value"}},
             "in a list": [{key: "s3cr3t-value"}], "number": 123456}[shape]
    options = {key: value} if shape in ("plain", "number") else {"headers": value}
    with pytest.raises(ConfigError, match=r"looks like a secret; store a reference to an environment variable.*\$env"):
        parse_config(make_config(**_PLACES[place](options)))
    try:
        parse_config(make_config(**_PLACES[place](options)))
    except ConfigError as exc:
        assert place in str(exc) and key in str(exc)


@pytest.mark.parametrize("key", SECRET_KEYS[::4])
def test_environment_references_nulls_and_booleans_are_accepted_under_credential_keys(key, make_config):
    options = {key: {"$env": "ACME_SECRET"}, "nested": {key: None}, "use": {key: True}}
    parsed = parse_config(make_config(encoder={"id": "hashing", "options": options}))
    assert parsed.encoder.options[key] == {"$env": "ACME_SECRET"}


@pytest.mark.parametrize("reference", [{"$env": "NAME\n"}, {"$env": "NAME "}, {"$env": "1NAME"}, {"$env": ""},
                                       {"$env": 5}, {"$env": "A", "default": "x"}, {"$env": "NA-ME"}])
def test_environment_references_are_exact(reference, make_config):
    with pytest.raises(ConfigError, match="an environment reference is exactly"):
        parse_config(make_config(encoder={"id": "hashing", "options": {"token": reference}}))


CREDENTIAL_VALUES = [
    "https://user:hunter2@models.example.com/prior",
    "https://ghp_abc@github.com/acme/prior.git",
    "s3://AKIDEXAMPLE:secret@bucket/prior",
    "ftp://anonymous:pw@ftp.example.com/weights.bin",
    "hf://user:pw@huggingface.co/acme/prior",
    "see https://bob:pw@host/x for the weights",
    "https://models.example.com/prior?token=abc123",
    "https://bucket.s3.amazonaws.com/prior?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA",
    "https://acct.blob.core.windows.net/c/prior?sv=2020&sig=abcdef",
    "https://host/w?api_key=1",
    "Bearer abcdefghijklmnopqrstuvwxyz012345",
    "Basic dXNlcjpodW50ZXIyaHVudGVyMg==",
    "Authorization: Bearer x",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "hf_" + "a1B2c3D4" * 5,
    "ghp_" + "A" * 36,
    "github_pat_" + "A1_" * 12,
    "glpat-" + "x" * 20,
    "sk-" + "A1b2" * 10,
    "sk-proj-" + "A1b2" * 10,
    "sk_live_" + "a" * 24,
    "AKIAIOSFODNN7EXAMPLE",
    "AIza" + "B" * 35,
    "xoxb-1234567890-abcdef",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
_VALUE_PLACES = {
    "sampler.weights": lambda v: {"sampler": {"id": "identity", "weights": v}},
    "encoder.options.endpoint": lambda v: {"encoder": {"id": "hashing", "options": {"endpoint": v}}},
    "sampler.controls.negative[1]": lambda v: {"sampler": {"id": "identity", "controls": {"negative": ["x", v]}}},
    "description": lambda v: {"description": v},
    "collection": lambda v: {"collection": v},
}


@pytest.mark.parametrize("value", CREDENTIAL_VALUES)
@pytest.mark.parametrize("place", _VALUE_PLACES)
def test_credential_looking_values_are_refused_anywhere_naming_the_field(value, place, make_config):
    assert credential_problem(value) is not None
    with pytest.raises(ConfigError, match=r"looks like a credential: .*\$env"):
        parse_config(make_config(**_VALUE_PLACES[place](value)))
    try:
        parse_config(make_config(**_VALUE_PLACES[place](value)))
    except ConfigError as exc:
        assert f"{place} looks like a credential" in str(exc)


@pytest.mark.parametrize("value", [
    "https://models.example.com/acme/prior-v3", "s3://bucket/priors/acme@v3/model.safetensors", "/data/priors/acme",
    "hf://acme/prior?revision=main", "mailto-free text: write to ops@example.com", "Bearer of bad news",
    "a basic prompt with many words in it", "token-free description", "sk-short", "eyJ-not-a-jwt",
    "https://host/w?tokenizer=bpe&max_tokens=10",
])
def test_ordinary_values_are_accepted(value, make_config):
    assert credential_problem(value) is None
    assert parse_config(make_config(sampler={"id": "identity", "weights": value}, description=value)).description == value


def test_a_refused_secret_writes_nothing(store, make_config):
    store.put("acme", make_config(), expected_version=0)
    for change in ({"sampler": {"id": "identity", "weights": "https://u:p@host/prior"}},
                   {"encoder": {"id": "hashing", "options": {"authorization": "Bearer abcdefghijklmnop"}}}):
        with pytest.raises(ConfigError, match="sampler.weights|encoder.options.authorization"):
            store.put("acme", make_config(**change), expected_version=1)
    assert [h.version for h in store.history("acme")] == [1]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "x"}, {"a": b"x"}, (1, 2), {1, 2}])
def test_options_are_json_values(value, make_config):
    with pytest.raises(ConfigError, match=r"encoder\.options: .*options\.opt"):
        parse_config(make_config(encoder={"id": "hashing", "options": {"opt": value}}))
