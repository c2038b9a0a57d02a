"""Hostile or corrupt prior weights directories: every one is a WeightsError, and none allocates.

A ~1 KB config.json must not make from_pretrained allocate what it claims: sizes are bounded and
strictly typed, and the shapes the config implies are compared with the safetensors header before
any tensor or model is created. The memory-sensitive tests run under an address-space limit and
with ``PriorWeights.create`` (the only place a real model is built from a config) patched to fail,
so a regression fails the test instead of allocating.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from genseek.errors import GenseekError, WeightsError
from genseek.testing.memory import bounded_memory
from genseek.samplers import weights as weights_module
from genseek.samplers.denoisers import MAX_DEPTH, MAX_DIM, MAX_HEADS, DenoiserConfig
from genseek.samplers.testkit import tiny_prior
from genseek.samplers.weights import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    AlignmentConfig,
    NormalizationConfig,
    PriorConfig,
    PriorWeights,
    expected_model_shapes,
    from_pretrained,
    read_config,
    read_header,
    stat_shapes,
)


@pytest.fixture
def saved(tmp_path):
    """A film_mlp prior with query centring and alignment statistics, saved."""
    weights = tiny_prior()
    d, dq = weights.config.target_dim, weights.config.query_dim
    stats = {
        "query_mean": torch.zeros(dq),
        "align.source_mean": torch.zeros(d), "align.source_cov": torch.eye(d),
        "align.target_mean": torch.zeros(d), "align.target_cov": torch.eye(d),
    }
    config = weights.config.model_copy(update={
        "normalization": NormalizationConfig(query_center=True),
        "alignment": AlignmentConfig(available=True),
    })
    return PriorWeights(config=config, model=weights.model, stats=stats).save_pretrained(tmp_path / "prior")


@pytest.fixture
def no_model_build(monkeypatch):
    """Fail the test if a real (allocating) model is built from a config."""
    def refuse(cls, config, **kwargs):
        raise AssertionError(f"a model was built from an unverified config: {config.denoiser}")

    monkeypatch.setattr(PriorWeights, "create", classmethod(refuse))


def _set(directory, key, value):
    path = directory / CONFIG_FILE
    raw = json.loads(path.read_text())
    target = raw
    *parents, leaf = key.split(".")
    for part in parents:
        target = target[part]
    target[leaf] = value
    path.write_text(json.dumps(raw))


def _resave(directory, mutate):
    path = directory / WEIGHTS_FILE
    tensors = load_file(str(path))
    mutate(tensors)
    save_file(tensors, str(path))
    raw = json.loads((directory / CONFIG_FILE).read_text())
    raw["files"][WEIGHTS_FILE] = {"bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (directory / CONFIG_FILE).write_text(json.dumps(raw))


def _refused(directory, *patterns):
    """from_pretrained raises a WeightsError naming the config file, each pattern, and a fix."""
    with bounded_memory(), pytest.raises(WeightsError) as caught:
        from_pretrained(directory)
    message = str(caught.value)
    assert str(directory) in message
    for pattern in patterns:
        assert pattern in message, (pattern, message)
    assert any(fix in message for fix in ("re-save", "restore", "Restore", "Upgrade")), message
    return message


# -- integer sizes: bounded, and integers only -----------------------------------------------------
HUGE = [MAX_DIM + 1, 10**6, 10**9, 10**18, 10**30]
NOT_INTEGERS = [True, False, 512.0, 1e9, "512", None, [512], {"n": 512}, -1, 0]
SIZE_FIELDS = ["target_dim", "query_dim", "width", "depth", "noise_embed_dim", "heads"]


@pytest.mark.parametrize("field", SIZE_FIELDS)
@pytest.mark.parametrize("value", HUGE + NOT_INTEGERS, ids=repr)
def test_denoiser_sizes_are_bounded_and_strict(saved, no_model_build, field, value):
    if field in ("depth", "heads") and value == MAX_DIM + 1:
        value = (MAX_DEPTH if field == "depth" else MAX_HEADS) + 1
    _set(saved, f"denoiser.{field}", value)
    _refused(saved, f"denoiser.{field}", "invalid")


def test_the_issue_examples(saved, no_model_build):
    for field, value in [("width", 10**6), ("target_dim", 10**9), ("noise_embed_dim", 10**9), ("depth", 10**6)]:
        good = (saved / CONFIG_FILE).read_text()
        _set(saved, f"denoiser.{field}", value)
        _refused(saved, f"denoiser.{field}", "less than or equal")
        (saved / CONFIG_FILE).write_text(good)


@pytest.mark.parametrize(
    ("field", "value"),
    [("alignment.source_count", -1), ("alignment.source_count", True), ("alignment.target_count", 1e300),
     ("alignment.target_count", 10**30), ("alignment.target_count", "7"), ("alignment.source_count", 3.0)],
    ids=repr,
)
def test_other_integer_fields(saved, field, value):
    _set(saved, field, value)
    _refused(saved, field)


@pytest.mark.parametrize("value", [True, -1, 10**30, 12.0, "12"], ids=repr)
def test_digest_byte_count_is_a_bounded_integer(saved, value):
    raw = json.loads((saved / CONFIG_FILE).read_text())
    raw["files"][WEIGHTS_FILE]["bytes"] = value
    (saved / CONFIG_FILE).write_text(json.dumps(raw))
    _refused(saved, f"files.{WEIGHTS_FILE}.bytes")


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_schema_version_must_be_the_integer(saved, value):
    _set(saved, "schema_version", value)
    _refused(saved, "schema version")


# -- floats: finite, bounded, not bool -------------------------------------------------------------
FLOAT_FIELDS = ["sigma_data", "schedule.sigma_max", "schedule.alpha_max", "schedule.sigma_min", "cfg_dropout",
                "denoiser.dropout", "alignment.shrinkage"]


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), True, "0.1", None, 1e300, -1.0],
                         ids=repr)
def test_float_fields_are_finite_and_bounded(saved, no_model_build, field, value):
    _set(saved, field, value)  # json.dumps writes NaN / Infinity, which Python's json reads
    _refused(saved, field)


@pytest.mark.parametrize("field", ["normalization.query_l2", "normalization.target_l2", "alignment.available",
                                   "denoiser.cond_residual"])
@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_bool_fields_are_bools(saved, field, value):
    _set(saved, field, value)
    _refused(saved, field)


@pytest.mark.parametrize(("field", "value"), [("query_encoder", 5), ("target_encoder", ["x"]), ("kind", "gan"),
                                              ("denoiser.architecture", "transformer"), ("denoiser", [1, 2]),
                                              ("schedule", "default"), ("training", [1])])
def test_wrong_types_elsewhere(saved, field, value):
    _set(saved, field, value)
    _refused(saved, field)


# -- JSON shape ------------------------------------------------------------------------------------
def test_deeply_nested_config_is_refused(saved):
    raw = json.loads((saved / CONFIG_FILE).read_text())
    text = json.dumps(raw)[:-1] + ', "training": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (saved / CONFIG_FILE).write_text(text)
    _refused(saved, "nested too deeply")
    raw["training"] = {"x": json.loads("[" * 500 + "]" * 500)}  # Python's json reads it, pydantic's limit refuses it
    (saved / CONFIG_FILE).write_text(json.dumps(raw))
    _refused(saved, "invalid", "recursion limit")


@pytest.mark.parametrize("text", ["[]", "null", "42", '"genseek.prior"', "{", "\xff\xfe"])
def test_config_that_is_not_an_object(saved, text):
    (saved / CONFIG_FILE).write_bytes(text.encode("latin-1"))
    with pytest.raises(WeightsError, match="not a genseek prior config|not valid JSON"):
        from_pretrained(saved)


def test_oversized_config_is_not_read(saved, monkeypatch):
    monkeypatch.setattr(weights_module, "MAX_CONFIG_BYTES", 64)
    monkeypatch.setattr(type(saved), "read_text", lambda *a, **k: pytest.fail("an oversized config was read"))
    _refused(saved, "bytes, more than the 64")


# -- config within bounds, but not what the file holds: refused from the header alone ---------------
@pytest.mark.parametrize(
    "changes",
    [{"width": MAX_DIM}, {"depth": MAX_DEPTH}, {"target_dim": MAX_DIM}, {"query_dim": MAX_DIM},
     {"noise_embed_dim": MAX_DIM}, {"width": 64}, {"depth": 3}, {"noise_embed_dim": 64},
     {"architecture": "cross_attention", "width": MAX_DIM, "depth": MAX_DEPTH, "heads": MAX_HEADS}],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_header_is_checked_before_anything_is_built(saved, no_model_build, changes):
    for key, value in changes.items():
        _set(saved, f"denoiser.{key}", value)
    message = _refused(saved, "does not match the architecture", "denoiser says")
    for key, value in changes.items():
        assert f"{key}={value!r}" in message


def test_statistics_must_fit_the_config(saved, no_model_build):
    good = (saved / CONFIG_FILE).read_text()
    _set(saved, "denoiser.target_dim", 16)  # the (d, d) covariances no longer fit: refused, never allocated
    message = _refused(saved, "does not match the architecture")
    (saved / CONFIG_FILE).write_text(good)
    _resave(saved, lambda t: t.__setitem__("stats.query_mean", torch.zeros(3)))
    _refused(saved, "stats.query_mean of shape (16,), got shape (3,)")
    assert message


def test_unknown_and_non_float_tensors(saved, no_model_build):
    _resave(saved, lambda t: t.__setitem__("stats.secret", torch.zeros(2)))
    _refused(saved, "unexpected tensors", "stats.secret")
    _resave(saved, lambda t: t.pop("stats.secret"))
    first = next(k for k in load_file(str(saved / WEIGHTS_FILE)) if k.startswith("model."))
    _resave(saved, lambda t: t.__setitem__(first, t[first].to(torch.int32)))
    _refused(saved, "non-float tensors", first, "I32")


def test_unannounced_statistics_are_still_shape_checked(saved, no_model_build):
    _set(saved, "normalization.query_center", False)
    _resave(saved, lambda t: t.__setitem__("stats.query_mean", torch.zeros(10**3)))
    _refused(saved, "stats.query_mean")


def test_corrupt_header_is_a_weights_error(saved):
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        read_header(saved / CONFIG_FILE)  # JSON, not safetensors


# -- what still works ------------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["film_mlp", "cross_attention"])
def test_meta_shapes_are_the_real_shapes(architecture):
    weights = tiny_prior(architecture)
    real = {k: tuple(v.shape) for k, v in weights.model.state_dict().items()}
    assert expected_model_shapes(weights.config) == real
    shapes = stat_shapes(weights.config)
    assert shapes["align.source_cov"] == (weights.config.target_dim,) * 2
    assert shapes["query_mean"] == (weights.config.query_dim,)


def test_valid_directory_still_loads_within_bounds(saved):
    with bounded_memory():
        loaded = from_pretrained(saved)
    assert loaded.config.target_dim == 32 and set(loaded.stats) == set(stat_shapes(loaded.config))
    assert read_config(saved).denoiser == loaded.config.denoiser


def test_python_construction_is_bounded_too():
    for field, value in [("width", 10**6), ("depth", 10**6), ("target_dim", 10**9), ("heads", MAX_HEADS + 1)]:
        with pytest.raises(ValueError, match=field):
            DenoiserConfig(**{"target_dim": 8, "query_dim": 8, field: value})
    with pytest.raises(ValueError, match="sigma_data"):
        PriorConfig(denoiser=DenoiserConfig(target_dim=8, query_dim=8), sigma_data=float("inf"))


def test_save_refuses_what_load_would_refuse(tmp_path):
    weights = tiny_prior()
    weights.stats["made_up"] = torch.zeros(3)
    with pytest.raises(WeightsError, match="unknown statistic 'made_up'"):
        weights.save_pretrained(tmp_path / "a")
    weights.stats = {"query_mean": torch.zeros(5)}
    with pytest.raises(WeightsError, match=r"stats\['query_mean'\] has shape \(5,\)"):
        weights.save_pretrained(tmp_path / "b")
    other = tiny_prior().config.model_copy(update={"denoiser": tiny_prior().config.denoiser.model_copy(update={"width": 8})})
    with pytest.raises(WeightsError, match="do not have the shapes its config.denoiser describes"):
        PriorWeights(config=other, model=tiny_prior().model).save_pretrained(tmp_path / "c")
    assert not any((tmp_path / name / CONFIG_FILE).exists() for name in "abc")


def test_every_refusal_is_a_genseek_error():
    assert issubclass(WeightsError, GenseekError)


def _write_safetensors(path, header, data):
    import struct

    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


def test_a_header_that_lies_about_its_shapes_is_refused(saved, no_model_build):
    """Shapes claiming more than the file holds never reach the comparison: safetensors refuses them."""
    _set(saved, "denoiser.width", MAX_DIM)
    shapes = expected_model_shapes(read_config(saved))
    header = {f"model.{name}": {"dtype": "F32", "shape": list(shape), "data_offsets": [0, 0]}
              for name, shape in shapes.items()}  # every tensor "fits" in zero bytes
    path = saved / WEIGHTS_FILE
    _write_safetensors(path, header, b"")
    raw = json.loads((saved / CONFIG_FILE).read_text())
    raw["files"][WEIGHTS_FILE] = {"bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (saved / CONFIG_FILE).write_text(json.dumps(raw))
    _refused(saved, "not a readable safetensors file")
