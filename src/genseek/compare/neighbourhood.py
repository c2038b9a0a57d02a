"""The catalog neighbourhood of one query, read for the map (:mod:`genseek.compare.plot`).

:func:`collect_neighbourhood` gathers, inside the tenant's scope when the comparison has one:

* each searched row's nearest points — every generated seed and the anchor (``neighbours`` each);
* plain search's nearest points for the query (``neighbours``);
* the vectors of both result lists (those not already among the above);
* a random background sample of the collection (``background`` points) — through
  qdrant-client's random ``SampleQuery`` or Qdrant Edge's ``Sample.Random``; other clients get
  none (:attr:`Neighbourhood.background_note` says so).

Everything is read with the comparison's own searches and adapter, so the neighbourhood is the
one the searches see. A point appears once, attributed to the first list that held it (rows in
order, then plain search, the results, the background).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client.http import models

from ..locking import local_client_lock
from ..scope import scoped_filter
from .core import Comparison, QueryComparison

#: ``Neighbourhood.source`` of a background point.
BACKGROUND = -1


@dataclass(frozen=True)
class Neighbourhood:
    """The points of one query's map, in the collection's vector space.

    Attributes:
        vectors: ``(n, d)`` float32 catalog vectors.
        ids: their point ids.
        source: ``(n,)`` the searched row whose nearest points held each point (``0 … R-1``),
            ``R`` for plain search's list, ``R + 1`` for a result read on its own, :data:`BACKGROUND`.
        payloads: point id → payload, for the points of both result lists.
        rows: ``(R, d)`` the generative search's searched rows (seeds, the anchor last when anchored).
        query_vector: ``(d,)`` the query as plain search embedded it.
        background_note: why there is no background sample (``""`` when there is one).
    """

    vectors: np.ndarray
    ids: list[Any]
    source: np.ndarray
    payloads: dict[Any, dict[str, Any]]
    rows: np.ndarray
    query_vector: np.ndarray
    background_note: str = ""

    @property
    def plain_source(self) -> int:
        return len(self.rows)


def _vector_of(point: Any, name: str | None) -> np.ndarray | None:
    vector = point.vector
    if isinstance(vector, dict):
        vector = vector.get(name or "")
    return None if vector is None else np.asarray(vector, np.float32)


def random_sample(
    client: Any, collection: str, vector_name: str | None, n: int, scope: models.Filter | None
) -> tuple[dict[Any, np.ndarray], str]:
    """Up to ``n`` random points of ``collection`` matching ``scope``: ``({id: vector}, note)``.

    ``note`` is ``""``, or says why there is no sample: a client that is neither qdrant-client nor
    an Edge catalog, or a server that refuses random sampling (Qdrant before 1.11). The map is
    still drawn without a background then. Reads only; never outside ``scope``.
    """
    if n <= 0:
        return {}, ""
    from qdrant_client import QdrantClient

    using = [vector_name] if vector_name else True
    if isinstance(client, QdrantClient):
        try:
            with local_client_lock(client):
                response = client.query_points(
                    collection, query=models.SampleQuery(sample=models.Sample.RANDOM), using=vector_name, limit=n,
                    query_filter=scope, with_payload=False, with_vectors=using,
                )
        except Exception as exc:  # noqa: BLE001 - an old server without random sampling: map without background
            return {}, f"no background sample: the server refused a random sample ({type(exc).__name__})"
        points = response.points
    else:
        edge = sys.modules.get("genseek.adapters.edge_catalog")
        if edge is None or not isinstance(client, edge.EdgeCatalog):
            return {}, f"no background sample: {type(client).__name__} is neither qdrant-client nor an Edge catalog"
        from ..adapters.edge_filters import edge_module, to_edge_filter
        from ..adapters.qdrant_edge import to_scored_point

        qe = edge_module()
        request = qe.QueryRequest(limit=n, query=qe.Sample.Random, filter=to_edge_filter(scope),
                                  with_vector=[vector_name or ""], with_payload=False)
        points = [to_scored_point(p) for p in client.shard.query(request)]
    out = {}
    for point in points:
        vector = _vector_of(point, vector_name)
        if vector is not None:
            out[point.id] = vector
    return out, ""


def collect_neighbourhood(
    comparison: Comparison, qc: QueryComparison, *, neighbours: int = 60, background: int = 2000
) -> Neighbourhood:
    """Read the neighbourhood of ``qc``'s query (see the module docstring)."""
    space = comparison.space
    with_vectors = [space.name] if space.name else True
    tenant = comparison.tenant
    vectors: dict[Any, np.ndarray] = {}
    source: dict[Any, int] = {}

    def add(points: list[Any], origin: int) -> None:
        for point in points:
            vector = _vector_of(point, space.name)
            if vector is not None and point.id not in vectors:
                vectors[point.id], source[point.id] = vector, origin

    rows = np.asarray(qc.generative.seeds, np.float32)
    for index, row in enumerate(rows):
        near = comparison.plain.search(vector=row, n_seeds=1, limit=neighbours, with_vectors=with_vectors,
                                       tenant=tenant, with_payload=False)
        add(near.points, index)
    near = comparison.plain.search(qc.query, n_seeds=1, limit=neighbours, with_vectors=with_vectors, tenant=tenant,
                                   with_payload=False)
    add(near.points, len(rows))
    results = qc.plain_points + qc.generative_points
    scope = scoped_filter(None, comparison.tenant_field, tenant)
    missing = [p.id for p in results if p.id not in vectors]
    if missing:
        read = comparison.plain.adapter.fetch_vectors(comparison.collection, space.name, missing, scope)
        for pid, vector in read.items():
            vectors[pid], source[pid] = np.asarray(vector, np.float32), len(rows) + 1
    sample, note = random_sample(comparison.client, comparison.collection, space.name, background, scope)
    for pid, vector in sample.items():
        if pid not in vectors:
            vectors[pid], source[pid] = vector, BACKGROUND
    ids = list(vectors)
    return Neighbourhood(
        vectors=np.stack([vectors[i] for i in ids]) if ids else np.zeros((0, space.dim), np.float32),
        ids=ids,
        source=np.asarray([source[i] for i in ids], np.int64),
        payloads={p.id: dict(p.payload or {}) for p in results},
        rows=rows,
        query_vector=np.asarray(qc.plain.seeds[0], np.float32),
        background_note=note,
    )


__all__ = ["BACKGROUND", "Neighbourhood", "collect_neighbourhood", "random_sample"]
