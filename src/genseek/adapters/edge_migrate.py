"""Move an existing qdrant-client collection (local mode or server) into an Edge catalog.

:func:`catalog_from_qdrant` copies the dense vectors (names, sizes, distances), every payload, the
point ids and the payload indexes (the tenant field keeps ``is_tenant=True``), then builds HNSW
once at the end. The source is only read. Going the other way — embedded to a Qdrant server or
cluster — is qdrant-client's ``client.migrate`` for local mode, and :func:`catalog_to_qdrant` for an
Edge catalog (optionally one custom shard key per tenant; see ``docs/scaling.md``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client.http import models

from ..errors import CollectionError, ConfigError
from .base import DISTANCE_NAMES, DISTANCES
from .edge_catalog import EdgeCatalog, _progress


def _dense_vectors(info: models.CollectionInfo, collection: str, vector_names: list[str | None] | None) -> dict[str | None, tuple[int, str]]:
    config = info.config.params.vectors
    if isinstance(config, models.VectorParams):
        available: dict[str | None, models.VectorParams] = {None: config}
    else:
        available = dict(config or {})
    multi = [name for name, params in available.items() if params.multivector_config is not None]
    if vector_names is None:
        if multi:
            raise ConfigError(
                f"collection {collection!r} has multivectors {multi}, which genseek's Edge catalog does not copy; "
                "pass vector_names= with the dense vectors to move"
            )
        vector_names = list(available)
    out = {}
    for name in vector_names:
        if name not in available:
            raise CollectionError(f"collection {collection!r} has no dense vector {name!r}; it has {list(available)}")
        params = available[name]
        out[name] = (int(params.size), DISTANCE_NAMES[params.distance])
    return out


def _payload_indexes(info: models.CollectionInfo) -> tuple[dict[str, str], str | None]:
    """``{field: schema}`` of the source's payload indexes, and its tenant field if one is marked."""
    indexes: dict[str, str] = {}
    tenant = None
    for field_name, schema in (info.payload_schema or {}).items():
        data_type = schema.data_type.value if schema.data_type is not None else None
        if data_type is None:
            continue
        indexes[field_name] = str(data_type)
        if getattr(schema.params, "is_tenant", None):
            tenant = field_name
    return indexes, tenant


