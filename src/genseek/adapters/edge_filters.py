"""Translate qdrant-client request pieces (filters, selectors) into Qdrant Edge's Python DSL.

genseek receives filters as :class:`qdrant_client.models.Filter` — already AND-ed with the tenant
condition (:func:`genseek.scope.scoped_filter`). Tenant isolation on Edge therefore depends on
this translation being *complete*: every condition, every clause, every field of every condition
is carried over, and anything this module does not know raises
:class:`UnsupportedFilterError` instead of being dropped. Unknown fields are detected
generically (any non-``None`` pydantic field we did not consume), so a condition type or option
added to qdrant-client later fails loudly rather than widening results.

Supported: ``must`` / ``should`` / ``must_not`` / ``min_should`` (nested to any depth);
``FieldCondition`` with ``match`` (value, text, text_any, phrase, prefix, substring, any, except),
``range`` (numeric and datetime), ``geo_bounding_box``, ``geo_radius``, ``geo_polygon``,
``values_count``, ``is_empty``, ``is_null``; ``IsEmptyCondition``, ``IsNullCondition``,
``HasIdCondition``, ``HasVectorCondition``, ``NestedCondition`` and ``SliceCondition``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import BaseModel
from qdrant_client.http import models

from ..errors import InvalidRequestError


class UnsupportedFilterError(InvalidRequestError):
    """A filter (or selector) contains something the Edge translation cannot express.

    Raised before anything is sent: the search is refused rather than run with a weaker filter.
    """


def edge_module() -> Any:
    """Import :mod:`qdrant_edge`, or explain how to install it."""
    try:
        import qdrant_edge
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        from ..errors import MissingDependencyError

        raise MissingDependencyError("the Qdrant Edge backend ('edge' adapter)", "qdrant-edge-py", "edge") from exc
    return qdrant_edge


def _check_consumed(obj: BaseModel, consumed: set[str], where: str) -> None:
    """Raise if ``obj`` sets any field outside ``consumed`` (never drop part of a condition)."""
    extra = [name for name in type(obj).model_fields if name not in consumed and getattr(obj, name) is not None]
    if extra:
        raise UnsupportedFilterError(
            f"{where}: {type(obj).__name__} field(s) {extra} cannot be translated to Qdrant Edge; "
            "remove them or use the qdrant-client backend"
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def to_edge_filter(flt: models.Filter | None, *, where: str = "filter") -> Any:
    """Translate a qdrant-client ``Filter`` (or ``None``) into a ``qdrant_edge.Filter``.

    Raises:
        UnsupportedFilterError: something in ``flt`` has no Edge equivalent (nothing is dropped).
    """
    if flt is None:
        return None
    if not isinstance(flt, models.Filter):
        raise UnsupportedFilterError(f"{where} must be a qdrant_client.models.Filter, got {type(flt).__name__}")
    qe = edge_module()
    _check_consumed(flt, {"must", "should", "must_not", "min_should"}, where)
    must = [_condition(c, f"{where}.must[{i}]") for i, c in enumerate(_as_list(flt.must))]
    should = [_condition(c, f"{where}.should[{i}]") for i, c in enumerate(_as_list(flt.should))]
    must_not = [_condition(c, f"{where}.must_not[{i}]") for i, c in enumerate(_as_list(flt.must_not))]
    min_should = None
    if flt.min_should is not None:
        ms = flt.min_should
        _check_consumed(ms, {"conditions", "min_count"}, f"{where}.min_should")
        min_should = qe.MinShould(
            [_condition(c, f"{where}.min_should.conditions[{i}]") for i, c in enumerate(_as_list(ms.conditions))],
            int(ms.min_count),
        )
    return qe.Filter(
        must=must if flt.must is not None else None,
        should=should if flt.should is not None else None,
        must_not=must_not if flt.must_not is not None else None,
        min_should=min_should,
    )


def _condition(cond: Any, where: str) -> Any:
    qe = edge_module()
    if isinstance(cond, models.Filter):
        return to_edge_filter(cond, where=where)
    if isinstance(cond, models.FieldCondition):
        return _field_condition(cond, where)
    if isinstance(cond, models.IsEmptyCondition):
        _check_consumed(cond, {"is_empty"}, where)
        return qe.IsEmptyCondition(_payload_key(cond.is_empty, where))
    if isinstance(cond, models.IsNullCondition):
        _check_consumed(cond, {"is_null"}, where)
        return qe.IsNullCondition(_payload_key(cond.is_null, where))
    if isinstance(cond, models.HasIdCondition):
        _check_consumed(cond, {"has_id"}, where)
        return qe.HasIdCondition({_point_id(pid) for pid in cond.has_id})
    if isinstance(cond, models.HasVectorCondition):
        _check_consumed(cond, {"has_vector"}, where)
        return qe.HasVectorCondition(cond.has_vector)
    if isinstance(cond, models.NestedCondition):
        _check_consumed(cond, {"nested"}, where)
        nested = cond.nested
        _check_consumed(nested, {"key", "filter"}, f"{where}.nested")
        return qe.NestedCondition(nested.key, to_edge_filter(nested.filter, where=f"{where}.nested.filter"))
    if isinstance(cond, models.SliceCondition):
        _check_consumed(cond, {"slice"}, where)
        piece = cond.slice
        _check_consumed(piece, {"total", "index"}, f"{where}.slice")
        return qe.SliceCondition(int(piece.total), int(piece.index))
    raise UnsupportedFilterError(
        f"{where}: condition type {type(cond).__name__} is not supported by the Qdrant Edge backend; "
        "use the qdrant-client backend for it"
    )


def _payload_key(field: models.PayloadField, where: str) -> str:
    _check_consumed(field, {"key"}, where)
    return field.key


def _point_id(pid: Any) -> Any:
    return str(pid) if not isinstance(pid, int) else pid


def _field_condition(cond: models.FieldCondition, where: str) -> Any:
    qe = edge_module()
    _check_consumed(
        cond,
        {"key", "match", "range", "geo_bounding_box", "geo_radius", "geo_polygon", "values_count", "is_empty", "is_null"},
        where,
    )
    kwargs: dict[str, Any] = {}
    if cond.match is not None:
        kwargs["match"] = _match(cond.match, f"{where}.match")
    if cond.range is not None:
        kwargs["range"] = _range(cond.range, f"{where}.range")
    if cond.geo_bounding_box is not None:
        box = cond.geo_bounding_box
        _check_consumed(box, {"top_left", "bottom_right"}, f"{where}.geo_bounding_box")
        kwargs["geo_bounding_box"] = qe.GeoBoundingBox(_geo_point(box.top_left, where), _geo_point(box.bottom_right, where))
    if cond.geo_radius is not None:
        radius = cond.geo_radius
        _check_consumed(radius, {"center", "radius"}, f"{where}.geo_radius")
        kwargs["geo_radius"] = qe.GeoRadius(_geo_point(radius.center, where), float(radius.radius))
    if cond.geo_polygon is not None:
        polygon = cond.geo_polygon
        _check_consumed(polygon, {"exterior", "interiors"}, f"{where}.geo_polygon")
        interiors = None
        if polygon.interiors is not None:
            interiors = [_geo_ring(ring, where) for ring in polygon.interiors]
        kwargs["geo_polygon"] = qe.GeoPolygon(_geo_ring(polygon.exterior, where), interiors)
    if cond.values_count is not None:
        count = cond.values_count
        _check_consumed(count, {"lt", "gt", "lte", "gte"}, f"{where}.values_count")
        kwargs["values_count"] = qe.ValuesCount(lt=count.lt, gt=count.gt, lte=count.lte, gte=count.gte)
    if cond.is_empty is not None:
        kwargs["is_empty"] = bool(cond.is_empty)
    if cond.is_null is not None:
        kwargs["is_null"] = bool(cond.is_null)
    if not kwargs:
        raise UnsupportedFilterError(f"{where}: FieldCondition on {cond.key!r} sets no condition (match, range, …)")
    return qe.FieldCondition(key=cond.key, **kwargs)


def _geo_point(point: models.GeoPoint, where: str) -> Any:
    _check_consumed(point, {"lon", "lat"}, f"{where} (GeoPoint)")
    return edge_module().GeoPoint(float(point.lon), float(point.lat))


def _geo_ring(ring: models.GeoLineString, where: str) -> list[Any]:
    _check_consumed(ring, {"points"}, f"{where} (GeoLineString)")
    return [_geo_point(p, where) for p in ring.points]


def _match(match: Any, where: str) -> Any:
    qe = edge_module()
    simple = {
        models.MatchValue: ("value", qe.MatchValue),
        models.MatchText: ("text", qe.MatchText),
        models.MatchTextAny: ("text_any", qe.MatchTextAny),
        models.MatchPhrase: ("phrase", qe.MatchPhrase),
        models.MatchPrefix: ("prefix", qe.MatchPrefix),
        models.MatchSubstring: ("substring", qe.MatchSubstring),
    }
    if isinstance(match, models.MatchValue) and isinstance(match.value, bool):
        raise UnsupportedFilterError(
            f"{where}: qdrant-edge-py cannot match boolean payload values (its MatchValue({match.value}) matches "
            "no point, indexed or not); store the flag as a keyword or an integer, or use the qdrant-client backend"
        )
    for model, (attr, edge_cls) in simple.items():
        if isinstance(match, model):
            _check_consumed(match, {attr}, where)
            return edge_cls(_int64(getattr(match, attr), where))
    if isinstance(match, models.MatchAny):
        _check_consumed(match, {"any"}, where)
        return qe.MatchAny([_int64(value, where) for value in match.any])
    if isinstance(match, models.MatchExcept):
        _check_consumed(match, {"except_"}, where)
        return qe.MatchExcept([_int64(value, where) for value in match.except_])
    raise UnsupportedFilterError(f"{where}: match type {type(match).__name__} is not supported by the Qdrant Edge backend")


def _int64(value: Any, where: str) -> Any:
    """Refuse an integer match value outside signed 64 bits (e.g. a tenant id) before anything is sent."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value <= 2**63 - 1:
        raise UnsupportedFilterError(
            f"{where}: the integer {value} is outside Qdrant's signed 64-bit range (-2**63 … 2**63-1), so no stored "
            "payload can hold it; use integer tenant ids and values within that range, or store them as strings"
        )
    return value


