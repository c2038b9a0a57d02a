"""Pair sources: files, shards, streaming, Qdrant, split, and clear errors on bad data."""

import numpy as np
import pytest

from genseek.training.pairs import (
    PairSet, PairStream, TrainingDataError, load_pairs, pairs_from_qdrant, split_pairs,
)


def _pairs(n=20, dq=5, d=4, seed=0, groups=True):
    rng = np.random.default_rng(seed)
    return PairSet(rng.standard_normal((n, dq)), rng.standard_normal((n, d)),
                   groups=np.arange(n) // 2 if groups else None)


def test_npz_round_trip_and_directory_of_shards(tmp_path):
    a, b = _pairs(seed=1), _pairs(seed=2)
    a.save(tmp_path / "a.npz")
    b.save(tmp_path / "b.npz")
    loaded = load_pairs(tmp_path)
    assert len(loaded) == 40
    np.testing.assert_allclose(loaded.queries[:20], a.queries)
    np.testing.assert_allclose(loaded.targets[20:], b.targets)


def test_parquet_and_streaming_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    p = _pairs(n=30)
    table = pa.table({"query": p.queries.tolist(), "target": p.targets.tolist(), "group": p.groups.tolist()})
    pq.write_table(table, tmp_path / "pairs.parquet", row_group_size=10)
    loaded = load_pairs(tmp_path / "pairs.parquet")
    np.testing.assert_allclose(loaded.targets, p.targets, rtol=1e-6)
    chunks = list(PairStream(tmp_path / "pairs.parquet"))
    assert [len(c) for c in chunks] == [10, 10, 10]
    batches = list(PairStream(tmp_path / "pairs.parquet").batches(8, rng=np.random.default_rng(0), buffer_size=16))
    seen = np.concatenate([t for _, t in batches])
    assert len(seen) == 30
    np.testing.assert_allclose(np.sort(seen[:, 0]), np.sort(p.targets[:, 0]), rtol=1e-6)


def test_split_keeps_groups_together():
    p = _pairs(n=40)
    train, val = split_pairs(p, 0.25, seed=3)
    assert len(train) + len(val) == 40
    assert not set(train.groups.tolist()) & set(val.groups.tolist())
    assert len(set(val.groups.tolist())) == 5


@pytest.mark.parametrize(
    "queries, targets, message",
    [
        (np.ones((3, 4)), np.ones((2, 4)), "3 queries but 2 targets"),
        (np.ones((0, 4)), np.ones((0, 4)), "no pairs"),
        (np.array([[1.0, np.nan]]), np.ones((1, 3)), "NaN or inf"),
        (np.ones((2, 4)), np.ones(2), r"targets must be a \(n, d\) matrix"),
    ],
)
def test_bad_arrays_give_clear_errors(tmp_path, queries, targets, message):
    np.savez(tmp_path / "bad.npz", queries=queries, targets=targets)
    with pytest.raises(TrainingDataError, match=message):
        load_pairs(tmp_path / "bad.npz")


def test_bad_files_give_clear_errors(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(TrainingDataError, match="empty"):
        load_pairs(tmp_path / "empty.npz")
    with pytest.raises(TrainingDataError, match="no such pair file"):
        load_pairs(tmp_path / "missing.npz")
    np.savez(tmp_path / "wrong.npz", q=np.ones((2, 2)))
    with pytest.raises(TrainingDataError, match="'queries' and 'targets'"):
        load_pairs(tmp_path / "wrong.npz")
    (tmp_path / "x.csv").write_text("a")
    with pytest.raises(TrainingDataError, match="unsupported"):
        load_pairs(tmp_path / "x.csv")
    _pairs(dq=5).save(tmp_path / "d" / "a.npz") if (tmp_path / "d").mkdir() is None else None
    _pairs(dq=6).save(tmp_path / "d" / "b.npz")
    with pytest.raises(TrainingDataError, match="disagree"):
        load_pairs(tmp_path / "d")


def test_pairs_from_qdrant_collection():
    from qdrant_client import QdrantClient

    from genseek.testing import HashingEncoder, make_collection

    client = QdrantClient(":memory:")
    vectors = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    captions = [["calm piano", "soft keys"], "loud rock", None, "jazz trio", ["ambient"], "folk guitar"]
    make_collection(client, "tracks", vectors, vector_name="audio", payload=lambda i: {"caption": captions[i]})
    pairs = pairs_from_qdrant(client, "tracks", text_field="caption", encoder=HashingEncoder(dim=16), vector_name="audio")
    assert len(pairs) == 6 and pairs.query_dim == 16 and pairs.target_dim == 8
    assert pairs.groups.tolist().count("0") == 2  # both captions of point 0
    with pytest.raises(TrainingDataError, match="no point has text"):
        pairs_from_qdrant(client, "tracks", text_field="title", encoder=HashingEncoder(dim=16), vector_name="audio")
    with pytest.raises(TrainingDataError, match="does not exist"):
        pairs_from_qdrant(client, "nope", text_field="caption", encoder=HashingEncoder(dim=16))
