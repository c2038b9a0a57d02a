"""Shared machinery of the samplers that run a trained prior (``diffusion`` and ``regression``).

:class:`PriorSampler` loads a weights directory (:mod:`genseek.samplers.weights`), chooses the
device (CUDA when present, CPU otherwise; float32 on CPU, optional bfloat16/float16 on GPU),
validates and normalises queries, and post-processes seeds (alignment, spherical interpolation,
projection to the unit sphere). It keeps no per-call state, so one instance serves concurrent
searches from several threads; concurrent ``sample`` calls are micro-batched
(:mod:`genseek.samplers.batching`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from ..encoders.base import Encoder
from ..errors import ConfigError, DimensionMismatchError, InvalidRequestError
from .alignment import Aligner
from .batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING, DEFAULT_WINDOW_MS, check_batching
from .base import Sampler, SamplerInfo
from .controls import check_number, parse_slerp, slerp
from .weights import PriorWeights, check_compatible, from_pretrained

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else CPU; otherwise the named device (checked)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'")
    return device


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """float32 by default; bfloat16/float16 only on a GPU (CPU half precision is slower and lossy)."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        dtype = _DTYPES[dtype]
    if dtype not in _DTYPES.values():
        raise ConfigError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
    if dtype != torch.float32 and device.type != "cuda":
        raise ConfigError(f"dtype {dtype} is only supported on CUDA; on CPU the prior runs in float32")
    return dtype


