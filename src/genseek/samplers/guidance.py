"""Classifier-free guidance, negative prompts and text steering around a preconditioned denoiser.

:class:`GuidedDenoiser` is the ``denoise(x, σ)`` callable the solvers receive. For ``Q`` queries
with ``n`` seeds each, one call runs **one** batched forward pass over all ``Q·n`` seeds and both
guidance branches (``2·Q·n`` rows; ``Q·n`` when one branch has weight zero):

* guidance ω (Diff4Steer eq. 3): ``D' = (1 + ω)·D(z, σ, q) − ω·D(z, σ, ∅)``; ω = 0 is the plain
  conditional model, ω = −1 the unconditional one;
* negative prompt (GD-Retriever eq. 2): the second branch uses the negative condition ``q⁻``
  instead of the null condition: ``D' = (1 + ω)·D(z, σ, q) − ω·D(z, σ, q⁻)``;
* text steering (Diff4Steer eq. 4): ``D'' = D' + Σₙ kₙ·∇_z ⟨D'(z, σ, q), z_{t,n}⟩``. The sum is one
  vector-Jacobian product with ``v = Σₙ kₙ·z_{t,n}`` (one backward pass per step).

Conditions are prepared once per call (:meth:`~genseek.samplers.denoisers.FiLMDenoiser.prepare`)
and expanded to the seed rows, so each step does only the noise-dependent work.
"""

from __future__ import annotations

import torch

from .edm import EDMPrecond


class GuidedDenoiser:
    """``denoise(x, σ) -> D''`` for ``Q`` queries × ``n`` seeds (rows ordered query-major).

    Args:
        model: the preconditioned prior.
        cond: ``(Q, d_q)`` pooled conditions or ``(Q, T, d_q)`` token sequences.
        n: seeds per query.
        guidance: ω (Diff4Steer convention).
        negative: optional ``(Q, …)`` negative conditions (same layout as ``cond``); replaces the
            null branch.
        cond_mask / negative_mask: ``(Q, T)`` valid-token masks for sequence conditions.
        steer: optional ``(Q, d)`` combined steering vectors ``Σₙ kₙ·z_{t,n}`` (target space).
    """

    def __init__(
        self,
        model: EDMPrecond,
        cond: torch.Tensor,
        n: int,
        *,
        guidance: float = 0.0,
        negative: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
        steer: torch.Tensor | None = None,
    ) -> None:
        self.model = model
        self.guidance = float(guidance)
        self.n = int(n)
        queries = cond.shape[0]
        device = cond.device
        self.use_cond = self.guidance != -1.0
        self.use_uncond = self.guidance != 0.0
        seed_rows = torch.arange(queries, device=device).repeat_interleave(self.n)
        parts, index = [], []
        if self.use_cond:
            parts.append(model.prepare(cond, cond_mask=cond_mask))
            index.append(seed_rows)
        if self.use_uncond:
            if negative is not None:
                parts.append(model.prepare(negative, cond_mask=negative_mask))
            else:
                null = torch.ones(queries, dtype=torch.bool, device=device)
                parts.append(model.prepare(torch.zeros_like(cond), null=null, cond_mask=cond_mask))
            index.append(seed_rows + queries * (len(parts) - 1))
        prepared = parts[0] if len(parts) == 1 else _concat(parts)
        self.prepared = prepared.take(torch.cat(index))
        self.steer = None if steer is None else steer.repeat_interleave(self.n, dim=0)
        self.evaluations = 0

    def _guided(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        branches = int(self.use_cond) + int(self.use_uncond)
        rows = x if branches == 1 else torch.cat([x, x])
        out = self.model.forward_prepared(rows, sigma, self.prepared)
        self.evaluations += 1
        if branches == 1:
            return out
        d_cond, d_uncond = out.chunk(2)
        return (1.0 + self.guidance) * d_cond - self.guidance * d_uncond

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if self.steer is None:
            return self._guided(x, sigma)
        with torch.enable_grad():
            x_req = x.detach().requires_grad_(True)
            denoised = self._guided(x_req, sigma)
            (grad,) = torch.autograd.grad((denoised * self.steer).sum(), x_req)
        return denoised.detach() + grad


def _concat(parts):
    from .denoisers import PreparedCondition

    def cat(tensors):
        return None if tensors[0] is None else torch.cat(tensors)

    def pad_cat(tensors, dim):
        # token sequences of different lengths: pad keys/values/masks along the token axis
        longest = max(t.shape[dim] for t in tensors)
        padded = []
        for t in tensors:
            missing = longest - t.shape[dim]
            if missing:
                shape = list(t.shape)
                shape[dim] = missing
                t = torch.cat([t, t.new_zeros(shape)], dim=dim)
            padded.append(t)
        return torch.cat(padded)

    first = parts[0]
    return PreparedCondition(
        film=[torch.cat([p.film[i] for p in parts]) for i in range(len(first.film))],
        keys=None if first.keys is None else [pad_cat([p.keys[i] for p in parts], 2) for i in range(len(first.keys))],
        values=None if first.values is None else [pad_cat([p.values[i] for p in parts], 2) for i in range(len(first.values))],
        key_mask=None if first.key_mask is None else pad_cat([p.key_mask for p in parts], 1),
        residual=cat([p.residual for p in parts]),
    )


__all__ = ["GuidedDenoiser"]
