"""Checks of a search request's arguments, run before anything is sent to a backend.

Every function here either returns its argument normalised or raises
:class:`~genseek.errors.InvalidRequestError` naming the argument, the problem and the fix, so a
bad request never reaches Qdrant (or Qdrant Edge) and never changes anything. Shared by the
synchronous and asynchronous searchers and by tenant configuration.
"""

from __future__ import annotations

import math
import numbers
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client.http import models

from .contract import Capabilities, VectorSpace, check_int
from .errors import InvalidRequestError


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


#: Search-time settings a request may pass (``search_params=``) → (accepts the value?, what it must
#: be): Qdrant's ``SearchParams`` index settings, and genseek's ``seed_pooling`` (:mod:`genseek.pooling`).
SEARCH_PARAM_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "hnsw_ef": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer >= 1"),
    "exact": (_is_bool, "true or false"),
    "indexed_only": (_is_bool, "true or false"),
    "seed_pooling": (lambda v: isinstance(v, bool) or (isinstance(v, str) and v == "shared"), "true, false or 'shared'"),
}


def check_search_params(value: Any) -> dict[str, Any]:
    """Validate ``search_params`` (a dict or ``models.SearchParams``) into a plain dict.

    Only ``hnsw_ef`` (int >= 1), ``exact`` and ``indexed_only`` (bools) are accepted for the
    engine — what every backend genseek drives can honour (qdrant-client and Qdrant Edge) — and
    ``seed_pooling`` (``True``, ``False`` or ``"shared"``, :mod:`genseek.pooling`), which genseek
    consumes itself.
    """
    if value is None:
        return {}
    if isinstance(value, models.SearchParams):
        value = value.model_dump(exclude_none=True)
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            f"search_params must be a dict or models.SearchParams, got {type(value).__name__}; "
            "e.g. search_params={'hnsw_ef': 128} or {'exact': True}"
        )
    unknown = sorted(set(value) - set(SEARCH_PARAM_RULES))
    if unknown:
        raise InvalidRequestError(
            f"unsupported search_params {unknown}; supported: {sorted(SEARCH_PARAM_RULES)}"
        )
    for key, (accepts, what) in SEARCH_PARAM_RULES.items():
        item = value.get(key)
        if item is not None and not accepts(item):
            raise InvalidRequestError(f"search_params['{key}'] must be {what}, got {item!r}")
    return {key: item for key, item in value.items() if item is not None}


# -- request options, filters and point ids: checked before anything is sent ----------------------
_CONSISTENCY_NAMES = frozenset(t.value for t in models.ReadConsistencyType)
#: The settable parts of a ``FieldCondition`` (a condition must set at least one).
_FIELD_CONDITION_PARTS = (
    "match", "range", "geo_bounding_box", "geo_radius", "geo_polygon", "values_count", "is_empty", "is_null"
)
_MATCH_TYPES = (
    models.MatchValue, models.MatchText, models.MatchTextAny, models.MatchPhrase, models.MatchPrefix,
    models.MatchSubstring, models.MatchAny, models.MatchExcept,
)
_MAX_POINT_ID = 2**64 - 1


@dataclass(frozen=True)
class RequestOptions:
    """A request's checked pass-through options (see :func:`check_request_options`)."""

    with_payload: Any = True
    with_vectors: Any = False
    shard_key_selector: Any = None
    consistency: Any = None
    timeout: int | None = None


