"""Markdown summary of an evaluation (``evaluation.md``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

COLUMNS = ("method", "fuser", "n_seeds", "guidance", "R@1", "R@5", "R@10", "R@100", "median_rank",
           "triplet_accuracy", "miscs", "fmd", "vendi", "H@n", "cond_gap", "own_of_k", "cond_sensitive")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    """Rows as a GitHub markdown table, keeping only columns that some row has."""
    cols = [c for c in columns if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any], path: Path, *, notes: str = "") -> Path:
    """Write a summary: setup line, the metrics table, plots and free notes."""
    parts = [f"# {results.get('title', 'evaluation')}", "",
             f"{results['queries']} held-out queries, catalog of {results['catalog']} items, "
             f"rankings cut at {results['limit']}. R@K: relevant items in the top K / relevant items; "
             "MISCS, FMD, Vendi, H@n as in Diff4Steer appendix B (H@n: label entropy of the nearest items of a query's n seeds). "
             "Condition sensitivity: cond_gap = mean cosine of a query's seeds to its own relevant items minus "
             "to other queries'; own_of_k = how often its own items are nearest among 10 queries (chance 0.1); "
             "a prior that ignores its query scores about 0 and 0.1 (cond_sensitive = false).",
             "", markdown_table(results["rows"]), ""]
    for name in results.get("plots", []):
        parts.append(f"![{name}]({name})")
    if notes:
        parts += ["", notes]
    path.write_text("\n".join(parts) + "\n")
    return path


__all__ = ["markdown_table", "write_markdown"]
