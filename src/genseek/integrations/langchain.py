"""LangChain: :class:`GenerativeRetriever`, a ``langchain_core`` retriever over genseek.

``pip install 'genseek[langchain]'`` (``langchain-core`` only)::

    from genseek.integrations.langchain import GenerativeRetriever

    retriever = GenerativeRetriever(search, tenant="acme", search_kwargs={"k": 5, "n_seeds": 8})
    docs = retriever.invoke("energetic rock")          # ainvoke / batch / abatch work too

Documents follow ``langchain_qdrant.QdrantVectorStore``'s conventions: ``page_content`` is the
payload's ``content_payload_key`` (``"page_content"``), ``metadata`` its ``metadata_payload_key``
(``"metadata"``; ``None``: the whole payload but the content), plus ``_id``, ``_collection_name``
and ``_score`` (the fused score); ``Document.id`` is the point id as a string. genseek's provenance
— which seeds found the point, whether the anchor did — is ``metadata["genseek"]``
(:func:`genseek.integrations._binding.provenance`).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, MissingDependencyError
from ._binding import PROVENANCE_KEY, BoundRetriever, BoundSearcher, bind, check_options, provenance, text_at

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import Field, PrivateAttr
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("genseek.integrations.langchain", "langchain-core", "langchain") from exc

_COUNT_HINT = "set the number of documents with 'k' (LangChain's name for it)"


class GenerativeRetriever(BoundRetriever, BaseRetriever):
    """Generative search as a LangChain retriever, bound to at most one tenant.

    Args:
        searcher: a :class:`~genseek.GenerativeSearch`, an :class:`~genseek.AsyncGenerativeSearch`
            (then only ``ainvoke`` / ``abatch`` work) or ``GenerativeSearch.for_tenant(...)``.
        client / collection_name / search_options: instead of ``searcher``, build one:
            ``GenerativeSearch(client, collection_name, **search_options)`` (the async twin for an
            ``AsyncQdrantClient``); ``search_options`` must name an ``encoder``.
        tenant: the tenant this retriever serves, fixed for its lifetime: required (the partition
            value) when the searcher has a ``tenant_field``; for a ``for_tenant`` searcher it may only
            repeat that searcher's tenant.
        search_kwargs: per-request options — ``k`` (number of documents; default: the searcher's
            ``limit``), ``n_seeds``, ``filter`` (a ``qdrant_client.models.Filter``, AND-ed with the
            tenant condition by genseek), ``anchor`` / ``anchor_weight``, ``score_threshold``,
            ``offset``, ``seed``, ``candidates``, ``search_params``, ``consistency``, ``timeout``,
            ``shard_key_selector`` and the sampler's controls (``guidance``, ``negative`` ...).
            Keyword arguments of ``invoke`` override them per call.
        content_payload_key / metadata_payload_key: where the text and the metadata live in the payload.

    Raises:
        ConfigError: a searcher and a tenant that do not fit (see :func:`~genseek.integrations._binding.bind`).
        InvalidRequestError: a ``tenant`` key (a request can never change the tenant), a refused or
            unknown ``search_kwargs`` key — at construction and on every call.
    """

    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    content_payload_key: str = "page_content"
    metadata_payload_key: str | None = "metadata"

    _bound: BoundSearcher = PrivateAttr()

    def __init__(
        self,
        searcher: Any = None,
        *,
        client: Any = None,
        collection_name: str | None = None,
        search_options: dict[str, Any] | None = None,
        tenant: Any = None,
        **fields: Any,
    ) -> None:
        bound = bind(
            searcher, client=client, collection_name=collection_name, search_options=search_options, tenant=tenant,
            owner="GenerativeRetriever",
        )
        super().__init__(**fields)
        self._bound = bound
        self._search_options({})

    def _search_options(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return check_options(
            {**self.search_kwargs, **overrides}, where="search_kwargs", count_name="k",
            controls=self._bound.controls, count_hint=_COUNT_HINT,
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        options = self._search_options(kwargs)
        return self._documents(self._bound.search(query, options))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        options = self._search_options(kwargs)
        return self._documents(await self._bound.asearch(query, options))

    def _documents(self, result: Any) -> list[Document]:
        collection = self._bound.collection_name
        return [self._document(point, collection) for point in result.points]

    def _document(self, point: Any, collection: str | None) -> Document:
        payload = point.payload or {}
        content = text_at(
            payload, self.content_payload_key, point.id, option="content_payload_key", owner="GenerativeRetriever"
        )
        if self.metadata_payload_key is None:
            metadata = {k: v for k, v in payload.items() if k != self.content_payload_key}
        else:
            stored = payload.get(self.metadata_payload_key)
            if stored is not None and not isinstance(stored, dict):
                raise ConfigError(
                    f"GenerativeRetriever: payload key {self.metadata_payload_key!r} of point {point.id!r} holds a "
                    f"{type(stored).__name__}, not a metadata object; set metadata_payload_key= to the key that "
                    "holds it, or None to use the whole payload"
                )
            metadata = dict(stored or {})
        metadata.update(
            {"_id": point.id, "_collection_name": collection, "_score": point.score, PROVENANCE_KEY: provenance(point)}
        )
        return Document(id=str(point.id), page_content=content, metadata=metadata)


__all__ = ["GenerativeRetriever"]
