"""Evaluation pipeline: retrieval through fusers, seed metrics, sweep outputs, the eval/train CLIs."""

import json

import numpy as np
import pytest

from genseek.cli import main
from genseek.plugin.registry import get_registry
from genseek.training import TrainConfig, train
from genseek.training.evaluate import EvalSet, evaluate_method, fused_rankings, run_evaluation, top_candidates
from genseek.training.pairs import TrainingDataError
from genseek.training.synthetic import make_ambiguous_world


def _toy_eval():
    catalog = np.eye(6, dtype=np.float32)
    # query 0 relevant: items 0, 1 ; query 1 relevant: item 5
    return EvalSet(catalog, np.ones((2, 3), np.float32), np.array([0, 1]), np.array([0, 0, 2, 3, 4, 1]),
                   item_labels=np.array([0, 1, 0, 1, 0, 1]))


def test_top_candidates_exact():
    ids, scores = top_candidates(np.eye(4, dtype=np.float32), np.array([[0.1, 0.9, 0.3, 0.0]]), 2)
    assert ids.tolist() == [[1, 2]]
    assert scores[0, 0] > scores[0, 1]


def test_seeds_on_each_mode_find_all_relevant_items():
    data = _toy_eval()
    seeds = np.stack([data.catalog[[0, 1]], data.catalog[[5, 5]]])  # (2 queries, 2 seeds, 6)
    result = evaluate_method(data, seeds, fuser=get_registry().create("fuser", "rrf"), limit=6, candidates=6)
    assert result["R@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert result["R@5"] == pytest.approx(1.0)
    assert result["median_rank"] == 1.0
    assert result["miscs"] == pytest.approx((0.0 + 1.0) / 2)
    # nearest items of query 0's seeds have labels 0 and 1 -> ln 2; query 1's both label 1 -> 0
    assert result["H@n"] == pytest.approx(np.log(2) / 2)
    assert result["triplet_accuracy"] >= 0.5


def test_centroid_fuser_searches_the_mean():
    data = _toy_eval()
    seeds = np.stack([data.catalog[[0, 1]], data.catalog[[5, 4]]])
    ranked = fused_rankings(data.catalog, seeds, get_registry().create("fuser", "centroid"), limit=2, candidates=6)
    assert sorted(ranked[0]) == [0, 1] and sorted(ranked[1]) == [4, 5]


def test_evalset_validation_and_round_trip(tmp_path):
    data = _toy_eval()
    loaded = EvalSet.load(data.save(tmp_path / "e.npz"))
    np.testing.assert_array_equal(loaded.item_group, data.item_group)
    with pytest.raises(TrainingDataError, match="no relevant"):
        _ = EvalSet(data.catalog, data.queries, np.array([0, 9]), data.item_group).relevant
    with pytest.raises(TrainingDataError, match="one entry per query"):
        EvalSet(data.catalog, data.queries, np.array([0]), data.item_group)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    world = make_ambiguous_world(n_concepts=40, modes=2, items_per_mode=5, target_dim=16, query_dim=8, latent_dim=4)
    root = tmp_path_factory.mktemp("priors")
    config = dict(width=32, depth=2, noise_embed_dim=16, steps=30, batch_size=64, warmup_steps=3, progress=False, threads=1)
    pairs = world.training_pairs(per_item=1)
    train(TrainConfig(**config), pairs, root / "diffusion")
    train(TrainConfig(kind="regression", **config), pairs, root / "regression")
    queries, concepts = world.queries(world.test_concepts, per_concept=2)  # 16 queries: enough for the sensitivity check
    data = EvalSet(world.items, queries, concepts, world.item_concept, item_labels=world.item_label,
                   direct=world.mode_centres[concepts, 0])
    return root, data


def test_run_evaluation_writes_json_markdown_and_plots(trained, tmp_path):
    pytest.importorskip("matplotlib")
    from genseek.samplers.diffusion import DiffusionSampler
    from genseek.samplers.regression import RegressionSampler

    root, data = trained
    results = run_evaluation(data, tmp_path, diffusion=DiffusionSampler(str(root / "diffusion")),
                             regression=RegressionSampler(str(root / "regression")), fusers=("rrf", "dbsf"),
                             n_seeds=(4,), guidance=(0.0, 2.0), steps=4, progress=False,
                             training_logs={"diffusion": root / "diffusion"})
    methods = {(r["method"], r["fuser"], r.get("guidance")) for r in results["rows"]}
    assert ("direct", "-", None) in methods and ("regression", "-", None) in methods
    assert ("diffusion", "dbsf", 2.0) in methods and ("diffusion+direct", "rrf", 0.0) in methods
    assert set(results["plots"]) == {"loss.png", "fmd_miscs_vs_guidance.png", "recall_vs_guidance.png"}
    for name in results["plots"]:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "| regression |" in (tmp_path / "evaluation.md").read_text()
    assert json.loads((tmp_path / "evaluation.json").read_text())["rows"]
    diffusion_rows = [r for r in results["rows"] if r["method"] == "diffusion"]
    assert all({"cond_gap", "own_of_k", "cond_sensitive"} <= set(r) for r in diffusion_rows)


def test_eval_cli_reports_the_nearest_pairs_baseline(trained, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    root, data = trained
    data.save(tmp_path / "heldout.npz")
    world = make_ambiguous_world(n_concepts=40, modes=2, items_per_mode=5, target_dim=16, query_dim=8, latent_dim=4)
    pairs = world.training_pairs(per_item=1)
    np.savez(tmp_path / "pairs.npz", queries=pairs.queries, targets=pairs.targets)
    code = main(["eval", "--data", str(tmp_path / "heldout.npz"), "--diffusion", str(root / "diffusion"),
                 "--pairs", str(tmp_path / "pairs.npz"), "--guidance", "1", "--n-seeds", "3", "--steps", "3",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    rows = json.loads((tmp_path / "out" / "evaluation.json").read_text())["rows"]
    baseline = next(r for r in rows if r["method"] == "nearest-pairs")
    assert baseline["n_seeds"] == 3 and 0.0 <= baseline["R@100"] <= 1.0


def test_eval_cli(trained, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    root, data = trained
    data.save(tmp_path / "heldout.npz")
    code = main(["eval", "--data", str(tmp_path / "heldout.npz"), "--diffusion", str(root / "diffusion"),
                 "--regression", str(root / "regression"), "--guidance", "0,1", "--n-seeds", "2", "--steps", "3",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    assert "R@10" in capsys.readouterr().out
    assert (tmp_path / "out" / "evaluation.md").exists()
    assert main(["eval", "--data", str(tmp_path / "heldout.npz"), "--out", str(tmp_path / "x")]) == 1


def test_train_cli_with_validation_and_resume(tmp_path, capsys):
    world = make_ambiguous_world(n_concepts=30, modes=2, items_per_mode=4, target_dim=8, query_dim=6, latent_dim=3)
    world.training_pairs(per_item=1).save(tmp_path / "pairs.npz")
    args = ["train", str(tmp_path / "pairs.npz"), "--out", str(tmp_path / "w"), "--steps", "6", "--batch-size", "16",
            "--width", "16", "--depth", "1", "--no-progress", "--threads", "1", "--val-fraction", "0.2"]
    assert main(args) == 0
    assert "validation loss" in capsys.readouterr().out
    assert main(args) == 0  # resumes from the finished checkpoint: nothing left to do
    assert main(["train", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "w2")]) == 1
    assert "no such pair file" in capsys.readouterr().err
