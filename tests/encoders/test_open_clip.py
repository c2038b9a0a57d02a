"""open-clip: a tiny OpenCLIP architecture (local config JSON) with weights saved here, loaded offline."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from genseek.encoders.openclip import OpenClipEncoder
from genseek.errors import ConfigError, InvalidRequestError, MissingDependencyError, WeightsError

open_clip = pytest.importorskip("open_clip", reason="needs genseek[clip]")
Image = pytest.importorskip("PIL.Image")

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1}}


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("open-clip")
    config = root / "genseek-tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("genseek-tiny-clip")
    model.eval()
    save_file(model.state_dict(), str(root / "tiny.safetensors"))
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, root / "tiny.pt")
    rng = np.random.default_rng(0)
    images = [(rng.random((40 + 8 * i, 50, 3)) * 255).astype(np.uint8) for i in range(3)]
    Image.fromarray(images[0]).save(root / "a.png")
    return {"root": root, "config": config, "model": model, "preprocess": preprocess, "images": images}


@pytest.fixture(scope="module")
def clip(assets):
    return OpenClipEncoder(config=assets["config"], weights=assets["root"] / "tiny.safetensors", device="cpu",
                           batch_size=2)


def test_metadata_from_the_config_without_loading(assets, monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)
    encoder = OpenClipEncoder(config=assets["config"], weights=assets["root"] / "tiny.safetensors")
    assert (encoder.info.dim, encoder.info.modalities) == (32, frozenset({"text", "image"}))
    assert not encoder.loaded


def test_builtin_architecture_metadata(assets):
    encoder = OpenClipEncoder("ViT-B-32", weights=assets["root"] / "tiny.safetensors")
    assert encoder.info.dim == 512


def test_images_match_open_clip_on_the_same_weights(clip, assets):
    import torch

    images = assets["images"]
    ours = clip.encode([assets["root"] / "a.png", images[1], Image.fromarray(images[2])])
    pixels = torch.stack([assets["preprocess"](Image.fromarray(image)) for image in images])
    with torch.no_grad():
        theirs = assets["model"].encode_image(pixels, normalize=True).numpy()
    assert ours.shape == (3, 32)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(clip.encode(images[1]), ours[1], atol=1e-6)  # one array → one image vector


def test_text_matches_open_clip(clip, assets):
    import torch

    texts = ["a photo of a dog", "a red car", "blue sky"]
    ours = clip.encode(texts)
    tokenizer = open_clip.get_tokenizer("genseek-tiny-clip")
    with torch.no_grad():
        theirs = assets["model"].encode_text(tokenizer(texts), normalize=True).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_torch_checkpoint_with_module_prefix(assets, clip):
    wrapped = OpenClipEncoder(config=assets["config"], weights=assets["root"] / "tiny.pt", device="cpu")
    np.testing.assert_allclose(wrapped.encode("a red car"), clip.encode("a red car"), atol=1e-6)


# -- errors --------------------------------------------------------------------------------------
def test_missing_weights(assets, tmp_path):
    with pytest.raises(WeightsError, match="open-clip.*does not exist"):
        OpenClipEncoder(config=assets["config"], weights=tmp_path / "absent.safetensors")
    with pytest.raises(WeightsError, match="weights= is required"):
        OpenClipEncoder("ViT-B-32")


def test_weights_for_another_architecture(assets, tmp_path):
    other = dict(TINY, embed_dim=16)
    (tmp_path / "genseek-tiny-clip-16.json").write_text(json.dumps(other))
    encoder = OpenClipEncoder(config=tmp_path / "genseek-tiny-clip-16.json", weights=assets["root"] / "tiny.safetensors",
                              device="cpu")
    with pytest.raises(WeightsError, match="do not fit the OpenCLIP 'genseek-tiny-clip-16' architecture"):
        encoder.encode("a dog")


def test_hub_references_and_unknown_architectures(assets):
    with pytest.raises(ConfigError, match="hub reference"):
        OpenClipEncoder("hf-hub:laion/CLIP-ViT-B-32", weights=assets["root"] / "tiny.safetensors")
    with pytest.raises(ConfigError, match="unknown OpenCLIP architecture"):
        OpenClipEncoder("ViT-Nope", weights=assets["root"] / "tiny.safetensors", device="cpu").encode("x")


def test_bad_images(clip, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not an image")
    with pytest.raises(InvalidRequestError, match="open-clip.*cannot read image file"):
        clip.encode(tmp_path / "broken.png")
    with pytest.raises(InvalidRequestError, match="does not exist"):
        clip.encode(tmp_path / "absent.png", modality="image")
    with pytest.raises(InvalidRequestError, match=r"\(H, W\)"):
        clip.encode(np.zeros((4, 4, 5)), modality="image")
    with pytest.raises(InvalidRequestError, match="does not accept audio"):
        clip.encode("x", modality="audio")


def test_missing_open_clip(assets, monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)
    encoder = OpenClipEncoder(config=assets["config"], weights=assets["root"] / "tiny.safetensors", device="cpu")
    with pytest.raises(MissingDependencyError, match=r"open-clip-torch.*genseek\[clip\]"):
        encoder.encode("a dog")
