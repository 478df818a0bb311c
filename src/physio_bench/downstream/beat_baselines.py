"""Classical beat-classification baselines on the real beat task's beats (no model).

They answer "does any embedding beat a raw beat and four RR intervals?" on exactly the
beats, split, classifier and metrics of :func:`physio_bench.downstream.beats.beat_plan`
(LDA with shrinkage and equal priors, DS1 -> DS2, per-class Se/+P, jκ, record-bootstrap
intervals). Each is run with and without the RR features:

- ``raw beat``: the ECG window's samples from ``beat_interval_s[0]`` to
  ``beat_interval_s[1]`` around the annotated R peak (-0.25 to +0.45 s: 88 samples at
  125 Hz), read at the R peak's exact time (linear
  interpolation), minus the segment's median (units of the record, mV for MIT-BIH).
- ``morphology``: de Chazal et al. 2004-style morphology without a wave delineator: the
  QRS complex sampled at 10 points from -50 to +100 ms and the T wave at 9 points from
  +150 to +450 ms (linear interpolation), both minus the PR-segment level (median of
  -250 to -100 ms), and the QRS width (s, the span within +-100 ms where the signal's
  magnitude exceeds half its maximum there). de Chazal delineated QRS onset/offset, P
  and T waves with ecgpuwave; these fixed-offset samples are the delineation-free analogue.
- ``+ RR``: pre-RR and post-RR (s, to the neighbouring annotated beat of any class),
  local RR (mean of the 10 intervals around the beat) and average RR (mean interval over
  +-150 s, de Chazal's 5-min average). An interval longer than :data:`MAX_RR_S` (a gap
  between kept windows) is replaced by the local mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.downstream import beats as beat_tasks
from physio_bench.io import load_npy, read_json

MAX_RR_S = 3.0
LOCAL_BEATS = 10
AVERAGE_HALF_WIDTH_S = 150.0
VARIANTS = ("raw beat", "raw beat + RR", "morphology", "morphology + RR")


def absolute_beat_times(suite_dir: Path) -> dict[str, np.ndarray]:
    """Every annotated beat (any class) of each record, as record time (s), sorted."""
    events = pd.read_parquet(suite_dir / "events.parquet")
    events = events[events["event"] == "beat"]
    labels = pd.read_parquet(suite_dir / "labels.parquet").set_index("window_id")
    starts = labels["start_s"].reindex(events["window_id"]).to_numpy(float)
    records = labels["record"].astype(str).reindex(events["window_id"]).to_numpy(str)
    times = starts + events["start_s"].to_numpy(float)
    return {r: np.unique(np.round(times[records == r], 6)) for r in np.unique(records)}


def rr_features(times_s: np.ndarray, record_beats: np.ndarray) -> np.ndarray:
    """Pre-RR, post-RR, local RR and average RR (s) of beats at ``times_s`` (record time)
    among all of the record's beats ``record_beats`` (sorted)."""
    rr = np.diff(record_beats)
    rr = np.where(rr > MAX_RR_S, np.nan, rr)
    index = np.searchsorted(record_beats, np.round(times_s, 6))
    index = np.clip(index, 0, record_beats.size - 1)
    pre = np.where(index > 0, rr[np.clip(index - 1, 0, max(rr.size - 1, 0))], np.nan)
    post = np.where(index < rr.size, rr[np.clip(index, 0, max(rr.size - 1, 0))], np.nan)
    half = LOCAL_BEATS // 2
    local = np.array([np.nanmean(rr[max(i - half, 0): i + half]) if rr.size else np.nan
                      for i in index])
    mids = (record_beats[:-1] + record_beats[1:]) / 2
    average = np.array([np.nanmean(rr[np.abs(mids - t) <= AVERAGE_HALF_WIDTH_S])
                        if rr.size else np.nan for t in times_s])
    out = np.column_stack([pre, post, local, average])
    fallback = np.nanmean(rr) if np.isfinite(rr).any() else 1.0
    for column in range(out.shape[1]):
        missing = ~np.isfinite(out[:, column])
        out[missing, column] = np.where(np.isfinite(local[missing]), local[missing], fallback)
    return out


def _sample(window: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.interp(positions, np.arange(window.size), window)


def raw_beat(window: np.ndarray, time_s: float, fs: float,
             interval_s: tuple[float, float]) -> np.ndarray:
    """The R-centred beat (samples from ``interval_s[0]`` to ``interval_s[1]``), median 0."""
    first, last = round(interval_s[0] * fs), round(interval_s[1] * fs)
    segment = _sample(np.asarray(window, np.float64), time_s * fs + np.arange(first, last + 1))
    return segment - np.median(segment)


def morphology(window: np.ndarray, time_s: float, fs: float) -> np.ndarray:
    """QRS (10 points, -50..+100 ms), T wave (9 points, +150..+450 ms) minus the PR level,
    and the QRS width (s); see the module docstring."""
    r = time_s * fs
    level = np.median(_sample(window, r + np.linspace(-0.25, -0.1, 19) * fs))
    qrs = _sample(window, r + np.linspace(-0.05, 0.1, 10) * fs) - level
    t_wave = _sample(window, r + np.linspace(0.15, 0.45, 9) * fs) - level
    around = np.abs(_sample(window, r + np.arange(-0.1, 0.1, 1.0 / fs) * fs) - level)
    width = float(np.sum(around > 0.5 * around.max()) / fs) if around.max() > 0 else 0.0
    return np.concatenate([qrs, t_wave, [width]])


def baseline_features(suite_dir: Path, plan: beat_tasks.BeatPlan, interval_s: tuple[float, float],
                      ) -> dict[str, np.ndarray]:
    """Features of the plan's beats for each of :data:`VARIANTS`."""
    meta = read_json(suite_dir / "meta.json")
    fs = float(meta["sampling_rate_hz"])
    signals = load_npy(suite_dir / "signals.npy")
    labels = pd.read_parquet(suite_dir / "labels.parquet").set_index("window_id")
    beats = plan.beats
    raw = np.stack([raw_beat(np.asarray(signals[w, 0]), t, fs, interval_s)
                    for w, t in zip(beats.window_id, beats.time_s, strict=True)])
    morph = np.stack([morphology(np.asarray(signals[w, 0], np.float64), t, fs)
                      for w, t in zip(beats.window_id, beats.time_s, strict=True)])
    record_beats = absolute_beat_times(suite_dir)
    absolute = labels["start_s"].reindex(beats.window_id).to_numpy(float) + beats.time_s
    rr = np.zeros((len(beats.time_s), 4))
    for record in np.unique(beats.record):
        here = beats.record == record
        rr[here] = rr_features(absolute[here], record_beats[record])
    return {"raw beat": raw, "raw beat + RR": np.hstack([raw, rr]),
            "morphology": morph, "morphology + RR": np.hstack([morph, rr])}


def run_beat_baselines(suite_dir: Path, split: dict[str, tuple[str, ...]],
                       config: dict[str, Any], seed: int) -> dict[str, dict[str, Any]]:
    """JSON detail of each baseline variant on the real beat task (same seed and beats as
    every model's row)."""
    plan = beat_tasks.beat_plan(suite_dir, split, config, seed)
    header = {"kind": "ecg", "target": "beat_class", "metric": "balanced_accuracy",
              **plan.info}
    if plan.note:
        return {v: {**header, "note": plan.note} for v in VARIANTS}
    interval = tuple(config["downstream"]["beat_interval_s"])
    features = baseline_features(suite_dir, plan, interval)
    return {name: {**header, "method": name,
                   **beat_tasks.features_result(x, plan, config, seed)}
            for name, x in features.items()}
