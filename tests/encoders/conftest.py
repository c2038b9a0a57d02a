"""Tiny models built inside the tests and saved to temporary directories.

Nothing is downloaded: every model here is a random-weight model of a real architecture, saved
with the library's own ``save_pretrained`` / ``torch.save`` so the encoders' real loading code runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WORDS = ["the", "a", "an", "is", "of", "and", "to", "in", "with", "guitar", "piano", "drums", "song", "rock", "calm", "loud", "fast", "slow", "music", "dog", "cat", "car", "sky", "blue", "red", "green", "happy", "sad", "energetic", "acoustic", "electric", "live", "recording"]


def write_wordpiece_vocab(directory: Path) -> Path:
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz",
              *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz")]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def save_tiny_bert(directory: Path, *, hidden: int = 32, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    vocab = write_wordpiece_vocab(directory)
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab.read_text().split()), hidden_size=hidden, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def bytes_to_unicode_table() -> list[str]:
    """GPT-2 / RoBERTa byte-level alphabet (so a merge-less BPE covers every input)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = keep[:], 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def save_tiny_roberta(directory: Path) -> Path:
    """A 1-layer RoBERTa with the 768-wide hidden state laion-clap's text projection expects."""
    import torch
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for char in bytes_to_unicode_table():
        vocab.setdefault(char, len(vocab))
    vocab["<mask>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    RobertaTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt")).save_pretrained(directory)
    config = RobertaConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
                           intermediate_size=32, max_position_embeddings=80, type_vocab_size=1)
    RobertaModel(config).eval().save_pretrained(directory)
    return directory


def place_in_hf_cache(cache: Path, repo_id: str, source: Path) -> Path:
    """Lay ``source``'s files out as the Hugging Face hub cache does (refs/main → snapshot)."""
    revision = "0" * 40
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        if file.is_file():
            (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def sine_sweep(seconds: float, rate: int, f0: float = 200.0, f1: float = 4000.0) -> np.ndarray:
    """A linear chirp from ``f0`` to ``f1`` Hz, amplitude 0.5."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t**2))).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory) -> Path:
    """A tiny T5 (encoder–decoder) directory; its tokenizer is a WordPiece one (no sentencepiece)."""
    pytest.importorskip("transformers")
    import torch
    from transformers import BertTokenizerFast, T5Config, T5ForConditionalGeneration

    directory = tmp_path_factory.mktemp("tiny-t5")
    torch.manual_seed(1)
    vocab = write_wordpiece_vocab(directory)
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(directory)
    config = T5Config(vocab_size=len(vocab.read_text().split()), d_model=24, d_kv=8, d_ff=48, num_layers=2,
                      num_decoder_layers=1, num_heads=3, decoder_start_token_id=0, pad_token_id=0)
    T5ForConditionalGeneration(config).eval().save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def sweep():
    """The :func:`sine_sweep` generator, for tests (conftest is not importable by name)."""
    return sine_sweep


@pytest.fixture(scope="session")
def builders():
    """The model/data builders above, for test modules (conftest is not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(save_tiny_bert=save_tiny_bert, save_tiny_roberta=save_tiny_roberta,
                           place_in_hf_cache=place_in_hf_cache, sine_sweep=sine_sweep)
