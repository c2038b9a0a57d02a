"""Fixtures for the tenant-configuration tests: a registry with the test kit, stores, configs."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient

import genseek.testing
from genseek.plugin.registry import build_registry
from genseek.tenants import TenantStore


@pytest.fixture(scope="session")
def registry():
    """Built-ins plus the test kit (``hashing`` encoder, ``fixed`` sampler)."""
    return build_registry(extra_plugins=[genseek.testing])


@pytest.fixture
def store(registry) -> TenantStore:
    """A fresh configuration store in its own in-memory Qdrant."""
    return TenantStore(QdrantClient(":memory:"), registry=registry, max_staleness=0)


@pytest.fixture(scope="session")
def seeds(catalog_vectors) -> list[list[float]]:
    """Four catalog vectors from different clusters, as JSON-able seed lists for the ``fixed`` sampler."""
    vectors, labels = catalog_vectors
    picks = [int(np.flatnonzero(labels == c)[0]) for c in range(4)]
    return vectors[picks].astype(float).round(6).tolist()


def _make_config(partition: str = "acme", **overrides) -> dict:
    config = {
        "collection": "items",
        "vector_name": "dense",
        "tenant_field": "tenant",
        "partition": partition,
        "sampler": {"id": "identity"},
        "fuser": {"id": "rrf"},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def make_config():
    """``make_config(partition="acme", **fields)``: a valid configuration for the catalog's ``items``."""
    return _make_config
