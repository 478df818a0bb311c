"""Untrained baselines that run through the same embed stage and probes as the models.

``raw``
    Tokens are the window's non-overlapping patches of ``patch_samples`` samples (default
    32), one token sequence per channel (channel-major order); a token's vector is the
    patch itself (dim = ``patch_samples``, arbitrary units). Samples after the last whole
    patch are dropped.

``spectral``
    The same token grid as ``raw``, but each token is described by its log10 band powers.
    A 32-sample patch (0.256 s at 125 Hz, 3.9 Hz resolution) is too short to resolve
    heart rate (~1-3 Hz), so the spectrum of each token is computed over a *context* of
    ``context_samples`` samples (default 512: 4.1 s at 125 Hz, 0.24 Hz resolution)
    centred on the token and shifted inwards at the window edges (so the first and last
    few tokens share a context). The context is demeaned, Hann-tapered and its power
    spectrum summed in octave bands of FFT bins ``[1, 2), [2, 4), [4, 8), ...`` up to the
    Nyquist bin (band ``k`` spans ``2**k * fs / context_samples`` Hz upwards; 8 bands for
    a 512-sample context). Raise ``context_samples`` (e.g. 1024) to resolve breathing
    rates below 0.5 Hz.

Both have one layer, ``output``, no parameters, and describe themselves as untrained.
They have no ``default_input_hz``: the embed stage gives them windows at the suite's rate
(125 Hz by default), so they show what the signal itself holds; an entry's ``input_hz``
resamples them like any model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.errors import InputError, ModelError
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings

BASELINE_WEIGHTS = "none (baseline)"
LOG_FLOOR = 1e-20  # added to band powers before log10, so silent bands stay finite


def _positive_int(value: Any, option: str, model: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"model {model!r}: option {option}={value!r} must be a positive integer")
    return value


def patch_grid(n_samples: int, n_channels: int, patch_samples: int, model: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Spans (tokens x 2, ``[start, stop)`` samples) and channels of channel-major patches."""
    n_patches = n_samples // patch_samples
    if n_patches == 0:
        raise InputError(
            f"model {model!r}: windows of {n_samples} samples are shorter than one patch of "
            f"{patch_samples}: lower patch_samples or use longer windows"
        )
    starts = np.arange(n_patches, dtype=np.int64) * patch_samples
    spans = np.stack([starts, starts + patch_samples], axis=1)
    return (np.tile(spans, (n_channels, 1)),
            np.repeat(np.arange(n_channels, dtype=np.int64), n_patches))


def _check_windows(windows: np.ndarray) -> np.ndarray:
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 3:
        raise InputError(f"windows must be windows x channels x samples, got {windows.shape}")
    return windows


class RawModel:
    """The window itself: tokens are non-overlapping patches (see module docstring)."""

    def __init__(self, name: str = "raw", seed: int = 0, patch_samples: int = 32) -> None:
        self.name = name
        self.seed = seed
        self.patch_samples = _positive_int(patch_samples, "patch_samples", name)

    def describe(self) -> ModelInfo:
        return ModelInfo(
            name=self.name, plugin="raw",
            architecture=f"raw non-overlapping patches of {self.patch_samples} samples",
            n_parameters=0, pretrained=False, weights_source=BASELINE_WEIGHTS,
            layer_names=["output"], extra={"patch_samples": self.patch_samples},
        )

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        windows = _check_windows(windows)
        n_windows, n_channels, n_samples = windows.shape
        spans, channels = patch_grid(n_samples, n_channels, self.patch_samples, self.name)
        n_patches = n_samples // self.patch_samples
        used = windows[:, :, : n_patches * self.patch_samples]
        tokens = used.reshape(n_windows, n_channels * n_patches, self.patch_samples)
        return TokenEmbeddings({"output": np.array(tokens, dtype=np.float32)}, spans, channels)


def octave_bands(n_fft: int) -> list[tuple[int, int]]:
    """Octave bands of rFFT bins ``[lo, hi)`` from bin 1 to the Nyquist bin (inclusive)."""
    n_bins = n_fft // 2 + 1
    bands, low = [], 1
    while low < n_bins:
        high = min(2 * low, n_bins)
        if n_bins - high < low:  # fold a short remainder into the last band
            high = n_bins
        bands.append((low, high))
        low = high
    return bands


class SpectralModel:
    """Per-token log10 band powers over a context centred on each patch (module docstring)."""

    def __init__(self, name: str = "spectral", seed: int = 0, patch_samples: int = 32,
                 context_samples: int = 512) -> None:
        self.name = name
        self.seed = seed
        self.patch_samples = _positive_int(patch_samples, "patch_samples", name)
        self.context_samples = _positive_int(context_samples, "context_samples", name)
        if self.context_samples < 4:
            raise ModelError(f"model {name!r}: context_samples must be at least 4")

    def describe(self) -> ModelInfo:
        bands = octave_bands(self.context_samples)
        return ModelInfo(
            name=self.name, plugin="spectral",
            architecture=(f"log10 power in {len(bands)} octave bands of a "
                          f"{self.context_samples}-sample Hann context per "
                          f"{self.patch_samples}-sample patch"),
            n_parameters=0, pretrained=False, weights_source=BASELINE_WEIGHTS,
            layer_names=["output"],
            extra={"patch_samples": self.patch_samples, "context_samples": self.context_samples,
                   "band_fft_bins": [list(b) for b in bands],
                   "band_hz": "bin * sampling_rate_hz / min(context_samples, window_samples)"},
        )

    def context_starts(self, n_samples: int) -> np.ndarray:
        """First sample of each token's context (shifted inwards at the window edges)."""
        length = min(self.context_samples, n_samples)
        centres = np.arange(n_samples // self.patch_samples) * self.patch_samples
        centres += self.patch_samples // 2
        return np.clip(centres - length // 2, 0, n_samples - length).astype(np.int64)

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        windows = _check_windows(windows)
        n_windows, n_channels, n_samples = windows.shape
        spans, channels = patch_grid(n_samples, n_channels, self.patch_samples, self.name)
        length = min(self.context_samples, n_samples)
        bands = octave_bands(length)
        contexts = np.lib.stride_tricks.sliding_window_view(windows, length, axis=-1)
        contexts = contexts[:, :, self.context_starts(n_samples), :].astype(np.float64)
        contexts -= contexts.mean(axis=-1, keepdims=True)
        power = np.abs(np.fft.rfft(contexts * np.hanning(length), axis=-1)) ** 2
        features = np.stack([power[..., lo:hi].sum(axis=-1) for lo, hi in bands], axis=-1)
        features = np.log10(features / length + LOG_FLOOR)
        tokens = features.reshape(n_windows, -1, len(bands)).astype(np.float32)
        return TokenEmbeddings({"output": tokens}, spans, channels)
