"""Pseudo-labelling (Noise2Music §3.5) on a toy vocabulary."""

import numpy as np
import pytest

from genseek.training.pairs import TrainingDataError
from genseek.training.pseudolabel import pseudo_label


def _toy():
    # 4 captions on the axes of R^4; items near axis 0 or 1; caption 3 is "generic" (matches all a bit)
    vocab = np.eye(4, dtype=np.float32)
    items = np.array([[1.0, 0.1, 0.0, 0.3], [0.9, 0.0, 0.1, 0.3], [0.0, 1.0, 0.1, 0.3], [0.1, 0.8, 0.0, 0.3]], np.float32)
    return items, vocab


def test_top_k_are_the_best_scoring_captions():
    items, vocab = _toy()
    labels = pseudo_label(items, vocab, top_k=2, per_item=1, seed=0)
    assert labels.top_k[:, 0].tolist() == [0, 0, 1, 1]
    assert set(labels.top_k[:, 1].tolist()) == {3}  # the generic caption is everyone's second choice
    assert labels.frequency.tolist() == [2, 2, 0, 4]


def test_sampling_prefers_rare_captions():
    items, vocab = _toy()
    counts = np.zeros(4)
    for seed in range(200):
        counts += np.bincount(pseudo_label(items, vocab, top_k=2, per_item=1, seed=seed).captions.ravel(), minlength=4)
    # p(specific) = (1/2) / (1/2 + 1/4) = 2/3 per item
    assert counts[[0, 1]].sum() / counts.sum() == pytest.approx(2 / 3, abs=0.05)


def test_pairs_use_query_space_embeddings_and_group_by_item():
    items, vocab = _toy()
    labels = pseudo_label(items, vocab, top_k=3, per_item=2, seed=1)
    query_space = np.arange(4 * 3, dtype=np.float32).reshape(4, 3) + 1
    pairs = labels.pairs(items, query_space)
    assert len(pairs) == 8 and pairs.query_dim == 3
    assert pairs.groups.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    np.testing.assert_array_equal(pairs.queries, query_space[labels.captions.ravel()])
    for row in labels.captions:  # without replacement
        assert len(set(row.tolist())) == 2


def test_bad_arguments():
    items, vocab = _toy()
    with pytest.raises(TrainingDataError, match="per_item"):
        pseudo_label(items, vocab, top_k=2, per_item=3)
    with pytest.raises(TrainingDataError, match="vocabulary size"):
        pseudo_label(items, vocab, top_k=5, per_item=1)
