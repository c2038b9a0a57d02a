"""A side-by-side evaluation on the user's own collection: a queries file, optional TREC qrels.

**Queries file** (UTF-8, one query per line; blank lines are skipped): a line is either the query
alone — its id is then its 1-based line number in the file, blank lines counted, as an editor
numbers them — or ``qid<TAB>query`` with an explicit id. Ids must be unique.

**Qrels** (TREC format, whitespace-separated): ``qid 0 docid rel`` per line, ``docid`` a point id
as Qdrant returns it (an integer or a UUID, compared as text, case-insensitively) and ``rel`` an
integer; ``rel >= 1`` is relevant (grades count as relevant/not relevant, as in the quality
benchmark). Every qid must be a query of the queries file. Queries without a relevant document
are left out of the relevance means (and counted as not judged).

Both searches run every query ``depth`` deep (at least 100, for R@100). With qrels the relevance
measures are the quality benchmark's — P@10, nDCG@10, R@100 computed by ir-measures through
:func:`genseek.training.ireval.evaluate_rankings` (``pip install 'genseek[train]'``). With or
without qrels the report has, for ``k`` = the comparison's ``limit``:

* ``overlap@k`` — the share of genseek's top k that is also in plain search's top k;
* ``new@k`` — the share of genseek's top k that plain search did not find at all (not in its top ``depth``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .core import Comparison

#: Ranking depth of the evaluation's searches (R@100 needs 100 results).
DEFAULT_DEPTH = 100


@dataclass(frozen=True)
class QueryLine:
    """One query of a queries file: its id (line number or explicit) and its text."""

    qid: str
    text: str


def _read_lines(path: str | Path, what: str) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist (or is not a file)")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_queries(path: str | Path) -> list[QueryLine]:
    """The queries of ``path`` (format in the module docstring).

    Raises:
        ConfigError: the file is missing, not UTF-8, holds no query, a ``qid<TAB>query`` line has
            an empty id or query, or two queries share an id (naming both lines).
    """
    queries: list[QueryLine] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(_read_lines(path, "queries file"), 1):
        if not line.strip():
            continue
        if "\t" in line:
            qid, text = (part.strip() for part in line.split("\t", 1))
            if not qid or not text:
                raise ConfigError(f"queries file {str(path)!r} line {number}: 'qid<TAB>query' needs both parts, "
                                  f"got {line!r}")
        else:
            qid, text = str(number), line.strip()
        if qid in seen:
            raise ConfigError(f"queries file {str(path)!r}: lines {seen[qid]} and {number} both have query id {qid!r}; "
                              "query ids must be unique")
        seen[qid] = number
        queries.append(QueryLine(qid, text))
    if not queries:
        raise ConfigError(f"queries file {str(path)!r} holds no query; write one query per line")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{qid: {docid: rel}}`` from a TREC qrels file (docids lower-cased; format in the module docstring).

    Raises:
        ConfigError: the file is missing or not UTF-8, a line does not have the four fields
            ``qid 0 docid rel`` or its ``rel`` is not an integer (naming the line), or it holds no judgement.
    """
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(_read_lines(path, "qrels file"), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise ConfigError(f"qrels file {str(path)!r} line {number}: expected 'qid 0 docid rel' (4 fields), "
                              f"got {line.strip()!r}")
        qid, _, docid, rel = fields
        try:
            grade = int(rel)
        except ValueError:
            raise ConfigError(f"qrels file {str(path)!r} line {number}: relevance {rel!r} is not an integer") from None
        qrels.setdefault(qid, {})[docid.lower()] = grade
    if not qrels:
        raise ConfigError(f"qrels file {str(path)!r} holds no judgement; write 'qid 0 docid rel' lines")
    return qrels


def _doc(point_id: Any) -> str:
    return str(point_id).lower()


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def evaluate_queries(
    comparison: Comparison,
    queries: Sequence[QueryLine],
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    *,
    depth: int = DEFAULT_DEPTH,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every query through both searches of ``comparison`` and report (see the module docstring).

    Returns JSON-ready data: ``queries``, ``k`` (the comparison's ``limit``), ``depth``,
    ``overlap@k`` and ``new@k`` (means over queries with results), ``relevance`` (``None``
    without qrels; else ``judged`` — queries with a relevant document — and ``measures``:
    ``{"P@10": {"plain": x, "genseek": y}, …}``) and ``per_query`` (id, query, both top-k id
    lists, overlap, new and, for judged queries, each measure).

    Raises:
        ConfigError: ``qrels`` name query ids the queries do not have.
        MissingDependencyError: qrels were given and ir-measures is not installed.
    """
    from tqdm.auto import tqdm

    ids = {q.qid for q in queries}
    if qrels is not None:
        unknown = sorted(set(qrels) - ids)
        if unknown:
            raise ConfigError(
                f"the qrels judge query ids the queries file does not have: {', '.join(map(repr, unknown[:5]))}"
                f"{' …' if len(unknown) > 5 else ''}; a query's id is its 1-based line number, or the text before "
                "the tab of a 'qid<TAB>query' line"
            )
    k = comparison.limit
    depth = max(int(depth), k)
    if qrels is not None and depth < DEFAULT_DEPTH:
        raise ConfigError(
            f"relevance measures include R@{DEFAULT_DEPTH}, which needs rankings {DEFAULT_DEPTH} deep; "
            f"got depth {depth}: use --depth {DEFAULT_DEPTH} or more"
        )
    rows: list[dict[str, Any]] = []
    rankings: dict[str, dict[str, list[str]]] = {"plain": {}, "genseek": {}}
    for query in tqdm(queries, desc="genseek compare", unit="query", disable=not progress, leave=False):
        qc = comparison.run(query.text, depth=depth)
        plain_all = [_doc(p.id) for p in qc.plain.points]
        genseek_all = [_doc(p.id) for p in qc.generative.points]
        plain_k, genseek_k = plain_all[:k], genseek_all[:k]
        overlap = len(set(genseek_k) & set(plain_k)) / len(genseek_k) if genseek_k else None
        new = len(set(genseek_k) - set(plain_all)) / len(genseek_k) if genseek_k else None
        rankings["plain"][query.qid], rankings["genseek"][query.qid] = plain_all, genseek_all
        rows.append({"qid": query.qid, "query": query.text, "plain": [p.id for p in qc.plain_points],
                     "genseek": [p.id for p in qc.generative_points], f"overlap@{k}": overlap, f"new@{k}": new})
    report: dict[str, Any] = {
        "queries": len(queries), "k": k, "depth": depth,
        f"overlap@{k}": _mean([r[f"overlap@{k}"] for r in rows]),
        f"new@{k}": _mean([r[f"new@{k}"] for r in rows]),
        "relevance": None if qrels is None else _relevance(queries, qrels, rankings, rows),
        "per_query": rows,
    }
    return report


def _relevance(queries: Sequence[QueryLine], qrels: Mapping[str, Mapping[str, int]],
               rankings: dict[str, dict[str, list[str]]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    from ..training.ireval import evaluate_rankings
    from ..training.relevance import Query, QuerySet

    judged = []
    for query in queries:
        relevant = frozenset(doc for doc, rel in qrels.get(query.qid, {}).items() if rel >= 1)
        if relevant:
            judged.append(Query(query.qid, query.text, relevant))  # type: ignore[arg-type]  # docids as text
    measures: dict[str, dict[str, float | None]] = {}
    if judged:
        query_set = QuerySet("genseek compare", tuple(judged))
        by_system = {}
        for system, ranked in rankings.items():
            by_system[system] = evaluate_rankings(
                query_set, {q.qid: ranked[q.qid] for q in judged}, per_query=True
            )
        names = [name for name in by_system["plain"] if name != "per_query"]
        measures = {name: {s: by_system[s][name] for s in by_system} for name in names}
        for row in rows:
            for name in names:
                values = {s: by_system[s]["per_query"][name].get(row["qid"]) for s in by_system}
                if values["plain"] is not None:
                    row[name] = values
    return {"judged": len(judged), "measures": measures}


def evaluation_lines(report: Mapping[str, Any], *, queries_file: str = "", qrels_file: str | None = None) -> list[str]:
    """The report of :func:`evaluate_queries` as a small table: measure, plain, genseek, Δ."""
    k, depth = report["k"], report["depth"]
    source = f" from {queries_file}" if queries_file else ""
    lines = [f"{report['queries']} queries{source}; both searches {depth} deep, top {k} compared"]
    relevance = report["relevance"]
    if relevance is not None:
        lines.append(f"relevance from {qrels_file or 'the qrels'}: {relevance['judged']} of {report['queries']} "
                     "queries judged (the others have no relevant document there)")
        if relevance["measures"]:
            lines.append(f"  {'measure':<10} {'plain':>8} {'genseek':>8} {'Δ':>8}")
            for name, values in relevance["measures"].items():
                plain, genseek = values["plain"], values["genseek"]
                lines.append(f"  {name:<10} {plain:>8.3f} {genseek:>8.3f} {genseek - plain:>+8.3f}")
    overlap, new = report[f"overlap@{k}"], report[f"new@{k}"]
    fmt = (lambda v: "n/a" if v is None else f"{v:.3f}")  # noqa: E731
    lines.append(f"  overlap@{k}: {fmt(overlap)} — share of genseek's top {k} also in plain search's top {k}")
    lines.append(f"  new@{k}: {fmt(new)} — share of genseek's top {k} that plain search did not find (top {depth})")
    if relevance is None:
        lines.append("relevance (P@10, nDCG@10, R@100) needs judgements: pass --qrels FILE "
                     "(TREC format 'qid 0 docid rel'; qid = the query's line number or its 'qid<TAB>query' id)")
    return lines


__all__ = ["DEFAULT_DEPTH", "QueryLine", "evaluate_queries", "evaluation_lines", "read_qrels", "read_queries"]
