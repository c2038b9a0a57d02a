"""The search request contract: every search parameter once, with its default and its meaning.

:class:`SearchRequest` is the one list of the parameters a search accepts besides the query
(``query=`` / ``vector=``) and the sampler's controls. ``GenerativeSearch.search`` and
``AsyncGenerativeSearch.search`` take exactly these keywords (a test holds the signature to the
model), tenant configuration derives what a request may override from it
(:data:`genseek.tenants.model.SEARCH_PARAMETERS`), and its defaults are what a search uses when
nothing else says otherwise (:data:`genseek.tenants.resolve.LIBRARY_DEFAULTS`).

Values are not checked here: several checks need the collection (vector names, distance) or the
backend's capabilities, so :mod:`genseek.request_checks` checks a request when it is planned.
This module depends on pydantic only, so every layer may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SearchRequest(BaseModel):
    """The search parameters of one request (frozen; unknown names are refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    n_seeds: Any = Field(8, description="how many seed vectors to sample (1 … max_seeds)")
    limit: Any = Field(10, description="how many fused results to return")
    offset: Any = Field(0, description="fused results to skip (paging)")
    filter: Any = Field(None, description="a qdrant-client Filter applied to every seed, AND-ed with the tenant condition")
    tenant: Any = Field(None, description="the tenant value (required when the search has a tenant_field)")
    seed: Any = Field(None, description="random seed of the sampler: the same seed gives the same seeds")
    score_threshold: Any = Field(None, description="drop fused points scoring below it")
    with_payload: Any = Field(True, description="as in query_points")
    with_vectors: Any = Field(False, description="as in query_points; may only name vectors the collection has")
    candidates: Any = Field(None, description="per-seed list depth (default max(20, 2 × (limit + offset)))")
    shard_key_selector: Any = Field(None, description="Qdrant shard key routing (clusters only)")
    consistency: Any = Field(None, description="Qdrant read consistency")
    timeout: Any = Field(None, description="Qdrant request timeout in seconds")
    search_params: Any = Field(
        None, description="hnsw_ef / exact / indexed_only for every walk and prefetch, and seed_pooling (genseek.pooling)"
    )
    anchor: Any = Field(None, description="search the query's direct catalog-space vector beside the seeds (genseek.anchor)")
    anchor_weight: Any = Field(None, description="fusion weight of the anchor's list for this request")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(cls.model_fields)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter's default."""
        return {name: info.default for name, info in cls.model_fields.items()}

    @classmethod
    def split(cls, kwargs: Mapping[str, Any], **defaults: Any) -> tuple[SearchRequest, dict[str, Any]]:
        """``(request, sampler controls)`` from ``search`` keyword arguments; ``defaults`` replace the
        model's defaults for this call (e.g. ``n_seeds=1`` for a refine) unless ``kwargs`` set them."""
        names = cls.model_fields
        values = {**defaults, **{k: v for k, v in kwargs.items() if k in names}}
        return cls(**values), {k: v for k, v in kwargs.items() if k not in names}


__all__ = ["SearchRequest"]
