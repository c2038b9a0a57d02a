"""What the framework retrievers share: a searcher bound to one tenant, option checks, provenance.

Contract:

* :func:`bind` turns what a retriever was built with — a searcher, or a client + collection name +
  ``GenerativeSearch`` options — into a :class:`BoundSearcher`, fixed to one tenant for its
  lifetime: a searcher from ``GenerativeSearch.for_tenant(...)`` is bound to its tenant; a searcher
  with a ``tenant_field`` needs ``tenant=`` (the partition value) and gets it on every search; a
  searcher without one serves a single-tenant collection and refuses ``tenant=``.
* :func:`check_options` checks the per-request options a framework user passes (LangChain's
  ``search_kwargs``, ...): ``tenant`` is always refused — a request can never set or change the
  tenant —, so are keys that would break the documents (``with_payload``, ``with_vectors``) and any
  key that is neither a search option nor a control of the searcher's sampler. The caller's filter
  is only ever AND-ed with the tenant condition by genseek itself (:func:`genseek.scope.scoped_filter`).
* :func:`provenance` is the JSON-ready record each document carries under :data:`PROVENANCE_KEY`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, InvalidRequestError
from ..result import GenerativePoint, SearchResult
from ..search import AsyncGenerativeSearch, GenerativeSearch
from ..scope import check_tenant_value
from ..tenants.bound import AsyncTenantSearch, TenantSearch

#: Metadata key of genseek's provenance record in every framework's documents.
PROVENANCE_KEY = "genseek"

#: Per-request options a retriever passes on to ``search`` (besides the result count and the
#: sampler's own controls such as ``guidance`` or ``negative``).
SEARCH_OPTIONS: frozenset[str] = frozenset(
    {"n_seeds", "filter", "offset", "seed", "score_threshold", "candidates", "search_params", "consistency",
     "timeout", "anchor", "anchor_weight", "shard_key_selector"}
)
#: Names of the result count in the frameworks (each retriever accepts only its own).
_COUNT_NAMES = ("k", "limit", "top_k", "similarity_top_k")
_REFUSED = {
    "query": "the query comes from the framework's call (invoke / retrieve / run)",
    "vector": "the query comes from the framework's call (invoke / retrieve / run)",
    "with_payload": "the retriever always reads the whole payload to build its documents",
    "with_vectors": "the retriever returns documents, not vectors",
}
_SEARCHER_TYPES = (GenerativeSearch, AsyncGenerativeSearch, TenantSearch, AsyncTenantSearch)


class BoundSearcher:
    """A searcher and the one tenant every request of a retriever runs as.

    Attributes:
        searcher: the wrapped ``GenerativeSearch`` / ``AsyncGenerativeSearch`` / tenant-bound searcher.
        tenant: the tenant it is bound to — the tenant id of a ``for_tenant`` searcher, the partition
            value of a searcher with a ``tenant_field`` — or ``None`` for a single-tenant searcher.
        is_async: whether requests must be awaited (``AsyncGenerativeSearch`` / ``AsyncTenantSearch``).
    """

    def __init__(self, searcher: Any, tenant: Any, *, owner: str) -> None:
        if not isinstance(searcher, _SEARCHER_TYPES):
            raise ConfigError(
                f"{owner} wraps a genseek searcher: a GenerativeSearch, an AsyncGenerativeSearch or "
                f"GenerativeSearch.for_tenant(...); got {type(searcher).__name__}"
            )
        self.searcher = searcher
        self.owner = owner
        self.is_async = isinstance(searcher, (AsyncGenerativeSearch, AsyncTenantSearch))
        self._partition: Any = None
        if isinstance(searcher, (TenantSearch, AsyncTenantSearch)):
            if tenant is not None and tenant != searcher.tenant:
                raise ConfigError(
                    f"{owner}: the searcher is bound to tenant {searcher.tenant!r} and cannot serve tenant "
                    f"{tenant!r}; build it with GenerativeSearch.for_tenant({tenant!r}, ...) instead"
                )
            self.tenant = searcher.tenant
            return
        tenant_field = searcher.planner.tenant_field
        if tenant_field is None:
            if tenant is not None:
                raise ConfigError(
                    f"{owner}: tenant={tenant!r} was given but the searcher has no tenant_field; create it with "
                    "GenerativeSearch(..., tenant_field='<payload key>') or pass GenerativeSearch.for_tenant(...)"
                )
            self.tenant = None
            return
        if tenant is None:
            raise ConfigError(
                f"{owner}: the searcher is scoped by the payload field {tenant_field!r}; bind the retriever to "
                "one tenant with tenant=<value> (or pass GenerativeSearch.for_tenant(...))"
            )
        self.tenant = self._partition = check_tenant_value(tenant)

    @property
    def collection_name(self) -> str | None:
        """The collection searched (``None`` for an async tenant searcher before its first search)."""
        if isinstance(self.searcher, (TenantSearch, AsyncTenantSearch)):
            config = self.searcher.config
            return None if config is None else config.collection
        return self.searcher.planner.collection

    @property
    def controls(self) -> frozenset[str] | None:
        """The sampler's control names, or ``None`` while unknown (a tenant searcher not yet built)."""
        inner = self.searcher
        if isinstance(inner, (TenantSearch, AsyncTenantSearch)):
            inner = inner.searcher
        return None if inner is None else frozenset(inner.planner.sampler.info.controls)

    def search(self, query: Any, options: Mapping[str, Any]) -> SearchResult:
        """Run one search as the bound tenant (``options``: :func:`check_options` output)."""
        if self.is_async:
            raise ConfigError(
                f"{self.owner} wraps an async searcher ({type(self.searcher).__name__}): call the framework's async "
                "method (ainvoke / aretrieve / run_async), or build the retriever with a synchronous GenerativeSearch"
            )
        if isinstance(self.searcher, TenantSearch):
            return self.searcher.search(query, **options)
        return self.searcher.search(query, tenant=self._partition, **options)

    async def asearch(self, query: Any, options: Mapping[str, Any]) -> SearchResult:
        """Async twin of :meth:`search`; a synchronous searcher runs in a worker thread."""
        if not self.is_async:
            return await asyncio.to_thread(self.search, query, options)
        if isinstance(self.searcher, AsyncTenantSearch):
            return await self.searcher.search(query, **options)
        return await self.searcher.search(query, tenant=self._partition, **options)


