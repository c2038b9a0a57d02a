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


def _edge_catalog(vectors, payloads, path):
    """The demo catalog in Qdrant Edge (``--backend edge``): a directory, HNSW built after loading."""
    from .adapters.qdrant_edge import build_catalog

    return build_catalog(path, vectors, payloads, vector_name="caption", name="musiccaps", tenant_field="tenant",
                         payload_indexes={"caption": "text"}, progress=False)


def run_demo(items: int = 2000, limit: int = 6, backend: str = "local") -> int:
    clips = load_clips(limit=items)
    encoder = HashingEncoder(dim=256)
    vectors = encoder.encode([clip.caption for clip in clips])
    if backend == "edge":
        import tempfile

        workdir = tempfile.TemporaryDirectory(prefix="genseek-demo-")
        payloads = [{"caption": clip.caption, "tenant": "label-a" if i % 2 else "label-b"} for i, clip in enumerate(clips)]
        client = _edge_catalog(vectors, payloads, f"{workdir.name}/musiccaps")
        try:
            return _run(client, clips, encoder, limit, f"Qdrant Edge ({client.path})")
        finally:
            client.close()
            workdir.cleanup()
    client = QdrantClient(":memory:")
    make_collection(
        client,
        "musiccaps",
        vectors,
        vector_name="caption",
        payload=lambda i: {"caption": clips[i].caption, "tenant": "label-a" if i % 2 else "label-b"},
    )
    return _run(client, clips, encoder, limit, "Qdrant local mode")


def _run(client, clips, encoder, limit: int, where: str) -> int:
    print(f"catalog: {len(clips)} MusicCaps captions in {where}, tenants label-a / label-b\n")
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
