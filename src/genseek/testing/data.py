"""Structured synthetic data for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..vectors import l2_normalize


def clustered_vectors(
    n: int, dim: int, *, clusters: int = 32, intrinsic_dim: int = 16, noise: float = 0.15, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors drawn around ``clusters`` centres inside a random ``intrinsic_dim`` subspace.

    Returns ``(vectors (n, dim) float32, cluster labels (n,) int)``. Low intrinsic dimension and
    clustering make nearest-neighbour structure look like real embeddings (i.i.d. random
    high-dimensional vectors do not: their distances concentrate, so every point is about as
    near as every other).
    """
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((dim, intrinsic_dim)))[0].T  # (k, dim), orthonormal rows
    centres = rng.standard_normal((clusters, intrinsic_dim))
    labels = rng.integers(0, clusters, size=n)
    latent = centres[labels] + noise * np.sqrt(intrinsic_dim) * rng.standard_normal((n, intrinsic_dim)) / np.sqrt(intrinsic_dim)
    vectors = latent @ basis + 0.02 * rng.standard_normal((n, dim))
    return l2_normalize(vectors.astype(np.float32)), labels.astype(np.int64)


def make_collection(
    client: Any,
    name: str,
    vectors: np.ndarray,
    *,
    vector_name: str | None = "dense",
    payload: Callable[[int], dict] | None = None,
    distance: str = "Cosine",
    batch: int = 2048,
) -> None:
    """Create ``name`` in ``client`` (qdrant-client) and upload ``vectors`` with ids ``0..n-1``."""
    from qdrant_client.http import models

    params = models.VectorParams(size=int(vectors.shape[1]), distance=models.Distance(distance))
    client.create_collection(name, vectors_config={vector_name: params} if vector_name else params)
    for start in range(0, len(vectors), batch):
        stop = min(start + batch, len(vectors))
        client.upload_collection(
            name,
            vectors={vector_name: vectors[start:stop]} if vector_name else vectors[start:stop],
            payload=[payload(i) if payload else {} for i in range(start, stop)],
            ids=list(range(start, stop)),
        )