class BoundRetriever:
    """Mixin: ``searcher`` and ``tenant`` of a retriever that keeps its :class:`BoundSearcher` in ``_bound``."""

    _bound: BoundSearcher

    @property
    def searcher(self) -> Any:
        """The wrapped genseek searcher."""
        return self._bound.searcher

    @property
    def tenant(self) -> Any:
        """The tenant every request runs as (``None``: a single-tenant searcher)."""
        return self._bound.tenant


def bind(
    searcher: Any = None,
    *,
    client: Any = None,
    collection_name: str | None = None,
    search_options: Mapping[str, Any] | None = None,
    tenant: Any = None,
    owner: str,
) -> BoundSearcher:
    """Bind a retriever to its searcher and tenant (see :class:`BoundSearcher` for the tenant rules).

    Either ``searcher`` or ``client`` + ``collection_name`` (+ ``search_options``, the other
    ``GenerativeSearch`` arguments) builds a ``GenerativeSearch``, or an ``AsyncGenerativeSearch``
    for an ``AsyncQdrantClient``.

    Raises:
        ConfigError: both or neither given, an unknown search option, or a tenant that does not fit.
    """
    if searcher is not None:
        if client is not None or collection_name is not None or search_options:
            raise ConfigError(
                f"{owner}: pass either searcher= or client= + collection_name= (+ search_options=), not both"
            )
    elif client is None or collection_name is None:
        raise ConfigError(
            f"{owner} needs searcher= (a GenerativeSearch, or GenerativeSearch.for_tenant(...)) or "
            "client= and collection_name= (+ search_options=) to build one"
        )
    else:
        searcher = build_searcher(client, collection_name, search_options, owner=owner)
    return BoundSearcher(searcher, tenant, owner=owner)