def _range(rng: Any, where: str) -> Any:
    qe = edge_module()
    _check_consumed(rng, {"lt", "gt", "lte", "gte"}, where)
    if isinstance(rng, models.DatetimeRange):
        return qe.RangeDateTime(gte=_iso(rng.gte), gt=_iso(rng.gt), lte=_iso(rng.lte), lt=_iso(rng.lt))
    if isinstance(rng, models.Range):
        return qe.RangeFloat(gte=_num(rng.gte), gt=_num(rng.gt), lte=_num(rng.lte), lt=_num(rng.lt))
    raise UnsupportedFilterError(f"{where}: range type {type(rng).__name__} is not supported by the Qdrant Edge backend")


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(value: Any) -> str | None:
    """RFC 3339 text for a datetime bound (naive datetimes are taken as UTC, as Qdrant does)."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).isoformat()
    return str(value)


# -- selectors ------------------------------------------------------------------------------------
def to_edge_payload_selector(selector: Any) -> Any:
    """``with_payload`` as qdrant-client accepts it → Edge's ``bool | list[str] | PayloadSelector``."""
    qe = edge_module()
    if selector is None:
        return False
    if isinstance(selector, bool):
        return selector
    if isinstance(selector, (list, tuple)):
        return [str(key) for key in selector]
    if isinstance(selector, models.PayloadSelectorInclude):
        return qe.PayloadSelector.Include(list(selector.include))
    if isinstance(selector, models.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(list(selector.exclude))
    raise UnsupportedFilterError(f"with_payload={selector!r} cannot be translated to Qdrant Edge")


def to_edge_vector_selector(selector: Any, vector_names: list[str]) -> Any:
    """``with_vectors`` (bool or list of names; ``None`` is the unnamed vector ``""``) → Edge."""
    if selector is None or selector is False:
        return False
    if selector is True:
        return True
    if isinstance(selector, (list, tuple)):
        unknown = [name for name in selector if (name or "") not in vector_names]
        if unknown:
            raise UnsupportedFilterError(f"with_vectors names unknown vector(s) {unknown}; the catalog has {vector_names}")
        return [name or "" for name in selector]
    raise UnsupportedFilterError(f"with_vectors={selector!r} cannot be translated to Qdrant Edge")


__all__ = [
    "UnsupportedFilterError",
    "edge_module",
    "to_edge_filter",
    "to_edge_payload_selector",
    "to_edge_vector_selector",
]
