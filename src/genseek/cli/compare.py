"""``genseek compare``: plain search beside generative search on an existing collection.

The logic lives in :mod:`genseek.compare`; this module parses arguments, opens the collection
(``--path``/``--url`` as ``genseek migrate``, or ``--edge DIR``) and prints.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .migrate import add_connection_arguments, connect

EPILOG = """\
what it prints:
  plain search (the query embedded with --anchor-encoder, the catalog's own encoder; without it
  with --encoder) beside generative search (the query encoded with --encoder, turned into
  --n-seeds seeds by the --prior, plus the anchor when --anchor-encoder is given), each with
  rank, id, the --show payload field and score. + marks results plain search's top --limit does
  not have; "found by" names the seed (or the anchor) that ranked each result highest.

--queries FILE (one query per line; its id is its 1-based line number, or write 'qid<TAB>query')
  runs every query through both searches, 100 deep: overlap@k and new@k (k = --limit), and with
  --qrels FILE (TREC: 'qid 0 docid rel', rel >= 1 relevant) P@10, nDCG@10 and R@100 computed by
  ir-measures, as in the quality benchmark.

--plot map.png draws one query's neighbourhood in 2-D (PCA; UMAP when umap-learn is installed):
  the seeds, the anchor, both result lists coloured by the seed that found them.

example (a collection of MiniLM caption vectors and a prior trained from e5-small queries):
  genseek compare "energetic rock" --path ./qdrant_data --collection musiccaps --vector caption \\
      --encoder e5-small --anchor-encoder hf-text --prior musiccaps-e5-minilm --show caption
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="does generative search help on my data? plain vs genseek side by side, an evaluation, a map",
        description="Search an existing collection both ways — plain nearest-neighbour search and generative "
        "search with a trained prior — and show the results side by side, evaluate a queries file (with optional "
        "TREC qrels), or draw a map of one query.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", nargs="?", help="the query text (or use --queries FILE)")
    parser.add_argument("--queries", metavar="FILE", help="UTF-8 file, one query per line (or 'qid<TAB>query')")
    parser.add_argument("--qrels", metavar="FILE", help="TREC relevance judgements for --queries: 'qid 0 docid rel'")
    add_connection_arguments(parser)
    parser.add_argument("--edge", metavar="DIR", help="a Qdrant Edge catalog directory (instead of --path/--url)")
    parser.add_argument("--collection", help="collection to search (default with --edge: the catalog's name)")
    parser.add_argument("--vector", metavar="NAME", help="named vector to search (default: the only dense vector)")
    parser.add_argument("--encoder", required=True, metavar="ID",
                        help="query encoder of the prior (the encoder it was trained on; see `genseek plugins`)")
    parser.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                        help="option of --encoder (repeatable; VALUE is JSON or text), e.g. device=cpu")
    parser.add_argument("--anchor-encoder", metavar="ID",
                        help="the catalog's own encoder: plain search embeds with it, genseek adds its vector as "
                        "the anchor (default: none; plain search then uses --encoder)")
    parser.add_argument("--anchor-encoder-option", action="append", default=[], metavar="KEY=VALUE",
                        help="option of --anchor-encoder (repeatable), e.g. path=/models/minilm")
    parser.add_argument("--prior", metavar="DIR",
                        help="weights directory of the diffusion prior (`genseek train --out`) "
                        "or a shipped prior's name")
    parser.add_argument("--n-seeds", type=int, default=8, help="seeds per query (default 8)")
    parser.add_argument("--guidance", type=float, default=None, help="guidance strength ω (default: the prior's)")
    parser.add_argument("--limit", type=int, default=10, help="results per list (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampler (default 0)")
    parser.add_argument("--fuser", default="rrf", metavar="ID", help="fuser of the generative lists (default rrf)")
    parser.add_argument("--anchor-weight", type=float, default=None, metavar="W",
                        help="fusion weight of the anchor's list (default: genseek's, 4)")
    parser.add_argument("--show", metavar="FIELD", help="payload field to print for each result, e.g. caption")
    parser.add_argument("--tenant-field", metavar="FIELD",
                        help="payload field holding the tenant (multi-tenant collections)")
    parser.add_argument("--tenant", metavar="VALUE", help="the tenant to search (a string)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--plot", metavar="PNG", help="draw a map of the query (needs matplotlib: genseek[train])")
    parser.add_argument("--projection", choices=("auto", "pca", "umap"), default="auto",
                        help="the map's 2-D projection (default auto: UMAP when umap-learn is installed, else PCA)")
    parser.add_argument("--depth", type=int, default=100,
                        help="--queries: ranking depth of both searches (default 100)")
    parser.add_argument("--width", type=int, default=None, help="line width (default: the terminal's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_options(values: list[str], flag: str) -> dict[str, Any]:
    """``["device=cpu", "batch_size=8"]`` → ``{"device": "cpu", "batch_size": 8}`` (values JSON when they parse)."""
    options: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} takes KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = json.loads(raw)
        except ValueError:
            options[key.strip()] = raw
    return options


def _check_arguments(args: argparse.Namespace) -> None:
    if (args.query is None) == (args.queries is None):
        raise ConfigError("give one query (genseek compare \"QUERY\" …) or a queries file (--queries FILE), not both")
    if args.qrels and not args.queries:
        raise ConfigError("--qrels judges the queries of --queries FILE; pass both")
    if args.plot and args.queries:
        raise ConfigError("--plot maps one query; run it with \"QUERY\" instead of --queries")
    if args.edge and (args.path or args.url):
        raise ConfigError("say where the collection is once: --edge DIR, --path DIR or --url URL")
    if not args.edge and not args.collection:
        raise ConfigError("--collection is required (except with --edge, whose catalog is one collection)")


