"""Validation and conversion helpers for vectors crossing genseek's public boundary.

Every array a caller hands to genseek passes through these functions, so that NaN/inf values,
wrong shapes and wrong sizes are reported once, clearly, and before anything reaches Qdrant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DimensionMismatchError, InvalidRequestError


def as_matrix(value: Any, *, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite ``float32`` matrix of shape ``(n, d)``.

    A 1-d input is treated as one row. Raises :class:`InvalidRequestError` for empty,
    non-numeric, NaN/inf or >2-d input, and :class:`DimensionMismatchError` when ``dim``
    is given and the row size differs.
    """
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{name} must be numeric vectors; got {type(value).__name__}") from exc
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidRequestError(f"{name} must be a vector or a (n, d) matrix; got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidRequestError(f"{name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise InvalidRequestError(f"{name} contains {bad} NaN or infinite value(s); clean the input first")
    if dim is not None and array.shape[1] != dim:
        raise DimensionMismatchError(f"{name} has dimension {array.shape[1]}, expected {dim}")
    return np.ascontiguousarray(array)


def as_vector(value: Any, *, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``value`` as one finite ``float32`` vector of shape ``(d,)`` (see :func:`as_matrix`)."""
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if getattr(array, "ndim", 1) > 1 and array.shape[0] != 1:
        raise InvalidRequestError(f"{name} must be a single vector; got shape {array.shape}")
    return as_matrix(value, name=name, dim=dim)[0]


def l2_normalize(matrix: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, eps)


__all__ = ["as_matrix", "as_vector", "l2_normalize"]
