"""Where an :class:`~genseek.adapters.edge_catalog.EdgeCatalog` lives on disk (internal).

The catalog directory's metadata file (read, validated, written durably), the hidden staging
sibling that makes creation atomic, the exclusive ``flock`` that allows one writer, and the
translation of Edge's own lock error. Every problem with the metadata is a
:class:`CatalogCorruptError` that names the file and the repair.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, GenseekError
from .base import DISTANCES
from .edge_filters import edge_module

try:  # POSIX advisory locks; on other platforms Edge's own WAL lock is the only guard
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1
META_FILE = "genseek-catalog.json"
LOCK_FILE = "genseek.lock"
SHARD_DIR = "shard"
#: Infix of the hidden sibling directory a catalog is built in before it is renamed into place.
STAGING_INFIX = ".genseek-creating-"
#: genseek distance name → Qdrant Edge ``Distance`` member name (derived from the one table).
EDGE_DISTANCES = {name: distance.value for name, distance in DISTANCES.items()}
PAYLOAD_SCHEMAS = ("keyword", "integer", "float", "bool", "geo", "text", "datetime", "uuid")


class CatalogLockedError(GenseekError):
    """The catalog directory is already open in another process (or another handle)."""


class CatalogCorruptError(GenseekError):
    """The catalog's ``genseek-catalog.json`` is damaged (not JSON, wrong types, missing keys), or
    its shard directory is missing. The message names the file and how to repair it."""


REPAIR_HINT = (
    "Repair it with EdgeCatalog.repair({path!r}) (rebuilds the file from the shard; pass name= if the "
    "catalog's collection name was not {dirname!r}), or restore the file from a backup. The points in "
    "the shard are not affected."
)


def corrupt_meta_error(meta_file: Path, problem: str) -> CatalogCorruptError:
    hint = REPAIR_HINT.format(path=str(meta_file.parent), dirname=meta_file.parent.resolve().name)
    return CatalogCorruptError(f"{meta_file} is damaged: {problem}. {hint}")


def read_meta(meta_file: Path) -> dict[str, Any]:
    """Load and check ``genseek-catalog.json``; :class:`CatalogCorruptError` names what is wrong."""
    try:
        text = meta_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise corrupt_meta_error(meta_file, f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CatalogCorruptError(
            f"cannot read {meta_file} ({exc.strerror or exc}); check the file's permissions and the disk"
        ) from exc
    if not text.strip():
        raise corrupt_meta_error(meta_file, "the file is empty (a write that never finished)")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise corrupt_meta_error(
            meta_file, f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; truncated?)"
        ) from None
    if not isinstance(meta, dict):
        raise corrupt_meta_error(meta_file, f"the top level must be a JSON object, not {type(meta).__name__}")
    version = meta.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise ConfigError(
            f"{meta_file}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION}); open the catalog "
            "with the genseek version that wrote it"
        )
    problems = meta_problems(meta)
    if problems:
        raise corrupt_meta_error(meta_file, "; ".join(problems))
    meta["index"].setdefault("unindexed_at_optimize", 0)
    meta["index"].setdefault("last_optimize_s", None)
    return meta


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def meta_problems(meta: dict[str, Any]) -> list[str]:
    """Every problem of a parsed metadata object, by key (empty when it is usable)."""
    required = ("schema_version", "name", "vectors", "tenant_field", "payload_indexes", "index")
    missing = [key for key in required if key not in meta]
    problems = [f"missing key(s) {missing}"] if missing else []
    if "schema_version" in meta and not is_int(meta["schema_version"]):
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
                if "dim" in vector and (not is_int(vector["dim"]) or vector["dim"] < 1):
                    problems.append(f"{where}.dim must be a positive integer, got {vector['dim']!r}")
                if "distance" in vector and vector["distance"] not in EDGE_DISTANCES:
                    problems.append(f"{where}.distance must be one of {sorted(EDGE_DISTANCES)}, got {vector['distance']!r}")
    if "tenant_field" in meta and meta["tenant_field"] is not None and (
        not isinstance(meta["tenant_field"], str) or not meta["tenant_field"]
    ):
        problems.append(f"'tenant_field' must be a payload key or null, got {meta['tenant_field']!r}")
    if "payload_indexes" in meta:
        indexes = meta["payload_indexes"]
        if not isinstance(indexes, dict):
            problems.append(f"'payload_indexes' must be an object, got {indexes!r}")
        else:
            bad = {k: v for k, v in indexes.items() if v not in PAYLOAD_SCHEMAS}
            if bad:
                problems.append(f"'payload_indexes' has unknown schema(s) {bad} (known: {list(PAYLOAD_SCHEMAS)})")
    if "index" in meta:
        index = meta["index"]
        if not isinstance(index, dict):
            problems.append(f"'index' must be an object, got {index!r}")
        else:
            for key in ("writes_since_optimize", "unindexed_at_optimize"):
                if key in index and (not is_int(index[key]) or index[key] < 0):
                    problems.append(f"'index'.{key} must be a non-negative integer, got {index[key]!r}")
            if "writes_since_optimize" not in index:
                problems.append("'index' lacks 'writes_since_optimize'")
            last = index.get("last_optimize_s")
            if last is not None and (isinstance(last, bool) or not isinstance(last, (int, float))):
                problems.append(f"'index'.last_optimize_s must be a number or null, got {last!r}")
    return problems


def readable_name(meta_file: Path) -> str | None:
    """The ``name`` of a damaged metadata file, when it can still be read."""
    try:
        name = json.loads(meta_file.read_text(encoding="utf-8")).get("name")
    except Exception:  # noqa: BLE001 - damaged: no name to recover
        return None
    return name if isinstance(name, str) and name else None


def write_meta(target: Path, meta: dict[str, Any]) -> None:
    """Write the metadata atomically and durably (temporary file, fsync, rename)."""
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(meta, indent=2, sort_keys=True))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def fsync_dir(path: Path) -> None:
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


def staging_dirs(path: Path) -> list[Path]:
    """Hidden sibling directories in which a catalog for ``path`` is (or was) being built."""
    parent = path.parent
    if not parent.is_dir():
        return []
    prefix = f".{path.name}{STAGING_INFIX}"
    return sorted(p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def sweep_staging(path: Path) -> None:
    """Delete the staging directories of creations that died (their lock is free)."""
    for staging in staging_dirs(path):
        lock_file = staging / LOCK_FILE
        if not lock_file.exists():
            if time.time() - staging.stat().st_mtime > 3600:  # died before it took its lock
                shutil.rmtree(staging, ignore_errors=True)
            continue
        try:
            fd = lock_directory(staging)
        except CatalogLockedError:
            continue  # another create() is building it right now
        try:
            shutil.rmtree(staging, ignore_errors=True)
        finally:
            unlock_directory(fd)


def prepare_target(path: Path) -> None:
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
    fd = lock_directory(path)
    try:
        points = shard_points(path / SHARD_DIR)
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
        unlock_directory(fd)


def shard_points(shard_dir: Path) -> int | None:
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


def commit_staging(staging: Path, path: Path) -> None:
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


def no_catalog_message(path: Path) -> str:
    base = f"{path} holds no genseek Edge catalog ({META_FILE} missing)"
    if (path / SHARD_DIR).is_dir():
        return (
            f"{base}, only an Edge shard ({path / SHARD_DIR}): a create() that was interrupted (older genseek) or a "
            f"bare Edge shard. Run EdgeCatalog.repair({str(path)!r}) to rebuild the metadata from the shard, or "
            f"EdgeCatalog.create({str(path)!r}, vectors=...) to start again (it replaces an empty leftover shard)"
        )
    staging = staging_dirs(path)
    if staging:
        return (
            f"{base}: its creation was interrupted (leftover {staging[0].name} in {path.parent}). Run "
            "EdgeCatalog.create again (it sweeps the leftover) or genseek.adapters.qdrant_edge.build_catalog"
        )
    return f"{base}; create one with EdgeCatalog.create or genseek.adapters.qdrant_edge.build_catalog"


def lock_directory(path: Path) -> int | None:
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
        raise CatalogLockedError(locked_message(path, holder)) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def locked_message(path: Path, holder: str = "") -> str:
    who = f" (held by process {holder})" if holder else ""
    return (
        f"Edge catalog at {path} is already open{who}. Qdrant Edge allows one process per directory: "
        "close the other handle (catalog.close()), or serve the catalog from one process, or move to a "
        "Qdrant server for shared access (docs/scaling.md)."
    )


def unlock_directory(fd: int | None) -> None:
    if fd is None or fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def call_edge(fn: Callable[[], Any], path: Path) -> Any:
    """Run an Edge open/create, turning its WAL lock failure into :class:`CatalogLockedError`."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - Edge raises bare Exception
        text = str(exc)
        if "WouldBlock" in text or "lock" in text.lower():
            raise CatalogLockedError(locked_message(path)) from exc
        raise
