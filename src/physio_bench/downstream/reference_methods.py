"""Classical (non-learned) reference methods, run on the same real windows as the models.

They answer "does any embedding beat twenty lines of signal processing?", and are
written as their own leaderboard rows (model ``reference-method``, type "reference
method") for the ``real:*`` regression tasks. Each sees one window of the suite (the
32-s, 125 Hz window the models see), nothing else, and is never trained.

Heart rate (bpm), rate = ``60 (n - 1) / (t_n - t_1)`` over the ``n`` detected beats:

- ECG: the Pan-Tompkins QRS detector (Pan & Tompkins 1985; ``nk.ecg_clean`` and
  ``nk.ecg_peaks`` with ``method="pantompkins1985"``). A different algorithm from the one
  that labels records without annotations (neurokit's own detector on the whole record),
  so on BIDMC the row measures agreement between two standard detectors.
- PPG: Elgendi's systolic peak detector (``nk.ppg_clean`` + ``nk.ppg_peaks``,
  ``method="elgendi"``).

Respiratory rate (breaths/min):

- RESP: count-and-fuse with a quality index (after Karlen et al. 2013 and Charlton et al.
  2016; shares no code with any labeller). The window is low-pass filtered at 1 Hz
  (4th-order Butterworth, forward-backward); three rates: (a) spectral, the largest
  periodogram peak between 4 and 65 breaths/min (:func:`spectral_rate`); (b) count, peaks
  of the filtered signal (``scipy.signal.find_peaks``, at least 0.9 s apart, prominence
  at least 30% of the median prominence of the window's peaks), ``60 (n - 1) / (t_n -
  t_1)``; (c) autocorrelation, the highest autocorrelation peak at lags 60/65 to 60/4 s.
  The estimate is their median (one harmonic or a doubled count cannot move it); the
  quality index is 1 when at least two of the three agree within :data:`RESP_AGREE_BPM`
  breaths/min. The spectral rate exists for every non-flat window, so the row is
  scored on exactly the windows the models are; the JSON reports the share of quality-1
  windows and the error on them (``quality_retained_*``), the error on windows without a
  saturation/flat-line flag (``mae_unflagged_windows``) and per-subject errors beside the
  mean predictor's (``per_subject``). The annotators marked breaths
  on this same signal, so this row is close to a ceiling.
- PPG and ECG: respiratory modulation with smart fusion (Karlen et al. 2013, as assessed
  by Charlton et al. 2016). Beats are detected as above; at each beat a high ``p`` and a
  low ``q`` of the signal (PPG: pulse peak and foot; ECG: the QRS complex's extremes,
  see :func:`modulation_rates`) give three respiratory series: baseline wander
  ``(p + q) / 2``, amplitude ``p - q`` and frequency (beat-to-beat interval). Each is
  interpolated linearly to 4 Hz, high-pass filtered at 3 per minute, Hann-tapered, and
  its rate is the frequency of the largest local maximum of the periodogram between 4
  and 65 breaths/min (zero-padded to 2048 points). Smart fusion: when the three rates'
  standard deviation is at most 4 breaths/min, the estimate is their mean (Karlen's
  rule); otherwise Karlen discards the window, and here the median of the three is used
  so that every window has an estimate like every model's. The JSON reports the share
  of windows Karlen's rule keeps and the error on those (``karlen_retained_*``).

A window where a method finds too few beats or breaths has no estimate; the row's
``note`` says what share of windows has one, and its error is over those.
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.downstream import cv
from physio_bench.downstream.beat_baselines import __doc__ as baselines_doc
from physio_bench.downstream.beat_baselines import run_beat_baselines
from physio_bench.downstream.datasets import REFERENCE_METHOD, dataset_specs
from physio_bench.downstream.tasks import (
    WITHIN_SUBJECT_NOTE,
    Task,
    beat_rows,
    dataset_tasks,
    note_only,
    per_subject_errors,
    prediction_table,
    select,
    within_subject_predictor,
)
from physio_bench.downstream.tasks import mean_predictor as trivial_mean
from physio_bench.errors import InputError
from physio_bench.io import load_npy, read_json
from physio_bench.metrics import direction_of
from physio_bench.model_types import MEAN_PREDICTOR

RESAMPLED_HZ = 4.0
RESP_BAND_BPM = (4.0, 65.0)
HIGH_PASS_BPM = 3.0
FUSION_MAX_SD_BPM = 4.0
N_FFT = 2048
MIN_EVENTS = 3
RESP_LOW_PASS_HZ = 1.0
RESP_MIN_BREATH_S = 0.9
RESP_MIN_PROMINENCE = 0.3
RESP_AGREE_BPM = 2.0

METHODS = {
    ("ecg", "heart_rate_bpm"): "Pan-Tompkins QRS detector (neurokit2, pantompkins1985)",
    ("ppg", "heart_rate_bpm"): "Elgendi systolic peak detector (neurokit2, elgendi)",
    ("rsp", "resp_rate_bpm"): "RESP periodogram peak fused with a breath count, with a "
                              "quality index (count-and-fuse)",
    ("ppg", "resp_rate_bpm"): "PPG baseline/amplitude/frequency modulation, smart fusion "
                              "(Karlen et al. 2013)",
    ("ecg", "resp_rate_bpm"): "ECG baseline/amplitude/frequency modulation, smart fusion "
                              "(Karlen et al. 2013; Charlton et al. 2016)",
}


def event_rate(times_s: np.ndarray) -> float:
    """Events per minute from event times: ``60 (n - 1) / (t_n - t_1)`` (NaN if n < 3)."""
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.size < MIN_EVENTS or times_s[-1] <= times_s[0]:
        return float("nan")
    return 60.0 * (times_s.size - 1) / float(times_s[-1] - times_s[0])


def _detect(clean: Any, peaks: Any, key: str, signal: np.ndarray, fs: float,
            clean_options: dict[str, Any], peak_options: dict[str, Any]) -> np.ndarray:
    """Sample indices of a neurokit2 detector's events; none when it fails on the window
    (neurokit2 raises on flat or very short signals: the window then has no estimate)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cleaned = clean(signal, sampling_rate=fs, **clean_options)
            _, info = peaks(cleaned, sampling_rate=fs, **peak_options)
        except (IndexError, ValueError, ZeroDivisionError):
            return np.zeros(0, dtype=np.int64)
    return np.asarray(info[key], dtype=np.int64)


