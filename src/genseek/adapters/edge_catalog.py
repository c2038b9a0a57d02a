"""``EdgeCatalog``: one Qdrant Edge shard in a directory, managed for genseek.

Qdrant Edge (``qdrant-edge-py``) is the Qdrant engine embedded in the process: one shard, no
server, no collections. An :class:`EdgeCatalog` plays the role of one collection:

* **persistence** — everything lives under one directory::

      <path>/genseek-catalog.json   name, vectors, tenant field, payload indexes, index state
      <path>/genseek.lock           exclusive lock held while the catalog is open
      <path>/shard/                 the Edge shard (segments, WAL, edge_config.json)

  :meth:`EdgeCatalog.create` is atomic: the whole directory is built in a hidden sibling
  (``.<name>.genseek-creating-<id>``) and renamed into place, so a crash leaves either no catalog
  (``create`` again works, and sweeps the dead sibling) or a complete one. A damaged
  ``genseek-catalog.json`` is reported by :class:`CatalogCorruptError` naming the file and the
  fix; :meth:`EdgeCatalog.repair` rebuilds it from the shard;
* **all-or-nothing input** — :meth:`EdgeCatalog.upsert` validates every id, vector and payload
  before its first write, so bad input writes nothing;

* **one writer** — opening takes an exclusive ``flock`` on ``genseek.lock``; a second process
  (or a second ``open`` in the same process) gets :class:`CatalogLockedError` naming the
  directory, instead of Edge's bare ``WouldBlock`` WAL error;
* **payload indexes** — created through :meth:`create_payload_index`; the tenant field gets a
  keyword index with ``is_tenant=True`` (Qdrant co-locates each tenant's points);
* **HNSW managed for the user** — Edge builds HNSW only when ``optimize()`` runs. Bulk loads
  (:meth:`upsert` of at least ``stale_tolerance`` points, :func:`build_catalog`,
  :func:`catalog_from_qdrant`) optimize when they finish; smaller writes leave the index
  *stale*, which :meth:`index_status` reports and searches act on according to ``on_stale``
  (``"warn"`` — a :class:`StaleIndexWarning` once per stale period, ``"error"`` —
  :class:`StaleIndexError`, ``"optimize"`` — build before searching, ``"ignore"``).

A stale index never makes results wrong — Edge scans unindexed segments exactly — only slower.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import CollectionError, ConfigError, GenseekError
from .base import VectorSpace
from .edge_filters import edge_module, to_edge_filter
from .edge_rows import as_list, edge_id, json_object
from .edge_storage import (
    CatalogCorruptError,
    CatalogLockedError,
    EDGE_DISTANCES,
    META_FILE,
    PAYLOAD_SCHEMAS,
    SCHEMA_VERSION,
    SHARD_DIR,
    STAGING_INFIX,
    call_edge,
    commit_staging,
    fsync_dir,
    lock_directory,
    no_catalog_message,
    prepare_target,
    read_meta,
    readable_name,
    sweep_staging,
    unlock_directory,
    write_meta,
)


OnStale = Literal["warn", "error", "optimize", "ignore"]

#: Writes since the last ``optimize()`` tolerated before the index counts as stale; also the
#: size from which a single :meth:`EdgeCatalog.upsert` counts as a bulk load and optimizes.
DEFAULT_STALE_TOLERANCE = 1000






class StaleIndexError(GenseekError):
    """Points were written since the last ``optimize()`` and ``on_stale="error"`` was chosen."""


class StaleIndexWarning(UserWarning):
    """Points were written since the last ``optimize()``: searches scan them without HNSW."""


@dataclass(frozen=True)
class IndexStatus:
    """The HNSW state of a catalog.

    Attributes:
        points: points stored.
        indexed_vectors: vectors inside HNSW-indexed segments (summed over named vectors).
        unindexed_vectors: vectors searched by a plain scan (``points × vectors − indexed``).
        writes_since_optimize: points written through the catalog since the last ``optimize()``.
        stale: more than ``stale_tolerance`` writes (or that many new unindexed vectors) since
            the last ``optimize()`` — call :meth:`EdgeCatalog.optimize`.
        last_optimize_s: how long the last ``optimize()`` took (``None``: never ran).
    """

    points: int
    indexed_vectors: int
    unindexed_vectors: int
    writes_since_optimize: int
    stale: bool
    last_optimize_s: float | None


def _normalise_vectors(vectors: Any) -> list[VectorSpace]:
    """Accept ``{name: (dim, distance)}``, ``{name: VectorSpace}``, ``VectorSpace`` or a list of them."""
    if isinstance(vectors, VectorSpace):
        vectors = [vectors]
    if isinstance(vectors, Mapping):
        spaces = []
        for name, spec in vectors.items():
            if isinstance(spec, VectorSpace):
                spaces.append(VectorSpace(name, spec.dim, spec.distance))
            else:
                dim, distance = spec
                spaces.append(VectorSpace(name, int(dim), str(distance).lower()))
        vectors = spaces
    spaces = list(vectors or [])
    if not spaces:
        raise ConfigError("an Edge catalog needs at least one dense vector, e.g. vectors={'dense': (512, 'cosine')}")
    names = [s.name or "" for s in spaces]
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate vector names in {names}")
    if "" in names and len(names) > 1:
        raise ConfigError("the unnamed vector (name None) cannot be combined with named vectors")
    for space in spaces:
        if space.distance not in EDGE_DISTANCES:
            raise ConfigError(f"vector {space.name!r}: distance must be one of {sorted(EDGE_DISTANCES)}, got {space.distance!r}")
        if space.dim < 1:
            raise ConfigError(f"vector {space.name!r}: size must be >= 1, got {space.dim}")
    return spaces


def _schema(schema: str, *, is_tenant: bool) -> Any:
    qe = edge_module()
    if schema not in PAYLOAD_SCHEMAS:
        raise ConfigError(f"payload index schema must be one of {PAYLOAD_SCHEMAS}, got {schema!r}")
    if is_tenant:
        if schema == "keyword":
            return qe.KeywordIndexParams(is_tenant=True)
        if schema == "uuid":
            return qe.UuidIndexParams(is_tenant=True)
        if schema == "integer":  # integer tenants: a lookup index marked principal is Qdrant's closest
            return qe.IntegerIndexParams(lookup=True, range=False, is_principal=True)
        raise ConfigError(f"a tenant field must be indexed as keyword, uuid or integer, not {schema!r}")
    return getattr(qe.PayloadSchemaType, schema.capitalize())


class EdgeCatalog:
    """One persistent Qdrant Edge shard acting as a genseek collection (see the module docstring).

    Use :meth:`create` / :meth:`open` (or :func:`build_catalog`, :func:`catalog_from_qdrant`),
    not the constructor. A catalog is a context manager; :meth:`close` flushes and releases the
    directory lock. Pass it to :class:`~genseek.search.GenerativeSearch` as the client, with
    ``collection=catalog.name``.
    """

    def __init__(self, path: Path, meta: dict[str, Any], shard: Any, lock_fd: int | None, *, on_stale: OnStale,
                 stale_tolerance: int) -> None:
        self.path = path
        self._meta = meta
        self._shard = shard
        self._lock_fd = lock_fd
        self.on_stale = _check_on_stale(on_stale)
        self.stale_tolerance = _check_stale_tolerance(stale_tolerance)
        self._warned_stale = False

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        vectors: Any,
        name: str | None = None,
        tenant_field: str | None = None,
        tenant_schema: str = "keyword",
        payload_indexes: Mapping[str, str] | None = None,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        full_scan_threshold_kb: int = 10_000,
        indexing_threshold_kb: int | None = None,
        on_disk: bool = False,
        on_stale: OnStale = "warn",
        stale_tolerance: int = DEFAULT_STALE_TOLERANCE,
    ) -> EdgeCatalog:
        """Create a new catalog in ``path`` (a new or empty directory) and return it open.

        Atomic: the catalog is built in a hidden sibling directory and renamed to ``path`` once
        complete, so an interruption leaves ``path`` as it was (calling ``create`` again works).
        An empty Edge shard left in ``path`` by an interrupted ``create`` of an older genseek is
        replaced; a shard with points is refused (see :meth:`repair`).

        Args:
            vectors: ``{"dense": (512, "cosine")}`` (``None`` as the name: one unnamed vector).
            name: the collection name searches use (default: the directory's name).
            tenant_field: payload key of the tenant; gets a ``is_tenant=True`` index.
            tenant_schema: ``keyword`` (default), ``uuid`` or ``integer``.
            payload_indexes: ``{field: schema}`` for fields used in filters
                (``keyword``, ``integer``, ``float``, ``bool``, ``geo``, ``text``, ``datetime``, ``uuid``).
            hnsw_m / hnsw_ef_construct: HNSW graph parameters.
            full_scan_threshold_kb: below this many KB of matching vectors a filtered search scans.
            indexing_threshold_kb: segments smaller than this stay unindexed (Edge default when ``None``).
            on_disk: keep original vectors memory-mapped instead of in RAM (large catalogs).
            on_stale / stale_tolerance: stale-index policy (see the module docstring).

        Raises:
            ConfigError: a catalog (or other data) already exists in ``path``, or bad settings
                (all settings are checked before anything is written).
            CatalogLockedError: another process is creating or holds a catalog in ``path``.
        """
        qe = edge_module()
        path = Path(path)
        _check_on_stale(on_stale)
        _check_stale_tolerance(stale_tolerance)
        spaces = _normalise_vectors(vectors)
        if tenant_field is not None and (not isinstance(tenant_field, str) or not tenant_field):
            raise ConfigError(f"tenant_field must be a non-empty payload key, got {tenant_field!r}")
        indexes = dict(payload_indexes or {})
        for field_name, schema in {**indexes, **({tenant_field: tenant_schema} if tenant_field else {})}.items():
            if not isinstance(field_name, str) or not field_name:
                raise ConfigError(f"payload index field must be a non-empty key, got {field_name!r}")
            if schema not in PAYLOAD_SCHEMAS:  # validate before anything is written
                raise ConfigError(f"payload index {field_name!r}: schema must be one of {PAYLOAD_SCHEMAS}, got {schema!r}")
        if tenant_field is not None:
            _schema(tenant_schema, is_tenant=True)  # a tenant schema Edge cannot mark is refused here
            if indexes.get(tenant_field, tenant_schema) != tenant_schema:
                raise ConfigError(
                    f"payload_indexes gives the tenant field {tenant_field!r} schema {indexes[tenant_field]!r} but "
                    f"tenant_schema is {tenant_schema!r}; give it once, as tenant_schema"
                )
            indexes.pop(tenant_field, None)
        name = name or path.resolve().name
        target = Path(os.path.abspath(path))  # "..", "." resolved; the staging directory is its sibling
        prepare_target(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_staging(target)
        memory = qe.Memory.Cold if on_disk else None
        params = {
            (s.name or ""): qe.EdgeVectorParams(size=s.dim, distance=getattr(qe.Distance, EDGE_DISTANCES[s.distance]), memory=memory)
            for s in spaces
        }
        config = qe.EdgeConfig(
            vectors=params[""] if list(params) == [""] else params,
            hnsw_config=qe.HnswIndexConfig(m=hnsw_m, ef_construct=hnsw_ef_construct, full_scan_threshold=full_scan_threshold_kb),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=indexing_threshold_kb),
        )
        staging = target.parent / f".{target.name}{STAGING_INFIX}{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        lock_fd: int | None = None
        try:
            lock_fd = lock_directory(staging)  # the flock stays on the file when the directory is renamed
            shard = call_edge(lambda: qe.EdgeShard.create(str(staging / SHARD_DIR), config), staging)
            created: dict[str, str] = {}
            try:
                if tenant_field is not None:
                    shard.update(qe.UpdateOperation.create_field_index(tenant_field, _schema(tenant_schema, is_tenant=True)))
                    created[tenant_field] = tenant_schema
                for field_name, schema in indexes.items():
                    shard.update(qe.UpdateOperation.create_field_index(field_name, _schema(schema, is_tenant=False)))
                    created[field_name] = schema
                shard.flush()
            finally:
                shard.close()
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name,
                "vectors": [{"name": s.name, "dim": s.dim, "distance": s.distance} for s in spaces],
                "tenant_field": tenant_field,
                "payload_indexes": created,
                "index": {"writes_since_optimize": 0, "unindexed_at_optimize": 0, "last_optimize_s": None},
            }
            write_meta(staging / META_FILE, meta)
            fsync_dir(staging)
            commit_staging(staging, target)
        except BaseException:
            unlock_directory(lock_fd)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:  # committed: ``path`` holds a complete catalog, still locked by us
            fsync_dir(target.parent)
            shard = call_edge(lambda: qe.EdgeShard.load(str(path / SHARD_DIR)), path)
        except BaseException:
            unlock_directory(lock_fd)
            raise
        return cls(path, meta, shard, lock_fd, on_stale=on_stale, stale_tolerance=stale_tolerance)

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, on_stale: OnStale = "warn", stale_tolerance: int = DEFAULT_STALE_TOLERANCE
    ) -> EdgeCatalog:
        """Open an existing catalog (takes the directory lock).

        Raises:
            CollectionError: ``path`` holds no catalog (the message says when a creation was
                interrupted there, and what to run).
            CatalogCorruptError: ``genseek-catalog.json`` is damaged or the shard is missing
                (the message names the file; :meth:`repair` rebuilds the file from the shard).
            ConfigError: the file was written by a genseek with another catalog schema version.
            CatalogLockedError: another process (or handle) has it open.
        """
        qe = edge_module()
        path = Path(path)
        meta_file = path / META_FILE
        if not meta_file.exists():
            raise CollectionError(no_catalog_message(path))
        meta = read_meta(meta_file)
        if not (path / SHARD_DIR).is_dir():
            raise CatalogCorruptError(
                f"{meta_file} describes catalog {meta['name']!r} but {path / SHARD_DIR} (its Edge shard, where the "
                "points are) is missing; restore the shard directory from a backup, or move "
                f"{path} aside and create the catalog again (build_catalog / catalog_from_qdrant)"
            )
        lock_fd = lock_directory(path)
        try:
            shard = call_edge(lambda: qe.EdgeShard.load(str(path / SHARD_DIR)), path)
        except BaseException:
            unlock_directory(lock_fd)
            raise
        return cls(path, meta, shard, lock_fd, on_stale=on_stale, stale_tolerance=stale_tolerance)

    @classmethod
    def repair(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        on_stale: OnStale = "warn",
        stale_tolerance: int = DEFAULT_STALE_TOLERANCE,
    ) -> EdgeCatalog:
        """Rebuild ``genseek-catalog.json`` from the shard in ``path`` and open the catalog.

        For a catalog whose metadata file is missing (a ``create`` of an older genseek that was
        interrupted, a lost file) or damaged (:class:`CatalogCorruptError`). Vectors (names,
        sizes, distances) are read from the shard's ``edge_config.json``, payload indexes and the
        tenant field (the index marked ``is_tenant``/principal) from the shard itself; the index
        state is recomputed. A damaged file is kept beside it as ``genseek-catalog.json.damaged``.
        An intact catalog is simply opened (nothing is rewritten).

        Args:
            name: the collection name searches use (default: the damaged file's name when it can
                still be read, else the directory's name).

        Raises:
            CollectionError: ``path`` holds no Edge shard, so there is nothing to repair.
            CatalogLockedError: another process (or handle) has it open.
        """
        qe = edge_module()
        path = Path(path)
        meta_file = path / META_FILE
        shard_dir = path / SHARD_DIR
        if not (shard_dir / "edge_config.json").is_file():
            raise CollectionError(
                f"{path} holds no Edge shard ({shard_dir / 'edge_config.json'} missing), so there is nothing to repair "
                "from; restore the shard from a backup, or create the catalog with EdgeCatalog.create (or "
                "build_catalog / catalog_from_qdrant)"
            )
        if meta_file.exists():
            try:
                read_meta(meta_file)
            except CatalogCorruptError:
                pass
            else:
                return cls.open(path, on_stale=on_stale, stale_tolerance=stale_tolerance)
        spaces = _shard_vectors(shard_dir)
        _check_on_stale(on_stale)
        _check_stale_tolerance(stale_tolerance)
        lock_fd = lock_directory(path)
        try:
            shard = call_edge(lambda: qe.EdgeShard.load(str(shard_dir)), path)
        except BaseException:
            unlock_directory(lock_fd)
            raise
        try:
            indexes, tenant_field = _shard_indexes(shard)
            info = shard.info()
            unindexed = max(0, int(info.points_count) * len(spaces) - int(info.indexed_vectors_count))
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name or readable_name(meta_file) or path.resolve().name,
                "vectors": [{"name": s.name, "dim": s.dim, "distance": s.distance} for s in spaces],
                "tenant_field": tenant_field,
                "payload_indexes": indexes,
                "index": {"writes_since_optimize": 0, "unindexed_at_optimize": unindexed, "last_optimize_s": None},
            }
            if meta_file.exists():
                os.replace(meta_file, meta_file.with_name(META_FILE + ".damaged"))
            write_meta(meta_file, meta)
        except BaseException:
            shard.close()
            unlock_directory(lock_fd)
            raise
        return cls(path, meta, shard, lock_fd, on_stale=on_stale, stale_tolerance=stale_tolerance)

    # -- description ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The collection name searches must use."""
        return self._meta["name"]

    @property
    def tenant_field(self) -> str | None:
        return self._meta.get("tenant_field")

    @property
    def vector_spaces(self) -> list[VectorSpace]:
        return [VectorSpace(v["name"], int(v["dim"]), v["distance"]) for v in self._meta["vectors"]]

    @property
    def payload_indexes(self) -> dict[str, str]:
        """``{field: schema}`` of the payload indexes created through this catalog."""
        return dict(self._meta["payload_indexes"])

    @property
    def shard(self) -> Any:
        """The underlying ``qdrant_edge.EdgeShard`` (raises once the catalog is closed)."""
        if self._shard is None:
            raise GenseekError(f"Edge catalog {self.name!r} at {self.path} is closed; open it again with EdgeCatalog.open")
        return self._shard

    @property
    def closed(self) -> bool:
        return self._shard is None

    def vector_space(self, vector_name: str | None) -> VectorSpace:
        """Resolve ``vector_name`` (``None``: the only vector); :class:`CollectionError` if unknown."""
        spaces = self.vector_spaces
        if vector_name is None:
            if len(spaces) != 1:
                raise CollectionError(
                    f"Edge catalog {self.name!r} has vectors {[s.name for s in spaces]}; pass vector_name= to choose one"
                )
            return spaces[0]
        for space in spaces:
            if space.name == vector_name:
                return space
        if len(spaces) == 1 and spaces[0].name is None:
            raise CollectionError(f"Edge catalog {self.name!r} has a single unnamed vector, not {vector_name!r}; pass vector_name=None")
        raise CollectionError(f"Edge catalog {self.name!r} has no vector named {vector_name!r}; it has {[s.name for s in spaces]}")

    def count(self, filter: Any = None) -> int:
        """Points matching ``filter`` (a qdrant-client ``Filter`` or ``None``), counted exactly."""
        qe = edge_module()
        return int(self.shard.count(qe.CountRequest(exact=True, filter=to_edge_filter(filter))))

    def __len__(self) -> int:
        return int(self.shard.info().points_count)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self)} points"
        return f"EdgeCatalog(name={self.name!r}, path={str(self.path)!r}, {state})"

    # -- writes ---------------------------------------------------------------------------------
    def create_payload_index(self, field_name: str, schema: str = "keyword", *, is_tenant: bool = False) -> None:
        """Index a payload field (idempotent for the same schema). ``is_tenant`` marks the tenant key."""
        qe = edge_module()
        if not isinstance(field_name, str) or not field_name:
            raise ConfigError(f"payload index field must be a non-empty key, got {field_name!r}")
        existing = self._meta["payload_indexes"].get(field_name)
        if existing is not None and existing != schema:
            raise ConfigError(f"payload field {field_name!r} is already indexed as {existing!r}, not {schema!r}")
        self.shard.update(qe.UpdateOperation.create_field_index(field_name, _schema(schema, is_tenant=is_tenant)))
        self._meta["payload_indexes"][field_name] = schema
        self._save_meta()

    def upsert(
        self,
        ids: Sequence[Any],
        vectors: Any,
        payloads: Sequence[Mapping[str, Any] | None] | None = None,
        *,
        batch_size: int = 1024,
        optimize: bool | None = None,
        progress: bool | None = None,
    ) -> int:
        """Insert or replace points; returns how many were written.

        The whole input is validated before the first write — bad input raises
        :class:`~genseek.errors.ConfigError` (or :class:`~genseek.errors.DimensionMismatchError`)
        naming the row and writes nothing:

        * ids: unsigned integers below 2**64 or UUIDs (``uuid.UUID`` or its string form);
        * vectors: real numbers (integer or float dtype), one ``(n, d)`` row per id with the
          vector's size ``d``, finite once stored as float32;
        * payloads: ``None`` or JSON objects — string keys; values strings, booleans, ``None``,
          finite numbers, integers within signed 64 bits, lists and objects of those (numpy
          scalars and arrays are converted to plain numbers and lists);
        * with a tenant field: every point has one, a non-empty string or an integer.

        Valid input is written in batches of ``batch_size``; upserts are idempotent, so if the
        engine itself fails part way (e.g. a full disk), calling again with the same input
        converges.

        Args:
            ids: point ids, one per row.
            vectors: an ``(n, d)`` array for a single-vector catalog, or ``{name: (n, d) array}``.
            payloads: one mapping (or ``None``) per point.
            batch_size: points per Edge update.
            optimize: build HNSW afterwards; ``None`` (default) does so when this call wrote at
                least ``stale_tolerance`` points (a bulk load).
            progress: show a progress bar (default: for more than 20 batches).
        """
        qe = edge_module()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        ids = as_list(ids, "ids")
        point_ids = [edge_id(pid, row) for row, pid in enumerate(ids)]
        columns = self._vector_columns(vectors, len(ids), ids)
        clean = self._clean_payloads(payloads, ids)
        n_batches = (len(ids) + batch_size - 1) // batch_size
        bar = _progress(n_batches, f"upsert {self.name}", progress)
        try:
            for start in range(0, len(ids), batch_size):
                stop = min(start + batch_size, len(ids))
                points = []
                for row in range(start, stop):
                    vector = {name: column[row].tolist() for name, column in columns.items()}
                    payload = clean[row] if clean is not None else None
                    points.append(qe.Point(point_ids[row], vector[""] if list(vector) == [""] else vector, payload))
                self.shard.update(qe.UpdateOperation.upsert_points(points))
                self._meta["index"]["writes_since_optimize"] += stop - start
                bar.update(1)
        finally:
            bar.close()
            self._save_meta()
        if optimize or (optimize is None and len(ids) >= max(1, self.stale_tolerance)):
            self.optimize()
        return len(ids)

    def _clean_payloads(self, payloads: Any, ids: list[Any]) -> list[dict[str, Any] | None] | None:
        """Every payload checked and converted to plain JSON values (see :meth:`upsert`)."""
        if payloads is None:
            if self.tenant_field is not None and ids:
                raise ConfigError(
                    f"{len(ids)} point(s) lack the tenant field {self.tenant_field!r} (no payloads given); "
                    "every point of a multi-tenant catalog needs one"
                )
            return None
        payloads = as_list(payloads, "payloads")
        if len(payloads) != len(ids):
            raise ConfigError(f"got {len(payloads)} payloads for {len(ids)} ids")
        clean: list[dict[str, Any] | None] = []
        for row, payload in enumerate(payloads):
            where = f"payload of point {ids[row]!r} (row {row})"
            if payload is None:
                clean.append(None)
                continue
            if not isinstance(payload, Mapping):
                raise ConfigError(f"{where} must be a mapping (or None), got {type(payload).__name__}")
            try:
                clean.append(json_object(payload, [where]))
            except RecursionError:
                raise ConfigError(f"{where} is nested too deeply (or contains itself); payloads must be plain JSON") from None
        if self.tenant_field is not None:
            field = self.tenant_field
            missing = [ids[i] for i, p in enumerate(clean) if not p or p.get(field) in (None, "")]
            if missing:
                raise ConfigError(
                    f"{len(missing)} point(s) lack the tenant field {field!r} (first: {missing[:3]}); "
                    "every point of a multi-tenant catalog needs one"
                )
            for row, payload in enumerate(clean):
                value = payload[field]  # type: ignore[index]
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise ConfigError(
                        f"point {ids[row]!r} (row {row}): the tenant field {field!r} must be a non-empty string or an "
                        f"integer, got {value!r}"
                    )
        return clean

    def delete(self, ids: Sequence[Any]) -> None:
        """Delete points by id (counts as writes for the stale-index check).

        Every id is checked first (as in :meth:`upsert`); a bad one deletes nothing.
        """
        qe = edge_module()
        ids = as_list(ids, "ids")
        self.shard.update(qe.UpdateOperation.delete_points([edge_id(pid, row) for row, pid in enumerate(ids)]))
        self._meta["index"]["writes_since_optimize"] += len(ids)
        self._save_meta()

    def _vector_columns(self, vectors: Any, n: int, ids: list[Any] | None = None) -> dict[str, np.ndarray]:
        """One checked float32 ``(n, d)`` matrix per vector of the catalog (see :meth:`upsert`)."""
        spaces = {s.name or "": s for s in self.vector_spaces}
        if not isinstance(vectors, Mapping):
            if len(spaces) != 1:
                raise ConfigError(f"catalog {self.name!r} has vectors {sorted(spaces)}; pass {{name: array}}")
            vectors = {next(iter(spaces)): vectors}
        columns = {}
        for name, array in vectors.items():
            key = name or ""
            if key not in spaces:
                raise ConfigError(f"catalog {self.name!r} has no vector {name!r}; it has {sorted(spaces)}")
            try:
                raw = np.asarray(array)
            except (ValueError, TypeError) as exc:  # ragged rows, unconvertible objects
                raise ConfigError(
                    f"vector {name!r}: expected an ({n}, {spaces[key].dim}) array of numbers, got something numpy cannot "
                    f"read as one ({exc})"
                ) from None
            if raw.dtype.kind not in "iuf" or raw.dtype.kind == "b":
                raise ConfigError(
                    f"vector {name!r}: values must be real numbers (an integer or float array), got dtype {raw.dtype}; "
                    "convert the array (e.g. np.asarray(x, dtype=np.float32)) and check it holds no None or text"
                )
            if raw.ndim != 2 or raw.shape[0] != n:
                raise ConfigError(f"vector {name!r}: expected an ({n}, {spaces[key].dim}) array, got shape {raw.shape}")
            if raw.shape[1] != spaces[key].dim:
                from ..errors import DimensionMismatchError

                raise DimensionMismatchError(
                    f"vector {name!r} of Edge catalog {self.name!r} is {spaces[key].dim}-d, got {raw.shape[1]}-d rows"
                )
            with np.errstate(over="ignore", invalid="ignore"):
                matrix = raw.astype(np.float32, copy=False)
            finite = np.isfinite(matrix).all(axis=1)
            if not finite.all():
                row = int(np.flatnonzero(~finite)[0])
                which = f"point {ids[row]!r} (row {row})" if ids is not None else f"row {row}"
                raise ConfigError(
                    f"vector {name!r} contains NaN or infinite values (or values too large for float32) at {which}, "
                    f"{int((~finite).sum())} row(s) in all; fix or drop those rows (nothing was written)"
                )
            columns[key] = matrix
        missing = sorted(set(spaces) - set(columns))
        if missing:
            raise ConfigError(f"missing vectors {missing} for catalog {self.name!r}")
        return columns

    # -- index management -----------------------------------------------------------------------
    def optimize(self) -> bool:
        """Merge segments and build HNSW (blocks until done). Returns whether anything changed."""
        start = time.perf_counter()
        changed = bool(self.shard.optimize())
        self.shard.flush()
        elapsed = time.perf_counter() - start
        status = self._engine_counts()
        self._meta["index"].update(
            writes_since_optimize=0, unindexed_at_optimize=status[2], last_optimize_s=round(elapsed, 3)
        )
        self._warned_stale = False
        self._save_meta()
        return changed

    def _engine_counts(self) -> tuple[int, int, int]:
        info = self.shard.info()
        points = int(info.points_count)
        indexed = int(info.indexed_vectors_count)
        return points, indexed, max(0, points * len(self.vector_spaces) - indexed)

    def index_status(self) -> IndexStatus:
        """Report the HNSW state (see :class:`IndexStatus`)."""
        points, indexed, unindexed = self._engine_counts()
        index = self._meta["index"]
        writes = int(index["writes_since_optimize"])
        grown = unindexed - int(index.get("unindexed_at_optimize", 0))
        stale = writes > self.stale_tolerance or (writes > 0 and grown > self.stale_tolerance)
        return IndexStatus(points, indexed, unindexed, writes, stale, index.get("last_optimize_s"))

    def check_index(self) -> None:
        """Apply the ``on_stale`` policy; called by the adapter before every search."""
        if self.on_stale == "ignore":
            return
        status = self.index_status()
        if not status.stale:
            return
        advice = (
            f"Edge catalog {self.name!r} has {status.writes_since_optimize} point(s) written since the last "
            f"optimize() ({status.unindexed_vectors} vector(s) outside HNSW), so searches scan them without "
            "the index. Call catalog.optimize() after loading, or open the catalog with on_stale='optimize'."
        )
        if self.on_stale == "optimize":
            self.optimize()
        elif self.on_stale == "error":
            raise StaleIndexError(advice)
        elif not self._warned_stale:
            self._warned_stale = True
            warnings.warn(advice, StaleIndexWarning, stacklevel=4)

    # -- lifecycle ------------------------------------------------------------------------------
    def flush(self) -> None:
        self.shard.flush()
        self._save_meta()

    def close(self) -> None:
        """Flush, close the shard and release the directory lock (idempotent)."""
        if self._shard is None:
            return
        try:
            self._shard.flush()
            self._save_meta()
            self._shard.close()
        finally:
            self._shard = None
            unlock_directory(self._lock_fd)
            self._lock_fd = None

    def _discard(self, *, keep_directory: bool = False) -> None:
        """Delete this catalog, created by the failing call that discards it (the lock is held
        until its files are gone); ``keep_directory`` leaves ``path`` itself, empty."""
        try:
            if self._shard is not None:
                self._shard.close()
        finally:
            self._shard = None
            try:
                shutil.rmtree(self.path, ignore_errors=True)
                if keep_directory:
                    self.path.mkdir(parents=True, exist_ok=True)
            finally:
                unlock_directory(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> EdgeCatalog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort; close() is the contract
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    def _save_meta(self) -> None:
        write_meta(self.path / META_FILE, self._meta)


# -- helpers ---------------------------------------------------------------------------------------
def _check_on_stale(value: Any) -> OnStale:
    if value not in ("warn", "error", "optimize", "ignore"):
        raise ConfigError(f"on_stale must be 'warn', 'error', 'optimize' or 'ignore', got {value!r}")
    return value


def _check_stale_tolerance(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"stale_tolerance must be a non-negative integer, got {value!r}")
    return value


# -- metadata file and atomic creation -----------------------------------------------------------------




























def _shard_vectors(shard_dir: Path) -> list[VectorSpace]:
    """The dense vectors recorded in a shard's ``edge_config.json``."""
    config_file = shard_dir / "edge_config.json"
    try:
        vectors = json.loads(config_file.read_text(encoding="utf-8"))["vectors"]
        by_distance = {v: k for k, v in EDGE_DISTANCES.items()}
        spaces = [
            VectorSpace(name or None, int(params["size"]), by_distance[params["distance"]])
            for name, params in (vectors.items() if isinstance(vectors, dict) and "size" not in vectors else [("", vectors)])
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CatalogCorruptError(
            f"cannot read the vectors of the Edge shard from {config_file} ({type(exc).__name__}: {exc}); the shard "
            "itself is damaged — restore it from a backup, or rebuild the catalog from its source"
        ) from exc
    return _normalise_vectors(spaces)


def _shard_indexes(shard: Any) -> tuple[dict[str, str], str | None]:
    """``{field: schema}`` of a shard's payload indexes and its tenant field (``None``: none marked)."""
    indexes: dict[str, str] = {}
    tenant = None
    for field_name, info in (shard.info().payload_schema or {}).items():
        schema = str(info.data_type).rsplit(".", 1)[-1].lower()
        if schema not in PAYLOAD_SCHEMAS:
            continue
        indexes[field_name] = schema
        params = info.params
        if getattr(params, "is_tenant", None) or getattr(params, "is_principal", None):
            tenant = field_name
    return indexes, tenant


















class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = total > 20
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch")


def build_catalog(
    path: str | os.PathLike[str],
    vectors: Any,
    payloads: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    distance: str = "cosine",
    vector_name: str | None = "dense",
    batch_size: int = 1024,
    progress: bool | None = None,
    **create_options: Any,
) -> EdgeCatalog:
    """Create a catalog in ``path`` from arrays and payloads, load it, build HNSW; return it open.

    Args:
        vectors: an ``(n, d)`` array (stored as ``vector_name``) or ``{name: (n, d) array}``.
        payloads: one mapping per point (optional).
        ids: point ids (default ``0 … n-1``).
        distance: distance of every vector (``cosine``, ``dot``, ``euclid``, ``manhattan``).
        **create_options: passed to :meth:`EdgeCatalog.create` (``tenant_field``,
            ``payload_indexes``, ``name``, HNSW settings, ``on_stale`` …).

    All or nothing: if loading fails (bad input — checked before the first write — or an engine
    error), the new catalog is deleted again and ``path`` is left as it was.
    """
    columns = vectors if isinstance(vectors, Mapping) else {vector_name: vectors}
    shapes = {}
    for name, array in columns.items():
        shape = np.shape(array) if not isinstance(array, np.ndarray) else array.shape
        if len(shape) != 2:
            raise ConfigError(f"vector {name!r}: expected an (n, d) array, got shape {shape}")
        shapes[name] = shape
    n = next(iter(shapes.values()))[0]
    spaces = {name: (shape[1], distance) for name, shape in shapes.items()}
    existed = Path(path).is_dir()
    catalog = EdgeCatalog.create(path, vectors=spaces, **create_options)
    try:
        catalog.upsert(list(range(n)) if ids is None else ids, columns, payloads, batch_size=batch_size,
                       optimize=False, progress=progress)
        catalog.optimize()
    except BaseException:
        catalog._discard(keep_directory=existed)
        raise
    return catalog


__all__ = [
    "CatalogCorruptError",
    "CatalogLockedError",
    "DEFAULT_STALE_TOLERANCE",
    "EdgeCatalog",
    "IndexStatus",
    "StaleIndexError",
    "StaleIndexWarning",
    "build_catalog",
]
