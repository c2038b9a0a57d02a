"""Pseudo-labelling of a catalog without paired text (Noise2Music §3.5).

A joint text–target model (e.g. CLAP for audio) scores every catalog item against a caption
vocabulary. For each item the ``top_k`` best captions are kept, then ``per_item`` of them are
sampled without replacement with probability inversely proportional to the caption's frequency
(how many items have it in their top-K list), which favours specific captions over generic ones
that match everything. The chosen captions, embedded with the *query* encoder, become the
queries of training pairs whose targets are the catalog vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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

    def pairs(self, catalog: Any, vocabulary_queries: Any, *, item_ids: Sequence[Any] | None = None) -> PairSet:
        """Training pairs (query = embedding of a chosen caption, target = catalog vector).

        ``vocabulary_queries`` is the ``(n_vocab, d_q)`` embedding of the vocabulary in the query
        encoder's space (may differ from the joint space used for scoring). Groups are the items'
        ``item_ids`` (as strings) when given, else their indices, so all pairs of one item stay
        on one side of a validation split.
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
        groups = items
        if item_ids is not None:
            if len(item_ids) != len(targets):
                raise TrainingDataError(f"got {len(item_ids)} item ids for {len(targets)} catalog vectors")
            groups = np.asarray([str(item) for item in item_ids])[items]
        return PairSet(queries[self.captions.reshape(-1)], targets[items], groups=groups)


def pseudo_label(
    catalog_joint: Any,
    vocabulary_joint: Any,
    *,
    top_k: int = 10,
    per_item: int = 3,
    seed: int = 0,
    batch: int = 4096,
    progress: bool = False,
) -> PseudoLabels:
    """Choose ``per_item`` captions for every catalog item (Noise2Music §3.5, K=10, K'=3).

    Args:
        catalog_joint: ``(n_items, d)`` catalog items embedded in the joint text–target space.
        vocabulary_joint: ``(n_vocab, d)`` captions embedded in the same joint space.
        top_k: captions kept per item by cosine score (K).
        per_item: captions sampled among those, without replacement, ``p ∝ 1 / frequency`` (K').
        seed: seed of the sampling.
        batch: items scored per matrix product (bounds memory to ``batch × n_vocab`` scores).
        progress: show a progress bar over the items.
    """
    items = l2_normalize(as_matrix(catalog_joint, name="catalog embeddings"))
    vocab = l2_normalize(as_matrix(vocabulary_joint, name="vocabulary embeddings", dim=items.shape[1]))
    _check_counts(top_k, per_item, len(vocab))
    from tqdm.auto import tqdm

    best = np.empty((len(items), top_k), np.int64)
    starts = range(0, len(items), max(1, int(batch)))
    for start in tqdm(starts, desc="scoring captions", unit="batch", disable=not progress, leave=False):
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


