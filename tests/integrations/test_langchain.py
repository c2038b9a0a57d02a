"""genseek as a LangChain retriever: documents, provenance, options, async and batch."""

from __future__ import annotations

import asyncio

import pytest
from qdrant_client import models

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402

from genseek import AsyncGenerativeSearch, GenerativeSearch  # noqa: E402
from genseek.errors import ConfigError, InvalidRequestError  # noqa: E402
from genseek.integrations.langchain import GenerativeRetriever  # noqa: E402
from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.testkit import tiny_prior  # noqa: E402


@pytest.fixture(scope="module")
def retriever(search) -> GenerativeRetriever:
    return GenerativeRetriever(search, tenant="acme", search_kwargs={"k": 4, "n_seeds": 2})


def test_invoke_returns_documents_with_payload_and_provenance(retriever, search):
    docs = retriever.invoke("punk rock drums")
    assert len(docs) == 4 and all(isinstance(d, Document) for d in docs)
    expected = search.search("punk rock drums", n_seeds=2, limit=4, tenant="acme")
    assert [d.metadata["_id"] for d in docs] == expected.ids
    for doc, point in zip(docs, expected.points):
        assert doc.id == str(point.id)
        assert doc.page_content == point.payload["page_content"]
        assert doc.metadata["genre"] == point.payload["metadata"]["genre"]
        assert doc.metadata["_collection_name"] == "docs"
        assert doc.metadata["_score"] == pytest.approx(point.score)
        record = doc.metadata["genseek"]
        assert record["point_id"] == point.id and record["seeds"] == point.seeds
        assert record["found_by_anchor"] == point.found_by_anchor
        assert [hit["seed"] for hit in record["found_by"]] == point.seeds
    anchor_top = [d for d in docs if {"seed": 2, "rank": 0} in [
        {"seed": h["seed"], "rank": h["rank"]} for h in d.metadata["genseek"]["found_by"] if h["anchor"]]]
    assert [d.page_content for d in anchor_top] == ["punk rock with fast drums (acme)"]  # the query's nearest text
    assert all(set(d.metadata["genseek"]["seeds"]) <= {0, 1, 2} for d in docs)  # 2 seeds + the anchor (row 2)


def test_ainvoke_matches_invoke(retriever):
    sync = retriever.invoke("quiet folk")
    async_docs = asyncio.run(retriever.ainvoke("quiet folk"))
    assert [d.id for d in async_docs] == [d.id for d in sync]
    assert [d.metadata["genseek"] for d in async_docs] == [d.metadata["genseek"] for d in sync]


def test_batch_and_abatch(retriever):
    queries = ["rock anthem", "jazz piano", "folk fiddle"]
    batched = retriever.batch(queries)
    assert [[d.id for d in docs] for docs in batched] == [[d.id for d in retriever.invoke(q)] for q in queries]
    assert [[d.id for d in docs] for docs in asyncio.run(retriever.abatch(queries))] == [
        [d.id for d in docs] for docs in batched
    ]


def test_call_kwargs_override_search_kwargs(retriever):
    assert len(retriever.invoke("rock", k=2)) == 2
    plain = retriever.invoke("rock", anchor=False)
    assert plain and not any(d.metadata["genseek"]["found_by_anchor"] for d in plain)
    assert all(set(d.metadata["genseek"]["seeds"]) <= {0, 1} for d in plain)


def test_filter_in_search_kwargs_narrows(search):
    jazz = models.Filter(must=[models.FieldCondition(key="genre", match=models.MatchValue(value="jazz"))])
    docs = GenerativeRetriever(search, tenant="globex", search_kwargs={"k": 10, "filter": jazz}).invoke("rock")
    assert len(docs) == 4 and all(d.metadata["genre"] == "jazz" and "(globex)" in d.page_content for d in docs)


def test_payload_keys_are_configurable(search):
    flat = GenerativeRetriever(search, tenant="acme", content_payload_key="text", metadata_payload_key=None,
                               search_kwargs={"k": 3})
    docs = flat.invoke("garage rock")
    assert len(docs) == 3
    for doc in docs:
        assert doc.page_content == doc.metadata["page_content"] and "text" not in doc.metadata  # the whole payload
        assert doc.metadata["shop"] == "acme" and doc.metadata["_id"] == int(doc.id)


