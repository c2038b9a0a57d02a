"""Retrievers for LLM frameworks: LangChain, LlamaIndex and Haystack on top of genseek.

One module per framework, each an optional extra that pulls only that framework's core package:

* :mod:`genseek.integrations.langchain` — ``GenerativeRetriever``, a ``langchain_core`` retriever
  (``pip install 'genseek[langchain]'``);
* :mod:`genseek.integrations.llamaindex` — ``GenerativeRetriever``, a ``llama_index.core``
  retriever (``pip install 'genseek[llamaindex]'``);
* :mod:`genseek.integrations.haystack` — ``GenerativeRetriever``, a Haystack component
  (``pip install 'genseek[haystack]'``).

Every retriever wraps a :class:`~genseek.GenerativeSearch` (or its async twin, or a tenant-bound
searcher from ``GenerativeSearch.for_tenant``) and is bound to at most one tenant when it is built:
no query, option or filter can change or widen that tenant (:mod:`genseek.integrations._binding`).
Documents carry the point's payload and genseek's provenance under the metadata key ``"genseek"``.

This package imports nothing itself: importing it never imports a framework.
"""
