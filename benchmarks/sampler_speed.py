"""How fast does the diffusion prior turn queries into seeds, against the machine's matmul roof?

Measured in one run, on the prior architecture of the ``fast`` goal (FiLM residual MLP, width 512,
6 blocks, 512-d queries and targets, untrained random weights — speed does not depend on training):

* **roof** — matrix-multiply FLOP/s of this machine: a large 1024×1024×1024 product (peak) and the
  denoiser's own GEMM shape (rows × 512 × 512) for each batch size, same thread setting;
* **latency** — one query × 8 seeds with guidance (both branches: 16 network rows), per solver and
  step count, median over repeats, with torch's thread setting (the sampler never changes it);
* **throughput** — batches of 64 and 512 queries × 8 seeds (``sample_many``): seeds per second.

* **fidelity** — ``fast`` vs ``quality`` (and the other solvers) on a prior whose denoiser is
  exact (a 256-d Gaussian mixture, :mod:`genseek.samplers.analytic`), so that only the solver's
  error shows: total-variation distance between the sampled and true mixture weights, the
  within-component spread relative to the truth (1.0 is exact), and the error of the sample mean.
  (Retrieval quality of a *trained* prior under each preset is the training issue's benchmark.)

For every case the achieved FLOP/s is ``network FLOPs per evaluation × evaluations / time`` and is
reported as a fraction of the roofs. Goal (issue #3): ``fast`` samples 8 seeds in ≤ 40 ms median
on the 2-core CPU. CUDA is measured too when a GPU is present.

Run: ``python benchmarks/sampler_speed.py [--repeats 15] [--quick]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402

from genseek.samplers.controls import PRESETS  # noqa: E402
from genseek.samplers.denoisers import DenoiserConfig, count_parameters  # noqa: E402
from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.solvers import NFE  # noqa: E402
from genseek.samplers.weights import PriorConfig, PriorWeights  # noqa: E402

DIM, WIDTH, DEPTH, SEEDS, GUIDANCE = 512, 512, 6, 8, 4.0
GOAL_MS = 40.0
#: (solver, steps, preset whose grid floor applies); the fast preset is dpmpp_2m × 8.
LATENCY_CASES = [
    ("dpmpp_2m", 6, "fast"), ("dpmpp_2m", 8, "fast"), ("dpmpp_2m", 10, "fast"), ("dpmpp_2m", 16, "fast"),
    ("heun", 4, "fast"), ("heun", 8, "fast"),
    ("ddim", 10, "fast"), ("ddim", 16, "fast"),
    ("euler_maruyama", 16, "quality"), ("euler_maruyama", 64, "quality"), ("euler_maruyama", 256, "quality"),
]
THROUGHPUT_CASES = [("dpmpp_2m", PRESETS["fast"].steps, "fast"), ("euler_maruyama", 16, "quality")]


def time_calls(fn, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Wall-clock median / p90 / mean (ms) and the median CPU time of the calling thread (ms).

    On a shared machine wall time includes waiting for a core; with one intra-op thread the
    calling thread's CPU time is close to what the call costs on an idle machine.
    """
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - start_cpu) * 1e3)
        wall.append((time.perf_counter() - start) * 1e3)
    wall.sort()
    return {
        "median_ms": float(np.median(wall)),
        "p90_ms": wall[min(len(wall) - 1, int(0.9 * len(wall)))],
        "mean_ms": float(np.mean(wall)),
        "thread_cpu_median_ms": float(np.median(cpu)),
        "repeats": repeats,
    }


def build_prior(device: str) -> PriorWeights:
    torch.manual_seed(0)
    config = PriorConfig(
        denoiser=DenoiserConfig(target_dim=DIM, query_dim=DIM, width=WIDTH, depth=DEPTH), sigma_data=0.044
    )
    weights = PriorWeights.create(config)
    torch.nn.init.normal_(weights.model.net.out_proj.weight, std=0.02)  # untrained but not the zero head
    return weights


def flops_per_row() -> int:
    """Multiply-adds ×2 of one network evaluation of one row (the per-step path; condition work is hoisted)."""
    return 2 * (DIM * WIDTH + DEPTH * 2 * WIDTH * WIDTH + WIDTH * DIM)