def _open(args: argparse.Namespace) -> tuple[Any, str]:
    if args.edge:
        from ..adapters.edge_catalog import EdgeCatalog

        catalog = EdgeCatalog.open(args.edge)
        return catalog, args.collection or catalog.name
    return connect(args), args.collection


def run(args: argparse.Namespace) -> int:
    from ..compare import Comparison, resolve_prior
    from ..plugin.registry import get_registry
    from ..search import DEFAULT_ANCHOR_WEIGHT

    _check_arguments(args)
    encoder_options = parse_options(args.encoder_option, "--encoder-option")
    anchor_options = parse_options(args.anchor_encoder_option, "--anchor-encoder-option")
    if anchor_options and not args.anchor_encoder:
        raise ConfigError("--anchor-encoder-option needs --anchor-encoder")
    if args.plot:
        from ..compare.plot import check_dependencies

        check_dependencies(args.projection)
    evaluation = None
    if args.queries:  # bad query or qrels files fail before any model loads
        from ..compare.evaluate import DEFAULT_DEPTH, read_qrels, read_queries

        qrels = read_qrels(args.qrels) if args.qrels else None
        if qrels is not None and args.depth < DEFAULT_DEPTH:
            raise ConfigError(f"--qrels measures R@{DEFAULT_DEPTH}, which needs --depth {DEFAULT_DEPTH} or more (got {args.depth})")
        evaluation = (read_queries(args.queries), qrels)
    weights = resolve_prior(args.prior)
    registry = get_registry()
    encoder = registry.create("encoder", args.encoder, **encoder_options)
    anchor = None if args.anchor_encoder is None else registry.create("encoder", args.anchor_encoder, **anchor_options)
    sampler = registry.create("sampler", "diffusion", weights=str(weights))
    client, collection = _open(args)
    try:
        comparison = Comparison(
            client, collection, encoder=encoder, sampler=sampler, vector_name=args.vector, anchor_encoder=anchor,
            tenant_field=args.tenant_field, tenant=args.tenant, fuser=args.fuser,
            anchor_weight=DEFAULT_ANCHOR_WEIGHT if args.anchor_weight is None else args.anchor_weight,
            n_seeds=args.n_seeds, guidance=args.guidance, limit=args.limit, seed=args.seed, registry=registry,
        )
        settings = comparison.describe(prior=args.prior)
        if evaluation is not None:
            return _run_queries(args, comparison, settings, *evaluation)
        return _run_query(args, comparison, settings)
    finally:
        client.close()


def _width(args: argparse.Namespace) -> int:
    return max(args.width or shutil.get_terminal_size((100, 24)).columns, 40)


def _run_query(args: argparse.Namespace, comparison: Any, settings: dict[str, Any]) -> int:
    from ..compare.core import payload_value
    from ..compare.table import comparison_lines, settings_lines

    qc = comparison.run(args.query)
    notes = []
    if comparison.plain_uses_query_encoder:
        notes.append(f"no anchor encoder given: plain search embeds the query with --encoder {args.encoder!r}")
    points = qc.plain_points + qc.generative_points
    if args.show and points and all(payload_value(p, args.show) is None for p in points):
        notes.append(f"payload field {args.show!r} is in none of the results")
    plot = None
    if args.plot:
        from ..compare.neighbourhood import collect_neighbourhood
        from ..compare.plot import plot_query_map

        hood = collect_neighbourhood(comparison, qc)
        prior = Path(args.prior).name or args.prior
        title = f"genseek compare — {args.query!r}: {args.encoder} → prior {prior}, {comparison.n_seeds} seeds"
        title += f" + anchor ({args.anchor_encoder})" if comparison.anchored else ""
        plot = str(plot_query_map(qc, hood, args.plot, show=args.show, method=args.projection,
                                  distance=comparison.space.distance, title=title))
    if args.json:
        print(json.dumps({"settings": settings, **qc.as_dict(args.show), "notes": notes, "plot": plot},
                         indent=2, ensure_ascii=False, default=str))
        return 0
    width = _width(args)
    print("\n".join(settings_lines(settings, width)))
    print()
    print("\n".join(comparison_lines(qc, show=args.show, width=width)))
    for note in notes[1 if comparison.plain_uses_query_encoder else 0:]:  # the first is in the settings already
        print(f"note: {note}")
    if plot:
        print(f"wrote {plot}")
    return 0


def _run_queries(args: argparse.Namespace, comparison: Any, settings: dict[str, Any], queries: list, qrels: Any) -> int:
    from ..compare.evaluate import evaluate_queries, evaluation_lines
    from ..compare.table import settings_lines, wrap

    report = evaluate_queries(comparison, queries, qrels, depth=args.depth, progress=not args.no_progress)
    if args.json:
        print(json.dumps({"settings": settings, **report}, indent=2, ensure_ascii=False, default=str))
        return 0
    width = _width(args)
    print("\n".join(settings_lines(settings, width)))
    print()
    lines = evaluation_lines(report, queries_file=args.queries, qrels_file=args.qrels)
    print("\n".join(part for line in lines for part in wrap(line, width)))
    return 0
