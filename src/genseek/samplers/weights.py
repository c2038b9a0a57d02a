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
naming the file, what is wrong and what to do: a missing directory or file, unreadable, oversized,
too deeply nested or unknown-schema JSON, a field of the wrong type (``true`` or ``512.0`` where an
integer is expected, ``NaN``/``Infinity``) or out of its bounds (every size is capped, see
:mod:`~genseek.samplers.denoisers`), a truncated file (size differs), a tampered file (hash differs),
a corrupt safetensors header, missing/unexpected/misshaped or non-float tensors, non-finite values,
and — when the caller passes what the collection expects — a target dimension or encoder id that
differs from the weights'.

Memory safety: nothing is allocated from the config's sizes until they are proven to describe the
file. The expected tensor shapes are computed by building the model on the ``meta`` device (which
allocates nothing; the config's sizes are bounded first, so this is quick), and compared exactly
with the shapes in the safetensors header (read without loading a tensor). Only then are tensors
loaded and the model built — so a loaded prior never takes much more memory than its own
``model.safetensors`` holds, whatever ``config.json`` claims.

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
from .denoisers import MAX_DEPTH, MAX_DIM, MAX_HEADS, DenoiserConfig, build_denoiser
from .edm import ALPHA_MAX, SIGMA_MAX, SIGMA_MIN, EDMPrecond, TangentSchedule

SCHEMA_VERSION = 1
FORMAT = "genseek.prior"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_PREFIX = "model."
STATS_PREFIX = "stats."
#: ``config.json`` is a few KB; anything above this is refused before it is read.
MAX_CONFIG_BYTES = 16 << 20
#: Bound of the integer counters of a config (sample counts, file sizes): far above any real value.
MAX_COUNT = 1 << 53
#: Bound of the noise-level constants (σ_data, σ_max, σ_min): their products must stay finite.
MAX_SIGMA = 1e6
#: safetensors dtypes a prior's tensors may have (all of them are float).
FLOAT_DTYPES = frozenset({"F16", "BF16", "F32", "F64"})

Kind = Literal["diffusion", "regression"]


class ScheduleConfig(BaseModel):
    """Noise schedule constants (Diff4Steer eq. 5, 6, 13)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma_max: float = Field(
        SIGMA_MAX, gt=0, le=MAX_SIGMA, allow_inf_nan=False, description="σ̂ max of the tangent schedule (σ(1) = σ_data·σ_max)"
    )
    alpha_max: float = Field(ALPHA_MAX, gt=0, lt=math.pi / 2, allow_inf_nan=False, description="tangent domain end α_max")
    sigma_min: float = Field(
        SIGMA_MIN, gt=0, le=MAX_SIGMA, allow_inf_nan=False, description="smallest noise level (training clip, last grid point)"
    )


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
    shrinkage: float = Field(
        0.1, ge=0.0, le=1.0, allow_inf_nan=False, description="default covariance shrinkage toward a scaled identity"
    )
    source_count: int = Field(0, ge=0, le=MAX_COUNT, description="number of generated seeds the source statistics came from")
    target_count: int = Field(0, ge=0, le=MAX_COUNT, description="number of catalog vectors the target statistics came from")


class FileDigest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bytes: int = Field(..., ge=0, le=MAX_COUNT)
    sha256: str = Field(..., min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")


class PriorConfig(BaseModel):
    """The contents of ``config.json`` (unknown keys are rejected).

    :func:`read_config` validates the file strictly (JSON ``true`` is not an integer, ``512.0`` is
    not an integer, ``"512"`` is not a number); code constructing a config in Python gets
    pydantic's usual coercions. Every size and constant is bounded either way.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["genseek.prior"] = FORMAT
    schema_version: int = Field(SCHEMA_VERSION, description="weights format version")
    kind: Kind = Field("diffusion", description="diffusion (EDM prior) or regression (deterministic baseline)")
    denoiser: DenoiserConfig
    sigma_data: float = Field(
        ..., gt=0, le=MAX_SIGMA, allow_inf_nan=False, description="population std of the training targets (eq. 5)"
    )
    schedule: ScheduleConfig = ScheduleConfig()
    cfg_dropout: float = Field(
        0.1, ge=0, le=1, allow_inf_nan=False, description="probability the condition was dropped in training"
    )
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


_ALIGN_STATS = ("align.source_mean", "align.source_cov", "align.target_mean", "align.target_cov")


def stat_shapes(config: PriorConfig) -> dict[str, tuple[int, ...]]:
    """Every statistic a prior may store, name → the shape ``config`` implies (stored or not)."""
    d, dq = config.target_dim, config.query_dim
    return {
        "query_mean": (dq,),
        "align.source_mean": (d,), "align.source_cov": (d, d),
        "align.target_mean": (d,), "align.target_cov": (d, d),
    }


def _expected_stat_shapes(config: PriorConfig) -> dict[str, tuple[int, ...]]:
    """The statistics ``config`` announces (``query_center``, ``alignment.available``): they must be stored."""
    shapes = stat_shapes(config)
    names = (["query_mean"] if config.normalization.query_center else []) + (
        list(_ALIGN_STATS) if config.alignment.available else []
    )
    return {name: shapes[name] for name in names}


def expected_model_shapes(config: PriorConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor in the state dict of the model ``config`` describes.

    The model is built on the ``meta`` device, so nothing is allocated whatever the sizes; the
    sizes themselves are bounded by :class:`~genseek.samplers.denoisers.DenoiserConfig`, which keeps
    this quick (about a second at the largest depth and width).
    """
    with torch.device("meta"):
        model = EDMPrecond(build_denoiser(config.denoiser), config.sigma_data)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def save_pretrained(
    directory: str | os.PathLike[str],
    weights: PriorWeights,
    *,
    training: Mapping[str, Any] | None = None,
) -> Path:
    """Write a weights directory atomically (temporary files, then rename).

    ``training`` (optional) replaces the config's training summary. The config written carries
    the size and SHA-256 of ``model.safetensors``. Statistics the config announces
    (``normalization.query_center``, ``alignment.available``) must be present in ``weights.stats``,
    every statistic must be one of :func:`stat_shapes`' names with that shape, and the model's
    state dict must have exactly the shapes the config describes (what :func:`from_pretrained`
    checks); otherwise :class:`WeightsError` is raised before anything is written. Returns the
    directory path.
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
    known = stat_shapes(config)
    for name, tensor in weights.stats.items():
        if name not in known:
            raise WeightsError(
                f"cannot save prior: unknown statistic {name!r}; a prior stores only {sorted(known)} — drop it from stats"
            )
        if tuple(tensor.shape) != known[name]:
            raise WeightsError(
                f"cannot save prior: stats[{name!r}] has shape {tuple(tensor.shape)}, but the config implies {known[name]}"
            )
    state_shapes = {k: tuple(v.shape) for k, v in weights.model.state_dict().items()}
    if state_shapes != expected_model_shapes(config):
        raise WeightsError(
            "cannot save prior: the model's tensors do not have the shapes its config.denoiser describes "
            f"({_describe(config.denoiser)}); save the model together with the config it was built from"
        )
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


def _validation_problems(exc: ValidationError, limit: int = 8) -> str:
    """``field.path: message (got value)`` for each error pydantic found, the first ``limit`` of them."""
    problems = []
    for error in exc.errors()[:limit]:
        where = ".".join(map(str, error["loc"])) or "config"
        got = error.get("input")
        shown = "" if isinstance(got, (dict, list)) or error["type"] == "json_invalid" else f" (got {str(got)[:40]!r})"
        problems.append(f"{where}: {error['msg']}{shown}")
    more = len(exc.errors()) - limit
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def read_config(directory: str | os.PathLike[str]) -> PriorConfig:
    """Read and validate ``config.json`` only (no tensors are loaded): metadata without weights.

    The file is refused unread above :data:`MAX_CONFIG_BYTES`, and validated strictly (see
    :class:`PriorConfig`): a wrong JSON type, a non-finite number, an unknown key, or a size beyond
    its bound raises :class:`WeightsError` naming the file and the field.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise WeightsError(
            f"prior weights directory {str(directory)!r} does not exist; pass the directory written by "
            "save_pretrained() (or `genseek train`)"
        )
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise WeightsError(f"{str(path)!r} is missing: {str(directory)!r} is not a genseek prior weights directory")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise WeightsError(
            f"{str(path)!r} is {size} bytes, more than the {MAX_CONFIG_BYTES} a prior config may have; it is not a "
            "genseek prior config — restore the config.json written by save_pretrained()"
        )
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{str(path)!r} is not valid JSON ({exc}); the file is truncated or corrupt — re-save the prior") from exc
    except RecursionError as exc:
        raise WeightsError(
            f"{str(path)!r} is nested too deeply to be a prior config; the file is corrupt or hostile — restore the "
            "config.json written by save_pretrained()"
        ) from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise WeightsError(f"{str(path)!r} is not a genseek prior config (expected \"format\": \"{FORMAT}\")")
    version = raw.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise WeightsError(
            f"{str(path)!r} has weights schema version {version!r}; this genseek reads version {SCHEMA_VERSION}. "
            "Upgrade genseek, or re-export the prior with this version"
        )
    try:
        return PriorConfig.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise WeightsError(
            f"{str(path)!r} is invalid: {_validation_problems(exc)}. Sizes are bounded (dims and width ≤ {MAX_DIM}, "
            f"depth ≤ {MAX_DEPTH}, heads ≤ {MAX_HEADS}) and integers must be JSON integers; restore the config.json "
            "saved with these weights, or re-save the prior with save_pretrained()"
        ) from exc


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

    Order: config (bounded, strict) → expectations → size and hash → safetensors header against
    the shapes the config implies (:func:`expected_model_shapes`, :func:`stat_shapes`) → tensors
    loaded → values finite → model built. Every failure is a :class:`WeightsError`, raised before
    any memory is allocated from the config's sizes.
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
    _check_header(path, config, read_header(path))  # before anything is allocated from the config's sizes
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{str(path)!r} is not a readable safetensors file ({exc}); re-save the prior") from exc
    model_tensors = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    stats = {k[len(STATS_PREFIX):]: v for k, v in tensors.items() if k.startswith(STATS_PREFIX)}
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            raise WeightsError(
                f"{str(path)!r}: tensor {name!r} contains NaN or infinite values; the training diverged — retrain "
                "(e.g. with a lower learning rate) or restore an earlier checkpoint"
            )
    weights = PriorWeights.create(config)
    weights.model.load_state_dict(model_tensors, strict=True)
    weights.model.to(device=device, dtype=dtype).eval()
    weights.stats = {k: v.to(device=device, dtype=torch.float32) for k, v in stats.items()}
    return weights


def read_header(path: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, safetensors dtype) of every tensor in a safetensors file, loading no tensor.

    safetensors checks, when opening, that the header's offsets cover the file exactly, so these
    shapes are what the file really holds. A corrupt header raises :class:`WeightsError`.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            entries = {}
            for name in handle.keys():
                tensor = handle.get_slice(name)
                entries[name] = (tuple(int(n) for n in tensor.get_shape()), str(tensor.get_dtype()))
            return entries
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{str(path)!r} is not a readable safetensors file ({exc}); re-save the prior") from exc


def _describe(denoiser: DenoiserConfig) -> str:
    fields = ("architecture", "target_dim", "query_dim", "width", "depth", "noise_embed_dim", "heads", "cond_residual")
    return ", ".join(f"{name}={getattr(denoiser, name)!r}" for name in fields)


def _listing(items: list[str]) -> str:
    return f"{items[:5]}{'…' if len(items) > 5 else ''}"


def _check_header(path: Path, config: PriorConfig, header: Mapping[str, tuple[tuple[int, ...], str]]) -> None:
    """Raise :class:`WeightsError` unless the header holds exactly the tensors ``config`` implies.

    Model tensors must match :func:`expected_model_shapes` name for name and shape for shape;
    statistics must be known names with the shapes :func:`stat_shapes` gives, and include every
    announced one; every tensor must be float. Nothing but the header is read.
    """
    stray = sorted(k for k in header if not k.startswith((MODEL_PREFIX, STATS_PREFIX)))
    if stray:
        raise WeightsError(
            f"{str(path)!r} holds unexpected tensors {_listing(stray)}; it was not written by genseek — remove them, or "
            "re-save the prior with save_pretrained()"
        )
    not_float = sorted(f"{k} ({dtype})" for k, (_, dtype) in header.items() if dtype not in FLOAT_DTYPES)
    if not_float:
        raise WeightsError(
            f"{str(path)!r} holds non-float tensors {_listing(not_float)}; a prior's tensors are float — it was not "
            "written by genseek, re-save the prior"
        )
    found = {k[len(MODEL_PREFIX):]: shape for k, (shape, _) in header.items() if k.startswith(MODEL_PREFIX)}
    expected = expected_model_shapes(config)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    misshaped = sorted(f"{k}: {found[k]} vs {shape}" for k, shape in expected.items() if k in found and found[k] != shape)
    if missing or unexpected or misshaped:
        details = []
        if missing:
            details.append(f"missing {_listing(missing)}")
        if unexpected:
            details.append(f"unexpected {_listing(unexpected)}")
        if misshaped:
            details.append(f"wrong shapes (file vs config) {misshaped[:5]}")
        raise WeightsError(
            f"{str(path)!r} does not match the architecture in config.json ({'; '.join(details)}); config.json's "
            f"denoiser says {_describe(config.denoiser)}, so the config and weights come from different models — "
            "restore the config.json saved with these weights"
        )
    stats = {k[len(STATS_PREFIX):]: shape for k, (shape, _) in header.items() if k.startswith(STATS_PREFIX)}
    known = stat_shapes(config)
    unknown = sorted(set(stats) - set(known))
    if unknown:
        raise WeightsError(
            f"{str(path)!r} holds unexpected tensors {_listing([STATS_PREFIX + k for k in unknown])}; a prior stores only "
            f"{sorted(STATS_PREFIX + k for k in known)} — remove them, or re-save the prior with save_pretrained()"
        )
    required = _expected_stat_shapes(config)
    for name, shape in known.items():
        if (name in stats and stats[name] != shape) or (name in required and name not in stats):
            got = f"shape {stats[name]}" if name in stats else "missing"
            raise WeightsError(
                f"{str(path)!r}: config.json implies stats.{name} of shape {shape}, got {got}; the config and weights "
                "come from different priors — re-save the prior"
            )


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
    "expected_model_shapes",
    "from_pretrained",
    "read_config",
    "read_header",
    "save_pretrained",
    "stat_shapes",
]
