"""hf-text on hostile or corrupt model directories: clear errors, nothing followed outside, nothing run.

Every directory is built here from the tiny BERT of conftest.py (offline). Attacks: module paths
leaving the directory (absolute, ``..``, symlinks), files linked out of it, JSON of the wrong type
at every level, absurd or mistyped sizes, configs that do not fit their weights, and pickles that
would run code. Memory-sensitive checks run under an address-space cap after a warm-up, and with
the allocating calls patched to fail, so a regression fails instead of allocating.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest

from genseek.encoders import hf_text
from genseek.encoders.hf_text import HFTextEncoder
from genseek.errors import ConfigError, GenseekError, WeightsError
from genseek.testing.memory import bounded_memory

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.torch import load_file, save_file  # noqa: E402

TEXTS = ["calm piano song", "loud electric guitar rock"]
ST_TYPE = "sentence_transformers.models."


@pytest.fixture(scope="module")
def warm(tiny_bert):
    """Encode once, so lazy imports of transformers happen before any memory cap."""
    HFTextEncoder(tiny_bert, device="cpu").encode("warm up")
    return tiny_bert


def build_st(tiny_bert, root):
    """A sentence-transformers directory: Transformer (root) → Pooling (cls) → Dense 32→8 tanh → Normalize."""
    shutil.copytree(tiny_bert, root)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": ST_TYPE + "Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST_TYPE + "Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": ST_TYPE + "Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": ST_TYPE + "Normalize"},
    ]
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16, "do_lower_case": False}))
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}))
    (root / "2_Dense").mkdir()
    (root / "2_Dense" / "config.json").write_text(json.dumps({
        "in_features": 32, "out_features": 8, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"}))
    gen = torch.Generator().manual_seed(5)
    save_file({"linear.weight": torch.randn(8, 32, generator=gen), "linear.bias": torch.randn(8, generator=gen)},
              str(root / "2_Dense" / "model.safetensors"))
    return root


@pytest.fixture
def st_dir(warm, tmp_path):
    return build_st(warm, tmp_path / "st")


def reference(st_root, texts):
    """CLS → Linear → tanh → L2, computed with transformers directly."""
    from transformers import AutoModel, AutoTokenizer

    batch = AutoTokenizer.from_pretrained(str(st_root))(texts, padding=True, truncation=True, max_length=16,
                                                        return_tensors="pt")
    with torch.no_grad():
        cls = AutoModel.from_pretrained(str(st_root)).eval()(**batch).last_hidden_state[:, 0]
    dense = load_file(str(st_root / "2_Dense" / "model.safetensors"))
    out = torch.tanh(cls @ dense["linear.weight"].T + dense["linear.bias"])
    return torch.nn.functional.normalize(out, dim=-1).numpy()


def set_module_path(root, kind, path):
    modules = json.loads((root / "modules.json").read_text())
    next(m for m in modules if m["type"].endswith(kind))["path"] = path
    (root / "modules.json").write_text(json.dumps(modules))


def refused(root, *patterns, error=WeightsError, encode=False):
    """Constructing (and, with ``encode``, using) the encoder raises ``error`` whose message has every pattern."""
    with pytest.raises(error) as caught:
        encoder = HFTextEncoder(root, device="cpu")
        if encode:
            encoder.encode(TEXTS)
    message = str(caught.value)
    assert message.startswith("encoder 'hf-text'"), message
    for pattern in patterns:
        assert str(pattern) in message, (pattern, message)
    return message


# -- the fixture itself works ----------------------------------------------------------------------
def test_st_directory_matches_the_reference(st_dir):
    encoder = HFTextEncoder(st_dir, device="cpu")
    assert encoder.info.dim == 8 and encoder.pooling == "cls" and encoder.normalize and encoder.max_length == 16
    np.testing.assert_allclose(encoder.encode(TEXTS), reference(st_dir, TEXTS), atol=1e-5)


# -- paths leaving the model directory -------------------------------------------------------------
@pytest.fixture
def outside(tmp_path, warm):
    """Valid module directories *outside* the model directory: following them would silently work."""
    pool = tmp_path / "outside_pool"
    pool.mkdir()
    (pool / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    dense = tmp_path / "outside_dense"
    dense.mkdir()
    (dense / "config.json").write_text(json.dumps({"in_features": 32, "out_features": 4}))
    save_file({"linear.weight": torch.zeros(4, 32)}, str(dense / "model.safetensors"))
    shutil.copytree(warm, tmp_path / "outside_bert")
    return tmp_path


@pytest.mark.parametrize("kind", ["Pooling", "Dense", "Transformer", "Normalize"])
@pytest.mark.parametrize("template", ["{abs}", "../{name}", "1_Pooling/../../{name}", "./../{name}", "..",
                                      "..\\{name}", "C:\\{name}", "/etc", "//etc", "sub/../../../{name}"])
def test_module_paths_must_stay_inside(st_dir, outside, kind, template):
    name = {"Pooling": "outside_pool", "Dense": "outside_dense", "Transformer": "outside_bert",
            "Normalize": "outside_pool"}[kind]
    set_module_path(st_dir, kind, template.format(abs=outside / name, name=name))
    refused(st_dir, "modules.json", "leaves the model directory", "fix modules.json")


@pytest.mark.parametrize(("kind", "name"), [("Pooling", "outside_pool"), ("Dense", "outside_dense"),
                                            ("Transformer", "outside_bert"), ("Normalize", "outside_pool")])
def test_symlinked_module_directory_escaping_is_refused(st_dir, outside, kind, name):
    (st_dir / "linked").symlink_to(outside / name, target_is_directory=True)
    set_module_path(st_dir, kind, "linked")
    refused(st_dir, "points outside the model directory", str(outside / name), "Copy the file")


@pytest.mark.parametrize("inner", ["1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
                                   "model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json",
                                   "modules.json", "sentence_bert_config.json"])
def test_symlinked_files_escaping_are_refused(st_dir, tmp_path, inner):
    stolen = tmp_path / "elsewhere" / inner.replace("/", "_")
    stolen.parent.mkdir(exist_ok=True)
    shutil.copy(st_dir / inner, stolen)  # a valid copy: following the link would "work"
    (st_dir / inner).unlink()
    (st_dir / inner).symlink_to(stolen)
    refused(st_dir, "points outside the model directory", str(st_dir / inner))


def test_symlink_to_a_system_file_is_refused(st_dir):
    (st_dir / "1_Pooling" / "config.json").unlink()
    (st_dir / "1_Pooling" / "config.json").symlink_to("/etc/passwd")
    refused(st_dir, "points outside", "/etc/passwd")


def test_symlink_loop_is_a_clear_error(st_dir):
    (st_dir / "loop").symlink_to(st_dir / "loop")
    set_module_path(st_dir, "Pooling", "loop")
    refused(st_dir, "loop")


def test_links_inside_the_directory_are_fine(st_dir):
    (st_dir / "1_Pooling").rename(st_dir / "pool_real")
    (st_dir / "1_Pooling").symlink_to(st_dir / "pool_real", target_is_directory=True)
    (st_dir / "2_Dense" / "config.json").rename(st_dir / "dense_config.json")
    (st_dir / "2_Dense" / "config.json").symlink_to(st_dir / "dense_config.json")
    np.testing.assert_allclose(HFTextEncoder(st_dir, device="cpu").encode(TEXTS), reference(st_dir, TEXTS), atol=1e-5)


def test_hub_cache_snapshot_with_blob_links_loads(st_dir, tmp_path):
    """A hub-cache snapshot's files are links to ../../blobs: inside the repository folder, so allowed."""
    repo = tmp_path / "hub" / "models--org--tiny"
    snapshot = repo / "snapshots" / ("0" * 40)
    blobs = repo / "blobs"
    blobs.mkdir(parents=True)
    for file in sorted(st_dir.rglob("*")):
        if file.is_file():
            blob = blobs / f"blob{len(list(blobs.iterdir()))}"
            shutil.copy(file, blob)
            link = snapshot / file.relative_to(st_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    np.testing.assert_allclose(HFTextEncoder(snapshot, device="cpu").encode(TEXTS), reference(st_dir, TEXTS), atol=1e-5)
    (snapshot / "2_Dense" / "model.safetensors").unlink()  # but a link leaving the repository folder is not
    (snapshot / "2_Dense" / "model.safetensors").symlink_to(st_dir / "2_Dense" / "model.safetensors")
    refused(snapshot, "points outside")


# -- JSON of the wrong type, at every level --------------------------------------------------------
MODULES_BAD = [
    {}, "modules", 1, None, True, [1], [None], [[]], ["Transformer"],
    [{"type": 5, "path": ""}], [{"path": ""}], [{"type": ""}],
    [{"type": ST_TYPE + "Transformer", "path": 5}], [{"type": ST_TYPE + "Transformer", "path": None}],
    [{"type": ST_TYPE + "Transformer", "path": [""]}], [{"type": ST_TYPE + "Transformer", "path": {"p": ""}}],
    [{"type": ST_TYPE + "Transformer", "path": "", "idx": "0"}], [{"type": ST_TYPE + "Transformer", "path": "", "idx": True}],
    [{"type": ST_TYPE + "Transformer", "path": "", "name": 0}], [{"type": [ST_TYPE + "Transformer"], "path": ""}],
]


@pytest.mark.parametrize("content", MODULES_BAD, ids=repr)
def test_malformed_modules_json(st_dir, content):
    (st_dir / "modules.json").write_text(json.dumps(content))
    refused(st_dir, str(st_dir / "modules.json"), "is malformed", "Restore the file")


POOLING_BAD = [
    ([], "(top level)"), ("cls", "(top level)"), (None, "(top level)"),
    ({"pooling_mode": 5}, "pooling_mode"), ({"pooling_mode": [["cls"]]}, "pooling_mode"),
    ({"pooling_mode": {"cls": True}}, "pooling_mode"), ({"pooling_mode": None, "pooling_mode_cls_token": "yes"},
                                                        "pooling_mode_cls_token"),
    ({"pooling_mode_cls_token": 1}, "pooling_mode_cls_token"), ({"pooling_mode_mean_tokens": None}, "pooling_mode_mean_tokens"),
    ({"pooling_mode_cls_token": True, "pooling_mode_mean_sqrt_len_tokens": "no"}, "pooling_mode_mean_sqrt_len_tokens"),
    ({"pooling_mode_cls_token": True, "word_embedding_dimension": True}, "word_embedding_dimension"),
    ({"pooling_mode_cls_token": True, "word_embedding_dimension": 10**9}, "word_embedding_dimension"),
]


@pytest.mark.parametrize(("content", "field"), POOLING_BAD, ids=repr)
def test_malformed_pooling_config(st_dir, content, field):
    (st_dir / "1_Pooling" / "config.json").write_text(json.dumps(content))
    refused(st_dir, str(st_dir / "1_Pooling" / "config.json"), field, "is malformed")


DENSE_SIZE_BAD = [10**9, 10**30, 10**6, hf_text.MAX_HIDDEN + 1, True, False, 32.0, "32", -1, 0, None, [32], {"n": 32}]


@pytest.mark.parametrize("field", ["in_features", "out_features"])
@pytest.mark.parametrize("value", DENSE_SIZE_BAD, ids=repr)
def test_dense_sizes_are_bounded_and_strict(st_dir, field, value):
    path = st_dir / "2_Dense" / "config.json"
    config = json.loads(path.read_text())
    config[field] = value
    path.write_text(json.dumps(config))
    with bounded_memory():
        refused(st_dir, str(path), field, "is malformed")


@pytest.mark.parametrize(("content", "field"), [
    ([], "(top level)"), ({"out_features": 8}, "in_features"), ({"in_features": 32}, "out_features"),
    ({"in_features": 32, "out_features": 8, "bias": "yes"}, "bias"),
    ({"in_features": 32, "out_features": 8, "bias": 1}, "bias"),
    ({"in_features": 32, "out_features": 8, "activation_function": 5}, "activation_function"),
], ids=repr)
def test_malformed_dense_config(st_dir, content, field):
    (st_dir / "2_Dense" / "config.json").write_text(json.dumps(content))
    refused(st_dir, field, "is malformed")


def test_dense_modules_must_chain(st_dir):
    path = st_dir / "2_Dense" / "config.json"
    config = json.loads(path.read_text())
    config["in_features"] = 48
    path.write_text(json.dumps(config))
    refused(st_dir, "in_features=48", "gives 32-d vectors", error=ConfigError)


@pytest.mark.parametrize(("content", "field"), [
    ([], "(top level)"), ({"max_seq_length": "16"}, "max_seq_length"), ({"max_seq_length": 16.5}, "max_seq_length"),
    ({"max_seq_length": True}, "max_seq_length"), ({"max_seq_length": -1}, "max_seq_length"),
    ({"max_seq_length": 0}, "max_seq_length"), ({"max_seq_length": 10**12}, "max_seq_length"),
], ids=repr)
def test_malformed_sentence_bert_config(st_dir, content, field):
    (st_dir / "sentence_bert_config.json").write_text(json.dumps(content))
    refused(st_dir, str(st_dir / "sentence_bert_config.json"), field, "is malformed")


def test_tokenizer_config(warm, tmp_path):
    root = shutil.copytree(warm, tmp_path / "tok")
    path = root / "tokenizer_config.json"
    original = json.loads(path.read_text())
    path.write_text(json.dumps([original]))
    refused(root, str(path), "is malformed")
    for ignored in (True, 1e30, "512", -5, None):  # a limit that is not a sane int is ignored, not obeyed
        path.write_text(json.dumps({**original, "model_max_length": ignored}))
        assert HFTextEncoder(root, device="cpu").max_length == 64  # the position table's bound


TRANSFORMER_FIELDS = {
    "hidden_size": hf_text.MAX_HIDDEN, "num_hidden_layers": hf_text.MAX_LAYERS,
    "num_attention_heads": hf_text.MAX_HEADS, "intermediate_size": hf_text.MAX_FFN, "vocab_size": hf_text.MAX_VOCAB,
    "max_position_embeddings": hf_text.MAX_POSITIONS, "type_vocab_size": hf_text.MAX_TYPE_VOCAB,
}


@pytest.mark.parametrize("field", sorted(TRANSFORMER_FIELDS))
@pytest.mark.parametrize("value", ["over", 10**9, 10**30, True, 32.0, "32", -1, [32]], ids=repr)
def test_transformer_config_sizes_are_bounded_and_strict(warm, tmp_path, field, value):
    root = shutil.copytree(warm, tmp_path / "bert")
    config = json.loads((root / "config.json").read_text())
    config[field] = TRANSFORMER_FIELDS[field] + 1 if value == "over" else value
    (root / "config.json").write_text(json.dumps(config))
    with bounded_memory():
        refused(root, str(root / "config.json"), field, "is malformed", "Restore the file")


@pytest.mark.parametrize("content", [[], "bert", 7, None, {"model_type": 5, "hidden_size": 32}])
def test_transformer_config_of_the_wrong_type(warm, tmp_path, content):
    root = shutil.copytree(warm, tmp_path / "bert")
    (root / "config.json").write_text(json.dumps(content))
    refused(root, str(root / "config.json"), "is malformed")


def test_transformer_config_without_a_hidden_size(warm, tmp_path):
    root = shutil.copytree(warm, tmp_path / "bert")
    config = json.loads((root / "config.json").read_text())
    del config["hidden_size"]
    (root / "config.json").write_text(json.dumps(config))
    refused(root, "gives no hidden_size")


def test_position_table_too_small_for_its_offset(warm, tmp_path):
    root = shutil.copytree(warm, tmp_path / "bert")
    config = json.loads((root / "config.json").read_text())
    config.update(model_type="roberta", max_position_embeddings=2)
    (root / "config.json").write_text(json.dumps(config))
    refused(root, "max_position_embeddings=2", "no usable position")


@pytest.mark.parametrize("relative", ["modules.json", "1_Pooling/config.json", "2_Dense/config.json", "config.json",
                                      "sentence_bert_config.json", "tokenizer_config.json"])
def test_deeply_nested_json_is_a_clear_error(st_dir, relative):
    (st_dir / relative).write_text("[" * 100_000 + "]" * 100_000)
    message = refused(st_dir, str(st_dir / relative), encode=True)  # (the tokenizer's config is read on first use)
    assert "recursion" in message or "malformed" in message or "cannot load the tokenizer" in message


@pytest.mark.parametrize("relative", ["modules.json", "1_Pooling/config.json", "config.json"])
def test_unreadable_json(st_dir, relative):
    (st_dir / relative).write_bytes(b"\xff\xfe{not json")
    refused(st_dir, str(st_dir / relative))


def test_oversized_json_is_not_read(st_dir, monkeypatch):
    monkeypatch.setattr(hf_text, "MAX_JSON_BYTES", 16)
    refused(st_dir, "modules.json", "more than the 16")


def test_special_files_are_not_read(st_dir):
    (st_dir / "1_Pooling" / "config.json").unlink()
    os.mkfifo(st_dir / "1_Pooling" / "config.json")  # reading it would block forever
    refused(st_dir, "not a regular file")
    (st_dir / "1_Pooling" / "config.json").unlink()
    (st_dir / "1_Pooling" / "config.json").mkdir()
    refused(st_dir, "not a regular file")


def test_missing_module_directory(st_dir):
    set_module_path(st_dir, "Pooling", "9_Missing")
    refused(st_dir, "9_Missing", "does not exist")


# -- configs within the bounds that do not fit their weights: refused before allocating -------------
@pytest.fixture
def no_transformers_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("transformers was asked to load (and allocate) an unverified config")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", refuse)


@pytest.mark.parametrize("changes", [
    {"vocab_size": hf_text.MAX_VOCAB}, {"num_hidden_layers": hf_text.MAX_LAYERS},
    {"hidden_size": hf_text.MAX_HIDDEN, "num_attention_heads": 2}, {"intermediate_size": hf_text.MAX_FFN},
    {"max_position_embeddings": hf_text.MAX_POSITIONS},
    {"hidden_size": 4096, "intermediate_size": 16384, "num_hidden_layers": 24, "num_attention_heads": 16},
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_config_larger_than_its_weights_is_refused_first(warm, tmp_path, no_transformers_load, changes):
    root = shutil.copytree(warm, tmp_path / "bert")
    config = json.loads((root / "config.json").read_text())
    config.update(changes)
    (root / "config.json").write_text(json.dumps(config))
    with bounded_memory():
        message = refused(root, str(root / "config.json"), "parameters", "hold only", "restore the config.json",
                          encode=True)
    assert "model.safetensors" in message


def test_dense_within_bounds_but_not_its_file(st_dir, monkeypatch):
    path = st_dir / "2_Dense" / "config.json"
    config = json.loads(path.read_text())
    config["out_features"] = hf_text.MAX_HIDDEN
    path.write_text(json.dumps(config))
    built = []

    class Recording(torch.nn.Linear):
        def __init__(self, n_in, n_out, *args, **kwargs):
            built.append((n_in, n_out))
            super().__init__(n_in, n_out, *args, **kwargs)

    monkeypatch.setattr(torch.nn, "Linear", Recording)
    with bounded_memory():
        refused(st_dir, "do not fit 32→65536", "linear.weight (8, 32)", "Use the weights saved", encode=True)
    assert (32, hf_text.MAX_HIDDEN) not in built


def test_dense_bias_declared_but_absent(st_dir):
    path = st_dir / "2_Dense" / "model.safetensors"
    tensors = load_file(str(path))
    save_file({"linear.weight": tensors["linear.weight"]}, str(path))
    refused(st_dir, "bias=True", encode=True)
    config = json.loads((st_dir / "2_Dense" / "config.json").read_text())
    del config["bias"]  # without the key, the file decides
    (st_dir / "2_Dense" / "config.json").write_text(json.dumps(config))
    assert HFTextEncoder(st_dir, device="cpu").encode(TEXTS).shape == (2, 8)


def test_dense_with_stray_tensors(st_dir):
    path = st_dir / "2_Dense" / "model.safetensors"
    tensors = load_file(str(path))
    save_file({**tensors, "linear.extra": torch.zeros(10**3)}, str(path))
    refused(st_dir, "linear.extra", encode=True)


# -- pickles ---------------------------------------------------------------------------------------
class RunsCode:
    """Unpickling this runs a shell command: what weights_only=True exists to refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _write_pickle(path, payload, style):
    if style == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch, about pickle.dump's protocol
@pytest.mark.parametrize("style", ["torch.save", "pickle.dump"])
@pytest.mark.parametrize("where", ["transformer", "dense"])
def test_malicious_pickle_is_a_weights_error_and_runs_nothing(st_dir, tmp_path, style, where):
    marker = tmp_path / f"pwned-{where}-{style}"
    folder = st_dir if where == "transformer" else st_dir / "2_Dense"
    (folder / "model.safetensors").unlink()
    _write_pickle(folder / "pytorch_model.bin", {"linear.weight": RunsCode(marker)}, style)
    message = refused(st_dir, str(folder / "pytorch_model.bin"), "weights_only=True", "Convert it to safetensors",
                      encode=True)
    assert "UnpicklingError" in message
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
def test_plain_tensor_pickles_still_load(st_dir, legacy):
    expected = HFTextEncoder(st_dir, device="cpu").encode(TEXTS)
    for folder in (st_dir, st_dir / "2_Dense"):
        state = load_file(str(folder / "model.safetensors"))
        (folder / "model.safetensors").unlink()
        torch.save(state, folder / "pytorch_model.bin", _use_new_zipfile_serialization=not legacy)
    np.testing.assert_allclose(HFTextEncoder(st_dir, device="cpu").encode(TEXTS), expected, atol=1e-6)


def test_non_tensor_pickle_entries(st_dir):
    (st_dir / "2_Dense" / "model.safetensors").unlink()
    torch.save({"linear.weight": torch.zeros(8, 32), "linear.bias": "not a tensor"}, st_dir / "2_Dense" / "pytorch_model.bin")
    refused(st_dir, "do not fit", encode=True)


# -- sharded checkpoints ---------------------------------------------------------------------------
def _shard(root, weight_map):
    (root / "model.safetensors").rename(root / "model-00001-of-00001.safetensors")
    (root / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def test_sharded_checkpoint_loads(warm, tmp_path):
    root = shutil.copytree(warm, tmp_path / "bert")
    expected = HFTextEncoder(root, device="cpu").encode(TEXTS)
    names = list(load_file(str(root / "model.safetensors")))
    _shard(root, {name: "model-00001-of-00001.safetensors" for name in names})
    np.testing.assert_allclose(HFTextEncoder(root, device="cpu").encode(TEXTS), expected, atol=1e-6)


@pytest.mark.parametrize(("weight_map", "pattern"), [
    ({"a": "../model-00001-of-00001.safetensors"}, "shards must be file names"),
    ({"a": "/etc/passwd"}, "shards must be file names"), ({"a": "sub\\x.safetensors"}, "shards must be file names"),
    ({"a": "absent.safetensors"}, "is missing"), ({}, "weight_map"), ({"a": 5}, "weight_map.a"), ([], "weight_map"),
], ids=repr)
def test_bad_shard_index(warm, tmp_path, weight_map, pattern):
    root = shutil.copytree(warm, tmp_path / "bert")
    _shard(root, weight_map)
    refused(root, pattern, encode=True)


def test_no_weights_at_all(warm, tmp_path):
    root = shutil.copytree(warm, tmp_path / "bert")
    (root / "model.safetensors").unlink()
    refused(root, "holds no model.safetensors or pytorch_model.bin", "save_pretrained", encode=True)


def test_every_error_here_is_a_genseek_error():
    assert issubclass(WeightsError, GenseekError) and issubclass(ConfigError, GenseekError)


def test_dense_header_that_lies_about_its_shapes(st_dir):
    import struct

    header = json.dumps({"linear.weight": {"dtype": "F32", "shape": [8, 32], "data_offsets": [0, 16]}}).encode()
    path = st_dir / "2_Dense" / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    refused(st_dir, "not a readable safetensors file", str(path), encode=True)
