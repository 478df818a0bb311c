"""Ground truth measured on the events placed in a window; pure numpy.

Conventions shared by every suite (times in seconds from the window's first sample,
the window being ``[0, W)``):

- **Respiration is volume-like** (a belt, impedance pneumography or lung volume): the
  RSP channel rises through inspiration and falls through expiration. The **respiratory
  phase** (rad, [0, 2 pi)) is 0 at each inspiration onset (end-expiratory trough), pi at
  end-inspiration (peak), linear in time over inspiration and over expiration, and held
  at 0 during an apnea. Breath events are inspiration onsets.
- **Instantaneous rate** at a sample (bpm, or breaths/min) = 60 / length of the event
  interval (R-R, onset-onset) that contains the sample; NaN where no two events bracket
  it (the simulators add margins, so this does not happen in simulated windows).
- **Window rate** (the ``heart_rate_bpm`` and ``resp_rate_bpm`` labels) =
  ``60 (n - 1) / (t_n - t_1)`` over the n events inside the window: what a detector
  that sees only the window can measure. Windows carrying respiration hold >= 3 breath
  onsets (see ``check_simulation``).
- **Rate SD** (``heart_rate_std_bpm``) = sample SD (ddof 1) of ``60 / RR`` over the RR
  intervals inside the window; **RR CV** (``rr_interval_cv``) = SD / mean of those RR.
- **Rate change** (``*_change_bpm``) = mean rate of the intervals inside the window whose
  midpoint is in its last third minus the same for its first third; for breathing, the
  intervals that hold a pause (an apnea) are left out, as they are from the breathing
  rate.
- **Change time** (``change_time_s``, step windows) = when the rate has made half of its
  step: ``t0 + tau ln 2`` for the first-order heart-rate step, the first breath onset
  at or after ``t0`` for the idealised breathing step.
"""

from __future__ import annotations

import numpy as np


def inside(events_s: np.ndarray, start_s: float, stop_s: float) -> np.ndarray:
    """The sorted events in ``[start_s, stop_s)``."""
    events = np.sort(np.asarray(events_s, dtype=float))
    return events[(events >= start_s) & (events < stop_s)]


def window_rate(events_s: np.ndarray, start_s: float, stop_s: float) -> float:
    """``60 (n - 1) / (t_n - t_1)`` over the events inside the window; NaN if n < 2."""
    events = inside(events_s, start_s, stop_s)
    if len(events) < 2:
        return float("nan")
    return float(60.0 * (len(events) - 1) / (events[-1] - events[0]))


def rate_sd(events_s: np.ndarray, start_s: float, stop_s: float) -> float:
    """Sample SD (ddof 1) of 60 / interval over the intervals inside the window."""
    intervals = np.diff(inside(events_s, start_s, stop_s))
    if len(intervals) < 2:
        return float("nan")
    return float(np.std(60.0 / intervals, ddof=1))


def interval_cv(events_s: np.ndarray, start_s: float, stop_s: float) -> float:
    """Coefficient of variation (SD ddof 1 / mean) of the intervals inside the window."""
    intervals = np.diff(inside(events_s, start_s, stop_s))
    if len(intervals) < 2:
        return float("nan")
    return float(np.std(intervals, ddof=1) / np.mean(intervals))


def rate_per_sample(event_times_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Instantaneous rate (events per minute) at times ``t_s`` from event times."""
    events = np.sort(np.asarray(event_times_s, dtype=float))
    rate = np.full(len(t_s), np.nan)
    if len(events) < 2:
        return rate
    idx = np.searchsorted(events, t_s, side="right") - 1
    ok = (idx >= 0) & (idx < len(events) - 1)
    rate[ok] = 60.0 / np.diff(events)[idx[ok]]
    return rate


def rate_change(events_s: np.ndarray, start_s: float, stop_s: float,
                skip_s: np.ndarray | list[float] = ()) -> float:
    """Mean rate (60 / interval) of the intervals inside the window whose midpoint lies in
    its last third, minus the same over its first third (the last or first interval when
    a third holds no midpoint); intervals holding one of the times ``skip_s`` (the start
    of a breathing pause) are left out; NaN with fewer than 2 intervals."""
    events = inside(events_s, start_s, stop_s)
    if len(events) < 3:
        return float("nan")
    rates = 60.0 / np.diff(events)
    mids = (events[1:] + events[:-1]) / 2
    keep = np.ones(len(rates), dtype=bool)
    for t in skip_s:
        keep &= ~((events[:-1] <= t) & (events[1:] > t))
    if keep.sum() < 2:
        return float("nan")
    rates, mids = rates[keep], mids[keep]
    third = (stop_s - start_s) / 3
    first = rates[mids < start_s + third]
    last = rates[mids >= stop_s - third]
    return float((last.mean() if last.size else rates[-1])
                 - (first.mean() if first.size else rates[0]))


def overlap_s(start_s: float, stop_s: float, window_start_s: float, window_stop_s: float
              ) -> float:
    """Seconds of ``[start_s, stop_s)`` inside ``[window_start_s, window_stop_s)``."""
    return float(max(0.0, min(stop_s, window_stop_s) - max(start_s, window_start_s)))
