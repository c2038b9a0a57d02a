"""Audio input handling shared by audio encoders: reading, mono mix-down, resampling, windows.

Inputs are a file path (anything libsndfile reads: WAV, FLAC, OGG, MP3 with libsndfile ≥ 1.1),
a 1-d / 2-d numpy array at a stated sample rate, a ``(array, sample_rate)`` tuple inside a list,
or a Hugging Face-style ``{"array": ..., "sampling_rate": ...}`` dict (the single-item form: a bare
tuple would read as a list of two items).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from ._runtime import import_optional


def read_audio(item: Any, *, component: str, default_rate: int, target_rate: int) -> np.ndarray:
    """One audio input as a mono float32 waveform at ``target_rate``.

    Args:
        item: path, array (assumed at ``default_rate``), ``(array, rate)`` or
            ``{"array": ..., "sampling_rate": ...}``.
    Raises:
        InvalidRequestError: unreadable/missing file, empty or non-finite samples, bad rate.
    """
    if isinstance(item, (str, Path)):
        soundfile = import_optional("soundfile", component=component, package="soundfile", extra="clap")
        path = Path(item)
        if not path.is_file():
            raise InvalidRequestError(f"{component}: audio file {str(path)!r} does not exist")
        try:
            samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:
            raise InvalidRequestError(
                f"{component}: cannot read audio file {str(path)!r} ({exc}). Pass WAV/FLAC/OGG "
                "(convert other formats with ffmpeg or sox) or a (samples, sample_rate) tuple."
            ) from exc
        samples = samples.mean(axis=1)
    elif isinstance(item, dict) and "array" in item:
        samples, rate = _as_samples(item["array"], component), item.get("sampling_rate", default_rate)
    elif isinstance(item, tuple) and len(item) == 2:
        samples, rate = _as_samples(item[0], component), item[1]
    elif isinstance(item, np.ndarray) or hasattr(item, "__array__"):
        samples, rate = _as_samples(item, component), default_rate
    else:
        raise InvalidRequestError(
            f"{component}: audio must be a file path, a numpy array, a (samples, sample_rate) tuple or a "
            f"{{'array': ..., 'sampling_rate': ...}} dict; "
            f"got {type(item).__name__}"
        )
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InvalidRequestError(f"{component}: sample rate must be a positive integer, got {rate!r}")
    if samples.size == 0:
        raise InvalidRequestError(f"{component}: audio input is empty")
    if not np.all(np.isfinite(samples)):
        raise InvalidRequestError(f"{component}: audio contains NaN or infinite samples")
    return resample(samples, int(rate), target_rate)


def _as_samples(value: Any, component: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{component}: audio samples must be numeric") from exc
    if array.ndim == 2:  # (channels, samples) or (samples, channels): mix down the short axis
        array = array.mean(axis=0 if array.shape[0] <= array.shape[1] else 1)
    if array.ndim != 1:
        raise InvalidRequestError(f"{component}: audio must be 1-d (mono) or 2-d (channels); got shape {array.shape}")
    return array


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling (scipy) or, without scipy, Fourier resampling."""
    if rate == target_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    try:
        from scipy.signal import resample_poly
    except ImportError:
        count = max(1, round(len(samples) * target_rate / rate))
        spectrum = np.fft.rfft(samples)
        out = np.fft.irfft(spectrum, n=count) * (count / len(samples))
        return out.astype(np.float32)
    divisor = math.gcd(rate, target_rate)
    return resample_poly(samples, target_rate // divisor, rate // divisor).astype(np.float32)


def split_windows(samples: np.ndarray, window: int, *, min_tail: int) -> list[np.ndarray]:
    """Consecutive non-overlapping windows of ``window`` samples.

    A final partial window is kept when it has at least ``min_tail`` samples (or when it is the
    only one); the encoder pads it. Audio shorter than one window gives one window.
    """
    if len(samples) <= window:
        return [samples]
    windows = [samples[start : start + window] for start in range(0, len(samples), window)]
    if len(windows[-1]) < min_tail:
        windows.pop()
    return windows


__all__ = ["read_audio", "resample", "split_windows"]