def ecg_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices by Pan-Tompkins."""
    import neurokit2 as nk

    return _detect(nk.ecg_clean, nk.ecg_peaks, "ECG_R_Peaks", signal, fs,
                   {"method": "pantompkins1985"},
                   {"method": "pantompkins1985", "correct_artifacts": False})


def ppg_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """Systolic peak sample indices by Elgendi's method."""
    import neurokit2 as nk

    return _detect(nk.ppg_clean, nk.ppg_peaks, "PPG_Peaks", signal, fs, {},
                   {"method": "elgendi"})


def breaths(signal: np.ndarray, fs: float) -> np.ndarray:
    """Inhalation peak sample indices (khodadad2018)."""
    import neurokit2 as nk

    return _detect(nk.rsp_clean, nk.rsp_peaks, "RSP_Peaks", signal, fs,
                   {"method": "khodadad2018"}, {"method": "khodadad2018"})


def spectral_rate(times_s: np.ndarray, values: np.ndarray,
                  band_bpm: tuple[float, float] = RESP_BAND_BPM) -> float:
    """Rate (per minute) of the largest periodogram peak in ``band_bpm`` of an irregularly
    sampled series: interpolated linearly to 4 Hz, high-pass filtered at 3 per minute
    (2nd-order Butterworth, forward and backward) so that slow drifts do not leak into the
    band, Hann-tapered; only local maxima count, so the band's edge is never the answer."""
    from scipy.signal import butter, sosfiltfilt

    times_s, values = np.asarray(times_s, float), np.asarray(values, float)
    finite = np.isfinite(values)
    times_s, values = times_s[finite], values[finite]
    if times_s.size < 4 or times_s[-1] - times_s[0] < 60.0 / band_bpm[0]:
        return float("nan")
    grid = np.arange(times_s[0], times_s[-1], 1.0 / RESAMPLED_HZ)
    series = np.interp(grid, times_s, values)
    sos = butter(2, HIGH_PASS_BPM / 60.0, btype="highpass", fs=RESAMPLED_HZ, output="sos")
    series = sosfiltfilt(sos, series - series.mean(), padlen=min(grid.size - 1, 3 * 6))
    n_fft = max(N_FFT, grid.size)
    power = np.abs(np.fft.rfft(series * np.hanning(grid.size), n=n_fft)) ** 2
    freqs_bpm = np.fft.rfftfreq(n_fft, d=1.0 / RESAMPLED_HZ) * 60.0
    peak = np.zeros(power.size, dtype=bool)
    peak[1:-1] = (power[1:-1] > power[:-2]) & (power[1:-1] >= power[2:])
    candidates = np.flatnonzero(peak & (freqs_bpm >= band_bpm[0]) & (freqs_bpm <= band_bpm[1]))
    if candidates.size == 0 or not np.any(power[candidates] > 0):
        return float("nan")
    return float(freqs_bpm[candidates[np.argmax(power[candidates])]])


