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

import errno
import json
import math
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import CollectionError, ConfigError, GenseekError
from .base import VectorSpace
from .edge_filters import edge_module, to_edge_filter

try:  # POSIX advisory locks; on other platforms Edge's own WAL lock is the only guard
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

OnStale = Literal["warn", "error", "optimize", "ignore"]

SCHEMA_VERSION = 1
META_FILE = "genseek-catalog.json"
LOCK_FILE = "genseek.lock"
SHARD_DIR = "shard"
#: Infix of the hidden sibling directory a catalog is built in before it is renamed into place.
STAGING_INFIX = ".genseek-creating-"
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_U64_MAX = 2**64 - 1
#: Writes since the last ``optimize()`` tolerated before the index counts as stale; also the
#: size from which a single :meth:`EdgeCatalog.upsert` counts as a bulk load and optimizes.
DEFAULT_STALE_TOLERANCE = 1000
_DISTANCES = {"cosine": "Cosine", "dot": "Dot", "euclid": "Euclid", "manhattan": "Manhattan"}
_SCHEMAS = ("keyword", "integer", "float", "bool", "geo", "text", "datetime", "uuid")


class CatalogLockedError(GenseekError):
    """The catalog directory is already open in another process (or another handle)."""


class CatalogCorruptError(GenseekError):
    """The catalog's ``genseek-catalog.json`` is damaged (not JSON, wrong types, missing keys), or
    its shard directory is missing. The message names the file and how to repair it."""


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
        if space.distance not in _DISTANCES:
            raise ConfigError(f"vector {space.name!r}: distance must be one of {sorted(_DISTANCES)}, got {space.distance!r}")
        if space.dim < 1:
            raise ConfigError(f"vector {space.name!r}: size must be >= 1, got {space.dim}")
    return spaces