def test_builds_its_searcher_from_client_and_collection(docs_client, encoder, seed_vectors):
    from genseek.testing import FixedSeedsSampler

    built = GenerativeRetriever(
        client=docs_client, collection_name="docs", tenant="initech",
        search_options={"encoder": encoder, "sampler": FixedSeedsSampler(seed_vectors), "vector_name": "dense",
                        "tenant_field": "shop"},
        search_kwargs={"k": 3},
    )
    assert isinstance(built.searcher, GenerativeSearch) and built.tenant == "initech"
    assert [d.page_content.endswith("(initech)") for d in built.invoke("jazz")] == [True] * 3


def test_async_client_builds_an_async_searcher(async_search, encoder):
    built = GenerativeRetriever(
        client=async_search.adapter.client, collection_name="docs", tenant="acme",
        search_options={"encoder": encoder, "vector_name": "dense", "tenant_field": "shop"}, search_kwargs={"k": 2},
    )
    assert isinstance(built.searcher, AsyncGenerativeSearch)
    docs = asyncio.run(built.ainvoke("swing jazz"))
    assert len(docs) == 2 and docs[0].page_content == "swing jazz big band (acme)"


def test_diffusion_prior_controls_pass_through(docs_client, encoder):
    prior = GenerativeSearch(
        docs_client, "docs", encoder=encoder, sampler=DiffusionSampler(tiny_prior(target_dim=32, query_dim=32)),
        vector_name="dense", tenant_field="shop",
    )
    retriever = GenerativeRetriever(prior, tenant="acme", search_kwargs={
        "k": 5, "n_seeds": 4, "seed": 3, "preset": "fast", "guidance": 2.0, "negative": "live stadium",
    })
    docs = retriever.invoke("rock")
    assert len(docs) == 5 and all(set(d.metadata["genseek"]["seeds"]) <= {0, 1, 2, 3} for d in docs)
    assert [d.id for d in retriever.invoke("rock")] == [d.id for d in docs]  # seed= makes it reproducible
    with pytest.raises(InvalidRequestError, match="guidance"):  # the sampler itself checks the value
        retriever.invoke("rock", guidance="strong")


@pytest.mark.parametrize(
    ("search_kwargs", "message"),
    [
        ({"limit": 3}, "'limit'.*'k'"),
        ({"top_k": 3}, "'top_k'.*'k'"),
        ({"with_payload": False}, "'with_payload' is not accepted"),
        ({"vector": [0.0] * 32}, "'vector' is not accepted"),
        ({"guidance": 2.0}, "unknown search_kwargs key 'guidance'.*sampler's controls: none"),
        ({"n_seed": 2}, "unknown search_kwargs key 'n_seed'; accepted: .*n_seeds"),
    ],
)
def test_bad_search_kwargs_name_the_key(search, search_kwargs, message):
    with pytest.raises(InvalidRequestError, match=message):
        GenerativeRetriever(search, tenant="acme", search_kwargs=search_kwargs)


def test_bad_values_are_refused_before_searching(retriever):
    with pytest.raises(InvalidRequestError, match="filter must be a qdrant_client.models.Filter"):
        retriever.invoke("rock", filter={"shop": "globex"})
    with pytest.raises(InvalidRequestError, match="n_seeds"):
        retriever.invoke("rock", n_seeds=0)
    with pytest.raises(InvalidRequestError, match="letter or digit"):
        retriever.invoke("  ?! ")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs searcher="),
        ({"collection_name": "docs"}, "needs searcher="),
        ({"searcher": "not a searcher"}, "wraps a genseek searcher"),
        ({"client": "c", "collection_name": "docs", "search_options": {"sampler": "identity"}}, "needs 'encoder'"),
        ({"client": "c", "collection_name": "docs", "search_options": {"encoder": "x", "encodr": 1}}, "'encodr'"),
    ],
)
def test_bad_construction_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GenerativeRetriever(**kwargs)


def test_searcher_and_client_together_are_refused(search, docs_client):
    with pytest.raises(ConfigError, match="not both"):
        GenerativeRetriever(search, client=docs_client, collection_name="docs", tenant="acme")


def test_payload_that_does_not_fit_the_keys_is_a_config_error(search):
    with pytest.raises(ConfigError, match="'page_content' .* holds a str, not a metadata object.*metadata_payload_key"):
        GenerativeRetriever(search, tenant="acme", metadata_payload_key="page_content").invoke("rock")
    with pytest.raises(ConfigError, match="payload key 'meta' .* holds a dict, not text.*content_payload_key"):
        GenerativeRetriever(search, tenant="acme", content_payload_key="meta").invoke("rock")
