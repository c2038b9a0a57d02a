"""The demo behind ``genseek demo``.

A catalog of MusicCaps captions is embedded with the weight-free :class:`~genseek.testing.HashingEncoder`
into Qdrant local mode, split between two tenants. Each ambiguous query is searched with several
seeds — here, hand-written readings of the query encoded like the catalog — fused with RRF in one
request, and printed grouped by the seed that found each result.
"""

from __future__ import annotations

from qdrant_client import QdrantClient
from qdrant_client.http import models

from .musiccaps import load_clips
from .search import GenerativeSearch
from .testing import FixedSeedsSampler, HashingEncoder, make_collection

READINGS = {
    "energetic rock": ["energetic punk rock fast drums", "energetic hard rock distorted electric guitar", "energetic rock anthem live crowd"],
    "calm piano": ["calm solo piano classical", "calm jazz piano ballad", "calm ambient piano soundtrack"],
}


def run_demo(items: int = 2000, limit: int = 6) -> int:
    clips = load_clips(limit=items)
    encoder = HashingEncoder(dim=256)
    vectors = encoder.encode([clip.caption for clip in clips])
    client = QdrantClient(":memory:")
    make_collection(
        client,
        "musiccaps",
        vectors,
        vector_name="caption",
        payload=lambda i: {"caption": clips[i].caption, "tenant": "label-a" if i % 2 else "label-b"},
    )
    print(f"catalog: {len(clips)} MusicCaps captions in Qdrant local mode, tenants label-a / label-b\n")
    for query, readings in READINGS.items():
        seeds = encoder.encode(readings)
        search = GenerativeSearch(
            client, "musiccaps", encoder=encoder, sampler=FixedSeedsSampler(seeds), fuser="rrf", tenant_field="tenant"
        )
        result = search.search(query, n_seeds=len(readings), limit=limit, tenant="label-a")
        print(f"query {query!r}: {len(result)} results, fusion {result.fusion[1]} in the {result.fusion[0]}")
        for index, group in enumerate(result.by_seed):
            print(f"  seed {index} ({readings[index]}):")
            for point in group:
                print(f"    #{point.id:<5} {point.payload['caption'][:90]}")
        print()
    plain = GenerativeSearch(client, "musiccaps", encoder=encoder, tenant_field="tenant")
    live = models.Filter(must_not=[models.FieldCondition(key="caption", match=models.MatchText(text="live"))])
    result = plain.search("energetic rock", limit=3, tenant="label-a", filter=live)
    print("plain single-vector search for 'energetic rock' without live recordings:")
    for point in result.points:
        print(f"    #{point.id:<5} {point.score:.3f} {point.payload['caption'][:90]}")
    return 0
