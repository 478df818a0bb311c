"""Token tables: which (window, token) pairs a temporal probe uses, and their targets.

A token covers the samples ``[start, stop)`` of one channel (or of all channels when its
channel is -1); spans are always in samples of the original window, whatever rate the
model read it at. The temporal probes subsample at most ``max_tokens_per_window`` tokens
per window (seeded), so memory stays bounded for long token sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: reconstruction target: the signal over this many seconds centred on the token ...
RECONSTRUCTION_SPAN_S = 0.25
#: ... at this many equally spaced points (linear interpolation between samples)
RECONSTRUCTION_POINTS = 32
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


def reconstruction_times(spans: np.ndarray, n_samples: int, sampling_rate_hz: float
                         ) -> np.ndarray:
    """tokens x :data:`RECONSTRUCTION_POINTS` sample positions (fractional) of each token's
    reconstruction target.

    The target covers :data:`RECONSTRUCTION_SPAN_S` seconds centred on the token's span,
    whatever the span's length: a longer token is asked about its central 0.25 s, a shorter
    one also about its neighbourhood (a model with context can know it). Targets that would
    reach past the window's edge are shifted inwards; a window shorter than the span is
    covered whole.
    """
    width = min(RECONSTRUCTION_SPAN_S * float(sampling_rate_hz), float(n_samples - 1))
    centre = spans.mean(axis=1).astype(float) - 0.5  # centre of [start, stop) in sample index
    first = np.clip(centre - width / 2, 0.0, max(n_samples - 1 - width, 0.0))
    offsets = (np.arange(RECONSTRUCTION_POINTS) + 0.5) / RECONSTRUCTION_POINTS * width
    return first[:, None] + offsets[None, :]


def _interpolate(zsignals: np.ndarray, windows: np.ndarray, channels: np.ndarray,
                 times: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``zsignals[window, channel]`` at ``times`` (items x points,
    fractional sample indices), gathering only the samples needed."""
    last = zsignals.shape[2] - 1
    low = np.clip(np.floor(times).astype(np.int64), 0, last)
    high = np.minimum(low + 1, last)
    frac = times - low
    w, c = windows[:, None], channels[:, None]
    return (np.asarray(zsignals[w, c, low], dtype=np.float64) * (1.0 - frac)
            + np.asarray(zsignals[w, c, high], dtype=np.float64) * frac)


def reconstruction_targets(
    zsignals: np.ndarray, rows: TokenRows, spans: np.ndarray, channels: np.ndarray,
    sampling_rate_hz: float,
) -> np.ndarray:
    """Normalised signal of each selected token over a fixed 0.25 s centred on it.

    items x :data:`RECONSTRUCTION_POINTS` (per-channel tokens), or x that many per channel
    for tokens spanning all channels (channel -1); see :func:`reconstruction_times`. The
    selected tokens must be all per-channel or all of channel -1.
    """
    n_channels, n_samples = zsignals.shape[1], zsignals.shape[2]
    times = reconstruction_times(spans[rows.token], n_samples, sampling_rate_hz)
    chans = channels[rows.token]
    if (chans >= 0).all():
        return _interpolate(zsignals, rows.window, chans, times)
    if (chans < 0).all():
        parts = [_interpolate(zsignals, rows.window, np.full(len(rows), c), times)
                 for c in range(n_channels)]
        return np.concatenate(parts, axis=1)
    raise ValueError("reconstruction needs tokens all of one kind (per channel or -1)")
