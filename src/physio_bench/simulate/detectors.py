"""Independent measurements of every label from the stored (noisy) signals.

The known-answer tests and ``benchmarks/simulation_known_answers.py`` compare these with
the labels. Each measurement uses a standard detector where one exists (neurokit2
0.3: ``ecg_peaks``, ``ppg_findpeaks``, ``rsp_peaks``, ``eda_phasic`` + ``eda_peaks``,
``emg_amplitude`` + ``emg_activation``) and otherwise a textbook estimator:

- noise SD: median absolute deviation of the third differences / (0.6745 sqrt 20) (the
  robust white-noise estimate of Donoho & Johnstone 1994, on a finest-scale filter that
  also cancels quadratic trends, so P and T waves add little);
- breathing rate from ECG: ECG-derived respiration from the R-wave values (or, in
  inverted leads such as aVR, the QRS peak-to-peak amplitudes: Moody et al. 1985), from
  PPG: the pulse-foot series (baseline modulation, RIIV;
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
- pulse arrival time: from each R peak to the next PPG peak within 0.1-0.7 s; to the
  pulse foot: the intersecting-tangent foot (the tangent at the steepest upstroke meets
  the horizontal through the preceding minimum: Chiu et al. 1991), of the next pulse
  whose foot lies 0.05-0.5 s after the R peak;
- breathing pauses: gaps between detected inspiration onsets more than 5 s longer than
  the median of the others (as the apnea duration); the breathing rate leaves them out;
- respiratory pulse variation: inspiration runs from each detected inspiration onset to
  the next end-inspiration of the RSP channel; pulses (by their detected foot) in
  inspiration against those in expiration (height and arrival time), and per breath
  (onset to onset) the heights' (max - min) / mean of max and min;
- tonic skin conductance: the mean of neurokit2's ``eda_phasic`` tonic component
  (``smoothmedian``: a 4-s running median, which leaves most of each SCR out);
- T-wave polarity: the sign of the largest deviation, 0.15-0.45 s after the R peaks,
  of the median beat from its PR-segment level.

Labels without an independent detector (their values are checked against the events
in tests/test_simulate_physiology.py instead): P- and F-wave labels (atrial rate,
conduction ratios, blocked P waves, PR interval and prolongation: P waves that are not
followed by a QRS, or that march through it, are beyond neurokit2's delineation, which
looks for the P wave of each QRS), the frontal QRS axis (one lead cannot give it) and
the QRS width (neurokit2's delineation at 125 Hz is coarser than the 0.065-0.11 s range).

Rates use the same window definitions as the labels
(:mod:`physio_bench.simulate.ground_truth`) on the detected events. neurokit2 is
imported when a function runs.
"""

from __future__ import annotations

import itertools
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
    """R-peak times (s) of the upright ECG (:func:`upright`): ``ecg_clean`` + ``ecg_peaks``
    (neurokit method), then peaks whose
    largest absolute deflection within 50 ms is under 30 % of the 75th percentile of the
    peaks' are dropped (P waves found in the long pauses of AV block and between the
    slow escape beats of complete block, T waves)."""
    nk = _nk()
    cleaned = np.asarray(nk.ecg_clean(upright(ecg, fs), sampling_rate=int(fs)), float)
    idx = np.asarray(nk.ecg_peaks(cleaned, sampling_rate=int(fs))[1]["ECG_R_Peaks"], int)
    if len(idx) < 3:
        return idx / fs
    half = max(1, int(0.05 * fs))
    size = np.array([np.abs(cleaned[max(0, i - half):i + half + 1]).max() for i in idx])
    return idx[size >= 0.3 * np.percentile(size, 75)] / fs


def ppg_peaks(ppg: np.ndarray, fs: float) -> np.ndarray:
    """Systolic peak times (s): ``ppg_clean`` + ``ppg_findpeaks`` (Elgendi)."""
    nk = _nk()
    cleaned = nk.ppg_clean(ppg, sampling_rate=int(fs))
    return np.asarray(nk.ppg_findpeaks(cleaned, sampling_rate=int(fs))["PPG_Peaks"], float) / fs


