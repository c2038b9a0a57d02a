"""Samplers: one query embedding into several seed vectors.

* :mod:`.base` — the contract (:class:`~.base.Sampler`, :class:`~.base.SeedSet`, :class:`~.base.SamplerInfo`);
* :mod:`.identity` — the plain-vector-search baseline;
* the Diff4Steer prior: :mod:`.edm` (preconditioning, schedule, grid, training σ and loss weight),
  :mod:`.denoisers` (FiLM residual MLP and cross-attention backbones), :mod:`.weights`
  (``save_pretrained`` / ``from_pretrained``), :mod:`.solvers` (one algorithm per file),
  :mod:`.guidance` (CFG, negative prompts, steering), :mod:`.controls`, :mod:`.alignment`,
  :mod:`.diffusion` (the ``diffusion`` sampler, with ``refine``) and :mod:`.regression` (the
  deterministic baseline);
* :mod:`.analytic` / :mod:`.testkit` — exact Gaussian-mixture denoisers and tiny priors for tests.

Submodules import torch; this package does not, so importing the contract stays cheap.
"""
