"""The simulated content of one window, as the suite writer stores it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: One realised event: (event, start_s, stop_s, label); see docs/architecture.md.
Event = tuple[str, float, float, str]


@dataclass
class WindowResult:
    """One window: channels x samples, its per-sample ground truth, labels and events.

    ``heart_rate_bpm``, ``resp_rate_bpm`` and ``resp_phase_rad`` are per-sample arrays
    (NaN where they do not apply); ``labels`` holds the label columns, each measured on
    the events placed in the window; ``requested`` the generator's inputs (written as
    ``requested_<name>`` columns); ``events`` the realised events, times in seconds from
    the window's first sample.
    """

    signals: np.ndarray
    heart_rate_bpm: np.ndarray
    resp_rate_bpm: np.ndarray
    resp_phase_rad: np.ndarray
    labels: dict[str, float] = field(default_factory=dict)
    requested: dict[str, float] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def nan_target(n_samples: int) -> np.ndarray:
    """A per-sample target that does not apply: all NaN."""
    return np.full(n_samples, np.nan)


def point_events(name: str, times_s: np.ndarray, labels: np.ndarray | str = "",
                 lo_s: float = -np.inf, hi_s: float = np.inf) -> list[Event]:
    """Point events (start = stop) with times in ``[lo_s, hi_s]``."""
    times = np.asarray(times_s, float)
    tags = np.broadcast_to(np.asarray(labels, dtype=object), times.shape)
    keep = (times >= lo_s) & (times <= hi_s)
    return [(name, float(t), float(t), str(tag)) for t, tag in zip(times[keep], tags[keep],
                                                                  strict=True)]


def interval_events(name: str, starts_s: np.ndarray, stops_s: np.ndarray,
                    labels: np.ndarray | str = "", lo_s: float = -np.inf,
                    hi_s: float = np.inf) -> list[Event]:
    """Interval events that overlap ``[lo_s, hi_s]``."""
    starts, stops = np.asarray(starts_s, float), np.asarray(stops_s, float)
    tags = np.broadcast_to(np.asarray(labels, dtype=object), starts.shape)
    keep = (stops >= lo_s) & (starts <= hi_s)
    return [(name, float(a), float(b), str(tag))
            for a, b, tag in zip(starts[keep], stops[keep], tags[keep], strict=True)]
