"""The prior's weights directory: ``config.json`` + ``model.safetensors``, no pickle.

Layout (diffusers-style ``save_pretrained`` / ``from_pretrained``)::

    my-prior/
      config.json        PriorConfig: schema version, kind, architecture, dims, σ_data, schedule,
                         query/target encoder ids, normalisation, alignment settings, training
                         summary, and the byte size + SHA-256 of model.safetensors
      model.safetensors  tensors "model.<name>" (the EDMPrecond state dict) and
                         "stats.<name>" (normalisation / alignment statistics)

Statistics that may be stored (all float32, ``d`` = target_dim, ``d_q`` = query_dim):

* ``stats.query_mean`` ``(d_q,)`` — subtracted from queries when ``normalization.query_center``;
* ``stats.align.source_mean`` / ``stats.align.source_cov`` ``(d,)`` / ``(d, d)`` — statistics of
  the prior's generated seeds, and ``stats.align.target_mean`` / ``stats.align.target_cov`` —
  of the catalog; used by the optional post-hoc alignment (GD-Retriever §4.1.1, CORAL).

Loading verifies everything before torch sees it and raises :class:`~genseek.errors.WeightsError`
naming the file, what is wrong and what to do: a missing directory or file, unreadable or
unknown-schema JSON, a truncated file (size differs), a tampered file (hash differs), a
corrupt safetensors header, missing/unexpected/misshaped tensors, non-finite values, and —
when the caller passes what the collection expects — a target dimension or encoder id that
differs from the weights'.

This module is a stable API: the training package imports it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import WeightsError
from .denoisers import DenoiserConfig, build_denoiser
from .edm import ALPHA_MAX, SIGMA_MAX, SIGMA_MIN, EDMPrecond, TangentSchedule

SCHEMA_VERSION = 1
FORMAT = "genseek.prior"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_PREFIX = "model."
STATS_PREFIX = "stats."

Kind = Literal["diffusion", "regression"]


class ScheduleConfig(BaseModel):
    """Noise schedule constants (Diff4Steer eq. 5, 6, 13)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma_max: float = Field(SIGMA_MAX, gt=0, description="σ̂ max of the tangent schedule (σ(1) = σ_data·σ_max)")
    alpha_max: float = Field(ALPHA_MAX, gt=0, lt=math.pi / 2, description="tangent domain end α_max")
    sigma_min: float = Field(SIGMA_MIN, gt=0, description="smallest noise level (training clip, last grid point)")


class NormalizationConfig(BaseModel):
    """How vectors are normalised around the network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query_l2: bool = Field(False, description="L2-normalise the query (or each query token) before conditioning")
    query_center: bool = Field(False, description="subtract stats.query_mean from the query before conditioning")
    target_l2: bool = Field(True, description="the catalog vectors are unit-norm: project seeds onto the sphere")


class AlignmentConfig(BaseModel):
    """Post-hoc mean/covariance alignment of seeds to the catalog (GD-Retriever §4.1.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    available: bool = Field(False, description="stats.align.* tensors are stored")
    shrinkage: float = Field(0.1, ge=0.0, le=1.0, description="default covariance shrinkage toward a scaled identity")
    source_count: int = Field(0, ge=0, description="number of generated seeds the source statistics came from")
    target_count: int = Field(0, ge=0, description="number of catalog vectors the target statistics came from")


class FileDigest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bytes: int = Field(..., ge=0)
    sha256: str = Field(..., min_length=64, max_length=64)


class PriorConfig(BaseModel):
    """The contents of ``config.json`` (unknown keys are rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["genseek.prior"] = FORMAT
    schema_version: int = Field(SCHEMA_VERSION, description="weights format version")
    kind: Kind = Field("diffusion", description="diffusion (EDM prior) or regression (deterministic baseline)")
    denoiser: DenoiserConfig
    sigma_data: float = Field(..., gt=0, description="population std of the training targets (eq. 5)")
    schedule: ScheduleConfig = ScheduleConfig()
    cfg_dropout: float = Field(0.1, ge=0, le=1, description="probability the condition was dropped in training")
    query_encoder: str | None = Field(None, description="id of the encoder whose vectors condition the prior")
    target_encoder: str | None = Field(None, description="id of the encoder of the catalog space it generates into")
    normalization: NormalizationConfig = NormalizationConfig()
    alignment: AlignmentConfig = AlignmentConfig()
    training: dict[str, Any] = Field(default_factory=dict, description="free-form training summary (steps, loss, data)")
    files: dict[str, FileDigest] = Field(default_factory=dict, description="size and SHA-256 of each weights file")

    @property
    def target_dim(self) -> int:
        return self.denoiser.target_dim

    @property
    def query_dim(self) -> int:
        return self.denoiser.query_dim

    @property
    def tangent_schedule(self) -> TangentSchedule:
        return TangentSchedule(self.sigma_data, self.schedule.sigma_max, self.schedule.alpha_max)


@dataclass
class PriorWeights:
    """A loaded (or freshly built) prior: config, preconditioned model, statistics.

    ``model`` is an :class:`~genseek.samplers.edm.EDMPrecond` around the backbone the config
    describes; ``stats`` maps names like ``"query_mean"`` or ``"align.target_cov"`` to float32
    tensors.
    """

    config: PriorConfig
    model: EDMPrecond
    stats: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def create(cls, config: PriorConfig, *, stats: Mapping[str, torch.Tensor] | None = None) -> PriorWeights:
        """A randomly initialised model for ``config`` (what training starts from)."""
        model = EDMPrecond(build_denoiser(config.denoiser), config.sigma_data)
        return cls(config=config, model=model, stats=dict(stats or {}))

    def save_pretrained(self, directory: str | os.PathLike[str], *, training: Mapping[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (see :func:`save_pretrained`)."""
        return save_pretrained(directory, self, training=training)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **expect: Any) -> PriorWeights:
        """Load and verify a weights directory (see :func:`from_pretrained`)."""
        return from_pretrained(directory, **expect)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_stat_shapes(config: PriorConfig) -> dict[str, tuple[int, ...]]:
    d, dq = config.target_dim, config.query_dim
    shapes: dict[str, tuple[int, ...]] = {}
    if config.normalization.query_center:
        shapes["query_mean"] = (dq,)
    if config.alignment.available:
        shapes.update({
            "align.source_mean": (d,), "align.source_cov": (d, d),
            "align.target_mean": (d,), "align.target_cov": (d, d),
        })
    return shapes


