"""Event timing first, waveforms second: breaths, heart-rate trajectories and beats.

Every waveform in :mod:`physio_bench.simulate.waveforms` is rendered on events decided
here, so the labels are measured on exactly the events that are in the signal. Times
are in seconds on a time grid ``t_s`` that extends before and after the window;
rates in beats or breaths per minute.

Breaths
  A breath starts at an inspiration onset and lasts ``60 / rate`` at its onset times
  ``(1 + e)``, with ``e`` uniform in +-``jitter`` (per subject, at most
  :data:`~physio_bench.simulate.physiology.BREATH_JITTER_MAX`). A rate step is
  idealised for breathing: the first breath that starts after the step has the new
  length. Spontaneous breaths are ``(1 - cos)``-shaped; a ventilator's breath
  (volume control: Tobin 2013, *Principles and Practice of Mechanical Ventilation*)
  fills at constant flow (a linear volume ramp over the inspiratory time, I:E about 1:2)
  and empties passively (exponential decay with the respiratory system's time constant
  R x C, 0.4-0.8 s). An apnea is a pause at end-expiration (``[start, stop)``), typed
  as the AASM scoring manual does (Berry et al. 2012, J Clin Sleep Med 8:597): ``central``
  has no inspiratory effort at all; ``obstructive`` keeps efforts against the closed
  upper airway at the pre-apnea rhythm, growing through the event (crescendo); ``mixed``
  starts central and ends with obstructed efforts. The RSP channel is a thoracic effort
  signal (ribcage belt or impedance pneumography, volume-like while air flows): an
  obstructed effort pulls the ribcage in while the abdomen moves out (paradoxical
  thoraco-abdominal motion), so each effort is a downward deflection below the
  end-expiratory level. The first breath after an apnea is a larger recovery breath.

Heart rate
  A base trajectory (steady, linear ramp, or a first-order step with time constant
  ``tau``: ``r0 + (r1 - r0) (1 - exp(-(t - t0) / tau))``) plus heart-rate variability:
  an LF component (three sinusoids near the subject's Mayer-wave frequency, about
  0.1 Hz) and an HF component (respiratory sinus arrhythmia, ``-cos`` of the breath
  phase, so the rate rises through inspiration), with the SDs given in bpm. Sinus beats
  are the integer crossings of the integral of rate / 60 (integral pulse frequency
  modulation).

Rhythms
  Premature ventricular beats (V) replace a sinus beat at a coupling fraction of the
  RR interval and leave the sinus node undisturbed (compensatory pause); premature
  atrial beats (S) come early with their own P' wave and reset the sinus node (the
  next sinus beat follows about one cycle later: non-compensatory pause). Atrial
  fibrillation draws independent log-normal RR intervals (no P waves); atrial flutter
  conducts every k-th F wave (k = 2 or 4 as a rule, rarely 3; fixed, or variable from
  beat to beat). Second-degree AV block Mobitz I (Wenckebach) lengthens PR beat by beat,
  by decreasing increments, until one P wave is not conducted; Mobitz II blocks a P wave
  suddenly, every k-th, with the PR of the conducted beats constant before and after
  (Barold & Hayes 2001, Mayo Clin Proc 76:44); complete (third-degree) AV block conducts
  no P wave: the atria follow the sinus node, the ventricles an escape pacemaker at its
  own, slower and regular rate (junctional, 40-55 bpm with a narrow QRS, or ventricular,
  25-40 bpm with a wide one), so P and QRS are dissociated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Shortest RR interval (s) of AF-like rhythm (the AV node's refractory period).
AF_MIN_RR_S = 0.3


# --- breaths -------------------------------------------------------------------------------


@dataclass
class Apnea:
    """A breathing pause: ``kind`` is ``central`` or ``obstructive``."""

    start_s: float
    duration_s: float
    kind: str

    @property
    def stop_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass
class Breaths:
    """Effective breaths: onset, length (onset to end of expiration) and relative tidal
    volume of each; apneas and (obstructive) effort onsets."""

    onsets_s: np.ndarray
    lengths_s: np.ndarray
    tidal: np.ndarray
    inspiration_fraction: float
    apneas: list[Apnea] = field(default_factory=list)
    efforts_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    effort_length_s: float = 0.0
    effort_amplitudes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ventilated: bool = False
    expiration_tau_s: float = 0.6
    _phase_cache: tuple | None = field(default=None, repr=False, compare=False)

    def phase(self, t_s: np.ndarray) -> np.ndarray:
        """Breath phase (rad, [0, 2 pi)): 0 at inspiration onset, pi at end-inspiration,
        linear in time over inspiration and over expiration; held at 0 in a pause.
        The last result is kept for a read-only ``t_s`` (the same grid asked again)."""
        cached = self._phase_cache
        if cached is not None and cached[0] is t_s and cached[1] == len(self.onsets_s):
            return cached[2]
        out = self._phase(t_s)
        if not t_s.flags.writeable:
            self._phase_cache = (t_s, len(self.onsets_s), out)
        return out

    def _phase(self, t_s: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self.onsets_s, t_s, side="right") - 1
        out = np.zeros(len(t_s))
        inside = (k >= 0) & (k < len(self.onsets_s))
        kk = k[inside]
        frac = (t_s[inside] - self.onsets_s[kk]) / self.lengths_s[kk]
        q = self.inspiration_fraction
        phase = np.where(frac < q, np.pi * frac / q, np.pi + np.pi * (frac - q) / (1 - q))
        phase[frac >= 1.0] = 0.0  # a pause after the breath's expiration
        out[inside] = phase
        return np.mod(out, 2 * np.pi)

    def tidal_at(self, t_s: np.ndarray) -> np.ndarray:
        """Relative tidal volume of the breath in progress at ``t_s``."""
        k = np.clip(np.searchsorted(self.onsets_s, t_s, side="right") - 1, 0,
                    len(self.onsets_s) - 1)
        return self.tidal[k]

    def shape(self, t_s: np.ndarray) -> np.ndarray:
        """Unit breath shape at ``t_s`` (0 at end-expiration, 1 at end-inspiration):
        ``(1 - cos phase) / 2`` for spontaneous breaths; a linear ramp over inspiration
        and an exponential passive expiration (time constant ``expiration_tau_s``,
        reaching 0 at the breath's end) for a ventilator's breaths."""
        phase = self.phase(t_s)
        if not self.ventilated:
            return (1 - np.cos(phase)) / 2
        out = np.where(phase < np.pi, phase / np.pi, 0.0)
        k = np.clip(np.searchsorted(self.onsets_s, t_s, side="right") - 1, 0,
                    len(self.onsets_s) - 1)
        expiring = phase >= np.pi
        te = self.lengths_s[k] * (1 - self.inspiration_fraction)
        x = (phase - np.pi) / np.pi * te
        floor = np.exp(-te / self.expiration_tau_s)
        decay = (np.exp(-x / self.expiration_tau_s) - floor) / (1 - floor)
        out[expiring] = decay[expiring]
        return out

    def volume(self, t_s: np.ndarray) -> np.ndarray:
        """Volume-like signal (relative tidal volumes): ``tidal x shape``, plus the
        obstructed efforts of obstructive and mixed apneas (paradoxical: the ribcage moves
        in, a ``(1 - cos)`` dip below the end-expiratory level per effort)."""
        v = self.tidal_at(t_s) * self.shape(t_s)
        if len(self.efforts_s):
            k = np.searchsorted(self.efforts_s, t_s, side="right") - 1
            ok = k >= 0
            frac = np.zeros(len(t_s))
            frac[ok] = (t_s[ok] - self.efforts_s[k[ok]]) / self.effort_length_s
            inside = ok & (frac < 1.0)
            amp = self.effort_amplitudes[k[inside]]
            v[inside] -= amp * (1 - np.cos(2 * np.pi * frac[inside])) / 2
        return v

    def normalised_volume(self, t_s: np.ndarray, volume: np.ndarray | None = None
                          ) -> np.ndarray:
        """Volume scaled to about [-1, 1] (0 halfway through a typical breath): the
        modulating signal of ECG and PPG (``volume``: ``self.volume(t_s)`` if known)."""
        v = self.volume(t_s) if volume is None else volume
        return 2 * v / max(float(np.mean(self.tidal)), 1e-9) - 1


def breath_train(
    rng: np.random.Generator, start_s: float, stop_s: float, rate_bpm: Callable[[float], float],
    jitter: float, inspiration_fraction: float, tidal_cv: float,
) -> Breaths:
    """Breaths from before ``start_s`` until after ``stop_s``; ``rate_bpm(t)`` gives the
    rate that sets the length of a breath starting at ``t``."""
    first = 60.0 / rate_bpm(start_s)
    onsets = [start_s - rng.uniform(0, first) - first]
    lengths = []
    while onsets[-1] <= stop_s + 60.0 / rate_bpm(stop_s):
        length = 60.0 / rate_bpm(onsets[-1]) * (1 + rng.uniform(-jitter, jitter))
        lengths.append(length)
        onsets.append(onsets[-1] + length)
    onsets_arr = np.array(onsets[:-1])
    tidal = np.clip(1 + tidal_cv * rng.standard_normal(len(onsets_arr)), 0.5, 1.5)
    return Breaths(onsets_s=onsets_arr, lengths_s=np.array(lengths), tidal=tidal,
                   inspiration_fraction=inspiration_fraction)


def insert_apnea(
    breaths: Breaths, rng: np.random.Generator, duration_s: float, earliest_s: float,
    latest_s: float, kind: str, effort_ratio: float, recovery_gain: float,
) -> Apnea:
    """Pause breathing for ``duration_s`` from an end-expiration chosen at random among
    those in ``[earliest_s, latest_s]`` (the closest one if there is none).

    Obstructive apneas keep efforts at the pre-apnea rhythm whose (paradoxical) ribcage
    excursion grows from half of ``effort_ratio`` x the tidal volume to 1.5 x it
    (crescendo); mixed apneas have no effort over their first 30-60 % and obstructed
    efforts after; the first breath after the pause is ``recovery_gain`` times its own.
    """
    onsets = breaths.onsets_s
    candidates = np.flatnonzero((onsets >= earliest_s) & (onsets <= latest_s))
    if len(candidates):
        j = int(rng.choice(candidates))
    else:
        j = int(np.argmin(np.abs(onsets - (earliest_s + latest_s) / 2)))
    start = float(onsets[j])
    apnea = Apnea(start, float(duration_s), kind)
    breaths.onsets_s = np.concatenate([onsets[:j], onsets[j:] + duration_s])
    breaths._phase_cache = None
    breaths.tidal[j] *= recovery_gain
    breaths.apneas.append(apnea)
    if kind in ("obstructive", "mixed"):
        period = float(np.median(breaths.lengths_s[max(0, j - 3):j + 1]))
        first = start if kind == "obstructive" else start + rng.uniform(0.3, 0.6) * duration_s
        n = int(np.floor((start + duration_s - first) / period))
        efforts = first + period * np.arange(n)
        ramp = np.linspace(0.5, 1.5, max(n, 1))[:n]
        tidal = float(np.mean(breaths.tidal))
        breaths.efforts_s = np.concatenate([breaths.efforts_s, efforts])
        breaths.effort_amplitudes = np.concatenate(
            [breaths.effort_amplitudes, effort_ratio * tidal * ramp])
        breaths.effort_length_s = period
    return apnea


# --- heart rate ------------------------------------------------------------------------------


def base_rate(
    t_s: np.ndarray, start: float, end: float, dynamics: str, window_s: float,
    change_s: float, tau_s: float = 0.0,
) -> np.ndarray:
    """Rate at ``t_s``: steady, linear across the window (ramp), or a step at
    ``change_s`` (first order with time constant ``tau_s``; 0 = idealised jump)."""
    if dynamics == "ramp":
        return start + (end - start) * np.clip(t_s / window_s, 0.0, 1.0)
    if dynamics == "step":
        after = np.clip(t_s - change_s, 0.0, None)
        shape = 1 - np.exp(-after / tau_s) if tau_s > 0 else (t_s >= change_s).astype(float)
        return start + (end - start) * shape
    return np.full(len(t_s), float(start))


def lf_wave(t_s: np.ndarray, rng: np.random.Generator, centre_hz: float) -> np.ndarray:
    """Unit-SD Mayer-wave component: three sinusoids within +-0.02 Hz of ``centre_hz``
    (evaluated every 0.1 s and interpolated linearly: at most 0.14 Hz, the error is below
    0.1 % of the amplitude)."""
    freqs = centre_hz + rng.uniform(-0.02, 0.02, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    weights = rng.uniform(0.5, 1.0, 3)
    coarse = np.arange(t_s[0], t_s[-1] + 0.2, 0.1)
    wave = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * coarse
                                       + phases[:, None])).sum(0)
    return np.interp(t_s, coarse, wave) / np.sqrt(0.5 * np.sum(weights**2))


def heart_rate(
    base_bpm: np.ndarray, t_s: np.ndarray, breath_phase: np.ndarray, lf_sd_bpm: float,
    hf_sd_bpm: float, mayer_hz: float, rng: np.random.Generator,
) -> np.ndarray:
    """Instantaneous heart rate (bpm): base + LF (Mayer) + HF (RSA, ``-cos`` of the breath
    phase; SD of ``-cos`` over a breath is 1/sqrt(2))."""
    return (base_bpm + lf_sd_bpm * lf_wave(t_s, rng, mayer_hz)
            - hf_sd_bpm * np.sqrt(2) * np.cos(breath_phase))


def integral_crossings(t_s: np.ndarray, rate_bpm: np.ndarray, start_cycles: float) -> np.ndarray:
    """Times at which the integral of ``rate_bpm / 60`` from ``start_cycles`` reaches each
    whole number (integral pulse frequency modulation; linear interpolation)."""
    cycles = start_cycles + np.concatenate(
        [[0.0], np.cumsum(np.diff(t_s) * (rate_bpm[1:] + rate_bpm[:-1]) / 120.0)])
    whole = np.arange(np.ceil(cycles[0]), np.floor(cycles[-1]) + 1)
    idx = np.clip(np.searchsorted(cycles, whole, side="left"), 1, len(cycles) - 1)
    c0, c1 = cycles[idx - 1], cycles[idx]
    frac = np.where(c1 > c0, (whole - c0) / np.where(c1 > c0, c1 - c0, 1.0), 1.0)
    return t_s[idx - 1] + frac * (t_s[idx] - t_s[idx - 1])


# --- beats ---------------------------------------------------------------------------------


@dataclass
class Beats:
    """Ventricular beats (R-peak times, AAMI class N/S/V/F/Q) and atrial activity.

    ``p_onsets_s`` are P-wave onsets with ``p_kind`` ``sinus`` (conducted), ``ectopic``
    (the P' of a premature atrial beat) or ``blocked`` (not conducted). ``atrial`` names
    continuous atrial activity (``af`` f-waves, ``flutter`` F-waves with onsets
    ``flutter_s``), ``dissociated`` (complete AV block: atria and ventricles independent)
    or is empty.
    """

    r_s: np.ndarray
    classes: np.ndarray
    p_onsets_s: np.ndarray
    p_kind: np.ndarray
    atrial: str = ""
    flutter_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        order = np.argsort(self.r_s, kind="stable")
        self.r_s, self.classes = self.r_s[order], self.classes[order]
        porder = np.argsort(self.p_onsets_s, kind="stable")
        self.p_onsets_s, self.p_kind = self.p_onsets_s[porder], self.p_kind[porder]

    def preceding_rr(self, default_s: float) -> np.ndarray:
        """RR interval before each beat (``default_s`` for the first)."""
        return np.concatenate([[default_s], np.diff(self.r_s)])


def sinus_beats(r_s: np.ndarray, pr_s: float, qrs_s: float) -> Beats:
    """Sinus rhythm: every beat N with its P wave one PR before the QRS onset."""
    return Beats(r_s=r_s, classes=np.full(len(r_s), "N"),
                 p_onsets_s=r_s - qrs_s / 2 - pr_s, p_kind=np.full(len(r_s), "sinus"))


def _spread_indices(rng: np.random.Generator, candidates: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` random candidate indices, no two adjacent (at least 2 apart)."""
    chosen: list[int] = []
    for index in rng.permutation(candidates):
        if len(chosen) == n:
            break
        if all(abs(int(index) - c) >= 3 for c in chosen):
            chosen.append(int(index))
    return np.sort(np.array(chosen, dtype=int))


def premature_beats(
    sinus_r_s: np.ndarray, kind: str, n: int, coupling: float, rng: np.random.Generator,
    window: tuple[float, float], pr_s: float, qrs_s: float, pac_pr_s: float,
) -> Beats:
    """Sinus rhythm with ``n`` premature beats (``kind`` ``V`` or ``S``) inside ``window``.

    A beat replaces sinus beat ``k`` at ``r[k-1] + coupling x (r[k] - r[k-1])`` (coupling
    jittered by +-0.03). V: sinus beat ``k`` is lost, beat ``k + 1`` keeps its time
    (compensatory pause, no P wave). S: a P' wave precedes it by ``pac_pr_s``; every
    later beat moves earlier so that the next one follows after the sinus cycle plus
    5-15 % (non-compensatory pause).
    """
    r = np.asarray(sinus_r_s, float).copy()
    candidates = np.flatnonzero((r >= window[0]) & (r <= window[1]))
    candidates = candidates[(candidates >= 2) & (candidates <= len(r) - 3)]
    chosen = _spread_indices(rng, candidates, n)
    classes = np.full(len(r), "N", dtype=object)
    p_onsets = r - qrs_s / 2 - pr_s
    p_kind = np.full(len(r), "sinus", dtype=object)
    for k in chosen:
        rr = r[k] - r[k - 1]
        early = r[k - 1] + (coupling + rng.uniform(-0.03, 0.03)) * rr
        if kind == "V":  # sinus beat k is lost in the PVC's refractory period
            r[k] = early
            classes[k] = "V"
            p_onsets[k] = np.nan
        else:
            shift = r[k] - early
            reset = rng.uniform(0.05, 0.15) * rr
            r[k + 1:] += reset - shift
            p_onsets[k + 1:] += reset - shift
            r[k] = early
            classes[k] = "S"
            p_onsets[k] = early - qrs_s / 2 - pac_pr_s
            p_kind[k] = "ectopic"
    has_p = np.isfinite(p_onsets)
    return Beats(r_s=r, classes=classes.astype(str), p_onsets_s=p_onsets[has_p],
                 p_kind=p_kind[has_p].astype(str))


def af_beats(
    rng: np.random.Generator, start_s: float, stop_s: float, mean_rate_bpm: float, cv: float
) -> Beats:
    """AF-like rhythm: independent log-normal RR intervals (coefficient of variation ``cv``,
    at least :data:`AF_MIN_RR_S`), no P waves, f-waves (``atrial="af"``)."""
    mean_rr = 60.0 / mean_rate_bpm
    sigma = np.sqrt(np.log1p(cv**2))
    n = int(np.ceil((stop_s - start_s) / mean_rr * 2)) + 4
    rr = np.maximum(mean_rr * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2),
                    AF_MIN_RR_S)
    r = start_s - rng.uniform(0, mean_rr) + np.concatenate([[0.0], np.cumsum(rr)])
    r = r[r <= stop_s + 3 * mean_rr]
    return Beats(r_s=r, classes=np.full(len(r), "N"), p_onsets_s=np.zeros(0),
                 p_kind=np.zeros(0, dtype=str), atrial="af")


#: Conduction ratios of atrial flutter (F waves per QRS) and how often each is the fixed
#: ratio of a window: 2:1 is the rule in untreated flutter, 4:1 with AV-nodal disease or
#: drugs, odd ratios are rare (Waldo 2002 in Zipes & Jalife, *Cardiac
#: Electrophysiology*; Cosio 2017, Arrhythm Electrophysiol Rev 6:55).
FLUTTER_RATIOS = (2, 3, 4)
FLUTTER_FIXED_P = (0.6, 0.05, 0.35)
#: Per-beat ratio weights of variable conduction (2:1 and 4:1 alternating irregularly,
#: with some 3:1: Wenckebach periodicity in the AV node).
FLUTTER_VARIABLE_P = (0.55, 0.15, 0.3)


def flutter_beats(
    rng: np.random.Generator, start_s: float, stop_s: float, atrial_rate_bpm: float,
    ratio: int, variable: bool, av_delay_s: float,
) -> Beats:
    """Atrial flutter: regular F waves at ``atrial_rate_bpm``; one in ``ratio`` conducts
    (or, when ``variable``, one in k with k drawn per beat from :data:`FLUTTER_RATIOS`
    with :data:`FLUTTER_VARIABLE_P`); the QRS follows the F-wave onset after ``av_delay_s``."""
    cycle = 60.0 / atrial_rate_bpm
    f_onsets = start_s - rng.uniform(0, 4 * cycle) + cycle * np.arange(
        int((stop_s - start_s) / cycle) + 12)
    conducted = []
    i = int(rng.integers(0, ratio))
    while i < len(f_onsets):
        conducted.append(i)
        i += int(rng.choice(FLUTTER_RATIOS, p=FLUTTER_VARIABLE_P)) if variable else ratio
    r = f_onsets[np.array(conducted)] + av_delay_s
    return Beats(r_s=r, classes=np.full(len(r), "N"), p_onsets_s=np.zeros(0),
                 p_kind=np.zeros(0, dtype=str), atrial="flutter", flutter_s=f_onsets)


def wenckebach_beats(
    p_onsets_s: np.ndarray, ratio: int, pr_s: float, increment_s: float, qrs_s: float,
    rng: np.random.Generator,
) -> Beats:
    """Mobitz I AV block: in each group of ``ratio`` P waves the PR interval grows from
    ``pr_s`` by ``increment_s``, then half of it, a third, ..., and the last P wave is
    blocked (``ratio``:``ratio - 1`` conduction)."""
    offset = int(rng.integers(0, ratio))
    r, kinds = [], []
    for i, p in enumerate(p_onsets_s):
        m = (i + offset) % ratio
        if m == ratio - 1:
            kinds.append("blocked")
            continue
        pr = pr_s + increment_s * sum(1.0 / j for j in range(1, m + 1))
        r.append(p + pr + qrs_s / 2)
        kinds.append("sinus")
    r_arr = np.array(r)
    return Beats(r_s=r_arr, classes=np.full(len(r_arr), "N"), p_onsets_s=np.asarray(p_onsets_s),
                 p_kind=np.array(kinds))


def mobitz2_beats(
    p_onsets_s: np.ndarray, ratio: int, pr_s: float, qrs_s: float, rng: np.random.Generator,
) -> Beats:
    """Mobitz II AV block: every ``ratio``-th P wave is blocked without warning; every
    conducted beat has the same PR interval ``pr_s``, before and after the pause (which
    is exactly two P-P cycles)."""
    offset = int(rng.integers(0, ratio))
    p = np.asarray(p_onsets_s, float)
    blocked = (np.arange(len(p)) + offset) % ratio == ratio - 1
    r = p[~blocked] + pr_s + qrs_s / 2
    return Beats(r_s=r, classes=np.full(len(r), "N"), p_onsets_s=p,
                 p_kind=np.where(blocked, "blocked", "sinus"))


def complete_block_beats(
    rng: np.random.Generator, p_onsets_s: np.ndarray, start_s: float, stop_s: float,
    escape_rate_bpm: float, ventricular: bool,
) -> Beats:
    """Third-degree AV block: every P wave is blocked; the ventricles follow an escape
    pacemaker at ``escape_rate_bpm`` with its own random phase and a small beat-to-beat
    variation (SD 1.5 % of the cycle), so PR intervals wander through the atrial cycle.
    Ventricular escape beats are AAMI class V (MIT-BIH ``E``), junctional ones N."""
    cycle = 60.0 / escape_rate_bpm
    n = int(np.ceil((stop_s - start_s) / cycle)) + 4
    rr = cycle * (1 + 0.015 * rng.standard_normal(n))
    r = start_s - rng.uniform(0, cycle) + np.concatenate([[0.0], np.cumsum(rr)])
    r = r[r <= stop_s + 2 * cycle]
    p = np.asarray(p_onsets_s, float)
    return Beats(r_s=r, classes=np.full(len(r), "V" if ventricular else "N"), p_onsets_s=p,
                 p_kind=np.full(len(p), "blocked"), atrial="dissociated")


# --- other events ----------------------------------------------------------------------------


def spaced_onsets(
    rng: np.random.Generator, lengths_s: np.ndarray, lo_s: float, hi_s: float, gap_s: float,
) -> np.ndarray:
    """Random onsets in ``[lo_s, hi_s]`` for items of ``lengths_s`` (in that order), each
    ending at least ``gap_s`` before the next starts: uniform over all such placements
    (sorted uniform slack). Raises ValueError when they cannot fit."""
    lengths = np.asarray(lengths_s, float)
    if lengths.size == 0:
        return np.zeros(0)
    slack = hi_s - lo_s - lengths.sum() - gap_s * (len(lengths) - 1)
    if slack < 0:
        raise ValueError(f"{len(lengths)} events of {lengths.sum():.1f} s do not fit in "
                         f"[{lo_s:.1f}, {hi_s:.1f}] s with {gap_s} s gaps")
    u = np.sort(rng.uniform(0, slack, len(lengths)))
    before = np.concatenate([[0.0], np.cumsum(lengths[:-1] + gap_s)])
    return lo_s + u + before
