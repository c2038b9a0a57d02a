"""Training pairs for a prior: (query vector or token sequence, target vector).

Sources:

* files — ``.npz`` with arrays ``queries`` ``(n, d_q)`` or ``(n, T, d_q)``, ``targets`` ``(n, d)``
  and optionally ``groups`` ``(n,)`` (e.g. a clip id: pairs of one group stay on one side of the
  validation split) and ``labels`` ``(n,)``; or Parquet with list columns ``query``, ``target``
  and optional ``group`` / ``label`` (needs ``pyarrow``, ``pip install 'genseek[train]'``);
* a directory (or list) of such shards, read one shard / row group at a time by
  :class:`PairStream` for data larger than memory;
* a Qdrant collection (:func:`pairs_from_qdrant`): targets from a named vector, queries from a
  payload text field run through a registered encoder;
* pseudo-labels (:mod:`genseek.training.pseudolabel`) for catalogs without paired text.

Every loader validates what it reads (:func:`check_pairs`) and raises :class:`TrainingDataError`
naming the file and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GenseekError, MissingDependencyError

PAIR_SUFFIXES = (".npz", ".parquet")


class TrainingDataError(GenseekError, ValueError):
    """Training pairs are missing, empty, malformed, non-finite or of the wrong size."""


@dataclass(frozen=True)
class PairSet:
    """An in-memory set of training pairs.

    Attributes:
        queries: ``(n, d_q)`` query vectors or ``(n, T, d_q)`` token sequences (float32).
        targets: ``(n, d)`` target vectors (float32).
        groups: optional ``(n,)`` group ids; the validation split never separates a group.
        labels: optional ``(n,)`` item labels (e.g. genre), used by H@K.
    """

    queries: np.ndarray
    targets: np.ndarray
    groups: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_pairs(self.queries, self.targets, source="pairs", groups=self.groups, labels=self.labels)
        object.__setattr__(self, "queries", np.ascontiguousarray(self.queries, np.float32))
        object.__setattr__(self, "targets", np.ascontiguousarray(self.targets, np.float32))

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    @property
    def query_dim(self) -> int:
        return int(self.queries.shape[-1])

    @property
    def target_dim(self) -> int:
        return int(self.targets.shape[1])

    @property
    def sequence(self) -> bool:
        """True when queries are token sequences ``(n, T, d_q)``."""
        return self.queries.ndim == 3

    def subset(self, index: np.ndarray) -> PairSet:
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return PairSet(self.queries[index], self.targets[index], pick(self.groups), pick(self.labels))

    def save(self, path: str | Path) -> Path:
        """Write these pairs as an ``.npz`` file that :func:`load_pairs` reads back.

        The file is written to a temporary sibling and renamed into place, so a crash never
        leaves a truncated file under ``path``. ``.npz`` is appended when ``path`` lacks it.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        arrays = {"queries": self.queries, "targets": self.targets}
        if self.groups is not None:
            arrays["groups"] = self.groups
        if self.labels is not None:
            arrays["labels"] = self.labels
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
        return path


def check_pairs(
    queries: Any,
    targets: Any,
    *,
    source: str,
    query_dim: int | None = None,
    target_dim: int | None = None,
    groups: Any = None,
    labels: Any = None,
) -> None:
    """Raise :class:`TrainingDataError` unless ``queries``/``targets`` are usable training pairs."""
    try:
        q = np.asarray(queries, dtype=np.float32)
        t = np.asarray(targets, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TrainingDataError(f"{source}: queries and targets must be numeric arrays ({exc})") from exc
    if t.ndim != 2:
        raise TrainingDataError(f"{source}: targets must be a (n, d) matrix, got shape {t.shape}")
    if q.ndim not in (2, 3):
        raise TrainingDataError(
            f"{source}: queries must be (n, d_q) vectors or (n, T, d_q) token sequences, got shape {q.shape}"
        )
    if len(t) == 0:
        raise TrainingDataError(f"{source}: contains no pairs (0 rows)")
    if len(q) != len(t):
        raise TrainingDataError(f"{source}: {len(q)} queries but {len(t)} targets; every query needs one target")
    for name, array in (("queries", q), ("targets", t)):
        if array.shape[-1] == 0:
            raise TrainingDataError(f"{source}: {name} have size 0")
        if not np.all(np.isfinite(array)):
            bad = int(np.count_nonzero(~np.isfinite(array).reshape(len(array), -1).all(axis=1)))
            raise TrainingDataError(f"{source}: {bad} row(s) of {name} contain NaN or inf; drop or fix them")
    if query_dim is not None and q.shape[-1] != query_dim:
        raise TrainingDataError(f"{source}: queries are {q.shape[-1]}-d, expected {query_dim}-d (same query encoder?)")
    if target_dim is not None and t.shape[1] != target_dim:
        raise TrainingDataError(f"{source}: targets are {t.shape[1]}-d, expected {target_dim}-d (same catalog space?)")
    for name, extra in (("groups", groups), ("labels", labels)):
        if extra is not None and np.shape(extra) != (len(t),):
            raise TrainingDataError(f"{source}: {name} must have shape ({len(t)},), got {np.shape(extra)}")


# -- files ---------------------------------------------------------------------------------------


def _read_npz(path: Path) -> PairSet:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ("queries", "targets") if key not in data.files]
            if missing:
                raise TrainingDataError(
                    f"{path}: missing array(s) {', '.join(missing)}; an .npz pair file needs 'queries' and "
                    f"'targets' (found: {', '.join(data.files) or 'nothing'})"
                )
            arrays = {key: data[key] for key in ("queries", "targets", "groups", "labels") if key in data.files}
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, TrainingDataError):
            raise
        raise TrainingDataError(f"{path}: not a readable .npz file ({exc})") from exc
    check_pairs(arrays["queries"], arrays["targets"], source=str(path), groups=arrays.get("groups"), labels=arrays.get("labels"))
    return PairSet(**arrays)


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("reading Parquet training pairs", "pyarrow", "train") from exc
    return pq


