"""Reference labels of real windows: beats, breaths, rate curves, AAMI beat classes.

Methods (neurokit2 0.3.0, fixed so results are reproducible):

- Heart rate label: the dataset's reference beat annotations when it has them (MIT-BIH:
  ``.atr``, by cardiologists); otherwise the bedside monitor's 1-Hz numerics when the
  record has them (BIDMC: ``HR`` for ECG windows, ``PULSE`` for PPG windows, averaged
  over the window; a window with a missing value or a step above 5 bpm between
  consecutive seconds has no label and is counted, see
  :func:`physio_bench.downstream.windows.monitor_label`); only otherwise a detector, and
  then the label is named a detector label (source ``detector:...``).
- Heart beats (events, and the detector label ``measured_heart_rate_bpm`` compared once
  per dataset with the independent label): annotations, else the detector on the record's whole ECG
  at its native rate: ``nk.ecg_clean(method="neurokit")``, flipped when its QRS complexes
  point down (the median over 2-s segments of the segment minimum is larger in magnitude
  than that of the segment maximum, e.g. MCL1 leads), then ``nk.ecg_peaks(method=
  "neurokit", correct_artifacts=False)`` (BIDMC: lead II); on PPG
  ``nk.ppg_clean`` + ``nk.ppg_peaks(method="elgendi")``.
- Breaths: the dataset's breath annotations when it has them (BIDMC: two annotators
  marked every breath on the impedance signal; each annotator's rate is computed and the
  window's reference is their mean, their range is kept beside it); otherwise
  ``nk.rsp_clean(method="khodadad2018")`` then ``nk.rsp_peaks`` on the RESP channel. The
  monitor's RESP numeric is never the reference (kept as ``monitor_resp_rate_bpm``).
- Rates: the instantaneous rate is a step function, ``60 / (t[i+1] - t[i])`` per minute
  on ``[t[i], t[i+1])``; intervals outside a plausible range (heart 20-250 bpm, breathing
  2-60 breaths/min) are NaN, and so are detector intervals that span missing samples
  (a beat or breath inside a gap cannot be detected). A window's rate is the time
  average of this function over the window (which equals 60 / mean interval), NaN when
  less than half the window is covered.
- Beat classes (AAMI EC57, as in de Chazal et al. 2004): N = ``N L R e j`` (normal,
  bundle branch block, escape), S = ``A a J S`` (supraventricular ectopic), V = ``V E r``
  (ventricular ectopic), F = ``F`` (fusion), Q = ``/ f Q ?`` (paced, unclassifiable).
"""

from __future__ import annotations

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


#: the labelling function behind each detector label source
LABELLERS = {ECG_DETECTOR: detect_ecg_beats, PPG_DETECTOR: detect_ppg_beats,
             RSP_DETECTOR: detect_breaths}


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


AAMI_CLASSES = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"),
                **dict.fromkeys("VEr", "V"), "F": "F", **dict.fromkeys("/fQ?", "Q")}


def aami_class(symbol: str) -> str:
    """The AAMI class (``N``/``S``/``V``/``F``/``Q``) of a WFDB beat symbol (``Q`` if unknown)."""
    return AAMI_CLASSES.get(str(symbol), "Q")
