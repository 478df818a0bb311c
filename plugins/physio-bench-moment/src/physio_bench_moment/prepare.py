"""Fit windows to MOMENT's fixed input of ``input_samples`` (512) samples (numpy only).

MOMENT (``momentfm``) reads 512 samples in patches of 8 and treats a patch as observed only
when *all* its samples are (``Masking.convert_seq_to_patch_view``: its mask is
``[0,0,0,0,1,1,1,1]`` -> unobserved): such a patch gets the mask embedding and no other
token attends to it. So:

- a window of ``n <= 512`` samples is left-padded with zeros to 512 and the padding masked
  (``input_mask`` 0), MOMENT's own convention;
- only patches whose 8 samples are all window samples become tokens; when ``n`` is not a
  multiple of 8, the first ``n mod 8`` samples sit in a half-padded patch that MOMENT does
  not see, and no token covers them (token spans cover fully observed samples only);
- windows longer than 512 samples are refused: resampling is the core's job (``input_hz``,
  anti-aliased with ``scipy.signal.resample_poly``) and so is cutting long windows into
  consecutive chunks (``max_window_samples``). The old block average (a box filter that
  let a 50 Hz tone through at 0.19 of its amplitude) is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class InputError(ValueError):
    """A window MOMENT cannot take (its name is what the subprocess plug-in maps to
    physio_bench's InputError)."""


@dataclass
class Prepared:
    values: np.ndarray  # float32, windows x channels x input_samples
    mask: np.ndarray  # int64, windows x input_samples (1 observed, 0 padding)
    token_patches: np.ndarray  # int64: indices of the (fully observed) patches kept as tokens
    spans: np.ndarray  # int64, kept patches x 2: [start, stop) in window samples


def prepare_windows(windows: np.ndarray, input_samples: int = 512, patch: int = 8
                    ) -> Prepared:
    """Left-pad windows (windows x channels x samples) to ``input_samples`` and list the
    fully observed patches with their spans in the window."""
    windows = np.asarray(windows, dtype=np.float32)
    n_windows, n_channels, n_samples = windows.shape
    if n_samples > input_samples:
        raise InputError(f"windows of {n_samples} samples are longer than MOMENT's input of "
                         f"{input_samples}; set input_hz so that a window fits, or let the "
                         f"core feed {input_samples}-sample chunks")
    if n_samples < patch:
        raise InputError(f"windows of {n_samples} samples are shorter than one MOMENT patch "
                         f"({patch} samples)")
    pad = input_samples - n_samples
    values = np.zeros((n_windows, n_channels, input_samples), dtype=np.float32)
    values[:, :, pad:] = windows
    mask = np.zeros((n_windows, input_samples), dtype=np.int64)
    mask[:, pad:] = 1
    starts = np.arange(input_samples // patch, dtype=np.int64) * patch - pad
    keep = starts >= 0
    spans = np.stack([starts[keep], starts[keep] + patch], axis=1)
    return Prepared(values, mask, np.flatnonzero(keep).astype(np.int64), spans)
