"""``genseek demo --backend edge``: the demo's catalog on Qdrant Edge searches like local mode.

The full demo embeds 5,521 captions and loads a trained prior, so this checks the backend
plumbing the demo uses (``genseek.demo.build_catalog``) with the weight-free hashing encoder.
"""

from __future__ import annotations

import pytest

from genseek.cli import build_parser
from genseek.demo import COLLECTION, VECTOR, build_catalog
from genseek.musiccaps import load_clips
from genseek.search import GenerativeSearch
from genseek.testing import FixedSeedsSampler, HashingEncoder

pytest.importorskip("qdrant_edge")


def test_cli_accepts_the_edge_backend():
    args = build_parser().parse_args(["demo", "--backend", "edge"])
    assert args.backend == "edge"


def test_demo_catalog_on_edge_matches_local_mode():
    clips = load_clips(limit=300)
    encoder = HashingEncoder(dim=64)
    vectors = encoder.encode([clip.caption for clip in clips])
    seeds = encoder.encode(["energetic punk rock", "hard rock guitar", "rock anthem live crowd"])
    results = {}
    for backend in ("local", "edge"):
        with build_catalog(clips, vectors, backend=backend) as (client, where):
            assert ("Edge" in where) == (backend == "edge")
            search = GenerativeSearch(client, COLLECTION, encoder=encoder, sampler=FixedSeedsSampler(seeds),
                                      vector_name=VECTOR, fuser="max", fusion="engine")
            result = search.search("energetic rock", n_seeds=3, limit=6)
            results[backend] = [(p.id, round(p.score, 4), p.payload["caption"]) for p in result.points]
    assert results["edge"] and results["edge"] == results["local"]
