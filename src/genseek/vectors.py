"""Validation and conversion helpers for vectors crossing genseek's public boundary.

Every array a caller hands to genseek passes through these functions, so that non-numeric,
complex, NaN/inf, empty, zero-length and wrongly shaped input is reported once, clearly, and
before anything reaches Qdrant. Nothing is converted silently: text that looks like numbers,
booleans and complex values (whose imaginary part a float cast would drop) are refused.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import DimensionMismatchError, InvalidRequestError

#: numpy dtype kinds accepted as vector values: floats, signed and unsigned integers.
_NUMERIC_KINDS = frozenset("fiu")
#: Distances under which a zero vector has no direction, so every point scores the same.
ANGULAR_DISTANCES = frozenset({"cosine", "dot"})


def _numeric_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a real-valued numpy array (any shape), or :class:`InvalidRequestError`."""
    if value is None:
        raise InvalidRequestError(f"{name} must be numeric vectors, got None")
    if isinstance(value, (str, bytes, Mapping, set, frozenset)):
        raise InvalidRequestError(
            f"{name} must be numeric vectors (a list or array of numbers), got {type(value).__name__}"
        )
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:  # ragged nesting, objects numpy cannot hold
        raise InvalidRequestError(
            f"{name} must be numeric vectors of one shape, got {type(value).__name__} ({exc})"
        ) from exc
    kind = array.dtype.kind
    if kind == "c":
        raise InvalidRequestError(
            f"{name} has complex values; pass real numbers (genseek would otherwise drop the imaginary part)"
        )
    if kind == "b":
        raise InvalidRequestError(f"{name} has boolean values; pass numbers (e.g. 1.0 / 0.0)")
    if kind == "O":  # e.g. a list mixing numbers with None, dicts or other objects
        for item in array.reshape(-1):
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
                raise InvalidRequestError(
                    f"{name} must contain only numbers; found {type(item).__name__} value {item!r}"
                )
        array = array.astype(np.float64)
    elif kind not in _NUMERIC_KINDS:
        raise InvalidRequestError(
            f"{name} must contain numbers, got values of numpy dtype {array.dtype} "
            f"(e.g. text such as {array.reshape(-1)[:1].tolist()!r}); convert it to floats first"
        )
    return array


def as_matrix(value: Any, *, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite ``float32`` matrix of shape ``(n, d)``.

    A 1-d input is treated as one row. Raises :class:`InvalidRequestError` for empty,
    non-numeric (text, mappings, booleans, objects), complex, NaN/inf (including values too large
    for float32) or >2-d input, and :class:`DimensionMismatchError` when ``dim`` is given and the
    row size differs.
    """
    array = _numeric_array(value, name)
    shape = array.shape
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidRequestError(f"{name} must be a vector or a (n, d) matrix; got shape {shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidRequestError(f"{name} is empty (shape {shape}); pass at least one value per vector")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.asarray(array, dtype=np.float32)
    if not np.all(np.isfinite(converted)):
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            bad = int(np.count_nonzero(~np.isfinite(array)))
            raise InvalidRequestError(f"{name} contains {bad} NaN or infinite value(s); clean the input first")
        raise InvalidRequestError(f"{name} has values beyond the float32 range (|x| > 3.4e38); rescale it")
    if dim is not None and converted.shape[1] != dim:
        raise DimensionMismatchError(f"{name} has dimension {converted.shape[1]}, expected {dim}")
    return np.ascontiguousarray(converted)


def as_vector(value: Any, *, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``value`` as one finite ``float32`` vector of shape ``(d,)`` (see :func:`as_matrix`).

    A ``(1, d)`` matrix is accepted as one vector; a scalar or an ``(n, d)`` matrix with ``n > 1``
    is refused.
    """
    array = _numeric_array(value, name)
    if array.ndim == 0:
        raise InvalidRequestError(f"{name} must be a vector (a list or 1-d array of numbers), got the scalar {value!r}")
    if array.ndim > 1 and array.shape[0] != 1:
        raise InvalidRequestError(f"{name} must be a single vector; got shape {array.shape}")
    return as_matrix(array, name=name, dim=dim)[0]


def check_direction(vector: np.ndarray, *, name: str, distance: str) -> np.ndarray:
    """Refuse an all-zero ``vector`` under an angular ``distance`` (``cosine``, ``dot``).

    A zero vector has no direction: every point scores 0 and the "nearest" points are arbitrary.
    Under ``euclid`` / ``manhattan`` the origin is a point like any other and is accepted.
    Returns ``vector`` unchanged.
    """
    if distance in ANGULAR_DISTANCES and not np.any(vector):
        raise InvalidRequestError(
            f"{name} is all zeros: under {distance} distance it has no direction, so every point would score 0 "
            "and the results would be arbitrary; pass a non-zero vector (for text, a query with words in it)"
        )
    return vector


def l2_normalize(matrix: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, eps)


__all__ = ["ANGULAR_DISTANCES", "as_matrix", "as_vector", "check_direction", "l2_normalize"]
