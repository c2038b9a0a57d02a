"""Post-hoc mean/covariance alignment of generated seeds to the catalog (GD-Retriever §4.1.1).

GD-Retriever shifts generated queries so that their mean and covariance match the target
collection ("correlation alignment", Sun et al. 2017, CORAL)::

    x_aligned = μ_t + (x − μ_s) · Σ_s^{-1/2} · Σ_t^{1/2}

with ``μ_s, Σ_s`` the statistics of the prior's generated seeds and ``μ_t, Σ_t`` those of the
catalog, both measured at training time and stored with the weights (``stats.align.*``).
Covariances in hundreds of dimensions estimated from finite samples are ill-conditioned, so
both are shrunk toward a scaled identity first (Ledoit–Wolf style, fixed intensity ``λ``)::

    Σ ← (1 − λ)·Σ + λ·(tr Σ / d)·I

``λ = 1`` leaves only the mean shift and a global rescaling; ``λ = 0`` is plain CORAL.
:func:`estimate_stats` computes the statistics (used by the training package).
"""

from __future__ import annotations

import threading

import torch


def shrink(cov: torch.Tensor, shrinkage: float) -> torch.Tensor:
    """``(1 − λ)·Σ + λ·(tr Σ/d)·I``."""
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage must lie in [0, 1], got {shrinkage}")
    d = cov.shape[0]
    target = torch.eye(d, dtype=cov.dtype, device=cov.device) * (torch.trace(cov) / d)
    return (1.0 - shrinkage) * cov + shrinkage * target


def _sym_power(cov: torch.Tensor, power: float, eps: float = 1e-10) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(eps * max(float(values.max()), eps))
    return (vectors * values**power) @ vectors.T


def coral_transform(
    source_mean: torch.Tensor,
    source_cov: torch.Tensor,
    target_mean: torch.Tensor,
    target_cov: torch.Tensor,
    shrinkage: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(μ_s, A, μ_t)`` with ``A = Σ_s^{-1/2}·Σ_t^{1/2}`` (shrunk covariances, computed in float64)."""
    s = shrink(source_cov.double(), shrinkage)
    t = shrink(target_cov.double(), shrinkage)
    matrix = _sym_power(s, -0.5) @ _sym_power(t, 0.5)
    return source_mean.double(), matrix, target_mean.double()


def estimate_stats(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (unbiased) of ``(N, d)`` vectors, float32."""
    x = vectors.double()
    mean = x.mean(0)
    centered = x - mean
    cov = centered.T @ centered / max(1, x.shape[0] - 1)
    return mean.float(), cov.float()


class Aligner:
    """Applies the alignment with statistics from a weights file; caches one transform per λ (thread-safe)."""

    def __init__(self, stats: dict[str, torch.Tensor]) -> None:
        self.stats = {k: stats[f"align.{k}"] for k in ("source_mean", "source_cov", "target_mean", "target_cov")}
        self._cache: dict[float, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._lock = threading.Lock()

    def transform(self, shrinkage: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = round(float(shrinkage), 6)
        with self._lock:
            if key not in self._cache:
                s = self.stats
                self._cache[key] = coral_transform(s["source_mean"], s["source_cov"], s["target_mean"], s["target_cov"], key)
            return self._cache[key]

    def __call__(self, seeds: torch.Tensor, shrinkage: float) -> torch.Tensor:
        mu_s, matrix, mu_t = self.transform(shrinkage)
        x = seeds.double()
        return ((x - mu_s.to(x.device)) @ matrix.to(x.device) + mu_t.to(x.device)).to(seeds.dtype)


__all__ = ["Aligner", "coral_transform", "estimate_stats", "shrink"]