def breaths(rsp: np.ndarray, fs: float, effort_filter: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """(inspiration onsets, end-inspirations) in s: ``rsp_clean`` + ``rsp_peaks``; on a
    respiration trace (``effort_filter``) a breath must lift it above the end-expiratory
    level (the median trough) by at least half the median breath's rise, so the
    paradoxical dips of obstructed efforts (below that level) are not counted as breaths."""
    nk = _nk()
    try:
        cleaned = np.asarray(nk.rsp_clean(rsp, sampling_rate=int(fs)), float)
        info = nk.rsp_peaks(cleaned, sampling_rate=int(fs))[1]
    except (IndexError, ValueError):  # neurokit2 fails on a window with a single extremum
        return np.zeros(0), np.zeros(0)
    troughs = np.asarray(info["RSP_Troughs"], int)
    peaks = np.asarray(info["RSP_Peaks"], int)
    if effort_filter and len(troughs) >= 3 and len(peaks) >= 3:
        level = float(np.median(cleaned[troughs]))
        rise = cleaned[peaks] - level
        keep_peak = rise >= 0.5 * np.median(rise)
        following = np.searchsorted(peaks, troughs)
        keep = np.ones(len(troughs), dtype=bool)
        inside = following < len(peaks)
        keep[inside] = keep_peak[following[inside]]
        troughs, peaks = troughs[keep], peaks[keep_peak]
    return troughs / fs, peaks / fs


def _series_breath_rate(times_s: np.ndarray, values: np.ndarray, window_s: float) -> float:
    """Breathing rate of a beat-to-beat series: resampled at 10 Hz, then rsp_peaks."""
    if len(times_s) < 4:
        return float("nan")
    grid = np.arange(0, window_s, 0.1)
    series = np.interp(grid, times_s, values)
    onsets, _ = breaths(series - series.mean(), 10.0, effort_filter=False)
    return gt.window_rate(onsets, 0, window_s)


def upright(ecg: np.ndarray, fs: float) -> np.ndarray:
    """The ECG with its dominant QRS deflection upright (``ecg_invert``: leads such as aVR
    record negative complexes)."""
    return np.asarray(_nk().ecg_invert(np.asarray(ecg, float), sampling_rate=int(fs))[0],
                      float)


def ecg_breath_rate(ecg: np.ndarray, fs: float, peaks_s: np.ndarray) -> float:
    """Breathing rate from ECG-derived respiration (Moody et al. 1985): the R-wave value
    series of the unfiltered ECG (amplitude and baseline modulation together) where the
    QRS is upright; where it is inverted (aVR, the S of V1), the QRS peak-to-peak
    amplitude (the baseline modulation would cancel the amplitude modulation there)."""
    x = np.asarray(ecg, float)
    inverted = bool(_nk().ecg_invert(x, sampling_rate=int(fs))[1])
    idx = np.clip(np.round(peaks_s * fs).astype(int), 0, len(x) - 1)
    if inverted:
        half = max(1, int(0.06 * fs))
        series = np.array([np.ptp(x[max(0, i - half):i + half + 1]) for i in idx])
    else:
        series = x[idx]
    return _series_breath_rate(peaks_s, series, len(x) / fs)


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
    """(onsets, offsets) in s of muscle activity: ``emg_amplitude`` (TKEO envelope) above
    a baseline threshold (median + 5 MAD of the envelope, in the spirit of Hodges & Bui
    1996's mean + k SD of rest, and at least 5 % of the envelope's maximum), gaps under
    0.1 s bridged, periods >= 0.15 s."""
    nk = _nk()
    amplitude = np.asarray(nk.emg_amplitude(np.asarray(emg, float), sampling_rate=int(fs)))
    mad = float(np.median(np.abs(amplitude - np.median(amplitude))))
    threshold = max(float(np.median(amplitude) + 5 * mad / 0.6745), 0.05 * amplitude.max())
    above = amplitude > threshold
    if not above.any() or above.all():
        return np.zeros(0), np.zeros(0)
    edges = np.diff(np.concatenate([[0], above.astype(int), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    gap = int(0.1 * fs)
    merged: list[list[int]] = []
    for a, b in zip(starts, stops, strict=True):
        if merged and a - merged[-1][1] < gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    runs = np.array([(a, b) for a, b in merged if b - a >= EMG_MIN_DURATION_S * fs]
                    ).reshape(-1, 2)
    return runs[:, 0] / fs, runs[:, 1] / fs


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


def _pauses(onsets_s: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(gaps between the onsets inside the window, which of them are pauses)."""
    gaps = np.diff(gt.inside(onsets_s, 0, window_s))
    pause = np.zeros(len(gaps), dtype=bool)
    if len(gaps) >= 2:
        for i in range(len(gaps)):
            pause[i] = gaps[i] - np.median(np.delete(gaps, i)) > 5.0
    return gaps, pause


def pause_starts(onsets_s: np.ndarray, window_s: float) -> list[float]:
    """Midpoints of the gaps between inspiration onsets that are pauses."""
    inside = gt.inside(onsets_s, 0, window_s)
    _, pause = _pauses(onsets_s, window_s)
    return [float((a + b) / 2) for (a, b), p in zip(itertools.pairwise(inside), pause,
                                                     strict=True) if p]


def breath_rate_without_pauses(onsets_s: np.ndarray, window_s: float) -> tuple[float, float]:
    """(breathing rate over the gaps that are not pauses, number of pauses)."""
    gaps, pause = _pauses(onsets_s, window_s)
    if (~pause).sum() == 0:
        return float("nan"), float(pause.sum())
    return float(60.0 / np.mean(gaps[~pause])), float(pause.sum())


def arrival_time(r_s: np.ndarray, pulse_peaks_s: np.ndarray) -> float:
    """Mean time from each R peak to the next PPG peak within 0.1-0.7 s."""
    delays = []
    for r in r_s:
        after = pulse_peaks_s[(pulse_peaks_s > r + 0.1) & (pulse_peaks_s < r + 0.7)]
        if len(after):
            delays.append(after[0] - r)
    return float(np.mean(delays)) if delays else float("nan")


def pulse_feet(ppg: np.ndarray, fs: float, peaks_s: np.ndarray) -> np.ndarray:
    """Intersecting-tangent foot (s) of each detected pulse (NaN where it fails)."""
    x = np.asarray(ppg, float)
    slope = np.gradient(x) * fs
    feet = []
    for p in np.round(peaks_s * fs).astype(int):
        lo = max(0, p - int(0.35 * fs))
        if p - lo < 3:
            feet.append(np.nan)
            continue
        m = lo + int(np.argmin(x[lo:p + 1]))
        d = m + int(np.argmax(slope[m:p + 1]))
        feet.append(d / fs - (x[d] - x[m]) / slope[d] if slope[d] > 0 else np.nan)
    return np.array(feet)


def foot_arrival(r_s: np.ndarray, feet_s: np.ndarray) -> np.ndarray:
    """For each detected foot, the time since the latest R peak 0.05-0.5 s before it
    (NaN where there is none)."""
    out = np.full(len(feet_s), np.nan)
    for i, foot in enumerate(feet_s):
        before = r_s[(r_s < foot - 0.05) & (r_s > foot - 0.5)]
        if len(before) and np.isfinite(foot):
            out[i] = foot - before[-1]
    return out


def respiratory_pulse_variation(heights: np.ndarray, arrival_s: np.ndarray,
                                feet_s: np.ndarray, onsets_s: np.ndarray,
                                peaks_s: np.ndarray, window_s: float) -> dict[str, float]:
    """Pulse height and arrival time in inspiration against expiration, and the
    plethysmographic variation per breath (see the module docstring)."""
    nan = float("nan")
    out = {"pulse_amplitude_resp_change_frac": nan, "pulse_arrival_resp_change_s": nan,
           "pulse_amplitude_variation_frac": nan}
    ok = np.isfinite(feet_s)
    heights, arrival, feet = heights[ok], arrival_s[ok], feet_s[ok]
    onsets = np.sort(onsets_s)
    _, pause = _pauses(onsets, window_s)
    inside = gt.inside(onsets, 0, window_s)
    pairs = list(itertools.pairwise(inside))
    paused = [pair for pair, p in zip(pairs, pause, strict=True) if p]
    insp = np.zeros(len(feet), dtype=bool)
    breathing = np.ones(len(feet), dtype=bool)
    for i, foot in enumerate(feet):
        k = np.searchsorted(onsets, foot, side="right") - 1
        if k < 0 or any(a <= foot < b for a, b in paused):
            breathing[i] = False
            continue
        end = peaks_s[peaks_s > onsets[k]]
        insp[i] = len(end) > 0 and foot < end[0]
    expi = breathing & ~insp
    insp &= breathing
    if insp.sum() >= 2 and expi.sum() >= 2:
        out["pulse_amplitude_resp_change_frac"] = float(
            (heights[insp].mean() - heights[expi].mean()) / heights[breathing].mean())
        good = np.isfinite(arrival)
        if (insp & good).sum() >= 2 and (expi & good).sum() >= 2:
            out["pulse_arrival_resp_change_s"] = float(
                arrival[insp & good].mean() - arrival[expi & good].mean())
    swings = []
    for (a, b), p in zip(pairs, pause, strict=True):
        during = heights[(feet >= a) & (feet < b)]
        if not p and during.size >= 2:
            swings.append((during.max() - during.min()) / ((during.max() + during.min()) / 2))
    if swings:
        out["pulse_amplitude_variation_frac"] = float(np.mean(swings))
    return out


def tonic_level(eda: np.ndarray, fs: float) -> float:
    """Mean of the tonic component (``eda_phasic``, ``smoothmedian``), uS."""
    nk = _nk()
    tonic = nk.eda_phasic(np.asarray(eda, float), sampling_rate=int(fs),
                          method="smoothmedian")["EDA_Tonic"].to_numpy()
    return float(np.mean(tonic))


def t_wave_polarity(ecg: np.ndarray, fs: float, r_s: np.ndarray) -> float:
    """Sign (+1/-1) of the T wave of the median beat, relative to its PR-segment level."""
    x = np.asarray(ecg, float)
    idx = np.round(r_s * fs).astype(int)
    idx = idx[(idx > int(0.3 * fs)) & (idx < len(x) - int(0.5 * fs))]
    if len(idx) < 3:
        return float("nan")
    beats = np.array([x[i - int(0.3 * fs):i + int(0.5 * fs)] for i in idx])
    beat = np.median(beats, axis=0)
    zero = int(0.3 * fs)
    level = float(np.median(beat[zero - int(0.25 * fs):zero - int(0.12 * fs)]))
    t_part = beat[zero + int(0.15 * fs):zero + int(0.45 * fs)] - level
    return float(np.sign(t_part[np.argmax(np.abs(t_part))]))


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
    """Detected value of every label column with a detector, of a five-channel scenario
    window; ``step`` (``heart`` or ``resp``) names the rate whose step time is measured."""
    window_s = x.shape[-1] / fs
    r = r_peaks(x[0], fs)
    onsets, ends = breaths(x[2], fs)
    pulses = ppg_peaks(x[1], fs)
    all_heights = pulse_heights(x[1], fs, pulses)
    heights = visible_pulses(all_heights)
    visible = all_heights >= 0.2 * np.median(all_heights) if all_heights.size else None
    feet = pulse_feet(x[1], fs, pulses)[visible] if visible is not None else np.zeros(0)
    foot_pat = foot_arrival(r, feet)
    bursts, _ = emg_bursts(x[4], fs)
    rate, pauses = breath_rate_without_pauses(onsets, window_s)
    return {
        "heart_rate_bpm": gt.window_rate(r, 0, window_s),
        "heart_rate_change_bpm": gt.rate_change(r, 0, window_s),
        "resp_rate_bpm": rate,
        "pause_number_count": pauses,
        "resp_rate_change_bpm": gt.rate_change(onsets, 0, window_s, pause_starts(onsets,
                                                                                 window_s)),
        "rr_interval_cv": gt.interval_cv(r, 0, window_s),
        "ectopic_beat_count": premature_count(r),
        "apnea_duration_s": apnea_duration(onsets, window_s),
        "pulse_amplitude_au": float(np.mean(heights)) if heights.size else np.nan,
        "pulse_amplitude_cv": (float(np.std(heights, ddof=1) / np.mean(heights))
                               if heights.size > 1 else np.nan),
        "pulse_arrival_time_s": arrival_time(r, pulses),
        "pulse_arrival_foot_s": (float(np.nanmean(foot_pat)) if np.isfinite(foot_pat).any()
                                 else np.nan),
        **respiratory_pulse_variation(heights, foot_pat, feet, onsets, ends, window_s),
        "scr_number_count": float(len(scr_onsets(x[3], fs))),
        "eda_tonic_us": tonic_level(x[3], fs),
        "burst_number_count": float(len(bursts)),
        "t_wave_polarity_sign": t_wave_polarity(x[0], fs, r),
        "change_time_s": (step_time(r if step == "heart" else onsets, window_s) if step
                          else float("nan")),
    }
