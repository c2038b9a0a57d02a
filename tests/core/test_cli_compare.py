"""``genseek compare``: plain vs generative search on an existing collection, evaluation, map, errors."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from qdrant_client import QdrantClient

import genseek.testing
from genseek.cli import main
from genseek.plugin import registry as registry_module
from genseek.testing import HashingEncoder, make_collection

MOODS = ("calm", "energetic", "sad", "happy", "dark")
GENRES = ("rock", "jazz", "techno", "folk", "metal", "reggae")
INSTRUMENTS = ("piano", "guitar", "drums", "violin", "synth")
CAPTIONS = [f"{m} {g} with {i}" for m, g, i in itertools.product(MOODS, GENRES, INSTRUMENTS)]
SHOPS = ("acme", "globex")


def _store(path, name: str, vectors: np.ndarray) -> None:
    client = QdrantClient(path=str(path))
    make_collection(client, name, vectors, vector_name="text",
                    payload=lambda i: {"caption": CAPTIONS[i], "shop": SHOPS[i % 2]})
    client.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 150-caption collection (hashing vectors, named vector ``text``), a 32-d one, and a tiny prior."""
    from genseek.training import PairSet, TrainConfig, train

    root = tmp_path_factory.mktemp("compare")
    encoder = HashingEncoder()
    vectors = encoder.encode(CAPTIONS)
    _store(root / "qdrant", "tracks", vectors)
    _store(root / "small", "small", HashingEncoder(dim=32).encode(CAPTIONS))
    texts, targets = [], []
    for caption, vector in zip(CAPTIONS, vectors):
        mood, genre, _, instrument = caption.split()
        for query in (f"{mood} {genre}", f"{genre} {instrument}", genre):
            texts.append(query)
            targets.append(vector)
    pairs = PairSet(encoder.encode(texts), np.stack(targets))
    config = TrainConfig(width=32, depth=1, noise_embed_dim=16, steps=50, batch_size=64, warmup_steps=3,
                         progress=False, threads=1, query_encoder="hashing", target_encoder="hashing")
    train(config, pairs, root / "prior")
    return {"root": root, "path": str(root / "qdrant"), "small": str(root / "small"), "prior": str(root / "prior"),
            "vectors": vectors}


@pytest.fixture(autouse=True)
def testing_registry(monkeypatch):
    monkeypatch.setattr(registry_module, "_default", registry_module.build_registry(extra_plugins=[genseek.testing]))


def _base(world, *extra: str) -> list[str]:
    return ["compare", "--path", world["path"], "--collection", "tracks", "--vector", "text", "--encoder", "hashing",
            "--prior", world["prior"], "--width", "160", *extra]


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_table_marks_genseek_only_results_and_the_seed_that_found_them(world, capsys):
    data = _json(capsys, _base(world, "calm jazz", "--show", "caption", "--limit", "6", "--json"))
    assert main(_base(world, "calm jazz", "--show", "caption", "--limit", "6")) == 0
    out = capsys.readouterr().out
    plain_ids = {row["id"] for row in data["plain"]}
    assert len(data["plain"]) == len(data["genseek"]) == 6
    assert all(row["new"] == (row["id"] not in plain_ids) for row in data["genseek"])
    assert any(row["new"] for row in data["genseek"]), "an almost untrained prior finds points plain search does not"
    assert data["genseek_only"] == sum(row["new"] for row in data["genseek"])
    assert data["seeds"] == [f"seed {i}" for i in range(8)]
    for row in data["genseek"]:
        assert row["found_by"] == min(row["hits"], key=lambda h: (h["rank"], not h["anchor"], h["row"]))["label"]
    assert all(row["caption"] in CAPTIONS for row in data["plain"] + data["genseek"])

    lines = out.splitlines()
    assert "no anchor encoder given: plain search uses the query encoder" in out
    assert f"query 'calm jazz': {data['genseek_only']} of 6 genseek results are not in plain search's top 6" in out
    table = [line for line in lines if "│" in line][1:]  # the header row first
    assert len(table) == 6
    for line, plain, generative in zip(table, data["plain"], data["genseek"]):
        left, right = line.split("│")
        assert left.split()[:2] == [str(plain["rank"]), str(plain["id"])]
        assert right.startswith(" + " if generative["new"] else "   ")
        assert str(generative["id"]) in right and generative["found_by"] in right
        assert len(line) <= 160