def _check_counts(top_k: Any, per_item: Any, n_vocab: int) -> None:
    for name, value in (("top_k", top_k), ("per_item", per_item)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TrainingDataError(f"{name} must be an integer, got {value!r}")
    if not 1 <= per_item <= top_k:
        raise TrainingDataError(f"need 1 <= per_item <= top_k, got per_item={per_item}, top_k={top_k}")
    if top_k > n_vocab:
        raise TrainingDataError(f"top_k={top_k} exceeds the vocabulary size {n_vocab}; use a larger vocabulary")


def read_vocabulary(path: str | Path) -> list[str]:
    """Captions from a UTF-8 text file, one per line; blank lines and repeats are dropped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TrainingDataError(f"vocabulary file {str(path)!r} does not exist; give a text file with one caption per line") from None
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"vocabulary file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    captions = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not captions:
        raise TrainingDataError(f"vocabulary file {str(path)!r} holds no caption; write one caption per line")
    return captions


@dataclass(frozen=True)
class CollectionLabels:
    """What :func:`pseudo_label_collection` returns.

    Attributes:
        pairs: the training pairs, grouped by point id.
        labels: the chosen and top-K caption indices (:class:`PseudoLabels`).
        ids: the labelled points' ids, in row order of ``labels``.
        vocabulary: the caption vocabulary the indices refer to.
    """

    pairs: PairSet
    labels: PseudoLabels
    ids: list[Any]
    vocabulary: list[str]

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready record per point: its id, chosen captions and top-K captions."""
        return [
            {
                "id": point_id,
                "captions": [self.vocabulary[i] for i in chosen],
                "top_k": [self.vocabulary[i] for i in best],
            }
            for point_id, chosen, best in zip(self.ids, self.labels.captions.tolist(), self.labels.top_k.tolist())
        ]


def _encode_texts(encoder: Any, texts: list[str], *, progress: bool, chunk: int = 256) -> np.ndarray:
    from tqdm.auto import tqdm

    starts = range(0, len(texts), chunk)
    desc = f"embedding {len(texts)} captions with {encoder.info.id}"
    parts = [encoder.encode(texts[start : start + chunk], modality="text")
             for start in tqdm(starts, desc=desc, unit="chunk", disable=not progress, leave=False)]
    return np.concatenate(parts, axis=0)


def _check_vector_names(client: Any, collection: str, names: Sequence[str | None]) -> None:
    vectors = client.get_collection(collection).config.params.vectors
    available = sorted(vectors) if isinstance(vectors, dict) else [None]
    for name in names:
        if name not in available:
            have = "one unnamed vector" if available == [None] else "vectors " + ", ".join(map(repr, available))
            wanted = "no unnamed vector" if name is None else f"no vector named {name!r}"
            raise TrainingDataError(
                f"collection {collection!r} has {have}, so it has {wanted}; name one of its vectors"
            )


def _scroll_vectors(
    client: Any,
    collection: str,
    names: Sequence[str | None],
    *,
    scroll_filter: Any = None,
    page_size: int = 512,
    progress: bool = False,
) -> tuple[list[Any], list[np.ndarray]]:
    """Every point's id and the ``(n, d)`` matrix of each vector in ``names`` (``None``: unnamed)."""
    from tqdm.auto import tqdm

    from ..locking import thread_safe_client

    client = thread_safe_client(client)  # local mode: serialise with other threads sharing it
    if not client.collection_exists(collection):
        raise TrainingDataError(f"Qdrant collection {collection!r} does not exist")
    _check_vector_names(client, collection, names)
    total = client.count(collection, count_filter=scroll_filter, exact=True).count
    unique = list(dict.fromkeys(names))
    with_vectors: Any = True if None in unique else list(unique)
    ids: list[Any] = []
    rows: dict[str | None, list[np.ndarray]] = {name: [] for name in unique}
    offset = None
    with tqdm(total=total, desc=f"reading {collection}", unit="pt", disable=not progress, leave=False) as bar:
        while True:
            points, offset = client.scroll(collection, scroll_filter=scroll_filter, limit=page_size, offset=offset,
                                           with_payload=False, with_vectors=with_vectors)
            for point in points:
                ids.append(point.id)
                vectors = point.vector if isinstance(point.vector, dict) else {None: point.vector}
                for name in unique:
                    if vectors.get(name) is None:
                        raise TrainingDataError(
                            f"point {point.id} of collection {collection!r} has no {name!r} vector; fill it "
                            "(e.g. with a backfill migration) or exclude such points with a filter"
                        )
                    rows[name].append(np.asarray(vectors[name], np.float32))
            bar.update(len(points))
            if offset is None:
                break
    if not ids:
        raise TrainingDataError(f"collection {collection!r} has no points to label")
    return ids, [np.stack(rows[name]) for name in names]


def pseudo_label_collection(
    client: Any,
    collection: str,
    vocabulary: Sequence[str],
    *,
    joint_encoder: Any,
    joint_vector: str | None = None,
    query_encoder: Any = None,
    target_vector: str | None = None,
    scroll_filter: Any = None,
    top_k: int = 10,
    per_item: int = 3,
    seed: int = 0,
    progress: bool = False,
) -> CollectionLabels:
    """Pseudo-label the points of a Qdrant collection and return training pairs (Noise2Music §3.5).

    Args:
        client: a ``QdrantClient``.
        vocabulary: the candidate captions.
        joint_encoder: an :class:`~genseek.encoders.base.Encoder` whose *text* embeddings share a
            space with ``joint_vector`` (e.g. CLAP text for CLAP audio vectors).
        joint_vector: the named vector scored against the captions (``None``: the unnamed one).
        query_encoder: the encoder that embeds the chosen captions as the prior's condition;
            defaults to ``joint_encoder``.
        target_vector: the named vector the prior learns to generate; ``None`` (the default)
            means ``joint_vector``.
        scroll_filter: optional ``models.Filter`` restricting the labelled points.
        top_k, per_item, seed: see :func:`pseudo_label`.
        progress: show progress bars.
    """
    vocabulary = list(vocabulary)
    _check_counts(top_k, per_item, len(vocabulary))  # before minutes of reading and encoding
    if target_vector is None:
        target_vector = joint_vector
    names = [joint_vector] if target_vector == joint_vector else [joint_vector, target_vector]
    ids, matrices = _scroll_vectors(client, collection, names, scroll_filter=scroll_filter, progress=progress)
    joint, targets = matrices[0], matrices[-1]
    vocabulary_joint = _encode_texts(joint_encoder, vocabulary, progress=progress)
    if vocabulary_joint.shape[1] != joint.shape[1]:
        raise TrainingDataError(
            f"the joint encoder gives {vocabulary_joint.shape[1]}-d text vectors but vector "
            f"{joint_vector!r} of {collection!r} is {joint.shape[1]}-d; pick the encoder that made that vector"
        )
    if query_encoder is None or query_encoder is joint_encoder:
        vocabulary_queries = vocabulary_joint
    else:
        vocabulary_queries = _encode_texts(query_encoder, vocabulary, progress=progress)
    labels = pseudo_label(joint, vocabulary_joint, top_k=top_k, per_item=per_item, seed=seed, progress=progress)
    return CollectionLabels(labels.pairs(targets, vocabulary_queries, item_ids=ids), labels, ids, vocabulary)


__all__ = ["CollectionLabels", "PseudoLabels", "pseudo_label", "pseudo_label_collection", "read_vocabulary"]
