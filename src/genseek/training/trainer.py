"""The training loop of the prior (and of the regression baseline).

Objective (Diff4Steer appendix A, via :mod:`genseek.samplers.edm`): for a batch of pairs ``(q, z)``
draw ``σ`` from eq. 13, ``z̃ = z + σ·ε``, drop the condition with probability ``cond_dropout``
(classifier-free guidance, eq. 3) and minimise ``λ(σ)·‖D(z̃, σ, q) − z‖²`` (eq. 1, 14). The
regression baseline trains the same backbone on ``‖D(0, σ(1), q) − z‖²``
(:func:`genseek.samplers.edm.regression_predict`).

Around it: AdamW, linear warm-up then cosine decay, gradient-norm clipping, EMA weights (what is
saved), bf16/fp16 autocast on a GPU, a deterministic seed (data order and noise are functions of
``(seed, step, rank)``, so a resumed run equals an uninterrupted one), atomic checkpoints every
``checkpoint_every`` steps, a tqdm bar with loss and throughput, and data parallelism when
launched by ``torchrun`` (``WORLD_SIZE > 1``: NCCL on GPUs, gloo on CPU; each process takes its
slice of every global batch; rank 0 writes).

Output directory layout::

    out/config.json, out/model.safetensors   the EMA weights (samplers load these)
    out/training_log.json                    loss history, validation loss, timings
    out/checkpoints/last.pt                  resumable state (tensors only, weights_only loading)
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, WeightsError
from ..samplers.denoisers import count_parameters
from ..samplers.edm import denoising_loss, sample_training_sigmas, sample_training_sigmas_lognormal
from ..samplers.weights import NormalizationConfig, PriorConfig, PriorWeights, ScheduleConfig
from .config import TrainConfig
from .pairs import PairSet, PairStream, TrainingDataError

CHECKPOINT = "checkpoints/last.pt"
LOG_FILE = "training_log.json"


@dataclass
class TrainResult:
    """What :func:`train` returns: the weights directory and the run's history."""

    out_dir: Path
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    steps_per_second: float = 0.0
    parameters: int = 0

    @property
    def final_loss(self) -> float:
        return float(self.history[-1]["loss"]) if self.history else float("nan")


# -- distributed -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: torch.device) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _resolve_device(name: str, dist_local_rank: int) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_local_rank % max(1, torch.cuda.device_count()))
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'")
    return device


def _amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or config.amp == "off":
        if config.amp in ("bf16", "fp16") and device.type != "cuda":
            raise ConfigError(f"amp={config.amp!r} needs a GPU; on CPU use amp='auto' or 'off'")
        return None
    if config.amp == "fp16":
        return torch.float16
    if config.amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


# -- data ------------------------------------------------------------------------------------------


def _step_seed(seed: int, *parts: int) -> int:
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, *parts]).generate_state(2, np.uint64)[0] % (2**63 - 1))


def _stats(data: PairSet | PairStream) -> tuple[float, np.ndarray, int, tuple[int, ...], int]:
    """(σ_data, mean query, n pairs, query shape[1:], target dim) in one pass."""
    total = 0
    t_sum = t_sq = 0.0
    t_elems = 0
    q_sum = None
    q_count = 0
    shape = None
    target_dim = None
    for chunk in [data] if isinstance(data, PairSet) else data:
        if shape is None:
            shape, target_dim = chunk.queries.shape[1:], chunk.target_dim
        elif chunk.queries.shape[1:] != shape or chunk.target_dim != target_dim:
            raise TrainingDataError(
                f"pair chunks disagree on sizes: queries {chunk.queries.shape[1:]} vs {shape}, "
                f"targets {chunk.target_dim} vs {target_dim}"
            )
        t = chunk.targets.astype(np.float64)
        t_sum += float(t.sum())
        t_sq += float((t * t).sum())
        t_elems += t.size
        q = chunk.queries.astype(np.float64)
        if q.ndim == 3:
            valid = np.any(q != 0, axis=-1)
            q_sum = (0 if q_sum is None else q_sum) + q[valid].sum(0)
            q_count += int(valid.sum())
        else:
            q_sum = (0 if q_sum is None else q_sum) + q.sum(0)
            q_count += len(q)
        total += len(chunk)
    mean = t_sum / t_elems
    sigma = math.sqrt(max(t_sq / t_elems - mean * mean, 0.0))
    if not sigma > 0:
        raise TrainingDataError("all target values are identical (σ_data = 0); the targets carry no signal")
    return sigma, (q_sum / max(q_count, 1)).astype(np.float32), total, tuple(shape), int(target_dim)