def test_the_anchor_is_plain_search_and_is_named_when_it_found_a_result(world, capsys):
    data = _json(capsys, _base(world, "sad metal", "--anchor-encoder", "hashing", "--json"))
    assert data["seeds"][-1] == "anchor"
    assert data["settings"]["plain"] == {"encoder": "hashing", "uses_query_encoder": False}
    assert data["settings"]["genseek"]["anchor"]["weight"] == 4.0
    assert any(row["found_by"] == "anchor" for row in data["genseek"])
    assert all(not row["new"] for row in data["genseek"] if row["found_by"] == "anchor"
               and row["hits"][0]["rank"] < len(data["plain"]))
    assert main(_base(world, "sad metal", "--anchor-encoder", "hashing", "--show", "caption")) == 0
    out = capsys.readouterr().out
    assert "+ anchor ('hashing', weight 4)" in out and "anchor" in out.split("│", 2)[-1]
    assert "no anchor encoder given" not in out


def test_narrow_terminal_stacks_the_lists(world, capsys):
    assert main(_base(world, "happy folk", "--show", "caption", "--limit", "3") + ["--width", "60"]) == 0
    out = capsys.readouterr().out
    assert "│" not in out and "plain search:" in out and "genseek:" in out
    assert all(len(line) <= 60 for line in out.splitlines())


def test_tenant_scopes_both_searches(world, capsys):
    data = _json(capsys, _base(world, "dark techno", "--tenant-field", "shop", "--tenant", "acme", "--json"))
    assert data["settings"]["tenant"] == {"field": "shop", "value": "acme"}
    assert all(row["id"] % 2 == 0 for row in data["plain"] + data["genseek"])


