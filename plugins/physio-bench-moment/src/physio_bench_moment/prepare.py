"""Fit windows to MOMENT's fixed input of ``input_samples`` (512) samples (numpy only).

- A window longer than the input is block-averaged by the integer factor
  ``ceil(n / input_samples)`` (a box anti-alias filter; e.g. 2048 samples at 250 Hz become
  512 samples at 62.5 Hz); samples after the last whole block are dropped.
- A shorter (or decimated) window is left-padded with zeros and the padding masked out
  (``input_mask`` 0), MOMENT's own convention.

Tokens are MOMENT's patches of ``patch`` samples; patches that hold only padding are
dropped, and each kept token's span is mapped back to samples of the original window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Prepared:
    values: np.ndarray  # float32, windows x channels x input_samples
    mask: np.ndarray  # int64, windows x input_samples (1 observed, 0 padding)
    factor: int  # decimation factor
    token_patches: np.ndarray  # int64: indices of the patches kept as tokens
    spans: np.ndarray  # int64, kept patches x 2: [start, stop) in original samples


def prepare_windows(windows: np.ndarray, input_samples: int = 512, patch: int = 8
                    ) -> Prepared:
    windows = np.asarray(windows, dtype=np.float32)
    n_windows, n_channels, n_samples = windows.shape
    factor = max(1, -(-n_samples // input_samples))
    length = n_samples // factor
    if length == 0:
        raise ValueError(f"windows of {n_samples} samples are too short for MOMENT")
    decimated = windows[:, :, : length * factor].reshape(n_windows, n_channels, length, factor)
    decimated = decimated.mean(axis=-1, dtype=np.float64).astype(np.float32)
    pad = input_samples - length
    values = np.zeros((n_windows, n_channels, input_samples), dtype=np.float32)
    values[:, :, pad:] = decimated
    mask = np.zeros((n_windows, input_samples), dtype=np.int64)
    mask[:, pad:] = 1
    starts = np.arange(input_samples // patch, dtype=np.int64) * patch - pad
    stops = starts + patch
    keep = stops > 0
    spans = np.stack([np.clip(starts[keep], 0, None), stops[keep]], axis=1) * factor
    return Prepared(values, mask, factor, np.flatnonzero(keep).astype(np.int64), spans)
