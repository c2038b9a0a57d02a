"""Tenant scoping, enforced by genseek rather than left to the caller.

:func:`scoped_filter` AND-s the tenant condition with whatever filter the caller passes. The
caller's filter becomes one ``must`` clause beside the tenant condition, so no ``should``,
``must_not`` or nesting inside it can widen the result set beyond the tenant. Adapters put the
scoped filter into every prefetch and at the top level.

As a second line of defence, :class:`TenantGuard` makes sure the tenant field is in the returned
payload, checks every returned point against the tenant value, and then removes the field again
when the caller did not ask for it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from qdrant_client.http import models

from .errors import GenseekError, InvalidRequestError

TenantValue = str | int

#: Qdrant stores integer payload values as signed 64-bit integers.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Characters a tenant value may not contain: controls, line/paragraph separators, format
#: characters (zero-width space/joiners, bidi controls, BOM) and unassigned/surrogate code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def tenant_value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a tenant (partition) value, or ``None`` when it can.

    The one rule for every path that scopes by tenant — ``search(tenant=...)``, a tenant
    configuration's ``partition`` (written or read back from the store): a non-empty string without
    control, format or separator characters, without whitespace other than the ASCII space and
    without leading/trailing whitespace, or an integer
    (not a boolean) within Qdrant's signed 64-bit range. No value is ever converted, so ``True``,
    ``1.0`` or ``"1"`` never select the points of tenant ``1``.
    """
    if isinstance(value, bool):
        return f"a boolean ({value!r}) is not a tenant value"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return f"{value} is outside the signed 64-bit range Qdrant stores integers in"
        return None
    if isinstance(value, str):
        if value == "":
            return "the empty string is not a tenant value"
        bad = next((c for c in value if unicodedata.category(c) in _INVISIBLE or (c.isspace() and c != " ")), None)
        if bad is not None:
            return f"{value!r} contains the invisible, control or non-ASCII space character U+{ord(bad):04X}"
        if value != value.strip():
            return f"{value!r} has leading or trailing whitespace"
        return None
    return f"a {type(value).__name__} ({value!r}) is not a tenant value"


def check_tenant_value(value: Any, *, what: str = "tenant") -> TenantValue:
    """Return ``value`` unchanged when it is a valid tenant value (:func:`tenant_value_problem`).

    Raises :class:`InvalidRequestError` (a ``ValueError``) naming ``what`` otherwise.
    """
    problem = tenant_value_problem(value)
    if problem is not None:
        raise InvalidRequestError(
            f"{what} must be a non-empty string or a 64-bit integer, and is never converted from another type: "
            f"{problem}"
        )
    return value


def check_filter(value: Any) -> models.Filter | None:
    """Accept ``None`` or a :class:`qdrant_client.models.Filter`; anything else is an error."""
    if value is None or isinstance(value, models.Filter):
        return value
    raise InvalidRequestError(
        f"filter must be a qdrant_client.models.Filter or None, got {type(value).__name__}; "
        "build it with models.Filter(must=[models.FieldCondition(...)])"
    )


def check_tenant(tenant_field: str | None, tenant: Any) -> TenantValue | None:
    """Validate the tenant value against the search's tenant field (see :func:`check_tenant_value`)."""
    if tenant_field is None:
        if tenant is not None:
            raise InvalidRequestError(
                "tenant= was given but this search has no tenant_field; create it with "
                "GenerativeSearch(..., tenant_field='<payload key>')"
            )
        return None
    if tenant is None:
        raise InvalidRequestError(
            f"this search is scoped by the payload field {tenant_field!r}: pass tenant=<value> "
            "(or use GenerativeSearch.for_tenant)"
        )
    return check_tenant_value(tenant)


