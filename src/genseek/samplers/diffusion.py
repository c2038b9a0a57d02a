"""The ``diffusion`` sampler: Diff4Steer's EDM prior turning one query into several seeds.

``sample(query, n, generator=…, **controls)`` draws ``n`` seeds from ``p(z | q)`` by solving the
reverse process from ``z ~ N(0, σ(1)²)`` (Diff4Steer eq. 2, appendix A) with one batched network
evaluation per solver step (all seeds and both guidance branches together). Controls:

==============  =================================================================================
``preset``      ``"fast"`` (DPM-Solver++(2M), 8 steps) or ``"quality"`` (Euler–Maruyama, 256 steps)
``solver``      ``euler_maruyama`` | ``heun`` | ``dpmpp_2m`` | ``ddim`` (overrides the preset)
``steps``       solver steps (overrides the preset)
``guidance``    ω, Diff4Steer eq. 3: 0 conditional, −1 unconditional, > 0 stronger adherence
``negative``    negative condition replacing the null branch (GD-Retriever eq. 2); text is encoded
                by the search's query encoder
``steer``       ``{text: k}`` or ``[(text_or_vector, k), …]`` gradient steering (Diff4Steer eq. 4),
                in the target space (text needs ``steering_encoder``)
``slerp``       ``(text_or_vector, ratio)``: spherical interpolation of the seeds toward it
``align``       ``True``/``False`` or a shrinkage in [0, 1]: post-hoc alignment (GD-Retriever §4.1.1)
==============  =================================================================================

:meth:`DiffusionSampler.refine` re-noises an existing vector along the deterministic ODE and
denoises it under a new condition (GD-Retriever §4.3, DDIM inversion).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import InvalidRequestError
from .base import SeedSet, torch_seed_from
from .batching import MicroBatcher, batch_key
from .controls import PRESETS, check_number, check_steps, parse_steer
from .guidance import GuidedDenoiser
from .prior import PriorSampler
from .solvers import NFE, SOLVERS, ddim_invert, sample_ddim, sample_heun
from .weights import PriorWeights

#: Default ω when neither the request, the sampler options nor the weights set one.
DEFAULT_GUIDANCE = 4.0
#: Total ODE grid of :meth:`DiffusionSampler.refine`; ``strength`` uses the top fraction of it.
REFINE_STEPS = 20


class DiffusionSampler(PriorSampler):
    """Diffusion prior sampler (see the module docstring for the controls).

    Args (besides :class:`~genseek.samplers.prior.PriorSampler`'s):
        preset: default preset, ``"fast"`` or ``"quality"``.
        guidance: default ω (else the weights' ``training["guidance"]`` if recorded, else 4.0).
        solver / steps: defaults overriding the preset.
    """

    id = "diffusion"
    kind = "diffusion"
    description = "EDM diffusion prior (Diff4Steer): several seeds per query, guidance, steering, negatives, refine"
    controls = frozenset({"preset", "solver", "steps", "guidance", "negative", "steer", "slerp", "align"})
    query_controls = frozenset({"negative"})
    can_refine = True
    refine_controls = frozenset({"source_condition", "guidance", "negative", "steps", "align", "order"})

    def __init__(
        self,
        weights: str | os.PathLike[str] | PriorWeights,
        *,
        preset: str = "fast",
        guidance: float | None = None,
        solver: str | None = None,
        steps: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(weights, **options)
        self._batcher: MicroBatcher = MicroBatcher(self._sample_batch, name=f"sampler {self.id!r}", **self.batching)
        self.preset_default = self._check_preset(preset)
        trained = self.config.training.get("guidance")
        self.guidance_default = check_number(
            "guidance", guidance if guidance is not None else (trained if trained is not None else DEFAULT_GUIDANCE)
        )
        self.solver_default = None if solver is None else self._check_solver(solver)
        self.steps_default = None if steps is None else check_steps(steps)

    # -- control resolution -----------------------------------------------------------------------
    @staticmethod
    def _check_preset(preset: Any) -> str:
        if preset not in PRESETS:
            raise InvalidRequestError(f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))}")
        return preset

    @staticmethod
    def _check_solver(solver: Any) -> str:
        if solver not in SOLVERS:
            raise InvalidRequestError(f"unknown solver {solver!r}; choose one of {', '.join(sorted(SOLVERS))}")
        return solver

    def sigma_floor(self, preset: Any = None) -> float:
        """Smallest positive noise level of the solver grid for a request's preset."""
        floor = PRESETS[self._check_preset(preset) if preset is not None else self.preset_default].floor
        minimum = self.config.schedule.sigma_min
        return minimum if floor is None else max(minimum, floor * self.config.sigma_data)

    def resolve(self, preset: Any = None, solver: Any = None, steps: Any = None) -> tuple[str, int]:
        """(solver, steps) for a request: explicit control > sampler default > preset."""
        chosen = PRESETS[self._check_preset(preset) if preset is not None else self.preset_default]
        explicit_solver = self._check_solver(solver) if solver is not None else None
        explicit_steps = check_steps(steps) if steps is not None else None
        if preset is not None:  # a request-level preset beats the sampler's defaults
            return explicit_solver or chosen.solver, explicit_steps or chosen.steps
        return (
            explicit_solver or self.solver_default or chosen.solver,
            explicit_steps or self.steps_default or chosen.steps,
        )

    # -- sampling ---------------------------------------------------------------------------------
    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        """``n`` seeds for one query (pooled ``(d_q,)`` or tokens ``(T, d_q)``); see the module docstring.

        Concurrent calls with the same ``n`` and controls are micro-batched into one
        :meth:`sample_many` pass (:mod:`genseek.samplers.batching`); each keeps the torch seed
        drawn from its own ``generator``, so it gets the seeds it would get alone.
        ``info["batch_size"]`` says how many calls shared the pass.
        """
        item = (query, n, torch_seed_from(generator), controls)
        seeds, batch_size = self._batcher.submit(batch_key(n, controls), item)
        seeds.info["batch_size"] = batch_size
        return seeds

    def _sample_batch(self, items: list[tuple[np.ndarray, int, int, dict[str, Any]]]) -> list[SeedSet]:
        """One :meth:`sample_many` pass for calls that share ``n`` and controls (the batcher's job)."""
        _, n, _, controls = items[0]
        out = self.sample_many([item[0] for item in items], n, seeds=[item[2] for item in items], **controls)
        return [SeedSet(vectors=out.vectors[i], info=dict(out.info)) for i in range(len(items))]

    def sample_many(
        self,
        queries: Sequence[np.ndarray] | np.ndarray,
        n: int,
        *,
        generator: np.random.Generator | None = None,
        seeds: Sequence[int] | None = None,
        preset: Any = None,
        solver: Any = None,
        steps: Any = None,
        guidance: Any = None,
        negative: Any = None,
        steer: Any = None,
        slerp: Any = None,
        align: Any = None,
    ) -> BatchSeeds:
        """Seeds for a batch of ``Q`` queries at once: one network pass per step for all ``Q·n`` seeds.

        Each query ``i`` draws its noise from its own ``torch.Generator`` seeded with ``seeds[i]``
        (or with seeds drawn from ``generator``), so a query's seeds do not depend on the batch it
        is in. Returns :class:`BatchSeeds` with ``vectors`` of shape ``(Q, n, d)``.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidRequestError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        queries = list(queries)
        if not queries:
            raise InvalidRequestError("sample_many needs at least one query")
        if seeds is None:
            if generator is None:
                raise InvalidRequestError("pass generator= (a numpy Generator) or seeds= (one int per query)")
            seeds = [torch_seed_from(generator) for _ in queries]
        if len(seeds) != len(queries):
            raise InvalidRequestError(f"got {len(seeds)} seeds for {len(queries)} queries")
        solver_name, n_steps = self.resolve(preset, solver, steps)
        omega = check_number("guidance", guidance if guidance is not None else self.guidance_default)
        started = time.perf_counter()
        cond, cond_mask = self.condition_tensor(queries)
        neg, neg_mask = self.negative_condition(negative, len(queries))
        if neg is not None and omega == 0.0:
            raise InvalidRequestError(
                "control 'negative' replaces the unconditional branch of guidance, which guidance=0 switches off; "
                "use guidance > 0 with a negative prompt"
            )
        steer_vector = parse_steer(steer, self.config.target_dim, self._text_encoder())
        steer_tensor = None
        if steer_vector is not None:
            steer_tensor = torch.from_numpy(steer_vector).to(self.device, self.dtype).expand(len(queries), -1)
        generators = [torch.Generator(device=self.device).manual_seed(int(s) % (2**63 - 1)) for s in seeds]
        sigmas = self.schedule.karras_sigmas(n_steps, sigma_min=self.sigma_floor(preset))
        context = torch.no_grad() if steer_tensor is not None else torch.inference_mode()
        with context:
            denoiser = GuidedDenoiser(
                self.weights.model, cond, n, guidance=omega, negative=neg,
                cond_mask=cond_mask, negative_mask=neg_mask, steer=steer_tensor,
            )
            d = self.config.target_dim
            noise = torch.cat([torch.randn((n, d), generator=g, device=self.device) for g in generators])
            x = (noise * float(sigmas[0])).to(self.dtype)
            x = SOLVERS[solver_name](denoiser, x, sigmas, generator=generators)
            out = self.finish_seeds(x, align=align, slerp_to=slerp)
        vectors = out.reshape(len(queries), n, d).cpu().numpy().astype(np.float32)
        info = {
            "solver": solver_name,
            "steps": n_steps,
            "sigma_floor": float(sigmas[-2]),
            "nfe": denoiser.evaluations,
            "nfe_expected": NFE[solver_name](n_steps),
            "guidance": omega,
            "negative": neg is not None,
            "steered": steer_tensor is not None,
            "device": str(self.device),
            "prior_ms": (time.perf_counter() - started) * 1e3,
        }
        return BatchSeeds(vectors=vectors, info=info)

    # -- refinement -------------------------------------------------------------------------------
    def refine(
        self,
        vector: np.ndarray,
        condition: np.ndarray,
        strength: float,
        *,
        source_condition: np.ndarray | None = None,
        guidance: Any = None,
        negative: Any = None,
        steps: Any = None,
        align: Any = None,
        order: int = 2,
        **unused: Any,
    ) -> np.ndarray:
        """Edit ``vector`` (``(d,)`` or ``(m, d)``) toward ``condition``: "like this, but …" (GD-Retriever §4.3).

        The vector is re-noised along the deterministic ODE (DDIM inversion) from σ ≈ 0 to
        ``σ(t = strength)`` — under ``source_condition`` with the same guidance when given
        (e.g. the query that generated a seed), unconditionally otherwise (a catalog item) —
        then denoised under ``condition`` (guidance ω, optional ``negative``) along the same grid.
        ``order=1`` uses plain DDIM steps both ways (round-trip error O(h)); ``order=2`` (default)
        adds Heun's correction both ways (O(h²): with the same condition the input comes back
        to ~1e-4 where DDIM leaves ~1e-2). The grid has ``ceil(steps·strength)`` steps of a
        ``steps``-step Karras schedule (default 20).
        ``strength = 0`` returns ``vector`` unchanged; ``1`` regenerates from pure noise level.
        Deterministic: no random draws.
        """
        self.check_refine_controls(unused)
        if order not in (1, 2):
            raise InvalidRequestError(f"refine: order must be 1 (DDIM) or 2 (Heun), got {order!r}")
        strength = check_number("strength", strength, low=0.0, high=1.0)
        original = np.asarray(vector, dtype=np.float32)
        single = original.ndim == 1
        matrix = original[None, :] if single else original
        if matrix.ndim != 2 or matrix.shape[1] != self.config.target_dim:
            raise InvalidRequestError(
                f"refine needs {self.config.target_dim}-d vector(s) from the catalog space, got shape {original.shape}"
            )
        if not np.all(np.isfinite(matrix)):
            raise InvalidRequestError("refine: the vector contains NaN or infinite values")
        sigma_top = float(self.schedule.sigma(torch.tensor(strength, dtype=torch.float64)))
        if strength == 0.0 or sigma_top <= self.config.schedule.sigma_min:
            return original.copy()
        total = check_steps(steps) if steps is not None else REFINE_STEPS
        k = max(1, math.ceil(total * strength))
        omega = check_number("guidance", guidance if guidance is not None else self.guidance_default)
        m = matrix.shape[0]
        cond, cond_mask = self.condition_tensor([condition] * m, name="condition")
        neg, neg_mask = self.negative_condition(negative, m)
        from .edm import karras_sigmas

        sigmas = karras_sigmas(k, sigma_max=sigma_top, sigma_min=self.config.schedule.sigma_min)
        with torch.inference_mode():
            x = torch.from_numpy(matrix).to(self.device, self.dtype)
            if source_condition is not None:
                src, src_mask = self.condition_tensor([source_condition] * m, name="source condition")
                inverter = GuidedDenoiser(self.weights.model, src, 1, guidance=omega, cond_mask=src_mask)
            else:
                inverter = GuidedDenoiser(self.weights.model, cond, 1, guidance=-1.0, cond_mask=cond_mask)
            latent = ddim_invert(inverter, x, sigmas, order=order)
            editor = GuidedDenoiser(
                self.weights.model, cond, 1, guidance=omega, negative=neg, cond_mask=cond_mask, negative_mask=neg_mask
            )
            edited = (sample_heun if order == 2 else sample_ddim)(editor, latent, sigmas)
            edited = self.finish_seeds(edited, align=align, slerp_to=None)
        out = edited.cpu().numpy().astype(np.float32)
        return out[0] if single else out


class BatchSeeds:
    """Seeds of a batch of queries: ``vectors`` ``(Q, n, d)`` float32 and shared diagnostics ``info``."""

    __slots__ = ("vectors", "info")

    def __init__(self, vectors: np.ndarray, info: dict[str, Any]) -> None:
        self.vectors = vectors
        self.info = info

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def seed_set(self, i: int) -> SeedSet:
        return SeedSet(vectors=self.vectors[i], info=self.info)


__all__ = ["BatchSeeds", "DEFAULT_GUIDANCE", "DiffusionSampler", "REFINE_STEPS"]
