"""Independent measurements of every label from the stored (noisy) signals.

The known-answer tests and ``benchmarks/simulation_known_answers.py`` compare these with
the labels. Each measurement uses a standard detector where one exists (neurokit2
0.3: ``ecg_peaks``, ``ppg_findpeaks``, ``rsp_peaks``, ``eda_phasic`` + ``eda_peaks``,
``emg_amplitude`` + ``emg_activation``) and otherwise a textbook estimator:

- noise SD: median absolute deviation of the third differences / (0.6745 sqrt 20) (the
  robust white-noise estimate of Donoho & Johnstone 1994, on a finest-scale filter that
  also cancels quadratic trends, so P and T waves add little);
- breathing rate from ECG: ECG-derived respiration from the R-wave amplitudes
  (Moody et al. 1985), from PPG: the pulse-foot series (baseline modulation, RIIV;
  Charlton et al. 2016),
  each resampled at 4 Hz and passed through ``rsp_clean`` + ``rsp_peaks``;
- SCRs: responses of at least 0.02 uS after a 1-Hz low-pass;
- drift: least-squares slope of the EDA tonic component (``eda_phasic``, high-pass);
- apnea duration: the longest gap between detected inspiration onsets minus the median
  of the other gaps;
- change time: the split that best fits a two-level step to the detected
  instantaneous rate;
- EMG background: robust SD (MAD / 0.6745) of the samples outside detected activity;
- ectopic beats: beats whose RR interval is < 85 % of the window's median RR (the
  usual prematurity criterion);
- pulse height: systolic peak minus the minimum in the 0.35 s before it;
- pulse arrival time: from each R peak to the next PPG peak within 0.1-0.7 s.

Rates use the same window definitions as the labels
(:mod:`physio_bench.simulate.ground_truth`) on the detected events. neurokit2 is
imported when a function runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.simulate import ground_truth as gt

PREMATURE_FRACTION = 0.85
#: Smallest SCR counted (uS; Boucsein 2012 quotes 0.01-0.05 uS as usual minima).
SCR_MIN_AMPLITUDE_US = 0.02
#: Shortest EMG activity period counted (s).
EMG_MIN_DURATION_S = 0.15


def _nk() -> Any:
    import neurokit2

    return neurokit2


def noise_sd(x: np.ndarray) -> float:
    """Robust SD of white noise in ``x``: MAD of third differences / (0.6745 sqrt 20)."""
    d = np.diff(np.asarray(x, float), 3)
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(20))


def r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """R-peak times (s): ``ecg_clean`` + ``ecg_peaks`` (neurokit method)."""
    nk = _nk()
    cleaned = nk.ecg_clean(ecg, sampling_rate=int(fs))
    return np.asarray(nk.ecg_peaks(cleaned, sampling_rate=int(fs))[1]["ECG_R_Peaks"],
                      float) / fs


def ppg_peaks(ppg: np.ndarray, fs: float) -> np.ndarray:
    """Systolic peak times (s): ``ppg_clean`` + ``ppg_findpeaks`` (Elgendi)."""
    nk = _nk()
    cleaned = nk.ppg_clean(ppg, sampling_rate=int(fs))
    return np.asarray(nk.ppg_findpeaks(cleaned, sampling_rate=int(fs))["PPG_Peaks"], float) / fs


def breaths(rsp: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(inspiration onsets, end-inspirations) in s: ``rsp_clean`` + ``rsp_peaks``."""
    nk = _nk()
    try:
        info = nk.rsp_peaks(nk.rsp_clean(rsp, sampling_rate=int(fs)), sampling_rate=int(fs))[1]
    except (IndexError, ValueError):  # neurokit2 fails on a window with a single extremum
        return np.zeros(0), np.zeros(0)
    return (np.asarray(info["RSP_Troughs"], float) / fs,
            np.asarray(info["RSP_Peaks"], float) / fs)


def _series_breath_rate(times_s: np.ndarray, values: np.ndarray, window_s: float) -> float:
    """Breathing rate of a beat-to-beat series: resampled at 10 Hz, then rsp_peaks."""
    if len(times_s) < 4:
        return float("nan")
    grid = np.arange(0, window_s, 0.1)
    series = np.interp(grid, times_s, values)
    onsets, _ = breaths(series - series.mean(), 10.0)
    return gt.window_rate(onsets, 0, window_s)