def _table_to_pairs(table: Any, source: str) -> PairSet:
    names = set(table.column_names)
    missing = {"query", "target"} - names
    if missing:
        raise TrainingDataError(
            f"{source}: missing column(s) {', '.join(sorted(missing))}; Parquet pair files need list columns "
            f"'query' and 'target' (found: {', '.join(sorted(names)) or 'nothing'})"
        )
    if table.num_rows == 0:
        raise TrainingDataError(f"{source}: contains no pairs (0 rows)")
    try:
        queries = np.array(table.column("query").to_pylist(), dtype=np.float32)
        targets = np.array(table.column("target").to_pylist(), dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TrainingDataError(f"{source}: rows of 'query'/'target' have different lengths or null values ({exc})") from exc
    groups = np.asarray(table.column("group").to_pylist()) if "group" in names else None
    labels = np.asarray(table.column("label").to_pylist()) if "label" in names else None
    check_pairs(queries, targets, source=source, groups=groups, labels=labels)
    return PairSet(queries, targets, groups, labels)


def _read_parquet(path: Path) -> PairSet:
    pq = _pyarrow_parquet()
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise TrainingDataError(f"{path}: not a readable Parquet file ({exc})") from exc
    return _table_to_pairs(table, str(path))


def pair_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The pair files named by ``source``: a file, a directory of shards, or a list of files."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in PAIR_SUFFIXES)
            if not files:
                raise TrainingDataError(f"{path}: directory holds no .npz or .parquet pair files")
            return files
        paths = [path]
    else:
        paths = [Path(p) for p in source]
        if not paths:
            raise TrainingDataError("no pair files given")
    for path in paths:
        if not path.exists():
            raise TrainingDataError(f"{path}: no such pair file")
        if path.suffix not in PAIR_SUFFIXES:
            raise TrainingDataError(f"{path}: unsupported pair file type {path.suffix!r}; use .npz or .parquet")
        if path.stat().st_size == 0:
            raise TrainingDataError(f"{path}: file is empty (0 bytes)")
    return paths


def load_pairs(source: str | Path | Sequence[str | Path]) -> PairSet:
    """Load all pairs of ``source`` (file, directory of shards, or list) into memory."""
    parts = [_read_npz(p) if p.suffix == ".npz" else _read_parquet(p) for p in pair_files(source)]
    return concat_pairs(parts, source=str(source))


def concat_pairs(parts: Sequence[PairSet], *, source: str = "pairs") -> PairSet:
    """Concatenate pair sets that share query/target sizes."""
    if not parts:
        raise TrainingDataError(f"{source}: no pairs")
    first = parts[0]
    for part in parts[1:]:
        if part.queries.shape[1:] != first.queries.shape[1:] or part.target_dim != first.target_dim:
            raise TrainingDataError(
                f"{source}: shards disagree on sizes: queries {part.queries.shape[1:]} vs {first.queries.shape[1:]}, "
                f"targets {part.target_dim} vs {first.target_dim}"
            )
    cat = lambda key: None if any(getattr(p, key) is None for p in parts) else np.concatenate([getattr(p, key) for p in parts])  # noqa: E731
    return PairSet(
        np.concatenate([p.queries for p in parts]), np.concatenate([p.targets for p in parts]), cat("groups"), cat("labels")
    )


class PairStream:
    """Pairs read chunk by chunk — one ``.npz`` shard or one Parquet row group at a time.

    Use it when the pairs do not fit in memory: only one chunk is loaded at once. Iterating
    yields :class:`PairSet` chunks in file order; :meth:`batches` shuffles within a buffer.
    """

    def __init__(self, source: str | Path | Sequence[str | Path]) -> None:
        self.files = pair_files(source)

    def __iter__(self) -> Iterator[PairSet]:
        for path in self.files:
            if path.suffix == ".npz":
                yield _read_npz(path)
                continue
            pq = _pyarrow_parquet()
            handle = pq.ParquetFile(path)
            if handle.metadata.num_rows == 0:
                raise TrainingDataError(f"{path}: contains no pairs (0 rows)")
            for group in range(handle.num_row_groups):
                yield _table_to_pairs(handle.read_row_group(group), f"{path} (row group {group})")

    def batches(
        self, batch_size: int, *, rng: np.random.Generator, buffer_size: int = 65536
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass of ``(queries, targets)`` batches, shuffled within a ``buffer_size`` window."""
        buffer_q: list[np.ndarray] = []
        buffer_t: list[np.ndarray] = []
        held = 0
        for chunk in self:
            buffer_q.append(chunk.queries)
            buffer_t.append(chunk.targets)
            held += len(chunk)
            if held >= buffer_size:
                yield from _drain(buffer_q, buffer_t, batch_size, rng, keep_tail=True)
                held = sum(len(t) for t in buffer_t)
        yield from _drain(buffer_q, buffer_t, batch_size, rng, keep_tail=False)


def _drain(buffer_q, buffer_t, batch_size, rng, *, keep_tail):
    if not buffer_t:
        return
    q, t = np.concatenate(buffer_q), np.concatenate(buffer_t)
    order = rng.permutation(len(t))
    full = (len(t) // batch_size) * batch_size if keep_tail else len(t)
    for start in range(0, full, batch_size):
        index = order[start : start + batch_size]
        yield q[index], t[index]
    buffer_q.clear()
    buffer_t.clear()
    if full < len(t):
        buffer_q.append(q[order[full:]])
        buffer_t.append(t[order[full:]])


# -- splitting -----------------------------------------------------------------------------------


def split_pairs(pairs: PairSet, val_fraction: float = 0.1, *, seed: int = 0) -> tuple[PairSet, PairSet]:
    """Split into (train, validation). Groups (when present) are never split across the two sides."""
    if not 0.0 < val_fraction < 1.0:
        raise TrainingDataError(f"validation fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    keys = pairs.groups if pairs.groups is not None else np.arange(len(pairs))
    unique = np.unique(keys)
    if len(unique) < 2:
        raise TrainingDataError(f"cannot split {len(unique)} group(s) into train and validation; add data")
    n_val = min(len(unique) - 1, max(1, int(round(val_fraction * len(unique)))))
    val_keys = rng.choice(unique, size=n_val, replace=False)
    val_mask = np.isin(keys, val_keys)
    return pairs.subset(np.flatnonzero(~val_mask)), pairs.subset(np.flatnonzero(val_mask))


# -- Qdrant --------------------------------------------------------------------------------------


def pairs_from_qdrant(
    client: Any,
    collection: str,
    *,
    text_field: str,
    encoder: Any,
    vector_name: str | None = None,
    scroll_filter: Any = None,
    limit: int | None = None,
    page_size: int = 512,
    encoder_options: dict | None = None,
) -> PairSet:
    """Pairs from a Qdrant collection: target = the point's vector, query = encoded payload text.

    Args:
        client: a ``qdrant_client.QdrantClient``.
        text_field: payload key holding a string or a list of strings (one pair per string).
        encoder: an :class:`~genseek.encoders.base.Encoder` or a registered encoder id.
        vector_name: named vector holding the targets (``None`` for an unnamed vector).
        scroll_filter: optional ``models.Filter`` restricting the points used.
        limit: stop after this many points.
    Groups are the point ids, so all captions of a point stay on one side of the split.
    """
    if isinstance(encoder, str):
        from ..plugin.registry import get_registry

        encoder = get_registry().create("encoder", encoder, **(encoder_options or {}))
    from ..locking import thread_safe_client

    client = thread_safe_client(client)  # local mode: serialise with other threads sharing it
    if not client.collection_exists(collection):
        raise TrainingDataError(f"Qdrant collection {collection!r} does not exist")
    texts: list[str] = []
    targets: list[np.ndarray] = []
    groups: list[Any] = []
    offset = None
    seen = 0
    while True:
        points, offset = client.scroll(
            collection, scroll_filter=scroll_filter, limit=page_size, offset=offset,
            with_payload=[text_field], with_vectors=[vector_name] if vector_name else True,
        )
        for point in points:
            vector = point.vector.get(vector_name) if isinstance(point.vector, dict) else point.vector
            if vector is None:
                raise TrainingDataError(f"point {point.id} of {collection!r} has no vector {vector_name!r}")
            value = (point.payload or {}).get(text_field)
            for text in [value] if isinstance(value, str) else list(value or []):
                if isinstance(text, str) and text.strip():
                    texts.append(text)
                    targets.append(np.asarray(vector, np.float32))
                    groups.append(str(point.id))
            seen += 1
            if limit is not None and seen >= limit:
                offset = None
                break
        if offset is None:
            break
    if not texts:
        raise TrainingDataError(
            f"collection {collection!r}: no point has text in payload field {text_field!r}; pick the field "
            "holding captions or use pseudo-labelling (genseek.training.pseudolabel)"
        )
    queries = encoder.encode(texts)
    return PairSet(np.asarray(queries, np.float32), np.stack(targets), np.asarray(groups))


__all__ = [
    "PairSet",
    "PairStream",
    "TrainingDataError",
    "check_pairs",
    "concat_pairs",
    "load_pairs",
    "pair_files",
    "pairs_from_qdrant",
    "split_pairs",
]