def save_pretrained(
    directory: str | os.PathLike[str],
    weights: PriorWeights,
    *,
    training: Mapping[str, Any] | None = None,
) -> Path:
    """Write a weights directory atomically (temporary files, then rename).

    ``training`` (optional) replaces the config's training summary. The config written carries
    the size and SHA-256 of ``model.safetensors``. Statistics the config announces
    (``normalization.query_center``, ``alignment.available``) must be present in ``weights.stats``
    with the right shapes; otherwise :class:`WeightsError` is raised before anything is written.
    Returns the directory path.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    config = weights.config
    if training is not None:
        config = config.model_copy(update={"training": dict(training)})
    for name, shape in _expected_stat_shapes(config).items():
        tensor = weights.stats.get(name)
        if tensor is None or tuple(tensor.shape) != shape:
            got = "missing" if tensor is None else f"shape {tuple(tensor.shape)}"
            raise WeightsError(f"cannot save prior: the config needs stats[{name!r}] of shape {shape}, got {got}")
    if abs(weights.model.sigma_data - config.sigma_data) > 1e-12 * max(1.0, config.sigma_data):
        raise WeightsError(
            f"cannot save prior: the model's sigma_data {weights.model.sigma_data} differs from the config's {config.sigma_data}"
        )
    tensors = {MODEL_PREFIX + k: v.detach().to("cpu").contiguous() for k, v in weights.model.state_dict().items()}
    tensors.update({STATS_PREFIX + k: v.detach().to("cpu", torch.float32).contiguous() for k, v in weights.stats.items()})
    tensors = dict(sorted(tensors.items()))  # the same weights always give the same bytes
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".saving-") as tmp:
        tmp_weights = Path(tmp) / WEIGHTS_FILE
        save_file(tensors, str(tmp_weights), metadata={"format": f"{FORMAT}/{SCHEMA_VERSION}"})  # one key: stable bytes
        digest = FileDigest(bytes=tmp_weights.stat().st_size, sha256=_sha256(tmp_weights))
        config = config.model_copy(update={"files": {WEIGHTS_FILE: digest}})
        tmp_config = Path(tmp) / CONFIG_FILE
        tmp_config.write_text(json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
        os.replace(tmp_weights, directory / WEIGHTS_FILE)
        os.replace(tmp_config, directory / CONFIG_FILE)
    return directory


def read_config(directory: str | os.PathLike[str]) -> PriorConfig:
    """Read and validate ``config.json`` only (no tensors are loaded): metadata without weights."""
    directory = Path(directory)
    if not directory.is_dir():
        raise WeightsError(
            f"prior weights directory {str(directory)!r} does not exist; pass the directory written by "
            "save_pretrained() (or `genseek train`)"
        )
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise WeightsError(f"{str(path)!r} is missing: {str(directory)!r} is not a genseek prior weights directory")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{str(path)!r} is not valid JSON ({exc}); the file is truncated or corrupt — re-save the prior") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise WeightsError(f"{str(path)!r} is not a genseek prior config (expected \"format\": \"{FORMAT}\")")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise WeightsError(
            f"{str(path)!r} has weights schema version {version!r}; this genseek reads version {SCHEMA_VERSION}. "
            "Upgrade genseek, or re-export the prior with this version"
        )
    try:
        return PriorConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise WeightsError(f"{str(path)!r} is invalid: {problems}") from exc


def check_compatible(
    config: PriorConfig,
    *,
    source: str = "prior",
    target_dim: int | None = None,
    target_encoder: str | None = None,
    query_dim: int | None = None,
    query_encoder: str | None = None,
) -> None:
    """Raise :class:`WeightsError` listing every way ``config`` differs from what is expected.

    ``None`` means "don't check". Encoder ids are only compared when the weights record one.
    """
    problems = []
    if target_dim is not None and config.target_dim != target_dim:
        problems.append(f"it generates {config.target_dim}-d vectors but the collection's vector has {target_dim} dimensions")
    if target_encoder is not None and config.target_encoder is not None and config.target_encoder != target_encoder:
        problems.append(
            f"it was trained for the target encoder {config.target_encoder!r} but the collection uses {target_encoder!r}"
        )
    if query_dim is not None and config.query_dim != query_dim:
        problems.append(f"it expects {config.query_dim}-d queries but the query encoder gives {query_dim}-d")
    if query_encoder is not None and config.query_encoder is not None and config.query_encoder != query_encoder:
        problems.append(f"it was trained on queries from {config.query_encoder!r} but the search encodes with {query_encoder!r}")
    if problems:
        raise WeightsError(
            f"{source} does not fit: " + "; ".join(problems) + ". Use weights trained for this collection and encoder"
        )


def from_pretrained(
    directory: str | os.PathLike[str],
    *,
    target_dim: int | None = None,
    target_encoder: str | None = None,
    query_dim: int | None = None,
    query_encoder: str | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    verify_hash: bool = True,
) -> PriorWeights:
    """Load a weights directory written by :func:`save_pretrained`, verifying it first.

    Keyword ``target_dim`` / ``target_encoder`` / ``query_dim`` / ``query_encoder``: what the
    collection and search expect; a difference raises :class:`WeightsError` saying what differs.
    ``verify_hash=False`` skips the SHA-256 check (the size is always checked). The model is
    returned in eval mode on ``device``/``dtype``; statistics stay float32 on ``device``.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    config = read_config(directory)
    check_compatible(
        config,
        source=f"prior {str(directory)!r}",
        target_dim=target_dim,
        target_encoder=target_encoder,
        query_dim=query_dim,
        query_encoder=query_encoder,
    )
    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise WeightsError(f"{str(path)!r} is missing; the weights directory is incomplete — copy or re-save it")
    digest = config.files.get(WEIGHTS_FILE)
    if digest is None:
        raise WeightsError(f"{str(directory / CONFIG_FILE)!r} records no digest for {WEIGHTS_FILE}; re-save the prior")
    size = path.stat().st_size
    if size != digest.bytes:
        raise WeightsError(
            f"{str(path)!r} is {size} bytes but config.json records {digest.bytes}: the file is truncated or was "
            "replaced — copy it again"
        )
    if verify_hash and _sha256(path) != digest.sha256:
        raise WeightsError(
            f"{str(path)!r} does not match the SHA-256 recorded in config.json: the file was modified or corrupted — "
            "restore the original weights"
        )
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{str(path)!r} is not a readable safetensors file ({exc}); re-save the prior") from exc

    model_tensors = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    stats = {k[len(STATS_PREFIX):]: v for k, v in tensors.items() if k.startswith(STATS_PREFIX)}
    stray = sorted(k for k in tensors if not k.startswith((MODEL_PREFIX, STATS_PREFIX)))
    if stray:
        raise WeightsError(f"{str(path)!r} holds unexpected tensors {stray}; it was not written by genseek")

    weights = PriorWeights.create(config)
    expected = weights.model.state_dict()
    missing = sorted(set(expected) - set(model_tensors))
    unexpected = sorted(set(model_tensors) - set(expected))
    misshaped = sorted(
        f"{k}: {tuple(model_tensors[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in model_tensors and model_tensors[k].shape != v.shape
    )
    if missing or unexpected or misshaped:
        details = []
        if missing:
            details.append(f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}")
        if unexpected:
            details.append(f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}")
        if misshaped:
            details.append(f"wrong shapes {misshaped[:5]}")
        raise WeightsError(
            f"{str(path)!r} does not match the architecture in config.json ({'; '.join(details)}); "
            "the config and weights come from different models"
        )
    for name, shape in _expected_stat_shapes(config).items():
        tensor = stats.get(name)
        if tensor is None or tuple(tensor.shape) != shape:
            got = "missing" if tensor is None else f"shape {tuple(tensor.shape)}"
            raise WeightsError(f"{str(path)!r}: config.json announces stats.{name} of shape {shape}, got {got}")
    for name, tensor in list(model_tensors.items()) + [(STATS_PREFIX + k, v) for k, v in stats.items()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{str(path)!r}: tensor {name!r} contains NaN or infinite values; the training diverged")
    weights.model.load_state_dict(model_tensors, strict=True)
    weights.model.to(device=device, dtype=dtype).eval()
    weights.stats = {k: v.to(device=device, dtype=torch.float32) for k, v in stats.items()}
    return weights


__all__ = [
    "AlignmentConfig",
    "CONFIG_FILE",
    "NormalizationConfig",
    "PriorConfig",
    "PriorWeights",
    "SCHEMA_VERSION",
    "ScheduleConfig",
    "WEIGHTS_FILE",
    "check_compatible",
    "from_pretrained",
    "read_config",
    "save_pretrained",
]