def ecg_breath_rate(ecg: np.ndarray, fs: float, peaks_s: np.ndarray) -> float:
    """Breathing rate from the R-wave amplitude series of the unfiltered ECG (ECG-derived
    respiration: amplitude and baseline modulation together)."""
    idx = np.clip(np.round(peaks_s * fs).astype(int), 0, len(ecg) - 1)
    return _series_breath_rate(peaks_s, np.asarray(ecg, float)[idx], len(ecg) / fs)


def pulse_heights(ppg: np.ndarray, fs: float, peaks_s: np.ndarray) -> np.ndarray:
    """Systolic peak minus the minimum of the 0.35 s before it, per detected peak."""
    x = np.asarray(ppg, float)
    out = []
    for p in np.round(peaks_s * fs).astype(int):
        lo = max(0, p - int(0.35 * fs))
        out.append(x[p] - x[lo:p + 1].min())
    return np.array(out)


def ppg_breath_rate(ppg: np.ndarray, fs: float, peaks_s: np.ndarray) -> float:
    """Breathing rate from the pulse-foot series (respiratory baseline modulation, RIIV)."""
    x = np.asarray(ppg, float)
    feet = []
    for p in np.round(peaks_s * fs).astype(int):
        lo = max(0, p - int(0.35 * fs))
        feet.append(x[lo:p + 1].min())
    return _series_breath_rate(peaks_s, np.array(feet), len(ppg) / fs)


def visible_pulses(heights: np.ndarray) -> np.ndarray:
    """Heights without pulse deficits (< 20 % of the median), as in the labels."""
    return heights[heights >= 0.2 * np.median(heights)] if heights.size else heights


def scr_onsets(eda: np.ndarray, fs: float) -> np.ndarray:
    """SCR onset times (s): 1-Hz low-pass (SCRs rise over >= 0.5 s), ``eda_phasic``
    (high-pass), ``eda_peaks``; responses of at least :data:`SCR_MIN_AMPLITUDE_US`."""
    nk = _nk()
    smooth = nk.signal_filter(np.asarray(eda, float), sampling_rate=int(fs), highcut=1.0,
                              method="butterworth", order=4)
    phasic = nk.eda_phasic(smooth, sampling_rate=int(fs))
    info = nk.eda_peaks(phasic["EDA_Phasic"].to_numpy(), sampling_rate=int(fs))[1]
    onsets = np.asarray(info["SCR_Onsets"], float)
    amplitude = np.asarray(info["SCR_Amplitude"], float)
    keep = np.isfinite(onsets) & (amplitude >= SCR_MIN_AMPLITUDE_US)
    return onsets[keep] / fs


def tonic_slope(eda: np.ndarray, fs: float) -> float:
    """Least-squares slope (uS/s) of the tonic component of ``eda_phasic`` (high-pass)."""
    nk = _nk()
    tonic = nk.eda_phasic(eda, sampling_rate=int(fs))["EDA_Tonic"].to_numpy()
    t = np.arange(len(tonic)) / fs
    return float(np.polyfit(t, tonic, 1)[0])


