"""``genseek plugins``: list registered components and their metadata (no weights are loaded)."""

from __future__ import annotations

import argparse
import json

from ..plugin.registry import KINDS, get_registry


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list registered encoders, samplers, fusers and adapters",
        description="List every registered component with the plugin that provides it and its metadata.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--kind", choices=KINDS, help="only this kind of component")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = get_registry()
    kinds = [args.kind] if args.kind else list(KINDS)
    listing = {
        kind: [
            {"id": r.id, "plugin": r.plugin, "aliases": list(r.aliases), **r.metadata()}
            for r in registry.registrations(kind)
        ]
        for kind in kinds
    }
    if args.json:
        print(json.dumps(listing, indent=2, default=str))
        return 0
    for kind in kinds:
        print(f"{kind}s:")
        for entry in listing[kind]:
            details = ", ".join(
                f"{key}={value}" for key, value in entry.items() if key not in ("id", "plugin", "description", "aliases")
            )
            print(f"  {entry['id']:<14} [{entry['plugin']}] {entry.get('description', '')}")
            if details:
                print(f"  {'':<14} {details}")
        print()
    return 0