def check_request_options(
    *, with_payload: Any, with_vectors: Any, shard_key_selector: Any, consistency: Any, timeout: Any,
    capabilities: Capabilities | None, space: VectorSpace | None,
) -> RequestOptions:
    """Validate the options a search passes through to the backend; returns them normalised.

    * ``with_payload``: ``True`` / ``False`` / ``None``, a list of payload keys, or a
      ``PayloadSelectorInclude`` / ``PayloadSelectorExclude`` (a tuple of keys becomes a list);
    * ``with_vectors``: ``True`` / ``False`` / ``None``, or a non-empty list of the collection's
      vector names (``None`` or ``""`` for the unnamed vector), checked against ``space.vectors``
      when the adapter reports them — an unknown name would silently return ``{}``;
    * ``shard_key_selector``: ``None``, a shard key (non-empty string or integer >= 0), a non-empty
      list of them or ``models.ShardKeyWithFallback``; refused when ``capabilities.shard_keys`` is
      false (qdrant-client local mode, which would ignore it);
    * ``consistency``: ``None``, an integer >= 1 (replicas), ``models.ReadConsistencyType`` or one of
      ``"majority"``, ``"quorum"``, ``"all"``;
    * ``timeout``: ``None`` or whole seconds >= 1.

    Raises:
        InvalidRequestError: naming the option, the problem and the fix.
    """
    return RequestOptions(
        with_payload=_check_with_payload(with_payload),
        with_vectors=_check_with_vectors(with_vectors, space),
        shard_key_selector=_check_shard_key_selector(shard_key_selector, capabilities),
        consistency=_check_consistency(consistency),
        timeout=_check_timeout(timeout),
    )


def _check_keys(name: str, keys: Any) -> list[str]:
    keys = list(keys)
    bad = [k for k in keys if not isinstance(k, str) or not k.strip()]
    if bad:
        raise InvalidRequestError(f"{name} must list payload keys (non-empty strings), got {bad[0]!r}")
    return keys


