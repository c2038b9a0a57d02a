"""Centroid fusion: search once with the (weighted) mean of the seeds.

This is how GD-Retriever (§3.4: generated queries averaged over samples) and HyDE turn several
generated queries into one. It is an engine query, not a list fusion, so both paths run the same
single nearest-neighbour search.

An anchored search's anchor (:mod:`genseek.anchor`) enters the weighted mean with the anchor weight,
pulling the searched vector toward the query's direct embedding.
"""

from __future__ import annotations

from qdrant_client.http import models

from .base import Capabilities, Centroid, EngineFusion, FusionContext, Fuser, weighted_centroid


class CentroidFuser(Fuser):
    id = "centroid"
    description = "one search with the weighted mean of the seeds (GD-Retriever / HyDE averaging)"
    client_side = False

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        return Centroid(vector=weighted_centroid(ctx))

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        raise NotImplementedError("centroid fusion always runs as one engine query (client_side=False)")
