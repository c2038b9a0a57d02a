"""MusicCaps training/evaluation data with real encoders (GD-Retriever §4.1.2 setting).

* catalog items = the 5,521 expert captions embedded with all-MiniLM-L6-v2 (the catalog space);
* queries = random subsets of a clip's aspect list ("rock, male vocals, energetic") embedded with
  multilingual-e5-small — a query encoder never trained jointly with the catalog space;
* split **by clip**: a held-out clip's caption is never a training target.

Embeddings are cached on disk (:mod:`genseek.training.textembed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..musiccaps import Clip, load_clips
from .pairs import PairSet
from .textembed import embed_texts


def aspect_queries(clips: list[Clip], clip_ids: np.ndarray, *, per_clip: int, seed: int,
                   min_aspects: int = 2, max_aspects: int = 4) -> tuple[list[str], np.ndarray]:
    """``per_clip`` queries per clip, each a random subset of its aspects joined by ", ".

    Returns ``(texts, clip id per text)``. Clips with no aspects fall back to their caption's
    first sentence.
    """
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    owners: list[int] = []
    for clip_id in clip_ids:
        aspects = list(clips[int(clip_id)].aspects)
        for _ in range(per_clip):
            if not aspects:
                texts.append(clips[int(clip_id)].caption.split(".")[0])
            else:
                size = int(rng.integers(min(min_aspects, len(aspects)), min(max_aspects, len(aspects)) + 1))
                pick = rng.choice(len(aspects), size=size, replace=False)
                texts.append(", ".join(aspects[i] for i in sorted(pick)))
            owners.append(int(clip_id))
    return texts, np.asarray(owners, np.int64)


@dataclass(frozen=True)
class MusicCapsData:
    """Catalog and by-clip split of MusicCaps.

    Attributes:
        clips: all clips (catalog order).
        catalog: ``(n_clips, 384)`` MiniLM caption embeddings.
        train_clips / test_clips: disjoint clip indices.
    """

    clips: list[Clip]
    catalog: np.ndarray
    train_clips: np.ndarray
    test_clips: np.ndarray

    def train_pairs(self, *, per_clip: int = 4, seed: int = 1, progress: bool = True) -> PairSet:
        """Pairs (e5 query of an aspect subset, MiniLM caption vector) over the training clips."""
        texts, owners = aspect_queries(self.clips, self.train_clips, per_clip=per_clip, seed=seed)
        queries = embed_texts("e5-small", texts, progress=progress)
        return PairSet(queries, self.catalog[owners], groups=owners)

    def test_queries(self, *, per_clip: int = 1, seed: int = 2, progress: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Held-out queries: ``(texts, e5 query vectors, owner clip ids)`` (one relevant item: the owner)."""
        texts, owners = aspect_queries(self.clips, self.test_clips, per_clip=per_clip, seed=seed)
        return texts, embed_texts("e5-small", texts, progress=progress), owners


def load_musiccaps_data(*, test_fraction: float = 0.2, seed: int = 0, limit: int | None = None,
                        progress: bool = True) -> MusicCapsData:
    """Load the bundled MusicCaps CSV, embed its captions with MiniLM (cached) and split by clip."""
    clips = load_clips(limit=limit)
    catalog = embed_texts("minilm", [clip.caption for clip in clips], progress=progress)
    order = np.random.default_rng(seed).permutation(len(clips))
    n_test = max(1, int(round(test_fraction * len(clips))))
    return MusicCapsData(clips, catalog, np.sort(order[n_test:]), np.sort(order[:n_test]))


__all__ = ["MusicCapsData", "aspect_queries", "load_musiccaps_data"]