def catalog_from_qdrant(
    client: Any,
    collection: str,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    vector_names: list[str | None] | None = None,
    tenant_field: str | None = None,
    payload_indexes: dict[str, str] | None = None,
    scroll_filter: models.Filter | None = None,
    batch_size: int = 1024,
    progress: bool | None = None,
    **create_options: Any,
) -> EdgeCatalog:
    """Copy ``collection`` from a qdrant-client ``client`` into a new Edge catalog at ``path``.

    Args:
        client: a :class:`qdrant_client.QdrantClient` (local mode ``path=``/``:memory:`` or server).
        collection: the source collection (an alias works too).
        name: the catalog's collection name (default: ``collection``, so searches keep their name).
        vector_names: which dense vectors to copy (default: all; sparse vectors are never copied).
        tenant_field: the tenant key (default: the source's ``is_tenant`` index, if any).
        payload_indexes: ``{field: schema}`` to create (default: the source's payload indexes).
            Local mode records no payload indexes, so from local mode pass ``tenant_field`` and
            ``payload_indexes`` explicitly; from a server they are copied.
        scroll_filter: copy only the points matching it (e.g. one tenant).
        batch_size / progress: scroll page size and progress bar (default: on for > 20 pages).
        **create_options: passed to :meth:`EdgeCatalog.create` (HNSW settings, ``on_stale`` …).

    Returns:
        The open catalog, with HNSW built.

    All or nothing: if the copy fails (a point the catalog cannot take — each batch is validated
    before it is written —, a lost connection), the new catalog is deleted and ``path`` is left as
    it was; the source is never written.
    """
    if not client.collection_exists(collection):
        raise CollectionError(f"collection {collection!r} does not exist in the source client")
    info = client.get_collection(collection)
    spaces = _dense_vectors(info, collection, vector_names)
    source_indexes, source_tenant = _payload_indexes(info)
    tenant_field = tenant_field if tenant_field is not None else source_tenant
    indexes = dict(source_indexes if payload_indexes is None else payload_indexes)
    tenant_schema = indexes.pop(tenant_field, "keyword") if tenant_field else "keyword"
    existed = Path(path).is_dir()
    catalog = EdgeCatalog.create(
        path,
        vectors=spaces,
        name=name or collection,
        tenant_field=tenant_field,
        tenant_schema=tenant_schema,
        payload_indexes=indexes,
        **create_options,
    )
    try:
        total = client.count(collection, count_filter=scroll_filter, exact=True).count
        bar = _progress((total + batch_size - 1) // batch_size, f"copy {collection} → Edge", progress)
        selector: Any = [n for n in spaces] if None not in spaces else True
        offset = None
        try:
            while True:
                records, offset = client.scroll(
                    collection,
                    scroll_filter=scroll_filter,
                    limit=batch_size,
                    offset=offset,
                    with_payload=True,
                    with_vectors=selector,
                )
                if records:
                    _copy(catalog, records, spaces)
                bar.update(1)
                if offset is None:
                    break
        finally:
            bar.close()
        catalog.optimize()
    except BaseException:
        catalog._discard(keep_directory=existed)  # all or nothing: no half-copied catalog is left
        raise
    return catalog


def _copy(catalog: EdgeCatalog, records: list[models.Record], spaces: dict[str | None, tuple[int, str]]) -> None:
    columns: dict[str | None, list[Any]] = {name: [] for name in spaces}
    for record in records:
        vector = record.vector
        for name in spaces:
            value = vector.get(name) if isinstance(vector, dict) else vector
            if value is None:
                raise ConfigError(
                    f"point {record.id!r} has no vector {name!r}; Edge catalogs need every vector on every point "
                    "(pass vector_names= to copy fewer vectors)"
                )
            columns[name].append(value)
    catalog.upsert(
        [r.id for r in records],
        {name: np.asarray(values, dtype=np.float32) for name, values in columns.items()},
        [r.payload for r in records],
        optimize=False,
        progress=False,
    )




def iter_catalog_points(catalog: EdgeCatalog, *, batch_size: int = 1024, scroll_filter: models.Filter | None = None):
    """Yield the catalog's points as lists of qdrant-client ``PointStruct`` (vectors and payloads)."""
    from .edge_filters import edge_module, to_edge_filter

    qe = edge_module()
    names = [s.name for s in catalog.vector_spaces]
    offset = None
    edge_filter = to_edge_filter(scroll_filter)
    while True:
        records, offset = catalog.shard.scroll(
            qe.ScrollRequest(offset=offset, limit=batch_size, filter=edge_filter, with_payload=True, with_vector=True)
        )
        points = []
        for record in records:
            vector = record.vector
            if isinstance(vector, dict):
                vector = {name: list(vector[name or ""]) for name in names}
                if names == [None]:
                    vector = vector[None]
            pid = record.id if isinstance(record.id, int) else str(record.id)
            points.append(models.PointStruct(id=pid, vector=vector, payload=record.payload or {}))
        if points:
            yield points
        if offset is None:
            return


def catalog_to_qdrant(
    catalog: EdgeCatalog,
    client: Any,
    collection: str | None = None,
    *,
    shard_by_tenant: bool = False,
    replication_factor: int | None = None,
    batch_size: int = 1024,
    progress: bool | None = None,
) -> str:
    """Copy an Edge catalog into a qdrant-client collection (a server or cluster; local mode works too).

    Creates ``collection`` (default: the catalog's name) with the catalog's vectors and payload
    indexes (the tenant field ``is_tenant=True``), then uploads every point. With
    ``shard_by_tenant`` the collection uses custom sharding: one shard key per tenant value, each
    point written to its tenant's shard — searches then pass ``shard_key_selector=<tenant>``
    (docs/scaling.md). Returns the collection name.
    """
    collection = collection or catalog.name
    if client.collection_exists(collection):
        raise ConfigError(f"collection {collection!r} already exists in the target; choose another name or drop it")
    tenant = catalog.tenant_field
    if shard_by_tenant and tenant is None:
        raise ConfigError("shard_by_tenant needs a catalog with a tenant_field")
    spaces = catalog.vector_spaces
    params = {s.name: models.VectorParams(size=s.dim, distance=DISTANCES[s.distance]) for s in spaces}
    vectors_config = params[None] if list(params) == [None] else params
    client.create_collection(
        collection,
        vectors_config=vectors_config,
        sharding_method=models.ShardingMethod.CUSTOM if shard_by_tenant else None,
        replication_factor=replication_factor,
    )
    for field_name, schema in catalog.payload_indexes.items():
        if field_name == tenant and schema == "keyword":
            field_schema: Any = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
        else:
            field_schema = models.PayloadSchemaType(schema)
        client.create_payload_index(collection, field_name, field_schema=field_schema)
    created: set[Any] = set()
    bar = _progress((len(catalog) + batch_size - 1) // batch_size, f"copy Edge → {collection}", progress)
    try:
        for points in iter_catalog_points(catalog, batch_size=batch_size):
            if not shard_by_tenant:
                client.upsert(collection, points=points)
            else:
                by_key: dict[Any, list[models.PointStruct]] = {}
                for point in points:
                    by_key.setdefault((point.payload or {}).get(tenant), []).append(point)
                for key, group in by_key.items():
                    if key is None:
                        raise ConfigError(f"a point lacks the tenant field {tenant!r}; it cannot be routed to a shard")
                    if key not in created:
                        client.create_shard_key(collection, key)
                        created.add(key)
                    client.upsert(collection, points=group, shard_key_selector=key)
            bar.update(1)
    finally:
        bar.close()
    return collection


__all__ = ["catalog_from_qdrant", "catalog_to_qdrant", "iter_catalog_points"]
