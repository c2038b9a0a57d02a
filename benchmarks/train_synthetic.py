"""Synthetic ambiguous catalog: does a diffusion prior + fusion beat regression on one-to-many queries?

World (:func:`genseek.training.synthetic.make_ambiguous_world`): 600 concepts, each mapping to 4
separated modes ("readings", labelled 0–3 = genre) of a 64-d catalog space, 20 items per mode
(48,000 items); queries live in a different 48-d space. 20% of the concepts are held out: every
number below is on queries of concepts never seen in training. Relevant items of a query: the
80 items of its concept.

Trained in one run, same backbone (FiLM MLP width 128, 4 blocks), same data and steps:
``regression`` and ``diffusion``. Compared on held-out queries (one per concept):

* ``direct (oracle)`` — one vector at the mean of the concept's items (the best any single
  vector can do; a perfect regression);
* ``regression`` — the trained regression prior (one seed);
* ``diffusion`` — n seeds ∈ {4, 8, 16} × ω ∈ {0, 1, 2, 4}, RRF; every fuser at n = 8.

Goals (issue #4, mirroring Diff4Steer Tables 1–3): diffusion+fusion R@100 ≥ 1.5× regression,
FMD ≤ 0.5× regression, MISCS ≤ 0.9, higher label entropy H@K.

Run: ``nice python benchmarks/train_synthetic.py [--steps 2500] [--quick] [--recipe paper]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import RESULTS, machine  # noqa: E402

from genseek.plugin.registry import get_registry  # noqa: E402
from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.regression import RegressionSampler  # noqa: E402
from genseek.training import TrainConfig, split_pairs, train  # noqa: E402
from genseek.training.evaluate import EvalSet, diffusion_seeds, evaluate_method, run_evaluation  # noqa: E402
from genseek.training.report import markdown_table  # noqa: E402
from genseek.training.synthetic import make_ambiguous_world  # noqa: E402
from genseek.vectors import l2_normalize  # noqa: E402

FUSERS = ("rrf", "dbsf", "max", "round_robin", "mmr", "centroid")


#: Diffusion training options compared by ``--recipe`` (regression is trained the same in both):
#: TrainConfig's defaults, or Diff4Steer's recipe (log-uniform noise levels, FiLM-only conditioning).
RECIPES: dict[str, dict] = {
    "default": {},
    "paper": {"cond_residual": False, "sigma_distribution": "log_uniform"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--quick", action="store_true", help="small world and few steps (smoke run)")
    parser.add_argument("--work", default="/tmp/genseek-bench-synthetic", help="where weights are written")
    parser.add_argument("--skip-train", action="store_true", help="evaluate the weights already in --work")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                        help="diffusion training options: 'default' (TrainConfig's) or 'paper' (Diff4Steer's "
                        "log-uniform noise levels, FiLM-only conditioning); results of a non-default recipe go "
                        "to train_synthetic-RECIPE.*")
    args = parser.parse_args()
    report = "train_synthetic" if args.recipe == "default" else f"train_synthetic-{args.recipe}"
    torch.set_num_threads(1)
    world_kw = dict(n_concepts=120, items_per_mode=10) if args.quick else {}
    steps = 200 if args.quick else args.steps
    world = make_ambiguous_world(**world_kw)
    pairs = world.training_pairs(per_item=2)
    train_set, val_set = split_pairs(pairs, 0.05, seed=0)
    work = Path(args.work) / args.recipe
    base = dict(width=128, depth=4, noise_embed_dim=64, steps=steps, batch_size=128, lr=1e-3, warmup_steps=100,
                ema_decay=0.995, threads=1, eval_every=max(steps // 6, 1), log_every=20, checkpoint_every=steps)
    runs = {}
    for kind in ("regression", "diffusion"):
        if args.skip_train:
            log = json.loads((work / kind / "training_log.json").read_text())
            summary = log["summary"]
            steps = summary["steps"]
            runs[kind] = {"seconds": summary["seconds"], "steps_per_s": round(steps / summary["seconds"], 2),
                          "final_loss": summary["final_loss"], "parameters": summary["parameters"]}
            continue
        started = time.perf_counter()
        recipe = RECIPES[args.recipe] if kind == "diffusion" else {}
        result = train(TrainConfig(kind=kind, **base, **recipe), train_set, work / kind, val_pairs=val_set, resume=False)
        runs[kind] = {"seconds": round(time.perf_counter() - started, 1), "steps_per_s": round(steps / (time.perf_counter() - started), 2),
                      "final_loss": result.final_loss, "parameters": result.parameters}
        print(kind, runs[kind], flush=True)

    queries, concepts = world.queries(world.test_concepts, seed=7)
    oracle = l2_normalize(np.stack([world.items[world.relevant(c)].mean(0) for c in concepts]))
    data = EvalSet(world.items, queries, concepts, world.item_concept, item_labels=world.item_label, direct=oracle)
    diffusion = DiffusionSampler(str(work / "diffusion"))
    regression = RegressionSampler(str(work / "regression"))
    out = RESULTS / report
    results = run_evaluation(
        data, out, diffusion=diffusion, regression=regression, fusers=("rrf",), n_seeds=(4, 8, 16),
        guidance=(0.0, 1.0, 2.0, 4.0), limit=100, title="Synthetic ambiguous catalog (held-out concepts)",
        training_logs={k: work / k for k in ("regression", "diffusion")},
    )
    rows = results["rows"]
    for row in rows:
        if row["method"] == "direct":
            row["method"] = "direct (oracle mean)"
    # every fuser at n = 8, ω = 1
    registry = get_registry()
    seeds8 = diffusion_seeds(diffusion, data.queries, 8, guidance=1.0)
    fuser_rows = []
    for name in FUSERS:
        values = evaluate_method(data, seeds8, fuser=registry.create("fuser", name), limit=100, candidates=100)
        fuser_rows.append({"method": "diffusion", "fuser": name, "n_seeds": 8, "guidance": 1.0, **values})
    reg = next(r for r in rows if r["method"] == "regression")
    best = max((r for r in rows if r["method"] == "diffusion"), key=lambda r: r["R@100"])
    goals = {
        "R@100 diffusion / regression": best["R@100"] / max(reg["R@100"], 1e-9),
        "FMD diffusion / regression": best["fmd"] / max(reg["fmd"], 1e-9),
        "MISCS diffusion": best["miscs"],
        "H@n diffusion": best.get("H@n"), "H@n regression": reg.get("H@n"),
        "best diffusion row": {k: best[k] for k in ("n_seeds", "guidance", "fuser")},
    }
    passed = {
        "R@100 >= 1.5x regression": goals["R@100 diffusion / regression"] >= 1.5,
        "FMD <= 0.5x regression": goals["FMD diffusion / regression"] <= 0.5,
        "MISCS <= 0.9": goals["MISCS diffusion"] <= 0.9,
        "H@n higher than regression": (best.get("H@n") or 0) > (reg.get("H@n") or 0),
    }
    payload = {"machine": machine(), "recipe": {"name": args.recipe, **RECIPES[args.recipe]}, "world": {"items": len(world.items), "concepts": len(world.concept_queries),
               "held_out_queries": len(queries), "modes": int(world.mode_centres.shape[1]), "target_dim": 64, "query_dim": 48},
               "training": runs, "rows": rows, "fusers_at_n8": fuser_rows, "goals": goals, "passed": passed,
               "plots": results["plots"]}
    (RESULTS / f"{report}.json").write_text(json.dumps(payload, indent=1, default=float) + "\n")
    lines = [
        "# Synthetic ambiguous catalog: diffusion prior vs regression (held-out concepts)", "",
        f"Diffusion recipe: `{args.recipe}` {json.dumps(RECIPES[args.recipe])}. "
        f"Command: `python benchmarks/train_synthetic.py --steps {steps} --recipe {args.recipe}`.", "",
        f"{len(world.items)} items, {payload['world']['concepts']} concepts × 4 modes, {len(queries)} held-out queries "
        f"(concepts never trained on). Same backbone (width 128, 4 blocks), {steps} steps each, one 2-core CPU run "
        "(shared machine: timings are noisy).", "",
        "Training: " + ", ".join(f"{k} {v['seconds']} s ({v['steps_per_s']} steps/s, final loss {v['final_loss']:.4f})" for k, v in runs.items()), "",
        "## Goals", "", *[f"- {k}: **{'met' if v else 'NOT met'}**" for k, v in passed.items()], "",
        "```", json.dumps(goals, indent=1, default=float), "```", "",
        "## Sweep (RRF)", "", markdown_table(rows), "",
        "## Every fuser (n = 8, ω = 1)", "", markdown_table(fuser_rows), "",
        *[f"![{p}]({report}/{p})" for p in results["plots"]],
    ]
    (RESULTS / f"{report}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
