"""Haystack: :class:`GenerativeRetriever`, a Haystack component over genseek.

``pip install 'genseek[haystack]'`` (``haystack-ai`` only)::

    from haystack import Pipeline
    from genseek.integrations.haystack import GenerativeRetriever

    pipeline = Pipeline()
    pipeline.add_component("retriever", GenerativeRetriever(search, tenant="acme", top_k=5))
    documents = pipeline.run({"retriever": {"query": "energetic rock"}})["retriever"]["documents"]

``run(query, filters=None, top_k=None) -> {"documents": [...]}`` (``run_async`` too). Documents
follow the ``qdrant-haystack`` layout: ``content`` from the payload's ``content_key``
(``"content"``), ``meta`` from its ``meta_key`` object (``"meta"``; ``None``: the whole payload but
the content), ``id`` the payload's ``"id"`` string that ``qdrant-haystack`` stores (otherwise
``str(point.id)``), ``score`` the fused score. genseek's provenance is ``meta["genseek"]``.
``filters`` are Haystack filter dicts or ``qdrant_client.models.Filter`` (:mod:`._haystack_filters`),
AND-ed with the tenant condition by genseek.

Serialisation (``to_dict`` / ``from_dict``, ``Pipeline.dumps`` / ``loads``): a live client cannot be
serialised, so a component that ``from_dict`` can rebuild is made from either
``searcher_factory="package.module:function"`` (a function without arguments that returns the
searcher: anything ``GenerativeSearch`` can be built with, ``for_tenant`` included), or
``url=`` / ``path=`` (a Qdrant server, or a local-mode directory) + ``collection_name=`` +
``search_options=`` (JSON: component ids and options, e.g. ``{"encoder": "hf-text", "sampler":
"diffusion", "sampler_options": {"weights": "priors/music"}, "tenant_field": "shop"}``); the API key
is a Haystack ``Secret`` (default: ``$QDRANT_API_KEY`` when set). The searcher is built at
``warm_up()`` (``Pipeline.run`` calls it) or on the first run. ``tenant`` is serialised with the rest,
so a rebuilt component serves the same tenant. A component made from a live ``searcher=`` works the
same but refuses ``to_dict`` with a :class:`~genseek.errors.ConfigError` saying what to pass instead.
Haystack 3 deserialises only trusted modules:
``Pipeline.loads(text, allowed_modules=["genseek.integrations.haystack"])``.
"""

import asyncio
import importlib
import json
from typing import Any

from qdrant_client.http import models

from ..errors import ConfigError, InvalidRequestError, MissingDependencyError
from ._binding import PROVENANCE_KEY, BoundSearcher, bind, build_searcher, check_options, provenance, text_at
from ._haystack_filters import to_qdrant_filter

try:
    from haystack import Document, component, default_from_dict, default_to_dict
    from haystack.utils import Secret
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("genseek.integrations.haystack", "haystack-ai", "haystack") from exc

_OWNER = "GenerativeRetriever"
_COUNT_HINT = "set the number of documents with top_k= (of the component or of run)"
_POLICIES = ("replace", "merge")