def autocorrelation_rate(series: np.ndarray, fs: float,
                         band_bpm: tuple[float, float] = RESP_BAND_BPM) -> float:
    """Rate (per minute) at the highest local maximum of the series' autocorrelation at lags
    between 60 / ``band_bpm[1]`` and 60 / ``band_bpm[0]`` seconds."""
    from scipy.signal import find_peaks

    x = np.asarray(series, dtype=np.float64) - np.mean(series)
    spectrum = np.fft.rfft(x, 2 * x.size)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[: x.size]
    if acf[0] <= 0:
        return float("nan")
    low, high = int(60.0 / band_bpm[1] * fs), min(int(60.0 / band_bpm[0] * fs), x.size - 1)
    segment = acf[low:high] / acf[0]
    peaks, _ = find_peaks(segment)
    if peaks.size == 0:
        return float("nan")
    return float(60.0 / ((peaks[np.argmax(segment[peaks])] + low) / fs))


def resp_rates(window: np.ndarray, fs: float) -> dict[str, float]:
    """Spectral, count and autocorrelation rates (breaths/min) of a respiration window."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    window = np.asarray(window, dtype=np.float64)
    nan = {"spectral": float("nan"), "count": float("nan"), "autocorrelation": float("nan")}
    if window.size < 8 or np.ptp(window) == 0:
        return nan
    smooth = sosfiltfilt(butter(4, RESP_LOW_PASS_HZ, fs=fs, output="sos"), window - window.mean())
    peaks, props = find_peaks(smooth, distance=max(1, int(RESP_MIN_BREATH_S * fs)),
                              prominence=0.0)
    if peaks.size:
        peaks = peaks[props["prominences"] >= RESP_MIN_PROMINENCE
                      * np.median(props["prominences"])]
    return {"spectral": spectral_rate(np.arange(window.size) / fs, smooth),
            "count": event_rate(peaks / fs),
            "autocorrelation": autocorrelation_rate(smooth, fs)}


def resp_count_and_fuse(window: np.ndarray, fs: float) -> tuple[float, bool]:
    """``(rate, quality)`` of a respiration window: the median of the spectral, count and
    autocorrelation rates; ``quality`` is True when another estimate lies within
    :data:`RESP_AGREE_BPM` breaths/min of the median (at least two agree)."""
    rates = np.array([v for v in resp_rates(window, fs).values() if np.isfinite(v)])
    if rates.size == 0:
        return float("nan"), False
    median = float(np.median(rates))
    quality = int(np.sum(np.abs(rates - median) <= RESP_AGREE_BPM)) >= 2
    return median, quality


def modulation_rates(signal: np.ndarray, fs: float, peaks: np.ndarray,
                     kind: str = "ppg") -> dict[str, float]:
    """Rates (breaths/min) of the baseline-wander, amplitude and frequency modulation of
    a pulsatile signal with beats at ``peaks`` (sample indices).

    Per beat, on the signal low-pass filtered at 15 Hz: for a PPG, the pulse's peak (the
    maximum within 50 ms of the detected peak) and its foot (the minimum since the
    previous beat); for an ECG, the QRS complex's extremes (maximum and minimum within
    60 ms of the R peak, whatever the lead's polarity). Baseline = their mean, amplitude
    = their difference, frequency = the beat-to-beat interval.
    """
    from scipy.signal import butter, sosfiltfilt

    nan = {"baseline": float("nan"), "amplitude": float("nan"), "frequency": float("nan")}
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    if peaks.size < 4:
        return nan
    smooth = sosfiltfilt(butter(2, min(15.0, 0.45 * fs), fs=fs, output="sos"), signal)
    half = max(1, int((0.06 if kind == "ecg" else 0.05) * fs))
    tops, bottoms = [], []
    for previous, peak in itertools.pairwise(peaks):
        around = smooth[max(0, peak - half):peak + half + 1]
        tops.append(around.max())
        bottoms.append(around.min() if kind == "ecg" else smooth[previous:peak].min())
    tops_arr, bottoms_arr = np.asarray(tops), np.asarray(bottoms)
    times = peaks[1:] / fs
    return {
        "baseline": spectral_rate(times, (tops_arr + bottoms_arr) / 2.0),
        "amplitude": spectral_rate(times, tops_arr - bottoms_arr),
        "frequency": spectral_rate(times, np.diff(peaks) / fs),
    }


def smart_fusion(rates: dict[str, float]) -> tuple[float, bool]:
    """``(estimate, kept_by_karlen)``: the mean of the three rates when their standard
    deviation is at most 4 breaths/min, else their median (see the module docstring)."""
    values = np.array([v for v in rates.values() if np.isfinite(v)])
    if values.size == 0:
        return float("nan"), False
    if values.size == len(rates) and float(np.std(values)) <= FUSION_MAX_SD_BPM:
        return float(values.mean()), True
    return float(np.median(values)), False


def estimate(kind: str, target: str, window: np.ndarray, fs: float) -> tuple[float, bool]:
    """The reference method's estimate for one window, and whether Karlen's fusion rule
    kept it (always True for the direct methods)."""
    if target == "heart_rate_bpm":
        peaks = ecg_beats(window, fs) if kind == "ecg" else ppg_beats(window, fs)
        return event_rate(peaks / fs), True
    if kind == "rsp":
        return resp_count_and_fuse(window, fs)
    peaks = ecg_beats(window, fs) if kind == "ecg" else ppg_beats(window, fs)
    return smart_fusion(modulation_rates(window, fs, peaks, kind))


def run_reference_task(task: Task, signals: np.ndarray, labels: pd.DataFrame, fs: float,
                       config: dict[str, Any]) -> dict[str, Any]:
    """One task's reference-method estimates and their summary (JSON detail)."""
    idx = select(labels, task.kind, task.target)
    rows = labels.iloc[idx]
    groups = rows["subject_id"].astype(str).to_numpy()
    method = METHODS[(task.kind, task.target)]
    note = cv.estimability_note(groups, int(config["statistics"]["min_groups"]))
    if note:
        return note_only(task, note, method=method, n=len(idx),
                         n_subjects=int(np.unique(groups).size))
    began = time.perf_counter()
    found = [estimate(task.kind, task.target, np.asarray(signals[i, 0], np.float64), fs)
             for i in idx]
    pred = np.array([f[0] for f in found])
    kept = np.array([f[1] for f in found])
    y = rows[task.target].to_numpy(float)
    ok = np.isfinite(pred)
    n_boot = int(config["probes"]["bootstrap"])
    seed = cv.stable_seed(int(config["seed"]), task.name)
    note = cv.estimability_note(groups[ok], int(config["statistics"]["min_groups"]))
    if note:
        return note_only(task, f"{note}; estimates on {ok.mean():.0%} of the windows",
                         method=method, n=int(ok.sum()),
                         n_subjects=int(np.unique(groups[ok]).size))
    low, high = cv.metric_interval(y[ok], pred[ok], groups[ok], "mae", n_boot, seed)
    karlen = ok & kept
    coverage = float(ok.mean())
    detail = {
        "kind": task.kind, "target": task.target, "metric": "mae", "method": method,
        "n": int(ok.sum()), "n_subjects": int(np.unique(groups[ok]).size),
        "coverage": coverage,
        "last": {"layer": "signal processing", "value": cv.mean_absolute_error(y[ok], pred[ok]),
                 "ci_low": low, "ci_high": high, "n": int(ok.sum())},
        "seconds_per_window": (time.perf_counter() - began) / max(len(idx), 1),
        "predictions": {"window_id": rows["window_id"].to_numpy(np.int64)[ok].tolist(),
                        "subject": groups[ok].tolist(), "reference": y[ok].tolist(),
                        "last": pred[ok].tolist()},
    }
    if coverage < 1.0:
        detail["note"] = f"estimate on {coverage:.1%} of windows; error over those"
    if task.target == "resp_rate_bpm" and task.kind in ("ecg", "ppg"):
        detail["karlen_retained_fraction"] = float(karlen[ok].mean())
        detail["karlen_retained_mae"] = (cv.mean_absolute_error(y[karlen], pred[karlen])
                                         if karlen.any() else float("nan"))
    if task.kind == "rsp":
        detail["quality_retained_fraction"] = float(karlen[ok].mean())
        detail["quality_retained_mae"] = (cv.mean_absolute_error(y[karlen], pred[karlen])
                                          if karlen.any() else float("nan"))
    detail["per_subject"] = per_subject_errors(y[ok], pred[ok], groups[ok])
    if "quality_flag" in rows.columns:
        clean = ok & (rows["quality_flag"].astype(str).to_numpy() == "")
        detail["mae_unflagged_windows"] = (cv.mean_absolute_error(y[clean], pred[clean])
                                           if clean.any() else float("nan"))
        detail["n_unflagged_windows"] = int(clean.sum())
    return detail