def _schema(schema: str, *, is_tenant: bool) -> Any:
    qe = edge_module()
    if schema not in _SCHEMAS:
        raise ConfigError(f"payload index schema must be one of {_SCHEMAS}, got {schema!r}")
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
            if schema not in _SCHEMAS:  # validate before anything is written
                raise ConfigError(f"payload index {field_name!r}: schema must be one of {_SCHEMAS}, got {schema!r}")
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
        _prepare_target(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_staging(target)
        memory = qe.Memory.Cold if on_disk else None
        params = {
            (s.name or ""): qe.EdgeVectorParams(size=s.dim, distance=getattr(qe.Distance, _DISTANCES[s.distance]), memory=memory)
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
            lock_fd = _lock(staging)  # the flock stays on the file when the directory is renamed
            shard = _call_edge(lambda: qe.EdgeShard.create(str(staging / SHARD_DIR), config), staging)
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
            _write_meta(staging / META_FILE, meta)
            _fsync_dir(staging)
            _commit(staging, target)
        except BaseException:
            _unlock(lock_fd)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:  # committed: ``path`` holds a complete catalog, still locked by us
            _fsync_dir(target.parent)
            shard = _call_edge(lambda: qe.EdgeShard.load(str(path / SHARD_DIR)), path)
        except BaseException:
            _unlock(lock_fd)
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
            raise CollectionError(_no_catalog_message(path))
        meta = _read_meta(meta_file)
        if not (path / SHARD_DIR).is_dir():
            raise CatalogCorruptError(
                f"{meta_file} describes catalog {meta['name']!r} but {path / SHARD_DIR} (its Edge shard, where the "
                "points are) is missing; restore the shard directory from a backup, or move "
                f"{path} aside and create the catalog again (build_catalog / catalog_from_qdrant)"
            )
        lock_fd = _lock(path)
        try:
            shard = _call_edge(lambda: qe.EdgeShard.load(str(path / SHARD_DIR)), path)
        except BaseException:
            _unlock(lock_fd)
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
                _read_meta(meta_file)
            except CatalogCorruptError:
                pass
            else:
                return cls.open(path, on_stale=on_stale, stale_tolerance=stale_tolerance)
        spaces = _shard_vectors(shard_dir)
        _check_on_stale(on_stale)
        _check_stale_tolerance(stale_tolerance)
        lock_fd = _lock(path)
        try:
            shard = _call_edge(lambda: qe.EdgeShard.load(str(shard_dir)), path)
        except BaseException:
            _unlock(lock_fd)
            raise
        try:
            indexes, tenant_field = _shard_indexes(shard)
            info = shard.info()
            unindexed = max(0, int(info.points_count) * len(spaces) - int(info.indexed_vectors_count))
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name or _readable_name(meta_file) or path.resolve().name,
                "vectors": [{"name": s.name, "dim": s.dim, "distance": s.distance} for s in spaces],
                "tenant_field": tenant_field,
                "payload_indexes": indexes,
                "index": {"writes_since_optimize": 0, "unindexed_at_optimize": unindexed, "last_optimize_s": None},
            }
            if meta_file.exists():
                os.replace(meta_file, meta_file.with_name(META_FILE + ".damaged"))
            _write_meta(meta_file, meta)
        except BaseException:
            shard.close()
            _unlock(lock_fd)
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
        ids = _as_list(ids, "ids")
        point_ids = [_edge_id(pid, row) for row, pid in enumerate(ids)]
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
        payloads = _as_list(payloads, "payloads")
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
                clean.append(_json_object(payload, [where]))
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
        ids = _as_list(ids, "ids")
        self.shard.update(qe.UpdateOperation.delete_points([_edge_id(pid, row) for row, pid in enumerate(ids)]))
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
            _unlock(self._lock_fd)
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
                _unlock(self._lock_fd)
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
        _write_meta(self.path / META_FILE, self._meta)


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
_REPAIR_HINT = (
    "Repair it with EdgeCatalog.repair({path!r}) (rebuilds the file from the shard; pass name= if the "
    "catalog's collection name was not {dirname!r}), or restore the file from a backup. The points in "
    "the shard are not affected."
)


def _corrupt(meta_file: Path, problem: str) -> CatalogCorruptError:
    hint = _REPAIR_HINT.format(path=str(meta_file.parent), dirname=meta_file.parent.resolve().name)
    return CatalogCorruptError(f"{meta_file} is damaged: {problem}. {hint}")


def _read_meta(meta_file: Path) -> dict[str, Any]:
    """Load and check ``genseek-catalog.json``; :class:`CatalogCorruptError` names what is wrong."""
    try:
        text = meta_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(meta_file, f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CatalogCorruptError(
            f"cannot read {meta_file} ({exc.strerror or exc}); check the file's permissions and the disk"
        ) from exc
    if not text.strip():
        raise _corrupt(meta_file, "the file is empty (a write that never finished)")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _corrupt(
            meta_file, f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; truncated?)"
        ) from None
    if not isinstance(meta, dict):
        raise _corrupt(meta_file, f"the top level must be a JSON object, not {type(meta).__name__}")
    version = meta.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise ConfigError(
            f"{meta_file}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION}); open the catalog "
            "with the genseek version that wrote it"
        )
    problems = _meta_problems(meta)
    if problems:
        raise _corrupt(meta_file, "; ".join(problems))
    meta["index"].setdefault("unindexed_at_optimize", 0)
    meta["index"].setdefault("last_optimize_s", None)
    return meta


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _meta_problems(meta: dict[str, Any]) -> list[str]:
    """Every problem of a parsed metadata object, by key (empty when it is usable)."""
    required = ("schema_version", "name", "vectors", "tenant_field", "payload_indexes", "index")
    missing = [key for key in required if key not in meta]
    problems = [f"missing key(s) {missing}"] if missing else []
    if "schema_version" in meta and not _is_int(meta["schema_version"]):
        problems.append(f"'schema_version' must be an integer, got {meta['schema_version']!r}")
    if "name" in meta and (not isinstance(meta["name"], str) or not meta["name"]):
        problems.append(f"'name' must be a non-empty string, got {meta['name']!r}")
    if "vectors" in meta:
        vectors = meta["vectors"]
        if not isinstance(vectors, list) or not vectors:
            problems.append(f"'vectors' must be a non-empty list, got {vectors!r}")
        else:
            for i, vector in enumerate(vectors):
                where = f"'vectors'[{i}]"
                if not isinstance(vector, dict):
                    problems.append(f"{where} must be an object, got {vector!r}")
                    continue
                lacking = [k for k in ("name", "dim", "distance") if k not in vector]
                if lacking:
                    problems.append(f"{where} lacks {lacking}")
                if "name" in vector and vector["name"] is not None and not isinstance(vector["name"], str):
                    problems.append(f"{where}.name must be a string or null, got {vector['name']!r}")
                if "dim" in vector and (not _is_int(vector["dim"]) or vector["dim"] < 1):
                    problems.append(f"{where}.dim must be a positive integer, got {vector['dim']!r}")
                if "distance" in vector and vector["distance"] not in _DISTANCES:
                    problems.append(f"{where}.distance must be one of {sorted(_DISTANCES)}, got {vector['distance']!r}")
    if "tenant_field" in meta and meta["tenant_field"] is not None and (
        not isinstance(meta["tenant_field"], str) or not meta["tenant_field"]
    ):
        problems.append(f"'tenant_field' must be a payload key or null, got {meta['tenant_field']!r}")
    if "payload_indexes" in meta:
        indexes = meta["payload_indexes"]
        if not isinstance(indexes, dict):
            problems.append(f"'payload_indexes' must be an object, got {indexes!r}")
        else:
            bad = {k: v for k, v in indexes.items() if v not in _SCHEMAS}
            if bad:
                problems.append(f"'payload_indexes' has unknown schema(s) {bad} (known: {list(_SCHEMAS)})")
    if "index" in meta:
        index = meta["index"]
        if not isinstance(index, dict):
            problems.append(f"'index' must be an object, got {index!r}")
        else:
            for key in ("writes_since_optimize", "unindexed_at_optimize"):
                if key in index and (not _is_int(index[key]) or index[key] < 0):
                    problems.append(f"'index'.{key} must be a non-negative integer, got {index[key]!r}")
            if "writes_since_optimize" not in index:
                problems.append("'index' lacks 'writes_since_optimize'")
            last = index.get("last_optimize_s")
            if last is not None and (isinstance(last, bool) or not isinstance(last, (int, float))):
                problems.append(f"'index'.last_optimize_s must be a number or null, got {last!r}")
    return problems


def _readable_name(meta_file: Path) -> str | None:
    """The ``name`` of a damaged metadata file, when it can still be read."""
    try:
        name = json.loads(meta_file.read_text(encoding="utf-8")).get("name")
    except Exception:  # noqa: BLE001 - damaged: no name to recover
        return None
    return name if isinstance(name, str) and name else None


def _write_meta(target: Path, meta: dict[str, Any]) -> None:
    """Write the metadata atomically and durably (temporary file, fsync, rename)."""
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(meta, indent=2, sort_keys=True))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _staging_dirs(path: Path) -> list[Path]:
    """Hidden sibling directories in which a catalog for ``path`` is (or was) being built."""
    parent = path.parent
    if not parent.is_dir():
        return []
    prefix = f".{path.name}{STAGING_INFIX}"
    return sorted(p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _sweep_staging(path: Path) -> None:
    """Delete the staging directories of creations that died (their lock is free)."""
    for staging in _staging_dirs(path):
        lock_file = staging / LOCK_FILE
        if not lock_file.exists():
            if time.time() - staging.stat().st_mtime > 3600:  # died before it took its lock
                shutil.rmtree(staging, ignore_errors=True)
            continue
        try:
            fd = _lock(staging)
        except CatalogLockedError:
            continue  # another create() is building it right now
        try:
            shutil.rmtree(staging, ignore_errors=True)
        finally:
            _unlock(fd)


def _prepare_target(path: Path) -> None:
    """Check that ``path`` can receive a new catalog: absent, empty, or the empty shard left by an
    interrupted ``create`` of an older genseek (cleared here). Refuses anything else."""
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f"{path} is a file, not a directory; choose a new or empty directory for the Edge catalog")
    if (path / META_FILE).exists():
        raise ConfigError(f"{path} already holds an Edge catalog; open it with EdgeCatalog.open({str(path)!r})")
    entries = set(os.listdir(path))
    if not entries:
        return
    if not entries <= {SHARD_DIR, LOCK_FILE, META_FILE + ".tmp"} or not (path / SHARD_DIR).is_dir():
        listing = ", ".join(sorted(entries)[:5]) + (" …" if len(entries) > 5 else "")
        raise ConfigError(
            f"{path} is not empty ({listing}) and holds no Edge catalog; an Edge catalog owns its directory, so create "
            "it in a new or empty one"
        )
    # an Edge shard without genseek-catalog.json: an interrupted create() of an older genseek, or a bare shard
    fd = _lock(path)
    try:
        points = _shard_points(path / SHARD_DIR)
        if points != 0:
            held = "cannot be read" if points is None else f"holds {points} point(s)"
            raise ConfigError(
                f"{path} holds an Edge shard without {META_FILE} that {held}; create() replaces only an empty leftover "
                f"shard. Run EdgeCatalog.repair({str(path)!r}) to make it a catalog, or move it aside"
            )
        shutil.rmtree(path / SHARD_DIR)
        for leftover in (META_FILE + ".tmp", LOCK_FILE):
            try:
                os.unlink(path / leftover)
            except FileNotFoundError:
                pass
    finally:
        _unlock(fd)


