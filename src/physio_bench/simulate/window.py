"""Pieces shared by the single-channel and the scenario windows: the time grid with its
margins, the measurements on placed events, and the event rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from physio_bench.simulate import ground_truth as gt
from physio_bench.simulate.physiology import EcgMorphology
from physio_bench.simulate.result import Event, interval_events, point_events
from physio_bench.simulate.rhythm import Beats, Breaths

#: Simulated before and after each window (s): longer than the slowest breath (10.6 s).
MARGIN_S = 12.0
#: Events this far outside the window (s) are still listed in events.parquet.
EVENT_MARGIN_S = 3.0
#: SD of the recording offset of ECG (mV), PPG (a.u.) and RSP (L): arbitrary DC levels
#: of electrodes, oximeter and belt or impedance pneumograph, drawn per window.
SENSOR_OFFSET_SD = {"ecg": 0.15, "ppg": 1.0, "rsp": 0.3}
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

    @cached_property
    def t_s(self) -> np.ndarray:
        """Times (s) of the extended grid; 0 is the window's first sample (one array per
        grid: read-only, so callers can cache what they compute on it)."""
        t = (np.arange(self.total) - self.lead) / self.fs
        t.flags.writeable = False
        return t

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
    """Measured height of each pulse whose foot and peak lie inside the window (noise-free
    signal): its systolic peak minus its trough, the lowest sample from 0.1 s before its
    foot (or the previous peak, if later) to its peak; and the mask of those pulses."""
    ok = (feet_s >= 0) & (peaks_s < grid.window_s)
    peak_idx = grid.index(peaks_s)
    start_idx = grid.index(feet_s - 0.1)
    previous = np.concatenate([[0], peak_idx[:-1]])
    heights = np.array([clean_ppg[p] - clean_ppg[max(a, b):p + 1].min()
                        for p, a, b in zip(peak_idx[ok], start_idx[ok], previous[ok],
                                           strict=True)])
    return heights, ok


def _in_pause(times_s: np.ndarray, breaths: Breaths) -> np.ndarray:
    """Which times fall inside one of the breaths' apneas."""
    out = np.zeros(len(times_s), dtype=bool)
    for apnea in breaths.apneas:
        out |= (times_s >= apnea.start_s) & (times_s < apnea.stop_s)
    return out


def pulse_labels(clean_ppg: np.ndarray, grid: Grid, beats: Beats, feet_s: np.ndarray,
                 peaks_s: np.ndarray, breaths: Breaths | None = None) -> dict[str, float]:
    """Pulse labels over the window's visible pulses (pulse deficits left out).

    ``pulse_amplitude_au`` (mean height, peak to trough, a.u.: :func:`pulse_amplitudes`) and
    its CV; ``pulse_arrival_time_s`` (R peak
    to systolic peak) and ``pulse_arrival_foot_s`` (R peak to pulse foot: the usual
    definition of PAT); with ``breaths``: ``pulse_amplitude_resp_change_frac`` (mean
    height of the pulses whose foot falls in inspiration minus that of those in
    expiration, over the mean height: negative when pulses shrink in inspiration),
    ``pulse_arrival_resp_change_s`` (the same difference of arrival times, s) and
    ``pulse_amplitude_variation_frac`` (the plethysmographic pulse-amplitude variation of
    Cannesson et al. 2005: per breath inside the window, (max - min) / ((max + min) / 2)
    of its pulses' heights, averaged over breaths). Pulses in an apnea are in neither
    phase; breaths that hold a pause are left out.
    """
    nan = float("nan")
    out = {"pulse_amplitude_au": nan, "pulse_amplitude_cv": nan, "pulse_arrival_time_s": nan,
           "pulse_arrival_foot_s": nan, "pulse_amplitude_resp_change_frac": nan,
           "pulse_arrival_resp_change_s": nan, "pulse_amplitude_variation_frac": nan}
    heights, ok = pulse_amplitudes(clean_ppg, grid, feet_s, peaks_s)
    if heights.size == 0:
        return out
    visible = heights >= PULSE_DEFICIT_FRACTION * np.median(heights)
    h = heights[visible]
    feet, r = feet_s[ok][visible], beats.r_s[ok][visible]
    arrival = feet - r
    out.update({
        "pulse_amplitude_au": float(np.mean(h)),
        "pulse_amplitude_cv": float(np.std(h, ddof=1) / np.mean(h)) if h.size > 1 else nan,
        "pulse_arrival_time_s": float(np.mean((peaks_s[ok] - beats.r_s[ok])[visible])),
        "pulse_arrival_foot_s": float(np.mean(arrival)),
    })
    if breaths is None:
        return out
    phase = breaths.phase(feet)
    breathing = ~_in_pause(feet, breaths)
    insp, expi = breathing & (phase < np.pi), breathing & (phase >= np.pi)
    if insp.sum() >= 2 and expi.sum() >= 2:
        out["pulse_amplitude_resp_change_frac"] = float(
            (h[insp].mean() - h[expi].mean()) / h[breathing].mean())
        out["pulse_arrival_resp_change_s"] = float(arrival[insp].mean() - arrival[expi].mean())
    onsets = gt.inside(breaths.onsets_s, 0, grid.window_s)
    swings = []
    for a, b in itertools.pairwise(onsets):
        if any(a <= ap.start_s < b for ap in breaths.apneas):
            continue
        during = h[(feet >= a) & (feet < b)]
        if during.size >= 2:
            swings.append((during.max() - during.min()) / ((during.max() + during.min()) / 2))
    if swings:
        out["pulse_amplitude_variation_frac"] = float(np.mean(swings))
    return out


