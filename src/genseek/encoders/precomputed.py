"""The ``precomputed`` encoder: vectors the caller already computed pass through unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..vectors import as_matrix, l2_normalize
from .base import Encoder, EncoderInfo, Modality


class PrecomputedEncoder(Encoder):
    """Pass-through encoder for queries that are already vectors.

    Args:
        dim: expected vector size (``None`` accepts any size; the collection check still applies).
        normalize: L2-normalise vectors on the way through (for cosine/dot collections).
    """

    id = "precomputed"
    modalities = frozenset({"vector"})
    description = "vectors computed elsewhere, passed through (optionally L2-normalised)"

    def __init__(self, dim: int | None = None, normalize: bool = False) -> None:
        if dim is not None and (not isinstance(dim, int) or dim <= 0):
            raise ConfigError(f"encoder 'precomputed': dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self._normalize = bool(normalize)

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(
            id=self.id,
            modalities=self.modalities,
            dim=self._dim,
            distance="cosine",
            normalized=self._normalize,
            description=self.description,
        )

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        matrix = as_matrix(np.stack([np.asarray(item, dtype=np.float32) for item in items]),
                           name="precomputed vectors", dim=self._dim)
        return l2_normalize(matrix) if self._normalize else matrix
