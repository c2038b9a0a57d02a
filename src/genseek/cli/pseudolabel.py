"""``genseek pseudo-label``: training pairs for a catalog that has no text (Noise2Music §3.5)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .migrate import add_connection_arguments, connect

EPILOG = """\
how it works:
  Every point's JOINT_VECTOR (e.g. CLAP audio) is scored against the vocabulary embedded by
  --joint-encoder (e.g. CLAP text). Each point keeps its --top-k best captions and samples
  --per-item of them with probability inversely proportional to how many points have the
  caption in their top-K, which favours specific captions over generic ones. The chosen
  captions, embedded by --query-encoder, become queries; the point's --target-vector the target.

output:
  OUT (.npz, read by `genseek train OUT`), grouped by point id so a validation split never
  cuts a point in two, and OUT with suffix .captions.jsonl: one {"id", "captions", "top_k"}
  line per point, to read what was chosen.

example:
  genseek pseudo-label --path qdrant_data --collection tracks --joint-vector clap \\
      --joint-encoder clap --vocabulary captions.txt --query-encoder e5-small \\
      --target-vector minilm --out pairs.npz
  genseek train pairs.npz --out priors/tracks
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pseudo-label",
        help="make training pairs for a catalog without text by pseudo-labelling it with a caption vocabulary",
        description="Pseudo-label the points of a Qdrant collection with captions from a vocabulary file "
        "(Noise2Music §3.5: top-K captions per item, K' sampled with p ∝ 1/frequency) and write training pairs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_arguments(parser)
    parser.add_argument("--collection", required=True, help="collection holding the catalog")
    parser.add_argument("--vocabulary", required=True, metavar="FILE", help="UTF-8 text file, one caption per line")
    parser.add_argument("--joint-encoder", required=True, metavar="ID",
                        help="registered encoder whose text vectors share a space with --joint-vector (see `genseek plugins`)")
    parser.add_argument("--joint-vector", default=None, metavar="NAME",
                        help="named vector scored against the captions (default: the unnamed vector)")
    parser.add_argument("--query-encoder", default=None, metavar="ID",
                        help="registered encoder that embeds the chosen captions as the prior's queries (default: --joint-encoder)")
    parser.add_argument("--target-vector", default=None, metavar="NAME",
                        help="named vector the prior will generate (default: --joint-vector)")
    parser.add_argument("--top-k", type=int, default=10, help="captions kept per point by score, K (default 10)")
    parser.add_argument("--per-item", type=int, default=3, help="captions sampled per point, K' (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    parser.add_argument("--out", required=True, help="output pair file (.npz)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..plugin.registry import get_registry
    from ..training.pseudolabel import pseudo_label_collection, read_vocabulary

    vocabulary = read_vocabulary(args.vocabulary)
    registry = get_registry()
    joint_encoder = registry.create("encoder", args.joint_encoder)
    query_encoder = None
    if args.query_encoder and args.query_encoder != args.joint_encoder:
        query_encoder = registry.create("encoder", args.query_encoder)
    client = connect(args)
    try:
        result = pseudo_label_collection(
            client, args.collection, vocabulary, joint_encoder=joint_encoder, joint_vector=args.joint_vector,
            query_encoder=query_encoder, target_vector=args.target_vector, top_k=args.top_k, per_item=args.per_item,
            seed=args.seed, progress=not args.no_progress,
        )
    finally:
        client.close()
    out = result.pairs.save(args.out)
    captions_path = out.with_suffix(".captions.jsonl")
    _write_jsonl(captions_path, result.records())
    frequency = result.labels.frequency
    common = ", ".join(f"{vocabulary[i]!r} ({frequency[i]})" for i in frequency.argsort()[::-1][:3])
    used = int((frequency > 0).sum())
    print(f"wrote {out}: {len(result.pairs)} pairs for {len(result.ids)} points "
          f"({result.pairs.query_dim}-d queries → {result.pairs.target_dim}-d targets); "
          f"{used} of {len(vocabulary)} captions in some top-{args.top_k}, most common {common}")
    print(f"wrote {captions_path}: the captions chosen for each point")
    return 0


def _write_jsonl(path: Path, records: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
