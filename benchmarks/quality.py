"""Does generative search beat plain search? MusicCaps with relevance the prior never saw.

Relevance comes from the clips' AudioSet labels (assigned independently of the captions the
priors are trained on) and from aspect containment (:mod:`genseek.training.relevance`):

* ``labels`` (a) — genre / mood / instrument class names with >= 30 clips ("Reggae", "Sad music");
* ``intents-genre`` (b) — broad genres whose child genres are the intents ("Rock music");
  ``intents-instrument`` is the same for instrument families (reported, not a goal);
* ``aspects`` (c) — aspect subsets of held-out clips; relevant: the source clip and every clip
  whose aspects contain all the query's aspects;
* ``multilingual`` — hand-written German / Spanish / French label and aspect queries;
* ``tune`` — aspect subsets of *training* clips: the only set the anchor weight is chosen on.

Two catalogs: ``full`` (all 5,521 captions: the user's own catalog, on which the priors were
trained, GD-Retriever's in-domain setting) and ``heldout`` (the 1,104 held-out clips only).

Every contender runs through :class:`genseek.GenerativeSearch` on Qdrant local mode — encoder,
sampler, adapter, fusion — exactly as an application calls it. Plain search is what the user
already has: the query embedded with the catalog's own encoder (all-MiniLM-L6-v2), one
nearest-neighbour request. Query embeddings are computed once per text with the real encoders
(cached on disk) and served to the searches by a lookup encoder, so ``ms/query`` is sampling +
search + fusion; the encoders' own cost is measured separately (``encode_ms``).

Measures are computed by ir-measures (trec_eval for P@10 / nDCG@10 / R@100, ndeval for
α-nDCG@10 and intent coverage@10 = subtopic recall).

Run: ``python benchmarks/quality.py`` (add ``--aspect-queries 0`` for every held-out clip).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import RESULTS, machine  # noqa: E402

from genseek import GenerativeSearch  # noqa: E402
from genseek.demo import DEMO  # noqa: E402
from genseek.encoders.base import Encoder, Modality  # noqa: E402
from genseek.samplers.diffusion import DiffusionSampler  # noqa: E402
from genseek.samplers.regression import RegressionSampler  # noqa: E402
from genseek.training.baselines import FeedbackSampler, NearestPairsSampler  # noqa: E402
from genseek.training.diagnostics import condition_sensitivity, seed_label_purity  # noqa: E402
from genseek.training.ireval import evaluate_rankings  # noqa: E402
from genseek.training.metrics import miscs  # noqa: E402
from genseek.training.musiccaps_data import load_musiccaps_data  # noqa: E402
from genseek.training.musiccaps_prior import QUERY_ENCODERS  # noqa: E402
from genseek.training.relevance import (  # noqa: E402
    QuerySet,
    aspect_subset_queries,
    intent_queries,
    label_queries,
    load_ontology,
    multilingual_queries,
    restrict,
)
from genseek.training.textembed import embed_texts  # noqa: E402

COLLECTIONS = {"full": "musiccaps_full", "heldout": "musiccaps_heldout"}
VECTOR = "caption"
#: Registered ids of the real encoders the lookup encoders stand in for (so priors' query-encoder checks apply).
ENCODER_IDS = {name: encoder_id for name, (_, encoder_id) in QUERY_ENCODERS.items()}
ANCHOR_WEIGHTS = (1.0, 2.0, 4.0, 8.0, 16.0)


class LookupEncoder(Encoder):
    """Serves embeddings computed beforehand by a real encoder (same vectors, no model in the loop)."""

    modalities = frozenset({"text"})
    dim = 384

    def __init__(self, name: str, vectors: dict[str, np.ndarray]) -> None:
        self.id = ENCODER_IDS[name]  # type: ignore[misc]
        self._vectors = vectors

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        return np.stack([self._vectors[str(item)] for item in items])


@dataclass
class Contender:
    """One way of searching: a sampler with its query encoder, and whether the anchor is on."""

    name: str
    sampler: Callable[[], Any]
    query_encoder: str = "minilm"
    anchor: bool = False
    n_seeds: int = DEMO.n_seeds
    controls: dict[str, Any] = field(default_factory=dict)
    family: str = ""


def embed_all(query_sets: list[QuerySet]) -> dict[str, dict[str, np.ndarray]]:
    """Every query text embedded with MiniLM and e5-small (cached on disk by ``embed_texts``)."""
    texts = sorted({t for qs in query_sets for t in qs.texts})
    return {name: dict(zip(texts, embed_texts(name, texts, progress=True))) for name in ENCODER_IDS}


def measure_encoders(texts: list[str], count: int = 40) -> dict[str, float]:
    """Median ms to embed one query with each real encoder (what a live search adds)."""
    from genseek.demo import query_encoder
    from genseek.plugin.registry import get_registry

    encoders = {"minilm": get_registry().create("encoder", "hf-text"), "e5-small": query_encoder()}
    out = {}
    for name, encoder in encoders.items():
        encoder.encode(texts[0])  # load
        samples = []
        for text in texts[:count]:
            start = time.perf_counter()
            encoder.encode(text)
            samples.append((time.perf_counter() - start) * 1e3)
        out[name] = round(statistics.median(samples), 2)
    return out


def build_catalogs(data) -> Any:
    from qdrant_client import QdrantClient, models

    client = QdrantClient(":memory:")
    for name, ids in (("full", np.arange(len(data.clips))), ("heldout", data.test_clips)):
        client.create_collection(COLLECTIONS[name], vectors_config={VECTOR: models.VectorParams(size=384, distance=models.Distance.DOT)})
        for start in range(0, len(ids), 512):
            chunk = ids[start : start + 512]
            client.upsert(COLLECTIONS[name], [
                models.PointStruct(id=int(i), vector={VECTOR: data.catalog[int(i)].tolist()}, payload={"caption": data.clips[int(i)].caption})
                for i in chunk
            ])
    return client


def run_set(search: GenerativeSearch, query_set: QuerySet, contender: Contender, *, limit: int,
            anchor_weight: float | None = None, catalog: np.ndarray | None = None) -> dict[str, Any]:
    """Run every query of the set through ``search``; returns rankings, seed diversity and timings.

    With ``catalog`` (all clips' vectors, indexed like the query set's relevance), also the
    condition sensitivity and label purity of the generated seeds.
    """
    rankings: dict[str, list[int]] = {}
    diversity, times, seeds = [], [], []
    for number, query in enumerate(query_set.queries):
        kwargs = dict(contender.controls)
        if contender.anchor:
            kwargs["anchor"] = True
            if anchor_weight is not None:
                kwargs["anchor_weight"] = anchor_weight
        result = search.search(query.text, n_seeds=contender.n_seeds, limit=limit, seed=number, with_payload=False, **kwargs)
        rankings[query.qid] = [int(p.id) for p in result.points]
        generated = result.generated_seeds
        seeds.append(generated)
        if len(generated) > 1:
            diversity.append(miscs(generated))
        timings = result.info["timings_ms"]
        times.append(timings["total_ms"] - timings.get("anchor_encode_ms", 0.0))
    out = {"rankings": rankings, "miscs": float(np.mean(diversity)) if diversity else None,
           "ms_per_query": round(statistics.median(times), 2)}
    if catalog is not None and contender.n_seeds > 1 and len(query_set) >= 10 and len({len(s) for s in seeds}) == 1:
        stacked = np.stack(seeds)
        sets = [sorted(q.relevant) for q in query_set.queries]
        sensitivity = condition_sensitivity(stacked, catalog, sets, k=10)
        out.update(cond_gap=sensitivity["cosine_gap"], own_of_k=sensitivity["own_of_k"],
                   seed_purity=seed_label_purity(stacked, catalog, sets))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--joint", default="src/genseek/data/priors/musiccaps-minilm", help="joint prior (MiniLM queries)")
    parser.add_argument("--e5", default="src/genseek/data/priors/musiccaps-e5-minilm", help="non-joint prior (e5-small queries)")
    parser.add_argument("--regression", default=None, help="regression prior (e5-small queries), if trained")
    parser.add_argument("--demo", default="e5", choices=["joint", "e5"], help="which prior is the demo's (with the anchor)")
    parser.add_argument("--aspect-queries", type=int, default=300, help="held-out aspect queries to sample (0: all)")
    parser.add_argument("--tune-queries", type=int, default=200)
    parser.add_argument("--guidance", type=float, default=DEMO.guidance, help="guidance ω of the diffusion priors (default: the demo's)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-queries", type=int, default=0, help="cap every query set (a smoke run; 0: no cap)")
    parser.add_argument("--out", default=str(RESULTS / "quality"))
    args = parser.parse_args()
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = load_musiccaps_data(progress=False)
    clips, ontology = data.clips, load_ontology()
    aspects = aspect_subset_queries(clips, data.test_clips, seed=2)
    tune = aspect_subset_queries(clips, data.train_clips, seed=3, name="tune")
    rng = np.random.default_rng(0)
    if args.aspect_queries:
        aspects = QuerySet(aspects.name, tuple(aspects.queries[i] for i in sorted(rng.choice(len(aspects), args.aspect_queries, replace=False))), aspects.description)
    tune = QuerySet(tune.name, tuple(tune.queries[i] for i in sorted(rng.choice(len(tune), args.tune_queries, replace=False))), tune.description)
    sets = {
        "labels": label_queries(clips, ontology),
        "intents-genre": intent_queries(clips, ontology, root="genre"),
        "intents-instrument": intent_queries(clips, ontology, root="instrument"),
        "aspects": aspects,
        "multilingual": multilingual_queries(clips, ontology),
    }
    if args.max_queries:
        sets = {name: QuerySet(qs.name, qs.queries[: args.max_queries], qs.description) for name, qs in sets.items()}
        tune = QuerySet(tune.name, tune.queries[: args.max_queries], tune.description)
    vectors = embed_all([*sets.values(), tune])
    encoders = {name: LookupEncoder(name, table) for name, table in vectors.items()}
    encode_ms = measure_encoders(sets["labels"].texts)
    client = build_catalogs(data)
    train_pairs = {name: data.train_pairs(query_encoder=name, progress=False) for name in ("minilm",)}

    def plain_top(collection: str) -> Callable[[np.ndarray, int], np.ndarray]:
        plain = GenerativeSearch(client, collection, encoder=None, sampler="identity", vector_name=VECTOR)

        def top(query: np.ndarray, n: int) -> np.ndarray:
            result = plain.search(vector=query, n_seeds=1, limit=n, with_payload=False, with_vectors=True)
            return np.stack([np.asarray(p.vector[VECTOR], np.float32) for p in result.points])
        return top

    guidance = {"guidance": args.guidance}
    contenders = [Contender("plain", lambda: "identity", n_seeds=1, family="plain")]
    for anchored in (False, True):
        tag = " + anchor" if anchored else ""
        contenders += [
            Contender(f"feedback{tag}", lambda c: FeedbackSampler(plain_top(c), dim=384), anchor=anchored, family="feedback"),
            Contender(f"nearest-pairs{tag}", lambda: NearestPairsSampler(train_pairs["minilm"], query_encoder="hf-text"), anchor=anchored, family="nearest-pairs"),
        ]
        if Path(args.joint).exists():
            contenders.append(Contender(f"joint prior{tag}", lambda: DiffusionSampler(args.joint), anchor=anchored, controls=guidance, family="joint"))
        if Path(args.e5).exists():
            contenders.append(Contender(f"e5 prior{tag}", lambda: DiffusionSampler(args.e5), "e5-small", anchor=anchored, controls=guidance, family="e5"))
        if args.regression and Path(args.regression).exists():
            contenders.append(Contender(f"regression{tag}", lambda: RegressionSampler(args.regression), "e5-small", anchor=anchored, n_seeds=1, family="regression"))

    def searcher(contender: Contender, catalog: str) -> GenerativeSearch:
        collection = COLLECTIONS[catalog]
        factory = contender.sampler
        sampler = factory(collection) if contender.family == "feedback" else factory()
        return GenerativeSearch(client, collection, encoder=encoders[contender.query_encoder], sampler=sampler,
                                vector_name=VECTOR, fuser="rrf", anchor_encoder=encoders["minilm"] if contender.anchor else None)

    # 1. the anchor weight, chosen on training-clip queries only (full catalog)
    tuning: dict[str, Any] = {}
    plain_tune = evaluate_rankings(tune, run_set(searcher(contenders[0], "full"), tune, contenders[0], limit=args.limit)["rankings"])
    tuning["plain"] = plain_tune
    chosen: dict[str, float] = {}
    for contender in contenders:
        if not contender.anchor:
            continue
        search = searcher(contender, "full")
        rows = {}
        for weight in ANCHOR_WEIGHTS:
            rows[weight] = evaluate_rankings(tune, run_set(search, tune, contender, limit=args.limit, anchor_weight=weight)["rankings"])
        keep = [w for w in ANCHOR_WEIGHTS if rows[w]["P@10"] >= plain_tune["P@10"]] or [max(rows, key=lambda w: rows[w]["P@10"])]
        chosen[contender.name] = max(keep, key=lambda w: rows[w]["R@100"])
        tuning[contender.name] = {"by_weight": {str(w): v for w, v in rows.items()}, "chosen": chosen[contender.name]}
        print(f"tuned {contender.name}: anchor weight {chosen[contender.name]}", flush=True)

    # 2. every contender on every test set and catalog
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for catalog in ("full", "heldout"):
        items = np.arange(len(clips)) if catalog == "full" else data.test_clips
        for set_name, query_set in sets.items():
            scoped = query_set if catalog == "full" else restrict(query_set, items)
            if not len(scoped):
                continue
            key = f"{set_name}/{catalog}"
            results[key] = {}
            for contender in contenders:
                run = run_set(searcher(contender, catalog), scoped, contender, limit=args.limit,
                              anchor_weight=chosen.get(contender.name), catalog=data.catalog)
                row = evaluate_rankings(scoped, run.pop("rankings"))
                row.update(run, queries=len(scoped))
                if contender.anchor:
                    row["anchor_weight"] = chosen[contender.name]
                results[key][contender.name] = row
                print(key, contender.name, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)

    demo = f"{args.demo} prior + anchor"
    goals = goal_table(results, demo)
    payload = {
        "machine": machine(), "seconds": round(time.perf_counter() - started, 1), "demo_configuration": demo,
        "guidance": args.guidance, "encode_ms": encode_ms, "limit": args.limit, "tuning": tuning, "results": results,
        "goals": goals, "priors": {"joint": args.joint, "e5": args.e5, "regression": args.regression},
        "query_sets": {name: {"queries": len(qs), "description": qs.description} for name, qs in sets.items()},
    }
    (out.parent / f"{out.name}.json").write_text(json.dumps(payload, indent=1, default=float) + "\n")
    plots = plot(results, out)
    (out.parent / f"{out.name}.md").write_text(report(payload, plots, out.name))
    print((out.parent / f"{out.name}.md").read_text())
    return 0


def goal_table(results: dict[str, dict[str, dict[str, Any]]], demo: str) -> list[dict[str, Any]]:
    """The issue's goals for the demo configuration against plain search (full catalog, test queries)."""
    checks = [
        ("labels/full", "P@10", 1.0), ("aspects/full", "P@10", 1.0), ("labels/full", "R@100", 1.1),
        ("aspects/full", "R@100", 1.1), ("intents-genre/full", "intent-coverage@10", 1.2), ("multilingual/full", "P@10", 1.5),
    ]
    rows = []
    for key, measure, factor in checks:
        if key not in results or demo not in results[key]:
            continue
        plain, ours = results[key]["plain"][measure], results[key][demo][measure]
        rows.append({"set": key, "measure": measure, "plain": plain, "genseek": ours,
                     "ratio": ours / plain if plain else float("inf"), "goal": f">= {factor}x plain",
                     "met": bool(ours >= factor * plain)})
    return rows