def test_queries_without_qrels_report_overlap_and_new_results(world, capsys, tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("calm jazz\n\nenergetic rock with drums\n", encoding="utf-8")
    argv = _base(world, "--queries", str(queries), "--limit", "5", "--no-progress")
    data = _json(capsys, argv + ["--json"])
    assert [row["qid"] for row in data["per_query"]] == ["1", "3"]  # line numbers, the blank line counted
    assert data["relevance"] is None and data["k"] == 5 and data["depth"] == 100
    for row in data["per_query"]:
        overlap = len(set(row["plain"]) & set(row["genseek"])) / 5
        assert row["overlap@5"] == pytest.approx(overlap)
        assert 0.0 <= row["new@5"] <= 1.0 - overlap + 1e-9
    assert data["overlap@5"] == pytest.approx(np.mean([r["overlap@5"] for r in data["per_query"]]))
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"overlap@5: {data['overlap@5']:.3f}" in out and f"new@5: {data['new@5']:.3f}" in out
    assert "relevance (P@10, nDCG@10, R@100) needs judgements: pass --qrels FILE" in out


def test_queries_with_qrels_evaluate_both_searches(world, capsys, tmp_path):
    pytest.importorskip("ir_measures")
    queries = tmp_path / "queries.tsv"
    queries.write_text("q-jazz\tcalm jazz\nq-rock\trock guitar\nq-none\tsynth\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    judged = {"q-jazz": lambda c: "jazz" in c, "q-rock": lambda c: "rock" in c and "guitar" in c}
    qrels.write_text("".join(f"{qid} 0 {i} {int(rule(c))}\n" for qid, rule in judged.items()
                             for i, c in enumerate(CAPTIONS)), encoding="utf-8")
    argv = _base(world, "--queries", str(queries), "--qrels", str(qrels), "--no-progress")
    data = _json(capsys, argv + ["--json"])
    relevance = data["relevance"]
    assert relevance["judged"] == 2
    assert set(relevance["measures"]) == {"P@10", "nDCG@10", "R@100"}
    for values in relevance["measures"].values():
        assert set(values) == {"plain", "genseek"} and all(0.0 <= v <= 1.0 for v in values.values())
    for row in data["per_query"][:2]:  # P@10 as ir-measures computes it = the judged share of the top 10
        for system in ("plain", "genseek"):
            share = sum(judged[row["qid"]](CAPTIONS[i]) for i in row[system]) / 10
            assert row["P@10"][system] == pytest.approx(share)
    assert "P@10" not in next(row for row in data["per_query"] if row["qid"] == "q-none")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 of 3 queries judged" in out
    plain, genseek = relevance["measures"]["R@100"]["plain"], relevance["measures"]["R@100"]["genseek"]
    assert f"R@100      {plain:>8.3f} {genseek:>8.3f} {genseek - plain:>+8.3f}" in out


def test_plot_writes_a_png(world, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "maps" / "map.png"
    data = _json(capsys, _base(world, "calm jazz", "--anchor-encoder", "hashing", "--show", "caption",
                               "--plot", str(out), "--projection", "pca", "--json"))
    assert data["plot"] == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < out.stat().st_size < 300_000


def test_plot_without_matplotlib_says_what_to_install(world, capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(_base(world, "calm jazz", "--plot", str(tmp_path / "map.png"))) == 1
    err = capsys.readouterr().err
    assert "genseek compare --plot needs the 'matplotlib' package" in err and "genseek[train]" in err
    assert not (tmp_path / "map.png").exists()


def test_guidance_reaches_the_prior(world, capsys):
    default = _json(capsys, _base(world, "calm jazz", "--json"))
    steered = _json(capsys, _base(world, "calm jazz", "--guidance", "0", "--json"))
    assert default["settings"]["genseek"]["guidance_given"] is False
    assert steered["settings"]["genseek"]["guidance"] == 0.0 and steered["settings"]["genseek"]["guidance_given"]
    assert [r["id"] for r in default["genseek"]] != [r["id"] for r in steered["genseek"]]
    assert [r["id"] for r in default["plain"]] == [r["id"] for r in steered["plain"]]


def test_edge_catalog(world, capsys, tmp_path):
    pytest.importorskip("qdrant_edge")
    from genseek.adapters.qdrant_edge import build_catalog

    catalog = build_catalog(tmp_path / "edge", world["vectors"], [{"caption": c} for c in CAPTIONS],
                            vector_name="text", name="tracks", progress=False)
    catalog.close()
    argv = ["compare", "calm jazz", "--edge", str(tmp_path / "edge"), "--vector", "text", "--encoder", "hashing",
            "--prior", world["prior"], "--json"]
    edge = _json(capsys, argv)
    local = _json(capsys, _base(world, "calm jazz", "--json"))
    assert [row["id"] for row in edge["plain"]] == [row["id"] for row in local["plain"]]
    assert edge["settings"]["collection"] == "tracks"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--collection": "nope"}, "collection 'nope' does not exist"),
        ({"--vector": "nope"}, "has no vector named 'nope'"),
        ({"--encoder": "nope"}, "unknown encoder 'nope'"),
        ({"--prior": None}, "needs a prior trained for this collection's vector: pass --prior DIR"),
        ({"--prior": "no-such-prior"}, "'no-such-prior' is neither a weights directory nor a shipped prior"),
        ({"--prior": "musiccaps-e5-minilm"}, "expects 384-d queries but encoder 'hashing' gives 64-d"),
        ({"--path": "small", "--collection": "small"},
         "produces 64-d seeds but vector 'text' of collection 'small' is 32-d"),
        ({"--anchor-encoder": "hashing", "--anchor-encoder-option": "dim=16"}, "anchor encoder 'hashing' gives 16-d"),
        ({"--tenant": "acme"}, "give both or neither"),
        ({"--queries": "missing.txt"}, "give one query"),
        ({"--encoder-option": "dim"}, "--encoder-option takes KEY=VALUE"),
    ],
)
def test_errors_exit_1_naming_the_problem(world, capsys, change, message):
    argv = _base(world, "calm jazz")
    for flag, value in change.items():
        if flag in argv:
            at = argv.index(flag)
            del argv[at: at + 2]
        if value is not None:
            argv += [flag, world[value] if flag == "--path" else value]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("genseek: error: ") and message in err


def test_bad_queries_and_qrels_files(world, capsys, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("calm jazz\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("7 0 3 1\n", encoding="utf-8")
    assert main(_base(world, "--queries", str(queries), "--qrels", str(qrels), "--no-progress")) == 1
    assert "judge query ids the queries file does not have: '7'" in capsys.readouterr().err
    qrels.write_text("1 0 3\n", encoding="utf-8")
    assert main(_base(world, "--queries", str(queries), "--qrels", str(qrels), "--no-progress")) == 1
    assert "line 1: expected 'qid 0 docid rel'" in capsys.readouterr().err
    queries.write_text("a\tcalm jazz\na\trock\n", encoding="utf-8")
    assert main(_base(world, "--queries", str(queries), "--no-progress")) == 1
    assert "lines 1 and 2 both have query id 'a'" in capsys.readouterr().err


def test_qrels_need_rankings_deep_enough_for_recall_at_100(world, capsys, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("calm jazz\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 3 1\n", encoding="utf-8")
    assert main(_base(world, "--queries", str(queries), "--qrels", str(qrels), "--depth", "20", "--no-progress")) == 1
    assert "needs --depth 100 or more (got 20)" in capsys.readouterr().err
