"""Training configuration (typed, unknown keys rejected)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..samplers.backbone_config import BackboneShape, DenoiserConfig

#: Fields that may differ between a checkpoint and the run resuming it (they do not change the maths).
RESUMABLE_CHANGES = frozenset({"progress", "checkpoint_every", "log_every", "eval_every", "device", "threads"})


class TrainConfig(BackboneShape):
    """Everything that defines a training run of a prior (stored in checkpoints and ``config.json``).

    Defaults follow Diff4Steer appendix A (6 FiLM blocks, condition dropout 0.1, EDM objective) at
    a width that trains on a CPU; raise ``width`` on a GPU. Two defaults depart from it: EDM's
    log-normal training noise levels (Karras et al. 2022, §5) instead of Diff4Steer's log-uniform
    ones (eq. 13), and a direct path for the query into the residual stream of ``film_mlp``
    (``cond_residual``); ``benchmarks/results/train_synthetic.md`` and
    ``train_synthetic-paper.md`` compare the two recipes. ``sigma_distribution="log_uniform"`` and
    ``cond_residual=False`` give the paper's recipe.

    The backbone's fields (``architecture``, ``width``, ``depth``, ``noise_embed_dim``,
    ``dropout``, ``heads``) and their checks come from :class:`~genseek.samplers.backbone_config.BackboneShape`,
    shared with the weights' :class:`~genseek.samplers.backbone_config.DenoiserConfig`.
    """

    kind: Literal["diffusion", "regression"] = Field("diffusion", description="EDM prior, or the deterministic regression baseline (same backbone)")
    cond_residual: bool | None = Field(
        None,
        description="film_mlp: add the condition embedding to the residual stream too (a direct path for the query); "
        "None = on for film_mlp, off for cross_attention (which has no such path)",
    )
    sigma_distribution: Literal["log_uniform", "log_normal"] = Field(
        "log_normal",
        description="training noise levels: Diff4Steer's log-uniform over [σ_min, σ_data·σ_max] (eq. 13), or EDM's log-normal around σ_data",
    )
    sigma_p_mean: float = Field(0.0, description="log_normal: mean of ln(σ/σ_data)")
    sigma_p_std: float = Field(1.5, gt=0, description="log_normal: std of ln(σ/σ_data)")
    steps: int = Field(4000, gt=0, description="optimizer steps")
    batch_size: int = Field(256, gt=0, description="global batch size (split across data-parallel processes)")
    lr: float = Field(3e-4, gt=0, description="peak AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(200, ge=0, description="linear warm-up steps before cosine decay")
    min_lr_ratio: float = Field(0.05, ge=0, le=1, description="final learning rate as a fraction of lr")
    grad_clip: float | None = Field(1.0, gt=0, description="clip the global gradient norm to this value (None: off)")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="EMA decay of the weights that are saved (0: no EMA)")
    cond_dropout: float = Field(0.1, ge=0, lt=1, description="probability of dropping the condition (classifier-free guidance)")
    seed: int = Field(0, description="seed of data order, noise and initialisation")
    amp: Literal["auto", "off", "bf16", "fp16"] = Field("auto", description="mixed precision: auto = bf16 on a GPU that has it, off on CPU")
    device: str = Field("auto", description="auto (CUDA if present), cpu, cuda, cuda:N")
    center_queries: bool = Field(True, description="subtract the mean training query before conditioning (stored with the weights)")
    query_l2: bool = Field(False, description="L2-normalise queries before conditioning")
    target_l2: bool = Field(True, description="targets are unit-norm: samplers project seeds to the sphere")
    sigma_data: float | None = Field(None, gt=0, description="std of the targets; None = measure it from the training data")
    guidance: float | None = Field(None, description="default guidance ω recorded with the weights")
    query_encoder: str | None = Field(None, description="id of the encoder that produced the queries")
    target_encoder: str | None = Field(None, description="id of the encoder of the catalog space")
    checkpoint_every: int = Field(500, gt=0, description="write a resumable checkpoint every N steps")
    eval_every: int = Field(500, gt=0, description="validation loss every N steps")
    log_every: int = Field(25, gt=0, description="record the training loss every N steps")
    val_max_pairs: int = Field(4096, gt=0, description="validation pairs used for the validation loss")
    progress: bool = Field(True, description="show a progress bar")
    threads: int | None = Field(None, gt=0, description="CPU intra-op threads while training (None: torch's default); 1 is fastest on a shared CPU")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.kind == "regression" and self.cond_dropout:
            object.__setattr__(self, "cond_dropout", 0.0)  # the regression baseline never drops its condition
        if self.cond_residual is None:
            object.__setattr__(self, "cond_residual", self.architecture == "film_mlp")
        self.denoiser(query_dim=1, target_dim=1)  # the condition-path check of the backbone, at once
        return self

    def denoiser(self, *, query_dim: int, target_dim: int) -> DenoiserConfig:
        """The backbone this run trains, for data of these sizes."""
        shape = BackboneShape.model_fields
        return DenoiserConfig(
            **{name: getattr(self, name) for name in shape}, target_dim=target_dim, query_dim=query_dim,
            cond_residual=bool(self.cond_residual),
        )

    def fingerprint(self) -> dict:
        """The fields that must match to resume a checkpoint."""
        return {k: v for k, v in self.model_dump().items() if k not in RESUMABLE_CHANGES}


__all__ = ["RESUMABLE_CHANGES", "TrainConfig"]
