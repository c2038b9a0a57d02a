"""genseek as a Haystack component: run / run_async / Pipeline, filters, to_dict / from_dict."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from inspect import signature

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

pytest.importorskip("haystack")

from haystack import Document, Pipeline  # noqa: E402

import genseek.plugin.registry  # noqa: E402
from genseek.errors import ConfigError, GenseekError, InvalidRequestError  # noqa: E402
from genseek.integrations._haystack_filters import to_qdrant_filter  # noqa: E402
from genseek.integrations.haystack import GenerativeRetriever  # noqa: E402

ACME_ONLY_OPTIONS = {"encoder": "hashing", "encoder_options": {"dim": 32}, "sampler": "identity",
                     "vector_name": "dense", "tenant_field": "shop"}


@pytest.fixture(scope="module")
def component(search) -> GenerativeRetriever:
    return GenerativeRetriever(search, tenant="acme", top_k=4, search_kwargs={"n_seeds": 2})


def test_run_returns_documents_with_content_meta_score_and_provenance(component, search):
    documents = component.run("stadium rock anthem")["documents"]
    expected = search.search("stadium rock anthem", n_seeds=2, limit=4, tenant="acme")
    assert len(documents) == 4 and all(isinstance(d, Document) for d in documents)
    for doc, point in zip(documents, expected.points):
        assert doc.id == str(point.id) and doc.content == point.payload["content"]
        assert doc.score == pytest.approx(point.score)
        assert doc.meta["genre"] == point.payload["meta"]["genre"] and doc.meta["shop"] == "acme"
        assert doc.meta["genseek"]["seeds"] == point.seeds
        assert doc.meta["genseek"]["found_by_anchor"] == point.found_by_anchor
    json.dumps([d.to_dict() for d in documents])  # meta stays JSON data


def test_pipeline_run_and_run_async(component):
    pipeline = Pipeline()
    pipeline.add_component("retriever", component)
    out = pipeline.run({"retriever": {"query": "folk lullaby", "top_k": 2}})["retriever"]["documents"]
    assert [d.id for d in out] == [d.id for d in component.run("folk lullaby", top_k=2)["documents"]]
    async_out = asyncio.run(pipeline.run_async({"retriever": {"query": "folk lullaby", "top_k": 2}}))
    assert [d.id for d in async_out["retriever"]["documents"]] == [d.id for d in out]


def test_async_searcher_serves_run_async(async_search):
    documents = asyncio.run(GenerativeRetriever(async_search, tenant="globex", top_k=4).run_async("big band swing"))
    assert "swing jazz big band (globex)" in [d.content for d in documents["documents"]]
    assert {d.meta["shop"] for d in documents["documents"]} == {"globex"}


def test_haystack_filters_narrow(search):
    component = GenerativeRetriever(search, tenant="acme", top_k=12)
    cases = [
        ({"field": "meta.genre", "operator": "==", "value": "jazz"}, lambda d: d.meta["genre"] == "jazz"),
        ({"field": "meta.genre", "operator": "!=", "value": "jazz"}, lambda d: d.meta["genre"] != "jazz"),
        ({"field": "meta.genre", "operator": "in", "value": ["folk", "jazz"]}, lambda d: d.meta["genre"] != "rock"),
        ({"field": "meta.genre", "operator": "not in", "value": ["folk"]}, lambda d: d.meta["genre"] != "folk"),
        ({"field": "meta.n", "operator": ">=", "value": 6}, lambda d: d.meta["n"] >= 6),
        ({"operator": "AND", "conditions": [{"field": "meta.genre", "operator": "==", "value": "rock"},
                                            {"field": "meta.n", "operator": "<", "value": 2}]},
         lambda d: d.meta["genre"] == "rock" and d.meta["n"] < 2),
        ({"operator": "OR", "conditions": [
            {"field": "meta.n", "operator": "==", "value": 0},
            {"field": "content", "operator": "==", "value": "cool jazz trumpet (acme)"}]},
         lambda d: d.meta["n"] == 0 or d.content == "cool jazz trumpet (acme)"),
        ({"operator": "NOT", "conditions": [{"field": "meta.genre", "operator": "==", "value": "rock"}]},
         lambda d: d.meta["genre"] != "rock"),
    ]
    for filters, holds in cases:
        documents = component.run("rock", filters=filters)["documents"]
        assert documents and all(holds(d) and d.meta["shop"] == "acme" for d in documents), filters
    assert len(component.run("rock", filters=cases[-1][0])["documents"]) == 8


@pytest.mark.parametrize(
    "filters",
    [
        {"operator": "OR", "conditions": [{"field": "shop", "operator": "==", "value": "globex"},
                                          {"field": "meta.shop", "operator": "==", "value": "initech"}]},
        {"operator": "NOT", "conditions": [{"field": "shop", "operator": "==", "value": "acme"}]},
        {"field": "meta.shop", "operator": "in", "value": ["acme", "globex", "initech"]},
        {"field": "shop", "operator": "!=", "value": "acme"},
        {"should": [{"key": "shop", "match": {"value": "globex"}}]},
    ],
)
def test_haystack_filters_never_reach_another_tenant(search, shop_of, filters):
    for policy in ("replace", "merge"):
        component = GenerativeRetriever(search, tenant="acme", top_k=12, filter_policy=policy,
                                        filters={"field": "meta.n", "operator": ">=", "value": 0})
        documents = component.run("rock", filters=filters)["documents"]
        assert all(shop_of(d.meta["genseek"]["point_id"]) == "acme" for d in documents)


def test_filter_policy(search):
    rock = {"field": "meta.genre", "operator": "==", "value": "rock"}
    early = {"field": "meta.n", "operator": "<", "value": 2}
    replace = GenerativeRetriever(search, tenant="acme", top_k=12, filters=rock)
    merge = GenerativeRetriever(search, tenant="acme", top_k=12, filters=rock, filter_policy="merge")
    assert {d.meta["genre"] for d in replace.run("jazz")["documents"]} == {"rock"}
    assert {d.meta["n"] for d in replace.run("jazz", filters=early)["documents"]} == {0, 1}
    assert {d.meta["n"] for d in merge.run("jazz", filters=early)["documents"]} == {0, 1}
    assert {d.meta["genre"] for d in merge.run("jazz", filters=early)["documents"]} == {"rock"}
    assert len(merge.run("jazz", filters={"field": "meta.genre", "operator": "==", "value": "jazz"})["documents"]) == 0


def test_flat_payload_layout_and_haystack_ids(encoder, make_search):
    client = QdrantClient(":memory:")
    client.create_collection("docs", vectors_config={"dense": models.VectorParams(size=32, distance="Cosine")})
    client.upsert("docs", [
        models.PointStruct(id=1, vector={"dense": encoder.encode("rock").tolist()},
                           payload={"id": "doc-rock", "text": "rock", "shop": "acme", "year": 1977}),
        models.PointStruct(id=2, vector={"dense": encoder.encode("rock riff").tolist()},
                           payload={"text": "rock riff", "shop": "acme", "year": 1991}),
    ])
    component = GenerativeRetriever(make_search(client), tenant="acme", content_key="text", meta_key=None)
    documents = component.run("rock", filters={"field": "meta.year", "operator": ">", "value": 1970})["documents"]
    assert [(d.id, d.content, d.meta["year"]) for d in documents] == [
        ("doc-rock", "rock", 1977), ("2", "rock riff", 1991)]
    assert "text" not in documents[0].meta


# -- serialisation ---------------------------------------------------------------------------------
@pytest.fixture
def test_kit_registry(monkeypatch, registry):
    """Make the test kit's ``hashing`` encoder available to searchers built by id (as an installed plugin would)."""
    monkeypatch.setattr(genseek.plugin.registry, "_default", registry)


