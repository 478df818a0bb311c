"""Pieces shared by the single-channel and the scenario windows: the time grid with its
margins, the measurements on placed events, and the event rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physio_bench.simulate import ground_truth as gt
from physio_bench.simulate.result import Event, interval_events, point_events
from physio_bench.simulate.rhythm import Beats, Breaths

#: Simulated before and after each window (s): longer than the slowest breath (10.6 s).
MARGIN_S = 12.0
#: Events this far outside the window (s) are still listed in events.parquet.
EVENT_MARGIN_S = 3.0
#: Pulses smaller than this fraction of the window's median pulse are pulse deficits:
#: left out of the pulse-amplitude labels, as a peak detector would miss them.
PULSE_DEFICIT_FRACTION = 0.2


@dataclass(frozen=True)
class Grid:
    """A window of ``n`` samples at ``fs`` Hz simulated with ``lead`` samples each side."""

    fs: float
    n: int
    lead: int

    @classmethod
    def for_window(cls, fs: float, n: int) -> Grid:
        return cls(fs=float(fs), n=int(n), lead=round(MARGIN_S * fs))

    @property
    def total(self) -> int:
        return self.n + 2 * self.lead

    @property
    def t0_s(self) -> float:
        return -self.lead / self.fs

    @property
    def t_s(self) -> np.ndarray:
        """Times (s) of the extended grid; 0 is the window's first sample."""
        return (np.arange(self.total) - self.lead) / self.fs

    @property
    def window_s(self) -> float:
        return self.n / self.fs

    def crop(self, x: np.ndarray) -> np.ndarray:
        return x[self.lead:self.lead + self.n]

    def index(self, times_s: np.ndarray) -> np.ndarray:
        """Nearest grid index of each time."""
        return np.clip(np.round(np.asarray(times_s) * self.fs).astype(int) + self.lead, 0,
                       self.total - 1)


def pulse_amplitudes(clean_ppg: np.ndarray, grid: Grid, feet_s: np.ndarray,
                     peaks_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Measured height (peak minus foot, noise-free signal) of each pulse whose foot and
    peak lie inside the window, and the mask of those pulses."""
    ok = (feet_s >= 0) & (peaks_s < grid.window_s)
    heights = clean_ppg[grid.index(peaks_s[ok])] - clean_ppg[grid.index(feet_s[ok])]
    return heights, ok


def pulse_labels(clean_ppg: np.ndarray, grid: Grid, beats: Beats, feet_s: np.ndarray,
                 peaks_s: np.ndarray) -> dict[str, float]:
    """Mean pulse height (a.u.), its CV and the R-to-systolic-peak time (s) over the
    window's visible pulses (pulse deficits left out)."""
    heights, ok = pulse_amplitudes(clean_ppg, grid, feet_s, peaks_s)
    if heights.size == 0:
        return {"pulse_amplitude_au": np.nan, "pulse_amplitude_cv": np.nan,
                "pulse_arrival_time_s": np.nan}
    visible = heights >= PULSE_DEFICIT_FRACTION * np.median(heights)
    h = heights[visible]
    arrival = (peaks_s[ok] - beats.r_s[ok])[visible]
    return {
        "pulse_amplitude_au": float(np.mean(h)),
        "pulse_amplitude_cv": float(np.std(h, ddof=1) / np.mean(h)) if h.size > 1 else np.nan,
        "pulse_arrival_time_s": float(np.mean(arrival)),
    }


def beat_events(beats: Beats, p_duration_s: float, window_s: float) -> list[Event]:
    """``beat`` (R peak, AAMI class) and ``p_wave`` (onset to end, kind) rows."""
    lo, hi = -EVENT_MARGIN_S, window_s + EVENT_MARGIN_S
    return (point_events("beat", beats.r_s, beats.classes, lo, hi)
            + interval_events("p_wave", beats.p_onsets_s, beats.p_onsets_s + p_duration_s,
                              beats.p_kind, lo, hi))


def breath_events(breaths: Breaths, window_s: float) -> list[Event]:
    """``breath`` (inspiration onsets), ``effort`` (obstructed efforts) and ``apnea`` rows."""
    lo, hi = -EVENT_MARGIN_S, window_s + EVENT_MARGIN_S
    rows = point_events("breath", breaths.onsets_s, "", lo, hi)
    rows += point_events("effort", breaths.efforts_s, "obstructive", lo, hi)
    for apnea in breaths.apneas:
        rows += interval_events("apnea", np.array([apnea.start_s]), np.array([apnea.stop_s]),
                                apnea.kind, lo, hi)
    return rows


def breathing_targets(breaths: Breaths, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample breathing rate (breaths/min) and phase (rad) inside the window."""
    t = grid.crop(grid.t_s)
    return gt.rate_per_sample(breaths.onsets_s, t), breaths.phase(t)


def white_noise(rng: np.random.Generator, sd: float, n: int) -> tuple[np.ndarray, float]:
    """Gaussian white noise of SD ``sd`` and its realised SD over the ``n`` samples."""
    noise = sd * rng.standard_normal(n)
    return noise, float(np.std(noise))
