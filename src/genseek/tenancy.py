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

from typing import Any

from qdrant_client.http import models

from .errors import GenseekError, InvalidRequestError

TenantValue = str | int


def check_filter(value: Any) -> models.Filter | None:
    """Accept ``None`` or a :class:`qdrant_client.models.Filter`; anything else is an error."""
    if value is None or isinstance(value, models.Filter):
        return value
    raise InvalidRequestError(
        f"filter must be a qdrant_client.models.Filter or None, got {type(value).__name__}; "
        "build it with models.Filter(must=[models.FieldCondition(...)])"
    )


def check_tenant(tenant_field: str | None, tenant: Any) -> TenantValue | None:
    """Validate the tenant value against the search's tenant field."""
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
    if isinstance(tenant, bool) or not isinstance(tenant, (str, int)) or tenant == "":
        raise InvalidRequestError(f"tenant must be a non-empty string or an integer, got {tenant!r}")
    return tenant


def scoped_filter(caller: models.Filter | None, tenant_field: str | None, tenant: TenantValue | None) -> models.Filter | None:
    """The caller's filter AND the tenant condition (``None`` when there is neither)."""
    if tenant_field is None:
        return caller
    condition = models.FieldCondition(key=tenant_field, match=models.MatchValue(value=tenant))
    must: list[Any] = [condition]
    if caller is not None:
        must.append(caller)
    return models.Filter(must=must)


def payload_value(payload: dict[str, Any] | None, path: str) -> Any:
    """The value at a payload key or a dotted nested path (``"meta.tenant"``), or ``None``."""
    value: Any = payload or {}
    if path in value:
        return value[path]
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _remove(payload: dict[str, Any], path: str) -> None:
    """Remove a key or a dotted nested path, and the nested objects it leaves empty."""
    if path in payload:
        del payload[path]
        return
    head, _, rest = path.partition(".")
    child = payload.get(head)
    if rest and isinstance(child, dict):
        _remove(child, rest)
        if not child:
            del payload[head]


def _holds(keys: list[str], field: str) -> bool:
    """Whether selecting ``keys`` selects ``field`` (the key itself, or an object it is nested in)."""
    return any(key == field or field.startswith(key + ".") for key in keys)


class TenantGuard:
    """Adds the tenant field to a payload selector, then verifies and strips it from results.

    The tenant field may be a nested path (``"meta.tenant"``), as in Qdrant filters.
    """

    def __init__(self, tenant_field: str | None, tenant: TenantValue | None) -> None:
        self.tenant_field = tenant_field
        self.tenant = tenant
        self._strip = tenant_field  # what to remove again: the field, or an excluded parent of it

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
            self._strip = min(hiding, key=len)  # the outermost excluded key holding the field
            return models.PayloadSelectorExclude(exclude=[k for k in with_payload.exclude if k not in hiding]), True
        raise InvalidRequestError(f"unsupported with_payload value {with_payload!r}")

    def verify(self, points: list[models.ScoredPoint], strip: bool) -> None:
        """Raise if any point belongs to another tenant; strip the field if it was not requested."""
        if self.tenant_field is None:
            return
        for point in points:
            value = payload_value(point.payload, self.tenant_field)
            owned = value == self.tenant or (isinstance(value, list) and self.tenant in value)
            if not owned:
                raise GenseekError(
                    f"tenant isolation check failed: point {point.id!r} has {self.tenant_field}={value!r}, "
                    f"expected {self.tenant!r}. The backend ignored the tenant filter; nothing was returned."
                )
            if strip and point.payload is not None:
                _remove(point.payload, self._strip)  # type: ignore[arg-type]
                if not point.payload:
                    point.payload = None
