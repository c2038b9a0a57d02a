"""``genseek eval``: evaluate priors on held-out queries; JSON, markdown and PNG plots."""

from __future__ import annotations

import argparse

EPILOG = """\
evaluation data (--data, .npz):
  'catalog' (N, d) catalog vectors, 'queries' (Q, d_q) held-out queries in the prior's query
  space, 'query_group' (Q,) and 'item_group' (N,): item i is relevant to query j when their
  groups are equal. Optional: 'item_labels' (N,) for genre entropy H@K, 'direct' (Q, d) the
  query embedded directly in the catalog space (the "teacher" baseline; also fused with seeds).
  genseek.training.evaluate.EvalSet(...).save(path) writes this file.

output (--out): evaluation.json, evaluation.md, fmd_miscs_vs_guidance.png,
  recall_vs_guidance.png, loss.png (when training logs are found next to the weights).

example:
  genseek eval --data heldout.npz --diffusion priors/music --regression priors/music-regression \\
      --guidance 0,1,2,4,8 --n-seeds 4,8 --fusers rrf,dbsf --out eval/music
"""


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate trained priors (R@K, MedR, MISCS, FMD, Vendi, H@K, guidance sweep, plots)",
        description="Compare the direct query, the regression baseline and diffusion seeds (each fuser, several "
        "guidance strengths and seed counts) on held-out queries with known relevance (Diff4Steer appendix B).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="evaluation .npz (see below)")
    parser.add_argument("--out", required=True, help="output directory for JSON, markdown and plots")
    parser.add_argument("--diffusion", help="weights directory of a diffusion prior")
    parser.add_argument("--regression", help="weights directory of a regression prior")
    parser.add_argument("--pairs", help="the prior's training pairs (.npz/.parquet/directory): adds the non-parametric "
                        "baseline (the targets of the nearest training queries) that a prior has to beat")
    parser.add_argument("--guidance", type=_floats, default=[0.0, 1.0, 2.0, 4.0], help="comma-separated ω values (default 0,1,2,4)")
    parser.add_argument("--n-seeds", type=_ints, default=[8], help="comma-separated seed counts (default 8)")
    parser.add_argument("--fusers", default="rrf", help="comma-separated fuser ids (default rrf; see `genseek plugins`)")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the sampler's fast preset)")
    parser.add_argument("--limit", type=int, default=100, help="ranking depth (default 100, for R@100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--title", default="genseek evaluation", help="title of the markdown report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import ConfigError
    from ..samplers.diffusion import DiffusionSampler
    from ..samplers.regression import RegressionSampler
    from ..training.baselines import NearestPairsSampler
    from ..training.evaluate import EvalSet, run_evaluation
    from ..training.pairs import load_pairs
    from ..training.report import markdown_table

    if not args.diffusion and not args.regression:
        raise ConfigError("give --diffusion and/or --regression weights to evaluate")
    data = EvalSet.load(args.data)
    logs = {}
    for label, path in (("diffusion", args.diffusion), ("regression", args.regression)):
        if path and (Path(path) / "training_log.json").exists():
            logs[label] = Path(path)
    results = run_evaluation(
        data, args.out,
        diffusion=DiffusionSampler(args.diffusion) if args.diffusion else None,
        regression=RegressionSampler(args.regression) if args.regression else None,
        nearest_pairs=NearestPairsSampler(load_pairs(args.pairs)) if args.pairs else None,
        fusers=[f.strip() for f in args.fusers.split(",") if f.strip()],
        n_seeds=args.n_seeds, guidance=args.guidance, steps=args.steps, limit=args.limit, seed=args.seed,
        title=args.title, training_logs=logs or None,
    )
    print(markdown_table(results["rows"]))
    print(f"\nwrote {args.out}/evaluation.json, evaluation.md and {len(results['plots'])} plot(s)")
    return 0