@component
class GenerativeRetriever:
    """Generative search as a Haystack retriever component, bound to at most one tenant.

    Args:
        searcher: a live ``GenerativeSearch`` / ``AsyncGenerativeSearch`` (then only ``run_async``
            works) / ``GenerativeSearch.for_tenant(...)``; not serialisable.
        searcher_factory: ``"package.module:function"``, a function without arguments returning the searcher.
        url / path / api_key / collection_name / search_options: a client (``QdrantClient(url=...,
            api_key=...)`` or ``QdrantClient(path=...)``) and ``GenerativeSearch(client, collection_name,
            **search_options)``; ``search_options`` must name an ``encoder``.
        tenant: the tenant served, fixed for the component's lifetime (see
            :class:`genseek.integrations.langchain.GenerativeRetriever`).
        top_k: number of documents (default: the searcher's ``limit``); ``run(top_k=)`` overrides it.
        filters: default filters; ``filter_policy="replace"`` (default): the filters of a run replace
            them, ``"merge"``: both apply. The tenant condition applies either way.
        search_kwargs: other search options — ``n_seeds``, ``anchor`` / ``anchor_weight``,
            ``score_threshold``, ``offset``, ``seed``, ``candidates``, ``search_params``,
            ``consistency``, ``timeout``, ``shard_key_selector`` and the sampler's controls.
        content_key / meta_key: where the text and the metadata live in the payload.

    Raises:
        ConfigError: not exactly one source of the searcher, an unknown ``filter_policy``, a searcher and
            a tenant that do not fit (at construction or ``warm_up``).
        InvalidRequestError: a ``tenant`` (a request can never change the tenant), ``filter``, refused
            or unknown ``search_kwargs`` key, or malformed filters.
    """

    def __init__(
        self,
        searcher: Any = None,
        *,
        searcher_factory: str | None = None,
        url: str | None = None,
        path: str | None = None,
        api_key: Secret | None = None,
        collection_name: str | None = None,
        search_options: dict[str, Any] | None = None,
        tenant: str | int | None = None,
        top_k: int | None = None,
        filters: dict[str, Any] | models.Filter | None = None,
        filter_policy: str = "replace",
        search_kwargs: dict[str, Any] | None = None,
        content_key: str = "content",
        meta_key: str | None = "meta",
    ) -> None:
        sources = [name for name, value in (("searcher", searcher), ("searcher_factory", searcher_factory),
                                             ("url", url), ("path", path)) if value is not None]
        if len(sources) != 1:
            raise ConfigError(
                f"{_OWNER} needs exactly one of searcher= (live, not serialisable), searcher_factory="
                f"'package.module:function', url= or path= (+ collection_name=, search_options=); got "
                f"{', '.join(sources) or 'none'}"
            )
        built_here = url is not None or path is not None
        if built_here != (collection_name is not None) or (search_options and not built_here):
            raise ConfigError(
                f"{_OWNER}: collection_name= and search_options= go with url= or path=, and only with them"
            )
        if api_key is not None and url is None:
            raise ConfigError(f"{_OWNER}: api_key= only applies with url=")
        if searcher_factory is not None:
            _split_factory(searcher_factory)
        policy = getattr(filter_policy, "value", filter_policy)
        if policy not in _POLICIES:
            raise ConfigError(f"{_OWNER}: filter_policy must be 'replace' or 'merge', got {filter_policy!r}")
        self.searcher_factory, self.url, self.path, self.api_key = searcher_factory, url, path, api_key
        self.collection_name, self.search_options = collection_name, dict(search_options or {})
        self.tenant, self.top_k, self.filter_policy = tenant, top_k, policy
        self.search_kwargs = dict(search_kwargs or {})
        self.content_key, self.meta_key = content_key, meta_key
        self.filters = filters
        self._to_filter(filters)  # malformed filters fail here, not at the first run
        self._live = searcher is not None
        self._bound: BoundSearcher | None = None
        self._owned_client: Any = None
        self._search_options(controls=None)
        if searcher is not None:
            self._bind(searcher)

    # -- the searcher -----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Build the searcher (client, collection check) and bind the tenant; idempotent."""
        if self._bound is not None:
            return
        if self.searcher_factory is not None:
            module_name, attribute = _split_factory(self.searcher_factory)
            try:
                factory = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(
                    f"{_OWNER}: searcher_factory {self.searcher_factory!r} cannot be imported ({exc}); name an "
                    "importable function as 'package.module:function'"
                ) from exc
            self._bind(factory())
            return
        from qdrant_client import QdrantClient

        if self.url is not None:
            secret = self.api_key if self.api_key is not None else Secret.from_env_var("QDRANT_API_KEY", strict=False)
            client = QdrantClient(url=self.url, api_key=secret.resolve_value())
        else:
            try:
                client = QdrantClient(path=self.path)
            except RuntimeError as exc:  # qdrant-client's lock on a local-mode folder
                raise ConfigError(
                    f"{_OWNER}: Qdrant local-mode folder {self.path!r} is already open in this or another process "
                    f"({exc}); local mode allows one client per folder: share one searcher between components "
                    "with searcher_factory=, close the other component (close()), or use a Qdrant server (url=)"
                ) from exc
        collection: str = self.collection_name  # type: ignore[assignment]  # checked in __init__
        try:
            self._bind(build_searcher(client, collection, self.search_options, owner=_OWNER))
        except BaseException:
            client.close()  # do not keep the folder locked for a component that could not start
            raise
        self._owned_client = client

    def close(self) -> None:
        """Close the Qdrant client this component opened in :meth:`warm_up` (none for a searcher or a
        factory it was given, which belong to the caller); the next run opens a new one."""
        client, self._owned_client = self._owned_client, None
        if client is not None:
            self._bound = None
            client.close()

    def _bind(self, searcher: Any) -> None:
        bound = bind(searcher, tenant=self.tenant, owner=_OWNER)
        self._search_options(controls=bound.controls)
        self._bound = bound

    @property
    def searcher(self) -> Any:
        """The wrapped genseek searcher (``None`` before ``warm_up`` of a serialisable component)."""
        return None if self._bound is None else self._bound.searcher

    # -- requests -----------------------------------------------------------------------------------
    def _search_options(self, *, controls: frozenset[str] | None) -> dict[str, Any]:
        if "filter" in self.search_kwargs:
            raise InvalidRequestError(f"search_kwargs key 'filter': pass filters= to the {_OWNER} or to run")
        return check_options(
            self.search_kwargs, where="search_kwargs", count_name=None, controls=controls, count_hint=_COUNT_HINT
        )

    def _to_filter(self, filters: Any) -> models.Filter | None:
        return to_qdrant_filter(filters, content_key=self.content_key, meta_key=self.meta_key)

    def _request(self, filters: Any, top_k: int | None) -> tuple[BoundSearcher, dict[str, Any]]:
        self.warm_up()
        assert self._bound is not None
        options = self._search_options(controls=self._bound.controls)
        flt = self._to_filter(self.filters)
        if filters is not None:
            given = self._to_filter(filters)
            flt = given if self.filter_policy == "replace" or flt is None else models.Filter(must=[flt, given])
        if flt is not None:
            options["filter"] = flt
        count = top_k if top_k is not None else self.top_k
        if count is not None:
            options["limit"] = count
        return self._bound, options

    @component.output_types(documents=list[Document])
    def run(self, query: str, filters: dict[str, Any] | models.Filter | None = None, top_k: int | None = None):
        """Retrieve the documents for ``query`` as the bound tenant.

        Args:
            query: the text to search for.
            filters: Haystack filters or a ``models.Filter`` (see ``filter_policy``); never wider than the tenant.
            top_k: number of documents for this run.

        Returns:
            ``{"documents": [Document, ...]}``, best first.
        """
        bound, options = self._request(filters, top_k)
        return {"documents": self._documents(bound.search(query, options))}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, filters: dict[str, Any] | models.Filter | None = None, top_k: int | None = None
    ):
        """Async twin of :meth:`run` (a synchronous searcher, and building it, run in a worker thread)."""
        if self._bound is None:
            await asyncio.to_thread(self.warm_up)
        bound, options = self._request(filters, top_k)
        return {"documents": self._documents(await bound.asearch(query, options))}

    def _documents(self, result: Any) -> list[Document]:
        return [self._document(point) for point in result.points]

    def _document(self, point: Any) -> Document:
        payload = point.payload or {}
        content = (
            text_at(payload, self.content_key, point.id, option="content_key", owner=_OWNER)
            if self.content_key in payload else None
        )
        if self.meta_key is None:
            meta = {k: v for k, v in payload.items() if k != self.content_key}
        else:
            stored = payload.get(self.meta_key)
            if stored is not None and not isinstance(stored, dict):
                raise ConfigError(
                    f"{_OWNER}: payload key {self.meta_key!r} of point {point.id!r} holds a {type(stored).__name__}, "
                    "not a metadata object; set meta_key= to the key that holds it, or None to use the whole payload"
                )
            meta = dict(stored or {})
        meta[PROVENANCE_KEY] = provenance(point)
        doc_id = payload["id"] if isinstance(payload.get("id"), str) else str(point.id)
        return Document(id=doc_id, content=content, meta=meta, score=point.score)

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The configuration ``from_dict`` rebuilds this component from (see the module docs).

        Raises:
            ConfigError: the component wraps a live searcher, or an option is not JSON data.
        """
        if self._live:
            raise ConfigError(
                f"{_OWNER} was built from a live searcher, which cannot be serialised; build it with "
                "searcher_factory='package.module:function' or url=/path= + collection_name= + search_options= "
                "so that from_dict can rebuild it"
            )
        filters = self.filters
        if isinstance(filters, models.Filter):
            filters = filters.model_dump(mode="json", exclude_none=True)
        for name, value in (("search_options", self.search_options), ("search_kwargs", self.search_kwargs),
                            ("filters", filters)):
            _check_json(name, value)
        return default_to_dict(
            self, searcher_factory=self.searcher_factory, url=self.url, path=self.path, api_key=self.api_key,
            collection_name=self.collection_name, search_options=self.search_options, tenant=self.tenant,
            top_k=self.top_k, filters=filters, filter_policy=self.filter_policy, search_kwargs=self.search_kwargs,
            content_key=self.content_key, meta_key=self.meta_key,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GenerativeRetriever":
        """Rebuild a component from :meth:`to_dict` output (the searcher is built at ``warm_up``)."""
        return default_from_dict(cls, data)


def _split_factory(spec: Any) -> tuple[str, str]:
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise ConfigError(f"{_OWNER}: searcher_factory must be 'package.module:function', got {spec!r}")
    module_name, attribute = spec.split(":")
    return module_name, attribute


def _check_json(name: str, value: Any) -> None:
    items = value.items() if isinstance(value, dict) else [(None, value)]
    for key, item in items:
        try:
            json.dumps(item)
        except (TypeError, ValueError) as exc:
            where = name if key is None else f"{name}[{key!r}]"
            raise ConfigError(
                f"{_OWNER}.to_dict: {where} is not JSON data ({type(item).__name__}); give components by id with "
                "JSON options, or build the searcher in a searcher_factory"
            ) from exc


__all__ = ["GenerativeRetriever"]
