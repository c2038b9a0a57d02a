"""LlamaIndex: :class:`GenerativeRetriever`, a ``llama_index.core`` retriever over genseek.

``pip install 'genseek[llamaindex]'`` (``llama-index-core`` only; nothing here downloads tokenizer
or NLTK data)::

    from genseek.integrations.llamaindex import GenerativeRetriever

    retriever = GenerativeRetriever(search, tenant="acme", similarity_top_k=5)
    nodes = retriever.retrieve("energetic rock")        # aretrieve too; or RetrieverQueryEngine(retriever)

Points become nodes as ``llama_index.vector_stores.qdrant.QdrantVectorStore`` reads them: a
payload written by that store (``_node_content``) is restored as the node it saved; any other
payload becomes a ``TextNode`` with id ``str(point.id)``, text from ``text_key`` (``"text"``) and
the rest of the payload as metadata. ``NodeWithScore.score`` is the fused score. genseek's
provenance is ``node.metadata["genseek"]``, kept out of the text shown to LLMs and embedders.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingDependencyError
from ._binding import PROVENANCE_KEY, BoundRetriever, BoundSearcher, bind, check_options, provenance, text_at

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.callbacks.base import CallbackManager
    from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle, TextNode
    from llama_index.core.vector_stores.utils import legacy_metadata_dict_to_node, metadata_dict_to_node
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("genseek.integrations.llamaindex", "llama-index-core", "llamaindex") from exc

#: Payload keys that LlamaIndex's Qdrant store writes for itself (never node metadata).
_STORE_KEYS = ("_node_content", "_node_type")
_COUNT_HINT = "set the number of nodes with GenerativeRetriever(similarity_top_k=...)"


class GenerativeRetriever(BoundRetriever, BaseRetriever):
    """Generative search as a LlamaIndex retriever, bound to at most one tenant.

    Args:
        searcher / client / collection_name / search_options / tenant: what to search and as which
            tenant, as for :class:`genseek.integrations.langchain.GenerativeRetriever`: a
            ``GenerativeSearch`` (an ``AsyncGenerativeSearch`` serves ``aretrieve`` only),
            ``GenerativeSearch.for_tenant(...)``, or the arguments to build one; ``tenant`` is fixed
            for the retriever's lifetime.
        similarity_top_k: number of nodes (default: the searcher's ``limit``).
        search_kwargs: per-request options — ``n_seeds``, ``filter`` (a ``qdrant_client.models.Filter``,
            AND-ed with the tenant condition by genseek), ``anchor`` / ``anchor_weight``,
            ``score_threshold``, ``offset``, ``seed``, ``candidates``, ``search_params``, ``consistency``,
            ``timeout``, ``shard_key_selector`` and the sampler's controls (``guidance``, ``negative`` ...).
        text_key: payload key of the text of payloads not written by LlamaIndex.
        callback_manager / verbose: as for every LlamaIndex retriever.

    Raises:
        ConfigError: a searcher and a tenant that do not fit.
        InvalidRequestError: a ``tenant`` key (a request can never change the tenant), a refused or
            unknown ``search_kwargs`` key — at construction and on every retrieval.
    """

    def __init__(
        self,
        searcher: Any = None,
        *,
        client: Any = None,
        collection_name: str | None = None,
        search_options: dict[str, Any] | None = None,
        tenant: Any = None,
        similarity_top_k: int | None = None,
        search_kwargs: dict[str, Any] | None = None,
        text_key: str = "text",
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        self._bound: BoundSearcher = bind(
            searcher, client=client, collection_name=collection_name, search_options=search_options, tenant=tenant,
            owner="GenerativeRetriever",
        )
        self.similarity_top_k = similarity_top_k
        self.search_kwargs: dict[str, Any] = dict(search_kwargs or {})
        self.text_key = text_key
        self._search_options()
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _search_options(self) -> dict[str, Any]:
        options = check_options(
            self.search_kwargs, where="search_kwargs", count_name=None, controls=self._bound.controls,
            count_hint=_COUNT_HINT,
        )
        if self.similarity_top_k is not None:
            options["limit"] = self.similarity_top_k
        return options

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        options = self._search_options()
        return self._nodes(self._bound.search(query_bundle.query_str, options))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        options = self._search_options()
        return self._nodes(await self._bound.asearch(query_bundle.query_str, options))

    def _nodes(self, result: Any) -> list[NodeWithScore]:
        return [NodeWithScore(node=self._node(point), score=point.score) for point in result.points]

    def _node(self, point: Any) -> BaseNode:
        payload = dict(point.payload or {})
        node = _stored_node(payload)
        if node is None:
            try:
                metadata, _, relationships = legacy_metadata_dict_to_node(payload, text_key=self.text_key)
            except (ValueError, TypeError):  # ordinary keys named like LlamaIndex's legacy ones (node_info, …)
                metadata = {k: v for k, v in payload.items() if k != self.text_key}
                relationships = {}
            for key in _STORE_KEYS:
                metadata.pop(key, None)
            text = text_at(payload, self.text_key, point.id, option="text_key", owner="GenerativeRetriever")
            node = TextNode(id_=str(point.id), text=text, metadata=metadata, relationships=relationships)
        node.metadata[PROVENANCE_KEY] = provenance(point)
        for excluded in (node.excluded_llm_metadata_keys, node.excluded_embed_metadata_keys):
            if PROVENANCE_KEY not in excluded:
                excluded.append(PROVENANCE_KEY)
        return node


def _stored_node(payload: dict[str, Any]) -> BaseNode | None:
    """The node LlamaIndex's Qdrant store saved in this payload, or ``None`` (also for a corrupt one,
    which is then read like any other payload, as that store does)."""
    if "_node_content" not in payload:
        return None
    try:
        return metadata_dict_to_node(payload)
    except (ValueError, TypeError):  # pydantic's ValidationError and json's JSONDecodeError are ValueErrors
        return None


__all__ = ["GenerativeRetriever"]
