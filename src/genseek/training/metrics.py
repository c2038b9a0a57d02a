"""Evaluation metrics of generated seeds and of retrieval (Diff4Steer appendix B).

All functions take numpy arrays, validate them, and return plain Python floats (or arrays of
per-query values where stated), so results can go straight into JSON.

* :func:`recall_at_k` — B.6: relevant items in the top K / total relevant items, averaged over queries;
* :func:`first_relevant_ranks` / :func:`median_rank` — rank (1-based) of the first relevant item;
* :func:`triplet_accuracy` — B.4: ``1[<z_pred, z+> >= <z_pred, z->]`` averaged;
* :func:`miscs` — B.2: mean pairwise cosine of one query's seeds (1.0 = no diversity);
* :func:`frechet_distance` — B.1 (FMD): ``|mu_G - mu_R|^2 + tr(S_G + S_R - 2 (S_G S_R)^1/2)``;
* :func:`vendi_score` — exp of the Shannon entropy of the eigenvalues of ``K / n`` (cosine kernel);
* :func:`label_entropy` — B.5 (H@K): ``-sum_l p_l log p_l`` with ``p_l = n_l / K`` (natural log).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from ..vectors import as_matrix, l2_normalize


def _ranked_lists(ranked: Any, name: str = "ranked ids") -> list[list[Any]]:
    lists = [list(row) for row in ranked]
    if not lists:
        raise InvalidRequestError(f"{name} is empty: give one ranked list per query")
    return lists


def recall_at_k(ranked: Sequence[Sequence[Any]], relevant: Sequence[Iterable[Any]], k: int) -> float:
    """Mean over queries of ``|top-k ∩ relevant| / |relevant|`` (Diff4Steer B.6).

    Args:
        ranked: one ranked list of item ids per query (best first).
        relevant: one collection of relevant ids per query; queries with no relevant item are
            rejected (their recall is undefined).
        k: cut-off, ``>= 1``.
    """
    if k < 1:
        raise InvalidRequestError(f"recall cut-off k must be >= 1, got {k}")
    lists = _ranked_lists(ranked)
    if len(lists) != len(relevant):
        raise InvalidRequestError(f"got {len(lists)} ranked lists for {len(relevant)} relevance sets")
    values = []
    for index, (row, rel) in enumerate(zip(lists, relevant)):
        rel_set = set(rel)
        if not rel_set:
            raise InvalidRequestError(f"query {index} has no relevant items; drop it before computing recall")
        values.append(len(rel_set.intersection(row[:k])) / len(rel_set))
    return float(np.mean(values))


def first_relevant_ranks(ranked: Sequence[Sequence[Any]], relevant: Sequence[Iterable[Any]]) -> np.ndarray:
    """1-based rank of the first relevant id in each ranked list; ``inf`` when none was retrieved."""
    lists = _ranked_lists(ranked)
    if len(lists) != len(relevant):
        raise InvalidRequestError(f"got {len(lists)} ranked lists for {len(relevant)} relevance sets")
    out = np.full(len(lists), np.inf)
    for index, (row, rel) in enumerate(zip(lists, relevant)):
        rel_set = set(rel)
        for position, item in enumerate(row):
            if item in rel_set:
                out[index] = position + 1
                break
    return out


def median_rank(ranked: Sequence[Sequence[Any]], relevant: Sequence[Iterable[Any]]) -> float:
    """Median over queries of the first relevant rank (MedR; ``inf`` if most queries miss)."""
    return float(np.median(first_relevant_ranks(ranked, relevant)))


def triplet_accuracy(pred: Any, positive: Any, negative: Any) -> float:
    """Fraction of triplets with ``<pred, positive> >= <pred, negative>`` (Diff4Steer B.4).

    ``pred``, ``positive`` and ``negative`` are ``(n, d)`` matrices, one triplet per row.
    """
    pred_m = as_matrix(pred, name="predictions")
    pos_m = as_matrix(positive, name="positives", dim=pred_m.shape[1])
    neg_m = as_matrix(negative, name="negatives", dim=pred_m.shape[1])
    if not len(pred_m) == len(pos_m) == len(neg_m):
        raise InvalidRequestError(
            f"triplet accuracy needs as many predictions, positives and negatives; got "
            f"{len(pred_m)}, {len(pos_m)}, {len(neg_m)}"
        )
    pos = np.einsum("nd,nd->n", pred_m.astype(np.float64), pos_m)
    neg = np.einsum("nd,nd->n", pred_m.astype(np.float64), neg_m)
    return float(np.mean(pos >= neg))


def miscs(seeds: Any) -> float:
    """Mean intra-sample cosine similarity of one query's seeds (Diff4Steer B.2).

    Seeds are rescaled to unit norm; the mean runs over the ``n(n-1)/2`` distinct pairs.
    Needs at least two seeds. 1.0 means all seeds point the same way (no diversity).
    """
    matrix = as_matrix(seeds, name="seeds").astype(np.float64)
    n = len(matrix)
    if n < 2:
        raise InvalidRequestError("MISCS needs at least 2 seeds per query")
    unit = l2_normalize(matrix)
    gram = unit @ unit.T
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(generated: Any, real: Any) -> float:
    """Fréchet distance between two embedding sets (FMD, Diff4Steer B.1).

    ``tr((S_G S_R)^{1/2})`` is computed as ``tr((S_R^{1/2} S_G S_R^{1/2})^{1/2})``, which is
    symmetric PSD, so the result is real and stable. Both sets need at least 2 rows.
    """
    gen = as_matrix(generated, name="generated embeddings").astype(np.float64)
    ref = as_matrix(real, name="real embeddings", dim=gen.shape[1]).astype(np.float64)
    if len(gen) < 2 or len(ref) < 2:
        raise InvalidRequestError("Fréchet distance needs at least 2 generated and 2 real embeddings")
    mu_g, mu_r = gen.mean(0), ref.mean(0)
    cov_g = np.cov(gen, rowvar=False).reshape(gen.shape[1], gen.shape[1])
    cov_r = np.cov(ref, rowvar=False).reshape(ref.shape[1], ref.shape[1])
    root_r = _sqrtm_psd(cov_r)
    cross = np.linalg.eigvalsh((root_r @ cov_g @ root_r + (root_r @ cov_g @ root_r).T) / 2)
    trace_sqrt = float(np.sum(np.sqrt(np.clip(cross, 0, None))))
    value = float(np.sum((mu_g - mu_r) ** 2) + np.trace(cov_g) + np.trace(cov_r) - 2 * trace_sqrt)
    return max(value, 0.0)


def vendi_score(vectors: Any) -> float:
    """Vendi score (Friedman & Dieng 2023) with the cosine kernel: ``exp(-sum λ_i log λ_i)``.

    ``λ_i`` are the eigenvalues of ``K / n`` with ``K_ij = cos(x_i, x_j)``. It is the effective
    number of distinct items: 1 for identical vectors, ``n`` for mutually orthogonal ones.
    """
    matrix = l2_normalize(as_matrix(vectors, name="vectors").astype(np.float64))
    n = len(matrix)
    # eigenvalues of X X^T / n equal those of X^T X / n (plus zeros): use the smaller side
    small = matrix.T @ matrix / n if matrix.shape[1] < n else matrix @ matrix.T / n
    values = np.clip(np.linalg.eigvalsh(small), 0, None)
    values = values[values > 1e-12]
    return float(np.exp(-np.sum(values * np.log(values))))


def label_entropy(labels: Sequence[Any]) -> float:
    """Entropy H@K of the labels of K retrieved items (Diff4Steer B.5), natural log.

    ``labels`` are the labels of the top-K results (K = ``len(labels)``); 0 when all share one label.
    """
    labels = list(labels)
    if not labels:
        raise InvalidRequestError("label entropy needs at least one label")
    counts = np.array(list(Counter(labels).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)) + 0.0)


__all__ = [
    "first_relevant_ranks",
    "frechet_distance",
    "label_entropy",
    "median_rank",
    "miscs",
    "recall_at_k",
    "triplet_accuracy",
    "vendi_score",
]
