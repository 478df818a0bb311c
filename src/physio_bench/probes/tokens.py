"""Token tables: which (window, token) pairs a temporal probe uses, and their targets.

A token covers the samples ``[start, stop)`` of one channel (or of all channels when its
channel is -1). The temporal probes subsample at most ``max_tokens_per_window`` tokens
per window (seeded), so memory stays bounded for long token sequences.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

#: reconstruction targets longer than this are block-averaged to this many values
MAX_RECONSTRUCTION_DIM = 64
#: the temporal probes need at least this many distinct token time spans per channel
MIN_TIME_SPANS = 4


@dataclass
class TokenRows:
    """Selected (window, token) pairs."""

    window: np.ndarray  # items, window index
    token: np.ndarray   # items, token index

    def __len__(self) -> int:
        return len(self.window)


def temporal_resolution_problem(
    spans: np.ndarray | None, channels: np.ndarray | None
) -> str | None:
    """Why the tokens cannot support temporal probes, or None if they can."""
    if spans is None or channels is None or len(spans) == 0:
        return "the model stores no token spans"
    per_channel = [len(np.unique(spans[channels == c, 0])) for c in np.unique(channels)]
    if max(per_channel) < MIN_TIME_SPANS:
        return (
            f"tokens have at most {max(per_channel)} distinct time span(s) per channel "
            f"(e.g. one token per channel summarising the window); the temporal probes need "
            f"at least {MIN_TIME_SPANS}"
        )
    return None


def modal_span_length(spans: np.ndarray) -> int:
    """Most common token length in samples (ties: the shorter)."""
    lengths = Counter(int(b - a) for a, b in spans)
    return max(lengths, key=lambda n: (lengths[n], -n))


def zscore_windows(signals: np.ndarray) -> np.ndarray:
    """Each window's channels scaled to zero mean, unit std (as an instance-normalising
    model sees them); constant channels become zeros. windows x channels x samples."""
    x = np.asarray(signals, dtype=np.float64)
    mean = x.mean(axis=2, keepdims=True)
    std = x.std(axis=2, keepdims=True)
    return np.where(std > 0, (x - mean) / np.where(std > 0, std, 1.0), 0.0).astype(np.float32)


def select_tokens(
    candidates: np.ndarray, valid: np.ndarray, max_per_window: int, seed: int
) -> TokenRows:
    """Up to ``max_per_window`` valid candidate tokens per window, seeded, in time order.

    Args:
        candidates: token indices eligible in every window.
        valid: windows x len(candidates) boolean (e.g. finite target over the span).
    """
    rng = np.random.default_rng(seed)
    windows, tokens = [], []
    for w in range(valid.shape[0]):
        pool = candidates[valid[w]]
        if len(pool) > max_per_window:
            pool = np.sort(rng.choice(pool, size=max_per_window, replace=False))
        windows.append(np.full(len(pool), w))
        tokens.append(pool)
    if not windows:
        return TokenRows(np.zeros(0, np.int64), np.zeros(0, np.int64))
    return TokenRows(np.concatenate(windows).astype(np.int64),
                     np.concatenate(tokens).astype(np.int64))


def gather_tokens(array: np.ndarray, rows: TokenRows) -> np.ndarray:
    """items x dim float32 features of the selected tokens from windows x tokens x dim."""
    out = np.empty((len(rows), array.shape[2]), dtype=np.float32)
    order = np.argsort(rows.window, kind="stable")
    block = 256
    for start in range(0, len(order), 4096):
        idx = order[start:start + 4096]
        w = rows.window[idx]
        lo, hi = int(w.min()), int(w.max()) + 1
        if hi - lo <= block:
            out[idx] = np.asarray(array[lo:hi], dtype=np.float32)[w - lo, rows.token[idx]]
        else:
            out[idx] = np.asarray(array[w, rows.token[idx]], dtype=np.float32)
    return out


def span_means(values: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Mean of per-sample ``values`` (windows x samples) over every token span:
    windows x tokens, NaN where a span holds any NaN."""
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0).astype(np.float64)
    csum = np.concatenate([np.zeros((len(values), 1)), np.cumsum(filled, axis=1)], axis=1)
    cbad = np.concatenate([np.zeros((len(values), 1)), np.cumsum(~finite, axis=1)], axis=1)
    start, stop = spans[:, 0], spans[:, 1]
    total = csum[:, stop] - csum[:, start]
    bad = cbad[:, stop] - cbad[:, start]
    with np.errstate(invalid="ignore"):
        return np.where(bad == 0, total / (stop - start)[None, :], np.nan)


def _block_average(values: np.ndarray, n_out: int) -> np.ndarray:
    """Average consecutive columns into ``n_out`` nearly equal blocks."""
    edges = np.linspace(0, values.shape[1], n_out + 1).round().astype(int)
    sums = np.add.reduceat(values, edges[:-1], axis=1)
    return sums / np.diff(edges)[None, :]


def reconstruction_targets(
    zsignals: np.ndarray, rows: TokenRows, spans: np.ndarray, channels: np.ndarray
) -> np.ndarray:
    """Normalised samples of each selected token's span (all channels when channel -1).

    All selected tokens must have the same span length; targets longer than
    :data:`MAX_RECONSTRUCTION_DIM` are block-averaged down to it.
    """
    start = spans[rows.token, 0]
    length = int(spans[rows.token[0], 1] - spans[rows.token[0], 0]) if len(rows) else 0
    offsets = np.arange(length)
    chans = channels[rows.token]
    n_channels = zsignals.shape[1]
    if (chans >= 0).all():
        target = zsignals[rows.window[:, None], chans[:, None], start[:, None] + offsets[None]]
    elif (chans < 0).all():
        target = zsignals[rows.window[:, None, None], np.arange(n_channels)[None, :, None],
                          start[:, None, None] + offsets[None, None]].reshape(len(rows), -1)
    else:
        raise ValueError("reconstruction needs tokens all of one kind (per channel or -1)")
    target = np.asarray(target, dtype=np.float64)
    if target.shape[1] > MAX_RECONSTRUCTION_DIM:
        target = _block_average(target, MAX_RECONSTRUCTION_DIM)
    return target
