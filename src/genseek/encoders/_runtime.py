"""Shared plumbing of the model-backed encoders: optional imports, offline mode, devices, weights.

Nothing here imports torch, transformers, open_clip or laion_clap at module import time; every
heavy import happens inside a function, on first use of an encoder.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependencyError, WeightsError

#: Environment variables that keep Hugging Face libraries from touching the network.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def import_optional(module: str, *, component: str, package: str, extra: str) -> Any:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install genseek[extra]``.

    A package that is installed but fails to import for another reason (e.g. a torchvision build
    that does not match torch) raises :class:`ConfigError` with the underlying message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if missing and missing.split(".")[0] != module.split(".")[0]:
            raise MissingDependencyError(component, f"{package}' (its dependency {missing!r})", extra) from exc
        raise MissingDependencyError(component, package, extra) from exc
    except Exception as exc:
        raise ConfigError(
            f"{component}: {package!r} is installed but fails to import ({type(exc).__name__}: {exc}). "
            f"Reinstall a consistent set with `pip install --force-reinstall 'genseek[{extra}]'`"
            + (" (torchvision must match torch, e.g. torch==2.14.1 torchvision==0.29.1)" if extra == "clip" else "")
        ) from exc


@contextlib.contextmanager
def hf_offline() -> Iterator[None]:
    """Set ``HF_HUB_OFFLINE=1`` (and friends) for the duration of the block.

    genseek never downloads models: every encoder loads local files. ``huggingface_hub`` reads
    the variable once, when it is imported, so an already-imported ``huggingface_hub.constants``
    is switched to offline for the block too. Imports of transformers / laion_clap and model
    construction happen inside this block.
    """
    saved = {key: os.environ.get(key) for key in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    constants = sys.modules.get("huggingface_hub.constants")  # read the variable once, at its import
    saved_flag = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved_flag
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def resolve_device(component: str, device: str | None) -> str:
    """``None``/``"auto"`` → ``"cuda"`` when a GPU is present, else ``"cpu"``; validates explicit choices."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    text = str(device)
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"{component}: device {text!r} requested but CUDA is not available; use device='cpu' or 'auto'")
    if not (text == "cpu" or text.startswith("cuda") or text == "mps"):
        raise ConfigError(f"{component}: unknown device {text!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return text


def resolve_fp16(component: str, fp16: bool | None, device: str) -> bool:
    """``None`` → float16 on CUDA, float32 elsewhere; ``True`` on CPU is a :class:`ConfigError`."""
    if fp16 is None:
        return device.startswith("cuda")
    if fp16 and not device.startswith("cuda"):
        raise ConfigError(f"{component}: fp16=True needs a CUDA device (device is {device!r}); leave fp16 unset")
    return bool(fp16)


def check_batch_size(component: str, batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ConfigError(f"{component}: batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def existing_path(component: str, path: str | os.PathLike[str], what: str, fix: str) -> Path:
    """``path`` as a :class:`Path`, or :class:`WeightsError` when nothing is there."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise WeightsError(f"{component}: {what} {str(resolved)!r} does not exist. {fix}")
    return resolved


def _pickle_refused(component: str, path: Path, exc: BaseException) -> WeightsError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return WeightsError(
        f"{component}: {str(path)!r} is a pickle checkpoint that torch.load(weights_only=True) refuses "
        f"({type(exc).__name__}: {detail[:200]}): it holds objects other than tensors, which could run code, so "
        "genseek does not load it. Convert it to safetensors where you trust the file (load it there, then "
        "safetensors.torch.save_file(state_dict, 'model.safetensors') or model.save_pretrained(dir)) and remove "
        "the .bin / .pt file."
    )


def _read_checkpoint(component: str, path: Path) -> Any:
    """The raw object in a checkpoint: safetensors, or ``torch.load(weights_only=True)``.

    Zip checkpoints (``torch.save``'s format since 1.6) are memory-mapped, so reading one
    allocates no tensor memory until the tensors are used.
    """
    import pickle
    import zipfile

    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        raise _pickle_refused(component, path, exc) from exc
    except Exception as exc:
        raise WeightsError(
            f"{component}: cannot read weights file {str(path)!r} ({type(exc).__name__}: {exc}). Only "
            "safetensors files and plain tensor checkpoints load (torch.load(weights_only=True)); "
            "re-save the checkpoint's state_dict, preferably as safetensors."
        ) from exc


def _unwrap(component: str, path: Path, state: Any) -> dict[str, Any]:
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) for k in state):
        raise WeightsError(f"{component}: {str(path)!r} holds no state_dict of tensors; re-save the model's state_dict")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def load_state_dict(component: str, path: Path) -> dict[str, Any]:
    """Read a checkpoint without executing code: safetensors, or ``torch.load(weights_only=True)``.

    Unwraps a ``{"state_dict": ...}`` / ``{"model": ...}`` container and strips a ``module.``
    prefix (checkpoints saved from ``DistributedDataParallel``). Zip pickle checkpoints are
    memory-mapped. A pickle holding anything but tensors and plain containers is refused with a
    :class:`WeightsError` that says to convert it to safetensors (nothing in it runs).
    """
    return _unwrap(component, path, _read_checkpoint(component, path))


def checkpoint_shapes(component: str, path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name → shape of a checkpoint, with the names :func:`load_state_dict` would give.

    safetensors: read from the header only (no tensor is loaded; safetensors checks that the
    header covers the file exactly). Zip pickle checkpoints: memory-mapped, so only the pickled
    metadata is read; a legacy (pre-1.6) pickle is read whole, which is its file size. Entries
    that are not tensors are left out.
    """
    import torch

    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                shapes = {name: tuple(int(n) for n in handle.get_slice(name).get_shape()) for name in handle.keys()}
        except Exception as exc:
            raise WeightsError(
                f"{component}: {str(path)!r} is not a readable safetensors file ({type(exc).__name__}: {exc}); "
                "re-save the weights"
            ) from exc
        return _unwrap(component, path, shapes)
    state = load_state_dict(component, path)
    return {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_into(component: str, module: Any, state: dict[str, Any], path: Path, architecture: str) -> None:
    """``module.load_state_dict(state, strict=True)``; mismatches become :class:`WeightsError`."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:4])
        raise WeightsError(
            f"{component}: weights {str(path)!r} do not fit the {architecture} architecture: {detail} ... "
            "Choose the architecture the checkpoint was trained with."
        ) from exc
