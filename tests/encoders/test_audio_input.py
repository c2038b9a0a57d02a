"""Audio input handling: reading, mono mix-down, resampling, windowing (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genseek.encoders.audio import read_audio, resample, split_windows
from genseek.errors import InvalidRequestError

C = "encoder 'test'"


def dominant_frequency(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_resample_keeps_pitch_and_duration(rate):
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(rate) / rate)).astype(np.float32)
    out = resample(tone, rate, 48_000)
    assert abs(len(out) - 48_000) <= 1 and out.dtype == np.float32
    assert abs(dominant_frequency(out, 48_000) - 1000) < 5


def test_file_round_trip_and_channel_mixdown(tmp_path, sweep):
    soundfile = pytest.importorskip("soundfile")
    sweep = sweep(2.0, 44_100)
    soundfile.write(tmp_path / "stereo.wav", np.stack([sweep, sweep], axis=1), 44_100, subtype="FLOAT")
    from_file = read_audio(tmp_path / "stereo.wav", component=C, default_rate=48_000, target_rate=48_000)
    from_array = read_audio((sweep, 44_100), component=C, default_rate=48_000, target_rate=48_000)
    from_dict = read_audio({"array": sweep, "sampling_rate": 44_100}, component=C, default_rate=1, target_rate=48_000)
    assert len(from_file) == 96_000
    np.testing.assert_allclose(from_file, from_array, atol=1e-5)
    np.testing.assert_array_equal(from_array, from_dict)


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 50_000), window=st.integers(100, 10_000), tail=st.integers(0, 5_000))
def test_windows_cover_the_signal_in_order(length, window, tail):
    samples = np.arange(length, dtype=np.float32)
    windows = split_windows(samples, window, min_tail=tail)
    assert windows and all(len(w) <= window for w in windows)
    joined = np.concatenate(windows)
    np.testing.assert_array_equal(joined, samples[: len(joined)])
    assert length - len(joined) < max(tail, 1)  # only a short tail is ever dropped


@pytest.mark.parametrize(
    ("item", "pattern"),
    [("missing.wav", "does not exist"), (np.zeros(0), "empty"), (np.array([0.1, np.nan]), "NaN"),
     ((np.zeros(10), 0), "sample rate"), (np.zeros((2, 2, 2)), "1-d"), (object(), "must be a file path")],
)
def test_bad_audio_inputs(item, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidRequestError, match=pattern):
        read_audio(item, component=C, default_rate=48_000, target_rate=48_000)


def test_unreadable_file(tmp_path):
    pytest.importorskip("soundfile")
    (tmp_path / "noise.wav").write_bytes(b"RIFF0000WAVEnot really")
    with pytest.raises(InvalidRequestError, match="cannot read audio file.*WAV/FLAC"):
        read_audio(tmp_path / "noise.wav", component=C, default_rate=48_000, target_rate=48_000)