def conduction_labels(beats: Beats, qrs_s: float, window_s: float) -> dict[str, Any]:
    """Atrio-ventricular conduction measured on the window's beats and atrial events.

    ``atrial_rate_bpm``: window rate of the P-wave onsets (F-wave onsets in flutter; NaN
    in AF); ``av_conduction_ratio``: P waves per RR interval inside the window (mean;
    NaN without P waves); ``flutter_conduction_ratio``: F waves per RR interval (flutter
    only); ``blocked_p_wave_count``: non-conducted P waves in the window; ``pr_interval_s``:
    mean PR (P onset to QRS onset) of the conducted sinus P waves; ``pr_prolongation_s``:
    over the blocked P waves whose neighbours are conducted, the PR before the block
    minus the PR after it (Mobitz I: positive, Mobitz II: 0); ``av_block_type``:
    ``none`` (no blocked P wave), ``complete`` (blocked P waves and none conducted),
    ``mobitz_i`` (PR prolongation above 20 ms), ``mobitz_ii`` (at most 20 ms) or
    ``second_degree`` (blocked P waves without conducted neighbours to compare).
    """
    nan = float("nan")
    r = beats.r_s
    p, kinds = beats.p_onsets_s, beats.p_kind
    r_in = gt.inside(r, 0, window_s)

    def per_interval(atrial_s: np.ndarray) -> float:
        if len(atrial_s) == 0 or len(r_in) < 2:
            return nan
        counts = np.searchsorted(atrial_s, r_in[1:], side="right") - np.searchsorted(
            atrial_s, r_in[:-1], side="right")
        return float(np.mean(counts))

    flutter = beats.atrial == "flutter"
    atrial = beats.flutter_s if flutter else p
    out: dict[str, Any] = {
        "atrial_rate_bpm": nan if beats.atrial == "af" else gt.window_rate(atrial, 0, window_s),
        "av_conduction_ratio": nan if flutter else per_interval(p),
        "flutter_conduction_ratio": per_interval(beats.flutter_s) if flutter else nan,
    }
    in_window = (p >= 0) & (p < window_s)
    blocked = kinds == "blocked"
    conducted = kinds == "sinus"
    following = np.clip(np.searchsorted(r, p, side="right"), 0, max(len(r) - 1, 0))
    pr = (r[following] - qrs_s / 2 - p) if len(r) else np.full(len(p), nan)
    pr = np.where(conducted, pr, nan)
    changes = [pr[i - 1] - pr[i + 1] for i in np.flatnonzero(blocked & in_window)
               if 0 < i < len(p) - 1 and conducted[i - 1] and conducted[i + 1]]
    n_blocked = int((blocked & in_window).sum())
    prolongation = float(np.mean(changes)) if changes else nan
    if n_blocked == 0:
        block = "none"
    elif not (conducted & in_window).any():
        block = "complete"
    elif np.isfinite(prolongation):
        block = "mobitz_i" if prolongation > 0.02 else "mobitz_ii"
    else:
        block = "second_degree"
    out.update({
        "blocked_p_wave_count": float(n_blocked),
        "pr_interval_s": float(np.mean(pr[conducted & in_window]))
        if (conducted & in_window).any() else nan,
        "pr_prolongation_s": prolongation,
        "av_block_type": block,
    })
    return out