def emg_bursts(emg: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(onsets, offsets) in s of muscle activity: ``emg_amplitude`` (TKEO envelope), then
    ``emg_activation`` with a baseline threshold (median + 5 MAD of the envelope, in the
    spirit of Hodges & Bui 1996's mean + k SD of rest) and periods >= 0.15 s."""
    nk = _nk()
    amplitude = np.asarray(nk.emg_amplitude(np.asarray(emg, float), sampling_rate=int(fs)))
    mad = float(np.median(np.abs(amplitude - np.median(amplitude))))
    threshold = float(np.median(amplitude) + 5 * mad / 0.6745)
    if threshold >= amplitude.max():
        return np.zeros(0), np.zeros(0)
    info = nk.emg_activation(emg_amplitude=amplitude, sampling_rate=int(fs), method="threshold",
                             threshold=threshold,
                             duration_min=int(EMG_MIN_DURATION_S * fs))[1]
    return (np.asarray(info["EMG_Onsets"], float) / fs,
            np.asarray(info["EMG_Offsets"], float) / fs)


def step_time(events_s: np.ndarray, window_s: float) -> float:
    """Time (s) of the best two-level step fit to the instantaneous rate of the events."""
    t = np.arange(0, window_s, 0.1)
    rate = gt.rate_per_sample(events_s, t)
    ok = np.isfinite(rate)
    t, rate = t[ok], rate[ok]
    if len(t) < 10:
        return float("nan")
    best, best_sse = float("nan"), np.inf
    for k in range(5, len(t) - 5):
        a, b = rate[:k], rate[k:]
        sse = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
        if sse < best_sse:
            best, best_sse = float(t[k]), sse
    return best


def premature_count(peaks_s: np.ndarray) -> float:
    """Beats whose preceding RR is < 85 % of the median RR."""
    rr = np.diff(peaks_s)
    if len(rr) < 3:
        return float("nan")
    return float(np.sum(rr < PREMATURE_FRACTION * np.median(rr)))


def apnea_duration(onsets_s: np.ndarray, window_s: float) -> float:
    """Longest gap between detected inspiration onsets minus the median of the other gaps
    (0 if it is under 5 s longer)."""
    gaps = np.sort(np.diff(gt.inside(onsets_s, 0, window_s)))
    if len(gaps) < 2:
        return float("nan")
    excess = float(gaps[-1] - np.median(gaps[:-1]))
    return excess if excess > 5.0 else 0.0


def arrival_time(r_s: np.ndarray, pulse_peaks_s: np.ndarray) -> float:
    """Mean time from each R peak to the next PPG peak within 0.1-0.7 s."""
    delays = []
    for r in r_s:
        after = pulse_peaks_s[(pulse_peaks_s > r + 0.1) & (pulse_peaks_s < r + 0.7)]
        if len(after):
            delays.append(after[0] - r)
    return float(np.mean(delays)) if delays else float("nan")


def measure_single(kind: str, x: np.ndarray, fs: float) -> dict[str, float]:
    """Detected value of every label column of a single-channel window of ``kind``."""
    window_s = len(x) / fs
    if kind in ("ecg", "ppg"):
        events = r_peaks(x, fs) if kind == "ecg" else ppg_peaks(x, fs)
        breath = (ecg_breath_rate(x, fs, events) if kind == "ecg"
                  else ppg_breath_rate(x, fs, events))
        noise = "noise_amplitude_mv" if kind == "ecg" else "noise_amplitude_au"
        return {"heart_rate_bpm": gt.window_rate(events, 0, window_s),
                "heart_rate_std_bpm": gt.rate_sd(events, 0, window_s),
                "resp_rate_bpm": breath, noise: noise_sd(x)}
    if kind == "rsp":
        onsets, _ = breaths(x, fs)
        return {"resp_rate_bpm": gt.window_rate(onsets, 0, window_s),
                "noise_amplitude_l": noise_sd(x)}
    if kind == "eda":
        return {"scr_number_count": float(len(scr_onsets(x, fs))),
                "drift_us_per_s": tonic_slope(x, fs), "noise_amplitude_us": noise_sd(x)}
    onsets, offsets = emg_bursts(x, fs)
    quiet = np.ones(len(x), bool)
    for a, b in zip(onsets, offsets, strict=False):
        quiet[int(a * fs):int(b * fs) + 1] = False
    rest = x[quiet] - np.median(x[quiet]) if quiet.any() else np.zeros(0)
    return {"burst_number_count": float(len(onsets)),
            "burst_duration_s": float(np.mean(offsets - onsets)) if len(onsets) else np.nan,
            "noise_amplitude_mv": float(np.median(np.abs(rest)) / 0.6745) if rest.size
            else np.nan}


def measure_scenario(x: np.ndarray, fs: float, step: str | None = None) -> dict[str, float]:
    """Detected value of every label column of a five-channel scenario window; ``step``
    (``heart`` or ``resp``) names the rate whose step time is measured."""
    window_s = x.shape[-1] / fs
    r = r_peaks(x[0], fs)
    onsets, _ = breaths(x[2], fs)
    pulses = ppg_peaks(x[1], fs)
    heights = visible_pulses(pulse_heights(x[1], fs, pulses))
    bursts, _ = emg_bursts(x[4], fs)
    return {
        "heart_rate_bpm": gt.window_rate(r, 0, window_s),
        "heart_rate_change_bpm": gt.rate_change(r, 0, window_s),
        "resp_rate_bpm": gt.window_rate(onsets, 0, window_s),
        "resp_rate_change_bpm": gt.rate_change(onsets, 0, window_s),
        "rr_interval_cv": gt.interval_cv(r, 0, window_s),
        "ectopic_beat_count": premature_count(r),
        "apnea_duration_s": apnea_duration(onsets, window_s),
        "pulse_amplitude_au": float(np.mean(heights)) if heights.size else np.nan,
        "pulse_amplitude_cv": (float(np.std(heights, ddof=1) / np.mean(heights))
                               if heights.size > 1 else np.nan),
        "pulse_arrival_time_s": arrival_time(r, pulses),
        "scr_number_count": float(len(scr_onsets(x[3], fs))),
        "burst_number_count": float(len(bursts)),
        "change_time_s": (step_time(r if step == "heart" else onsets, window_s) if step
                          else float("nan")),
    }
