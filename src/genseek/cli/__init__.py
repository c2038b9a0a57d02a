"""The ``genseek`` command line.

Each sub-command lives in its own module of this package and exposes
``add_parser(subparsers) -> None``, which adds an ``argparse`` sub-parser whose ``func`` default
is called with the parsed arguments and returns an exit code. Add a module to ``COMMANDS`` to
add a command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import GenseekError

#: Sub-command modules, in the order ``genseek --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "genseek.cli.plugins",
    "genseek.cli.demo",
    "genseek.cli.compare",
    "genseek.cli.pseudolabel",
    "genseek.cli.train",
    "genseek.cli.eval",
    "genseek.cli.tenant",
    "genseek.cli.migrate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genseek",
        description="Generative search for Qdrant: a prior turns one query into several seed vectors, "
        "searched and fused in one request.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GenseekError as exc:
        print(f"genseek: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("genseek: interrupted", file=sys.stderr)
        return 130
