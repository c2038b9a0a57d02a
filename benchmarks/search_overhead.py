"""What does generative search cost on top of one plain ``query_points``?

In Qdrant local mode, on structured (clustered, low-rank) 512-d catalogs of 10k and 100k points,
this measures in one run:

* ``plain``            — one ``query_points`` with one vector (the baseline);
* ``engine``           — 8 given seeds, one ``query_points`` with 8 prefetches + RRF in the engine,
                         no provenance;
* ``engine+provenance``— the same fused request plus 8 per-seed requests in one ``query_batch_points``
                         (what ``GenerativeSearch`` does by default when fusing in the engine);
* ``client``           — 8 per-seed requests in one ``query_batch_points``, RRF on the client
                         (provenance is free on this path);
* ``formula-provenance`` — the alternative the issue names: per-seed scores of the fused points via
                         one ``FormulaQuery`` per seed (``$score[i]``) over the same prefetches.

Seeds are fixed (``FixedSeedsSampler``) so only search + fusion is timed. Contenders run
round-robin (interleaved) so that load on a shared machine affects them alike. Ratios to ``plain`` are
reported because they survive a noisy machine; absolute times do not.

Run: ``python benchmarks/search_overhead.py [--sizes 10000 100000] [--repeats 15]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client.http import models

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from _report import machine, time_calls, time_interleaved, write  # noqa: E402

from genseek import GenerativeSearch  # noqa: E402
from genseek.testing import FixedSeedsSampler, clustered_vectors, make_collection  # noqa: E402

DIM = 512
N_SEEDS = 8
LIMIT = 10
FORMULA_MAX_POINTS = 20_000


def bench_size(n: int, repeats: int) -> dict:
    vectors, _ = clustered_vectors(n, DIM, clusters=64, intrinsic_dim=24, seed=n)
    client = QdrantClient(":memory:")
    start = time.perf_counter()
    make_collection(client, "bench", vectors, vector_name="v", payload=lambda i: {"tenant": f"t{i % 10}"})
    ingest_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    queries = vectors[rng.choice(n, size=repeats + 2, replace=False)]
    seeds = vectors[rng.choice(n, size=N_SEEDS, replace=False)] + 0.05 * rng.standard_normal((N_SEEDS, DIM)).astype(np.float32)
    seeds /= np.linalg.norm(seeds, axis=1, keepdims=True)
    sampler = FixedSeedsSampler(seeds)

    searches = {
        "engine": GenerativeSearch(client, "bench", encoder=None, sampler=sampler, fusion="engine", provenance=False),
        "engine+provenance": GenerativeSearch(client, "bench", encoder=None, sampler=sampler, fusion="engine"),
        "client": GenerativeSearch(client, "bench", encoder=None, sampler=sampler, fusion="client"),
    }
    candidates = max(20, 2 * LIMIT)  # GenerativeSearch's default per-seed depth
    prefetch = [models.Prefetch(query=s.tolist(), using="v", limit=candidates) for s in seeds]

    def formula_provenance():
        fused = client.query_points("bench", prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF), limit=LIMIT)
        requests = [
            models.QueryRequest(prefetch=prefetch, query=models.FormulaQuery(formula=f"$score[{i}]", defaults={f"$score[{i}]": -1e9}),
                                filter=models.Filter(must=[models.HasIdCondition(has_id=[p.id for p in fused.points])]), limit=LIMIT)
            for i in range(N_SEEDS)
        ]
        client.query_batch_points("bench", requests=requests)

    query_iter = iter(np.tile(queries, (10, 1)))
    contenders = {"plain": lambda: client.query_points("bench", query=next(query_iter).tolist(), using="v", limit=LIMIT)}
    for name, search in searches.items():
        contenders[name] = lambda s=search: s.search(vector=seeds[0], n_seeds=N_SEEDS, limit=LIMIT)
    timings = time_interleaved(contenders, repeats)
    if n <= FORMULA_MAX_POINTS:  # minutes per call in local mode beyond this; the 10k ratio already rules it out
        timings["formula-provenance"] = time_calls(formula_provenance, 3, warmup=1)
    check = {name: s.search(vector=seeds[0], n_seeds=N_SEEDS, limit=LIMIT).ids for name, s in searches.items()}
    base = timings["plain"]["median_ms"]
    return {
        "points": n,
        "dim": DIM,
        "ingest_s": ingest_s,
        "timings": timings,
        "ratio_to_plain": {name: t["median_ms"] / base for name, t in timings.items()},
        "same_ranking_engine_vs_client": check["engine"] == check["client"] == check["engine+provenance"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    runs = []
    for n in args.sizes:
        print(f"benchmarking {n} points ...", flush=True)
        runs.append(bench_size(n, args.repeats))
    payload = {"benchmark": "search_overhead", "machine": machine(), "n_seeds": N_SEEDS, "limit": LIMIT, "runs": runs}
    lines = [
        "# Generative search overhead (Qdrant local mode)",
        "",
        f"{N_SEEDS} fixed seeds, limit {LIMIT}, 512-d clustered vectors, RRF. Median ms (ratio to one plain query).",
        f"Machine: {payload['machine']['cpus']} CPUs, {payload['machine']['platform']}.",
        "",
        "| points | plain | engine (no provenance) | engine + provenance | client fusion | formula provenance | same ranking |",
        "|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for run in runs:
        t, r = run["timings"], run["ratio_to_plain"]
        cells = [f"{t[k]['median_ms']:.1f} ({r[k]:.1f}×)" if k in t else "not run" for k in ("engine", "engine+provenance", "client", "formula-provenance")]
        lines.append(f"| {run['points']:,} | {t['plain']['median_ms']:.1f} | " + " | ".join(cells) + f" | {run['same_ranking_engine_vs_client']} |")
    json_path, md_path = write("search_overhead", payload, "\n".join(lines))
    print("\n".join(lines))
    print(f"\nwrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