class _Batches:
    """Deterministic batches: ``batch(step)`` is a pure function of (seed, step, rank)."""

    def __init__(self, data: PairSet | PairStream, config: TrainConfig, dist: _Dist, n: int) -> None:
        self.data = data
        self.config = config
        self.dist = dist
        self.n = n
        self.global_batch = min(config.batch_size, n)
        if self.global_batch < dist.world:
            raise ConfigError(f"batch_size {config.batch_size} is smaller than the {dist.world} data-parallel processes")
        self.per_epoch = max(1, n // self.global_batch)
        self._stream_iter: Iterator[tuple[np.ndarray, np.ndarray]] | None = None
        self._stream_step = -1
        self._stream_epoch = -1

    def _slice(self, q: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(t) // self.dist.world
        start = self.dist.rank * size
        return q[start : start + size], t[start : start + size]

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, index = divmod(step, self.per_epoch)
        if isinstance(self.data, PairSet):
            order = np.random.default_rng(_step_seed(self.config.seed, 1, epoch)).permutation(self.n)
            rows = order[index * self.global_batch : (index + 1) * self.global_batch]
            return self._slice(self.data.queries[rows], self.data.targets[rows])
        return self._slice(*self._stream_batch(step, epoch))

    def _stream_batch(self, step: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        if self._stream_iter is None or epoch != self._stream_epoch or step != self._stream_step + 1:
            rng = np.random.default_rng(_step_seed(self.config.seed, 1, epoch))
            self._stream_iter = self.data.batches(self.global_batch, rng=rng)
            self._stream_epoch = epoch
            for _ in range(epoch * self.per_epoch, step):  # resume: skip to this step
                next(self._stream_iter, None)
        self._stream_step = step
        for q, t in self._stream_iter:
            if len(t) == self.global_batch:
                return q, t
        # stream exhausted early (tail batch smaller): start the next pass
        self._stream_iter = None
        return self._stream_batch((epoch + 1) * self.per_epoch, epoch + 1)


def _tensors(q: np.ndarray, t: np.ndarray, query_mean: np.ndarray, config: TrainConfig, device: torch.device):
    cond = torch.from_numpy(np.ascontiguousarray(q, np.float32)).to(device)
    mask = None
    if cond.ndim == 3:
        mask = (cond != 0).any(dim=-1)
        if not bool(mask.any(dim=1).all()):
            raise TrainingDataError("a query token sequence is all zeros (empty); every query needs at least one token")
    if config.center_queries:
        cond = cond - torch.from_numpy(query_mean).to(device)
        if mask is not None:
            cond = cond * mask[..., None]
    if config.query_l2:
        cond = cond / cond.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return cond, mask, torch.from_numpy(np.ascontiguousarray(t, np.float32)).to(device)


def _subset(data: PairSet | PairStream, n: int = 2048) -> PairSet:
    """Up to ``n`` pairs of the training data (the first batches of a stream)."""
    if isinstance(data, PairSet):
        return PairSet(data.queries[:n], data.targets[:n])
    queries, targets = [], []
    for chunk in data:
        queries.append(chunk.queries)
        targets.append(chunk.targets)
        if sum(len(x) for x in targets) >= n:
            break
    return PairSet(np.concatenate(queries)[:n], np.concatenate(targets)[:n])


# -- model pieces ----------------------------------------------------------------------------------


def prior_config(config: TrainConfig, *, sigma_data: float, query_dim: int, target_dim: int) -> PriorConfig:
    """The weights' :class:`PriorConfig` for a training config and measured data sizes."""
    return PriorConfig(
        kind=config.kind,
        denoiser=config.denoiser(query_dim=query_dim, target_dim=target_dim),
        sigma_data=sigma_data,
        schedule=ScheduleConfig(),
        cfg_dropout=config.cond_dropout,
        query_encoder=config.query_encoder,
        target_encoder=config.target_encoder,
        normalization=NormalizationConfig(query_l2=config.query_l2, query_center=config.center_queries, target_l2=config.target_l2),
    )


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up to ``lr`` over ``warmup_steps``, then cosine decay to ``min_lr_ratio·lr`` at ``steps``."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def _loss(model: nn.Module, cond, mask, target, config: PriorConfig, train: TrainConfig, generator: torch.Generator, device):
    batch = target.shape[0]
    sigma_data = config.sigma_data
    if train.kind == "regression":
        # same convention as genseek.samplers.edm.regression_predict: D(0, σ(1), q)
        x = torch.zeros_like(target)
        sigma = torch.full((batch,), sigma_data * config.schedule.sigma_max, device=device)
        prediction = model(x, sigma, cond, cond_mask=mask)
        return ((prediction.float() - target) ** 2).mean() / sigma_data**2
    if train.sigma_distribution == "log_normal":
        sigma = sample_training_sigmas_lognormal(
            batch, sigma_data, p_mean=train.sigma_p_mean, p_std=train.sigma_p_std, generator=generator,
            sigma_min=config.schedule.sigma_min, sigma_max=config.schedule.sigma_max, device=device,
        )
    else:
        sigma = sample_training_sigmas(
            batch, sigma_data, generator=generator, sigma_min=config.schedule.sigma_min,
            sigma_max=config.schedule.sigma_max, device=device,
        )
    null = torch.rand(batch, generator=generator, device=device) < train.cond_dropout if train.cond_dropout else None
    return _noised_loss(model, cond, mask, target, sigma, sigma_data, generator, device, null)


def _noised_loss(model, cond, mask, target, sigma, sigma_data, generator, device, null=None):
    """The EDM objective at the given noise levels ``sigma`` (one per row)."""
    noise = torch.randn(target.shape, generator=generator, device=device)
    denoised = model(target + sigma[:, None] * noise, sigma, cond, null=null, cond_mask=mask)
    return denoising_loss(denoised.float(), target, sigma, sigma_data)


class _EMA:
    """Exponential moving average of parameters, with the usual ``(1+s)/(10+s)`` warm-up."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema_p, p in zip(self.shadow.parameters(), model.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - decay)
        for ema_b, b in zip(self.shadow.buffers(), model.buffers()):
            ema_b.copy_(b)


# -- checkpoints -----------------------------------------------------------------------------------


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for broken files
        raise WeightsError(
            f"checkpoint {str(path)!r} cannot be read ({type(exc).__name__}: {exc}); delete it to start over"
        ) from exc


# -- the loop --------------------------------------------------------------------------------------


def train(
    config: TrainConfig,
    pairs: PairSet | PairStream,
    out_dir: str | os.PathLike[str],
    *,
    val_pairs: PairSet | None = None,
    resume: bool = True,
    stop_after: int | None = None,
    extra_summary: dict[str, Any] | None = None,
) -> TrainResult:
    """Train a prior on ``pairs`` and write its weights into ``out_dir``.

    Args:
        config: the run's :class:`TrainConfig`.
        pairs: in-memory :class:`PairSet` or a :class:`PairStream` (larger than memory).
        out_dir: where weights, log and checkpoints go (see the module docstring).
        val_pairs: optional validation pairs (validation loss with the EMA weights).
        resume: continue from ``out_dir/checkpoints/last.pt`` when it exists (same config required).
        stop_after: stop (after checkpointing) once this step is reached — simulates an
            interruption in tests; weights are not exported in that case.
        extra_summary: added to the ``training`` summary stored in ``config.json``.
    Returns a :class:`TrainResult`. Deterministic for a given config on a given device.
    """
    previous_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, pairs, out_dir, val_pairs=val_pairs, resume=resume, stop_after=stop_after,
                      extra_summary=extra_summary)
    finally:
        torch.set_num_threads(previous_threads)


def _train(config, pairs, out_dir, *, val_pairs, resume, stop_after, extra_summary) -> TrainResult:
    out = Path(out_dir)
    probe = _resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = _init_distributed(probe)
    device = _resolve_device(config.device, dist.local_rank)
    amp = _amp_dtype(config, device)
    sigma_data, query_mean, n_pairs, query_shape, target_dim = _stats(pairs)
    if config.sigma_data is not None:
        sigma_data = config.sigma_data
    sequence = len(query_shape) == 2
    if sequence != (config.architecture == "cross_attention"):
        raise ConfigError(
            f"architecture {config.architecture!r} needs "
            f"{'(n, T, d_q) token sequences' if config.architecture == 'cross_attention' else '(n, d_q) pooled query vectors'}, "
            f"but the pairs' queries have shape (n, {', '.join(map(str, query_shape))})"
        )
    if val_pairs is not None and (val_pairs.target_dim != target_dim or val_pairs.query_dim != query_shape[-1]):
        raise TrainingDataError(
            f"validation pairs ({val_pairs.query_dim}-d queries, {val_pairs.target_dim}-d targets) do not match the "
            f"training pairs ({query_shape[-1]}-d queries, {target_dim}-d targets)"
        )
    pcfg = prior_config(config, sigma_data=sigma_data, query_dim=query_shape[-1], target_dim=target_dim)

    torch.manual_seed(_step_seed(config.seed, 0))
    weights = PriorWeights.create(pcfg, stats={"query_mean": torch.from_numpy(query_mean)} if config.center_queries else None)
    model = weights.model.to(device).train()
    ema = _EMA(model, config.ema_decay) if config.ema_decay > 0 else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    start, history, validation, elapsed = 0, [], [], 0.0
    running_loss: float | None = None

    ckpt_path = out / CHECKPOINT
    if resume and ckpt_path.exists():
        state = _load_checkpoint(ckpt_path)
        saved = json.loads(state["config"])
        mine = config.fingerprint()
        diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        if diff:
            raise ConfigError(
                f"checkpoint {str(ckpt_path)!r} was written with a different configuration ({', '.join(diff)}); "
                "use the same settings to resume, pass resume=False (--no-resume) or choose another output directory"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.shadow.load_state_dict(state["ema"])
        if scaler is not None and "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        start = int(state["step"])
        history, validation = json.loads(state["history"]), json.loads(state["validation"])
        elapsed = float(state["elapsed"])
        running_loss = float(state["running"]) if "running" in state else None
    elif dist.main and out.exists() and (out / "model.safetensors").exists() and not resume:
        pass  # overwriting finished weights on purpose

    forward_model: nn.Module = model
    if dist.world > 1:
        forward_model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    batches = _Batches(pairs, config, dist, n_pairs)
    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, initial=start, desc=f"training {config.kind} prior", unit="step",
               disable=not (config.progress and dist.main), dynamic_ncols=True)
    running = running_loss
    window_start, window_steps = time.perf_counter(), 0
    run_start = time.perf_counter()
    last = stop_after if stop_after is not None else config.steps
    step = start
    for step in range(start, min(last, config.steps)):
        q, t = batches.batch(step)
        cond, mask, target = _tensors(q, t, query_mean, config, device)
        generator = torch.Generator(device=device).manual_seed(_step_seed(config.seed, 2, step, dist.rank))
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = _loss(forward_model, cond, mask, target, pcfg, config, generator, device)
        if not torch.isfinite(loss):
            raise TrainingDataError(
                f"the loss became {loss.item()} at step {step}; lower the learning rate (--lr) or check the data for outliers"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        grad_norm = float(nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)) if config.grad_clip else float("nan")
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if ema is not None:
            ema.update(model, step)
        value = float(loss.detach())
        running = value if running is None else 0.95 * running + 0.05 * value
        window_steps += 1
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            now = time.perf_counter()
            rate = window_steps / max(now - window_start, 1e-9)
            history.append({"step": done, "loss": running, "lr": lr, "grad_norm": grad_norm,
                            "steps_per_s": rate, "pairs_per_s": rate * batches.global_batch})
            window_start, window_steps = now, 0
            bar.set_postfix(loss=f"{running:.4f}", lr=f"{lr:.2e}", pairs_s=f"{rate * batches.global_batch:.0f}")
        if val_pairs is not None and (done % config.eval_every == 0 or done == config.steps):
            validation.append({"step": done, "val_loss": validation_loss(ema.shadow if ema else model, val_pairs, pcfg, config, query_mean, device)})
            bar.set_postfix(loss=f"{running:.4f}", val=f"{validation[-1]['val_loss']:.4f}")
        bar.update(1)
        if dist.main and (done % config.checkpoint_every == 0 or done == last):
            _save_checkpoint(ckpt_path, {
                "step": done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "ema": ema.shadow.state_dict() if ema else {}, "config": json.dumps(config.fingerprint()),
                "history": json.dumps(history), "validation": json.dumps(validation),
                "elapsed": elapsed + time.perf_counter() - run_start, "running": running,
                **({"scaler": scaler.state_dict()} if scaler is not None else {}),
            })
    bar.close()
    elapsed += time.perf_counter() - run_start
    steps_done = min(last, config.steps)
    result = TrainResult(out, steps_done, history, validation, elapsed,
                         (steps_done - start) / max(time.perf_counter() - run_start, 1e-9), count_parameters(model))
    if steps_done < config.steps:
        return result
    if dist.main:
        final_model = (ema.shadow if ema else model).to("cpu").eval()
        bands = {"training": loss_by_noise_band(final_model, _subset(pairs), pcfg, config, query_mean, torch.device("cpu"))}
        if val_pairs is not None:
            bands["validation"] = loss_by_noise_band(final_model, val_pairs, pcfg, config, query_mean, torch.device("cpu"))
        final = PriorWeights(pcfg, final_model, weights.stats)
        summary = {
            "steps": config.steps, "pairs": n_pairs, "final_loss": result.final_loss,
            "val_loss": validation[-1]["val_loss"] if validation else None, "seconds": round(elapsed, 2),
            "parameters": result.parameters, "seed": config.seed, "batch_size": config.batch_size,
            "lr": config.lr, "cond_dropout": config.cond_dropout, "world_size": dist.world, "device": str(device),
            **({"guidance": config.guidance} if config.guidance is not None else {}),
            "sigma_distribution": config.sigma_distribution, "cond_residual": config.cond_residual,
            **({"loss_by_noise_band": bands} if bands["training"] else {}),
            **(extra_summary or {}),
        }
        final.save_pretrained(out, training=summary)
        (out / LOG_FILE).write_text(json.dumps({
            "config": config.model_dump(), "summary": summary, "history": history, "validation": validation,
        }, indent=1) + "\n")
    if dist.world > 1:
        import torch.distributed as tdist

        tdist.barrier()
    return result


@torch.no_grad()
def validation_loss(model: nn.Module, pairs: PairSet, pcfg: PriorConfig, config: TrainConfig,
                    query_mean: np.ndarray, device: torch.device, batch: int = 1024) -> float:
    """Mean training objective on (up to ``val_max_pairs``) validation pairs, with fixed noise."""
    was_training = model.training
    model.eval()
    n = min(len(pairs), config.val_max_pairs)
    generator = torch.Generator(device=device).manual_seed(_step_seed(config.seed, 3))
    total = 0.0
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        cond, mask, target = _tensors(pairs.queries[start:stop], pairs.targets[start:stop], query_mean, config, device)
        no_drop = config.model_copy(update={"cond_dropout": 0.0})
        total += float(_loss(model, cond, mask, target, pcfg, no_drop, generator, device)) * (stop - start)
    model.train(was_training)
    return total / n


#: Edges of the noise-level bands (in units of σ_data) that :func:`loss_by_noise_band` reports.
NOISE_BANDS = (1e-3, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)


@torch.no_grad()
def loss_by_noise_band(model: nn.Module, pairs: PairSet, pcfg: PriorConfig, config: TrainConfig,
                       query_mean: np.ndarray, device: torch.device, *, bands: tuple[float, ...] = NOISE_BANDS,
                       max_pairs: int = 2048) -> list[dict[str, float]]:
    """The EDM loss of (up to ``max_pairs``) ``pairs`` in each band of ``σ/σ_data``, with fixed noise.

    Within a band σ is log-uniform. The weighted loss is comparable across bands and across runs
    trained with different noise-level distributions (unlike the training loss). Regression
    priors have no noise levels: the result is empty for them.
    """
    if config.kind != "diffusion":
        return []
    was_training = model.training
    model.eval()
    n = min(len(pairs), max_pairs)
    generator = torch.Generator(device=device).manual_seed(_step_seed(config.seed, 5))
    cond, mask, target = _tensors(pairs.queries[:n], pairs.targets[:n], query_mean, config, device)
    out = []
    for low, high in zip(bands[:-1], bands[1:]):
        position = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        sigma = (pcfg.sigma_data * low * (high / low) ** position).to(target.dtype)
        loss = _noised_loss(model, cond, mask, target, sigma, pcfg.sigma_data, generator, device)
        out.append({"band": f"{low:g}-{high:g}", "low": low, "high": high, "loss": float(loss)})
    model.train(was_training)
    return out


__all__ = ["CHECKPOINT", "LOG_FILE", "NOISE_BANDS", "TrainResult", "learning_rate", "loss_by_noise_band", "prior_config",
           "train", "validation_loss"]
