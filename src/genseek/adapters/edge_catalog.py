"""``EdgeCatalog``: one Qdrant Edge shard in a directory, managed for genseek.

Qdrant Edge (``qdrant-edge-py``) is the Qdrant engine embedded in the process: one shard, no
server, no collections. An :class:`EdgeCatalog` plays the role of one collection:

* **persistence** — everything lives under one directory::

      <path>/genseek-catalog.json   name, vectors, tenant field, payload indexes, index state
      <path>/genseek.lock           exclusive lock held while the catalog is open
      <path>/shard/                 the Edge shard (segments, WAL, edge_config.json)

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
import time
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
#: Writes since the last ``optimize()`` tolerated before the index counts as stale; also the
#: size from which a single :meth:`EdgeCatalog.upsert` counts as a bulk load and optimizes.
DEFAULT_STALE_TOLERANCE = 1000
_DISTANCES = {"cosine": "Cosine", "dot": "Dot", "euclid": "Euclid", "manhattan": "Manhattan"}
_SCHEMAS = ("keyword", "integer", "float", "bool", "geo", "text", "datetime", "uuid")


class CatalogLockedError(GenseekError):
    """The catalog directory is already open in another process (or another handle)."""


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
        if not isinstance(stale_tolerance, int) or stale_tolerance < 0:
            raise ConfigError(f"stale_tolerance must be a non-negative integer, got {stale_tolerance!r}")
        self.stale_tolerance = stale_tolerance
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
        """Create a new catalog in ``path`` (created if missing; must not hold a catalog already).

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
            ConfigError: a catalog (or other data) already exists in ``path``, or bad settings.
        """
        qe = edge_module()
        path = Path(path)
        _check_on_stale(on_stale)
        spaces = _normalise_vectors(vectors)
        for field_name, schema in {**(payload_indexes or {}), **({tenant_field: tenant_schema} if tenant_field else {})}.items():
            if schema not in _SCHEMAS:  # validate before anything is written
                raise ConfigError(f"payload index {field_name!r}: schema must be one of {_SCHEMAS}, got {schema!r}")
        if (path / META_FILE).exists() or (path / SHARD_DIR).exists():
            raise ConfigError(f"{path} already holds an Edge catalog; open it with EdgeCatalog.open({str(path)!r})")
        name = name or path.resolve().name
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(path)
        try:
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
            shard = _call_edge(lambda: qe.EdgeShard.create(str(path / SHARD_DIR), config), path)
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name,
                "vectors": [{"name": s.name, "dim": s.dim, "distance": s.distance} for s in spaces],
                "tenant_field": tenant_field,
                "payload_indexes": {},
                "index": {"writes_since_optimize": 0, "unindexed_at_optimize": 0, "last_optimize_s": None},
            }
            catalog = cls(path, meta, shard, lock_fd, on_stale=on_stale, stale_tolerance=stale_tolerance)
        except BaseException:
            _unlock(lock_fd)
            raise
        try:
            catalog._save_meta()
            if tenant_field is not None:
                catalog.create_payload_index(tenant_field, tenant_schema, is_tenant=True)
            for field_name, schema in (payload_indexes or {}).items():
                catalog.create_payload_index(field_name, schema)
        except BaseException:
            catalog.close()
            raise
        return catalog

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, on_stale: OnStale = "warn", stale_tolerance: int = DEFAULT_STALE_TOLERANCE
    ) -> EdgeCatalog:
        """Open an existing catalog (takes the directory lock).

        Raises:
            CollectionError: ``path`` holds no catalog.
            CatalogLockedError: another process (or handle) has it open.
        """
        qe = edge_module()
        path = Path(path)
        meta_file = path / META_FILE
        if not meta_file.exists():
            raise CollectionError(
                f"{path} holds no genseek Edge catalog ({META_FILE} missing); create one with EdgeCatalog.create "
                "or genseek.adapters.qdrant_edge.build_catalog"
            )
        meta = json.loads(meta_file.read_text())
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ConfigError(f"{meta_file}: schema_version {meta.get('schema_version')!r} is not supported (expected {SCHEMA_VERSION})")
        lock_fd = _lock(path)
        try:
            shard = _call_edge(lambda: qe.EdgeShard.load(str(path / SHARD_DIR)), path)
        except BaseException:
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

        Args:
            ids: point ids (unsigned ints or UUID strings), one per row.
            vectors: an ``(n, d)`` array for a single-vector catalog, or ``{name: (n, d) array}``.
            payloads: one mapping (or ``None``) per point.
            batch_size: points per Edge update.
            optimize: build HNSW afterwards; ``None`` (default) does so when this call wrote at
                least ``stale_tolerance`` points (a bulk load).
            progress: show a progress bar (default: for more than 20 batches).
        """
        qe = edge_module()
        ids = list(ids)
        columns = self._vector_columns(vectors, len(ids))
        if payloads is not None and len(payloads) != len(ids):
            raise ConfigError(f"got {len(payloads)} payloads for {len(ids)} ids")
        if self.tenant_field is not None and payloads is not None:
            missing = [ids[i] for i, p in enumerate(payloads) if not p or p.get(self.tenant_field) in (None, "")]
            if missing:
                raise ConfigError(
                    f"{len(missing)} point(s) lack the tenant field {self.tenant_field!r} (first: {missing[:3]}); "
                    "every point of a multi-tenant catalog needs one"
                )
        n_batches = (len(ids) + batch_size - 1) // batch_size
        bar = _progress(n_batches, f"upsert {self.name}", progress)
        try:
            for start in range(0, len(ids), batch_size):
                stop = min(start + batch_size, len(ids))
                points = []
                for row in range(start, stop):
                    vector = {name: column[row].tolist() for name, column in columns.items()}
                    payload = dict(payloads[row]) if payloads is not None and payloads[row] is not None else None
                    points.append(qe.Point(_edge_id(ids[row]), vector[""] if list(vector) == [""] else vector, payload))
                self.shard.update(qe.UpdateOperation.upsert_points(points))
                self._meta["index"]["writes_since_optimize"] += stop - start
                bar.update(1)
        finally:
            bar.close()
            self._save_meta()
        if optimize or (optimize is None and len(ids) >= max(1, self.stale_tolerance)):
            self.optimize()
        return len(ids)

    def delete(self, ids: Sequence[Any]) -> None:
        """Delete points by id (counts as writes for the stale-index check)."""
        qe = edge_module()
        self.shard.update(qe.UpdateOperation.delete_points([_edge_id(i) for i in ids]))
        self._meta["index"]["writes_since_optimize"] += len(ids)
        self._save_meta()

    def _vector_columns(self, vectors: Any, n: int) -> dict[str, np.ndarray]:
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
            matrix = np.asarray(array, dtype=np.float32)
            if matrix.ndim != 2 or matrix.shape[0] != n:
                raise ConfigError(f"vector {name!r}: expected an ({n}, {spaces[key].dim}) array, got shape {matrix.shape}")
            if matrix.shape[1] != spaces[key].dim:
                from ..errors import DimensionMismatchError

                raise DimensionMismatchError(
                    f"vector {name!r} of Edge catalog {self.name!r} is {spaces[key].dim}-d, got {matrix.shape[1]}-d rows"
                )
            if not np.isfinite(matrix).all():
                raise ConfigError(f"vector {name!r} contains NaN or infinite values")
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
        target = self.path / META_FILE
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self._meta, indent=2, sort_keys=True))
        os.replace(tmp, target)


