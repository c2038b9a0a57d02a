"""Plain search beside generative search on any existing collection ("does it help on my data?").

* :mod:`.core` — :class:`Comparison` (both searches over one collection, checked before anything
  is searched) and :class:`QueryComparison` (one query's two lists, the genseek-only results and
  the seed or anchor that found each, as JSON with :meth:`QueryComparison.as_dict`);
* :mod:`.table` — the side-by-side text table ``genseek compare`` prints;
* :mod:`.evaluate` — a queries file (and optional TREC qrels) run through both searches:
  P@10, nDCG@10, R@100 with the quality benchmark's metric code, or overlap and new results;
* :mod:`.plot` — a 2-D map of one query's catalog neighbourhood, seeds and results (matplotlib).

Importing this package imports neither matplotlib nor ir-measures.
"""

from .core import Comparison, QueryComparison, found_by_label, resolve_prior
from .evaluate import QueryLine, evaluate_queries, read_qrels, read_queries

__all__ = [
    "Comparison",
    "QueryComparison",
    "QueryLine",
    "evaluate_queries",
    "found_by_label",
    "read_qrels",
    "read_queries",
    "resolve_prior",
]