def mean_predictor_task(task: Task, labels: pd.DataFrame, config: dict[str, Any],
                        ) -> dict[str, Any]:
    """The mean predictor (leave-one-subject-out mean label) and the within-subject
    baseline of one real regression task, with subject-bootstrap intervals."""
    idx = select(labels, task.kind, task.target)
    rows = labels.iloc[idx]
    groups = rows["subject_id"].astype(str).to_numpy()
    note = cv.estimability_note(groups, int(config["statistics"]["min_groups"]))
    if note:
        return note_only(task, note, n=len(idx), n_subjects=int(np.unique(groups).size))
    y = rows[task.target].to_numpy(float)
    n_boot = int(config["probes"]["bootstrap"])
    seed = cv.stable_seed(int(config["seed"]), task.name)
    out: dict[str, Any] = {"kind": task.kind, "target": task.target, "metric": "mae",
                           "n": len(y), "n_subjects": int(np.unique(groups).size)}
    for name, pred in (("mean_predictor", trivial_mean(y, groups)),
                       ("within_subject", within_subject_predictor(y, groups))):
        ok = np.isfinite(pred)
        if not ok.any():
            out[name] = {"value": float("nan"), "n": 0,
                         "note": "not estimable: every subject has one window"}
            continue
        low, high = cv.metric_interval(y[ok], pred[ok], groups[ok], "mae", n_boot, seed)
        out[name] = {"value": cv.mean_absolute_error(y[ok], pred[ok]), "ci_low": low,
                     "ci_high": high, "n": int(ok.sum()),
                     "n_subjects": int(np.unique(groups[ok]).size)}
    out["within_subject"].setdefault("note", WITHIN_SUBJECT_NOTE)
    out["per_subject"] = per_subject_errors(y, trivial_mean(y, groups), groups)
    return out


