"""Scale: qdrant-client local mode vs Qdrant Edge on 100k and 1M structured 512-d catalogs.

For each size and backend (each in its own subprocess, so peak memory is per backend) this
measures in one run:

* ingest rate (points/s) and, for Edge, the HNSW build time (``optimize()``);
* ``plain`` — one nearest-neighbour query (``GenerativeSearch`` with one seed);
* ``generative`` — 8 seeds, one request with 8 prefetches + RRF in the engine, no provenance;
* recall@10 of both against exact search (Edge: the same requests with ``exact=True``; local mode
  is exact by construction);
* peak RSS of the worker process.

Goals (issue #7): Edge 8-seed generative search at 100k ≤ 4× Edge plain, recall@10 ≥ 0.95;
1M items ingest and answer on this machine. Local mode is brute-force Python, so at 1M it gets only
a few queries (``--local-queries-1m``); that is stated in the report.

Data: ``genseek.testing.clustered_vectors`` (clustered, low intrinsic dimension). At 1M the
catalog is built from 100k-point blocks (each block its own seed: its own 24-d subspace and
clusters), which keeps generation memory bounded; the union is still low-rank and clustered.

Run: ``nice python benchmarks/scale.py [--sizes 100000 1000000] [--queries 100]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402

DIM = 512
N_SEEDS = 8
LIMIT = 10
BLOCK = 100_000
TENANTS = 10


def catalog_block(n: int, block: int) -> np.ndarray:
    from genseek.testing import clustered_vectors

    size = min(BLOCK, n - block * BLOCK)
    vectors, _ = clustered_vectors(size, DIM, clusters=64, intrinsic_dim=24, seed=1000 + block)
    return vectors


def queries_for(n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Query vectors near catalog points, and for each an (8, d) seed set around it (a stand-in prior)."""
    rng = np.random.default_rng(42)
    rows = rng.choice(min(n, BLOCK), size=count, replace=False)
    base = catalog_block(n, 0)[rows]
    queries = base + 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    seeds = queries[:, None, :] + 0.08 * rng.standard_normal((count, N_SEEDS, DIM)).astype(np.float32)
    seeds /= np.linalg.norm(seeds, axis=2, keepdims=True)
    return queries.astype(np.float32), seeds.astype(np.float32)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": float(np.median(ordered)),
        "p90_ms": float(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]),
        "mean_ms": float(np.mean(ordered)),
        "queries": len(ordered),
    }


def _recall(got: list[list], want: list[list]) -> float:
    hits = [len(set(g) & set(w)) / max(1, len(w)) for g, w in zip(got, want)]
    return float(np.mean(hits))


def run_queries(client, collection: str, queries: np.ndarray, seeds: np.ndarray, exact: bool) -> dict:
    """Time plain and generative searches; return latencies and the returned ids."""
    from genseek import GenerativeSearch
    from genseek.testing import FixedSeedsSampler

    out: dict = {"plain": {"ids": [], "ms": []}, "generative": {"ids": [], "ms": []}}
    for q, s in zip(queries, seeds):
        sampler = FixedSeedsSampler(s)
        search = GenerativeSearch(client, collection, encoder=None, sampler=sampler, fuser="rrf", fusion="engine",
                                  provenance=False)
        for mode, n_seeds in (("plain", 1), ("generative", N_SEEDS)):
            vector = q if mode == "plain" else s[0]
            if mode == "plain":
                search.planner.sampler = FixedSeedsSampler(q[None, :])
            else:
                search.planner.sampler = sampler
            request_params = {"exact": True} if exact else {}
            start = time.perf_counter()
            if request_params:
                result = _search_with_params(search, vector, n_seeds, request_params)
            else:
                result = search.search(vector=vector, n_seeds=n_seeds, limit=LIMIT, with_payload=False)
            out[mode]["ms"].append((time.perf_counter() - start) * 1e3)
            out[mode]["ids"].append([p.id for p in result.points])
    return out


def _search_with_params(search, vector, n_seeds, params):
    """A GenerativeSearch call whose SeedSearch carries Edge search params (exact search)."""
    original = search.adapter.run

    def run(request):
        return original(type(request)(**{**request.__dict__, "params": params}))

    search.adapter.run = run
    try:
        return search.search(vector=vector, n_seeds=n_seeds, limit=LIMIT, with_payload=False)
    finally:
        search.adapter.run = original


