"""MusicCaps training/evaluation data with real encoders (GD-Retriever §4.1.2 setting).

* catalog items = the 5,521 expert captions embedded with all-MiniLM-L6-v2 (the catalog space):
  the shipped float16-rounded embeddings (:func:`~genseek.training.musiccaps_embeddings.catalog_embeddings`),
  the same catalog ``genseek demo`` searches;
* queries = random subsets of a clip's aspect list ("rock, male vocals, energetic") embedded with
  multilingual-e5-small — a query encoder never trained jointly with the catalog space;
* split **by clip**: a held-out clip's caption is never a training target.

Query embeddings are cached on disk (:mod:`genseek.training.textembed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..musiccaps import Clip, load_clips
from .musiccaps_embeddings import catalog_embeddings
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
        catalog: ``(n_clips, 384)`` MiniLM caption embeddings (float32 unit vectors of the
            float16-rounded shipped catalog).
        train_clips / test_clips: disjoint clip indices.
    """

    clips: list[Clip]
    catalog: np.ndarray
    train_clips: np.ndarray
    test_clips: np.ndarray

    def train_pairs(self, *, per_clip: int = 4, seed: int = 1, progress: bool = True, query_encoder: str = "e5-small",
                    singles: int = 0) -> PairSet:
        """Pairs (query of an aspect subset, MiniLM caption vector) over the training clips.

        ``query_encoder``: ``"e5-small"`` (the non-joint setting) or ``"minilm"`` (the catalog's own
        encoder: the joint setting). ``singles`` adds that many single-aspect queries per clip
        (short, label-like queries such as "reggae").
        """
        texts, owners = aspect_queries(self.clips, self.train_clips, per_clip=per_clip, seed=seed)
        if singles:
            more, more_owners = aspect_queries(self.clips, self.train_clips, per_clip=singles, seed=seed + 1000,
                                               min_aspects=1, max_aspects=1)
            texts, owners = texts + more, np.concatenate([owners, more_owners])
        queries = embed_texts(query_encoder, texts, progress=progress)
        return PairSet(queries, self.catalog[owners], groups=owners)

    def test_queries(self, *, per_clip: int = 1, seed: int = 2, progress: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Held-out queries: ``(texts, e5 query vectors, owner clip ids)`` (one relevant item: the owner)."""
        texts, owners = aspect_queries(self.clips, self.test_clips, per_clip=per_clip, seed=seed)
        return texts, embed_texts("e5-small", texts, progress=progress), owners


def load_musiccaps_data(*, test_fraction: float = 0.2, seed: int = 0, limit: int | None = None,
                        progress: bool = True) -> MusicCapsData:
    """Load the bundled MusicCaps CSV and its shipped MiniLM caption embeddings, and split by clip.

    The catalog is :func:`~genseek.training.musiccaps_embeddings.catalog_embeddings` (the first
    ``limit`` clips when given).
    """
    clips = load_clips(limit=limit)
    catalog = catalog_embeddings(limit=limit, progress=progress)
    order = np.random.default_rng(seed).permutation(len(clips))
    n_test = max(1, int(round(test_fraction * len(clips))))
    return MusicCapsData(clips, catalog, np.sort(order[n_test:]), np.sort(order[:n_test]))


__all__ = ["MusicCapsData", "aspect_queries", "load_musiccaps_data"]