def build_searcher(client: Any, collection_name: str, options: Mapping[str, Any] | None, *, owner: str) -> Any:
    """``GenerativeSearch(client, collection_name, **options)`` (the async twin for an async client)."""
    from qdrant_client import AsyncQdrantClient

    cls = AsyncGenerativeSearch if isinstance(client, AsyncQdrantClient) else GenerativeSearch
    options = dict(options or {})
    accepted = set(inspect.signature(GenerativeSearch.__init__).parameters) - {"self", "client", "collection"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"{owner}: search_options key(s) {', '.join(map(repr, unknown))} are not GenerativeSearch arguments; "
            f"accepted: {', '.join(sorted(accepted))}"
        )
    if options.get("encoder") is None:
        raise ConfigError(
            f"{owner}: search_options needs 'encoder' (an encoder id such as 'hf-text', or an Encoder): "
            "a retriever searches with the text of the query"
        )
    return cls(client, collection_name, **options)


def check_options(
    options: Mapping[str, Any],
    *,
    where: str,
    count_name: str | None,
    controls: frozenset[str] | None,
    count_hint: str,
) -> dict[str, Any]:
    """Check a retriever's per-request options and return the ``search`` keyword arguments.

    Args:
        options: what the user passed (e.g. LangChain's ``search_kwargs`` merged with call kwargs).
        where: how the user knows them, for messages (``"search_kwargs"``).
        count_name: the framework's name of the result count accepted here (``"k"``), mapped to
            ``limit``; ``None`` when the count is a separate parameter (then every count name is refused).
        controls: the sampler's control names (``None``: not known yet; the search checks them).
        count_hint: how to set the result count instead, for the message of a refused count name.

    Raises:
        InvalidRequestError: ``tenant`` (never settable per request), a refused or unknown key.
    """
    if not isinstance(options, Mapping):
        raise InvalidRequestError(f"{where} must be a dict of search options, got {type(options).__name__}")
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key == "tenant":
            raise InvalidRequestError(
                f"{where} key 'tenant': the retriever is bound to one tenant when it is built and a request can "
                "never set or change it; build another retriever (tenant=..., or GenerativeSearch.for_tenant) "
                "for another tenant"
            )
        if key == count_name:
            out["limit"] = value
        elif key in _COUNT_NAMES:
            raise InvalidRequestError(f"{where} key {key!r}: {count_hint}")
        elif key in _REFUSED:
            raise InvalidRequestError(f"{where} key {key!r} is not accepted: {_REFUSED[key]}")
        elif key in SEARCH_OPTIONS or controls is None or key in controls:
            out[key] = value
        else:
            known = sorted(SEARCH_OPTIONS | controls | ({count_name} if count_name else set()))
            raise InvalidRequestError(
                f"unknown {where} key {key!r}; accepted: {', '.join(known)} "
                f"(the sampler's controls: {', '.join(sorted(controls)) or 'none'})"
            )
    return out


def provenance(point: GenerativePoint) -> dict[str, Any]:
    """The point's provenance as JSON-ready data: its Qdrant id, the seeds that found it (indices of
    ``SearchResult.seeds``; an anchored search's anchor row included), whether the anchor did,
    and each seed's rank and raw score. Empty lists when the search ran with ``provenance=False``."""
    return {
        "point_id": point.id,
        "seeds": list(point.seeds),
        "found_by_anchor": point.found_by_anchor,
        "found_by": [hit.model_dump() for hit in point.found_by],
    }


def text_at(payload: Mapping[str, Any], key: str, point_id: Any, *, option: str, owner: str) -> str:
    """The text stored under ``key`` (``""`` when the key is absent, as the Qdrant vector stores do).

    Raises:
        ConfigError: the key holds something other than text (``option`` names the setting to fix).
    """
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(
            f"{owner}: payload key {key!r} of point {point_id!r} holds a {type(value).__name__}, not text; "
            f"set {option}= to the payload key that holds the document's text"
        )
    return value


__all__ = ["PROVENANCE_KEY", "SEARCH_OPTIONS", "BoundSearcher", "bind", "build_searcher", "check_options", "provenance"]