def _shard_points(shard_dir: Path) -> int | None:
    """Points in the shard at ``shard_dir`` (``None`` when it cannot be loaded)."""
    qe = edge_module()
    try:
        shard = qe.EdgeShard.load(str(shard_dir))
    except Exception:  # noqa: BLE001 - Edge raises bare exceptions for unreadable shards
        return None
    try:
        return int(shard.info().points_count)
    finally:
        shard.close()


def _commit(staging: Path, path: Path) -> None:
    """Rename the finished ``staging`` directory to ``path`` (atomic; replaces an empty directory)."""
    try:
        os.rename(staging, path)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            raise ConfigError(
                f"{path} was filled while the Edge catalog was being created there (another create()?); "
                f"open it with EdgeCatalog.open({str(path)!r}) if it is a catalog, or choose another directory"
            ) from exc
        raise


def _no_catalog_message(path: Path) -> str:
    base = f"{path} holds no genseek Edge catalog ({META_FILE} missing)"
    if (path / SHARD_DIR).is_dir():
        return (
            f"{base}, only an Edge shard ({path / SHARD_DIR}): a create() that was interrupted (older genseek) or a "
            f"bare Edge shard. Run EdgeCatalog.repair({str(path)!r}) to rebuild the metadata from the shard, or "
            f"EdgeCatalog.create({str(path)!r}, vectors=...) to start again (it replaces an empty leftover shard)"
        )
    staging = _staging_dirs(path)
    if staging:
        return (
            f"{base}: its creation was interrupted (leftover {staging[0].name} in {path.parent}). Run "
            "EdgeCatalog.create again (it sweeps the leftover) or genseek.adapters.qdrant_edge.build_catalog"
        )
    return f"{base}; create one with EdgeCatalog.create or genseek.adapters.qdrant_edge.build_catalog"


