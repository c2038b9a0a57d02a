"""GPU: CUDA sampling latency and throughput (fp32, bf16), and training steps/s.

One short script for a machine with a GPU (issue #15 §4), in the host app's process as genseek
runs there:

* **sampling latency** — 1 query × 8 seeds, the ``fast`` preset, guidance 4, on the 7.7M-parameter
  prior of ``sampler_speed.py`` (FiLM MLP width 512 × 6 blocks, 512-d → 512-d, untrained random
  weights: speed does not depend on training), median of ``--repeats`` (CUDA synchronised);
* **sampling throughput** — 512 queries × 8 seeds in one ``sample_many`` call: seeds/s;
* both in float32 and bfloat16 (``DiffusionSampler(dtype=...)``);
* **training** — steps/s of ``genseek.training.train`` for the demo prior's shape (width 384 × 6,
  384-d → 384-d) and the 7.7M prior, batch 256, on random pairs, ``amp="auto"`` (bf16 on GPUs
  that have it).

Without CUDA it runs the same on the CPU, float32 only, with fewer steps (a smoke run that checks
the script; its numbers are not the GPU's). Results: ``benchmarks/results/gpu[-cpu].{json,md}``.

Run: ``python benchmarks/gpu.py [--repeats 30] [--train-steps 300]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402

from genseek.samplers.denoisers import count_parameters  # noqa: E402
from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.testkit import tiny_prior  # noqa: E402
from genseek.samplers.weights import PriorWeights  # noqa: E402
from genseek.training import PairSet, TrainConfig, train  # noqa: E402

SEEDS, GUIDANCE = 8, 4.0
PRIORS = {"demo shape (384-d, width 384 × 6)": (384, 384, 6), "7.7M (512-d, width 512 × 6)": (512, 512, 6)}


def random_prior(dim: int, width: int, depth: int) -> PriorWeights:
    return tiny_prior(target_dim=dim, query_dim=dim, width=width, depth=depth)


def timed(fn, repeats: int, device: str) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def sampling(device: str, repeats: int, batch: int) -> list[dict]:
    rows = []
    dtypes = ["float32", "bfloat16"] if device == "cuda" else ["float32"]
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        sampler = DiffusionSampler(random_prior(512, 512, 6), device=device, dtype=dtype, guidance=GUIDANCE)
        query = rng.standard_normal(512).astype(np.float32)
        latency = timed(lambda: sampler.sample(query, SEEDS, generator=np.random.default_rng(1)), repeats, device)
        queries = rng.standard_normal((batch, 512)).astype(np.float32)
        bulk = timed(lambda: sampler.sample_many(queries, SEEDS, seeds=list(range(batch))), max(3, repeats // 10), device)
        rows.append({
            "device": device, "dtype": dtype, "latency_median_ms": float(np.median(latency)),
            "latency_p90_ms": float(np.percentile(latency, 90)), "batch": batch,
            "batch_median_ms": float(np.median(bulk)), "seeds_per_s": batch * SEEDS / (np.median(bulk) / 1e3),
        })
        print(rows[-1], flush=True)
    return rows


def training(device: str, steps: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for name, (dim, width, depth) in PRIORS.items():
        pairs = PairSet(queries=rng.standard_normal((20_000, dim)).astype(np.float32),
                        targets=rng.standard_normal((20_000, dim)).astype(np.float32))
        config = TrainConfig(width=width, depth=depth, steps=steps, batch_size=256, warmup_steps=10, device=device,
                             progress=False, checkpoint_every=10 * steps, eval_every=10 * steps)
        with tempfile.TemporaryDirectory() as out:
            result = train(config, pairs, out)
        rows.append({"prior": name, "device": device, "parameters": result.parameters, "steps": result.steps,
                     "steps_per_s": result.steps_per_second, "amp": config.amp})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--train-steps", type=int, default=300)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":  # a smoke run of the script, not a GPU measurement
        args.repeats, args.batch, args.train_steps = min(args.repeats, 5), min(args.batch, 64), min(args.train_steps, 20)
    payload = {"machine": machine(), "device": device,
               "parameters_7.7M": count_parameters(random_prior(512, 512, 6).model),
               "sampling": sampling(device, args.repeats, args.batch), "training": training(device, args.train_steps)}
    write("gpu" if device == "cuda" else "gpu-cpu", payload, report(payload))
    print(report(payload))


def report(payload: dict) -> str:
    device = payload["device"]
    lines = [f"# GPU sampling and training ({payload['machine'].get('cuda') or 'no CUDA: CPU smoke run'})", "",
             f"Prior: FiLM MLP 512 × 6 ({payload['parameters_7.7M']:,} parameters), {SEEDS} seeds, fast preset, "
             f"ω = {GUIDANCE}, device {device}.", "",
             "| dtype | 1 query × 8 seeds, median ms | p90 ms | batch | batch ms | seeds/s |", "|---|---:|---:|---:|---:|---:|"]
    for r in payload["sampling"]:
        lines.append(f"| {r['dtype']} | {r['latency_median_ms']:.2f} | {r['latency_p90_ms']:.2f} | {r['batch']} | "
                     f"{r['batch_median_ms']:.1f} | {r['seeds_per_s']:,.0f} |")
    lines += ["", "| training | parameters | steps | steps/s | amp |", "|---|---:|---:|---:|---|"]
    for r in payload["training"]:
        lines.append(f"| {r['prior']} | {r['parameters']:,} | {r['steps']} | {r['steps_per_s']:.1f} | {r['amp']} |")
    if device == "cpu":
        lines += ["", "No GPU on this machine: a smoke run of the script on the CPU, with fewer repeats and steps."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