def test_to_dict_from_dict_round_trip_with_a_local_path(tmp_path, fill_docs, test_kit_registry, shop_of):
    fill_docs(QdrantClient(path=str(tmp_path))).close()
    original = GenerativeRetriever(
        path=str(tmp_path), collection_name="docs", search_options=ACME_ONLY_OPTIONS, tenant="globex", top_k=3,
        filters={"field": "meta.genre", "operator": "==", "value": "folk"}, search_kwargs={"n_seeds": 1},
    )
    data = original.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["type"] == "genseek.integrations.haystack.GenerativeRetriever"
    assert data["init_parameters"]["tenant"] == "globex" and data["init_parameters"]["path"] == str(tmp_path)
    rebuilt = GenerativeRetriever.from_dict(data)
    assert rebuilt.searcher is None and rebuilt.to_dict() == data  # nothing opened until warm_up / run
    documents = rebuilt.run("acoustic")["documents"]
    assert len(documents) == 3 and all(d.meta["genre"] == "folk" and d.meta["shop"] == "globex" for d in documents)
    # local mode allows one client per folder: a second component says so, and close() frees it
    second = GenerativeRetriever.from_dict(data)
    with pytest.raises(ConfigError, match="already open"):
        second.run("acoustic")
    rebuilt.close()
    assert rebuilt.searcher is None
    assert [d.id for d in second.run("acoustic")["documents"]] == [d.id for d in documents]
    second.close()

    pipeline = Pipeline()
    pipeline.add_component("retriever", GenerativeRetriever.from_dict(data))
    trusted = {"allowed_modules": ["genseek.integrations.haystack"]}  # Haystack 3 loads trusted modules only
    loads_options = trusted if "allowed_modules" in signature(Pipeline.loads).parameters else {}
    loaded = Pipeline.loads(pipeline.dumps(), **loads_options)
    out = loaded.run({"retriever": {"query": "acoustic"}})["retriever"]["documents"]
    assert [d.id for d in out] == [d.id for d in documents]
    loaded.get_component("retriever").close()


