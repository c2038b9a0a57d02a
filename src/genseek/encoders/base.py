"""The encoder contract: turn text, images, audio (or raw vectors) into embedding vectors.

An encoder plugin subclasses :class:`Encoder` and implements one method, :meth:`Encoder.encode_batch`.
Everything else — one-item-or-many handling, batching, modality checks, output validation —
lives here so every encoder behaves the same way.

Metadata (:class:`EncoderInfo`) must be readable without loading weights: a collection can be
created from it before any model is loaded. Weights load lazily, on the first ``encode`` call.
"""

from __future__ import annotations

import abc
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from ..errors import InvalidRequestError
from ..vectors import as_matrix

Modality = Literal["text", "image", "audio", "vector"]
Distance = Literal["cosine", "dot", "euclid", "manhattan"]

#: File suffixes used to infer the modality of a path given as a query.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".aif"})


@dataclass(frozen=True)
class EncoderInfo:
    """What an encoder produces, known without loading its weights.

    Attributes:
        id: the registered encoder id (stored in collections and tenant configs).
        modalities: the inputs it accepts.
        dim: output vector size, or ``None`` when it depends on options not yet resolved.
        distance: the similarity the vectors are meant for (drives collection creation).
        normalized: whether output vectors have unit L2 norm.
        description: one line for ``genseek plugins``.
    """

    id: str
    modalities: frozenset[str]
    dim: int | None
    distance: Distance = "cosine"
    normalized: bool = True
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def has_words(text: str) -> bool:
    """Whether ``text`` holds at least one letter or digit, in any script (Unicode ``L*`` / ``N*``)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def check_query_text(text: Any, *, name: str = "query") -> str:
    """Refuse a text query that an encoder could only turn into noise (or a zero vector).

    ``text`` must be a string with at least one letter or digit in any script (so ``"ロック"``,
    ``"موسيقى"`` and ``"80s"`` pass; ``""``, ``"   "`` and ``"?!…"`` do not). Returns ``text``.
    Only the search path calls this (queries and text controls); encoding itself accepts any text.

    Raises:
        InvalidRequestError: naming ``name``, for empty, whitespace-only or punctuation/symbol-only text.
    """
    if not isinstance(text, str):
        raise InvalidRequestError(f"{name} must be text here, got {type(text).__name__}")
    if not text.strip():
        raise InvalidRequestError(
            f"{name} is empty{' (only whitespace)' if text else ''}; pass text with at least one word"
        )
    if not has_words(text):
        raise InvalidRequestError(
            f"{name}={text!r} has no letter or digit (only punctuation, symbols or spaces), so it would be "
            "encoded to a meaningless vector; pass text with at least one word"
        )
    return text


def infer_modality(item: Any) -> Modality:
    """Guess the modality of one query item.

    ``str`` is text, unless it names an existing file with an image/audio suffix;
    :class:`pathlib.Path` is image or audio by suffix; numpy arrays are vectors;
    PIL images are images. Anything else raises :class:`InvalidRequestError`.
    """
    if isinstance(item, Path) or (isinstance(item, str) and _looks_like_media_path(item)):
        suffix = Path(item).suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return "image"
        if suffix in AUDIO_SUFFIXES:
            return "audio"
        raise InvalidRequestError(
            f"cannot tell the modality of file {str(item)!r} from its suffix {suffix!r}; "
            "pass modality= explicitly"
        )
    if isinstance(item, str):
        return "text"
    if isinstance(item, np.ndarray):
        return "vector"
    if type(item).__module__.startswith("PIL."):
        return "image"
    raise InvalidRequestError(
        f"cannot tell the modality of a {type(item).__name__} query; pass text, a file path, "
        "a PIL image, or use vector= for raw vectors"
    )


def _looks_like_media_path(text: str) -> bool:
    suffix = os.path.splitext(text)[1].lower()
    return suffix in IMAGE_SUFFIXES | AUDIO_SUFFIXES and os.path.exists(text)


class Encoder(abc.ABC):
    """Base class of all encoders.

    Subclasses set the class attributes ``id``, ``modalities`` (and ``dim`` / ``distance`` /
    ``normalized`` when fixed), or override :attr:`info` when metadata depends on options,
    and implement :meth:`encode_batch`.

    Contract of :meth:`encode_batch`: receives a non-empty list of items of one modality
    (already checked against :attr:`info`), returns a ``(len(items), dim)`` float array.
    It is called with at most :attr:`batch_size` items at a time.
    """

    id: ClassVar[str]
    modalities: ClassVar[frozenset[str]] = frozenset({"text"})
    dim: ClassVar[int | None] = None
    distance: ClassVar[Distance] = "cosine"
    normalized: ClassVar[bool] = True
    description: ClassVar[str] = ""

    batch_size: int = 32

    @property
    def info(self) -> EncoderInfo:
        """Metadata for this encoder instance; must not load weights."""
        return EncoderInfo(
            id=self.id,
            modalities=frozenset(self.modalities),
            dim=self.dim,
            distance=self.distance,
            normalized=self.normalized,
            description=self.description,
        )

    @abc.abstractmethod
    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        """Encode one batch of items of a single modality into a ``(n, dim)`` array."""

    def encode(self, items: Any, *, modality: Modality | None = None) -> np.ndarray:
        """Encode one item or a list of items.

        Returns a ``(dim,)`` vector for a single item and a ``(n, dim)`` matrix for a list.
        The modality is inferred from the first item unless given. Inputs are split into
        batches of :attr:`batch_size`.
        """
        single = not isinstance(items, (list, tuple))
        batch = [items] if single else list(items)
        if not batch:
            raise InvalidRequestError(f"encoder {self.id!r}: nothing to encode (empty list)")
        modality = modality or infer_modality(batch[0])
        info = self.info
        if modality not in info.modalities:
            raise InvalidRequestError(
                f"encoder {info.id!r} does not accept {modality} input; it accepts "
                f"{', '.join(sorted(info.modalities))}. Choose an encoder for {modality} "
                "or pass a vector with vector=."
            )
        size = max(1, int(self.batch_size))
        parts = [
            self._checked(self.encode_batch(batch[start : start + size], modality=modality), start, batch)
            for start in range(0, len(batch), size)
        ]
        out = np.concatenate(parts, axis=0)
        return out[0] if single else out

    def _checked(self, output: Any, start: int, batch: Sequence[Any]) -> np.ndarray:
        expected = min(self.batch_size, len(batch) - start)
        matrix = as_matrix(output, name=f"output of encoder {self.id!r}", dim=self.info.dim)
        if matrix.shape[0] != expected:
            raise InvalidRequestError(
                f"encoder {self.id!r} returned {matrix.shape[0]} vectors for {expected} items"
            )
        return matrix


__all__ = [
    "AUDIO_SUFFIXES",
    "Distance",
    "Encoder",
    "EncoderInfo",
    "IMAGE_SUFFIXES",
    "Modality",
    "check_query_text",
    "has_words",
    "infer_modality",
]
