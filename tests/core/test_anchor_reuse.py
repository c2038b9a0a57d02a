"""An anchor encoder that is the search's own encoder embeds the query once."""

from __future__ import annotations

import numpy as np
import pytest

import genseek

from genseek import DimensionMismatchError, GenerativeSearch
from genseek.plugin import build_registry
from genseek.testing import HashingEncoder


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__(dim=32)
        self.calls = 0

    def encode_batch(self, items, *, modality):
        self.calls += 1
        return super().encode_batch(items, modality=modality)


def test_one_instance_for_query_and_anchor_encodes_once(catalog):
    encoder = CountingEncoder()
    search = GenerativeSearch(catalog, "items", encoder=encoder, sampler="identity", anchor_encoder=encoder,
                              vector_name="dense")
    result = search.search("energetic rock", n_seeds=1, limit=5)
    assert encoder.calls == 1 and result.anchor_index == 1
    np.testing.assert_array_equal(result.seeds[result.anchor_index], result.seeds[0])
    other = CountingEncoder()
    apart = GenerativeSearch(catalog, "items", encoder=CountingEncoder(), sampler="identity", anchor_encoder=other,
                             vector_name="dense")
    assert apart.search("energetic rock", n_seeds=1, limit=5).ids == result.ids and other.calls == 1


class HashingPlugin:
    @genseek.hookimpl
    def register_encoders(self, register):
        register(HashingEncoder)


def test_the_same_id_and_options_share_one_instance(catalog):
    registry = build_registry(load_entry_points=False, extra_plugins=[HashingPlugin()])
    same = dict(encoder="hashing", encoder_options={"dim": 32}, anchor_encoder="hashing", registry=registry)
    search = GenerativeSearch(catalog, "items", sampler="identity", vector_name="dense",
                              anchor_encoder_options={"dim": 32}, **same)
    assert search.anchor_encoder is search.encoder
    with pytest.raises(DimensionMismatchError, match="anchor encoder 'hashing' gives 64-d"):  # its own instance
        GenerativeSearch(catalog, "items", sampler="identity", vector_name="dense",
                         anchor_encoder_options={"dim": 64}, **same)
