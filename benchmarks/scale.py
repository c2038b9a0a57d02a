"""Scale: qdrant-client local mode vs Qdrant Edge on 100k and 1M structured 512-d catalogs.

For each size and backend (each in its own subprocess, so peak memory is per backend) this
measures in one run:

* ingest rate (points/s) and, for Edge, the HNSW build time (``optimize()``);
* ``plain`` — one nearest-neighbour query (``GenerativeSearch`` with one seed);
* ``engine`` — 8 seeds, one request with 8 prefetches + RRF in the engine, no provenance;
* ``batch`` — 8 seeds, ``GenerativeSearch``'s default (provenance on): one batch of 8 searches,
  RRF on the client;
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
#: ``search_params`` hnsw_ef of the approximate searches (``--hnsw-ef``; None: the engine's default).
HNSW_EF: int | None = None
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


MODES = {
    # mode: (n_seeds, fusion, provenance)
    "plain": (1, "engine", False),
    "engine": (N_SEEDS, "engine", False),  # one request: 8 prefetches + RRF in the engine
    "batch": (N_SEEDS, "auto", True),  # GenerativeSearch's default: one batch of 8 searches, RRF on the client
}


def run_queries(client, collection: str, queries: np.ndarray, seeds: np.ndarray, modes: list[str], exact: bool) -> dict:
    """Time each mode on every query (modes interleaved per query, so load noise hits them alike)."""
    from genseek import GenerativeSearch
    from genseek.testing import FixedSeedsSampler

    out: dict = {mode: {"ids": [], "ms": []} for mode in modes}
    searches = {
        mode: GenerativeSearch(client, collection, encoder=None, sampler=FixedSeedsSampler(seeds[0]), fuser="rrf",
                               fusion=fusion, provenance=provenance)
        for mode, (_, fusion, provenance) in MODES.items() if mode in modes
    }
    for q, s in zip(queries, seeds):
        for mode in modes:
            n_seeds = MODES[mode][0]
            search = searches[mode]
            search.planner.sampler = FixedSeedsSampler(q[None, :] if n_seeds == 1 else s)
            vector = q
            start = time.perf_counter()
            params = {"exact": True} if exact else ({"hnsw_ef": HNSW_EF} if HNSW_EF else None)
            result = search.search(vector=vector, n_seeds=n_seeds, limit=LIMIT, with_payload=False, search_params=params)
            out[mode]["ms"].append((time.perf_counter() - start) * 1e3)
            out[mode]["ids"].append([p.id for p in result.points])
    return out


def worker(backend: str, n: int, n_queries: int, out_path: Path) -> None:
    queries, seeds = queries_for(n, n_queries)
    modes = ["plain", "engine", "batch"] if (backend == "edge" or n <= BLOCK) else ["plain", "engine"]
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
            result["ingest_s"] = ingest
            result["ingest_points_per_s"] = n / ingest
            if n > BLOCK:  # before HNSW exists: the catalog already answers, by exact scans
                catalog.on_stale = "ignore"
                few = run_queries(catalog, "bench", queries[:3], seeds[:3], ["plain", "engine"], exact=False)
                result["unindexed"] = {mode: _percentiles(few[mode]["ms"]) for mode in few}
                catalog.on_stale = "error"
                print(f"[edge {n}] answered before optimize(): {result['unindexed']}", flush=True)
            result["phase"] = "optimize"
            out_path.write_text(json.dumps(result))
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
        result["phase"] = "queries"
        result["peak_rss_mb"] = peak_rss_mb()
        out_path.write_text(json.dumps(result))
        timed = run_queries(client, collection, queries, seeds, modes, exact=False)
        for mode in modes:
            result[mode] = _percentiles(timed[mode]["ms"])
        if backend == "edge":
            result["segments"] = int(client.shard.info().segments_count)
            exact = run_queries(client, collection, queries, seeds, ["plain", "engine"], exact=True)
            exact["batch"] = exact["engine"]  # the same RRF ranking: the exact reference for both 8-seed paths
            for mode in modes:
                result[mode]["recall@10"] = _recall(timed[mode]["ids"], exact[mode]["ids"])
            for mode in ("plain", "engine"):
                result[f"exact_{mode}"] = _percentiles(exact[mode]["ms"])
            client.close()
        else:
            for mode in modes:
                result[mode]["recall@10"] = 1.0  # local mode is exact search
        for mode in modes[1:]:
            result[f"{mode}_over_plain"] = result[mode]["median_ms"] / result["plain"]["median_ms"]
            # per-query ratios (each pair ran back to back) are robust to load swings on a shared machine
            ratios = np.array(timed[mode]["ms"]) / np.array(timed["plain"]["ms"])
            result[mode]["median_ratio_to_plain"] = float(np.median(ratios))
        result["peak_rss_mb"] = peak_rss_mb()
        result["ids"] = {mode: timed[mode]["ids"] for mode in modes}
        result["phase"] = "done"
    out_path.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100, help="queries per size on Edge")
    parser.add_argument("--local-queries", type=int, default=20, help="queries on local mode at ≤ 100k")
    parser.add_argument("--local-queries-1m", type=int, default=3, help="queries on local mode above 100k (0: skip)")
    parser.add_argument("--backends", nargs="+", default=["edge", "local"])
    parser.add_argument("--name", default="scale", help="results/<name>.json and .md")
    parser.add_argument("--worker-timeout", type=float, default=None,
                        help="stop a backend's worker after this many seconds and report what it measured")
    parser.add_argument("--hnsw-ef", type=int, default=None,
                        help="search_params hnsw_ef for the approximate (HNSW) searches (default: the engine's)")
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "N", "QUERIES"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global HNSW_EF
    HNSW_EF = args.hnsw_ef
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
            command = [sys.executable, __file__, "--worker", backend, str(n), str(count), "--worker-out", str(out)]
            if args.hnsw_ef:
                command += ["--hnsw-ef", str(args.hnsw_ef)]
            try:
                returncode = subprocess.run(command, timeout=args.worker_timeout).returncode
            except subprocess.TimeoutExpired:
                returncode = "timeout"
            partial = json.loads(out.read_text()) if out.stat().st_size else None
            os.unlink(out)
            if returncode != 0:
                if partial is None:
                    rows.append({"backend": backend, "n": n, "error": f"worker exited with {returncode}"})
                    continue
                partial["incomplete"] = f"stopped ({returncode}) after {time.perf_counter() - start:.0f}s in phase {partial.get('phase')!r}"
            row = partial
            row["wall_s"] = time.perf_counter() - start
            rows.append(row)
    # recall of Edge vs local mode's exact answers, where both ran
    for row in rows:
        if row.get("backend") != "edge" or "ids" not in row:
            continue
        local = next((r for r in rows if r.get("backend") == "local" and r.get("n") == row["n"] and "ids" in r), None)
        if local:
            k = len(local["ids"]["engine"])
            row["engine"]["recall@10_vs_local"] = _recall(row["ids"]["engine"][:k], local["ids"]["engine"])
    for row in rows:
        row.pop("ids", None)
    payload = {"machine": machine(), "goals": {"edge_8_seed_over_plain_max": 4.0, "recall@10_min": 0.95}, "results": rows}
    write(args.name, payload, report(rows))
    print(report(rows))


def report(rows: list[dict]) -> str:
    lines = [
        "# Scale: qdrant-client local mode vs Qdrant Edge",
        "",
        "Structured 512-d catalogs (`clustered_vectors`, cosine, payload `tenant`), 8 seeds per query, limit 10, RRF.",
        "`plain`: one nearest-neighbour search; `engine`: one request, 8 prefetches + RRF in the engine, no provenance;",
        "`batch`: GenerativeSearch's default (fusion auto, provenance on): one batch of 8 searches, RRF on the client.",
        "Latency medians in ms (ratio: median of per-query ratios, each pair run back to back); recall@10 of the",
        "fused top 10 against exact search. Each backend ran in its own process (peak RSS is per process).",
        f"HNSW search breadth: {'hnsw_ef=' + str(HNSW_EF) if HNSW_EF else 'the engine default'} (`--hnsw-ef`).",
        "",
        "| n | backend | ingest pts/s | index build s | plain ms | engine ms (ratio) | batch ms (ratio) | recall@10 plain / engine / batch | queries | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']:,} | {r['backend']} | {r['error']} ||||||||")
            continue
        build = f"{r['index_build_s']:.1f}" if "index_build_s" in r else (
            "not finished" if r.get("incomplete") and r["backend"] == "edge" else "—")

        def cell(mode: str) -> str:
            if mode not in r:
                return "—"
            return f"{r[mode]['median_ms']:.2f} ({r[mode]['median_ratio_to_plain']:.2f}×)"

        if "plain" not in r:
            lines.append(f"| {r['n']:,} | {r['backend']} | {r.get('ingest_points_per_s', 0):,.0f} | {build} | — | — | — | — | 0 | "
                         f"{r.get('peak_rss_mb', 0):,.0f} |")
            continue

        recalls = " / ".join(f"{r[m]['recall@10']:.3f}" if m in r else "—" for m in ("plain", "engine", "batch"))
        lines.append(
            f"| {r['n']:,} | {r['backend']} | {r['ingest_points_per_s']:,.0f} | {build} | {r['plain']['median_ms']:.2f} | "
            f"{cell('engine')} | {cell('batch')} | {recalls} | {r['plain']['queries']} | {r['peak_rss_mb']:,.0f} |"
        )
    lines += ["", "Edge exact search (the recall reference):", ""]
    for r in rows:
        if r.get("backend") == "edge" and "exact_plain" in r:
            lines.append(f"- n={r['n']:,}: exact plain {r['exact_plain']['median_ms']:.2f} ms, exact 8-seed "
                         f"{r['exact_engine']['median_ms']:.2f} ms; {r.get('segments')} segments after optimize()")
    for r in rows:
        if "unindexed" in r:
            u = r["unindexed"]
            lines.append(f"- n={r['n']:,}, right after ingest (no HNSW yet, exact scans): plain {u['plain']['median_ms']:.0f} ms, "
                         f"8-seed {u['engine']['median_ms']:.0f} ms ({u['plain']['queries']} queries)")
        if r.get("incomplete"):
            lines.append(f"- n={r['n']:,} {r['backend']}: {r['incomplete']}")
    lines += ["", "Local mode is brute-force Python: it is exact (recall 1 by construction), and above 100k points it",
              "runs only a few queries and no batch mode."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
