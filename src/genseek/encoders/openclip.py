"""``open-clip``: images and text into an OpenCLIP joint embedding space.

The architecture is an OpenCLIP model name (``"ViT-B-32"``, ``"ViT-L-14"`` …) or a local model
config JSON (``config=``) for custom / small architectures; the weights are a local file
(``.safetensors``, ``.bin`` or ``.pt``) read without executing code. Images go through the model's
own validation preprocessing (resize, centre crop, normalisation); text through the model's
tokenizer. Output vectors are L2-normalised (CLIP's cosine space).

Metadata (``embed_dim``) is read from the config JSON, without importing open_clip or torchvision.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, InvalidRequestError, WeightsError
from ._runtime import (
    check_batch_size,
    existing_path,
    hf_offline,
    import_optional,
    load_into,
    load_state_dict,
    resolve_device,
    resolve_fp16,
)
from .base import Encoder, EncoderInfo, Modality

COMPONENT = "encoder 'open-clip'"


def _builtin_config(name: str) -> Path | None:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model_configs" / f"{name}.json"
    return path if path.exists() else None


class OpenClipEncoder(Encoder):
    """OpenCLIP image / text encoder.

    Args:
        model: architecture name known to open_clip, or the name to register ``config`` under
            (defaults to the config file's stem).
        weights: local weights file (safetensors / plain state_dict; ``state_dict`` containers
            and ``module.`` prefixes are unwrapped).
        config: local OpenCLIP model config JSON (``embed_dim``, ``vision_cfg``, ``text_cfg``).
        batch_size: images or texts per forward pass.
        device / fp16: ``"auto"`` uses CUDA when present; fp16 defaults to on for CUDA.

    Raises:
        WeightsError: missing weights file or config (construction); weights that do not fit the
            architecture (first use).
        ConfigError: an unknown architecture name, or a hub reference (``hf-hub:``) — nothing is
            downloaded.
        MissingDependencyError: ``open-clip-torch`` / ``pillow`` not installed.
    """

    id: ClassVar[str] = "open-clip"
    modalities: ClassVar[frozenset[str]] = frozenset({"text", "image"})
    description: ClassVar[str] = "OpenCLIP image/text joint space from a local weights file"

    def __init__(
        self,
        model: str | None = None,
        weights: str | Path | None = None,
        *,
        config: str | Path | None = None,
        batch_size: int = 32,
        device: str | None = "auto",
        fp16: bool | None = None,
    ) -> None:
        if model is None and config is None:
            raise ConfigError(f"{COMPONENT}: pass model= an OpenCLIP architecture name (e.g. 'ViT-B-32') or config=")
        if model is not None and (":" in model or "/" in model):
            raise ConfigError(
                f"{COMPONENT}: model {model!r} looks like a hub reference; genseek never downloads. Pass the "
                "architecture name (or config=) and weights= a local file."
            )
        if weights is None:
            raise WeightsError(f"{COMPONENT}: weights= is required (a local .safetensors / .bin / .pt file)")
        self.weights = existing_path(COMPONENT, weights, "weights file", "Pass weights= a local OpenCLIP weights file.")
        if config is not None:
            self.config_path: Path | None = existing_path(COMPONENT, config, "model config", "Pass a local JSON file.")
            self.model_name = model or self.config_path.stem
        else:
            self.config_path = None
            self.model_name = str(model)
        self._config = self._read_config()
        self.batch_size = check_batch_size(COMPONENT, batch_size)
        self._device_request, self._fp16_request = device, fp16
        self._loaded: tuple[Any, Any, Any, str, bool] | None = None
        self._lock = threading.Lock()

    def _read_config(self) -> dict[str, Any] | None:
        path = self.config_path or _builtin_config(self.model_name)
        if path is None:
            return None  # open_clip not installed: dim unknown until it is
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{COMPONENT}: cannot read model config {str(path)!r}: {exc}") from exc
        for key in ("embed_dim", "vision_cfg", "text_cfg"):
            if key not in config:
                raise ConfigError(f"{COMPONENT}: model config {str(path)!r} lacks {key!r}")
        return config

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(
            id=self.id, modalities=self.modalities,
            dim=None if self._config is None else int(self._config["embed_dim"]),
            distance="cosine", normalized=True, description=self.description,
            extra={"model": self.model_name, "weights": str(self.weights)},
        )

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _load(self) -> tuple[Any, Any, Any, str, bool]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._build()
            return self._loaded

    def _build(self) -> tuple[Any, Any, Any, str, bool]:
        device = resolve_device(COMPONENT, self._device_request)
        fp16 = resolve_fp16(COMPONENT, self._fp16_request, device)
        with hf_offline():
            open_clip = import_optional("open_clip", component=COMPONENT, package="open-clip-torch", extra="clip")
            import_optional("PIL", component=COMPONENT, package="pillow", extra="clip")
            if self.config_path is not None:
                if self.config_path.stem != self.model_name:
                    raise ConfigError(f"{COMPONENT}: model= must equal the config file's stem "
                                      f"({self.config_path.stem!r}) or be left out")
                open_clip.add_model_config(str(self.config_path))
            if self.model_name not in open_clip.list_models():
                raise ConfigError(
                    f"{COMPONENT}: unknown OpenCLIP architecture {self.model_name!r}; pass config= a model config "
                    f"JSON, or one of open_clip.list_models() (e.g. {', '.join(open_clip.list_models()[:5])})"
                )
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(self.model_name, pretrained=None)
                tokenizer = open_clip.get_tokenizer(self.model_name)
            except OSError as exc:  # e.g. a config whose tokenizer / text tower lives on the Hugging Face hub
                raise WeightsError(
                    f"{COMPONENT}: building {self.model_name!r} needs files that are not available offline ({exc}). "
                    "Put the tokenizer / text model it names in the Hugging Face cache, or use a config whose "
                    "parts are all local."
                ) from exc
        state = load_state_dict(COMPONENT, self.weights)
        load_into(COMPONENT, model, state, self.weights, f"OpenCLIP {self.model_name!r}")
        model = model.to(device).eval()
        if fp16:
            model = model.half()
        if self._config is None:
            self._config = {"embed_dim": int(model.text_projection.shape[-1]) if hasattr(model, "text_projection")
                            else None}
        return model, preprocess, tokenizer, device, fp16

    def encode(self, items: Any, *, modality: Modality | None = None) -> np.ndarray:
        """As :meth:`Encoder.encode`; numpy arrays of 2 or 3 dimensions default to images."""
        first = items[0] if isinstance(items, (list, tuple)) and items else items
        if modality is None and isinstance(first, np.ndarray) and first.ndim in (2, 3):
            modality = "image"
        return super().encode(items, modality=modality)

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        import torch

        model, preprocess, tokenizer, device, fp16 = self._load()
        dtype = torch.float16 if fp16 else torch.float32
        with torch.inference_mode():
            if modality == "text":
                for text in items:
                    if not isinstance(text, str):
                        raise InvalidRequestError(f"{COMPONENT}: text inputs must be str, got {type(text).__name__}")
                vectors = model.encode_text(tokenizer(list(items)).to(device), normalize=True)
            else:
                pixels = torch.stack([preprocess(_to_image(item)) for item in items]).to(device=device, dtype=dtype)
                vectors = model.encode_image(pixels, normalize=True)
        return vectors.float().cpu().numpy()


def _to_image(item: Any) -> Any:
    """A PIL RGB image from a PIL image, a file path, or an ``(H, W[, C])`` array."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(item, Image.Image):
        return item.convert("RGB")
    if isinstance(item, (str, Path)):
        path = Path(item)
        if not path.is_file():
            raise InvalidRequestError(f"{COMPONENT}: image file {str(path)!r} does not exist")
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidRequestError(
                f"{COMPONENT}: cannot read image file {str(path)!r} ({exc}); pass a PNG/JPEG/WebP file, a PIL "
                "image or an (H, W, 3) array"
            ) from exc
    if isinstance(item, np.ndarray):
        array = item
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise InvalidRequestError(f"{COMPONENT}: image arrays must be (H, W) or (H, W, 1|3|4); got {array.shape}")
        if array.dtype != np.uint8:
            if not np.all(np.isfinite(array)):
                raise InvalidRequestError(f"{COMPONENT}: image array contains NaN or infinite values")
            array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[..., 0]
        return Image.fromarray(array).convert("RGB")
    raise InvalidRequestError(f"{COMPONENT}: cannot use a {type(item).__name__} as an image")


__all__ = ["OpenClipEncoder"]