def _shard_vectors(shard_dir: Path) -> list[VectorSpace]:
    """The dense vectors recorded in a shard's ``edge_config.json``."""
    config_file = shard_dir / "edge_config.json"
    try:
        vectors = json.loads(config_file.read_text(encoding="utf-8"))["vectors"]
        by_distance = {v: k for k, v in _DISTANCES.items()}
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
        if schema not in _SCHEMAS:
            continue
        indexes[field_name] = schema
        params = info.params
        if getattr(params, "is_tenant", None) or getattr(params, "is_principal", None):
            tenant = field_name
    return indexes, tenant


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)):
        raise ConfigError(f"{what} must be a sequence with one entry per point, got a {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise ConfigError(f"{what} must be a sequence with one entry per point, got {type(values).__name__}") from None


def _edge_id(pid: Any, row: int | None = None) -> Any:
    """``pid`` as Edge takes it: an int in ``[0, 2**64)`` or a UUID string; else :class:`ConfigError`."""
    where = f"point id {pid!r}" + (f" (row {row})" if row is not None else "")
    if isinstance(pid, (int, np.integer)) and not isinstance(pid, (bool, np.bool_)):
        value = int(pid)
        if not 0 <= value <= _U64_MAX:
            raise ConfigError(
                f"{where}: point ids must be unsigned integers (0 … 2**64-1) or UUID strings; nothing was written"
            )
        return value
    if isinstance(pid, uuid.UUID):
        return str(pid)
    if isinstance(pid, str):
        try:
            uuid.UUID(pid)
        except ValueError:
            raise ConfigError(
                f"{where}: point ids must be unsigned integers or UUID strings (e.g. str(uuid.uuid4())); "
                "nothing was written"
            ) from None
        return pid
    raise ConfigError(
        f"{where}: point ids must be unsigned integers or UUID strings, not {type(pid).__name__}; nothing was written"
    )


def _json_object(payload: Mapping[Any, Any], path: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            raise ConfigError(f"{''.join(path)}: payload keys must be strings, got {key!r}")
        path.append(f"[{key!r}]")
        out[key] = _json_value(value, path)
        path.pop()
    return out


def _json_value(value: Any, path: list[str]) -> Any:
    """``value`` as plain JSON (see :meth:`EdgeCatalog.upsert`); ``path`` locates it in errors."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if not _I64_MIN <= number <= _I64_MAX:
            raise ConfigError(
                f"{''.join(path)}: the integer {number} is outside Qdrant's signed 64-bit range (-2**63 … 2**63-1), "
                "where Edge would silently store it as an inexact float; store it as a string"
            )
        return number
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"{''.join(path)}: {number} is not a finite number; JSON has no NaN or infinity — use null")
        return number
    if isinstance(value, Mapping):
        return _json_object(value, path)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            path.append(f"[{i}]")
            out.append(_json_value(item, path))
            path.pop()
        return out
    raise ConfigError(
        f"{''.join(path)}: a {type(value).__name__} is not JSON (payload values are strings, numbers, booleans, None, "
        "lists and mappings); convert it first, e.g. a datetime to an ISO 8601 string"
    )


def _lock(path: Path) -> int | None:
    """Take the catalog's exclusive lock, or raise :class:`CatalogLockedError`."""
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = ""
        try:
            holder = os.read(fd, 64).decode(errors="replace").strip()
        except OSError:
            pass
        os.close(fd)
        raise CatalogLockedError(_locked_message(path, holder)) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _locked_message(path: Path, holder: str = "") -> str:
    who = f" (held by process {holder})" if holder else ""
    return (
        f"Edge catalog at {path} is already open{who}. Qdrant Edge allows one process per directory: "
        "close the other handle (catalog.close()), or serve the catalog from one process, or move to a "
        "Qdrant server for shared access (docs/scaling.md)."
    )


def _unlock(fd: int | None) -> None:
    if fd is None or fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _call_edge(fn: Callable[[], Any], path: Path) -> Any:
    """Run an Edge open/create, turning its WAL lock failure into :class:`CatalogLockedError`."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - Edge raises bare Exception
        text = str(exc)
        if "WouldBlock" in text or "lock" in text.lower():
            raise CatalogLockedError(_locked_message(path)) from exc
        raise


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
