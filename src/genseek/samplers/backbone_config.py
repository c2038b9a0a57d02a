"""Shape of a denoiser backbone, declared once for the weights' config and the training config.

This module imports no torch: :class:`genseek.training.TrainConfig` extends :class:`BackboneShape`
and must stay cheap to import and validate. :class:`DenoiserConfig` adds what only built weights
know (the vector sizes) and is re-exported by :mod:`genseek.samplers.denoisers`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Architecture = Literal["film_mlp", "cross_attention"]
#: Upper bounds of the config's sizes. Far above any practical prior, they exist so that a corrupt or
#: hostile ``config.json`` cannot make building the model (even on the ``meta`` device) take hours or
#: overflow; what a config may really allocate is bounded by the weights file it must match.
MAX_DIM = 1 << 16  # target_dim, query_dim, width, noise_embed_dim
MAX_DEPTH = 128
MAX_HEADS = 1024


class BackboneShape(BaseModel):
    """The architecture and sizes of a backbone, independent of the data it is trained on.

    Checks: ``noise_embed_dim`` is even; for ``cross_attention``, ``heads`` divides ``width``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: Architecture = Field("film_mlp", description="film_mlp (pooled query) or cross_attention (token sequence)")
    width: int = Field(512, gt=0, le=MAX_DIM, description="hidden width of the residual MLP blocks")
    depth: int = Field(6, gt=0, le=MAX_DEPTH, description="number of residual blocks (paper: 6)")
    noise_embed_dim: int = Field(128, gt=0, le=MAX_DIM, description="size of the sinusoidal embedding of c_noise (even)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, allow_inf_nan=False, description="dropout inside each block (training only)")
    heads: int = Field(8, gt=0, le=MAX_HEADS, description="attention heads (cross_attention only); must divide width")

    @model_validator(mode="after")
    def _check_shape(self) -> BackboneShape:
        if self.noise_embed_dim % 2:
            raise ValueError(f"noise_embed_dim must be even, got {self.noise_embed_dim}")
        if self.architecture == "cross_attention" and self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        return self


class DenoiserConfig(BackboneShape):
    """Everything needed to rebuild a denoiser backbone (stored in the weights' ``config.json``)."""

    target_dim: int = Field(..., gt=0, le=MAX_DIM, description="size of the generated (catalog) vectors")
    query_dim: int = Field(..., gt=0, le=MAX_DIM, description="size of the condition vector, or of each condition token")
    cond_residual: bool = Field(
        False,
        description="film_mlp: also add the condition embedding to the residual stream after the input "
        "projection (a direct path for the query beside FiLM modulation)",
    )

    @model_validator(mode="after")
    def _check_condition_path(self) -> DenoiserConfig:
        if self.architecture == "cross_attention" and self.cond_residual:
            raise ValueError("cond_residual applies to the film_mlp architecture only")
        return self

    @property
    def sequence(self) -> bool:
        """True when the condition is a token sequence ``(T, query_dim)``."""
        return self.architecture == "cross_attention"


__all__ = ["MAX_DEPTH", "MAX_DIM", "MAX_HEADS", "Architecture", "BackboneShape", "DenoiserConfig"]