def plot(results: dict[str, dict[str, dict[str, Any]]], out: Path) -> list[str]:
    from genseek.training.plots import _pyplot

    plt = _pyplot()
    names = []
    panels = [("labels/full", "P@10"), ("labels/full", "R@100"), ("aspects/full", "P@10"), ("aspects/full", "R@100"),
              ("intents-genre/full", "intent-coverage@10"), ("multilingual/full", "P@10")]
    panels = [p for p in panels if p[0] in results]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.4 * len(panels)), constrained_layout=True)
    for ax, (key, measure) in zip(np.atleast_1d(axes), panels):
        rows = results[key]
        labels = list(rows)
        values = [rows[name][measure] for name in labels]
        colors = ["#777777" if name == "plain" else ("#1f77b4" if "anchor" in name else "#9ecae1") for name in labels]
        ax.barh(labels, values, color=colors)
        ax.axvline(rows["plain"][measure], color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{key}: {measure} (dashed: plain search)", fontsize=10)
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
    path = out / "quality.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    names.append(path.name)
    return names


def report(payload: dict[str, Any], plots: list[str], folder: str) -> str:
    measures = ("P@10", "nDCG@10", "R@100", "alpha-nDCG@10", "intent-coverage@10", "miscs", "cond_gap", "own_of_k",
                "seed_purity", "ms_per_query")
    lines = [
        "# Quality: generative search against plain search (MusicCaps, AudioSet-label relevance)", "",
        f"One run of `python benchmarks/quality.py` ({payload['seconds']} s). Relevance never seen by a prior: AudioSet "
        "labels and aspect containment. Every contender runs through `GenerativeSearch` on Qdrant local mode; "
        "plain = the query embedded with the catalog's own encoder (MiniLM), one nearest-neighbour request. "
        f"The demo's configuration: **{payload['demo_configuration']}**. Anchor weights chosen on training-clip "
        "queries only (`tune`). ms/query excludes query encoding; the encoders add "
        + ", ".join(f"{k} {v} ms" for k, v in payload["encode_ms"].items()) + " per query.", "",
        "## Goals (demo configuration, full catalog)", "",
        "| set | measure | plain | genseek | ratio | goal | met |", "|---|---|---|---|---|---|---|",
    ]
    for g in payload["goals"]:
        lines.append(f"| {g['set']} | {g['measure']} | {g['plain']:.3f} | {g['genseek']:.3f} | {g['ratio']:.2f} | {g['goal']} | {'yes' if g['met'] else 'no'} |")
    for key, rows in payload["results"].items():
        present = [m for m in measures if any(m in r and r[m] is not None for r in rows.values())]
        lines += ["", f"## {key} ({next(iter(rows.values()))['queries']} queries)", "",
                  "| contender | " + " | ".join(present) + " |", "|---" * (len(present) + 1) + "|"]
        for name, row in rows.items():
            cells = []
            for m in present:
                value = row.get(m)
                cells.append("—" if value is None else (f"{value:.3f}" if isinstance(value, float) and m != "ms_per_query" else str(value)))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Anchor weight tuning (training-clip queries, full catalog)", ""]
    for name, row in payload["tuning"].items():
        if name == "plain":
            lines.append(f"- plain: P@10 {row['P@10']:.3f}, R@100 {row['R@100']:.3f}")
        else:
            cells = ", ".join(f"w={w}: P@10 {v['P@10']:.3f} R@100 {v['R@100']:.3f}" for w, v in row["by_weight"].items())
            lines.append(f"- {name}: chosen w={row['chosen']} ({cells})")
    lines += ["", *[f"![{p}]({folder}/{p})" for p in plots], ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