# -- helpers ---------------------------------------------------------------------------------------
def _check_on_stale(value: Any) -> OnStale:
    if value not in ("warn", "error", "optimize", "ignore"):
        raise ConfigError(f"on_stale must be 'warn', 'error', 'optimize' or 'ignore', got {value!r}")
    return value


def _edge_id(pid: Any) -> Any:
    if isinstance(pid, (bool, float)) or (isinstance(pid, (int, np.integer)) and pid < 0):
        raise ConfigError(f"point ids must be unsigned integers or UUID strings, got {pid!r}")
    if isinstance(pid, np.integer):
        return int(pid)
    return pid if isinstance(pid, int) else str(pid)


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
    """
    columns = vectors if isinstance(vectors, Mapping) else {vector_name: vectors}
    columns = {name: np.asarray(array, dtype=np.float32) for name, array in columns.items()}
    n = len(next(iter(columns.values())))
    spaces = {name: (array.shape[1], distance) for name, array in columns.items()}
    catalog = EdgeCatalog.create(path, vectors=spaces, **create_options)
    try:
        catalog.upsert(list(range(n)) if ids is None else ids, columns, payloads, batch_size=batch_size,
                       optimize=False, progress=progress)
        catalog.optimize()
    except BaseException:
        catalog.close()
        raise
    return catalog


__all__ = [
    "CatalogLockedError",
    "DEFAULT_STALE_TOLERANCE",
    "EdgeCatalog",
    "IndexStatus",
    "StaleIndexError",
    "StaleIndexWarning",
    "build_catalog",
]
