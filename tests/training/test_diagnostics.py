"""Condition sensitivity catches a prior that ignores its query; seed label purity is exact."""

import numpy as np
import pytest

from genseek.errors import InvalidRequestError
from genseek.samplers.diffusion import DiffusionSampler
from genseek.training import TrainConfig, train
from genseek.training.diagnostics import condition_sensitivity, seed_label_purity
from genseek.training.synthetic import make_ambiguous_world


@pytest.fixture(scope="module")
def world():
    return make_ambiguous_world(n_concepts=60, modes=2, items_per_mode=6, target_dim=16, query_dim=8, latent_dim=4)


def _seeds(prior_dir, world, concepts):
    sampler = DiffusionSampler(str(prior_dir))
    queries, owners = world.queries(concepts, seed=3)
    seeds = np.stack([sampler.sample(q, 6, generator=np.random.default_rng(i), guidance=2.0).vectors
                      for i, q in enumerate(queries)])
    return seeds, [world.relevant(int(c)) for c in owners]


@pytest.mark.parametrize("dropout, sensitive", [(0.1, True), (0.99, False)])
def test_a_prior_that_ignores_its_query_fails_the_check(world, tmp_path, dropout, sensitive):
    config = TrainConfig(width=64, depth=2, noise_embed_dim=16, steps=400, batch_size=64, lr=3e-3, warmup_steps=10,
                         ema_decay=0.9, cond_dropout=dropout, progress=False, threads=1, checkpoint_every=1000,
                         eval_every=1000, cond_residual=True, sigma_distribution="log_normal")
    train(config, world.training_pairs(per_item=2), tmp_path)
    seeds, relevant = _seeds(tmp_path, world, world.train_concepts[:40])
    result = condition_sensitivity(seeds, world.items, relevant, k=10)
    assert result["passed"] is sensitive
    if sensitive:
        assert result["own_of_k"] > 0.5 and result["cosine_gap"] > 0.05
    else:
        assert result["own_of_k"] < 0.35


def test_sensitivity_of_perfect_and_random_seeds():
    rng = np.random.default_rng(0)
    catalog = np.eye(40, dtype=np.float32)
    relevant = [[i] for i in range(40)]
    perfect = catalog[:, None, :].repeat(3, axis=1)
    assert condition_sensitivity(perfect, catalog, relevant)["own_of_k"] == 1.0
    shuffled = perfect[rng.permutation(40)]
    assert condition_sensitivity(shuffled, catalog, relevant)["passed"] is False
    with pytest.raises(InvalidRequestError, match="at least k"):
        condition_sensitivity(perfect[:5], catalog, relevant[:5])
    with pytest.raises(InvalidRequestError, match="non-empty"):
        condition_sensitivity(perfect, catalog, [[]] + relevant[1:])


def test_seed_label_purity_counts_seeds_whose_nearest_item_is_relevant():
    catalog = np.eye(4, dtype=np.float32)
    seeds = np.stack([catalog[[0, 1]], catalog[[2, 2]]])  # query 0: one of two seeds lands on item 0
    assert seed_label_purity(seeds, catalog, [[0], [2, 3]]) == pytest.approx(0.75)
