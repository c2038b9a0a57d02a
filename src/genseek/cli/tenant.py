"""``genseek tenant set|get|list|history|rollback|delete``: per-tenant configuration in Qdrant.

Writes are versioned: ``set`` bases the change on the version it reads (or on
``--expected-version``) and is refused when someone else wrote in between.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from ..errors import ConfigError
from .migrate import add_connection_arguments, connect


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tenant",
        help="manage per-tenant configuration (versioned, with history and rollback)",
        description="Per-tenant search configuration stored in a genseek-owned Qdrant collection.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=text, description=text)
        add_connection_arguments(sub)
        sub.add_argument("--collection", default="genseek_tenants", help="configuration collection (default genseek_tenants)")
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(func=run)
        return sub

    set_ = action("set", "write a tenant's configuration as a new version")
    set_.add_argument("tenant")
    source = set_.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="JSON file with the configuration ('-' for stdin)")
    source.add_argument("--config", metavar="JSON", help="the configuration as a JSON string")
    set_.add_argument("--expected-version", type=int, help="refuse the write unless this is the current version")
    set_.add_argument("--comment", default="", help="why (kept in the history)")

    get = action("get", "print a tenant's configuration")
    get.add_argument("tenant")
    get.add_argument("--version", type=int, help="a past version (default: the current one)")

    action("list", "list configured tenants")

    history = action("history", "list every version of a tenant's configuration")
    history.add_argument("tenant")

    rollback = action("rollback", "write a past version again, as a new version")
    rollback.add_argument("tenant")
    rollback.add_argument("version", type=int, help="the version to restore")
    rollback.add_argument("--expected-version", type=int, help="refuse unless this is the current version")
    rollback.add_argument("--comment", default="", help="why (kept in the history)")

    delete = action("delete", "delete a tenant's configuration (recorded; rollback restores it)")
    delete.add_argument("tenant")
    delete.add_argument("--expected-version", type=int, help="refuse unless this is the current version")


def _read_config(args: argparse.Namespace) -> dict:
    if args.config is not None:
        text, where = args.config, "--config"
    elif args.file == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        path = Path(args.file)
        if not path.is_file():
            raise ConfigError(f"configuration file {args.file!r} does not exist")
        text, where = path.read_text(encoding="utf-8"), args.file
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the configuration in {where} is not valid JSON: {exc}") from None


def _author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return ""


def run(args: argparse.Namespace) -> int:
    from ..tenants import TenantStore

    client = connect(args)
    try:
        store = TenantStore(client, collection=args.collection, max_staleness=0)
        if args.action == "set":
            data = _read_config(args)
            expected = store.current_version(args.tenant) if args.expected_version is None else args.expected_version
            stored = store.put(args.tenant, data, expected_version=expected, author=_author(), comment=args.comment)
            print(json.dumps({"tenant": args.tenant, "version": stored.version}) if args.json
                  else f"tenant {args.tenant!r}: wrote version {stored.version}")
        elif args.action == "get":
            stored = store.version(args.tenant, args.version) if args.version else store.get_versioned(args.tenant)
            print(json.dumps(stored.as_dict() if args.json else stored.as_dict()["config"], indent=2))
        elif args.action == "list":
            tenants = store.tenants()
            if args.json:
                print(json.dumps(tenants))
            else:
                print("\n".join(tenants) if tenants else "no tenants configured")
        elif args.action == "history":
            rows = [s.as_dict() for s in store.history(args.tenant)]
            if not rows:
                raise ConfigError(f"tenant {args.tenant!r} has no history in {args.collection!r}")
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    state = "deleted" if row["deleted"] else "config"
                    print(f"v{row['version']:<4} {row['written_at']}  {state:<7} {row['author'] or '-':<12} {row['comment']}")
        elif args.action == "rollback":
            stored = store.rollback(
                args.tenant, args.version, expected_version=args.expected_version, author=_author(), comment=args.comment
            )
            print(json.dumps({"tenant": args.tenant, "version": stored.version}) if args.json
                  else f"tenant {args.tenant!r}: version {args.version} restored as version {stored.version}")
        elif args.action == "delete":
            expected = store.current_version(args.tenant) if args.expected_version is None else args.expected_version
            stored = store.delete(args.tenant, expected_version=expected, author=_author())
            print(f"tenant {args.tenant!r}: deleted (version {stored.version}; `genseek tenant rollback` restores it)")
        return 0
    finally:
        client.close()
