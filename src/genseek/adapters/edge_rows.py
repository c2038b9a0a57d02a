"""Checks of the rows an :class:`~genseek.adapters.edge_catalog.EdgeCatalog` writes (internal).

Point ids become what Edge accepts (unsigned 64-bit integers or UUIDs) and payloads plain JSON
(numpy scalars and arrays converted, non-finite floats and integers outside signed 64 bits
refused), each error naming the row and the path inside the payload, so a whole batch can be
checked before its first write.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1


def as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)):
        raise ConfigError(f"{what} must be a sequence with one entry per point, got a {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise ConfigError(f"{what} must be a sequence with one entry per point, got {type(values).__name__}") from None


def edge_id(pid: Any, row: int | None = None) -> Any:
    """``pid`` as Edge takes it: an int in ``[0, 2**64)`` or a UUID string; else :class:`ConfigError`."""
    where = f"point id {pid!r}" + (f" (row {row})" if row is not None else "")
    if isinstance(pid, (int, np.integer)) and not isinstance(pid, (bool, np.bool_)):
        value = int(pid)
        if not 0 <= value <= U64_MAX:
            raise ConfigError(
                f"{where}: point ids must be unsigned integers (0 … 2**64-1) or UUID strings; nothing was written"
            )
        return value
    if isinstance(pid, uuid.UUID):
        return str(pid)
    if isinstance(pid, str):
        try:
            uuid.UUID(pid)
        except ValueError:
            raise ConfigError(
                f"{where}: point ids must be unsigned integers or UUID strings (e.g. str(uuid.uuid4())); "
                "nothing was written"
            ) from None
        return pid
    raise ConfigError(
        f"{where}: point ids must be unsigned integers or UUID strings, not {type(pid).__name__}; nothing was written"
    )


def json_object(payload: Mapping[Any, Any], path: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            raise ConfigError(f"{''.join(path)}: payload keys must be strings, got {key!r}")
        path.append(f"[{key!r}]")
        out[key] = json_value(value, path)
        path.pop()
    return out


def json_value(value: Any, path: list[str]) -> Any:
    """``value`` as plain JSON (see :meth:`EdgeCatalog.upsert`); ``path`` locates it in errors."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if not I64_MIN <= number <= I64_MAX:
            raise ConfigError(
                f"{''.join(path)}: the integer {number} is outside Qdrant's signed 64-bit range (-2**63 … 2**63-1), "
                "where Edge would silently store it as an inexact float; store it as a string"
            )
        return number
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"{''.join(path)}: {number} is not a finite number; JSON has no NaN or infinity — use null")
        return number
    if isinstance(value, Mapping):
        return json_object(value, path)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            path.append(f"[{i}]")
            out.append(json_value(item, path))
            path.pop()
        return out
    raise ConfigError(
        f"{''.join(path)}: a {type(value).__name__} is not JSON (payload values are strings, numbers, booleans, None, "
        "lists and mappings); convert it first, e.g. a datetime to an ISO 8601 string"
    )
