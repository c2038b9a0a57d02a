"""``genseek train``: train a prior (or the regression baseline) from paired embeddings."""

from __future__ import annotations

import argparse
import os

EPILOG = """\
input pairs:
  PAIRS is an .npz file (arrays 'queries' (n, d_q) or (n, T, d_q), 'targets' (n, d), optional
  'groups'), a Parquet file (list columns 'query', 'target', optional 'group'), or a directory
  of such shards (read one shard / row group at a time with --stream). Or read pairs from a
  Qdrant collection: --collection NAME --text-field caption --encoder hf-text [--qdrant-path DIR |
  --qdrant-url URL] [--vector-name audio]. Catalogs without text: make pairs first with
  `genseek pseudo-label` (see its --help).

output:
  OUT/config.json + OUT/model.safetensors (load with sampler "diffusion" or "regression",
  sampler_options={"weights": OUT}), OUT/training_log.json, OUT/checkpoints/last.pt.
  Rerunning the same command resumes from the checkpoint.

examples:
  genseek train pairs.npz --out priors/music --steps 4000
  genseek train pairs.npz --out priors/music-regression --kind regression
  torchrun --nproc_per_node=4 -m genseek train shards/ --out priors/big --batch-size 4096 --stream
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a diffusion prior (or regression baseline) from (query, target) pairs",
        description="Train the prior's weights with the EDM objective (Diff4Steer appendix A): AdamW with warm-up "
        "and cosine decay, condition dropout for guidance, EMA weights, checkpoints and resume.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pairs", nargs="?", help="pair file (.npz/.parquet) or directory of shards")
    parser.add_argument("--out", required=True, help="output weights directory")
    parser.add_argument("--kind", choices=["diffusion", "regression"], default="diffusion", help="what to train (default diffusion)")
    parser.add_argument("--architecture", choices=["film_mlp", "cross_attention"], default="film_mlp",
                        help="film_mlp for pooled query vectors, cross_attention for token sequences")
    parser.add_argument("--width", type=int, default=512, help="hidden width (default 512)")
    parser.add_argument("--depth", type=int, default=6, help="residual blocks (default 6)")
    parser.add_argument("--steps", type=int, default=4000, help="optimizer steps (default 4000)")
    parser.add_argument("--batch-size", type=int, default=256, help="global batch size (default 256)")
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default 3e-4)")
    parser.add_argument("--warmup-steps", type=int, default=200, help="warm-up steps (default 200)")
    parser.add_argument("--sigma-distribution", choices=["log_normal", "log_uniform"], default="log_normal",
                        help="training noise levels: EDM's log-normal around σ_data (default) or Diff4Steer's log-uniform")
    parser.add_argument("--cond-residual", action=argparse.BooleanOptionalAction, default=None,
                        help="film_mlp: a direct path for the query into the residual stream (default: on for film_mlp)")
    parser.add_argument("--cond-dropout", type=float, default=0.1, help="condition dropout for guidance (default 0.1)")
    parser.add_argument("--ema-decay", type=float, default=0.999, help="EMA decay of saved weights (default 0.999)")
    parser.add_argument("--guidance", type=float, default=None, help="default guidance ω recorded with the weights")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="held-out fraction for validation loss (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    parser.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto", help="mixed precision on GPU")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's; 1 is best on a busy CPU)")
    parser.add_argument("--query-encoder", default=None, help="id of the query encoder (stored in config.json)")
    parser.add_argument("--target-encoder", default=None, help="id of the catalog encoder (stored in config.json)")
    parser.add_argument("--stream", action="store_true", help="stream shards instead of loading all pairs in memory")
    parser.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint and start over")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    qdrant = parser.add_argument_group("pairs from a Qdrant collection")
    qdrant.add_argument("--collection", help="collection holding the catalog")
    qdrant.add_argument("--text-field", default="caption", help="payload field with the text (string or list)")
    qdrant.add_argument("--vector-name", default=None, help="named vector holding the targets")
    qdrant.add_argument("--encoder", help="registered encoder id that embeds the text (see `genseek plugins`)")
    qdrant.add_argument("--qdrant-path", help="local-mode storage directory")
    qdrant.add_argument("--qdrant-url", help="Qdrant server URL")
    parser.set_defaults(func=run)


def _load(args: argparse.Namespace):
    from ..errors import ConfigError
    from ..training.pairs import PairStream, load_pairs, pairs_from_qdrant

    if args.collection:
        if not args.encoder:
            raise ConfigError("--collection needs --encoder, the registered encoder that embeds --text-field")
        from qdrant_client import QdrantClient

        client = QdrantClient(url=args.qdrant_url) if args.qdrant_url else QdrantClient(path=args.qdrant_path or ":memory:")
        return pairs_from_qdrant(client, args.collection, text_field=args.text_field, encoder=args.encoder,
                                 vector_name=args.vector_name)
    if not args.pairs:
        raise ConfigError("give a PAIRS file or directory, or --collection with --encoder (see `genseek train --help`)")
    return PairStream(args.pairs) if args.stream else load_pairs(args.pairs)


def run(args: argparse.Namespace) -> int:
    from ..training.config import TrainConfig
    from ..training.pairs import PairSet, split_pairs
    from ..training.trainer import train

    config = TrainConfig(
        kind=args.kind, architecture=args.architecture, width=args.width, depth=args.depth, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, warmup_steps=min(args.warmup_steps, args.steps),
        cond_dropout=args.cond_dropout if args.kind == "diffusion" else 0.0, ema_decay=args.ema_decay,
        sigma_distribution=args.sigma_distribution, cond_residual=args.cond_residual,
        guidance=args.guidance, seed=args.seed, device=args.device, amp=args.amp, threads=args.threads,
        query_encoder=args.query_encoder, target_encoder=args.target_encoder, progress=not args.no_progress,
    )
    pairs = _load(args)
    val = None
    if isinstance(pairs, PairSet) and args.val_fraction > 0 and len(pairs) >= 20:
        pairs, val = split_pairs(pairs, args.val_fraction, seed=args.seed)
    result = train(config, pairs, args.out, val_pairs=val, resume=not args.no_resume)
    if os.environ.get("RANK", "0") != "0":  # torchrun: only the first process reports
        return 0
    print(f"wrote {args.out}: {result.steps} steps, final loss {result.final_loss:.4f}"
          + (f", validation loss {result.validation[-1]['val_loss']:.4f}" if result.validation else "")
          + f", {result.steps_per_second:.1f} steps/s, {result.parameters / 1e6:.2f}M parameters")
    return 0
