"""Deterministic fakes that honour the component contracts."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from ..encoders.base import Encoder, EncoderInfo, Modality
from ..samplers.base import Sampler, SamplerInfo, SeedSet
from ..vectors import as_matrix, l2_normalize

_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEncoder(Encoder):
    """Bag-of-words hashing encoder: each lowercase token adds a fixed pseudo-random unit vector.

    Texts sharing words get similar vectors, texts without common words are nearly orthogonal —
    enough structure for end-to-end tests, no weights, identical across processes.
    """

    id = "hashing"
    modalities = frozenset({"text"})
    description = "deterministic token-hashing text encoder (testing)"

    def __init__(self, dim: int = 64) -> None:
        self._dim = int(dim)

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(self.id, self.modalities, self._dim, "cosine", True, self.description)

    def _token_vector(self, token: str) -> np.ndarray:
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        return rng.standard_normal(self._dim).astype(np.float32)

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        out = np.zeros((len(items), self._dim), np.float32)
        for row, text in enumerate(items):
            for token in _TOKEN.findall(str(text).lower()):
                out[row] += self._token_vector(token)
        return l2_normalize(out)


class FixedSeedsSampler(Sampler):
    """Returns the given seeds (and weights) whatever the query — for controlling tests.

    Args:
        seeds: ``(n, d)`` vectors; a request for ``k < n`` seeds returns the first ``k``.
        weights: optional per-seed weights.
    """

    id = "fixed"
    description = "returns preset seed vectors (testing)"

    def __init__(self, seeds: Any, weights: Any = None) -> None:
        self._seeds = as_matrix(seeds, name="fixed seeds")
        self._weights = None if weights is None else np.asarray(weights, np.float32)

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(self.id, target_dim=self._seeds.shape[1], deterministic=True,
                           max_seeds=len(self._seeds), description=self.description)

    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        k = min(n, len(self._seeds))
        weights = None if self._weights is None else self._weights[:k]
        return SeedSet(vectors=self._seeds[:k], weights=weights)
