"""Fixtures for migration tests: a failure-injecting encoder and a legacy app collection."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http import models

import genseek.testing
from genseek.plugin.hookspecs import hookimpl
from genseek.plugin.registry import build_registry
from genseek.testing import HashingEncoder

N_POINTS = 200


class FlakyEncoder(HashingEncoder):
    """``HashingEncoder`` that counts every text it encodes and can fail on its k-th call."""

    id = "flaky"
    description = "hashing encoder with failure injection (tests)"
    fail_at: int | None = None
    calls = 0
    encoded: Counter = Counter()

    def encode_batch(self, items, *, modality):
        cls = type(self)
        call = cls.calls
        cls.calls += 1
        if cls.fail_at is not None and call == cls.fail_at:
            raise RuntimeError(f"injected encoder failure at call {call}")
        out = super().encode_batch(items, modality=modality)
        cls.encoded.update(items)
        return out

    @classmethod
    def reset(cls, fail_at: int | None = None) -> None:
        cls.fail_at, cls.calls, cls.encoded = fail_at, 0, Counter()


class FileContentEncoder(HashingEncoder):
    """An "image" encoder for tests: hashes the text content of the file at each path it gets."""

    id = "file-content"
    modalities = frozenset({"image"})
    description = "hashes file contents (tests)"

    @property
    def info(self):
        from dataclasses import replace

        return replace(super().info, modalities=self.modalities)

    def encode_batch(self, items, *, modality):
        from pathlib import Path

        return super().encode_batch([Path(item).read_text() for item in items], modality="text")


class _FlakyPlugin:
    @hookimpl
    def register_encoders(self, register):
        register(FlakyEncoder)
        register(FileContentEncoder)


@pytest.fixture(scope="session")
def registry():
    return build_registry(extra_plugins=[genseek.testing, _FlakyPlugin()])


@pytest.fixture
def flaky():
    FlakyEncoder.reset()
    yield FlakyEncoder
    FlakyEncoder.reset()


def legacy_text(i: int) -> str | None:
    """Every 13th point has no text, point 7 has an empty one; the rest unique texts."""
    if i % 13 == 0:
        return None
    if i == 7:
        return ""
    return f"track {i} with words w{i % 17} and x{i % 5}"


@pytest.fixture
def legacy() -> QdrantClient:
    """A local-mode client with ``legacy``: an app collection genseek did not create.

    One named ``legacy`` 16-d cosine vector; payload ``text`` (see :func:`legacy_text`), ``shop``
    and a nested ``meta``.
    """
    client = QdrantClient(":memory:")
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((N_POINTS, 16)).astype(np.float32)
    client.create_collection("legacy", vectors_config={"legacy": models.VectorParams(size=16, distance=models.Distance.COSINE)})
    points = []
    for i in range(N_POINTS):
        payload = {"shop": f"shop{i % 3}", "meta": {"rank": i, "tags": ["a", str(i % 4)]}}
        text = legacy_text(i)
        if text is not None:
            payload["text"] = text
        points.append(models.PointStruct(id=i, vector={"legacy": vectors[i].tolist()}, payload=payload))
    client.upsert("legacy", points)
    return client


def snapshot(client: QdrantClient, collection: str, vector: str = "legacy") -> dict:
    """``{id: (payload, stored legacy vector)}`` for every point."""
    records, _ = client.scroll(collection, limit=10_000, with_payload=True, with_vectors=[vector])
    return {r.id: (r.payload, r.vector.get(vector)) for r in records}


@pytest.fixture(scope="session")
def helpers():
    class Helpers:
        legacy_text = staticmethod(legacy_text)
        snapshot = staticmethod(snapshot)
        n_points = N_POINTS

    return Helpers
