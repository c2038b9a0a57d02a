"""A synthetic one-to-many world where relevance is known: the "ambiguous catalog".

Each *concept* ``c`` has a latent ``u_c`` (``latent_dim``) and ``modes`` readings. Reading ``j``
of concept ``c`` is a mode of the target space, centred at
``normalize(B · (γ·e_j + A_j·u_c))`` — a shared "genre" direction ``e_j`` plus a reading-specific
linear map ``A_j`` of the concept — so one query concept maps to several separated modes, and
held-out concepts map to modes by the same (learnable) rule. Catalog items are drawn around the
modes and carry the label ``j`` (the genre, for H@K) and the concept id (for relevance).

Query vectors live in a different space (``query_dim``): ``normalize(P·u_c + noise)``, a
"non-jointly-trained encoder" of the concept. Relevant items of a query = all items of its
concept. The mean of a concept's modes lies between them — where a regression prior lands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vectors import l2_normalize
from .pairs import PairSet


@dataclass(frozen=True)
class AmbiguousWorld:
    """A generated world (see module docstring). Arrays are float32 unit vectors.

    Attributes:
        items: ``(n_items, target_dim)`` catalog vectors.
        item_concept: ``(n_items,)`` concept of each item.
        item_label: ``(n_items,)`` reading / genre index ``j`` of each item.
        mode_centres: ``(n_concepts, modes, target_dim)``.
        concept_queries: ``(n_concepts, query_dim)`` clean query vector of each concept.
        train_concepts / test_concepts: disjoint concept ids (held-out queries are test concepts).
    """

    items: np.ndarray
    item_concept: np.ndarray
    item_label: np.ndarray
    mode_centres: np.ndarray
    concept_queries: np.ndarray
    train_concepts: np.ndarray
    test_concepts: np.ndarray
    query_noise: float
    seed: int

    def queries(self, concepts: np.ndarray, *, per_concept: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Noisy query vectors (paraphrases) for ``concepts``: ``(queries, concept id per query)``."""
        rng = np.random.default_rng(seed)
        ids = np.repeat(np.asarray(concepts), per_concept)
        clean = self.concept_queries[ids]
        noisy = clean + self.query_noise * rng.standard_normal(clean.shape) / np.sqrt(clean.shape[1])
        return l2_normalize(noisy.astype(np.float32)), ids

    def relevant(self, concept: int) -> np.ndarray:
        """Ids of the catalog items relevant to a query of ``concept``."""
        return np.flatnonzero(self.item_concept == concept)

    def training_pairs(self, *, per_item: int = 2, seed: int = 1) -> PairSet:
        """Pairs (noisy concept query, item) over the items of the training concepts.

        Groups are concept ids, so a validation split holds out whole concepts.
        """
        rows = np.flatnonzero(np.isin(self.item_concept, self.train_concepts))
        rows = np.repeat(rows, per_item)
        queries, _ = self.queries(self.item_concept[rows], seed=seed)
        return PairSet(queries, self.items[rows], groups=self.item_concept[rows], labels=self.item_label[rows])


def make_ambiguous_world(
    *,
    n_concepts: int = 600,
    modes: int = 4,
    items_per_mode: int = 20,
    target_dim: int = 64,
    query_dim: int = 48,
    latent_dim: int = 12,
    genre_strength: float = 1.5,
    item_spread: float = 0.25,
    query_noise: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> AmbiguousWorld:
    """Generate an :class:`AmbiguousWorld` (see the module docstring for the construction).

    ``item_spread`` is the item noise relative to the mode centre; ``genre_strength`` (γ) how far
    the genre directions separate the readings of one concept.
    """
    rng = np.random.default_rng(seed)
    inner = latent_dim + modes
    basis = np.linalg.qr(rng.standard_normal((target_dim, inner)))[0].T  # (inner, target_dim), orthonormal
    latents = rng.standard_normal((n_concepts, latent_dim))
    maps = rng.standard_normal((modes, latent_dim, latent_dim)) / np.sqrt(latent_dim)
    genre = np.zeros((modes, inner))
    genre[np.arange(modes), latent_dim + np.arange(modes)] = genre_strength
    inner_centres = np.einsum("jkl,cl->cjk", maps, latents)  # (c, j, latent)
    inner_centres = np.concatenate([inner_centres, np.zeros((n_concepts, modes, modes))], axis=-1) + genre[None]
    centres = l2_normalize(inner_centres @ basis)  # (c, j, target_dim)
    n_items = n_concepts * modes * items_per_mode
    item_concept = np.repeat(np.arange(n_concepts), modes * items_per_mode)
    item_label = np.tile(np.repeat(np.arange(modes), items_per_mode), n_concepts)
    noise = rng.standard_normal((n_items, inner)) @ basis * item_spread / np.sqrt(inner)
    noise += 0.01 * rng.standard_normal((n_items, target_dim))
    items = l2_normalize(centres[item_concept, item_label] + noise)
    projection = rng.standard_normal((latent_dim, query_dim))
    concept_queries = l2_normalize(latents @ projection)
    order = rng.permutation(n_concepts)
    n_test = max(1, int(round(test_fraction * n_concepts)))
    return AmbiguousWorld(
        items=items.astype(np.float32),
        item_concept=item_concept,
        item_label=item_label,
        mode_centres=centres.astype(np.float32),
        concept_queries=concept_queries.astype(np.float32),
        train_concepts=np.sort(order[n_test:]),
        test_concepts=np.sort(order[:n_test]),
        query_noise=float(query_noise),
        seed=seed,
    )


__all__ = ["AmbiguousWorld", "make_ambiguous_world"]
