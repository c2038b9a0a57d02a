"""``genseek demo``: generative search over a small MusicCaps catalog in embedded local mode."""

from __future__ import annotations

import argparse

from ..demo import run_demo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run generative search over a small embedded MusicCaps catalog",
        description="Build a MusicCaps caption catalog in Qdrant local mode (in memory), run a few "
        "multi-seed searches and print the results grouped by the seed that found them.",
    )
    parser.add_argument("--items", type=int, default=2000, help="number of MusicCaps clips in the catalog (default 2000)")
    parser.add_argument("--limit", type=int, default=6, help="results per query (default 6)")
    parser.add_argument(
        "--backend",
        choices=("local", "edge"),
        default="local",
        help="where the catalog lives: qdrant-client local mode (default) or Qdrant Edge in a temporary "
        "directory (needs `pip install 'genseek[edge]'`)",
    )
    parser.set_defaults(func=lambda args: run_demo(items=args.items, limit=args.limit, backend=args.backend))
