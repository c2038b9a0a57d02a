"""The MusicCaps priors shipped with genseek: e5-small (the demo's) or MiniLM queries → MiniLM captions.

The two shipped priors are produced by::

    python -m genseek.training.musiccaps_prior --out src/genseek/data/priors/musiccaps-e5-minilm --query-encoder e5-small --singles 0
    python -m genseek.training.musiccaps_prior --out src/genseek/data/priors/musiccaps-minilm --query-encoder minilm --singles 3

which read the shipped MusicCaps catalog embeddings (MiniLM, :mod:`.musiccaps_embeddings`), embed
aspect-subset queries of the training clips (the benchmark's by-clip split, seed 0) with the chosen
query encoder, train a diffusion prior with :data:`SHIPPED_CONFIG` and write ``config.json`` +
``model.safetensors``; :func:`write_model_card` adds the model card. When the demo's shipped
weights are missing, :func:`demo_prior` trains a small one (:data:`DEMO_CONFIG`, 2 queries per
clip, 1,000 steps) once into the cache directory.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from .config import TrainConfig
from .textembed import cache_dir

#: Training recipe of the demo/benchmark prior (CPU-sized).
DEMO_CONFIG = TrainConfig(
    width=192, depth=4, noise_embed_dim=64, steps=4000, batch_size=128, lr=1e-3, warmup_steps=100,
    ema_decay=0.998, cond_dropout=0.1, guidance=1.0, seed=0, threads=1, checkpoint_every=500, eval_every=500,
    query_encoder="e5-small", target_encoder="minilm",
)
SHIPPED = "musiccaps-e5-minilm"
#: The joint prior (MiniLM queries -> MiniLM captions), shipped beside the e5-small one.
SHIPPED_JOINT = "musiccaps-minilm"

#: Recipe of the shipped priors (both settings): a direct conditioning path, EDM's log-normal noise
#: levels around σ_data, 6 blocks of width 384 (~4.4M parameters), single-aspect queries added to
#: the aspect-subset queries. Chosen by the ablations recorded in benchmarks/results/quality.md.
SHIPPED_CONFIG = DEMO_CONFIG.model_copy(update={
    "width": 384, "depth": 6, "steps": 10000, "lr": 5e-4, "cond_residual": True, "sigma_distribution": "log_normal",
    "guidance": 4.0, "eval_every": 1000, "checkpoint_every": 1000,
})
#: Query encoder of each setting: (textembed name, registered encoder id recorded with the weights).
QUERY_ENCODERS = {"e5-small": ("e5-small", "e5-small"), "minilm": ("minilm", "hf-text")}


def shipped_prior_path() -> Path:
    """Where the shipped demo prior lives inside the installed package."""
    return Path(str(resources.files("genseek") / "data" / "priors" / SHIPPED))


def train_musiccaps_prior(out: str | Path, *, config: TrainConfig = DEMO_CONFIG, per_clip: int = 4,
                          progress: bool = True, kind: str = "diffusion", query_encoder: str = "e5-small",
                          singles: int = 0) -> Path:
    """Train a MusicCaps prior (or, with ``kind="regression"``, its baseline) into ``out``.

    ``query_encoder``: ``"e5-small"`` (non-joint: multilingual queries bridged into MiniLM's space)
    or ``"minilm"`` (joint: the catalog's own encoder). ``singles``: single-aspect queries per clip
    added to the ``per_clip`` aspect-subset queries.
    """
    from .musiccaps_data import load_musiccaps_data
    from .pairs import split_pairs
    from .trainer import train

    embed_name, encoder_id = QUERY_ENCODERS[query_encoder]
    data = load_musiccaps_data(progress=progress)
    pairs = data.train_pairs(per_clip=per_clip, progress=progress, query_encoder=embed_name, singles=singles)
    train_set, val_set = split_pairs(pairs, 0.05, seed=config.seed)
    config = config.model_copy(update={"query_encoder": encoder_id})
    if kind != config.kind:
        config = config.model_copy(update={"kind": kind, "cond_dropout": 0.0 if kind == "regression" else config.cond_dropout})
    summary = {"data": f"MusicCaps (bundled CSV): aspect subsets ({query_encoder}) -> captions (all-MiniLM-L6-v2), "
                       f"{len(data.train_clips)} training clips, split seed 0, {per_clip} aspect-subset and "
                       f"{singles} single-aspect queries per clip"}
    train(config.model_copy(update={"progress": progress}), train_set, out, val_pairs=val_set, extra_summary=summary)
    return Path(out)


def demo_prior(*, progress: bool = True) -> Path:
    """The demo prior's weights directory: the shipped one, else a cached one trained on first use."""
    shipped = shipped_prior_path()
    if (shipped / "model.safetensors").exists():
        return shipped
    cached = cache_dir() / "priors" / SHIPPED
    if not (cached / "model.safetensors").exists():
        print(f"no shipped MusicCaps prior found; training a smaller one into {cached} (first run only, a few minutes)")
        train_musiccaps_prior(cached, config=DEMO_CONFIG.model_copy(update={"steps": 1000}), per_clip=2, progress=progress)
    return cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a MusicCaps prior (e5-small or MiniLM queries -> MiniLM captions).")
    parser.add_argument("--out", required=True, help="output weights directory")
    parser.add_argument("--kind", choices=["diffusion", "regression"], default="diffusion")
    parser.add_argument("--steps", type=int, default=SHIPPED_CONFIG.steps)
    parser.add_argument("--per-clip", type=int, default=4, help="aspect-subset queries per training clip")
    parser.add_argument("--singles", type=int, default=3, help="single-aspect queries per training clip")
    parser.add_argument("--query-encoder", choices=sorted(QUERY_ENCODERS), default="e5-small",
                        help="e5-small (non-joint, multilingual) or minilm (joint: the catalog's own encoder)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    config = SHIPPED_CONFIG.model_copy(update={"steps": args.steps, "threads": args.threads})
    train_musiccaps_prior(args.out, config=config, per_clip=args.per_clip, kind=args.kind,
                          query_encoder=args.query_encoder, singles=args.singles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def write_model_card(weights_dir: str | Path, *, command: str, quality: dict | None = None,
                     contender: str | None = None) -> Path:
    """Write ``README.md`` (a model card) into a prior's weights directory.

    It records the data, the split, the exact training command, the recipe, steps, time and
    parameters from ``config.json``, and — given the JSON written by ``benchmarks/quality.py`` and
    the prior's contender name there — its benchmark numbers beside plain search's.
    """
    import json

    weights_dir = Path(weights_dir)
    config = json.loads((weights_dir / "config.json").read_text())
    training = config.get("training", {})
    denoiser = config["denoiser"]
    lines = [
        f"# {weights_dir.name}", "",
        f"A genseek diffusion prior: {config.get('query_encoder')} query vectors → the all-MiniLM-L6-v2 caption space "
        "of the bundled MusicCaps catalog (Diff4Steer's EDM prior, FiLM residual MLP).", "",
        "## Training", "",
        f"- data: {training.get('data', 'MusicCaps')}; by-clip split (seed 0): held-out clips are never targets;",
        f"- command: `{command}`;",
        f"- recipe: width {denoiser['width']} × {denoiser['depth']} blocks, direct conditioning path "
        f"{'on' if denoiser.get('cond_residual') else 'off'}, noise levels {training.get('sigma_distribution', 'log_uniform')}, "
        f"batch {training.get('batch_size')}, lr {training.get('lr')}, condition dropout {config.get('cfg_dropout')}, "
        f"default guidance ω={training.get('guidance')};",
        f"- {training.get('steps')} steps on {training.get('pairs')} pairs in {training.get('seconds')} s "
        f"({training.get('device')}), {training.get('parameters', 0) / 1e6:.2f}M parameters; "
        f"final training loss {training.get('final_loss', 0):.4f}, validation loss {training.get('val_loss') or 0:.4f}.",
    ]
    bands = training.get("loss_by_noise_band", {}).get("validation")
    if bands:
        lines += ["", "Validation loss by noise level (σ/σ_data): "
                  + ", ".join(f"{b['band']}: {b['loss']:.3f}" for b in bands)]
    if quality and contender:
        lines += ["", "## Quality benchmark (`python benchmarks/quality.py`, test queries, AudioSet-label relevance)", "",
                  "| query set | plain P@10 | prior P@10 | prior + anchor P@10 | plain R@100 | prior + anchor R@100 | condition gap | own-of-10 |",
                  "|---|---|---|---|---|---|---|---|"]
        for key, rows in quality["results"].items():
            if contender not in rows or "plain" not in rows:
                continue
            plain, alone, anchored = rows["plain"], rows[contender], rows.get(f"{contender} + anchor", {})
            lines.append(
                f"| {key} | {plain['P@10']:.3f} | {alone['P@10']:.3f} | {anchored.get('P@10', float('nan')):.3f} | "
                f"{plain['R@100']:.3f} | {anchored.get('R@100', float('nan')):.3f} | "
                f"{alone.get('cond_gap', float('nan')):.3f} | {alone.get('own_of_k', float('nan')):.2f} |")
    lines += ["", "Licence of the training data: MusicCaps, CC BY-SA 4.0 (Google LLC).", ""]
    path = weights_dir / "README.md"
    path.write_text("\n".join(lines))
    return path