def apnea_labels(breaths: Breaths, window_s: float) -> dict[str, Any]:
    """``apnea_duration_s`` (seconds of pause inside the window), ``pause_number_count``
    (pauses overlapping the window) and ``apnea_type`` (their types joined by ``+``, or
    ``none``)."""
    overlapping = [a for a in breaths.apneas if gt.overlap_s(a.start_s, a.stop_s, 0,
                                                              window_s) > 0]
    return {
        "apnea_duration_s": sum(gt.overlap_s(a.start_s, a.stop_s, 0, window_s)
                                for a in overlapping),
        "pause_number_count": float(len(overlapping)),
        "apnea_type": "+".join(a.kind for a in overlapping) or "none",
    }


def resp_rate_without_pauses(breaths: Breaths, window_s: float) -> float:
    """Breathing rate (breaths/min) of the window: 60 / mean interval between successive
    inspiration onsets inside it, leaving out the intervals that hold a pause (an apnea
    is not slow breathing); without pauses this is the window rate."""
    onsets = gt.inside(breaths.onsets_s, 0, window_s)
    intervals = np.diff(onsets)
    keep = np.ones(len(intervals), dtype=bool)
    for apnea in breaths.apneas:
        keep &= ~((onsets[:-1] <= apnea.start_s) & (onsets[1:] > apnea.start_s))
    if not keep.any():
        return float("nan")
    return float(60.0 / np.mean(intervals[keep]))


def morphology_labels(ecg: EcgMorphology) -> dict[str, Any]:
    """The subject's ECG factors: lead, frontal QRS axis (deg), QRS width (s), T polarity."""
    return {"ecg_lead": ecg.lead, "ecg_axis_deg": ecg.axis_deg, "qrs_width_s": ecg.qrs_s,
            "t_wave_polarity_sign": ecg.t_polarity}


def beat_events(beats: Beats, p_duration_s: float, window_s: float) -> list[Event]:
    """``beat`` (R peak, AAMI class) and ``p_wave`` (onset to end, kind) rows."""
    lo, hi = -EVENT_MARGIN_S, window_s + EVENT_MARGIN_S
    return (point_events("beat", beats.r_s, beats.classes, lo, hi)
            + interval_events("p_wave", beats.p_onsets_s, beats.p_onsets_s + p_duration_s,
                              beats.p_kind, lo, hi))


def breath_events(breaths: Breaths, window_s: float) -> list[Event]:
    """``breath`` (inspiration onsets), ``effort`` (obstructed efforts, labelled with their
    apnea's type) and ``apnea`` rows."""
    lo, hi = -EVENT_MARGIN_S, window_s + EVENT_MARGIN_S
    rows = point_events("breath", breaths.onsets_s, "", lo, hi)
    kinds = np.full(len(breaths.efforts_s), "obstructive", dtype=object)
    for apnea in breaths.apneas:
        kinds[(breaths.efforts_s >= apnea.start_s) & (breaths.efforts_s < apnea.stop_s)] = (
            apnea.kind)
    rows += point_events("effort", breaths.efforts_s, kinds.astype(str), lo, hi)
    for apnea in breaths.apneas:
        rows += interval_events("apnea", np.array([apnea.start_s]), np.array([apnea.stop_s]),
                                apnea.kind, lo, hi)
    return rows


def breathing_targets(breaths: Breaths, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample breathing rate (breaths/min) and phase (rad) inside the window."""
    t = grid.crop(grid.t_s)
    return gt.rate_per_sample(breaths.onsets_s, t), grid.crop(breaths.phase(grid.t_s))


def sensor_offsets(rng: np.random.Generator) -> np.ndarray:
    """One recording offset each for ECG (mV), PPG (a.u.) and RSP (L)."""
    return rng.normal(0.0, 1.0, 3) * np.array(list(SENSOR_OFFSET_SD.values()))


def white_noise(rng: np.random.Generator, sd: float, n: int) -> tuple[np.ndarray, float]:
    """Gaussian white noise of SD ``sd`` and its realised SD over the ``n`` samples."""
    noise = sd * rng.standard_normal(n)
    return noise, float(np.std(noise))


def noise_only(rng: np.random.Generator, sd: float, n: int) -> np.ndarray:
    """Gaussian white noise of SD ``sd`` (float32 draws: the suite stores float32)."""
    return sd * rng.standard_normal(n, dtype=np.float32)
