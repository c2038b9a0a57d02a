"""Standard and intent-aware retrieval measures, computed by ir-measures (``pip install 'genseek[train]'``).

genseek does not re-implement IR measures: rankings and judgements are handed to
`ir-measures <https://ir-measur.es>`_, which runs trec_eval (pytrec-eval) for P@k, nDCG@k and R@k
and NTCIR's ndeval (pyndeval) for the intent-aware α-nDCG@k and subtopic recall (intent
coverage@k, "StRecall").

Judgements come from a :class:`~genseek.training.relevance.QuerySet`: binary relevance per clip,
and for queries with intents one judgement per (clip, intent), the intent as the subtopic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidRequestError, MissingDependencyError
from .relevance import QuerySet

#: Measures for every query set, as (report name, ir-measures name).
STANDARD_MEASURES = (("P@10", "P@10"), ("nDCG@10", "nDCG@10"), ("R@100", "R@100"))
#: Measures for query sets with intents.
INTENT_MEASURES = (("alpha-nDCG@10", "alpha_nDCG@10"), ("intent-coverage@10", "StRecall@10"))


def _ir_measures() -> Any:
    try:
        import ir_measures
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError("retrieval measures", "ir-measures[pyndeval]", "train") from exc
    return ir_measures


def _run(ir_measures: Any, rankings: Mapping[str, Sequence[Any]]) -> list[Any]:
    run = []
    for qid, ranked in rankings.items():
        for rank, doc in enumerate(ranked):
            run.append(ir_measures.ScoredDoc(qid, str(doc), float(len(ranked) - rank)))
    return run


def evaluate_rankings(query_set: QuerySet, rankings: Mapping[str, Sequence[Any]], *,
                      per_query: bool = False) -> dict[str, Any]:
    """Mean measures of ``rankings`` (query id → ranked clip ids, best first) on ``query_set``.

    Every query of the set must have a ranking (an empty list counts as retrieving nothing), so
    that no query silently drops out of the means. Intent measures are added when the set's
    queries have intents. With ``per_query=True`` the result also has ``"per_query"``: measure
    → {query id: value}.
    """
    ir_measures = _ir_measures()
    missing = [q.qid for q in query_set.queries if q.qid not in rankings]
    if missing:
        raise InvalidRequestError(f"no ranking for {len(missing)} queries of {query_set.name!r} (e.g. {missing[0]!r})")
    extra = sorted(set(rankings) - {q.qid for q in query_set.queries})
    if extra:
        raise InvalidRequestError(f"rankings for queries not in {query_set.name!r}: {extra[:3]}")
    # trec_eval leaves queries with an empty run out of its means: pad them with a judged-irrelevant id
    padded = {qid: (list(ranked) if len(ranked) else ["-1"]) for qid, ranked in rankings.items()}
    run = _run(ir_measures, padded)
    qrels = [ir_measures.Qrel(q.qid, str(doc), 1) for q in query_set.queries for doc in sorted(q.relevant)]
    jobs = [(STANDARD_MEASURES, qrels)]
    if query_set.queries and all(q.intents for q in query_set.queries):
        intent_qrels = [
            ir_measures.Qrel(q.qid, str(doc), 1, intent)
            for q in query_set.queries for intent, docs in sorted(q.intents.items()) for doc in sorted(docs)
        ]
        jobs.append((INTENT_MEASURES, intent_qrels))
    out: dict[str, Any] = {}
    values: dict[str, dict[str, float]] = {}
    for measures, judgements in jobs:
        parsed = {ir_measures.parse_measure(name): report for report, name in measures}
        for metric in ir_measures.iter_calc(list(parsed), judgements, run):
            values.setdefault(parsed[metric.measure], {})[metric.query_id] = float(metric.value)
    for report, per in values.items():
        if len(per) != len(query_set):
            raise InvalidRequestError(f"{report}: ir-measures scored {len(per)} of {len(query_set)} queries")
        out[report] = sum(per.values()) / len(per)
    if per_query:
        out["per_query"] = values
    return out


__all__ = ["INTENT_MEASURES", "STANDARD_MEASURES", "evaluate_rankings"]
