"""Resumable backfill: encode a payload field into one named vector, batch by batch.

Contract (what makes a crash at any batch safe to resume):

* points are visited in id order (``scroll``), ``batch_size`` at a time, reading only the source
  field and the target vector — memory stays flat whatever the collection size;
* a point that already has the target vector is **skipped** (never re-encoded), a point whose
  field is missing or empty is skipped and counted;
* writes use ``update_vectors`` with only the target vector, so payloads and other vectors are
  never touched; ``before_write`` (the migrator's lock check) runs right before each write and
  may raise to stop the backfill without writing that batch;
* after each batch ``on_batch`` receives the next scroll offset, to be recorded as a checkpoint;
  a rerun starts from the checkpoint, and because written points are skipped, a crash between a
  write and its checkpoint neither encodes a point twice nor skips one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client.http import models

from ..encoders.base import Encoder
from ..errors import CollectionError, DimensionMismatchError, InvalidRequestError
from ..scope import payload_value as field_value
from ..vectors import l2_normalize


@dataclass
class BackfillProgress:
    """Counts of one backfill run (also stored as the ledger checkpoint)."""

    offset: Any = None
    scanned: int = 0
    encoded: int = 0
    skipped_existing: int = 0
    skipped_missing: int = 0
    batches: int = 0
    seconds: float = 0.0
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def backfill(
    client: Any,
    collection: str,
    vector: str,
    *,
    field: str,
    encoder: Encoder,
    modality: str | None = None,
    root: str | Path | None = None,
    batch_size: int = 256,
    filter: models.Filter | None = None,
    start_offset: Any = None,
    on_batch: Callable[[BackfillProgress], None] | None = None,
    before_write: Callable[[], None] | None = None,
    progress: bool = True,
) -> BackfillProgress:
    """Encode ``field`` of every point of ``collection`` into its named vector ``vector``.

    Args:
        client: a synchronous qdrant-client ``QdrantClient``.
        collection / vector: where to write; the vector must exist (add it first).
        field: dotted payload path of the source (text, or an image/audio path).
        encoder: any :class:`~genseek.encoders.base.Encoder`; its ``dim`` must equal the vector's size.
        modality: ``"text"``, ``"image"`` or ``"audio"`` (default: inferred from each batch's first item).
        root: directory that relative media paths are resolved against.
        batch_size: points per scroll page and per encoder call.
        filter: only backfill points matching it (e.g. one tenant).
        start_offset: scroll offset to resume from (the last checkpoint's ``offset``).
        on_batch: called after each batch with the running :class:`BackfillProgress`.
        before_write: called right before each batch is written (after it was encoded); an
            exception from it stops the backfill with that batch unwritten.
        progress: show a tqdm progress bar.

    Returns the final :class:`BackfillProgress` (``done=True``).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidRequestError(f"batch_size must be a positive integer, got {batch_size!r}")
    size, distance = _vector_params(client, collection, vector)
    dim = encoder.info.dim
    if dim is not None and dim != size:
        raise DimensionMismatchError(
            f"encoder {encoder.info.id!r} produces {dim}-d vectors but vector {vector!r} of collection "
            f"{collection!r} is {size}-d; use the encoder the vector was created for"
        )
    normalize = distance == models.Distance.DOT and encoder.info.distance in ("cosine", "dot") and not encoder.info.normalized
    state = BackfillProgress(offset=start_offset)
    todo_filter = models.Filter(
        must=[filter] if filter is not None else None,
        must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=field)), models.HasVectorCondition(has_vector=vector)],
    )
    total = client.count(collection, count_filter=todo_filter, exact=True).count
    bar = _progress_bar(total, f"backfill {collection}.{vector}", progress)
    started = time.perf_counter()
    offset = start_offset
    try:
        while True:
            records, next_offset = client.scroll(
                collection, scroll_filter=filter, limit=batch_size, offset=offset, with_payload=[field], with_vectors=[vector]
            )
            ids, items = [], []
            for record in records:
                if vector in (record.vector or {}):
                    state.skipped_existing += 1
                    continue
                value = field_value(record.payload, field)
                if value is None or value == "" or value == []:
                    state.skipped_missing += 1
                    continue
                ids.append(record.id)
                items.append(_media(value, root))
            state.scanned += len(records)
            if items:
                encoded = np.asarray(encoder.encode(items, modality=modality), dtype=np.float32).reshape(len(items), -1)
                if encoded.shape[1] != size:
                    raise DimensionMismatchError(
                        f"encoder {encoder.info.id!r} returned {encoded.shape[1]}-d vectors for the {size}-d vector {vector!r}"
                    )
                if normalize:
                    encoded = l2_normalize(encoded)
                if before_write is not None:
                    before_write()
                client.update_vectors(
                    collection,
                    [models.PointVectors(id=pid, vector={vector: row.tolist()}) for pid, row in zip(ids, encoded)],
                )
                state.encoded += len(items)
                bar.update(len(items))
            state.batches += 1
            state.offset = next_offset
            state.done = next_offset is None
            state.seconds = time.perf_counter() - started
            if on_batch is not None:
                on_batch(state)
            if next_offset is None:
                return state
            offset = next_offset
    finally:
        bar.close()


def _media(value: Any, root: str | Path | None) -> Any:
    if root is not None and isinstance(value, str) and not Path(value).is_absolute():
        candidate = Path(root) / value
        if candidate.exists():
            return str(candidate)
    return value


def _vector_params(client: Any, collection: str, vector: str) -> tuple[int, models.Distance]:
    if not client.collection_exists(collection):
        raise CollectionError(f"collection {collection!r} does not exist; create it before backfilling")
    vectors = client.get_collection(collection).config.params.vectors
    named = vectors if isinstance(vectors, dict) else {}
    if vector not in named:
        raise CollectionError(
            f"collection {collection!r} has no named vector {vector!r} (it has {sorted(named) or 'only an unnamed vector'}); "
            "add it first (an add_vector migration step)"
        )
    return int(named[vector].size), named[vector].distance


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, description: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="pt", dynamic_ncols=True)


__all__ = ["BackfillProgress", "backfill", "field_value"]
