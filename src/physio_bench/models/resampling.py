"""Anti-aliased resampling of windows to a model's input rate, and token spans mapped back.

A model sees each window at its own input rate (``input_hz``; see docs/models.md). The
embed stage resamples windows from the suite's rate ``fs`` to ``input_hz`` here, and maps
the token spans the model returns (samples at ``input_hz``) back to samples of the
original window, so that every probe keeps working in original samples.

**Ratio.** ``input_hz / fs`` must be an exact ratio of small integers ``up / down``
(reduced, each at most :data:`MAX_FACTOR`); both rates are read as decimals
(``Fraction(str(rate))``), so ``62.5`` is ``125/2``. The output has
``ceil(n * up / down)`` samples and output sample ``k`` lies at ``k / input_hz`` seconds
from the window's first sample, like input sample ``k * fs / input_hz``.

**Filter.** The project's one resampler, :func:`physio_bench.resampling.resample`
(the finetune stage trains on windows through the same function):
``scipy.signal.resample_poly`` (polyphase, linear phase, zero delay) with our
own Kaiser-windowed sinc FIR instead of scipy's default (whose cutoff sits *at* the new
Nyquist frequency, so components just above it alias at up to half their amplitude): the
passband ends at ``PASSBAND_FRACTION`` (0.8) of the lower Nyquist frequency
``min(fs, input_hz) / 2`` and the stopband starts at that Nyquist frequency, with
``STOPBAND_DB`` (60 dB) attenuation (``scipy.signal.kaiserord``). At 125 -> 100 Hz the
passband is 0-40 Hz (the ECG monitoring band), at 125 -> 50 Hz 0-20 Hz. The same filter
removes images when upsampling. Windows are extended with ``padtype="line"`` (the line
through the first and last samples is subtracted before filtering and added back), so a
drifting signal (EDA) shows no step at the edges.

**Spans back.** A token covering ``[a, b)`` samples at ``input_hz`` covers
``[a / input_hz, b / input_hz)`` seconds, i.e. original samples
``[floor(a * down / up), ceil(b * down / up))``, rounded *outward* (the span includes
every original sample the token touches) and clipped to ``[0, n)``. Integer arithmetic,
so the mapping is exact and deterministic.

**Chunks.** A window longer than a model's context (``context_samples`` at ``input_hz``)
is cut into chunks by the one shared rule of :mod:`physio_bench.models.context` (aligned to
the window's end; no chunk shorter than half the context; a shorter remainder becomes an
overlapped full-context first chunk of which only the tokens before the next chunk are
kept). The spans of each chunk are shifted by its first sample, so a token's span is where
its samples lie in the whole window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physio_bench.models.context import MIN_CHUNK_FRACTION, Chunk, split_context
from physio_bench.resampling import (  # noqa: F401  (re-exported: the one code path)
    MAX_FACTOR,
    METHOD,
    PASSBAND_FRACTION,
    STOPBAND_DB,
    exact_rate,
    filter_taps,
    rate_ratio,
    resample,
    resampled_length,
)


def resample_to_length(windows: np.ndarray, n_out: int) -> np.ndarray:
    """Anti-aliased resampling of windows (... x samples) to exactly ``n_out`` samples."""
    n_in = int(np.shape(windows)[-1])
    g = math.gcd(n_in, int(n_out))
    return resample(windows, int(n_out) // g, n_in // g)


def map_spans_back(spans: np.ndarray, up: int, down: int, n_samples: int) -> np.ndarray:
    """Token spans in samples at the input rate -> ``[start, stop)`` samples of the
    original ``n_samples``-sample window (rounded outward, clipped; int64)."""
    spans = np.asarray(spans, dtype=np.int64)
    if up == down:
        return np.clip(spans, 0, n_samples)
    starts = (spans[:, 0] * down) // up
    stops = -((-spans[:, 1] * down) // up)
    return np.clip(np.stack([starts, stops], axis=1), 0, n_samples)


@dataclass(frozen=True)
class InputPlan:
    """How windows of one suite reach one model.

    Attributes:
        sampling_rate_hz: the suite's rate.
        input_hz: the rate the model sees.
        source: where ``input_hz`` came from (``config``, ``plug-in default`` or
            ``suite rate``).
        up, down: the exact ratio ``input_hz / sampling_rate_hz``.
        n_samples: samples per original window.
        input_samples: samples per window at ``input_hz``.
        context_samples: the model's context at ``input_hz`` for these windows (None: any).
        chunks: the window's contexts at ``input_hz``
            (:func:`physio_bench.models.context.split_context`).
    """

    sampling_rate_hz: float
    input_hz: float
    source: str
    up: int
    down: int
    n_samples: int
    input_samples: int
    context_samples: int | None
    chunks: tuple[Chunk, ...]

    @classmethod
    def build(cls, sampling_rate_hz: float, n_samples: int, input_hz: float | None,
              source: str, context_samples: int | None = None,
              what: str = "input_hz") -> InputPlan:
        """The plan for ``n_samples``-sample windows (``input_hz`` None: the suite's rate).

        Raises:
            ConfigError: no exact small ratio between the rates (message starts with
                ``what``).
        """
        rate = float(sampling_rate_hz) if input_hz is None else float(input_hz)
        up, down = rate_ratio(float(sampling_rate_hz), rate, what)
        input_samples = resampled_length(n_samples, up, down)
        return cls(float(sampling_rate_hz), rate, "suite rate" if input_hz is None else source,
                   up, down, n_samples, input_samples, context_samples,
                   split_context(input_samples, context_samples))

    @property
    def resampled(self) -> bool:
        return self.up != self.down

    @property
    def chunk_bounds(self) -> list[tuple[int, int]]:
        """``[start, stop)`` of every chunk, in samples at ``input_hz``."""
        return [(chunk.start, chunk.stop) for chunk in self.chunks]

    def describe(self) -> dict[str, object]:
        """The ``input`` block of ``model.json``."""
        return {
            "sampling_rate_hz": self.sampling_rate_hz,
            "input_hz": self.input_hz,
            "input_hz_source": self.source,
            "resampling": {
                "method": METHOD if self.resampled else "none",
                "up": self.up, "down": self.down,
                "filter_taps": filter_taps(self.up, self.down),
            },
            "window_samples": self.n_samples,
            "input_samples": self.input_samples,
            "context_samples": self.context_samples,
            "chunks": [list(b) for b in self.chunk_bounds],
            "chunk_keep_before": [chunk.keep_before for chunk in self.chunks],
            "chunk_rule": (f"end-aligned; no chunk under {MIN_CHUNK_FRACTION:g} x the "
                           "context; a shorter remainder: overlapped full first context, "
                           "tokens starting before the next chunk kept"),
            "span_mapping": "floor(start * down / up), ceil(stop * down / up): outward",
        }


def _mode(values: np.ndarray) -> int:
    """The most common value (ties: the largest)."""
    found, counts = np.unique(values, return_counts=True)
    return int(found[counts == counts.max()].max())


def token_geometry(spans: np.ndarray, channels: np.ndarray, input_hz: float
                   ) -> dict[str, float | int | None]:
    """Tokens per channel, patch duration and token stride (seconds) from the token spans
    at the input rate: the most common span length and the most common step between the
    ends of consecutive tokens of one channel (a left-padded first token, of a window or a
    chunk, is shorter than the others); stride None when no channel has two tokens."""
    spans = np.asarray(spans, dtype=np.int64)
    channels = np.asarray(channels, dtype=np.int64)
    steps = [np.diff(np.sort(spans[channels == c, 1])) for c in np.unique(channels)]
    steps = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    n_channels = max(len(np.unique(channels)), 1)
    return {
        "tokens_per_channel": int(spans.shape[0] // n_channels),
        "patch_duration_s": _mode(spans[:, 1] - spans[:, 0]) / float(input_hz),
        "token_stride_s": _mode(steps) / float(input_hz) if steps.size else None,
    }