def scoped_filter(caller: models.Filter | None, tenant_field: str | None, tenant: TenantValue | None) -> models.Filter | None:
    """The caller's filter AND the tenant condition (``None`` when there is neither)."""
    if tenant_field is None:
        return caller
    condition = models.FieldCondition(key=tenant_field, match=models.MatchValue(value=tenant))
    must: list[Any] = [condition]
    if caller is not None:
        must.append(caller)
    return models.Filter(must=must)


# -- payload paths, resolved as Qdrant resolves a payload key ------------------------------------
#: One step of a payload path: a key (``str``), an array index (``int``) or every item (``None``).
PathStep = str | int | None
_BRACKET = re.compile(r"\[(\d*)\]")


def parse_path(path: str) -> tuple[PathStep, ...]:
    """Split a Qdrant payload key into steps: ``'a.b[].c[0]'`` → ``('a', 'b', None, 'c', 0)``.

    As in Qdrant, ``.`` always separates nested keys (``"meta.tenant"`` is the key ``tenant`` of
    the object ``meta``, never a literal key containing a dot); a key holding a dot or other
    characters is written in double quotes (``'"meta.tenant"'``); ``[]`` selects every array item
    and ``[N]`` one of them. Raises :class:`InvalidRequestError` for a malformed path.
    """
    if not isinstance(path, str):
        raise _bad_path(repr(path), f"a {type(path).__name__}, not a string")
    return _parse_path(path)


@functools.lru_cache(maxsize=1024)  # payload_value() parses the same few keys for every point
def _parse_path(path: str) -> tuple[PathStep, ...]:
    steps: list[PathStep] = []
    rest = path
    while True:
        if rest.startswith('"'):
            close = rest.find('"', 1)
            if close == -1:
                raise _bad_path(path, "an unclosed quote")
            steps.append(rest[1:close])
            rest = rest[close + 1 :]
        else:
            length = 0
            while length < len(rest) and (rest[length].isalnum() or rest[length] in "_-"):
                length += 1
            if length == 0:
                raise _bad_path(path, "an empty key")
            steps.append(rest[:length])
            rest = rest[length:]
        while (bracket := _BRACKET.match(rest)) is not None:
            steps.append(int(bracket.group(1)) if bracket.group(1) else None)
            rest = rest[bracket.end() :]
        if not rest:
            return tuple(steps)
        if not rest.startswith(".") or len(rest) == 1:
            raise _bad_path(path, f"unexpected {rest[:1]!r}")
        rest = rest[1:]


def _bad_path(path: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid payload key {path!r} ({problem}); write nested keys as 'a.b', array items as 'a[].b' or 'a[0].b', "
        "and quote a key that contains other characters: '\"a.b\"'"
    )


def _select(node: Any, steps: tuple[PathStep, ...], out: list[Any]) -> None:
    if not steps:
        out.append(node)
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if isinstance(node, dict) and step in node:
            _select(node[step], rest, out)
    elif isinstance(node, list):
        for item in node if step is None else node[step : step + 1]:
            _select(item, rest, out)


def payload_values(payload: dict[str, Any] | None, path: str) -> list[Any]:
    """Every value a Qdrant condition on ``path`` tests: a selected array counts as its items.

    ``payload_values({"meta": {"tenant": "a"}, "meta.tenant": "b"}, "meta.tenant") == ["a"]``.
    """
    found: list[Any] = []
    _select(payload or {}, parse_path(path), found)
    return [item for value in found for item in (value if isinstance(value, list) else [value])]


def payload_value(payload: dict[str, Any] | None, path: str) -> Any:
    """The value at a payload key or nested path (``"meta.tenant"``, as Qdrant reads it), or ``None``.

    A path through ``[]`` that selects several values returns them as a list.
    """
    found: list[Any] = []
    _select(payload or {}, parse_path(path), found)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def same_value(stored: Any, wanted: TenantValue) -> bool:
    """Whether Qdrant's exact match of ``wanted`` accepts the payload value ``stored``.

    Types are never mixed: ``True`` is not ``1``, ``1.0`` is not ``1``, ``"1"`` is not ``1``.
    """
    if isinstance(stored, bool) != isinstance(wanted, bool) or isinstance(stored, float) != isinstance(wanted, float):
        return False
    return type(stored) is not dict and type(stored) is not list and stored == wanted