def worker(backend: str, n: int, n_queries: int, out_path: Path) -> None:
    queries, seeds = queries_for(n, n_queries)
    result: dict = {"backend": backend, "n": n, "dim": DIM}
    blocks = (n + BLOCK - 1) // BLOCK
    with tempfile.TemporaryDirectory(prefix=f"scale-{backend}-") as tmp:
        if backend == "edge":
            from genseek.adapters.qdrant_edge import EdgeCatalog

            catalog = EdgeCatalog.create(Path(tmp) / "bench", vectors={"v": (DIM, "cosine")}, name="bench",
                                         tenant_field="tenant", on_stale="error")
            ingest = 0.0
            for block in range(blocks):
                vectors = catalog_block(n, block)
                ids = range(block * BLOCK, block * BLOCK + len(vectors))
                payloads = [{"tenant": f"t{i % TENANTS}"} for i in ids]
                start = time.perf_counter()
                catalog.upsert(list(ids), vectors, payloads, optimize=False, progress=False)
                ingest += time.perf_counter() - start
                print(f"[edge {n}] ingested {min(n, (block + 1) * BLOCK)} ({ingest:.1f}s)", flush=True)
            start = time.perf_counter()
            catalog.optimize()
            result["index_build_s"] = time.perf_counter() - start
            result["index"] = catalog.index_status().__dict__
            print(f"[edge {n}] optimize {result['index_build_s']:.1f}s {result['index']}", flush=True)
            client, collection = catalog, "bench"
        else:
            from qdrant_client import QdrantClient

            from genseek.testing import make_collection

            client, collection = QdrantClient(":memory:"), "bench"
            ingest = 0.0
            for block in range(blocks):
                vectors = catalog_block(n, block)
                start = time.perf_counter()
                if block == 0:
                    make_collection(client, collection, vectors, vector_name="v", payload=lambda i: {"tenant": f"t{i % TENANTS}"})
                else:
                    offset = block * BLOCK
                    client.upload_collection(collection, vectors={"v": vectors},
                                             payload=[{"tenant": f"t{(offset + i) % TENANTS}"} for i in range(len(vectors))],
                                             ids=list(range(offset, offset + len(vectors))))
                ingest += time.perf_counter() - start
                print(f"[local {n}] ingested {min(n, (block + 1) * BLOCK)} ({ingest:.1f}s)", flush=True)
        result["ingest_s"] = ingest
        result["ingest_points_per_s"] = n / ingest
        timed = run_queries(client, collection, queries, seeds, exact=False)
        for mode in ("plain", "generative"):
            result[mode] = _percentiles(timed[mode]["ms"])
        if backend == "edge":
            exact = run_queries(client, collection, queries, seeds, exact=True)
            for mode in ("plain", "generative"):
                result[mode]["recall@10"] = _recall(timed[mode]["ids"], exact[mode]["ids"])
                result[f"exact_{mode}"] = _percentiles(exact[mode]["ms"])
            client.close()
        else:
            for mode in ("plain", "generative"):
                result[mode]["recall@10"] = 1.0  # local mode is exact search
        result["generative_over_plain"] = result["generative"]["median_ms"] / result["plain"]["median_ms"]
        result["peak_rss_mb"] = peak_rss_mb()
        result["ids"] = {mode: timed[mode]["ids"] for mode in ("plain", "generative")}
    out_path.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100, help="queries per size on Edge")
    parser.add_argument("--local-queries", type=int, default=20, help="queries on local mode at ≤ 100k")
    parser.add_argument("--local-queries-1m", type=int, default=3, help="queries on local mode above 100k (0: skip)")
    parser.add_argument("--backends", nargs="+", default=["edge", "local"])
    parser.add_argument("--name", default="scale", help="results/<name>.json and .md")
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "N", "QUERIES"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        backend, n, count = args.worker
        worker(backend, int(n), int(count), args.worker_out)
        return

    rows = []
    for n in args.sizes:
        for backend in args.backends:
            count = args.queries if backend == "edge" else (args.local_queries if n <= BLOCK else args.local_queries_1m)
            if count <= 0:
                continue
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
                out = Path(handle.name)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--worker", backend, str(n), str(count), "--worker-out", str(out)])
            if proc.returncode != 0:
                rows.append({"backend": backend, "n": n, "error": f"worker exited with {proc.returncode}"})
                continue
            row = json.loads(out.read_text())
            os.unlink(out)
            row["wall_s"] = time.perf_counter() - start
            rows.append(row)
    # recall of Edge vs local mode's exact answers, where both ran
    for row in rows:
        if row.get("backend") != "edge" or "ids" not in row:
            continue
        local = next((r for r in rows if r.get("backend") == "local" and r.get("n") == row["n"] and "ids" in r), None)
        if local:
            k = len(local["ids"]["generative"])
            row["generative"]["recall@10_vs_local"] = _recall(row["ids"]["generative"][:k], local["ids"]["generative"])
    for row in rows:
        row.pop("ids", None)
    payload = {"machine": machine(), "goals": {"generative_over_plain_max": 4.0, "recall@10_min": 0.95}, "results": rows}
    write(args.name, payload, report(rows))
    print(report(rows))


def report(rows: list[dict]) -> str:
    lines = [
        "# Scale: qdrant-client local mode vs Qdrant Edge",
        "",
        "Structured 512-d catalogs (`clustered_vectors`, cosine, payload `tenant`); 8 seeds, limit 10, RRF in the engine,",
        "no provenance. Latency medians in ms; recall@10 against exact search. Each backend ran in its own process.",
        "",
        "| n | backend | ingest pts/s | index build s | plain ms | 8-seed ms | 8-seed / plain | recall@10 plain | recall@10 8-seed | queries | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']:,} | {r['backend']} | {r['error']} |||||||||")
            continue
        build = f"{r['index_build_s']:.1f}" if "index_build_s" in r else "—"
        lines.append(
            f"| {r['n']:,} | {r['backend']} | {r['ingest_points_per_s']:,.0f} | {build} | {r['plain']['median_ms']:.2f} | "
            f"{r['generative']['median_ms']:.2f} | {r['generative_over_plain']:.2f}× | {r['plain']['recall@10']:.3f} | "
            f"{r['generative']['recall@10']:.3f} | {r['generative']['queries']} | {r['peak_rss_mb']:,.0f} |"
        )
    lines += ["", "Edge exact-search latencies (the recall baseline):", ""]
    for r in rows:
        if r.get("backend") == "edge" and "exact_plain" in r:
            lines.append(f"- n={r['n']:,}: exact plain {r['exact_plain']['median_ms']:.2f} ms, "
                         f"exact 8-seed {r['exact_generative']['median_ms']:.2f} ms")
    lines += ["", "Local mode above 100k points runs only a few queries (brute-force Python); its recall is 1 by construction."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
