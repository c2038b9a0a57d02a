"""The sampler contract: turn one query embedding into a set of seed vectors.

A sampler plugin subclasses :class:`Sampler` and implements :meth:`Sampler.sample`. All samplers
share one signature (as k-diffusion's ``sample_*`` functions do) and take an explicit random
generator — never the global RNG — so that the same ``seed`` always gives the same seeds.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidRequestError
from ..vectors import as_matrix


@dataclass(frozen=True)
class SeedSet:
    """The seed vectors a sampler produced for one query.

    Attributes:
        vectors: ``(n, d)`` float32 array, one row per seed, in the target (catalog) space.
        weights: ``(n,)`` non-negative per-seed weights used by weighted fusion (default: ones).
        labels: optional human-readable description per seed (e.g. "steered: +acoustic").
        info: free-form diagnostics from the sampler (steps, guidance, timings).
    """

    vectors: np.ndarray
    weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    labels: tuple[str, ...] | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vectors = as_matrix(self.vectors, name="seed vectors")
        object.__setattr__(self, "vectors", vectors)
        weights = np.ones(len(vectors), np.float32) if self.weights is None else np.asarray(self.weights, np.float32)
        if weights.shape != (len(vectors),):
            raise InvalidRequestError(f"seed weights have shape {weights.shape}, expected ({len(vectors)},)")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise InvalidRequestError("seed weights must be finite and non-negative")
        object.__setattr__(self, "weights", weights)
        if self.labels is not None and len(self.labels) != len(vectors):
            raise InvalidRequestError(f"got {len(self.labels)} seed labels for {len(vectors)} seeds")

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass(frozen=True)
class SamplerInfo:
    """Metadata of a sampler instance, readable without running it.

    Attributes:
        id: registered sampler id.
        controls: names of the keyword controls :meth:`Sampler.sample` accepts.
        query_dim / target_dim: expected query size and produced seed size (``None``: any / same as query).
        query_encoder: id of the encoder whose vectors it was trained on, if it matters.
        target_encoder: id of the encoder that produced the catalog space it generates into.
        deterministic: True when the output does not depend on the generator.
        max_seeds: the largest ``n`` it can produce (``None``: unbounded).
    """

    id: str
    controls: frozenset[str] = frozenset()
    query_dim: int | None = None
    target_dim: int | None = None
    query_encoder: str | None = None
    target_encoder: str | None = None
    deterministic: bool = False
    max_seeds: int | None = None
    description: str = ""


class Sampler(abc.ABC):
    """Base class of all samplers.

    Contract of :meth:`sample`:
      * ``query`` is the encoded query: a ``(d_q,)`` vector, or a ``(T, d_q)`` token sequence
        for samplers that condition on sequences;
      * ``n >= 1`` is the number of seeds requested (a deterministic sampler may return fewer);
      * ``generator`` is a :class:`numpy.random.Generator`; torch-based samplers derive their
        ``torch.Generator`` from it with :func:`torch_seed_from`;
      * ``controls`` are the keyword controls listed in :attr:`info` ``.controls``; unknown names
        are rejected by the caller before ``sample`` runs;
      * returns a :class:`SeedSet` whose vectors are in the target space.
    """

    id: ClassVar[str]
    controls: ClassVar[frozenset[str]] = frozenset()
    #: Controls whose text values (a ``str`` or a list of ``str``) the search encodes with its own
    #: query encoder before calling :meth:`sample` (e.g. a negative prompt ``negative="live"``).
    #: A list of texts is encoded to a ``(k, d_q)`` matrix; the sampler decides how to combine it.
    query_controls: ClassVar[frozenset[str]] = frozenset()
    #: True when the sampler implements :meth:`refine`.
    can_refine: ClassVar[bool] = False
    #: The keyword controls :meth:`refine` accepts (``None``: not declared, refine checks them itself).
    #: A search checks a refine request against it before it reads the stored point.
    refine_controls: ClassVar[frozenset[str] | None] = None
    description: ClassVar[str] = ""

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(id=self.id, controls=frozenset(self.controls), description=self.description)

    @abc.abstractmethod
    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        """Produce seeds for one query (see the class docstring for the contract)."""

    def refine(self, vector: np.ndarray, condition: np.ndarray, strength: float, **controls: Any) -> np.ndarray:
        """Edit an existing target-space vector toward a new condition (inversion-based refinement).

        Only samplers with ``can_refine = True`` implement it; the default raises
        :class:`InvalidRequestError`. ``strength`` in ``[0, 1]``: 0 returns ``vector`` unchanged.
        """
        raise InvalidRequestError(
            f"sampler {self.id!r} cannot refine a vector; use a generative sampler that supports it "
            "(e.g. sampler='diffusion')"
        )

    def check_refine_controls(self, controls: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidRequestError` for control names :meth:`refine` does not accept."""
        accepted = self.refine_controls
        unknown = sorted(set(controls) - accepted) if accepted is not None else []
        if unknown:
            raise InvalidRequestError(
                f"refine does not accept {', '.join(unknown)}; it accepts {', '.join(sorted(accepted or ())) or 'none'}"
            )

    def check_controls(self, controls: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidRequestError` for control names this sampler does not accept."""
        unknown = sorted(set(controls) - set(self.info.controls))
        if unknown:
            accepted = ", ".join(sorted(self.info.controls)) or "none"
            raise InvalidRequestError(
                f"sampler {self.id!r} does not accept the control(s) {', '.join(unknown)}; "
                f"it accepts: {accepted}"
            )


def torch_seed_from(generator: np.random.Generator) -> int:
    """Draw a 63-bit seed from a numpy generator, to seed a ``torch.Generator`` deterministically."""
    return int(generator.integers(0, 2**63 - 1))


__all__ = ["Sampler", "SamplerInfo", "SeedSet", "torch_seed_from"]
