"""Shared fixtures: small structured catalogs in Qdrant local mode."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http import models

from genseek.testing import clustered_vectors, make_collection

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # Haystack sends usage data from Pipeline.run otherwise

TENANTS = ("acme", "globex", "initech")


@pytest.fixture(scope="session")
def catalog_vectors() -> tuple[np.ndarray, np.ndarray]:
    """1,500 clustered unit vectors in 32-d and their cluster labels."""
    return clustered_vectors(1500, 32, clusters=12, intrinsic_dim=8, seed=7)


@pytest.fixture(scope="session")
def catalog(catalog_vectors) -> QdrantClient:
    """A local-mode client with collection ``items`` (named vector ``dense``, cosine).

    Payload: ``tenant`` (cycling through TENANTS), ``cluster`` (label), ``even`` (bool), ``rank`` (int id).
    Session-scoped: tests must not modify it.
    """
    return _fill(QdrantClient(":memory:"), *catalog_vectors)


def _fill(client: QdrantClient, vectors: np.ndarray, labels: np.ndarray) -> QdrantClient:
    make_collection(
        client,
        "items",
        vectors,
        vector_name="dense",
        payload=lambda i: {"tenant": TENANTS[i % 3], "cluster": int(labels[i]), "even": i % 2 == 0, "rank": i},
    )
    return client


class RecordingClient(QdrantClient):
    """A local-mode client that keeps every request it is sent (``sent``), then runs it.

    ``sent`` holds ``(method, request)`` pairs: ``query_points`` and ``scroll`` record their keyword
    arguments, ``query_batch_points`` its list of ``QueryRequest``.
    """

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.sent: list[tuple[str, Any]] = []

    def query_points(self, collection_name, **kwargs):
        self.sent.append(("query_points", dict(kwargs)))
        return super().query_points(collection_name, **kwargs)

    def query_batch_points(self, collection_name, requests, **kwargs):
        self.sent.append(("query_batch_points", list(requests)))
        return super().query_batch_points(collection_name, requests=requests, **kwargs)

    def scroll(self, collection_name, **kwargs):
        self.sent.append(("scroll", dict(kwargs)))
        return super().scroll(collection_name, **kwargs)

    def searches(self) -> list[tuple[str, list[float] | None, models.Filter | None]]:
        """Every query sent, flattened: ``(where, query vector or None, filter)`` per per-seed request,
        prefetch and top-level query, in the order sent (``where``: ``request``, ``prefetch``, ``top``)."""
        out: list[tuple[str, list[float] | None, models.Filter | None]] = []

        def add(query, prefetch, flt):
            for item in prefetch or []:
                out.append(("prefetch", _vector_of(item.query), item.filter))
            out.append(("top" if prefetch else "request", _vector_of(query), flt))

        for method, sent in self.sent:
            if method == "query_points":
                add(sent.get("query"), sent.get("prefetch"), sent.get("query_filter"))
            elif method == "query_batch_points":
                for request in sent:
                    add(request.query, request.prefetch, request.filter)
        return out


def _vector_of(query: Any) -> list[float] | None:
    if isinstance(query, models.NearestQuery):
        query = query.nearest
    return list(query) if isinstance(query, list) else None


@pytest.fixture(scope="session")
def recording_catalog(catalog_vectors) -> RecordingClient:
    """The ``items`` collection of :func:`catalog` in a :class:`RecordingClient` (session-scoped:
    use :func:`recorder`, which clears what was recorded before each test)."""
    return _fill(RecordingClient(), *catalog_vectors)


@pytest.fixture
def recorder(recording_catalog) -> RecordingClient:
    """:func:`recording_catalog` with nothing recorded yet."""
    recording_catalog.sent.clear()
    return recording_catalog
