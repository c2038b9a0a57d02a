"""genseek as a LlamaIndex retriever: payload → TextNode as LlamaIndex's Qdrant store maps it, provenance."""

from __future__ import annotations

import asyncio

import pytest
from qdrant_client import QdrantClient, models

pytest.importorskip("llama_index.core")

from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode  # noqa: E402
from llama_index.core.vector_stores.utils import node_to_metadata_dict  # noqa: E402

from genseek.errors import ConfigError, InvalidRequestError  # noqa: E402
from genseek.integrations.llamaindex import GenerativeRetriever  # noqa: E402


@pytest.fixture(scope="module")
def retriever(search) -> GenerativeRetriever:
    return GenerativeRetriever(search, tenant="acme", similarity_top_k=4, search_kwargs={"n_seeds": 2})


def test_retrieve_maps_payload_to_text_nodes_with_provenance(retriever, search):
    nodes = retriever.retrieve("late night saxophone")
    expected = search.search("late night saxophone", n_seeds=2, limit=4, tenant="acme")
    assert len(nodes) == 4 and all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    for item, point in zip(nodes, expected.points):
        node = item.node
        assert node.node_id == str(point.id) and item.score == pytest.approx(point.score)
        assert node.text == point.payload["text"]
        assert node.metadata["genre"] == point.payload["genre"] and node.metadata["shop"] == "acme"
        assert "text" not in node.metadata  # the text is the node's, not metadata
        assert node.metadata["genseek"] == {
            "point_id": point.id, "seeds": point.seeds, "found_by_anchor": point.found_by_anchor,
            "found_by": [hit.model_dump() for hit in point.found_by],
        }
        assert "genseek" not in node.get_content(metadata_mode=MetadataMode.LLM)  # provenance stays out of prompts
        assert "genseek" not in node.get_content(metadata_mode=MetadataMode.EMBED)
        assert "shop: acme" in node.get_content(metadata_mode=MetadataMode.LLM)
    assert any(n.node.metadata["genseek"]["found_by_anchor"] for n in nodes)


def test_aretrieve_and_query_bundle(retriever):
    sync = [n.node.node_id for n in retriever.retrieve(QueryBundle("folk fiddle"))]
    assert [n.node.node_id for n in asyncio.run(retriever.aretrieve("folk fiddle"))] == sync


def test_async_searcher_serves_aretrieve(async_search):
    nodes = asyncio.run(GenerativeRetriever(async_search, tenant="globex", similarity_top_k=3).aretrieve("cool jazz"))
    assert len(nodes) == 3 and all(n.node.metadata["shop"] == "globex" for n in nodes)
    assert nodes[0].node.text == "cool jazz trumpet (globex)"


def test_nodes_written_by_llama_index_are_restored(encoder, make_search):
    """A payload from LlamaIndex's QdrantVectorStore (``_node_content``) becomes the node it stored."""
    client = QdrantClient(":memory:")
    client.create_collection("docs", vectors_config={"dense": models.VectorParams(size=32, distance="Cosine")})
    stored = [
        TextNode(id_=f"6f1c2a3e-0000-4000-8000-00000000000{i}", text=text, metadata={"shop": shop, "year": 2000 + i},
                 excluded_llm_metadata_keys=["year"])
        for i, (text, shop) in enumerate([("rock anthem", "acme"), ("rock riff", "globex"), ("folk song", "acme")])
    ]
    client.upsert("docs", [
        models.PointStruct(id=node.node_id, vector={"dense": encoder.encode(node.text).tolist()},
                           payload=node_to_metadata_dict(node, remove_text=False))
        for node in stored
    ])
    nodes = GenerativeRetriever(make_search(client), tenant="acme", similarity_top_k=5).retrieve("rock")
    by_id = {node.node_id: node for node in stored}
    assert {n.node.node_id for n in nodes} == {stored[0].node_id, stored[2].node_id}
    for item in nodes:
        original = by_id[item.node.node_id]
        assert item.node.text == original.text and item.node.metadata["year"] == original.metadata["year"]
        assert item.node.excluded_llm_metadata_keys == ["year", "genseek"]
        assert item.node.metadata["genseek"]["point_id"] == original.node_id
        assert "_node_content" not in item.node.metadata


def test_corrupt_stored_node_is_read_like_any_payload(encoder, make_search):
    client = QdrantClient(":memory:")
    client.create_collection("docs", vectors_config={"dense": models.VectorParams(size=32, distance="Cosine")})
    client.upsert("docs", [models.PointStruct(id=7, vector={"dense": encoder.encode("rock").tolist()},
                                              payload={"_node_content": "{not json", "_node_type": "TextNode",
                                                       "text": "rock", "shop": "acme"})])
    [item] = GenerativeRetriever(make_search(client), tenant="acme").retrieve("rock")
    assert item.node.node_id == "7" and item.node.text == "rock"
    assert set(item.node.metadata) == {"shop", "genseek"}


@pytest.mark.parametrize("extra", [{"node_info": "hi"}, {"relationships": {"x": 1}}, {"node_info": {"start": 1}}])
def test_ordinary_keys_named_like_legacy_llama_index_ones_stay_metadata(encoder, make_search, extra):
    client = QdrantClient(":memory:")
    client.create_collection("docs", vectors_config={"dense": models.VectorParams(size=32, distance="Cosine")})
    client.upsert("docs", [models.PointStruct(id=3, vector={"dense": encoder.encode("rock").tolist()},
                                              payload={"text": "rock", "shop": "acme", **extra})])
    [item] = GenerativeRetriever(make_search(client), tenant="acme").retrieve("rock")
    assert item.node.text == "rock" and item.node.metadata["shop"] == "acme"
    assert "genseek" in item.node.metadata


def test_search_kwargs_filter_and_text_key(search):
    folk = models.Filter(must=[models.FieldCondition(key="genre", match=models.MatchValue(value="folk"))])
    nodes = GenerativeRetriever(search, tenant="initech", similarity_top_k=10, search_kwargs={"filter": folk},
                                text_key="page_content").retrieve("rock")
    assert len(nodes) == 4 and all(n.node.metadata["genre"] == "folk" for n in nodes)
    assert all(n.node.text.endswith("(initech)") and "page_content" not in n.node.metadata for n in nodes)


@pytest.mark.parametrize(
    ("search_kwargs", "message"),
    [
        ({"similarity_top_k": 3}, "'similarity_top_k'.*GenerativeRetriever\\(similarity_top_k=...\\)"),
        ({"k": 3}, "'k'.*similarity_top_k"),
        ({"tenant": "globex"}, "'tenant'.*bound to one tenant"),
        ({"negative": "live"}, "unknown search_kwargs key 'negative'"),
    ],
)
def test_bad_search_kwargs_name_the_key(search, search_kwargs, message):
    with pytest.raises(InvalidRequestError, match=message):
        GenerativeRetriever(search, tenant="acme", search_kwargs=search_kwargs)


def test_bad_similarity_top_k_is_refused_before_searching(search):
    with pytest.raises(InvalidRequestError, match="limit"):
        GenerativeRetriever(search, tenant="acme", similarity_top_k=0).retrieve("rock")


def test_text_key_holding_no_text_is_a_config_error(search):
    with pytest.raises(ConfigError, match="payload key 'meta' .* holds a dict, not text; set text_key="):
        GenerativeRetriever(search, tenant="acme", text_key="meta").retrieve("rock")