def test_round_trip_with_a_searcher_factory(monkeypatch, docs_client, make_search, tenant_config, registry):
    from genseek import GenerativeSearch

    factories = types.ModuleType("genseek_test_factories")
    factories.plain = lambda: make_search(docs_client)
    factories.acme = lambda: GenerativeSearch.for_tenant("acme", client=docs_client, config=tenant_config,
                                                         registry=registry)
    monkeypatch.setitem(sys.modules, "genseek_test_factories", factories)

    plain = GenerativeRetriever(searcher_factory="genseek_test_factories:plain", tenant="initech", top_k=2,
                                filters=models.Filter(must=[models.FieldCondition(
                                    key="genre", match=models.MatchValue(value="jazz"))]))
    rebuilt = GenerativeRetriever.from_dict(plain.to_dict())
    assert rebuilt.to_dict() == plain.to_dict() and rebuilt.filters == plain.to_dict()["init_parameters"]["filters"]
    documents = rebuilt.run("rock")["documents"]
    assert len(documents) == 2 and all(d.meta["genre"] == "jazz" and d.meta["shop"] == "initech" for d in documents)

    bound = GenerativeRetriever.from_dict(GenerativeRetriever(searcher_factory="genseek_test_factories:acme").to_dict())
    assert {d.meta["shop"] for d in bound.run("rock")["documents"]} == {"acme"}
    with pytest.raises(ConfigError, match="bound to tenant 'acme'"):
        GenerativeRetriever(searcher_factory="genseek_test_factories:acme", tenant="globex").warm_up()


def test_url_and_api_key_secret_round_trip():
    from haystack.utils import Secret

    component = GenerativeRetriever(url="http://qdrant.invalid:6333", api_key=Secret.from_env_var("MY_QDRANT_KEY"),
                                    collection_name="docs", search_options=ACME_ONLY_OPTIONS, tenant="acme")
    data = component.to_dict()
    assert data["init_parameters"]["api_key"] == {"type": "env_var", "env_vars": ["MY_QDRANT_KEY"], "strict": True}
    rebuilt = GenerativeRetriever.from_dict(data)  # connects nowhere: the client is made at warm_up
    assert rebuilt.api_key == component.api_key and rebuilt.searcher is None and rebuilt.to_dict() == data


def test_live_searcher_cannot_be_serialised(component):
    with pytest.raises(ConfigError, match="live searcher.*searcher_factory="):
        component.to_dict()


def test_options_that_are_not_json_cannot_be_serialised():
    component = GenerativeRetriever(searcher_factory="x.y:z", search_kwargs={"anchor": np.ones(32, np.float32)})
    with pytest.raises(ConfigError, match=r"search_kwargs\['anchor'\] is not JSON data"):
        component.to_dict()


