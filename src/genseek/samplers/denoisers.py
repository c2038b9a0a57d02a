"""Denoiser backbones ``F_θ`` of the prior (the raw network inside EDM preconditioning, eq. 8).

Two architectures, both fully described by a :class:`DenoiserConfig` and built by
:func:`build_denoiser`:

* ``film_mlp`` — :class:`FiLMDenoiser`, the Diff4Steer backbone (appendix A.1.1, figures 3–4): an
  input projection, ``depth`` residual MLP blocks whose normalised activations are scaled and
  shifted (FiLM / adaptive group norm of Dhariwal & Nichol) by an embedding of the noise level
  ``c_noise`` plus an embedding of the pooled query vector, and a final linear projection;
* ``cross_attention`` — :class:`CrossAttentionDenoiser`, the GD-Retriever-style variant (§3): the
  same FiLM blocks, each followed by a cross-attention layer through which the hidden state
  attends to a *sequence* of query token embeddings (``(T, d_q)``, e.g. a text encoder's token
  states). The FiLM path receives the masked mean of the tokens.

Both accept a **null condition** for classifier-free guidance (Diff4Steer eq. 3): rows flagged in
``null`` have their condition replaced by zeros, exactly as the condition is masked with a zero
vector during training.

Speed: the condition does not change during sampling, so :meth:`prepare` computes everything
that depends only on the condition once (the conditional part of every FiLM projection, and
the attention keys/values); :meth:`forward_prepared` then does per-step work only. Since the
FiLM projection is linear in the summed embedding, ``film(noise_emb + cond_emb) =
film(noise_emb) + film_nobias(cond_emb)``; the noise part is computed once per distinct ``σ``
(one row when the whole batch shares it) and, at inference, cached per σ value (keyed also on
the parameters' versions, so in-place updates invalidate it). ``forward`` is
``forward_prepared(prepare(...))``.

Interface (used by :class:`genseek.samplers.edm.EDMPrecond`)::

    net(x, noise_cond, cond, null=None, cond_mask=None) -> (B, target_dim)

``x``: ``(B, target_dim)``; ``noise_cond``: ``(B,)`` or ``(1,)`` (broadcast); ``cond``:
``(B, query_dim)`` or ``(B, T, query_dim)``; ``null``: ``(B,)`` bool; ``cond_mask``: ``(B, T)``
bool, True for real tokens.

This module is a stable API: the training package imports it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .backbone_config import MAX_DEPTH, MAX_DIM, MAX_HEADS, Architecture, DenoiserConfig

#: Distinct noise levels whose FiLM noise projections a model keeps (a few sampling grids).
FILM_CACHE_SIZE = 1024


@dataclass
class PreparedCondition:
    """Condition-only tensors computed once per sampling call (leading dim = rows).

    Attributes:
        film: per block, the conditional part of the FiLM projection, ``(R, 2·width)``.
        keys / values: per block, attention keys/values ``(R, heads, T, width/heads)`` (cross_attention).
        key_mask: ``(R, T)`` bool, True for attended tokens (cross_attention).
        residual: ``(R, width)`` condition embedding added to the residual stream (``cond_residual``).
    """

    film: list[torch.Tensor]
    keys: list[torch.Tensor] | None = None
    values: list[torch.Tensor] | None = None
    key_mask: torch.Tensor | None = None
    residual: torch.Tensor | None = None

    @property
    def rows(self) -> int:
        return int(self.film[0].shape[0])

    def take(self, index: torch.Tensor) -> PreparedCondition:
        """Rows ``index`` of every tensor (e.g. to expand 2 guidance conditions to 2·n seeds)."""
        return PreparedCondition(
            film=[f.index_select(0, index) for f in self.film],
            keys=None if self.keys is None else [k.index_select(0, index) for k in self.keys],
            values=None if self.values is None else [v.index_select(0, index) for v in self.values],
            key_mask=None if self.key_mask is None else self.key_mask.index_select(0, index),
            residual=None if self.residual is None else self.residual.index_select(0, index),
        )


class NoiseEmbedding(nn.Module):
    """Sinusoidal features of ``c_noise = ¼ ln σ`` followed by a 2-layer MLP (Diff4Steer fig. 3)."""

    def __init__(self, embed_dim: int, width: int) -> None:
        super().__init__()
        half = embed_dim // 2
        # c_noise spans about [-2.3, 1.2] for σ in [1e-4, 100·σ_data]: frequencies 1..1000 resolve it.
        freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), half))
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, noise_cond: torch.Tensor) -> torch.Tensor:
        angles = noise_cond.reshape(-1, 1).to(self.freqs.dtype) * self.freqs
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1))


class FiLMBlock(nn.Module):
    """Residual MLP block with adaptive scale/shift (Diff4Steer fig. 4, Dhariwal & Nichol AdaGN).

    ``h = Linear₁(SiLU(LN(x)))``; ``h = LN(h)·(1 + scale) + shift``; ``x + Linear₂(Dropout(SiLU(h)))``.
    ``scale, shift`` come from a linear projection of the block's embedding, split into a
    noise part (per step) and a condition part (prepared once).
    """

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.linear1 = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(width, 2 * width)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(width, width)

    def film_from_condition(self, cond_emb: torch.Tensor) -> torch.Tensor:
        """Conditional (bias-free) part of the FiLM projection."""
        return F.linear(cond_emb, self.film.weight)

    def forward(self, x: torch.Tensor, film_noise: torch.Tensor, film_cond: torch.Tensor) -> torch.Tensor:
        h = self.linear1(F.silu(self.norm1(x)))
        scale, shift = (film_noise + film_cond).chunk(2, dim=-1)
        h = F.silu(self.norm2(h) * (1.0 + scale) + shift)
        if self.training and self.dropout.p > 0:  # skip the no-op call at inference (per-step overhead)
            h = self.dropout(h)
        return x + self.linear2(h)


class _Backbone(nn.Module):
    """Shared parts: input projection, noise/condition embeddings, FiLM blocks, output head."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.in_proj = nn.Linear(config.target_dim, w)
        self.noise_embed = NoiseEmbedding(config.noise_embed_dim, w)
        self.cond_embed = nn.Sequential(nn.Linear(config.query_dim, w), nn.SiLU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(FiLMBlock(w, config.dropout) for _ in range(config.depth))
        self.out_norm = nn.LayerNorm(w)
        self.out_proj = nn.Linear(w, config.target_dim)
        # Zero-initialised head: an untrained F is 0, so D(z̃) = c_skip·z̃ (a stable start).
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)
        self._film_cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()

    def _film_noise(self, noise_cond: torch.Tensor) -> list[torch.Tensor]:
        """Noise part of every block's FiLM projection; cached per σ at inference (it depends on σ only)."""
        cacheable = noise_cond.numel() == 1 and not self.training and not torch.is_grad_enabled()
        if not cacheable:
            return self._compute_film_noise(noise_cond)
        params = self._film_params()
        key = (float(noise_cond.reshape(())), noise_cond.dtype, str(noise_cond.device), tuple(p._version for p in params))
        with self._cache_lock:
            hit = self._film_cache.get(key)
            if hit is not None:
                self._film_cache.move_to_end(key)
                return hit
        with torch.inference_mode(False), torch.no_grad():  # normal tensors: usable under autograd later
            value = self._compute_film_noise(noise_cond.clone())
        with self._cache_lock:
            self._film_cache[key] = value
            while len(self._film_cache) > FILM_CACHE_SIZE:
                self._film_cache.popitem(last=False)
        return value

    def _compute_film_noise(self, noise_cond: torch.Tensor) -> list[torch.Tensor]:
        emb = self.noise_embed(noise_cond)
        return [F.linear(emb, block.film.weight, block.film.bias) for block in self.blocks]

    def _film_params(self) -> list[torch.Tensor]:
        params = list(self.noise_embed.parameters())
        for block in self.blocks:
            params += [block.film.weight, block.film.bias]
        return params

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state.pop("_film_cache", None)
        state.pop("_cache_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._film_cache = OrderedDict()
        self._cache_lock = threading.Lock()

    def train(self, mode: bool = True):
        with self._cache_lock:
            self._film_cache.clear()
        return super().train(mode)

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[-1] != self.config.target_dim:
            raise ValueError(f"denoiser input must be (B, {self.config.target_dim}), got {tuple(x.shape)}")

    def forward(
        self,
        x: torch.Tensor,
        noise_cond: torch.Tensor,
        cond: torch.Tensor,
        null: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``F(x, c_noise, q)`` (see the module docstring for shapes)."""
        return self.forward_prepared(x, noise_cond, self.prepare(cond, null=null, cond_mask=cond_mask))

    def prepare(self, cond: torch.Tensor, *, null: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> PreparedCondition:
        raise NotImplementedError

    def forward_prepared(self, x: torch.Tensor, noise_cond: torch.Tensor, prepared: PreparedCondition) -> torch.Tensor:
        raise NotImplementedError


def _zero_null_rows(cond: torch.Tensor, null: torch.Tensor | None) -> torch.Tensor:
    if null is None:
        return cond
    keep = (~null.to(torch.bool)).to(cond.dtype).reshape(-1, *([1] * (cond.ndim - 1)))
    return cond * keep


class FiLMDenoiser(_Backbone):
    """Diff4Steer backbone conditioned on a pooled query vector ``(B, query_dim)``."""

    def prepare(self, cond: torch.Tensor, *, null: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> PreparedCondition:
        if cond.ndim != 2 or cond.shape[-1] != self.config.query_dim:
            raise ValueError(f"film_mlp condition must be (B, {self.config.query_dim}), got {tuple(cond.shape)}")
        emb = self.cond_embed(_zero_null_rows(cond, null))
        residual = emb if self.config.cond_residual else None
        return PreparedCondition(film=[block.film_from_condition(emb) for block in self.blocks], residual=residual)

    def forward_prepared(self, x: torch.Tensor, noise_cond: torch.Tensor, prepared: PreparedCondition) -> torch.Tensor:
        self._check_x(x)
        h = self.in_proj(x)
        if prepared.residual is not None:
            h = h + prepared.residual
        for block, film_noise, film_cond in zip(self.blocks, self._film_noise(noise_cond), prepared.film):
            h = block(h, film_noise, film_cond)
        return self.out_proj(F.silu(self.out_norm(h)))


class CrossAttention(nn.Module):
    """One query token (the hidden state) attending over the condition tokens; residual output."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def keys_values(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, w = tokens.shape
        k, v = self.kv(tokens).chunk(2, dim=-1)
        shape = (b, t, self.heads, w // self.heads)
        return k.reshape(shape).transpose(1, 2), v.reshape(shape).transpose(1, 2)

    def forward(self, h: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, w = h.shape
        q = self.q(self.norm(h)).reshape(b, self.heads, 1, w // self.heads)
        attended = F.scaled_dot_product_attention(q, keys, values, attn_mask=key_mask[:, None, None, :])
        return h + self.out(attended.reshape(b, w))


class CrossAttentionDenoiser(_Backbone):
    """GD-Retriever-style backbone conditioned on query tokens ``(B, T, query_dim)`` through cross-attention."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__(config)
        w = config.width
        self.token_proj = nn.Linear(config.query_dim, w)
        self.attn = nn.ModuleList(CrossAttention(w, config.heads) for _ in range(config.depth))

    def prepare(self, cond: torch.Tensor, *, null: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> PreparedCondition:
        if cond.ndim != 3 or cond.shape[-1] != self.config.query_dim:
            raise ValueError(
                f"cross_attention condition must be (B, T, {self.config.query_dim}) token states, got {tuple(cond.shape)}"
            )
        b, t, _ = cond.shape
        mask = torch.ones(b, t, dtype=torch.bool, device=cond.device) if cond_mask is None else cond_mask.to(torch.bool)
        if null is not None:
            null = null.to(torch.bool)
            mask = mask | null[:, None]  # a null row's (zero) tokens are all attended: no empty softmax
        if not bool(mask.any(dim=1).all()):
            raise ValueError("every condition needs at least one valid token (cond_mask has an all-False row)")
        tokens = self.token_proj(_zero_null_rows(cond, null))
        weights = mask.to(tokens.dtype)[..., None]
        pooled = (tokens * weights).sum(1) / weights.sum(1)
        emb = self.cond_embed[2](self.cond_embed[1](pooled))  # the pooled tokens replace cond_embed's first layer
        keys, values = zip(*(layer.keys_values(tokens) for layer in self.attn))
        return PreparedCondition(
            film=[block.film_from_condition(emb) for block in self.blocks],
            keys=list(keys),
            values=list(values),
            key_mask=mask,
        )

    def forward_prepared(self, x: torch.Tensor, noise_cond: torch.Tensor, prepared: PreparedCondition) -> torch.Tensor:
        self._check_x(x)
        if prepared.keys is None or prepared.values is None or prepared.key_mask is None:
            raise ValueError("cross_attention denoiser needs a condition prepared by its own prepare()")
        h = self.in_proj(x)
        films = self._film_noise(noise_cond)
        for i, block in enumerate(self.blocks):
            h = block(h, films[i], prepared.film[i])
            h = self.attn[i](h, prepared.keys[i], prepared.values[i], prepared.key_mask)
        return self.out_proj(F.silu(self.out_norm(h)))


_ARCHITECTURES: dict[str, type[_Backbone]] = {"film_mlp": FiLMDenoiser, "cross_attention": CrossAttentionDenoiser}


def build_denoiser(config: DenoiserConfig) -> FiLMDenoiser | CrossAttentionDenoiser:
    """Instantiate the backbone a config describes (randomly initialised)."""
    return _ARCHITECTURES[config.architecture](config)  # type: ignore[return-value]


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (``7.3M`` for width 512, depth 6 on 512-d targets)."""
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "Architecture",
    "CrossAttentionDenoiser",
    "DenoiserConfig",
    "FiLMDenoiser",
    "MAX_DEPTH",
    "MAX_DIM",
    "MAX_HEADS",
    "PreparedCondition",
    "build_denoiser",
    "count_parameters",
]
