"""Fixtures for the adapter contract suite: the same catalog in every backend.

``backend`` is parametrised over qdrant-client local mode and Qdrant Edge; both hold the
session catalog of the root conftest (1,500 clustered 32-d vectors, named vector ``dense``,
payload ``tenant``/``cluster``/``even``/``rank``) plus a few extra payload fields for filters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from genseek.testing import make_collection

TENANTS = ("acme", "globex", "initech")
GENRES = ("rock", "jazz", "pop", "folk")
COLLECTION = "items"


def payload_of(i: int, labels: np.ndarray) -> dict[str, Any]:
    """The payload of point ``i``: scalar, list, nested, geo, text, datetime and optional fields."""
    payload: dict[str, Any] = {
        "tenant": TENANTS[i % 3],
        "cluster": int(labels[i]),
        "even": i % 2 == 0,
        "rank": i,
        "price": round((i * 37 % 1000) / 10.0, 1),
        "genres": [GENRES[i % 4]] if i % 5 == 2 else [GENRES[i % 4], GENRES[(i // 4) % 4]],
        "title": f"track {i} {GENRES[i % 4]} {'live' if i % 5 == 0 else 'studio'}",
        "released": f"20{10 + i % 15:02d}-0{1 + i % 9}-15T00:00:00Z",
        "location": {"lon": -10.0 + (i % 40), "lat": 35.0 + (i % 25)},
        "offers": [{"shop": "a", "price": i % 7}, {"shop": "b", "price": i % 11}],
    }
    if i % 7 == 0:
        payload["mood"] = None
    elif i % 7 != 1:
        payload["mood"] = "calm" if i % 2 else "energetic"
    return payload


@dataclass
class Backend:
    name: str
    client: Any
    collection: str = COLLECTION


@pytest.fixture(scope="session")
def payloads(catalog_vectors) -> list[dict[str, Any]]:
    vectors, labels = catalog_vectors
    return [payload_of(i, labels) for i in range(len(vectors))]


@pytest.fixture(scope="session")
def local_backend(catalog_vectors, payloads) -> Backend:
    vectors, _ = catalog_vectors
    client = QdrantClient(":memory:")
    make_collection(client, COLLECTION, vectors, vector_name="dense", payload=lambda i: payloads[i])
    with warnings.catch_warnings():  # local mode: "payload indexes have no effect" (recorded in the schema anyway)
        warnings.simplefilter("ignore", UserWarning)
        client.create_payload_index(
            COLLECTION, "tenant", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
        )
    return Backend("qdrant-local", client)


@pytest.fixture(scope="session")
def edge_backend(catalog_vectors, payloads, tmp_path_factory) -> Backend:
    pytest.importorskip("qdrant_edge", reason="Qdrant Edge tests need `pip install 'genseek[edge]'`")
    from genseek.adapters.qdrant_edge import build_catalog

    vectors, _ = catalog_vectors
    catalog = build_catalog(
        tmp_path_factory.mktemp("edge") / "items",
        vectors,
        payloads,
        name=COLLECTION,
        tenant_field="tenant",
        payload_indexes={"cluster": "integer", "rank": "integer", "price": "float", "genres": "keyword",
                         "title": "text", "released": "datetime", "location": "geo", "even": "bool"},
        indexing_threshold_kb=64,  # small enough that the 1,500-point catalog gets a real HNSW index
        on_stale="error",
    )
    yield Backend("edge", catalog)
    catalog.close()


@pytest.fixture(params=["qdrant-local", "edge"])
def backend(request) -> Backend:
    """Each contract test runs once per backend (the Edge run skips without qdrant-edge-py)."""
    return request.getfixturevalue("local_backend" if request.param == "qdrant-local" else "edge_backend")


def assert_same_ranking(got: list[models.ScoredPoint], want: list[models.ScoredPoint], *, places: int = 4) -> None:
    """Same scores in the same order and, within each run of tied scores, the same ids.

    Engines break exact ties differently, so the order *inside* a tie is not compared; the last
    tie group may be cut at the limit differently, so only its size is compared.
    """
    got_scores = [round(p.score, places) for p in got]
    want_scores = [round(p.score, places) for p in want]
    assert got_scores == want_scores, f"scores differ:\n got  {got_scores}\n want {want_scores}"
    groups: dict[float, tuple[set, set]] = {}
    for g, w in zip(got, want):
        key = round(g.score, places)
        groups.setdefault(key, (set(), set()))
        groups[key][0].add(g.id)
        groups[key][1].add(w.id)
    last = want_scores[-1] if want_scores else None
    for key, (ids_got, ids_want) in groups.items():
        if key != last:
            assert ids_got == ids_want, f"ids with score {key} differ: {sorted(ids_got)} vs {sorted(ids_want)}"


__all__ = ["Backend", "assert_same_ranking"]


@pytest.fixture
def same_ranking():
    """:func:`assert_same_ranking` as a fixture (test modules here do not import conftest)."""
    return assert_same_ranking