class PriorSampler(Sampler):
    """Base of samplers driven by a trained prior (not registered itself).

    Args:
        weights: a weights directory (``save_pretrained`` output) or a loaded :class:`PriorWeights`
            (whose model is then moved to ``device``/``dtype`` and put in eval mode, in place).
        device: ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ``"cuda:1"``…
        dtype: ``None``/``"float32"``; ``"bfloat16"``/``"float16"`` on CUDA only.
        align: apply the post-hoc alignment (GD-Retriever §4.1.1) by default; needs stored statistics.
        shrinkage: covariance shrinkage for the alignment (default: the weights' value).
        steering_encoder: encoder id or instance embedding text into the *target* space (a text
            tower joint with the catalog space, e.g. CLAP's), used for text-valued ``steer`` and
            ``slerp`` controls. Optional: vectors can always be passed instead.
        steering_encoder_options: options when ``steering_encoder`` is an id.
        verify_hash: check the SHA-256 of ``model.safetensors`` when loading (default True).
        batch_window_ms / batch_max_size / batch_max_pending: micro-batching of concurrent
            ``sample`` calls of the ``diffusion`` sampler (:mod:`genseek.samplers.batching`): calls that arrive while a pass
            runs (or within ``batch_window_ms`` of the first, default 0) share one batched pass of
            at most ``batch_max_size`` calls (default 64); beyond ``batch_max_pending`` queued calls
            (default 1024) a call raises :class:`~genseek.errors.SamplerBusyError`. A call gets the
            seeds it would get alone. The sampler never changes torch's thread settings: they are
            the application's (``torch.set_num_threads`` once at start-up).
        expect: what the collection and search require of the weights — any of ``target_dim``,
            ``target_encoder``, ``query_dim``, ``query_encoder``; a difference raises
            :class:`~genseek.errors.WeightsError` naming it (e.g. from a tenant's configuration).
    """

    kind: ClassVar[str]

    def __init__(
        self,
        weights: str | os.PathLike[str] | PriorWeights,
        *,
        device: str | torch.device | None = "auto",
        dtype: str | torch.dtype | None = None,
        align: bool = False,
        shrinkage: float | None = None,
        steering_encoder: Encoder | str | None = None,
        steering_encoder_options: Mapping[str, Any] | None = None,
        verify_hash: bool = True,
        batch_window_ms: float = DEFAULT_WINDOW_MS,
        batch_max_size: int = DEFAULT_MAX_BATCH,
        batch_max_pending: int = DEFAULT_MAX_PENDING,
        expect: Mapping[str, Any] | None = None,
    ) -> None:
        check_batching(batch_window_ms, batch_max_size, batch_max_pending)
        self.batching = {"window_ms": batch_window_ms, "max_batch": batch_max_size, "max_pending": batch_max_pending}
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        expect = dict(expect or {})
        unknown = sorted(set(expect) - {"target_dim", "target_encoder", "query_dim", "query_encoder"})
        if unknown:
            raise ConfigError(
                f"expect accepts target_dim, target_encoder, query_dim, query_encoder; got {', '.join(unknown)}"
            )
        if isinstance(weights, PriorWeights):
            check_compatible(weights.config, source=f"sampler {self.id!r} weights", **expect)
            self.weights = weights
            self.weights.model.to(device=self.device, dtype=self.dtype).eval()
            self.weights.stats = {k: v.to(self.device, torch.float32) for k, v in weights.stats.items()}
        elif isinstance(weights, (str, os.PathLike)):
            self.weights = from_pretrained(
                weights, device=self.device, dtype=self.dtype, verify_hash=verify_hash, **expect
            )
        else:
            raise ConfigError(
                f"sampler {self.id!r} needs weights=<directory written by save_pretrained()> "
                f"or a PriorWeights object, got {type(weights).__name__}"
            )
        config = self.weights.config
        if config.kind != self.kind:
            raise ConfigError(
                f"the weights hold a {config.kind!r} prior, but sampler {self.id!r} runs {self.kind!r} priors; "
                f"use sampler={config.kind!r}"
            )
        self.config = config
        self.schedule = config.tangent_schedule
        self.aligner = Aligner(self.weights.stats) if config.alignment.available else None
        if align and self.aligner is None:
            raise ConfigError(
                "align=True needs alignment statistics stored with the weights (alignment.available in config.json); "
                "re-export the prior with catalog statistics"
            )
        self.align_default = bool(align)
        self.shrinkage_default = config.alignment.shrinkage if shrinkage is None else check_number(
            "shrinkage", shrinkage, low=0.0, high=1.0
        )
        self._steering_spec = (steering_encoder, dict(steering_encoder_options or {}))
        self._steering: Encoder | None = steering_encoder if isinstance(steering_encoder, Encoder) else None
        self._steering_lock = threading.Lock()
        if steering_encoder is not None and not isinstance(steering_encoder, (str, Encoder)):
            raise ConfigError(f"steering_encoder must be an encoder id or instance, got {type(steering_encoder).__name__}")
        if self._steering is not None:
            self._check_steering_dim(self._steering)

    # -- metadata ---------------------------------------------------------------------------------
    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(
            id=self.id,
            controls=frozenset(self.controls),
            query_dim=self.config.query_dim,
            target_dim=self.config.target_dim,
            query_encoder=self.config.query_encoder,
            target_encoder=self.config.target_encoder,
            deterministic=self.kind == "regression",
            max_seeds=1 if self.kind == "regression" else None,
            description=self.description,
        )

    # -- steering encoder -------------------------------------------------------------------------
    def _check_steering_dim(self, encoder: Encoder) -> None:
        dim = encoder.info.dim
        if dim is not None and dim != self.config.target_dim:
            raise ConfigError(
                f"steering encoder {encoder.info.id!r} gives {dim}-d vectors but the prior generates "
                f"{self.config.target_dim}-d ({self.config.target_encoder or 'catalog'} space); steering needs a text "
                "encoder joint with the catalog space"
            )

    def steering_encoder(self) -> Encoder | None:
        """The steering encoder, created on first use when given by id."""
        spec, options = self._steering_spec
        if self._steering is None and isinstance(spec, str):
            with self._steering_lock:
                if self._steering is None:
                    from ..plugin.registry import get_registry

                    encoder = get_registry().encoder(spec, **options)
                    self._check_steering_dim(encoder)
                    self._steering = encoder
        return self._steering

    def encode_target_text(self, texts: list[str]) -> np.ndarray:
        encoder = self.steering_encoder()
        if encoder is None:
            raise InvalidRequestError(
                f"sampler {self.id!r} has no steering encoder for text in the catalog space; create it with "
                "steering_encoder=<id>, or pass vectors"
            )
        return np.atleast_2d(encoder.encode(list(texts)))

    def _text_encoder(self):
        spec = self._steering_spec[0]
        return self.encode_target_text if spec is not None else None

    # -- queries ----------------------------------------------------------------------------------
    def condition_tensor(self, queries: Sequence[np.ndarray], name: str = "query") -> tuple[torch.Tensor, torch.Tensor | None]:
        """Stack queries into ``(Q, d_q)`` (pooled) or padded ``(Q, T, d_q)`` + ``(Q, T)`` mask (tokens)."""
        dq = self.config.query_dim
        sequence = self.config.denoiser.sequence
        rows = []
        for query in queries:
            array = np.asarray(query, dtype=np.float32)
            if not np.all(np.isfinite(array)):
                raise InvalidRequestError(f"{name} contains NaN or infinite values")
            if sequence:
                if array.ndim == 1:
                    array = array[None, :]
                if array.ndim != 2 or array.shape[0] == 0:
                    raise InvalidRequestError(
                        f"sampler {self.id!r} conditions on token sequences: {name} must be (T, {dq}), got {array.shape}"
                    )
            elif array.ndim != 1:
                raise InvalidRequestError(
                    f"sampler {self.id!r} conditions on a pooled {dq}-d vector; {name} has shape {array.shape}"
                )
            if array.shape[-1] != dq:
                raise DimensionMismatchError(
                    f"sampler {self.id!r} expects {dq}-d {name} vectors "
                    f"(from {self.config.query_encoder or 'its query encoder'}), got {array.shape[-1]}-d; "
                    "encode queries with the encoder the prior was trained on"
                )
            rows.append(self._normalize_query(array))
        if not sequence:
            return torch.from_numpy(np.stack(rows)).to(self.device, self.dtype), None
        longest = max(r.shape[0] for r in rows)
        padded = np.zeros((len(rows), longest, dq), np.float32)
        mask = np.zeros((len(rows), longest), bool)
        for i, r in enumerate(rows):
            padded[i, : len(r)] = r
            mask[i, : len(r)] = True
        return torch.from_numpy(padded).to(self.device, self.dtype), torch.from_numpy(mask).to(self.device)

    def _normalize_query(self, array: np.ndarray) -> np.ndarray:
        norm = self.config.normalization
        if norm.query_center:
            array = array - self.weights.stats["query_mean"].cpu().numpy()
        if norm.query_l2:
            array = array / np.maximum(np.linalg.norm(array, axis=-1, keepdims=True), 1e-12)
        return array.astype(np.float32)

    def negative_condition(self, negative: Any, queries: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The ``negative`` control (already encoded by the search when it was text) as conditions for ``queries`` rows.

        A ``(k, d_q)`` matrix from several texts is averaged into one pooled negative condition
        (pooled samplers); token-sequence samplers take it as a token sequence.
        """
        if negative is None:
            return None, None
        if isinstance(negative, str) or (isinstance(negative, (list, tuple)) and negative and isinstance(negative[0], str)):
            raise InvalidRequestError(
                "control 'negative' got text, but this sampler was called without a search encoder; pass an encoded "
                "vector, or use GenerativeSearch with an encoder"
            )
        array = np.asarray(negative, dtype=np.float32)
        if not self.config.denoiser.sequence and array.ndim == 2:
            array = array.mean(axis=0)
        cond, mask = self.condition_tensor([array], name="negative")
        cond = cond.expand(queries, *cond.shape[1:])
        return cond, None if mask is None else mask.expand(queries, -1)

    # -- seeds ------------------------------------------------------------------------------------
    def finish_seeds(self, seeds: torch.Tensor, *, align: Any, slerp_to: Any) -> torch.Tensor:
        """Alignment (optional) → unit sphere (when the catalog is unit-norm) → spherical interpolation."""
        seeds = seeds.float()
        use_align, shrinkage = self._align_setting(align)
        if use_align:
            seeds = self.aligner(seeds, shrinkage)  # type: ignore[misc]
        if self.config.normalization.target_l2:
            seeds = seeds / seeds.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        parsed = parse_slerp(slerp_to, self.config.target_dim, self._text_encoder())
        if parsed is not None:
            direction, ratio = parsed
            seeds = slerp(seeds, torch.from_numpy(direction).to(seeds.device), ratio)
        return seeds

    def _align_setting(self, align: Any) -> tuple[bool, float]:
        if align is None:
            return self.align_default, self.shrinkage_default
        if isinstance(align, bool):
            enabled, shrinkage = align, self.shrinkage_default
        else:
            enabled, shrinkage = True, check_number("align (shrinkage)", align, low=0.0, high=1.0)
        if enabled and self.aligner is None:
            raise InvalidRequestError(
                f"control 'align' needs alignment statistics stored with the weights of sampler {self.id!r}; "
                "re-export the prior with catalog statistics"
            )
        return enabled, shrinkage


__all__ = ["PriorSampler", "resolve_device", "resolve_dtype"]
