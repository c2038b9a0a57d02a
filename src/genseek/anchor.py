"""Anchored generative search: the query's own catalog-space vector, searched beside the seeds.

Most applications can also embed the query directly in the catalog's space (a text model for a
text catalog). That direct vector — the **anchor** — is searched as one more ranked list next to
the generated seeds, with its own fusion weight, so the head of the fused list starts from plain
search and the seeds add what plain search misses.

Contract (shared by :class:`~genseek.search.GenerativeSearch` and its async twin):

* the anchor is appended as the **last** row of the searched seed matrix (``result.seeds``), with
  weight ``anchor_weight`` and label ``"anchor"``; the generated seeds keep their own weights. The
  sampler never sees it, and it does not count against ``max_seeds``;
* being one more seed row, it gets the caller's filter AND the tenant condition like every seed,
  and takes part in engine fusion, client fusion and provenance;
* every fuser treats it as one more ranked list (or seed vector) with the anchor's weight:

  - ``rrf``: weighted reciprocal rank fusion. In the engine (``RrfQuery(rrf=Rrf(weights=...))``)
    when the backend supports weighted RRF (or when every weight is equal), on the client otherwise;
  - ``dbsf``: each list's normalised scores are summed weighted by the list's weight (on the
    client: Qdrant's DBSF has no weights);
  - ``max``: weights are not used (the fused score stays a similarity), so a point's score is its
    best similarity to the anchor or to any seed;
  - ``round_robin``: lists are visited in order of decreasing weight, so an anchor weighted above
    the seeds takes the first slot of every round (the fused list starts with plain search's top hit);
  - ``mmr`` and ``centroid``: the anchor is part of the weighted centroid, which its weight pulls
    toward the query's direct embedding;
* ``anchor=False`` searches exactly what an un-anchored search does.

Nothing here sends requests: :meth:`Anchoring.plan` validates a request's ``anchor=`` and
``anchor_weight=`` (before the query is encoded or anything is read), :meth:`Anchoring.build`
embeds the query when asked to, and :func:`with_anchor` appends the anchor to the sampled seeds.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .adapters.base import VectorSpace
from .encoders.base import Encoder
from .errors import ConfigError, DimensionMismatchError, GenseekError, InvalidRequestError
from .samplers.base import SeedSet
from .vectors import as_vector, check_direction

#: Label of the anchor row in ``result.seed_labels``.
ANCHOR_LABEL = "anchor"

AnchorSource = Literal["encoder", "vector"]


@dataclass(frozen=True)
class Anchor:
    """The anchor of one search: a catalog-space vector, its fusion weight and where it came from.

    Attributes:
        vector: ``(d,)`` float32 vector in the collection's vector space.
        weight: fusion weight of the anchor's list (finite, > 0).
        source: ``"encoder"`` (the query embedded with the anchor encoder) or ``"vector"`` (given).
        encode_ms: time spent embedding the query (``None`` for a given vector).
    """

    vector: np.ndarray
    weight: float
    source: AnchorSource
    encode_ms: float | None = None

    def describe(self) -> dict[str, Any]:
        """What ``result.info["anchor"]`` reports."""
        return {"weight": self.weight, "source": self.source}


@dataclass(frozen=True)
class AnchorPlan:
    """A validated anchor request, not yet embedded: ``vector`` is set for a given vector,
    ``query`` (what the anchor encoder embeds) otherwise."""

    weight: float
    vector: np.ndarray | None = None
    query: Any = None


def check_weight(value: Any, *, name: str = "anchor_weight", error: type[GenseekError] = InvalidRequestError) -> float:
    """``value`` as a float; raises ``error`` unless it is a finite real number > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise error(f"{name} must be a finite number > 0, got {value!r}")
    weight = float(value)
    if not math.isfinite(weight) or weight <= 0:
        raise error(f"{name} must be a finite number > 0, got {value!r}")
    return weight


