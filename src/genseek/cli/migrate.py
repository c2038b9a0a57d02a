"""``genseek migrate status|plan|apply|rollback PLAN``: collection migrations from a plan file.

Connects to a local-mode directory (``--path``) or a server (``--url``; the API key is read from
the environment variable named by ``--api-key-env``, never from the command line). Local mode
allows one process per path: stop the app (or use a server) while migrating.

``apply``/``rollback`` hold the target's migration lock; a run whose lock is taken over stops with
a message saying who took it, and ``apply`` again resumes (see :mod:`genseek.migrations.lock`).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..errors import ConfigError


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--path`` / ``--url`` / ``--api-key-env``, shared with ``genseek tenant``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--path", help="Qdrant local-mode directory (one process per path)")
    where.add_argument("--url", help="Qdrant server URL (default: $QDRANT_URL)")
    parser.add_argument(
        "--api-key-env",
        default="QDRANT_API_KEY",
        metavar="NAME",
        help="environment variable holding the server API key (default QDRANT_API_KEY; unset = no key)",
    )


def connect(args: argparse.Namespace) -> Any:
    """A ``QdrantClient`` for ``--path`` or ``--url`` (or ``$QDRANT_URL``)."""
    from qdrant_client import QdrantClient

    if args.path:
        return QdrantClient(path=args.path)
    url = args.url or os.environ.get("QDRANT_URL")
    if not url:
        raise ConfigError("say where Qdrant is: --path DIR (local mode) or --url URL (or set QDRANT_URL)")
    return QdrantClient(url=url, api_key=os.environ.get(args.api_key_env) or None)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="apply collection migrations (create, add vectors, indexes, backfills, aliases)",
        description="Run a migration plan (JSON or TOML) against a collection; every step is recorded in a ledger "
        "collection, so apply is idempotent and resumes after a crash.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("status", "show each step's ledger status"),
        ("plan", "dry run: print what apply would do (changes nothing)"),
        ("apply", "run the pending steps (resumes interrupted ones)"),
        ("rollback", "undo the last applied step, or every step after --to"),
    ):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("plan", help="migration plan file (.json or .toml)")
        add_connection_arguments(sub)
        sub.add_argument("--ledger", default="genseek_migrations", help="ledger collection (default genseek_migrations)")
        sub.add_argument("--json", action="store_true", help="print JSON")
        if name == "apply":
            sub.add_argument("--until", metavar="STEP", help="stop after this step")
            sub.add_argument("--dry-run", action="store_true", help="same as `migrate plan`")
            sub.add_argument("--no-progress", action="store_true", help="no progress bars")
        if name in ("apply", "rollback"):
            sub.add_argument("--break-lock", action="store_true",
                             help="take over the lock of a migration that crashed (never while one is running)")
            sub.add_argument("--stale-lock-after", type=float, default=900.0, metavar="SECONDS",
                             help="take over another migration's lock after this long without a heartbeat "
                                  "(default 900; never less than 4 heartbeats of that migration)")
        if name == "rollback":
            sub.add_argument("--to", metavar="STEP", help="undo every applied step after STEP (default: the last one)")
            sub.add_argument("--dry-run", action="store_true", help="print what would be undone")
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..migrations import Migrator, load_plan

    plan = load_plan(args.plan)
    client = connect(args)
    try:
        migrator = Migrator(
            client,
            plan,
            ledger=args.ledger,
            progress=not getattr(args, "no_progress", False),
            break_lock=getattr(args, "break_lock", False),
            stale_lock_after=getattr(args, "stale_lock_after", 900.0),
        )
        if args.action == "status":
            rows = [s.as_dict() for s in migrator.status()]
            if args.json:
                print(json.dumps(rows, indent=2, default=str))
            else:
                print(f"migrations of {plan.collection!r} (ledger {args.ledger!r}):")
                for row in rows:
                    extra = ""
                    if row["checkpoint"]:
                        extra = f"  encoded={row['checkpoint'].get('encoded')} done={row['checkpoint'].get('done')}"
                    if row["error"]:
                        extra += f"  error: {row['error']}"
                    print(f"  {row['status']:<12} {row['name']} ({row['op']}){extra}")
            return 0
        if args.action == "plan" or (args.action == "apply" and args.dry_run):
            steps = migrator.plan()
            if args.json:
                print(json.dumps([vars(s) for s in steps], indent=2))
            else:
                print(f"plan for {plan.collection!r} (dry run, nothing changed):")
                for step in steps:
                    print(f"  {step}")
            return 0
        if args.action == "apply":
            ran = migrator.apply(until=args.until)
            print(json.dumps({"applied": ran}) if args.json else (f"applied: {', '.join(ran)}" if ran else "nothing to apply"))
            return 0
        messages = migrator.rollback(to=args.to, dry_run=args.dry_run)
        if args.json:
            print(json.dumps({"rolled_back": messages}))
        else:
            print("\n".join(messages) if messages else "nothing to roll back")
        return 0
    finally:
        client.close()
