"""Haystack metadata filters → ``qdrant_client.models.Filter`` (no Haystack import needed).

Haystack 2+ filters are dicts: a comparison ``{"field": "meta.genre", "operator": "==", "value":
"rock"}`` (operators ``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``, ``not in``) or a logical
node ``{"operator": "AND" | "OR" | "NOT", "conditions": [...]}`` (``NOT``: not all of them).
Fields name the document as the retriever builds it: ``meta.<key>`` is ``<key>`` of the payload's
``meta_key`` object (of the payload itself when ``meta_key`` is ``None``), ``content`` is the
``content_key``, anything else a payload key as written. ``== None`` matches a missing, null or
empty field; ``!=`` and ``not in`` also match documents without the field, as in Haystack.

A ``models.Filter``, or its JSON form (a dict of ``must`` / ``should`` / ``must_not`` /
``min_should``), is passed through. Whatever comes out, genseek AND-s it with the tenant condition,
so no ``OR`` or ``NOT`` here can reach beyond the tenant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from qdrant_client.http import models

from ..errors import InvalidRequestError

_QDRANT_KEYS = frozenset({"must", "should", "must_not", "min_should"})
_RANGES = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def to_qdrant_filter(filters: Any, *, content_key: str, meta_key: str | None) -> models.Filter | None:
    """Convert ``filters`` (Haystack dict, ``models.Filter``, its JSON form, or ``None``).

    Raises:
        InvalidRequestError: naming the malformed part (``filters.conditions[1]``) and the fix.
    """
    if filters is None or isinstance(filters, models.Filter):
        return filters
    if not isinstance(filters, Mapping):
        raise InvalidRequestError(
            f"filters must be a Haystack filter dict or a qdrant_client.models.Filter, got {type(filters).__name__}"
        )
    if "operator" not in filters and filters and set(filters) <= _QDRANT_KEYS:
        try:
            return models.Filter.model_validate(dict(filters))
        except ValidationError as exc:
            raise InvalidRequestError(f"filters is not a valid Qdrant filter: {exc.errors()[0]['msg']}") from exc
    node = _convert(filters, "filters", content_key, meta_key)
    return node if isinstance(node, models.Filter) else models.Filter(must=[node])


def _convert(node: Any, where: str, content_key: str, meta_key: str | None) -> Any:
    if not isinstance(node, Mapping) or "operator" not in node:
        raise InvalidRequestError(
            f"{where} must be a Haystack filter: {{'field': ..., 'operator': ..., 'value': ...}} or "
            "{'operator': 'AND' | 'OR' | 'NOT', 'conditions': [...]}"
        )
    if "conditions" in node:
        return _logical(node, where, content_key, meta_key)
    if "field" not in node or "value" not in node:
        raise InvalidRequestError(f"{where}: a comparison needs 'field', 'operator' and 'value'")
    field = node["field"]
    if not isinstance(field, str) or not field:
        raise InvalidRequestError(f"{where}.field must be a non-empty string, got {field!r}")
    return _comparison(_payload_key(field, content_key, meta_key), node["operator"], node["value"], where)


def _logical(node: Mapping[str, Any], where: str, content_key: str, meta_key: str | None) -> models.Filter:
    operator, conditions = node["operator"], node["conditions"]
    if not isinstance(conditions, list) or not conditions:
        raise InvalidRequestError(f"{where}.conditions must be a non-empty list of filters")
    parts = [_convert(c, f"{where}.conditions[{i}]", content_key, meta_key) for i, c in enumerate(conditions)]
    if operator == "AND":
        return models.Filter(must=parts)
    if operator == "OR":
        return models.Filter(should=parts)
    if operator == "NOT":
        return models.Filter(must_not=[models.Filter(must=parts)])
    raise InvalidRequestError(f"{where}.operator {operator!r} is not a logical operator; use 'AND', 'OR' or 'NOT'")


def _payload_key(field: str, content_key: str, meta_key: str | None) -> str:
    if field.startswith("meta."):
        return field[len("meta."):] if meta_key is None else f"{meta_key}.{field[len('meta.'):]}"
    if field == "content":
        return content_key
    return field


def _comparison(key: str, operator: Any, value: Any, where: str) -> Any:
    if operator == "==":
        return _equals(key, value, where)
    if operator == "!=":
        return models.Filter(must_not=[_equals(key, value, where)])
    if operator in _RANGES:
        return _range(key, _RANGES[operator], value, where)
    if operator in ("in", "not in"):
        if not isinstance(value, list) or not value or not (
            all(isinstance(v, str) for v in value) or all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise InvalidRequestError(
                f"{where}: {operator!r} needs a non-empty list of strings or of integers, got {value!r}"
            )
        condition = models.FieldCondition(key=key, match=models.MatchAny(any=value))
        return condition if operator == "in" else models.Filter(must_not=[condition])
    raise InvalidRequestError(
        f"{where}.operator {operator!r} is not a Haystack comparison; use ==, !=, >, >=, <, <=, in or 'not in'"
    )


def _equals(key: str, value: Any, where: str) -> Any:
    if value is None:
        return models.IsEmptyCondition(is_empty=models.PayloadField(key=key))
    if isinstance(value, float):
        return models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))
    if isinstance(value, (str, int)):  # bool is an int
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))
    raise InvalidRequestError(f"{where}: '==' compares with a string, number, boolean or None, got {value!r}")


def _range(key: str, bound: str, value: Any, where: str) -> models.FieldCondition:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return models.FieldCondition(key=key, range=models.Range(**{bound: value}))
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return models.FieldCondition(key=key, range=models.DatetimeRange(**{bound: moment}))
    raise InvalidRequestError(f"{where}: a range compares with a number or an ISO 8601 date, got {value!r}")


__all__ = ["to_qdrant_filter"]
