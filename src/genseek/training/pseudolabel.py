"""Pseudo-labelling of a catalog without paired text (Noise2Music §3.5).

A joint text–target model (e.g. CLAP for audio) scores every catalog item against a caption
vocabulary. For each item the ``top_k`` best captions are kept, then ``per_item`` of them are
sampled without replacement with probability inversely proportional to the caption's frequency
(how many items have it in their top-K list), which favours specific captions over generic ones
that match everything. The chosen captions, embedded with the *query* encoder, become the
queries of training pairs whose targets are the catalog vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..vectors import as_matrix, l2_normalize
from .pairs import PairSet, TrainingDataError


@dataclass(frozen=True)
class PseudoLabels:
    """The result of :func:`pseudo_label`.

    Attributes:
        captions: ``(n_items, per_item)`` vocabulary indices chosen for each item.
        top_k: ``(n_items, top_k)`` vocabulary indices of the best-scoring captions, best first.
        frequency: ``(n_vocab,)`` how many items have each caption in their top-K list.
    """

    captions: np.ndarray
    top_k: np.ndarray
    frequency: np.ndarray

    def pairs(self, catalog: Any, vocabulary_queries: Any) -> PairSet:
        """Training pairs (query = embedding of a chosen caption, target = catalog vector).

        ``vocabulary_queries`` is the ``(n_vocab, d_q)`` embedding of the vocabulary in the query
        encoder's space (may differ from the joint space used for scoring). Groups are item indices.
        """
        targets = as_matrix(catalog, name="catalog vectors")
        queries = as_matrix(vocabulary_queries, name="vocabulary query embeddings")
        if len(queries) != len(self.frequency):
            raise TrainingDataError(
                f"vocabulary query embeddings have {len(queries)} rows for a {len(self.frequency)}-caption vocabulary"
            )
        if len(targets) != len(self.captions):
            raise TrainingDataError(f"got {len(targets)} catalog vectors for {len(self.captions)} labelled items")
        items = np.repeat(np.arange(len(targets)), self.captions.shape[1])
        return PairSet(queries[self.captions.reshape(-1)], targets[items], groups=items)


def pseudo_label(
    catalog_joint: Any,
    vocabulary_joint: Any,
    *,
    top_k: int = 10,
    per_item: int = 3,
    seed: int = 0,
    batch: int = 4096,
) -> PseudoLabels:
    """Choose ``per_item`` captions for every catalog item (Noise2Music §3.5, K=10, K'=3).

    Args:
        catalog_joint: ``(n_items, d)`` catalog items embedded in the joint text–target space.
        vocabulary_joint: ``(n_vocab, d)`` captions embedded in the same joint space.
        top_k: captions kept per item by cosine score (K).
        per_item: captions sampled among those, without replacement, ``p ∝ 1 / frequency`` (K').
        seed: seed of the sampling.
    """
    items = l2_normalize(as_matrix(catalog_joint, name="catalog embeddings"))
    vocab = l2_normalize(as_matrix(vocabulary_joint, name="vocabulary embeddings", dim=items.shape[1]))
    if not 1 <= per_item <= top_k:
        raise TrainingDataError(f"need 1 <= per_item <= top_k, got per_item={per_item}, top_k={top_k}")
    if top_k > len(vocab):
        raise TrainingDataError(f"top_k={top_k} exceeds the vocabulary size {len(vocab)}; use a larger vocabulary")
    best = np.empty((len(items), top_k), np.int64)
    for start in range(0, len(items), batch):
        scores = items[start : start + batch] @ vocab.T
        part = np.argpartition(-scores, top_k - 1, axis=1)[:, :top_k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        best[start : start + batch] = np.take_along_axis(part, order, axis=1)
    frequency = np.bincount(best.reshape(-1), minlength=len(vocab))
    rng = np.random.default_rng(seed)
    chosen = np.empty((len(items), per_item), np.int64)
    for row, candidates in enumerate(best):
        weights = 1.0 / frequency[candidates]
        chosen[row] = rng.choice(candidates, size=per_item, replace=False, p=weights / weights.sum())
    return PseudoLabels(captions=chosen, top_k=best, frequency=frequency)


__all__ = ["PseudoLabels", "pseudo_label"]