class Anchoring:
    """A searcher's anchor settings: the optional anchor encoder and the default anchor weight.

    Args:
        encoder: embeds a request's ``query`` in the catalog's space (``None``: requests can only
            pass anchor vectors, and searches are not anchored by default).
        weight: the fusion weight used when a request does not pass ``anchor_weight``.

    Raises:
        ConfigError: ``weight`` is not a finite number > 0.
    """

    def __init__(self, encoder: Encoder | None, weight: Any) -> None:
        self.encoder = encoder
        self.weight = check_weight(weight, error=ConfigError)

    @property
    def default_on(self) -> bool:
        """Whether ``anchor=None`` anchors a request (it does when there is an anchor encoder)."""
        return self.encoder is not None

    def check_space(self, space: VectorSpace, collection: str) -> None:
        """Raise :class:`DimensionMismatchError` when the anchor encoder's size is known and differs."""
        if self.encoder is None:
            return
        info = self.encoder.info
        if info.dim is not None and info.dim != space.dim:
            raise DimensionMismatchError(
                f"anchor encoder {info.id!r} gives {info.dim}-d vectors but vector {space.name or '(default)'!r} of "
                f"collection {collection!r} is {space.dim}-d; the anchor must embed queries in the catalog's own "
                "space (use the encoder the collection's vectors were made with)"
            )

    def plan(
        self, anchor: Any, weight: Any, *, query: Any, vector: Any, space: VectorSpace, collection: str
    ) -> AnchorPlan | None:
        """Validate a request's ``anchor=`` and ``anchor_weight=``; ``None`` when it is not anchored.

        ``anchor``: ``None`` (anchored when there is an anchor encoder and a ``query``; a request
        that passes only ``vector=`` is then not anchored), ``False`` (not anchored),
        ``True`` (embed ``query`` with the anchor encoder) or a catalog-space vector used as is.
        ``weight`` (``None``: the searcher's default) must be a finite number > 0 and is checked
        even when the request ends up not anchored.

        Raises:
            InvalidRequestError: a bad weight, ``anchor=True`` without an anchor encoder or without
                a ``query`` to embed, or an anchor vector that is not one finite real vector (text,
                mappings, booleans and complex values are refused), or is all zeros under a cosine/dot
                collection.
            DimensionMismatchError: an anchor vector whose size differs from the collection's vector.
        """
        weight = self.weight if weight is None else check_weight(weight)
        if anchor is None:  # default: anchored when there is an encoder and a query for it to embed
            anchor = self.default_on and query is not None
        if isinstance(anchor, (bool, np.bool_)):
            if not anchor:
                return None
            if self.encoder is None:
                raise InvalidRequestError(
                    "anchor=True embeds the query with the search's anchor encoder, but this search has none; "
                    "create it with anchor_encoder=<id> or pass anchor=<a vector in the catalog's space>"
                )
            if query is None and vector is not None:
                raise InvalidRequestError(
                    "anchor=True embeds query= with the anchor encoder, but the request passed vector= and no "
                    "query; pass query=, "
                    "anchor=<a vector in the catalog's space>, or anchor=False"
                )
            return AnchorPlan(weight=weight, query=query)
        if isinstance(anchor, (str, bytes)):
            raise InvalidRequestError(
                f"anchor must be True, False, None or a vector in the catalog's space, got text {anchor!r}; "
                "to embed text, pass it as query= with anchor=True"
            )
        array = as_vector(anchor, name="anchor")
        if array.shape[0] != space.dim:
            raise DimensionMismatchError(
                f"anchor has dimension {array.shape[0]} but vector {space.name or '(default)'!r} of collection "
                f"{collection!r} is {space.dim}-d; pass a vector in the catalog's space"
            )
        return AnchorPlan(weight=weight, vector=check_direction(array, name="anchor", distance=space.distance))

    def build(self, plan: AnchorPlan, space: VectorSpace, collection: str, encoded: Any = None) -> Anchor:
        """The anchor of a validated request: the given vector, or ``plan.query`` embedded (timed).

        ``encoded``: ``plan.query`` already embedded by the anchor encoder (the search's query
        encoder is the same object), used instead of embedding it again.
        """
        if plan.vector is not None:
            return Anchor(plan.vector, plan.weight, "vector")
        assert self.encoder is not None, "plan() only asks to embed with an anchor encoder"
        start = time.perf_counter()
        if encoded is None:
            encoded = self.encoder.encode(plan.query)
        elapsed = (time.perf_counter() - start) * 1e3
        name = f"anchor (from encoder {self.encoder.info.id!r})"
        vector = check_direction(as_vector(encoded, name=name), name=name, distance=space.distance)
        if vector.shape[0] != space.dim:
            raise DimensionMismatchError(
                f"anchor encoder {self.encoder.info.id!r} gave a {vector.shape[0]}-d vector but vector "
                f"{space.name or '(default)'!r} of collection {collection!r} is {space.dim}-d"
            )
        return Anchor(vector, plan.weight, "encoder", encode_ms=elapsed)


def with_anchor(seeds: SeedSet, anchor: Anchor | None) -> tuple[SeedSet, int | None]:
    """The searched rows: ``seeds`` plus ``anchor`` as the last row, and the anchor's row index.

    Without an anchor, ``seeds`` is returned unchanged (index ``None``). With one, unlabelled seeds
    are labelled ``"seed <i>"`` so that every row has a label; the sampler's ``info`` is kept.
    """
    if anchor is None:
        return seeds, None
    labels = seeds.labels if seeds.labels is not None else tuple(f"seed {i}" for i in range(len(seeds)))
    searched = SeedSet(
        vectors=np.vstack([seeds.vectors, anchor.vector[None, :].astype(np.float32)]),
        weights=np.append(seeds.weights, np.float32(anchor.weight)),
        labels=(*labels, ANCHOR_LABEL),
        info=seeds.info,
    )
    return searched, len(seeds)


__all__ = ["ANCHOR_LABEL", "Anchor", "AnchorPlan", "Anchoring", "check_weight", "with_anchor"]
