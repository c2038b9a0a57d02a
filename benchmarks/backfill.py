"""Backfill throughput and memory: encode a text payload field into a new named vector.

Scenario (Qdrant local mode, in memory): a *legacy* app collection that genseek did not create
(one 32-d ``legacy`` vector, a ``caption`` and a ``shop`` payload on every point) gets a new
``minilm`` vector through the migration runner — ``add_vector`` (``create_vector_name``) then a
resumable ``backfill`` with the MiniLM ``hf-text`` encoder (all-MiniLM-L6-v2, 384-d), batches of
256 points. Captions are the bundled MusicCaps captions, repeated with a suffix to reach N points.

Measured per collection size, each in a fresh subprocess (so memory baselines are independent):

* ``points/s`` of the backfill, and of the bare encoder on the same texts (the **baseline**,
  measured in the same process: the ratio is the cost of scrolling, writing and checkpointing);
* resident memory (VmRSS, sampled every 20 ms): at the start of the backfill, peak during it,
  the growth, the bytes of the vectors written (which the in-memory collection must hold), and
  the growth *minus* those bytes — the backfill's own working memory, which must not grow with N;
* RSS at each tenth of the progress (the curve must be flat apart from the stored vectors).

For large N on this 2-core machine the encoded subset can be limited (``--encode``): the backfill
then runs with a tenant filter over the full collection (the scroll still walks all N points).

Control: ``--encoder hashing --name backfill_hashing`` runs the same migration with the weightless
test encoder, so the memory left is the migration machinery's own (scroll pages, writes, ledger).

Run: ``python benchmarks/backfill.py [--sizes 10000 100000] [--encode 0 5000] [--encoder hf-text]``
(``0`` = encode every point; ``GENSEEK_BENCH_BASELINE`` = texts in the encoder-alone baseline,
default 256). Results: ``benchmarks/results/backfill.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write  # noqa: E402

SHOPS = 20
BATCH = 256


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.samples = interval, 0, []
        self.progress = 0
        self._halt = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self._halt.is_set():
            value = rss_bytes()
            self.peak = max(self.peak, value)
            self.samples.append((time.perf_counter() - start, self.progress, value))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child(n: int, encode: int, encoder_id: str = "hf-text") -> dict:
    import numpy as np
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    from genseek.migrations import Migrator
    from genseek.musiccaps import load_clips
    from genseek.plugin.registry import build_registry, get_registry

    captions = [clip.caption for clip in load_clips()]
    client = QdrantClient(":memory:")
    client.create_collection("tracks", vectors_config={"legacy": models.VectorParams(size=32, distance=models.Distance.COSINE)})
    rng = np.random.default_rng(0)
    for start in range(0, n, 2048):
        stop = min(n, start + 2048)
        client.upload_collection(
            "tracks",
            vectors={"legacy": rng.standard_normal((stop - start, 32)).astype(np.float32)},
            payload=[
                {"caption": captions[i % len(captions)] + (f" [{i // len(captions)}]" if i >= len(captions) else ""),
                 "shop": f"shop{i % SHOPS}"}
                for i in range(start, stop)
            ],
            ids=list(range(start, stop)),
        )
    shops = SHOPS if not encode or encode >= n else max(1, round(SHOPS * encode / n))
    backfill_filter = None if shops == SHOPS else {"must": [{"key": "shop", "match": {"any": [f"shop{s}" for s in range(shops)]}}]}
    expected = sum(1 for i in range(n) if i % SHOPS < shops)

    if encoder_id == "hashing":  # the control: no model, so only the migration machinery's memory shows
        import genseek.testing

        registry, options = build_registry(extra_plugins=[genseek.testing]), {"dim": 384}
    else:
        registry, options = get_registry(), {}
    encoder = registry.encoder(encoder_id, **options)
    texts = [captions[i % len(captions)] for i in range(int(os.environ.get("GENSEEK_BENCH_BASELINE", "256")))]
    encoder.encode(texts[:64])  # load the weights outside every timing
    start = time.perf_counter()
    encoder.encode(texts)
    baseline_pps = len(texts) / (time.perf_counter() - start)

    plan = {
        "collection": "tracks",
        "steps": [
            {"name": "m001_add_minilm", "op": "add_vector", "vector": "minilm", "encoder": encoder_id,
             "encoder_options": options, "strategy": "in_place"},
            {"name": "m002_fill_minilm", "op": "backfill", "vector": "minilm", "field": "caption", "encoder": encoder_id,
             "encoder_options": options, "batch_size": BATCH, "filter": backfill_filter},
        ],
    }
    sampler = RssSampler()
    migrator = Migrator(client, plan, registry=registry, progress=False,
                        batch_hook=lambda name, p: setattr(sampler, "progress", p.encoded))
    migrator.apply(until="m001_add_minilm")
    rss_start = rss_bytes()
    sampler.start()
    start = time.perf_counter()
    migrator.apply()
    seconds = time.perf_counter() - start
    sampler.stop()
    record = migrator.ledger.get("tracks", "m002_fill_minilm")
    encoded = record["state"]["encoded"]
    assert encoded == expected, (encoded, expected)
    done = client.count("tracks", count_filter=models.Filter(must=[models.HasVectorCondition(has_vector="minilm")])).count
    stored = encoded * 384 * 4
    curve = []
    for tenth in range(1, 11):
        goal = encoded * tenth / 10
        reached = [rss for _, progress, rss in sampler.samples if progress >= goal]
        curve.append(round(((reached[0] if reached else sampler.samples[-1][2]) - rss_start) / 2**20, 1))
    return {
        "encoder": encoder_id,
        "points": n,
        "encoded": encoded,
        "vectors_present_after": done,
        "batch_size": BATCH,
        "seconds": seconds,
        "points_per_s": encoded / seconds,
        "baseline_encoder_points_per_s": baseline_pps,
        "ratio_to_encoder": (encoded / seconds) / baseline_pps,
        "rss_start_mib": rss_start / 2**20,
        "rss_peak_mib": sampler.peak / 2**20,
        "rss_growth_mib": (sampler.peak - rss_start) / 2**20,
        "stored_vectors_mib": stored / 2**20,
        "working_memory_mib": (sampler.peak - rss_start - stored) / 2**20,
        "rss_growth_by_tenth_mib": curve,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--encode", type=int, nargs="+", default=None,
                        help="points to encode per size (0 = all); default: all for 10k, 5k for larger sizes")
    parser.add_argument("--encoder", default="hf-text",
                        help="hf-text (MiniLM, the measurement) or hashing (no model: the machinery's own memory)")
    parser.add_argument("--name", default="backfill", help="results file name (benchmarks/results/<name>.json|md)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), int(args.child[1]), args.child[2])))
        return
    encode = args.encode or [0 if n <= 10_000 else 5_000 for n in args.sizes]
    rows = []
    for n, m in zip(args.sizes, encode):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        out = subprocess.run([sys.executable, __file__, "--child", str(n), str(m), args.encoder], check=True, capture_output=True,
                             text=True, env=env)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row))
        rows.append(row)
    lines = [
        f"# Backfill throughput and memory (encoder `{args.encoder}`, Qdrant local mode, in memory)",
        "",
        "Legacy app collection → `add_vector` (create_vector_name) → resumable `backfill` of the `caption` field, "
        f"batches of {BATCH}. Baseline: the bare encoder on 256 of the same captions, same process.",
        "",
        "| points in collection | encoded | s | points/s | encoder alone points/s | ratio | RSS growth MiB | "
        "stored vectors MiB | working memory MiB | RSS growth at 10%…100% (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['points']:,} | {r['encoded']:,} | {r['seconds']:.1f} | {r['points_per_s']:.1f} | "
            f"{r['baseline_encoder_points_per_s']:.1f} | {r['ratio_to_encoder']:.2f} | {r['rss_growth_mib']:.1f} | "
            f"{r['stored_vectors_mib']:.1f} | {r['working_memory_mib']:.1f} | {', '.join(map(str, r['rss_growth_by_tenth_mib']))} |"
        )
    lines += [
        "",
        f"Load average (1, 5, 15 min) at the end of the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} — "
        "absolute rates on a shared machine are noisy; the ratio to the encoder alone and the memory columns are the "
        "comparable numbers.",
        "",
        f"Machine: {json.dumps(machine())}",
    ]
    path_json, path_md = write(args.name, {"machine": machine(), "encoder": args.encoder, "rows": rows}, "\n".join(lines))
    print(f"wrote {path_json} and {path_md}")


if __name__ == "__main__":
    main()
