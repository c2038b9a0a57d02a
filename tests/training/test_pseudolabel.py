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


# -- a Qdrant collection, through the Python API and `genseek pseudo-label` --------------------

DESCRIPTIONS = ["calm solo piano", "loud distorted rock guitar", "jazz trio with upright bass", "birdsong field recording"]
VOCABULARY = ["calm piano", "rock guitar distorted", "jazz upright bass", "birds singing field", "music", "a recording"]


def _catalog(tmp_path):
    """Local-mode storage with ``tracks``: 'joint' = hashing text vectors of DESCRIPTIONS, 'audio' = 8-d."""
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    from genseek.testing import HashingEncoder
    from genseek.vectors import l2_normalize

    joint = HashingEncoder().encode(DESCRIPTIONS)
    audio = l2_normalize(np.random.default_rng(0).standard_normal((len(DESCRIPTIONS), 8)).astype(np.float32))
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    client.create_collection("tracks", vectors_config={
        "joint": models.VectorParams(size=joint.shape[1], distance=models.Distance.COSINE),
        "audio": models.VectorParams(size=8, distance=models.Distance.COSINE),
    })
    client.upsert("tracks", [models.PointStruct(id=10 + i, vector={"joint": joint[i].tolist(), "audio": audio[i].tolist()})
                             for i in range(len(DESCRIPTIONS))])
    return client, audio


def test_pseudo_label_collection_picks_matching_captions(tmp_path):
    from genseek.testing import HashingEncoder
    from genseek.training.pseudolabel import pseudo_label_collection

    client, audio = _catalog(tmp_path)
    result = pseudo_label_collection(client, "tracks", VOCABULARY, joint_encoder=HashingEncoder(), joint_vector="joint",
                                     query_encoder=HashingEncoder(dim=16), target_vector="audio", top_k=2, per_item=1)
    assert result.ids == [10, 11, 12, 13]
    assert [VOCABULARY[i] for i in result.labels.top_k[:, 0]] == VOCABULARY[:4]  # each track's own words win
    assert result.pairs.query_dim == 16 and result.pairs.target_dim == 8
    assert result.pairs.groups.tolist() == ["10", "11", "12", "13"]
    np.testing.assert_allclose(result.pairs.targets, audio, atol=1e-6)
    assert result.records()[0]["top_k"][0] == "calm piano"
    client.close()


def test_pseudo_label_collection_refuses_what_does_not_fit(tmp_path):
    from genseek.testing import HashingEncoder
    from genseek.training.pseudolabel import pseudo_label_collection

    client, _ = _catalog(tmp_path)
    with pytest.raises(TrainingDataError, match="does not exist"):
        pseudo_label_collection(client, "nope", VOCABULARY, joint_encoder=HashingEncoder(), top_k=2, per_item=1)
    with pytest.raises(TrainingDataError, match="has vectors 'audio', 'joint', so it has no vector named 'clap'"):
        pseudo_label_collection(client, "tracks", VOCABULARY, joint_encoder=HashingEncoder(), joint_vector="clap",
                                top_k=2, per_item=1)
    with pytest.raises(TrainingDataError, match="16-d text vectors but vector 'joint'"):
        pseudo_label_collection(client, "tracks", VOCABULARY, joint_encoder=HashingEncoder(dim=16), joint_vector="joint",
                                top_k=2, per_item=1)
    with pytest.raises(TrainingDataError, match="exceeds the vocabulary size"):
        pseudo_label_collection(client, "tracks", VOCABULARY[:2], joint_encoder=HashingEncoder(), joint_vector="joint")
    client.close()


def test_read_vocabulary_drops_blanks_and_repeats(tmp_path):
    from genseek.training.pseudolabel import read_vocabulary

    path = tmp_path / "v.txt"
    path.write_text("calm piano\n\n  rock  \ncalm piano\nジャズ\n", encoding="utf-8")
    assert read_vocabulary(path) == ["calm piano", "rock", "ジャズ"]
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(TrainingDataError, match="holds no caption"):
        read_vocabulary(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(TrainingDataError, match="not UTF-8"):
        read_vocabulary(tmp_path / "bin.txt")
    with pytest.raises(TrainingDataError, match="does not exist"):
        read_vocabulary(tmp_path / "missing.txt")


@pytest.fixture
def testing_registry(monkeypatch):
    import genseek.testing
    from genseek.plugin import registry

    monkeypatch.setattr(registry, "_default", registry.build_registry(extra_plugins=[genseek.testing]))


def test_cli_writes_pairs_that_train_reads(tmp_path, testing_registry, capsys):
    import json

    from genseek.cli import main
    from genseek.training.pairs import load_pairs

    client, audio = _catalog(tmp_path)
    client.close()
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY), encoding="utf-8")
    code = main(["pseudo-label", "--path", str(tmp_path / "qdrant"), "--collection", "tracks", "--joint-vector", "joint",
                 "--joint-encoder", "hashing", "--target-vector", "audio", "--vocabulary", str(tmp_path / "vocab.txt"),
                 "--top-k", "3", "--per-item", "2", "--out", str(tmp_path / "pairs"), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "8 pairs for 4 points" in out and "64-d queries → 8-d targets" in out
    pairs = load_pairs(tmp_path / "pairs.npz")
    assert len(pairs) == 8 and pairs.groups.tolist().count("12") == 2
    records = [json.loads(line) for line in (tmp_path / "pairs.captions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [10, 11, 12, 13]
    assert all(len(r["captions"]) == 2 and set(r["captions"]) <= set(r["top_k"]) for r in records)
    assert records[3]["top_k"][0] == "birds singing field"


def test_cli_errors_name_the_problem(tmp_path, testing_registry, capsys):
    from genseek.cli import main

    client, _ = _catalog(tmp_path)
    client.close()
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY), encoding="utf-8")
    base = ["pseudo-label", "--path", str(tmp_path / "qdrant"), "--joint-vector", "joint", "--joint-encoder", "hashing",
            "--vocabulary", str(tmp_path / "vocab.txt"), "--out", str(tmp_path / "p.npz"), "--no-progress",
            "--top-k", "3", "--per-item", "1"]
    assert main(base + ["--collection", "nope"]) == 1
    assert "collection 'nope' does not exist" in capsys.readouterr().err
    assert main(base + ["--collection", "tracks", "--top-k", "2", "--per-item", "3"]) == 1
    assert "per_item <= top_k" in capsys.readouterr().err
    assert main([*base[:6], "no-such-encoder", *base[7:], "--collection", "tracks"]) == 1
    assert "no-such-encoder" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()


def test_counts_are_checked_before_the_collection_is_read(tmp_path):
    from genseek.testing import HashingEncoder
    from genseek.training.pseudolabel import pseudo_label_collection

    client, _ = _catalog(tmp_path)
    for top_k, per_item, message in [(3, 5, "per_item <= top_k"), (10, 3, "exceeds the vocabulary size 6"),
                                     (True, 1, "top_k must be an integer")]:
        with pytest.raises(TrainingDataError, match=message):  # not "does not exist": nothing was read
            pseudo_label_collection(client, "nope", VOCABULARY, joint_encoder=HashingEncoder(), top_k=top_k,
                                    per_item=per_item)
    with pytest.raises(TrainingDataError, match="has vectors 'audio', 'joint', so it has no unnamed vector"):
        pseudo_label_collection(client, "tracks", VOCABULARY, joint_encoder=HashingEncoder(), top_k=2, per_item=1)
    client.close()
