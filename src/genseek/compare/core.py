"""Plain search and generative search over one existing collection, query by query.

:class:`Comparison` builds both searches once and checks everything that can be checked before
anything is searched:

* **plain search** — the query embedded with the catalog's own encoder (``anchor_encoder``), one
  nearest-neighbour search (``sampler="identity"``). Without an anchor encoder it embeds with the
  query encoder, which then has to produce vectors of the collection's size
  (:attr:`Comparison.plain_uses_query_encoder` says so, for the caller to report);
* **generative search** — the query encoded with ``encoder``, turned into ``n_seeds`` seeds by the
  sampler (a trained prior), plus the anchor (the query embedded with ``anchor_encoder``, see
  :mod:`genseek.anchor`) when there is one; the lists are fused.

A missing collection or vector name (:class:`~genseek.errors.CollectionError`), an unknown
encoder (:class:`~genseek.errors.UnknownComponentError`), a prior whose seeds or queries do not
fit the collection's vector or the query encoder (:class:`~genseek.errors.DimensionMismatchError`,
:class:`~genseek.errors.ConfigError`) and bad settings (:class:`~genseek.errors.InvalidRequestError`)
are raised by the constructor.

:meth:`Comparison.run` returns a :class:`QueryComparison`: both lists, which generative results
plain search's top ``limit`` did not contain ("genseek-only"), and which row — a seed or the
anchor — found each (:func:`found_by_label`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..adapters.base import VectorSpace
from ..anchor import check_weight
from ..encoders.base import Encoder
from ..errors import ConfigError, DimensionMismatchError, InvalidRequestError
from ..plugin.registry import Registry, get_registry
from ..contract import check_int
from ..result import GenerativePoint, SearchResult
from ..samplers.base import Sampler
from ..search import DEFAULT_ANCHOR_WEIGHT, DEFAULT_MAX_SEEDS, GenerativeSearch
from ..scope import check_tenant_value


def _priors_root() -> Path:
    """``genseek/data/priors``: one weights directory per shipped prior."""
    return Path(str(resources.files("genseek") / "data" / "priors"))


def shipped_priors() -> list[str]:
    """Names of the priors shipped in ``genseek/data/priors`` (each a weights directory)."""
    root = _priors_root()
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file()) if root.is_dir() else []


def resolve_prior(prior: str | Path | None) -> Path:
    """The weights directory of ``prior``: a directory, or the name of a shipped prior.

    Raises:
        ConfigError: ``prior`` is ``None`` (a prior is required: there is no default that fits an
            arbitrary collection) or neither a directory nor a shipped prior's name.
    """
    names = shipped_priors()
    listing = ", ".join(names) or "none"
    if prior is None:
        raise ConfigError(
            "generative search needs a prior trained for this collection's vector: pass --prior DIR (weights "
            f"written by `genseek train`) or the name of a shipped prior ({listing})"
        )
    path = Path(prior)
    if path.is_dir():
        return path
    if str(prior) in names:
        return _priors_root() / str(prior)
    raise ConfigError(
        f"prior {str(prior)!r} is neither a weights directory nor a shipped prior (shipped: {listing}); "
        "pass the directory `genseek train --out` wrote"
    )


def found_by_label(point: GenerativePoint) -> str:
    """The row that ranked ``point`` highest: ``"anchor"``, ``"seed <i>"``, or ``"fused"``.

    On a tie the anchor is named (plain search would have found the point too), then the lowest
    seed index. ``"fused"``: no row's list held the point (it came from the engine's fused query).
    """
    if not point.found_by:
        return "fused"
    best = min(point.found_by, key=lambda hit: (hit.rank, not hit.anchor, hit.seed))
    return "anchor" if best.anchor else f"seed {best.seed}"


def payload_value(point: Any, field: str | None) -> Any:
    """``point.payload[field]``; a dotted ``field`` (``"meta.title"``) walks nested objects. ``None`` if absent."""
    if field is None:
        return None
    value: Any = point.payload or {}
    if isinstance(value, Mapping) and field in value:
        return value[field]
    for key in field.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


@dataclass(frozen=True)
class QueryComparison:
    """One query's plain and generative results.

    Attributes:
        query: the query text.
        plain: plain search's result (``limit`` points, or more when run deeper).
        generative: generative search's result (its ``seeds`` hold the anchor as the last row when anchored).
        limit: how many results of each list are compared and shown.
    """

    query: str
    plain: SearchResult
    generative: SearchResult
    limit: int

    @property
    def plain_points(self) -> list[GenerativePoint]:
        return self.plain.points[: self.limit]

    @property
    def generative_points(self) -> list[GenerativePoint]:
        return self.generative.points[: self.limit]

    @property
    def plain_ids(self) -> set[Any]:
        """Ids of plain search's top ``limit``."""
        return {p.id for p in self.plain_points}

    def is_new(self, point: GenerativePoint) -> bool:
        """True when plain search's top ``limit`` does not contain ``point`` (a genseek-only result)."""
        return point.id not in self.plain_ids

    @property
    def new_count(self) -> int:
        return sum(self.is_new(p) for p in self.generative_points)

    @property
    def overlap(self) -> int:
        """Results in both top-``limit`` lists."""
        return len(self.generative_points) - self.new_count

    def row_label(self, index: int) -> str:
        """Label of row ``index`` of the generative search's seeds (``"seed 3"``, ``"anchor"``)."""
        if index == self.generative.anchor_index:
            return "anchor"
        labels = self.generative.seed_labels
        return labels[index] if labels is not None and index < len(labels) else f"seed {index}"

    def as_dict(self, show: str | None = None) -> dict[str, Any]:
        """Both lists as JSON-ready data (see ``genseek compare --json``).

        Each result has ``rank`` (1-based), ``id``, ``score`` and, with ``show``, the payload value
        ``show``; each generative result also has ``new`` (genseek-only), ``found_by`` (the best
        row, :func:`found_by_label`) and ``hits``: every row whose list held it, best rank first
        (``row``, ``label``, 0-based ``rank``, raw ``score``, ``anchor``).
        """

        def base(rank: int, point: GenerativePoint) -> dict[str, Any]:
            row: dict[str, Any] = {"rank": rank, "id": point.id, "score": float(point.score)}
            if show is not None:
                row[show] = payload_value(point, show)
            return row

        plain = [base(rank, p) for rank, p in enumerate(self.plain_points, 1)]
        generative = []
        for rank, point in enumerate(self.generative_points, 1):
            row = base(rank, point)
            row["new"] = self.is_new(point)
            row["found_by"] = found_by_label(point)
            row["hits"] = [
                {"row": h.seed, "label": self.row_label(h.seed), "rank": h.rank, "score": h.score, "anchor": h.anchor}
                for h in point.found_by
            ]
            generative.append(row)
        return {
            "query": self.query,
            "limit": self.limit,
            "plain": plain,
            "genseek": generative,
            "seeds": [self.row_label(i) for i in range(len(self.generative.seeds))],
            "overlap": self.overlap,
            "genseek_only": self.new_count,
        }


