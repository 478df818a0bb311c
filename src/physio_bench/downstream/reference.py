"""Reference labels of real windows: event detection, rate curves, ectopic flags.

Methods (neurokit2 0.3.0, fixed so results are reproducible):

- Heart beats: the record's reference beat annotations when the config names an
  annotation file; otherwise the reference detector on the ECG:
  ``nk.ecg_clean(method="neurokit")``, flipped when its QRS complexes point down (the
  median over 2-s segments of the segment minimum is larger in magnitude than that of
  the segment maximum, e.g. MCL1 leads), then ``nk.ecg_peaks(method="neurokit",
  correct_artifacts=False)``. PPG windows of a record with no annotations take their
  beats from the record's ECG when it has one, else from ``nk.ppg_clean`` +
  ``nk.ppg_peaks(method="elgendi")`` on the PPG.
- Breaths: ``nk.rsp_clean(method="khodadad2018")`` then ``nk.rsp_peaks`` (inhalation
  peaks) on the respiration channel.
- Rates: the instantaneous rate is a step function, ``60 / (t[i+1] - t[i])`` per minute
  on ``[t[i], t[i+1])``; intervals outside a plausible range (heart 20-250 bpm, breathing
  2-60 breaths/min) are NaN, and so are detector intervals that span missing samples
  (a beat or breath inside a gap cannot be detected). A window's rate is the time
  average of this function over the window (which equals 60 / mean interval), NaN when
  less than half the window is covered.
- Ectopic flag: 1 when any annotated beat in the window is ectopic (AAMI classes S, V
  and F: symbols ``A a J S V r E F``), 0 when the window has beats but none is ectopic,
  NaN without annotations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEART_RATE_RANGE_BPM = (20.0, 250.0)
RESP_RATE_RANGE_BPM = (2.0, 60.0)
MIN_COVERAGE = 0.5

ECG_DETECTOR = "detector:neurokit2.ecg_peaks(method=neurokit), polarity-corrected"
PPG_DETECTOR = "detector:neurokit2.ppg_peaks(method=elgendi)"
RSP_DETECTOR = "detector:neurokit2.rsp_peaks(method=khodadad2018)"


def qrs_points_down(cleaned: np.ndarray, fs: float, segment_s: float = 2.0) -> bool:
    """Whether a cleaned ECG's largest deflections are negative (median over segments)."""
    size = max(1, int(segment_s * fs))
    n = cleaned.size // size
    if n == 0:
        return bool(-cleaned.min() > cleaned.max())
    segments = cleaned[: n * size].reshape(n, size)
    return bool(np.median(-segments.min(axis=1)) > np.median(segments.max(axis=1)))


def detect_ecg_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """R-peak times in seconds from an ECG sampled at ``fs`` Hz (reference detector)."""
    import neurokit2 as nk

    cleaned = nk.ecg_clean(signal, sampling_rate=fs, method="neurokit")
    if qrs_points_down(cleaned, fs):
        cleaned = -cleaned
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="neurokit", correct_artifacts=False)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.float64) / fs


def detect_ppg_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """Systolic peak times in seconds from a PPG sampled at ``fs`` Hz."""
    import neurokit2 as nk

    cleaned = nk.ppg_clean(signal, sampling_rate=fs)
    _, info = nk.ppg_peaks(cleaned, sampling_rate=fs, method="elgendi")
    return np.asarray(info["PPG_Peaks"], dtype=np.float64) / fs


def detect_breaths(signal: np.ndarray, fs: float) -> np.ndarray:
    """Inhalation peak times in seconds from a respiration signal sampled at ``fs`` Hz."""
    import neurokit2 as nk

    cleaned = nk.rsp_clean(signal, sampling_rate=fs, method="khodadad2018")
    _, info = nk.rsp_peaks(cleaned, sampling_rate=fs, method="khodadad2018")
    return np.asarray(info["RSP_Peaks"], dtype=np.float64) / fs


def rate_curve(
    event_times_s: np.ndarray,
    times_s: np.ndarray,
    rate_range: tuple[float, float],
    missing_times_s: np.ndarray | None = None,
) -> np.ndarray:
    """Instantaneous rate (events per minute) at ``times_s`` from sorted event times.

    Step function ``60 / (t[i+1] - t[i])`` on ``[t[i], t[i+1])``; NaN before the first
    event, from the last event on, where the rate falls outside ``rate_range``, and on
    intervals that contain any of ``missing_times_s`` (detections across a data gap).
    """
    events = np.asarray(event_times_s, dtype=np.float64)
    out = np.full(times_s.shape, np.nan)
    if events.size < 2:
        return out
    intervals = np.diff(events)
    with np.errstate(divide="ignore"):
        rates = np.where(intervals > 0, 60.0 / np.where(intervals > 0, intervals, 1.0), np.nan)
    rates[(rates < rate_range[0]) | (rates > rate_range[1])] = np.nan
    if missing_times_s is not None and missing_times_s.size:
        hit = np.searchsorted(events, missing_times_s, side="right") - 1
        rates[np.unique(hit[(hit >= 0) & (hit < intervals.size)])] = np.nan
    index = np.searchsorted(events, times_s, side="right") - 1
    inside = (index >= 0) & (index < intervals.size)
    out[inside] = rates[index[inside]]
    return out


def window_rate(curve: np.ndarray, min_coverage: float = MIN_COVERAGE) -> float:
    """Mean of a window's rate curve, NaN when less than ``min_coverage`` of it is defined."""
    defined = np.isfinite(curve)
    if defined.mean() < min_coverage:
        return float("nan")
    return float(curve[defined].mean())


@dataclass
class BeatCounts:
    """Beats in a window: total, ectopic, and the ectopic flag (1/0, NaN when unknown)."""

    n_beats: float
    n_ectopic: float
    ectopic: float


def count_beats(
    times_s: np.ndarray,
    symbols: np.ndarray | None,
    start_s: float,
    stop_s: float,
    ectopic_symbols: frozenset[str],
) -> BeatCounts:
    """Count beats in ``[start_s, stop_s)``; the ectopic flag needs beat symbols."""
    inside = (times_s >= start_s) & (times_s < stop_s)
    n_beats = float(inside.sum())
    if symbols is None:
        return BeatCounts(n_beats=n_beats, n_ectopic=float("nan"), ectopic=float("nan"))
    n_ectopic = float(sum(s in ectopic_symbols for s in symbols[inside]))
    ectopic = float(n_ectopic > 0) if n_beats > 0 else float("nan")
    return BeatCounts(n_beats=n_beats, n_ectopic=n_ectopic, ectopic=ectopic)
