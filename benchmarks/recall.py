"""Multi-seed recall on Qdrant Edge: where fused recall is lost, and what wins it back.

On the structured catalogs of ``benchmarks/scale.py`` (same blocks, same queries, same stand-in
seeds: query + isotropic noise of ``--seed-noise`` per dimension, 0.08 as in scale.py), this
measures in one run, against exact search (``exact=True``) with the same seeds:

* **plain**: the query's own recall@10 (one nearest search, the engine's default breadth);
* **per seed**: each seed's recall@candidates (20, genseek's default depth for ``limit=10``) for
  ``hnsw_ef`` ∈ ``--efs`` (None: the engine's default, ``ef_construct``), binned by the seed's
  distance to its nearest catalog point (``1 − cos``);
* **fused**: RRF (k=2) recall@10 of the fused top 10, split into what is lost to per-seed misses
  and what only to ties (a fused point whose exact fused score equals the 10th exact score is a
  tie, not a miss);
* **strategies**: fused recall@10 and latency (median of per-query ratios to the plain query, each
  pair run back to back) of ways to win recall back:

  - ``ef=E``: per-seed ANN at ``hnsw_ef=E``;
  - ``rescore ef=E``: per-seed ANN at ``hnsw_ef=E``, then every seed scored exactly against the
    union of all seeds' candidates (a second request: ``exact`` over ``has_id(union)``);
  - ``pool P``: one ANN walk for the seeds' normalised mean, ``P`` candidates at ``hnsw_ef=P``,
    then every seed scored exactly against that pool (one walk instead of 8).

**end to end** — the same seeds through ``GenerativeSearch`` (``FixedSeedsSampler``, provenance on,
RRF), as a user runs it: ``plain`` (one seed: the query), genseek's default (``seed_pooling``
on), ``seed_pooling="shared"`` and ``seed_pooling=False`` (one walk per seed, the behaviour before
pooling): fused recall@10 against the same search with ``exact=True``, and the median of per-query
latency ratios to ``plain`` (run just before each). This is the issue's goal measurement.

The catalog can be kept between runs (``--catalog-dir``): building 1M points with HNSW takes
minutes on 2 cores.

Run: ``nice python benchmarks/recall.py --n 100000 --queries 50 [--catalog-dir /tmp/edge-100k]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402
from scale import BLOCK, DIM, N_SEEDS, TENANTS, catalog_block  # noqa: E402

LIMIT = 10
DEPTH = 20  # genseek's per-seed depth for limit=10: max(20, 2 * limit)
RRF_K = 2


def open_catalog(n: int, directory: Path | None):
    """An Edge catalog of ``n`` points from scale.py's blocks, built (and optimized) or reopened."""
    from genseek.adapters.qdrant_edge import EdgeCatalog

    if directory is not None and (directory / "genseek-catalog.json").exists():
        catalog = EdgeCatalog.open(directory, on_stale="error")
        if len(catalog) != n:
            raise SystemExit(f"{directory} holds {len(catalog)} points, not {n}; pass another --catalog-dir")
        return catalog, {"reopened": True}
    path = directory or Path(tempfile.mkdtemp(prefix="recall-")) / "bench"
    catalog = EdgeCatalog.create(path, vectors={"v": (DIM, "cosine")}, name="bench", tenant_field="tenant",
                                 on_stale="error")
    start = time.perf_counter()
    for block in range((n + BLOCK - 1) // BLOCK):
        vectors = catalog_block(n, block)
        ids = range(block * BLOCK, block * BLOCK + len(vectors))
        catalog.upsert(list(ids), vectors, [{"tenant": f"t{i % TENANTS}"} for i in ids], optimize=False, progress=False)
        print(f"[{n}] ingested {min(n, (block + 1) * BLOCK)}", flush=True)
    ingest = time.perf_counter() - start
    start = time.perf_counter()
    catalog.optimize()
    build = time.perf_counter() - start
    print(f"[{n}] ingest {ingest:.0f}s, HNSW {build:.0f}s", flush=True)
    return catalog, {"ingest_s": ingest, "index_build_s": build}


def queries_and_seeds(n: int, count: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """scale.py's queries; seeds = query + ``noise`` isotropic noise per dimension, unit-normalised."""
    rng = np.random.default_rng(42)
    rows = rng.choice(min(n, BLOCK), size=count, replace=False)
    base = catalog_block(n, 0)[rows]
    queries = base + 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    seeds = queries[:, None, :] + noise * rng.standard_normal((count, N_SEEDS, DIM)).astype(np.float32)
    seeds /= np.linalg.norm(seeds, axis=2, keepdims=True)
    return queries.astype(np.float32), seeds.astype(np.float32)


class Engine:
    """Raw Edge requests (no genseek planning), so each strategy is measured on its own."""

    def __init__(self, catalog) -> None:
        from genseek.adapters.edge_filters import edge_module, to_edge_filter

        self.qe = edge_module()
        self.to_filter = to_edge_filter
        self.shard = catalog.shard

    def _request(self, vector: np.ndarray, limit: int, params: dict | None, flt=None):
        qe = self.qe
        return qe.QueryRequest(limit=limit, query=qe.Query.Nearest(vector.tolist(), using="v"), with_payload=False,
                               with_vector=False, filter=flt, params=qe.SearchParams(**params) if params else None)

    def lists(self, vectors: np.ndarray, limit: int, params: dict | None, flt=None) -> list[list[tuple]]:
        """One batch, a ranked list of (id, score) per vector."""
        return self.walks(vectors, [limit] * len(vectors), [params] * len(vectors), flt)

    def walks(self, vectors: np.ndarray, limits: list[int], params: list[dict | None], flt=None) -> list[list[tuple]]:
        """One batch with its own limit and params per vector."""
        batch = self.qe.QueryBatchRequest([self._request(v, k, p, flt) for v, k, p in zip(vectors, limits, params)])
        return [[(p.id, float(p.score)) for p in ranked] for ranked in self.shard.query_batch(batch)]

    def rescore(self, vectors: np.ndarray, union: set, limit: int) -> list[list[tuple]]:
        """Every vector scored exactly against ``union`` (one batch; the engine scans only those ids)."""
        from qdrant_client.http import models

        flt = self.to_filter(models.Filter(must=[models.HasIdCondition(has_id=sorted(union))]))
        return self.lists(vectors, limit, {"exact": True}, flt)


def rrf(lists: list[list[tuple]], limit: int = LIMIT) -> list[tuple]:
    return sorted(rrf_scores(lists).items(), key=lambda item: -item[1])[:limit]


def rrf_scores(lists: list[list[tuple]]) -> dict:
    scores: dict = {}
    for ranked in lists:
        for rank, (pid, _) in enumerate(ranked[:DEPTH]):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def overlap(got: list, want: list) -> float:
    return len({g[0] for g in got} & {w[0] for w in want}) / max(1, len(want))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1e3


def diagnose(engine: Engine, queries: np.ndarray, seeds: np.ndarray, efs: list, rescore_efs: list,
             pools: list) -> dict:
    exact_seed = [engine.lists(s, DEPTH, {"exact": True}) for s in seeds]
    exact_plain = [engine.lists(q[None], LIMIT, {"exact": True})[0] for q in queries]
    exact_fused = [rrf(lists) for lists in exact_seed]
    exact_scores = [rrf_scores(lists) for lists in exact_seed]
    nearest_distance = np.array([[1.0 - lst[0][1] for lst in lists] for lists in exact_seed])  # (Q, 8)

    out: dict = {"plain": {}, "per_seed": {}, "strategies": {}}
    plain_ms, plain_recall = [], []

    def plain_once(q):
        got, ms = timed(lambda: engine.lists(q[None], LIMIT, None)[0])
        plain_ms.append(ms)
        return got

    strategies = {f"ef={ef}": ("ann", ef) for ef in efs}
    strategies.update({f"rescore ef={ef}": ("rescore", ef) for ef in rescore_efs})
    strategies.update({f"pool {size}": ("pool", size) for size in pools})
    strategies.update({f"pool {size} + seed walks ef={ef}": ("pool+seeds", (size, ef)) for size in pools[:1] for ef in (1, 32)})
    rows = {name: {"recall": [], "tie_recall": [], "ratio": [], "ms": [], "seed_recall": []} for name in strategies}
    for qi, (q, s) in enumerate(zip(queries, seeds)):
        for name, (kind, ef) in strategies.items():
            params = {"hnsw_ef": ef} if isinstance(ef, int) else None
            got_plain = plain_once(q)  # each strategy is paired with its own plain query, back to back
            if name == next(iter(strategies)):
                plain_recall.append(overlap(got_plain, exact_plain[qi]))
            start = time.perf_counter()
            if kind == "pool":
                centre = s.mean(axis=0)
                pool = engine.lists((centre / np.linalg.norm(centre))[None], ef, {"hnsw_ef": ef})[0]
                lists = engine.rescore(s, {pid for pid, _ in pool}, DEPTH)
            elif kind == "pool+seeds":  # one request: the pool walk and cheap per-seed walks, then rescoring
                size, seed_ef = ef
                centre = s.mean(axis=0)
                walks = engine.walks(np.vstack([(centre / np.linalg.norm(centre))[None], s]), [size] + [DEPTH] * len(s),
                                     [None] + [{"hnsw_ef": seed_ef}] * len(s))
                union = {pid for pid, _ in walks[0]} | {pid for lst in walks[1:] for pid, _ in lst[:DEPTH]}
                lists = engine.rescore(s, union, DEPTH)
            else:
                lists = engine.lists(s, DEPTH, params)
            if kind == "rescore":
                union = {pid for lst in lists for pid, _ in lst}
                lists = engine.rescore(s, union, DEPTH)
            fused = rrf(lists)
            ms = (time.perf_counter() - start) * 1e3
            row = rows[name]
            row["ms"].append(ms)
            row["ratio"].append(ms / plain_ms[-1])
            row["recall"].append(overlap(fused, exact_fused[qi]))
            tenth = exact_fused[qi][-1][1]
            row["tie_recall"].append(sum(exact_scores[qi].get(pid, 0.0) >= tenth - 1e-12 for pid, _ in fused) / LIMIT)
            row["seed_recall"].append([overlap(lists[i], exact_seed[qi][i]) for i in range(len(s))])
    out["plain"] = {"recall@10": float(np.mean(plain_recall)), "median_ms": float(np.median(plain_ms))}
    for name, row in rows.items():
        seed_recall = np.array(row["seed_recall"])  # (Q, 8)
        out["strategies"][name] = {
            "fused_recall@10": float(np.mean(row["recall"])),
            "fused_recall@10_ties_as_hits": float(np.mean(row["tie_recall"])),
            "seed_recall@20": float(seed_recall.mean()),
            "median_ms": float(np.median(row["ms"])),
            "median_ratio_to_plain": float(np.median(row["ratio"])),
        }
    # per-seed recall against the seed's distance to its nearest catalog point (default breadth)
    default = np.array(rows[next(iter(strategies))]["seed_recall"]).ravel()
    distance = nearest_distance.ravel()
    edges = np.quantile(distance, [0, 0.25, 0.5, 0.75, 1.0])
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (distance >= lo) & (distance <= hi)
        bins.append({"distance_lo": float(lo), "distance_hi": float(hi), "seed_recall@20": float(default[mask].mean())})
    out["per_seed"] = {"by_nearest_distance": bins, "nearest_distance_median": float(np.median(distance))}
    return out


END_TO_END = {"default (pooled)": None, "shared walks": {"seed_pooling": "shared"}, "no pooling": {"seed_pooling": False}}


def end_to_end(catalog, queries: np.ndarray, seeds: np.ndarray) -> dict:
    """Recall and latency through GenerativeSearch (see the module docstring)."""
    from genseek import GenerativeSearch
    from genseek.testing import FixedSeedsSampler

    search = GenerativeSearch(catalog, "bench", encoder=None, sampler=FixedSeedsSampler(seeds[0]), fuser="rrf")

    def run(q, s, params):
        search.planner.sampler = FixedSeedsSampler(s)
        start = time.perf_counter()
        result = search.search(vector=q, n_seeds=len(s), limit=LIMIT, with_payload=False, search_params=params)
        return result, (time.perf_counter() - start) * 1e3

    for q, s in zip(queries[:3], seeds[:3]):  # warm up
        run(q, s, None)
    out: dict = {name: {"recall": [], "ratio": [], "ms": [], "walks": []} for name in ["plain", *END_TO_END]}
    for q, s in zip(queries, seeds):
        exact_plain = run(q, q[None], {"exact": True})[0].ids
        exact = run(q, s, {"exact": True})[0].ids
        for name, params in END_TO_END.items():
            plain, plain_ms = run(q, q[None], None)
            result, ms = run(q, s, params)
            row = out[name]
            row["recall"].append(len(set(result.ids) & set(exact)) / LIMIT)
            row["ratio"].append(ms / plain_ms)
            row["ms"].append(ms)
            row["walks"].append(result.info.get("pooling", {}).get("walks", len(s)))
            out["plain"]["recall"].append(len(set(plain.ids) & set(exact_plain)) / LIMIT)
            out["plain"]["ms"].append(plain_ms)
    summary = {}
    for name, row in out.items():
        summary[name] = {
            "fused_recall@10": float(np.mean(row["recall"])),
            "median_ms": float(np.median(row["ms"])),
            "median_ratio_to_plain": float(np.median(row["ratio"])) if row["ratio"] else 1.0,
            "walks": float(np.mean(row["walks"])) if row["walks"] else 1.0,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed-noise", type=float, nargs="+", default=[0.08, 0.04, 0.02])
    parser.add_argument("--efs", type=int, nargs="+", default=[0, 64, 128, 256, 512])
    parser.add_argument("--rescore-efs", type=int, nargs="+", default=[0, 128])
    parser.add_argument("--pools", type=int, nargs="+", default=[200, 400, 800])
    parser.add_argument("--end-to-end-only", action="store_true", help="skip the raw-engine diagnostics")
    parser.add_argument("--catalog-dir", type=Path, default=None)
    parser.add_argument("--name", default=None, help="results/<name>.json and .md (default recall-100k, recall-1m, …)")
    args = parser.parse_args()
    catalog, build = open_catalog(args.n, args.catalog_dir)
    engine = Engine(catalog)
    results = []
    for noise in args.seed_noise:
        queries, seeds = queries_and_seeds(args.n, args.queries, noise)
        engine.lists(queries[:5], LIMIT, None)  # warm up
        row = {"seed_noise": noise}
        if not args.end_to_end_only:
            row.update(diagnose(engine, queries, seeds, [e or None for e in args.efs],
                                [e or None for e in args.rescore_efs], args.pools))
        row["end_to_end"] = end_to_end(catalog, queries, seeds)
        results.append(row)
        print(report_row(args.n, row), flush=True)
    catalog.close()
    payload = {"machine": machine(), "n": args.n, "queries": args.queries, "build": build, "results": results}
    default_name = f"recall-{args.n // 1_000_000}m" if args.n % 1_000_000 == 0 else f"recall-{args.n // 1000}k"
    write(args.name or default_name, payload, report(args.n, args.queries, build, results))


def report_row(n: int, row: dict) -> str:
    lines = [f"### seed noise {row['seed_noise']} per dimension", ""]
    e2e = row["end_to_end"]
    lines += ["End to end (GenerativeSearch, 8 seeds, provenance on, RRF):", "",
              "| search | fused recall@10 vs exact | median ms | × plain (median of per-query ratios) | walks |",
              "|---|---:|---:|---:|---:|"]
    for name, r in e2e.items():
        lines.append(f"| {name} | {r['fused_recall@10']:.3f} | {r['median_ms']:.2f} | {r['median_ratio_to_plain']:.2f} | "
                     f"{r['walks']:.1f} |")
    if "strategies" not in row:
        return "\n".join(lines)
    lines += ["", "Raw engine diagnostics:", ""] + _diagnostics(row)
    return "\n".join(lines)


def _diagnostics(row: dict) -> list[str]:
    lines = [
        f"Median seed-to-nearest-point distance (1 − cos): {row['per_seed']['nearest_distance_median']:.3f}.",
        "",
        f"Plain query: recall@10 {row['plain']['recall@10']:.3f}, {row['plain']['median_ms']:.2f} ms.",
        "",
        "| strategy | fused recall@10 | ties counted as hits | per-seed recall@20 | median ms | × plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in row["strategies"].items():
        lines.append(f"| {name.replace('None', 'default')} | {s['fused_recall@10']:.3f} | {s['fused_recall@10_ties_as_hits']:.3f} | "
                     f"{s['seed_recall@20']:.3f} | {s['median_ms']:.2f} | {s['median_ratio_to_plain']:.2f} |")
    lines += ["", "Per-seed recall@20 (default breadth) by the seed's distance to its nearest catalog point:", "",
              "| 1 − cos to nearest point | per-seed recall@20 |", "|---|---:|"]
    for b in row["per_seed"]["by_nearest_distance"]:
        lines.append(f"| {b['distance_lo']:.3f} – {b['distance_hi']:.3f} | {b['seed_recall@20']:.3f} |")
    return lines


def report(n: int, queries: int, build: dict, results: list[dict]) -> str:
    head = [
        f"# Multi-seed recall on Qdrant Edge, {n:,} points",
        "",
        f"scale.py's structured 512-d catalog and queries ({queries} queries), 8 stand-in seeds per query "
        "(query + isotropic noise), RRF k=2, per-seed depth 20, limit 10; recall against exact search with the same "
        "seeds. Latency: the strategy's engine calls, median of per-query ratios to a plain query run just before.",
        f"Build: {build}.",
        "",
    ]
    return "\n".join(head + [report_row(n, row) + "\n" for row in results])


if __name__ == "__main__":
    main()