def _check_with_payload(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        return _check_keys("with_payload", value)
    if isinstance(value, models.PayloadSelectorInclude):
        return models.PayloadSelectorInclude(include=_check_keys("with_payload.include", value.include))
    if isinstance(value, models.PayloadSelectorExclude):
        return models.PayloadSelectorExclude(exclude=_check_keys("with_payload.exclude", value.exclude))
    raise InvalidRequestError(
        f"with_payload must be True, False, a list of payload keys or models.PayloadSelectorInclude/Exclude, "
        f"got {type(value).__name__} {value!r}"
    )


def _check_with_vectors(value: Any, space: VectorSpace | None) -> Any:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if not isinstance(value, (list, tuple)):
        raise InvalidRequestError(
            f"with_vectors must be True, False or a list of vector names, got {type(value).__name__} {value!r}"
        )
    if not value:
        raise InvalidRequestError("with_vectors=[] selects no vector; pass with_vectors=False for none")
    names = list(value)
    bad = [n for n in names if n is not None and not isinstance(n, str)]
    if bad:
        raise InvalidRequestError(f"with_vectors must list vector names (strings), got {bad[0]!r}")
    known = None if space is None else space.vectors
    if known is not None:
        unknown = [n for n in names if (n or "") not in known]
        if unknown:
            listing = ", ".join(repr(k) if k else "'' (the unnamed vector)" for k in known) or "none"
            raise InvalidRequestError(
                f"with_vectors names unknown vector(s) {unknown}; the collection has {listing}: name those "
                "(or pass with_vectors=True for all)"
            )
    return [n or "" for n in names]


def _is_shard_key(key: Any) -> bool:
    if isinstance(key, bool):
        return False
    return (isinstance(key, str) and bool(key.strip())) or (isinstance(key, int) and key >= 0)


def _check_shard_key_selector(value: Any, capabilities: Capabilities | None) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not value or not all(_is_shard_key(k) for k in value):
            raise InvalidRequestError(
                f"shard_key_selector must be a shard key (non-empty string or integer >= 0), a non-empty list of "
                f"them or models.ShardKeyWithFallback, got {value!r}"
            )
        value = list(value)
    elif not (_is_shard_key(value) or isinstance(value, models.ShardKeyWithFallback)):
        raise InvalidRequestError(
            f"shard_key_selector must be a shard key (non-empty string or integer >= 0), a non-empty list of them "
            f"or models.ShardKeyWithFallback, got {type(value).__name__} {value!r}"
        )
    if capabilities is not None and not capabilities.shard_keys:
        raise InvalidRequestError(
            f"shard_key_selector={value!r} cannot be honoured: this client is qdrant-client local mode, which has no "
            "shards and would silently ignore the key; drop shard_key_selector (the tenant filter still scopes the "
            "search) or search a Qdrant cluster with custom sharding"
        )
    return value


def _check_consistency(value: Any) -> Any:
    if value is None or isinstance(value, models.ReadConsistencyType):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidRequestError(
            f"consistency must be an integer >= 1 (replicas), 'majority', 'quorum', 'all' or "
            f"models.ReadConsistencyType, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, int):
        if value < 1:
            raise InvalidRequestError(f"consistency must be at least 1 replica, got {value}")
        return value
    if value not in _CONSISTENCY_NAMES:
        raise InvalidRequestError(
            f"consistency must be one of {sorted(_CONSISTENCY_NAMES)} or an integer >= 1, got {value!r}"
        )
    return value


def _check_timeout(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"timeout must be whole seconds >= 1 (or None for the client's default), got {value!r}"
        )
    return value


def check_point_id(value: Any, *, name: str = "point_id") -> int | str:
    """A Qdrant point id: an integer in ``[0, 2**64)`` or a UUID (string or ``uuid.UUID``).

    Returns the id as Qdrant stores it: the integer, or the UUID in its canonical hyphenated form.

    Raises:
        InvalidRequestError: naming ``name`` (booleans, floats, negative integers, non-UUID strings …).
    """
    if isinstance(value, (bool, np.bool_)):
        raise InvalidRequestError(f"{name} must be an integer >= 0 or a UUID, got the boolean {value!r}")
    if isinstance(value, (int, np.integer)):
        if not 0 <= int(value) <= _MAX_POINT_ID:
            raise InvalidRequestError(f"{name} must be an integer in [0, 2**64) or a UUID, got {value!r}")
        return int(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise InvalidRequestError(
                f"{name}={value!r} is not a point id: Qdrant ids are integers >= 0 or UUIDs "
                "(e.g. '5c56c793-69f3-4fbf-87e6-c4bf54c28c26')"
            ) from None
    raise InvalidRequestError(f"{name} must be an integer >= 0 or a UUID string, got {type(value).__name__} {value!r}")


def check_strength(value: Any) -> float:
    """``refine``'s ``strength``: a finite real number in ``[0, 1]`` (booleans refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidRequestError(f"strength must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InvalidRequestError(
            f"strength must lie in [0, 1] (0: the stored vector itself, 1: regenerate), got {value!r}"
        )
    return float(value)


def check_filter_tree(flt: Any, *, where: str = "filter", space: VectorSpace | None = None) -> None:
    """Validate a caller's ``models.Filter`` recursively, for every backend, before anything is sent.

    Refused (each would be silently empty, silently everything, or refused by only one backend):
    a clause item that is not a condition; a ``FieldCondition`` with an empty key or nothing set
    (no match, range, geo, values_count, is_empty or is_null); a ``range`` / ``values_count``
    with no bound or a non-finite bound; ``min_should`` with no conditions or a ``min_count``
    below 1 or above the number of conditions; ``is_empty`` / ``is_null`` / ``nested`` with an
    empty key; ``has_id`` with an id that is not a point id; ``has_vector`` naming a vector the
    collection does not have (when ``space.vectors`` is known).

    Raises:
        InvalidRequestError: naming the path of the bad part, e.g. ``filter.must[0].should[1]``.
    """
    if not isinstance(flt, models.Filter):
        raise InvalidRequestError(f"{where} must be a qdrant_client.models.Filter, got {type(flt).__name__}")
    for clause in ("must", "should", "must_not"):
        value = getattr(flt, clause)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, condition in enumerate(items):
            _check_condition(condition, f"{where}.{clause}[{i}]", space)
    if flt.min_should is not None:
        ms = flt.min_should
        path = f"{where}.min_should"
        if not isinstance(ms, models.MinShould):
            raise InvalidRequestError(f"{path} must be models.MinShould(conditions=[...], min_count=n)")
        conditions = list(ms.conditions or [])
        if not conditions:
            raise InvalidRequestError(f"{path}.conditions is empty; list the conditions min_count counts")
        count = ms.min_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidRequestError(
                f"{path}.min_count must be an integer >= 1, got {count!r}; to require none of the conditions, "
                "drop min_should"
            )
        if count > len(conditions):
            raise InvalidRequestError(
                f"{path}.min_count={count} exceeds its {len(conditions)} condition(s), so no point could match; "
                "lower min_count or add conditions"
            )
        for i, condition in enumerate(conditions):
            _check_condition(condition, f"{path}.conditions[{i}]", space)


def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidRequestError(f"{where}: key must be a non-empty payload key, got {key!r}")


def _check_bounds(bounds: Any, where: str, *, kind: str) -> None:
    values = {name: getattr(bounds, name) for name in ("lt", "gt", "lte", "gte")}
    if all(v is None for v in values.values()):
        raise InvalidRequestError(f"{where}: {kind} sets no bound; set lt, gt, lte or gte (or drop the condition)")
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequestError(f"{where}: {kind}.{name}={value!r} is not a finite number")


def _check_condition(condition: Any, where: str, space: VectorSpace | None) -> None:
    if isinstance(condition, models.Filter):
        check_filter_tree(condition, where=where, space=space)
    elif isinstance(condition, models.FieldCondition):
        _check_key(condition.key, where)
        if all(getattr(condition, part) is None for part in _FIELD_CONDITION_PARTS):
            raise InvalidRequestError(
                f"{where}: FieldCondition on {condition.key!r} sets no condition; set one of "
                f"{', '.join(_FIELD_CONDITION_PARTS)} (as written it matches nothing in local mode and is refused "
                "by Qdrant Edge)"
            )
        if condition.match is not None and not isinstance(condition.match, _MATCH_TYPES):
            raise InvalidRequestError(f"{where}.match: {type(condition.match).__name__} is not a qdrant match type")
        if condition.range is not None:
            _check_bounds(condition.range, f"{where}", kind="range")
        if condition.values_count is not None:
            _check_bounds(condition.values_count, f"{where}", kind="values_count")
        radius = condition.geo_radius
        if radius is not None and (not math.isfinite(radius.radius) or radius.radius < 0):
            raise InvalidRequestError(f"{where}: geo_radius.radius must be a finite distance >= 0 (metres)")
    elif isinstance(condition, models.IsEmptyCondition):
        _check_key(getattr(condition.is_empty, "key", None), f"{where}.is_empty")
    elif isinstance(condition, models.IsNullCondition):
        _check_key(getattr(condition.is_null, "key", None), f"{where}.is_null")
    elif isinstance(condition, models.HasIdCondition):
        for i, pid in enumerate(condition.has_id):
            check_point_id(pid, name=f"{where}.has_id[{i}]")
    elif isinstance(condition, models.HasVectorCondition):
        name = condition.has_vector
        known = None if space is None else space.vectors
        if not isinstance(name, str) or (known is not None and name not in known):
            raise InvalidRequestError(
                f"{where}: has_vector={name!r} is not a vector of this collection"
                + (f"; it has {list(known)}" if known is not None else "")
            )
    elif isinstance(condition, models.NestedCondition):
        _check_key(condition.nested.key, f"{where}.nested")
        check_filter_tree(condition.nested.filter, where=f"{where}.nested.filter", space=space)
    elif isinstance(condition, models.SliceCondition):
        pass  # total/index are validated by the model itself
    else:
        raise InvalidRequestError(
            f"{where}: {type(condition).__name__} is not a filter condition; use models.FieldCondition, "
            "IsEmptyCondition, IsNullCondition, HasIdCondition, HasVectorCondition, NestedCondition or a nested Filter"
        )


__all__ = [
    "RequestOptions",
    "SEARCH_PARAM_RULES",
    "check_filter_tree",
    "check_int",
    "check_point_id",
    "check_request_options",
    "check_search_params",
    "check_strength",
]