def matmul_roof(m: int, k: int, n: int, device: str, threads: int | None, seconds: float = 0.6) -> float:
    """FLOP/s of an (m×k)·(k×n) float32 product, run for about ``seconds``."""
    previous = torch.get_num_threads()
    if threads is not None and device == "cpu":
        torch.set_num_threads(threads)
    try:
        a = torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        for _ in range(3):
            a @ b
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            calls += 1
            if device == "cuda":
                torch.cuda.synchronize()
        return 2.0 * m * k * n * calls / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)


def latency(sampler: DiffusionSampler, device: str, repeats: int, quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    query = rng.standard_normal(DIM).astype(np.float32)
    rows = 2 * SEEDS
    roof_shape = matmul_roof(rows, WIDTH, WIDTH, device, None)
    out = []
    cases = LATENCY_CASES[:3] + LATENCY_CASES[-3:-2] if quick else LATENCY_CASES
    for solver, steps, preset in cases:
        reps = max(3, repeats // 4) if steps >= 64 else repeats
        stats = time_calls(
            lambda s=solver, k=steps, p=preset: sampler.sample(
                query, SEEDS, generator=np.random.default_rng(1), preset=p, solver=s, steps=k, guidance=GUIDANCE
            ),
            reps,
        )
        nfe = NFE[solver](steps)
        achieved = flops_per_row() * rows * nfe / (stats["median_ms"] / 1e3)
        out.append({
            "device": device, "preset": preset, "solver": solver, "steps": steps, "nfe": nfe, "rows": rows,
            "num_threads": f"torch ({torch.get_num_threads()})", **stats,
            "gflops": achieved / 1e9, "shape_roof_gflops": roof_shape / 1e9,
        })
        print(f"  {device} {solver:15s} steps={steps:3d} nfe={nfe:3d}  median {stats['median_ms']:8.1f} ms", flush=True)
    return out


def throughput(sampler: DiffusionSampler, device: str, batches: list[int], repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for queries in batches:
        batch = rng.standard_normal((queries, DIM)).astype(np.float32)
        rows = 2 * SEEDS * queries
        roof_shape = matmul_roof(rows, WIDTH, WIDTH, device, None)
        for solver, steps, preset in THROUGHPUT_CASES:
            stats = time_calls(
                lambda s=solver, k=steps, p=preset: sampler.sample_many(
                    batch, SEEDS, seeds=list(range(queries)), preset=p, solver=s, steps=k, guidance=GUIDANCE
                ),
                repeats if queries <= 64 else 2,
                warmup=1 if queries <= 64 else 0,
            )
            nfe = NFE[solver](steps)
            achieved = flops_per_row() * rows * nfe / (stats["median_ms"] / 1e3)
            out.append({
                "device": device, "queries": queries, "solver": solver, "steps": steps, "nfe": nfe, "rows": rows,
                "threads": torch.get_num_threads(), **stats,
                "seeds_per_s": queries * SEEDS / (stats["median_ms"] / 1e3),
                "gflops": achieved / 1e9, "shape_roof_gflops": roof_shape / 1e9,
            })
            print(f"  {device} batch {queries:4d} {solver:15s} steps={steps:3d}  {out[-1]['seeds_per_s']:9.0f} seeds/s", flush=True)
    return out


def fidelity(samples: int = 1000) -> list[dict]:
    """Solver error against an exact Gaussian-mixture denoiser (ω = 0: the target is known)."""
    from genseek.samplers.testkit import mixture_prior

    gen = np.random.default_rng(0)
    d, k, spread = 256, 12, 0.03
    means = gen.standard_normal((k, d)).astype(np.float32)
    means = 0.9 * means / np.linalg.norm(means, axis=1, keepdims=True)
    weights, model = mixture_prior(means, np.full(k, spread**2, np.float32))
    sampler = DiffusionSampler(weights, device="cpu")
    cond = gen.dirichlet(np.ones(k)).astype(np.float32)
    true_mean = cond @ means
    cases = [("fast", None, None), ("quality", None, None), ("fast", "dpmpp_2m", 16), ("fast", "heun", 8),
             ("fast", "ddim", 16), ("quality", "euler_maruyama", 64)]
    out = []
    for preset, solver, steps in cases:
        start = time.perf_counter()
        seeds = sampler.sample(cond, samples, generator=np.random.default_rng(1), preset=preset, solver=solver,
                               steps=steps, guidance=0.0)
        elapsed = time.perf_counter() - start
        x = seeds.vectors
        dist = np.linalg.norm(x[:, None, :] - means[None], axis=-1)
        nearest = dist.argmin(1)
        fractions = np.bincount(nearest, minlength=k) / len(x)
        out.append({
            "preset": preset, "solver": seeds.info["solver"], "steps": seeds.info["steps"], "nfe": seeds.info["nfe"],
            "tv_weights": float(0.5 * np.abs(fractions - cond).sum()),
            "spread_ratio": float(dist.min(1).mean() / (spread * np.sqrt(d))),
            "mean_error_over_spread": float(np.linalg.norm(x.mean(0) - true_mean) / spread),
            "seconds": elapsed,
        })
        print(f"  fidelity {preset:7s} {out[-1]['solver']:15s} steps={out[-1]['steps']:3d}  TV {out[-1]['tv_weights']:.3f}"
              f"  spread {out[-1]['spread_ratio']:.3f}", flush=True)
    return out


def _peak(payload: dict, device: str, threads: int | None) -> float:
    """The peak roof measured with the same intra-op thread count (one thread, or torch's default)."""
    roof = payload["roof"][device]
    return roof["peak_gflops_1_thread"] if threads == 1 and roof.get("peak_gflops_1_thread") else roof["peak_gflops"]


def render(payload: dict) -> str:
    """The markdown report of a results payload (also: ``--render`` re-renders the stored JSON)."""
    lines = [
        "# Diffusion prior sampling speed",
        "",
        f"Prior: FiLM residual MLP, width {WIDTH}, {DEPTH} blocks, {DIM}-d → {DIM}-d, "
        f"{payload['config']['parameters'] / 1e6:.1f}M parameters, {flops_per_row() / 1e6:.1f} MFLOP per row per evaluation. "
        f"Guidance ω = {GUIDANCE} (two branches per evaluation). Machine: {payload['machine']['processor']}, "
        f"{payload['machine']['cpus']} CPUs, torch {payload['machine']['torch']}"
        + (f", GPU {payload['machine']['cuda']}" if payload["machine"]["cuda"] else "") + ".",
        "",
        "## Roof (matrix multiply, same run)",
        "",
        "| device | peak GFLOP/s (1024³) | peak, 1 thread |",
        "|---|---:|---:|",
    ]
    for device, roof in payload["roof"].items():
        one = f"{roof['peak_gflops_1_thread']:.1f}" if roof["peak_gflops_1_thread"] else "–"
        lines.append(f"| {device} | {roof['peak_gflops']:.1f} | {one} |")
    lines += [
        "",
        f"## Latency: 1 query × {SEEDS} seeds",
        "",
        "| device | solver | steps | NFE | threads | median ms | p90 ms | thread CPU ms | GFLOP/s | % of peak roof (same threads) | % of same-shape GEMM roof |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in payload["latency"]:
        peak = _peak(payload, r["device"], None)
        lines.append(
            f"| {r['device']} | {r['solver']} | {r['steps']} | {r['nfe']} | {r['num_threads']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"{r['thread_cpu_median_ms']:.1f} | "
            f"{r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f}% | {100 * r['gflops'] / r['shape_roof_gflops']:.0f}% |"
        )
    lines += [
        "",
        f"## Throughput: batches of queries × {SEEDS} seeds",
        "",
        "| device | queries | solver | steps | threads | median s | seeds/s | GFLOP/s | % of peak roof (same threads) | % of same-shape GEMM roof |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in payload["throughput"]:
        peak = _peak(payload, r["device"], r["threads"])
        lines.append(
            f"| {r['device']} | {r['queries']} | {r['solver']} | {r['steps']} | {r['threads']} | {r['median_ms'] / 1e3:.2f} | {r['seeds_per_s']:.0f} | "
            f"{r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f}% | {100 * r['gflops'] / r['shape_roof_gflops']:.0f}% |"
        )
    lines += [
        "",
        "## Fidelity: `fast` vs `quality` on an exact prior (ω = 0, 1000 samples, 256-d, 12 components)",
        "",
        "| preset | solver | steps | NFE | TV(weights) ↓ | spread ratio (1 = exact) | ‖mean error‖ / spread ↓ |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in payload["fidelity"]:
        lines.append(
            f"| {r['preset']} | {r['solver']} | {r['steps']} | {r['nfe']} | {r['tv_weights']:.3f} | {r['spread_ratio']:.3f} | "
            f"{r['mean_error_over_spread']:.2f} |"
        )
    goal = payload["goal"]
    lines += [
        "",
        "## Goal",
        "",
        f"`fast` preset ({goal['fast_preset']}, guidance on): **{goal['fast_median_ms']:.1f} ms** median wall time for "
        f"{SEEDS} seeds on CPU ({goal['fast_thread_cpu_ms']:.1f} ms of CPU time on its one thread) — goal ≤ {GOAL_MS:.0f} ms: "
        f"**{'met' if goal['met'] else 'not met'}** on wall time, **{'met' if goal['met_cpu'] else 'not met'}** on CPU time."
        + (f" `quality` (Euler–Maruyama, 256 steps): {goal['quality_median_ms']:.0f} ms, "
           f"{goal['quality_over_fast']:.0f}× the `fast` preset." if goal["quality_median_ms"] else ""),
        "",
        "The machine is shared (other processes run at the same time, see `load_average`): absolute wall "
        "times are inflated and noisy; the thread CPU time (one intra-op thread) and the fractions of the "
        "roof measured in the same run are the comparable numbers.",
    ]
    end = payload.get('load_average_end', payload['load_average_start'])
    lines.insert(3, f"Load average (1 min) at start / end: {payload['load_average_start'][0]:.1f} / {end[0]:.1f} on {payload['machine']['cpus']} CPUs.")
    lines.insert(4, "")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="fewer cases (smoke run)")
    parser.add_argument("--render", action="store_true", help="only re-render results/sampler_speed.md from the JSON")
    args = parser.parse_args()
    if args.render:
        import json

        from _report import RESULTS

        payload = json.loads((RESULTS / "sampler_speed.json").read_text())
        (RESULTS / "sampler_speed.md").write_text(render(payload).rstrip() + "\n")
        return

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    import os

    payload: dict = {"machine": machine(), "load_average_start": os.getloadavg(), "config": {
        "dim": DIM, "width": WIDTH, "depth": DEPTH, "seeds": SEEDS, "guidance": GUIDANCE,
        "parameters": count_parameters(build_prior("cpu").model), "flops_per_row_eval": flops_per_row(),
    }, "roof": {}, "latency": [], "throughput": []}
    for device in devices:
        print(f"[{device}] roof", flush=True)
        payload["roof"][device] = {
            "peak_gflops": matmul_roof(1024, 1024, 1024, device, None) / 1e9,
            "peak_gflops_1_thread": matmul_roof(1024, 1024, 1024, device, 1) / 1e9 if device == "cpu" else None,
        }
        weights = build_prior(device)
        print(f"[{device}] latency, 1 query x {SEEDS} seeds, guidance {GUIDANCE}", flush=True)
        sampler = DiffusionSampler(weights, device=device)
        payload["latency"] += latency(sampler, device, args.repeats, args.quick)
        print(f"[{device}] throughput", flush=True)
        batches = [64] if args.quick else [64, 512]
        payload["throughput"] += throughput(sampler, device, batches, max(2, args.repeats // 5))

    print("[cpu] fidelity on an exact Gaussian-mixture prior", flush=True)
    payload["fidelity"] = fidelity()

    fast = PRESETS["fast"]
    fast_cpu = next(
        r for r in payload["latency"]
        if r["device"] == "cpu" and (r["solver"], r["steps"]) == (fast.solver, fast.steps)
    )
    quality = next((r for r in payload["latency"] if r["device"] == "cpu" and r["steps"] == 256), None)
    payload["goal"] = {
        "fast_preset": f"{fast.solver} {fast.steps} steps",
        "fast_median_ms": fast_cpu["median_ms"],
        "goal_ms": GOAL_MS,
        "met": fast_cpu["median_ms"] <= GOAL_MS,
        "fast_thread_cpu_ms": fast_cpu["thread_cpu_median_ms"],
        "met_cpu": fast_cpu["thread_cpu_median_ms"] <= GOAL_MS,
        "quality_median_ms": quality["median_ms"] if quality else None,
        "quality_over_fast": quality["median_ms"] / fast_cpu["median_ms"] if quality else None,
    }

    payload["load_average_end"] = os.getloadavg()
    json_path, md_path = write("sampler_speed", payload, render(payload))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