def test_unimportable_factory_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot be imported"):
        GenerativeRetriever(searcher_factory="genseek_no_such_module:make").run("rock")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of searcher="),
        ({"searcher_factory": "a:b", "path": "/tmp/x"}, "exactly one of .*got searcher_factory, path"),
        ({"path": "/tmp/x"}, "collection_name= and search_options= go with url= or path="),
        ({"searcher_factory": "a:b", "search_options": {"encoder": "x"}}, "go with url= or path=, and only with them"),
        ({"searcher_factory": "no_colon"}, "'package.module:function'"),
        ({"searcher_factory": "a:b", "api_key": "k"}, "api_key= only applies with url="),
        ({"searcher_factory": "a:b", "filter_policy": "union"}, "filter_policy must be 'replace' or 'merge'"),
    ],
)
def test_bad_construction_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GenerativeRetriever(**kwargs)


@pytest.mark.parametrize(
    ("search_kwargs", "message"),
    [
        ({"filter": None}, "'filter': pass filters="),
        ({"top_k": 3}, "'top_k'.*top_k="),
        ({"tenant": "globex"}, "'tenant'.*bound to one tenant"),
        ({"guidance": 1.0}, "unknown search_kwargs key 'guidance'"),
    ],
)
def test_bad_search_kwargs_name_the_key(search, search_kwargs, message):
    with pytest.raises(InvalidRequestError, match=message):
        GenerativeRetriever(search, tenant="acme", search_kwargs=search_kwargs)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("shop == acme", "Haystack filter dict or a qdrant_client.models.Filter"),
        ({"field": "meta.genre", "operator": "~=", "value": "rock"}, "'~=' is not a Haystack comparison"),
        ({"operator": "XOR", "conditions": [{"field": "a", "operator": "==", "value": 1}]}, "'XOR' is not a logical"),
        ({"operator": "AND", "conditions": []}, r"filters.conditions must be a non-empty list"),
        ({"operator": "OR", "conditions": [{"field": "a", "operator": "=="}]},
         r"filters.conditions\[0\]: a comparison needs"),
        ({"field": "meta.genre", "operator": "in", "value": "rock"}, "'in' needs a non-empty list"),
        ({"field": "meta.n", "operator": ">", "value": "soon"}, "a number or an ISO 8601 date"),
        ({"field": "meta.tags", "operator": "==", "value": ["a"]}, "'==' compares with"),
        ({"must": [{"bogus": 1}]}, "not a valid Qdrant filter"),
    ],
)
def test_malformed_filters_are_refused(filters, message):
    with pytest.raises(InvalidRequestError, match=message):
        to_qdrant_filter(filters, content_key="content", meta_key="meta")


def test_filter_conversion_follows_the_payload_layout():
    converted = to_qdrant_filter(
        {"operator": "AND", "conditions": [
            {"field": "meta.genre", "operator": "==", "value": "rock"},
            {"field": "content", "operator": "!=", "value": None},
            {"field": "meta.when", "operator": "<=", "value": "2024-01-31T00:00:00"},
            {"field": "meta.score", "operator": "==", "value": 0.5},
        ]},
        content_key="body", meta_key=None,
    )
    genre, content, when, score = converted.must
    assert genre == models.FieldCondition(key="genre", match=models.MatchValue(value="rock"))
    assert content == models.Filter(must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key="body"))])
    assert when.key == "when" and isinstance(when.range, models.DatetimeRange)
    assert score == models.FieldCondition(key="score", range=models.Range(gte=0.5, lte=0.5))
    nested = to_qdrant_filter({"field": "meta.genre", "operator": "==", "value": "rock"},
                              content_key="c", meta_key="meta")
    assert nested.must[0].key == "meta.genre"


def test_a_component_that_cannot_start_does_not_keep_the_folder_locked(tmp_path, fill_docs, test_kit_registry):
    fill_docs(QdrantClient(path=str(tmp_path))).close()
    broken = GenerativeRetriever(path=str(tmp_path), collection_name="missing", search_options=ACME_ONLY_OPTIONS,
                                 tenant="globex")
    with pytest.raises(GenseekError):
        broken.run("acoustic")
    working = GenerativeRetriever(path=str(tmp_path), collection_name="docs", search_options=ACME_ONLY_OPTIONS,
                                  tenant="globex")
    assert working.run("acoustic")["documents"]
    working.close()
