"""A retriever serves one tenant, whatever its options, filters or calls say (all three frameworks)."""

from __future__ import annotations

import asyncio

import pytest

from genseek import GenerativeSearch
from genseek.errors import ConfigError, InvalidRequestError

FRAMEWORKS = ("langchain", "llamaindex", "haystack")


def retriever(framework: str, searcher, *, tenant=None, k: int = 12, options: dict | None = None, filter=None):
    """A framework retriever over ``searcher``: result count ``k``, search ``options`` and ``filter``."""
    options = dict(options or {})
    if filter is not None and framework != "haystack":
        options["filter"] = filter
    if framework == "langchain":
        from genseek.integrations.langchain import GenerativeRetriever

        return GenerativeRetriever(searcher, tenant=tenant, search_kwargs={"k": k, **options})
    if framework == "llamaindex":
        from genseek.integrations.llamaindex import GenerativeRetriever

        return GenerativeRetriever(searcher, tenant=tenant, similarity_top_k=k, search_kwargs=options)
    from genseek.integrations.haystack import GenerativeRetriever

    return GenerativeRetriever(searcher, tenant=tenant, top_k=k, filters=filter, search_kwargs=options)


def point_ids(framework: str, retriever_, query: str = "rock", *, run_async: bool = False) -> list[int]:
    """Retrieve through the framework's own public call and return the Qdrant point ids."""
    if framework == "langchain":
        docs = asyncio.run(retriever_.ainvoke(query)) if run_async else retriever_.invoke(query)
        return [d.metadata["_id"] for d in docs]
    if framework == "llamaindex":
        nodes = asyncio.run(retriever_.aretrieve(query)) if run_async else retriever_.retrieve(query)
        return [n.node.metadata["genseek"]["point_id"] for n in nodes]
    out = asyncio.run(retriever_.run_async(query)) if run_async else retriever_.run(query)
    return [d.meta["genseek"]["point_id"] for d in out["documents"]]


@pytest.fixture(params=FRAMEWORKS)
def framework(request) -> str:
    return request.param


def test_bound_retriever_returns_only_its_tenant(framework, search, shop_of):
    ids = point_ids(framework, retriever(framework, search, tenant="globex"))
    assert len(ids) == 12 and {shop_of(i) for i in ids} == {"globex"}


@pytest.mark.parametrize("run_async", [False, True])
def test_no_filter_reaches_another_tenant(framework, search, shop_of, attack, run_async):
    ids = point_ids(framework, retriever(framework, search, tenant="acme", filter=attack), run_async=run_async)
    assert all(shop_of(i) == "acme" for i in ids)


def test_an_or_filter_still_returns_the_tenants_own_documents(framework, search, shop_of):
    from qdrant_client import models

    either = models.Filter(should=[models.FieldCondition(key="shop", match=models.MatchAny(any=["acme", "globex"]))])
    ids = point_ids(framework, retriever(framework, search, tenant="acme", filter=either))
    assert len(ids) == 12 and {shop_of(i) for i in ids} == {"acme"}  # not vacuous: the tenant's 12 documents


def test_tenant_in_search_options_is_refused(framework, search):
    with pytest.raises(InvalidRequestError, match="'tenant'.*bound to one tenant"):
        retriever(framework, search, tenant="acme", options={"tenant": "globex"})


def test_tenant_slipped_into_options_later_is_refused_on_the_call(framework, search):
    built = retriever(framework, search, tenant="acme")
    built.search_kwargs["tenant"] = "globex"
    with pytest.raises(InvalidRequestError, match="'tenant'"):
        point_ids(framework, built)


def test_searcher_with_tenant_field_needs_a_tenant(framework, search):
    with pytest.raises(ConfigError, match="tenant_field|scoped by the payload field 'shop'"):
        retriever(framework, search)


def test_tenant_without_tenant_field_is_refused(framework, docs_client, make_search):
    unscoped = make_search(docs_client, tenant_field=None)
    with pytest.raises(ConfigError, match="no tenant_field"):
        retriever(framework, unscoped, tenant="acme")


@pytest.mark.parametrize("bad", ["", " acme", True, 1.0, "ac\u200bme"])
def test_invalid_tenant_values_are_refused(framework, search, bad):
    with pytest.raises(InvalidRequestError, match="tenant"):
        retriever(framework, search, tenant=bad)


def test_for_tenant_searcher_is_bound_to_its_tenant(framework, docs_client, tenant_config, registry, shop_of, attack):
    acme = GenerativeSearch.for_tenant("acme", client=docs_client, config=tenant_config, registry=registry)
    built = retriever(framework, acme, filter=attack)
    assert built.searcher.tenant == "acme"
    assert all(shop_of(i) == "acme" for i in point_ids(framework, built))


def test_for_tenant_searcher_cannot_be_rebound(framework, docs_client, tenant_config, registry):
    acme = GenerativeSearch.for_tenant("acme", client=docs_client, config=tenant_config, registry=registry)
    with pytest.raises(ConfigError, match="bound to tenant 'acme' and cannot serve tenant 'globex'"):
        retriever(framework, acme, tenant="globex")


def test_for_tenant_allowed_overrides_still_apply(docs_client, tenant_config, registry):
    from genseek.integrations.langchain import GenerativeRetriever

    acme = GenerativeSearch.for_tenant("acme", client=docs_client, config=tenant_config, registry=registry)
    with pytest.raises(InvalidRequestError, match="does not allow requests to set offset"):
        GenerativeRetriever(acme, search_kwargs={"offset": 2}).invoke("rock")
    assert len(GenerativeRetriever(acme).invoke("rock")) == 5  # the tenant's own default limit


def test_async_searcher_is_bound_too(framework, async_search, shop_of, attack):
    ids = point_ids(framework, retriever(framework, async_search, tenant="initech", filter=attack), run_async=True)
    assert all(shop_of(i) == "initech" for i in ids)


def test_async_searcher_refuses_synchronous_calls(framework, async_search):
    with pytest.raises(ConfigError, match="async searcher"):
        point_ids(framework, retriever(framework, async_search, tenant="acme"))
