"""Shared fixtures: small structured catalogs in Qdrant local mode."""

from __future__ import annotations

import os

import numpy as np
import pytest
from qdrant_client import QdrantClient

from genseek.testing import clustered_vectors, make_collection

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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
    vectors, labels = catalog_vectors
    client = QdrantClient(":memory:")
    make_collection(
        client,
        "items",
        vectors,
        vector_name="dense",
        payload=lambda i: {"tenant": TENANTS[i % 3], "cluster": int(labels[i]), "even": i % 2 == 0, "rank": i},
    )
    return client
