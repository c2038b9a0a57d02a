"""Evaluation of priors: retrieval, seed quality and diversity, guidance sweeps (Diff4Steer §4, app. B).

An :class:`EvalSet` holds a catalog, held-out queries and relevance (items whose ``item_group``
equals the query's ``query_group``). :func:`evaluate_method` turns each query into seeds (a
sampler, or the direct query), retrieves each seed's exact top candidates from the catalog
(cosine), fuses them with a registered fuser on the client (same code as a search) and reports
R@K, median rank, triplet accuracy, MISCS, FMD, Vendi and — with item labels — H@K of the
seeds' nearest items (Diff4Steer Table 3).

:func:`run_evaluation` compares direct / regression / diffusion (each fuser, several ω and
n_seeds) and writes ``evaluation.json``, ``evaluation.md`` and PNG plots (see :mod:`.plots`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client.http import models

from ..fusers.base import FusionContext, Fuser, weighted_centroid
from ..vectors import as_matrix, l2_normalize
from . import metrics
from .diagnostics import condition_sensitivity
from .pairs import TrainingDataError

RECALL_KS = (1, 5, 10, 100)
#: Queries each query's own relevant items are compared with in the condition-sensitivity check.
SENSITIVITY_K = 10


@dataclass(frozen=True)
class EvalSet:
    """Catalog + held-out queries with known relevance.

    Attributes:
        catalog: ``(N, d)`` catalog vectors (unit norm is assumed for cosine).
        queries: ``(Q, d_q)`` query vectors as the prior sees them (query encoder space).
        query_group / item_group: relevance — item ``i`` is relevant to query ``j`` iff
            ``item_group[i] == query_group[j]``.
        item_labels: optional ``(N,)`` labels (genre) for H@K.
        direct: optional ``(Q, d)`` the query embedded directly in the catalog space (the teacher).
        texts: optional query texts (for reports).
    """

    catalog: np.ndarray
    queries: np.ndarray
    query_group: np.ndarray
    item_group: np.ndarray
    item_labels: np.ndarray | None = None
    direct: np.ndarray | None = None
    texts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        catalog = as_matrix(self.catalog, name="catalog")
        queries = np.asarray(self.queries, np.float32)
        if queries.ndim not in (2, 3) or len(queries) == 0 or not np.all(np.isfinite(queries)):
            raise TrainingDataError(f"evaluation queries must be a finite non-empty (Q, d_q) array, got shape {queries.shape}")
        if np.shape(self.query_group) != (len(queries),) or np.shape(self.item_group) != (len(catalog),):
            raise TrainingDataError("query_group must have one entry per query and item_group one per catalog item")
        if self.direct is not None:
            as_matrix(self.direct, name="direct queries", dim=catalog.shape[1])
        object.__setattr__(self, "catalog", catalog)
        object.__setattr__(self, "queries", queries)

    @property
    def relevant(self) -> list[np.ndarray]:
        index: dict[Any, list[int]] = {}
        for item, group in enumerate(self.item_group.tolist()):
            index.setdefault(group, []).append(item)
        out = [np.asarray(index.get(g, []), np.int64) for g in self.query_group.tolist()]
        if any(len(r) == 0 for r in out):
            raise TrainingDataError("some evaluation queries have no relevant catalog item; check query_group/item_group")
        return out

    def save(self, path: str | Path) -> Path:
        """Write as ``.npz`` (what ``genseek eval --data`` reads)."""
        arrays = {k: getattr(self, k) for k in ("catalog", "queries", "query_group", "item_group")}
        for key in ("item_labels", "direct"):
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key)
        np.savez(path, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> EvalSet:
        path = Path(path)
        if not path.is_file():
            raise TrainingDataError(f"{path}: no such evaluation file")
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("catalog", "queries", "query_group", "item_group") if k not in data.files]
            if missing:
                raise TrainingDataError(f"{path}: missing array(s) {', '.join(missing)} of an evaluation set")
            return cls(**{k: data[k] for k in data.files if k in cls.__dataclass_fields__})


def top_candidates(catalog: np.ndarray, vectors: np.ndarray, depth: int, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-``depth`` of each row of ``vectors``: ``(ids, scores)``, best first."""
    unit = l2_normalize(np.asarray(vectors, np.float32))
    depth = min(depth, len(catalog))
    ids = np.empty((len(unit), depth), np.int64)
    scores = np.empty((len(unit), depth), np.float32)
    for start in range(0, len(unit), batch):
        sim = unit[start : start + batch] @ catalog.T
        part = np.argpartition(-sim, depth - 1, axis=1)[:, :depth]
        part_scores = np.take_along_axis(sim, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        ids[start : start + batch] = np.take_along_axis(part, order, axis=1)
        scores[start : start + batch] = np.take_along_axis(part_scores, order, axis=1)
    return ids, scores


def fused_rankings(catalog: np.ndarray, seeds: np.ndarray, fuser: Fuser, *, limit: int, candidates: int) -> list[list[int]]:
    """Rank the catalog for each query's seeds ``(Q, n, d)`` with ``fuser`` (client-side, as a search would)."""
    q, n, d = seeds.shape
    if not fuser.client_side:  # centroid: one query at the weighted mean of the seeds
        centroids = np.stack([weighted_centroid(FusionContext(s, np.ones(n, np.float32), limit, candidates)) for s in seeds])
        return top_candidates(catalog, centroids, limit)[0].tolist()
    if n == 1:
        return top_candidates(catalog, seeds[:, 0], limit)[0].tolist()
    ids, scores = top_candidates(catalog, seeds.reshape(q * n, d), candidates)
    ids, scores = ids.reshape(q, n, -1), scores.reshape(q, n, -1)
    out = []
    for j in range(q):
        per_seed = [
            [models.ScoredPoint(id=int(i), version=0, score=float(s),
                                vector=catalog[i].tolist() if fuser.needs_vectors else None)
             for i, s in zip(ids[j, k], scores[j, k])]
            for k in range(n)
        ]
        ctx = FusionContext(seeds[j], np.ones(n, np.float32), limit, candidates)
        out.append([int(p.id) for p in fuser.fuse(per_seed, ctx)])
    return out


def seed_metrics(data: EvalSet, seeds: np.ndarray, *, rng: np.random.Generator) -> dict[str, float]:
    """MISCS, FMD vs the catalog, Vendi per query, triplet accuracy, and ``H@n``.

    ``H@n`` is the label entropy of the nearest catalog items of a query's n seeds (Diff4Steer
    Table 3 with K = n), averaged over queries; 0 for a single seed.
    """
    q, n, d = seeds.shape
    flat = seeds.reshape(q * n, d)
    out: dict[str, float] = {}
    out["miscs"] = float(np.mean([metrics.miscs(s) for s in seeds])) if n > 1 else 1.0
    out["fmd"] = metrics.frechet_distance(flat, data.catalog)
    per_query_vendi = [metrics.vendi_score(s) for s in seeds] if n > 1 else [1.0]
    out["vendi"] = float(np.mean(per_query_vendi))
    relevant = data.relevant
    positives = np.stack([data.catalog[rng.choice(r)] for r in relevant])
    negatives = []
    for j, r in enumerate(relevant):
        while True:
            pick = int(rng.integers(len(data.catalog)))
            if data.item_group[pick] != data.query_group[j]:
                break
        negatives.append(data.catalog[pick])
    out["triplet_accuracy"] = metrics.triplet_accuracy(flat, np.repeat(positives, n, 0), np.repeat(np.stack(negatives), n, 0))
    if data.item_labels is not None:
        nearest = top_candidates(data.catalog, flat, 1)[0].reshape(q, n)
        out["H@n"] = float(np.mean([metrics.label_entropy(data.item_labels[row]) for row in nearest]))
    return out


def retrieval_metrics(data: EvalSet, rankings: list[list[int]], ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    relevant = data.relevant
    out = {f"R@{k}": metrics.recall_at_k(rankings, relevant, k) for k in ks}
    out["median_rank"] = metrics.median_rank(rankings, relevant)
    return out


def evaluate_method(
    data: EvalSet,
    seeds: np.ndarray,
    *,
    fuser: Fuser,
    limit: int = 100,
    candidates: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    """All metrics for one method given its seeds ``(Q, n, d)``."""
    seeds = np.asarray(seeds, np.float32)
    if seeds.ndim != 3 or seeds.shape[0] != len(data.queries) or seeds.shape[2] != data.catalog.shape[1]:
        raise TrainingDataError(f"seeds must be (Q={len(data.queries)}, n, d={data.catalog.shape[1]}), got {seeds.shape}")
    rankings = fused_rankings(data.catalog, seeds, fuser, limit=limit, candidates=candidates)
    out = retrieval_metrics(data, rankings)
    out.update(seed_metrics(data, seeds, rng=np.random.default_rng(seed)))
    if len(data.queries) >= SENSITIVITY_K:
        sensitivity = condition_sensitivity(seeds, data.catalog, data.relevant, k=SENSITIVITY_K, seed=seed)
        out.update(cond_gap=sensitivity["cosine_gap"], own_of_k=sensitivity["own_of_k"],
                   cond_sensitive=sensitivity["passed"])
    return out


def diffusion_seeds(sampler: Any, queries: np.ndarray, n: int, *, guidance: float, seed: int = 0,
                    steps: int | None = None, batch: int = 64) -> np.ndarray:
    """``(Q, n, d)`` seeds from a :class:`~genseek.samplers.diffusion.DiffusionSampler`, in batches."""
    parts = []
    for start in range(0, len(queries), batch):
        chunk = list(queries[start : start + batch])
        seeds = [seed * 1_000_003 + start + i for i in range(len(chunk))]
        parts.append(sampler.sample_many(chunk, n, seeds=seeds, guidance=guidance, steps=steps).vectors)
    return np.concatenate(parts)


def run_evaluation(
    data: EvalSet,
    out_dir: str | Path,
    *,
    diffusion: Any = None,
    regression: Any = None,
    nearest_pairs: Any = None,
    fusers: Sequence[str] = ("rrf",),
    n_seeds: Sequence[int] = (8,),
    guidance: Sequence[float] = (0.0, 1.0, 2.0, 4.0),
    steps: int | None = None,
    limit: int = 100,
    candidates: int | None = None,
    seed: int = 0,
    title: str = "genseek evaluation",
    training_logs: dict[str, str | Path] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Compare direct / regression / diffusion variants on ``data``; write JSON, markdown, plots.

    ``diffusion`` / ``regression`` are sampler instances (or ``None`` to skip); ``nearest_pairs``
    (a :class:`~genseek.training.baselines.NearestPairsSampler` over the prior's training pairs)
    adds the non-parametric baseline a prior has to beat. Rows of seeded methods carry the
    condition-sensitivity check (``cond_gap``, ``own_of_k``, ``cond_sensitive``; see
    :func:`~genseek.training.diagnostics.condition_sensitivity`). The "direct" row
    needs ``data.direct``; "diffusion+direct" adds the direct query as an extra seed. Each seed's
    list is cut at ``candidates`` (default ``limit``) before fusion. Returns
    the results dict written to ``evaluation.json``.
    """
    from tqdm.auto import tqdm

    from ..plugin.registry import get_registry
    from .plots import plot_results
    from .report import write_markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    registry = get_registry()
    fuser_objs = {name: registry.create("fuser", name) for name in fusers}
    rrf = fuser_objs.get("rrf") or registry.create("fuser", "rrf")
    rows: list[dict[str, Any]] = []

    def record(method: str, seeds: np.ndarray, fuser_name: str, fuser: Fuser, **extra: Any) -> None:
        started = time.perf_counter()
        values = evaluate_method(data, seeds, fuser=fuser, limit=limit, candidates=candidates or limit, seed=seed)
        rows.append({"method": method, "fuser": fuser_name, "n_seeds": int(seeds.shape[1]), **extra, **values,
                     "eval_seconds": round(time.perf_counter() - started, 2)})

    if data.direct is not None:
        record("direct", data.direct[:, None, :], "-", rrf)
    if regression is not None:
        record("regression", regression.predict(list(data.queries))[:, None, :], "-", rrf)
    if nearest_pairs is not None:
        n = max(n_seeds)
        rng = np.random.default_rng(seed)
        pair_seeds = np.stack([nearest_pairs.sample(q, n, generator=rng).vectors for q in data.queries])
        record("nearest-pairs", pair_seeds, "rrf", rrf)
    if diffusion is not None:
        jobs = [(n, w) for n in n_seeds for w in guidance]
        for n, w in tqdm(jobs, desc="diffusion sweep", disable=not progress):
            started = time.perf_counter()
            seeds = diffusion_seeds(diffusion, data.queries, n, guidance=w, seed=seed, steps=steps)
            sample_s = time.perf_counter() - started
            for name, fuser in fuser_objs.items():
                record("diffusion", seeds, name, fuser, guidance=w, sample_seconds=round(sample_s, 2))
            if data.direct is not None:
                with_direct = np.concatenate([seeds, data.direct[:, None, :]], axis=1)
                record("diffusion+direct", with_direct, "rrf", rrf, guidance=w)
    results = {"title": title, "queries": len(data.queries), "catalog": len(data.catalog), "limit": limit,
               "fusers": list(fusers), "n_seeds": list(n_seeds), "guidance": list(guidance), "rows": rows}
    (out / "evaluation.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    results["plots"] = plot_results(results, out, training_logs=training_logs)
    write_markdown(results, out / "evaluation.md")
    (out / "evaluation.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    return results


__all__ = [
    "EvalSet",
    "RECALL_KS",
    "diffusion_seeds",
    "evaluate_method",
    "fused_rankings",
    "retrieval_metrics",
    "run_evaluation",
    "seed_metrics",
    "top_candidates",
]