def mean_predictor_rows(trivial: dict[str, dict[str, Any]],
                        beat_baselines: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Leaderboard rows of model :data:`MEAN_PREDICTOR`: per real regression task its
    error (layer ``last``) and the within-subject baseline (layer ``within-subject``); per
    beat task the training majority class's balanced accuracy."""
    rows = []
    for name, detail in sorted(trivial.items()):
        for key, layer in (("mean_predictor", "last"), ("within_subject", "within-subject")):
            found = detail.get(key, {})
            rows.append({
                "model": MEAN_PREDICTOR, "pretrained": False, "stage": "downstream",
                "task": name, "metric": "mae", "layer": layer,
                "value": found.get("value", float("nan")),
                "ci_low": found.get("ci_low", float("nan")),
                "ci_high": found.get("ci_high", float("nan")),
                "n": found.get("n", detail.get("n", 0)),
                "n_subjects": found.get("n_subjects", detail.get("n_subjects", pd.NA)),
                "chance": float("nan"), "direction": direction_of("mae"),
                "note": detail.get("note", "") or (
                    found.get("note", "") if not found.get("n") else
                    "not a competitor: uses the test subject's other labels"
                    if key == "within_subject" else ""),
            })
    for name, variants in sorted(beat_baselines.items()):
        found = next(iter(variants.values()), {})
        rows.append({
            "model": MEAN_PREDICTOR, "pretrained": False, "stage": "downstream", "task": name,
            "metric": "balanced_accuracy", "layer": "last",
            # the majority class scores 1/K on any resample: no spread to report
            "value": found.get("baseline", {}).get("value", float("nan")),
            "ci_low": found.get("baseline", {}).get("value", float("nan")),
            "ci_high": found.get("baseline", {}).get("value", float("nan")),
            "n": found.get("last", {}).get("n", 0), "n_subjects": found.get("n_subjects", pd.NA),
            "chance": found.get("chance", float("nan")),
            "direction": direction_of("balanced_accuracy"),
            "note": found.get("note", "") or "training majority class",
        })
    return rows


def run_reference_methods(config: dict[str, Any], results_dir: str | Path,
                          ) -> tuple[dict[str, Any], list[dict[str, Any]], pd.DataFrame]:
    """Every ``real:*`` regression task of every dataset: JSON detail, leaderboard rows
    (model :data:`REFERENCE_METHOD`), predictions."""
    results = Path(results_dir)
    tasks: dict[str, Any] = {}
    beat_baselines: dict[str, dict[str, Any]] = {}
    trivial: dict[str, dict[str, Any]] = {}
    for spec in dataset_specs(config):
        suite_dir = results / "real" / spec.name
        meta_path = suite_dir / "meta.json"
        if not meta_path.exists():
            raise InputError(f"{meta_path} not found: build the real suite of dataset "
                             f"'{spec.name}' first (physio-bench real-windows)")
        meta = read_json(meta_path)
        signals = load_npy(suite_dir / "signals.npy")
        labels = pd.read_parquet(suite_dir / "labels.parquet")
        for task in dataset_tasks(spec.name, meta["targets"]):
            if task.source == "real" and task.metric == "mae":  # classes: chance level
                trivial[task.name] = mean_predictor_task(task, labels, config)
            if task.source == "real" and (task.kind, task.target) in METHODS:
                tasks[task.name] = run_reference_task(task, signals, labels,
                                                      float(meta["sampling_rate_hz"]), config)
            elif (task.source == "real" and task.target == "beat_class"
                  and spec.beat_split is not None):
                beat_baselines[task.name] = run_beat_baselines(
                    suite_dir, spec.beat_split, config,
                    cv.stable_seed(int(config["seed"]), task.name))
    tasks = dict(sorted(tasks.items()))
    rows = [{
        "model": REFERENCE_METHOD, "pretrained": False, "stage": "downstream", "task": name,
        "metric": "mae", "layer": "last",
        "value": detail.get("last", {}).get("value", float("nan")),
        "ci_low": detail.get("last", {}).get("ci_low", float("nan")),
        "ci_high": detail.get("last", {}).get("ci_high", float("nan")),
        "n": detail.get("n", 0), "n_subjects": detail.get("n_subjects", pd.NA),
        "chance": float("nan"), "direction": direction_of("mae"),
        "note": detail.get("note", ""),
    } for name, detail in tasks.items()]
    rows += [row for name, variants in sorted(beat_baselines.items())
             for variant, found in variants.items()
             for row in beat_rows(REFERENCE_METHOD, name, found, layer=variant)]
    rows += mean_predictor_rows(trivial, beat_baselines)
    detail = {"model": REFERENCE_METHOD, "pretrained": False, "type": "reference method",
              "methods": {f"{k}:{t}": m for (k, t), m in METHODS.items()},
              "description": (__doc__ or "").strip(), "tasks": tasks,
              "beat_baselines": beat_baselines,
              "mean_predictor": dict(sorted(trivial.items())),
              "beat_baselines_description": (baselines_doc or "").strip()}
    return detail, rows, prediction_table(tasks)
