"""The simulated content of one window, as the suite writer stores it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class WindowResult:
    """One window: channels x samples plus its per-sample ground truth.

    ``heart_rate_bpm``, ``resp_rate_bpm`` and ``resp_phase_rad`` are per-sample arrays
    (NaN where they do not apply); ``measured`` holds the ``measured_*`` label columns
    (rates measured with neurokit2 detectors on the noise-free signal); ``labels`` holds
    extra factor columns decided during simulation (scenarios).
    """

    signals: np.ndarray
    heart_rate_bpm: np.ndarray
    resp_rate_bpm: np.ndarray
    resp_phase_rad: np.ndarray
    measured: dict[str, float] = field(default_factory=dict)
    labels: dict[str, float] = field(default_factory=dict)

    def as_float32(self) -> WindowResult:
        """The same window with float32 arrays (the stored precision; halves memory)."""
        return WindowResult(
            signals=self.signals.astype(np.float32),
            heart_rate_bpm=self.heart_rate_bpm.astype(np.float32),
            resp_rate_bpm=self.resp_rate_bpm.astype(np.float32),
            resp_phase_rad=self.resp_phase_rad.astype(np.float32),
            measured=self.measured, labels=self.labels,
        )


def nan_target(n_samples: int) -> np.ndarray:
    """A per-sample target that does not apply: all NaN."""
    return np.full(n_samples, np.nan)


def exact_length(signal: np.ndarray, n_samples: int, simulator: str) -> np.ndarray:
    """``signal`` as float, cut to ``n_samples`` (neurokit2 sometimes returns a sample more)."""
    signal = np.asarray(signal, dtype=float)
    if len(signal) < n_samples:
        raise RuntimeError(f"{simulator} returned {len(signal)} samples, expected {n_samples}")
    return signal[:n_samples]