class Comparison:
    """Plain search beside generative search over one collection (see the module docstring).

    Args:
        client: a qdrant-client client or any client a registered adapter accepts (e.g. an
            :class:`~genseek.adapters.edge_catalog.EdgeCatalog`).
        collection: the collection to search.
        encoder: the prior's query encoder (id or instance): the encoder the prior was trained on.
        sampler: the generative sampler (id or instance), e.g. ``DiffusionSampler(weights_dir)``.
        vector_name: the named vector to search (``None``: the collection's only dense vector).
        anchor_encoder: the catalog's own encoder (id or instance): plain search embeds with it, and
            generative search searches its vector of the query as the anchor. ``None``: plain
            search embeds with ``encoder`` and generative search is not anchored.
        encoder_options / anchor_encoder_options / sampler_options: keyword options for components given by id.
        tenant_field / tenant: search one tenant of a multi-tenant collection (both or neither).
        fuser / anchor_weight: generative search's fusion and the anchor's weight.
        n_seeds / guidance / limit / seed: seeds per query, guidance ω (``None``: the prior's
            default), results compared per list, and the sampler's random seed.
        registry: component registry (default: the process-wide one).

    Raises:
        CollectionError: the collection or the vector does not exist.
        UnknownComponentError: an encoder, sampler or fuser id no plugin registered.
        DimensionMismatchError: the prior's seeds, the anchor encoder, or (without an anchor encoder)
            the query encoder do not fit the collection's vector; the prior's queries do not fit ``encoder``.
        ConfigError: the prior was trained on another query encoder; ``guidance`` for a sampler without it.
        InvalidRequestError: bad ``n_seeds``, ``limit``, ``seed``, ``guidance``, ``tenant``.
    """

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        encoder: Encoder | str,
        sampler: Sampler | str,
        vector_name: str | None = None,
        anchor_encoder: Encoder | str | None = None,
        encoder_options: Mapping[str, Any] | None = None,
        anchor_encoder_options: Mapping[str, Any] | None = None,
        sampler_options: Mapping[str, Any] | None = None,
        tenant_field: str | None = None,
        tenant: str | int | None = None,
        fuser: str = "rrf",
        anchor_weight: float = DEFAULT_ANCHOR_WEIGHT,
        n_seeds: int = 8,
        guidance: float | None = None,
        limit: int = 10,
        seed: int = 0,
        registry: Registry | None = None,
    ) -> None:
        check_int("n_seeds", n_seeds, low=1, high=DEFAULT_MAX_SEEDS)
        check_int("limit", limit, low=1)
        check_int("seed", seed, low=0)
        check_weight(anchor_weight, error=ConfigError)
        if (tenant_field is None) != (tenant is None):
            raise InvalidRequestError(
                "a multi-tenant collection needs both the tenant's payload field and the tenant "
                "(--tenant-field FIELD --tenant VALUE); give both or neither"
            )
        if tenant is not None:
            check_tenant_value(tenant)
        self.registry = registry = registry or get_registry()
        self.encoder = _component(registry, "encoder", encoder, encoder_options)
        self.anchor_encoder = (
            None if anchor_encoder is None
            else _component(registry, "encoder", anchor_encoder, anchor_encoder_options)
        )
        self.sampler: Sampler = _component(registry, "sampler", sampler, sampler_options)
        if guidance is not None:
            if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance):
                raise InvalidRequestError(f"guidance must be a finite number, got {guidance!r}")
            if "guidance" not in self.sampler.info.controls:
                raise ConfigError(f"sampler {self.sampler.id!r} has no guidance control; leave guidance out")
        self.collection = collection
        self.client = client
        self.tenant_field, self.tenant = tenant_field, tenant
        self.n_seeds, self.guidance, self.limit, self.seed = n_seeds, guidance, limit, seed
        # generative first: a prior that does not fit the collection is the likelier mistake, name it first
        self.generative = GenerativeSearch(
            client, collection, encoder=self.encoder, sampler=self.sampler, vector_name=vector_name, fuser=fuser,
            tenant_field=tenant_field, anchor_encoder=self.anchor_encoder, anchor_weight=anchor_weight,
            registry=registry,
        )
        self._check_plain_encoder(self.generative.vector_space)
        self.plain = GenerativeSearch(
            client, collection, encoder=self.plain_encoder, sampler="identity", vector_name=vector_name,
            tenant_field=tenant_field, registry=registry,
        )

    @property
    def plain_encoder(self) -> Encoder:
        """The encoder plain search embeds the query with: the anchor encoder, else the query encoder."""
        return self.anchor_encoder if self.anchor_encoder is not None else self.encoder

    @property
    def plain_uses_query_encoder(self) -> bool:
        """True when there is no anchor encoder, so plain search embeds with the prior's query encoder."""
        return self.anchor_encoder is None

    @property
    def anchored(self) -> bool:
        return self.anchor_encoder is not None

    @property
    def space(self) -> VectorSpace:
        """The searched vector of the collection (name, size, distance)."""
        return self.plain.vector_space

    def _check_plain_encoder(self, space: VectorSpace) -> None:
        dim = self.plain_encoder.info.dim
        if dim is None or dim == space.dim:
            return
        vector = space.name or "(default)"
        if self.plain_uses_query_encoder:
            raise DimensionMismatchError(
                f"plain search embeds the query with the query encoder {self.encoder.info.id!r} ({dim}-d) because no "
                f"anchor encoder was given, but vector {vector!r} of collection {self.collection!r} is "
                f"{space.dim}-d; pass the catalog's own encoder as the anchor encoder (--anchor-encoder ID)"
            )
        anchor_id = self.plain_encoder.info.id
        raise DimensionMismatchError(
            f"anchor encoder {anchor_id!r} gives {dim}-d vectors but vector {vector!r} of "
            f"collection {self.collection!r} is {space.dim}-d; use the encoder the collection's vectors were made with"
        )

    @property
    def controls(self) -> dict[str, Any]:
        """The sampler controls of every generative search (``guidance`` when set)."""
        return {} if self.guidance is None else {"guidance": float(self.guidance)}

    def run(self, query: str, *, depth: int | None = None) -> QueryComparison:
        """Search ``query`` both ways: ``depth`` results each (default ``limit``), ``limit`` of them compared.

        The same query and settings always give the same seeds (the sampler's seed is fixed).
        """
        depth = max(depth or self.limit, self.limit)
        plain = self.plain.search(query, n_seeds=1, limit=depth, tenant=self.tenant)
        generative = self.generative.search(
            query, n_seeds=self.n_seeds, limit=depth, seed=self.seed, tenant=self.tenant, **self.controls
        )
        return QueryComparison(query, plain, generative, self.limit)

    def describe(self, prior: str | None = None) -> dict[str, Any]:
        """The settings of both searches, for reports (JSON-ready)."""
        space = self.space
        info = self.sampler.info
        return {
            "collection": self.collection,
            "vector": space.name,
            "dim": space.dim,
            "distance": space.distance,
            "tenant": None if self.tenant_field is None else {"field": self.tenant_field, "value": self.tenant},
            "plain": {
                "encoder": self.plain_encoder.info.id,
                "uses_query_encoder": self.plain_uses_query_encoder,
            },
            "genseek": {
                "encoder": self.encoder.info.id,
                "sampler": info.id,
                "prior": prior,
                "n_seeds": self.n_seeds,
                "guidance": self.guidance if self.guidance is not None else getattr(self.sampler, "guidance_default",
                                                                                    None),
                "guidance_given": self.guidance is not None,
                "seed": self.seed,
                "fuser": self.generative.fuser.id,
                "anchor": None if self.anchor_encoder is None else {
                    "encoder": self.anchor_encoder.info.id, "weight": self.generative.anchor_weight,
                },
            },
        }


def _component(registry: Registry, kind: str, value: Any, options: Mapping[str, Any] | None) -> Any:
    """A component given by id (created with ``options``) or as an instance (``options`` not allowed)."""
    if isinstance(value, str):
        return registry.create(kind, value, **dict(options or {}))
    if options:
        raise ConfigError(f"{kind} options only apply when the {kind} is given by id, not as an instance")
    return value


__all__ = ["Comparison", "QueryComparison", "found_by_label", "payload_value", "resolve_prior", "shipped_priors"]
