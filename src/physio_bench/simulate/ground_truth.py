"""Time-varying ground truth from event times (beats, breaths); pure numpy.

Definitions used for every suite:

- instantaneous rate at a sample (bpm) = 60 / length in seconds of the event interval
  (R-R, pulse-pulse, trough-trough) that contains the sample;
- respiratory phase (rad) = 0 at each trough (start of inspiration of a volume signal),
  pi at each peak, linear in time in between, wrapped to [0, 2 pi);
- measured rate (bpm) of a window = 60 * (n - 1) / (t_last - t_first) over the events from
  the last one at or before the window's start to the first one at or after its end.

Samples not bracketed by events are NaN (the simulators add margins so this is rare).
"""

from __future__ import annotations

import numpy as np


def rate_per_sample(event_times_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Instantaneous rate (events per minute) at times ``t_s`` from sorted event times."""
    events = np.asarray(event_times_s, dtype=float)
    rate = np.full(len(t_s), np.nan)
    if len(events) < 2:
        return rate
    idx = np.searchsorted(events, t_s, side="right") - 1
    inside = (idx >= 0) & (idx < len(events) - 1)
    rate[inside] = 60.0 / np.diff(events)[idx[inside]]
    return rate


def bracketing_rate(event_times_s: np.ndarray, start_s: float, stop_s: float) -> float:
    """Mean rate (per minute) over the events that bracket ``[start_s, stop_s]``; NaN if < 2."""
    events = np.sort(np.asarray(event_times_s, dtype=float))
    if len(events) < 2:
        return float("nan")
    first = max(int(np.searchsorted(events, start_s, side="right")) - 1, 0)
    last = min(int(np.searchsorted(events, stop_s, side="left")), len(events) - 1)
    if last - first < 1:
        return float("nan")
    return float(60.0 * (last - first) / (events[last] - events[first]))


def alternate_landmarks(
    troughs_s: np.ndarray, peaks_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge troughs and peaks into one alternating sequence (times, phase in rad, unwrapped).

    Repeated landmarks of the same type keep the first; the sequence starts at a trough.
    """
    times = np.concatenate([np.asarray(troughs_s, float), np.asarray(peaks_s, float)])
    is_peak = np.concatenate([np.zeros(len(troughs_s), bool), np.ones(len(peaks_s), bool)])
    order = np.argsort(times, kind="stable")
    times, is_peak = times[order], is_peak[order]
    keep = np.ones(len(times), bool)
    keep[1:] = is_peak[1:] != is_peak[:-1]
    times, is_peak = times[keep], is_peak[keep]
    if len(times) and is_peak[0]:
        times, is_peak = times[1:], is_peak[1:]
    return times, np.pi * np.arange(len(times), dtype=float)


def phase_per_sample(troughs_s: np.ndarray, peaks_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Respiratory phase (rad, [0, 2 pi)) at ``t_s``: 0 at troughs, pi at peaks; NaN outside."""
    times, phase = alternate_landmarks(troughs_s, peaks_s)
    out = np.full(len(t_s), np.nan)
    if len(times) < 2:
        return out
    inside = (t_s >= times[0]) & (t_s <= times[-1])
    out[inside] = np.mod(np.interp(t_s[inside], times, phase), 2 * np.pi)
    return out