def _remove(node: Any, steps: tuple[PathStep, ...]) -> None:
    """Remove what ``steps`` selects, and the objects/arrays that this leaves empty."""
    while steps and not isinstance(steps[-1], str):  # 'a[]' or 'a[0]' as a field: the array 'a'
        steps = steps[:-1]
    if not steps:
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if not isinstance(node, dict) or step not in node:
            return
        if rest:
            _remove(node[step], rest)
        if not rest or _emptied(node[step]):
            del node[step]
    elif isinstance(node, list):
        for item in node if step is None else node[step : step + 1]:
            _remove(item, rest)


def _emptied(value: Any) -> bool:
    return value == {} or (isinstance(value, list) and bool(value) and all(item == {} for item in value))


def _holds(keys: list[str], field: str) -> bool:
    """Whether selecting ``keys`` selects ``field`` (the key itself, or an object it is nested in)."""
    target = parse_path(field)
    for key in keys:
        try:
            steps = parse_path(key)
        except InvalidRequestError:
            continue  # not a path Qdrant accepts: it selects nothing genseek relies on
        if target[: len(steps)] == steps:
            return True
    return False


class TenantGuard:
    """Adds the tenant field to a payload selector, then verifies and strips it from results.

    The tenant field is a Qdrant payload key (``"meta.tenant"`` is nested, ``"owners[].id"``
    reads array items) and is resolved exactly as Qdrant resolves it in the tenant filter; a point
    is the tenant's when one of the values the key selects equals the tenant value, type included.
    """

    def __init__(self, tenant_field: str | None, tenant: TenantValue | None) -> None:
        self.tenant_field = tenant_field
        self.tenant = tenant
        self._path = None if tenant_field is None else parse_path(tenant_field)
        self._strip = self._path  # what to remove again: the field, or an excluded parent of it

    def payload_selector(self, with_payload: Any) -> tuple[Any, bool]:
        """The selector to send, and whether the tenant field must be stripped afterwards."""
        field = self.tenant_field
        if field is None or with_payload is True:
            return with_payload, False
        if with_payload is False or with_payload is None:
            return [field], True
        if isinstance(with_payload, list):
            return (with_payload, False) if _holds(with_payload, field) else ([*with_payload, field], True)
        if isinstance(with_payload, models.PayloadSelectorInclude):
            if _holds(with_payload.include, field):
                return with_payload, False
            return models.PayloadSelectorInclude(include=[*with_payload.include, field]), True
        if isinstance(with_payload, models.PayloadSelectorExclude):
            hiding = [k for k in with_payload.exclude if _holds([k], field)]
            if not hiding:
                return with_payload, False
            self._strip = parse_path(min(hiding, key=lambda k: len(parse_path(k))))  # the outermost excluded key
            return models.PayloadSelectorExclude(exclude=[k for k in with_payload.exclude if k not in hiding]), True
        raise InvalidRequestError(f"unsupported with_payload value {with_payload!r}")

    def verify(self, points: list[models.ScoredPoint], strip: bool) -> None:
        """Raise if any point belongs to another tenant; strip the field if it was not requested."""
        if self.tenant_field is None:
            return
        for point in points:
            values = payload_values(point.payload, self.tenant_field)
            if not any(same_value(value, self.tenant) for value in values):  # type: ignore[arg-type]
                raise GenseekError(
                    f"tenant isolation check failed: point {point.id!r} has {self.tenant_field}="
                    f"{values[0] if len(values) == 1 else values or None!r}, expected {self.tenant!r}. "
                    "The backend ignored the tenant filter; nothing was returned."
                )
            if strip and point.payload is not None:
                _remove(point.payload, self._strip)  # type: ignore[arg-type]
                if not point.payload:
                    point.payload = None
