"""``clap``: text and audio into the LAION-CLAP joint embedding space (512-d, unit norm).

Loads a local LAION checkpoint (``630k-best.pt``, ``630k-audioset-best.pt``, the fusion variants,
``music_audioset_epoch_15_esc_90.14.pt`` …) with ``torch.load(weights_only=True)`` — never
through laion-clap's own loader, which unpickles arbitrary code and downloads when no path is
given. Audio is resampled to 48 kHz, cut into 10-second windows, each window embedded, and the
window vectors mean-pooled and re-normalised (optionally returned as a sequence for sequence
priors, as GD-Retriever's 1 Hz chunk sequences). Text is tokenised by RoBERTa.

laion-clap constructs its text branch with ``RobertaModel.from_pretrained("roberta-base")``. With
genseek, that happens with ``HF_HUB_OFFLINE=1`` and resolves either from the Hugging Face cache
(``HF_HOME`` / ``HF_HUB_CACHE``) or from a local directory given as ``text_model=``; the
checkpoint then overwrites those weights, so only the architecture and tokenizer files matter.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
from collections.abc import Iterator
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
from .audio import read_audio, split_windows
from .base import Encoder, EncoderInfo, Modality

COMPONENT = "encoder 'clap'"
SAMPLE_RATE = 48_000
AUDIO_MODELS = ("HTSAT-tiny", "HTSAT-base", "HTSAT-large", "PANN-14")
TEXT_MODELS = ("roberta",)
_TEXT_NAME = "roberta-base"


class ClapEncoder(Encoder):
    """LAION-CLAP text / audio encoder.

    Args:
        checkpoint: local ``.pt`` / ``.safetensors`` checkpoint (``state_dict`` inside).
        amodel: audio tower — ``"HTSAT-tiny"`` (general 630k checkpoints) or ``"HTSAT-base"``
            (the music checkpoints), as the checkpoint was trained.
        enable_fusion: the checkpoint is a fusion model (``*-fusion-*``; needs torchaudio).
        text_model: local RoBERTa directory (config + tokenizer files) used in place of
            ``roberta-base``; ``None`` requires ``roberta-base`` in the Hugging Face cache.
        window_seconds: length of the windows audio is cut into (CLAP's training clips: 10 s).
        min_tail_seconds: a final partial window shorter than this is dropped (unless it is the
            only one).
        sample_rate: the rate of bare numpy arrays; files and ``(array, rate)`` carry their own.
        batch_size: texts, or audio windows, per forward pass.
        device / fp16: as for every model encoder (``"auto"``: CUDA when present; fp16 by autocast).

    Raises:
        WeightsError: missing checkpoint (construction) or one that does not fit ``amodel`` /
            ``enable_fusion`` (first use); ``roberta-base`` absent from the cache.
        MissingDependencyError: ``laion-clap`` / ``soundfile`` not installed.
    """

    id: ClassVar[str] = "clap"
    modalities: ClassVar[frozenset[str]] = frozenset({"text", "audio"})
    dim: ClassVar[int] = 512
    description: ClassVar[str] = "LAION-CLAP text/audio joint space from a local checkpoint (10 s windows, pooled)"

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        amodel: str = "HTSAT-tiny",
        tmodel: str = "roberta",
        enable_fusion: bool = False,
        text_model: str | Path | None = None,
        window_seconds: float = 10.0,
        min_tail_seconds: float = 1.0,
        sample_rate: int = SAMPLE_RATE,
        batch_size: int = 8,
        device: str | None = "auto",
        fp16: bool | None = None,
    ) -> None:
        if amodel not in AUDIO_MODELS:
            raise ConfigError(f"{COMPONENT}: amodel must be one of {', '.join(AUDIO_MODELS)}; got {amodel!r}")
        if tmodel not in TEXT_MODELS:
            raise ConfigError(f"{COMPONENT}: tmodel must be one of {', '.join(TEXT_MODELS)}; got {tmodel!r}")
        if not 0 < float(window_seconds) <= 60 or float(min_tail_seconds) < 0:
            raise ConfigError(f"{COMPONENT}: window_seconds must be in (0, 60] and min_tail_seconds ≥ 0")
        self.checkpoint = existing_path(
            COMPONENT, checkpoint, "checkpoint",
            "Pass checkpoint= a local LAION-CLAP .pt file (e.g. 630k-audioset-best.pt); genseek never downloads it.",
        )
        self.text_model = None if text_model is None else existing_path(
            COMPONENT, text_model, "text_model directory", "Pass a local RoBERTa directory (config.json + tokenizer)."
        )
        self.amodel, self.tmodel, self.enable_fusion = amodel, tmodel, bool(enable_fusion)
        self.window = round(float(window_seconds) * SAMPLE_RATE)
        self.min_tail = round(float(min_tail_seconds) * SAMPLE_RATE)
        self.sample_rate = int(sample_rate)
        self.batch_size = check_batch_size(COMPONENT, batch_size)
        self._device_request, self._fp16_request = device, fp16
        self._loaded: tuple[Any, Any, str, bool] | None = None
        self._lock = threading.Lock()

    @property
    def info(self) -> EncoderInfo:
        return EncoderInfo(
            id=self.id, modalities=self.modalities, dim=_joint_dim(self.amodel), distance="cosine", normalized=True,
            description=self.description,
            extra={"checkpoint": str(self.checkpoint), "amodel": self.amodel, "enable_fusion": self.enable_fusion,
                   "window_seconds": self.window / SAMPLE_RATE, "sample_rate": SAMPLE_RATE},
        )

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> tuple[Any, Any, str, bool]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._build()
            return self._loaded

    def _build(self) -> tuple[Any, Any, str, bool]:
        device = resolve_device(COMPONENT, self._device_request)
        fp16 = resolve_fp16(COMPONENT, self._fp16_request, device)
        state = load_state_dict(COMPONENT, self.checkpoint)  # cheap checks before the slow model build
        with hf_offline():
            transformers = import_optional("transformers", component=COMPONENT, package="transformers", extra="clap")
            laion_clap = import_optional("laion_clap", component=COMPONENT, package="laion-clap", extra="clap")
            data = importlib.import_module("laion_clap.training.data")
            if self.enable_fusion and getattr(data, "torchaudio", None) is None:
                import_optional("torchaudio", component=f"{COMPONENT} with enable_fusion=True", package="torchaudio",
                                extra="clap")
            with self._text_source(transformers):
                try:
                    module = laion_clap.CLAP_Module(enable_fusion=self.enable_fusion, device=device,
                                                    amodel=self.amodel, tmodel=self.tmodel)
                except OSError as exc:
                    raise WeightsError(f"{COMPONENT}: cannot build the RoBERTa text branch: {exc}") from exc
        expected = module.model.state_dict()
        for key in [k for k in state if k not in expected and k.endswith("embeddings.position_ids")]:
            state.pop(key)  # buffers older transformers stored; newer ones rebuild them
        fusion = "fusion" if self.enable_fusion else "non-fusion"
        try:
            load_into(COMPONENT, module.model, state, self.checkpoint, f"{self.amodel} / {self.tmodel} {fusion}")
        except WeightsError as exc:
            hint = describe_checkpoint(state)
            raise WeightsError(f"{exc} {hint}" if hint else str(exc)) from exc
        module.model.to(device).eval()
        return module, data, device, fp16

    @contextlib.contextmanager
    def _text_source(self, transformers: Any) -> Iterator[None]:
        """Make ``from_pretrained("roberta-base")`` resolve locally, or fail with the fix."""
        if self.text_model is None:
            from huggingface_hub import try_to_load_from_cache

            if not isinstance(try_to_load_from_cache(_TEXT_NAME, "config.json"), str):
                raise WeightsError(
                    f"{COMPONENT}: laion-clap builds its text branch from {_TEXT_NAME!r}, which is not in the "
                    "Hugging Face cache (HF_HOME / HF_HUB_CACHE) and genseek never downloads. Copy a cache that "
                    f"holds {_TEXT_NAME!r} here, or pass text_model= a local RoBERTa directory."
                )
            yield
            return
        local = str(self.text_model)
        patched = []
        for cls in (transformers.RobertaModel, transformers.RobertaTokenizer):
            own = "from_pretrained" in cls.__dict__
            original = cls.__dict__["from_pretrained"] if own else None
            bound = cls.from_pretrained.__func__

            def redirect(klass: Any, name: Any, *args: Any, _f: Any = bound, **kwargs: Any) -> Any:
                return _f(klass, local if name == _TEXT_NAME else name, *args, **kwargs)

            cls.from_pretrained = classmethod(redirect)
            patched.append((cls, own, original))
        try:
            yield
        finally:
            for cls, own, original in patched:
                if own:
                    cls.from_pretrained = original
                else:
                    del cls.from_pretrained

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, items: Any, *, modality: Modality | None = None) -> np.ndarray:
        """As :meth:`Encoder.encode`; numpy arrays, ``(array, rate)`` and ``{"array": ...}`` default to audio."""
        first = items[0] if isinstance(items, list) and items else items
        if modality is None and isinstance(first, (np.ndarray, dict, tuple)):
            modality = "audio"
        return super().encode(items, modality=modality)

    def _autocast(self, device: str, fp16: bool) -> Any:
        import torch

        if fp16:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        if modality == "text":
            return self._encode_text(items)
        windows = self.encode_windows(items)
        pooled = np.stack([w.mean(axis=0) for w in windows])
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _encode_text(self, texts: list[Any]) -> np.ndarray:
        import torch

        for text in texts:
            if not isinstance(text, str):
                raise InvalidRequestError(f"{COMPONENT}: text inputs must be str, got {type(text).__name__}")
        module, _, device, fp16 = self._load()
        with torch.inference_mode(), self._autocast(device, fp16):
            tokens = module.tokenizer(list(texts))
            vectors = module.model.get_text_embedding(dict(tokens))
        return vectors.float().cpu().numpy()

    def encode_windows(self, items: Any) -> list[np.ndarray]:
        """Per-window embeddings: one ``(W_i, 512)`` unit-norm array per audio input.

        ``items`` is one audio input or a list. Windows of all inputs are batched together,
        :attr:`batch_size` windows per forward pass.
        """
        import torch

        batch = [items] if not isinstance(items, list) else items
        if not batch:
            raise InvalidRequestError(f"{COMPONENT}: nothing to encode (empty list)")
        module, data, device, fp16 = self._load()
        audio_cfg = module.model_cfg["audio_cfg"]
        counts, features = [], []
        for item in batch:
            samples = read_audio(item, component=COMPONENT, default_rate=self.sample_rate, target_rate=SAMPLE_RATE)
            samples = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16).astype(np.float32) / 32767.0
            windows = split_windows(samples, self.window, min_tail=self.min_tail)
            counts.append(len(windows))
            for window in windows:
                features.append(data.get_audio_features(
                    {}, torch.from_numpy(np.ascontiguousarray(window)), self.window,
                    data_truncating="fusion" if self.enable_fusion else "rand_trunc",
                    data_filling="repeatpad", audio_cfg=audio_cfg))
        vectors = []
        with torch.inference_mode(), self._autocast(device, fp16):
            for start in range(0, len(features), self.batch_size):
                chunk = features[start : start + self.batch_size]
                vectors.append(module.model.get_audio_embedding(chunk).float().cpu().numpy())
        flat = np.concatenate(vectors, axis=0)
        bounds = np.cumsum([0, *counts])
        return [flat[bounds[i] : bounds[i + 1]] for i in range(len(batch))]


#: HTSAT patch-embedding width → audio tower name (laion-clap's HTSAT configs).
_HTSAT_WIDTHS = {96: "HTSAT-tiny", 128: "HTSAT-base", 256: "HTSAT-large"}


def describe_checkpoint(state: dict[str, Any]) -> str:
    """A hint naming the audio tower and fusion setting a CLAP state_dict was saved from, if recognisable."""
    weight = state.get("audio_branch.patch_embed.proj.weight")
    amodel = _HTSAT_WIDTHS.get(int(weight.shape[0])) if getattr(weight, "ndim", 0) == 4 else None
    fusion = any("fusion_model" in key or "mel_conv2d" in key for key in state)
    if amodel is None:
        return ""
    return f"This checkpoint looks like amodel={amodel!r}, enable_fusion={fusion}."


def _joint_dim(amodel: str) -> int:
    """The joint space size: 512 for every LAION-CLAP config (read from laion-clap when installed)."""
    spec = importlib.util.find_spec("laion_clap")
    if spec is not None and spec.origin:
        config = Path(spec.origin).parent / "clap_module" / "model_configs" / f"{amodel}.json"
        if config.exists():
            try:
                return int(json.loads(config.read_text()).get("joint_embed_shape", 512))
            except (OSError, ValueError):
                pass
    return 512


__all__ = ["AUDIO_MODELS", "SAMPLE_RATE", "ClapEncoder"]
