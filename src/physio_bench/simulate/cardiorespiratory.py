"""Beat and breath sequences with known timing, and the waveforms rendered from them.

The ``scenarios`` suite needs rates that change inside a window (ramps, steps), irregular
RR intervals (AF-like) and breathing pauses, with ECG, PPG and RSP sharing one heart and
respiratory rate. neurokit2's simulators draw their own beat times, so here the timing is
generated first and the waveforms are placed on it:

- Heart: a rate trajectory (bpm) modulated by respiratory sinus arrhythmia (the rate rises
  during inspiration) is integrated into a cardiac phase; each whole cycle is a beat (an
  R peak). AF-like rhythm instead draws independent log-normal RR intervals.
- ECG: one beat of neurokit2's ECGSYN (McSharry et al. 2003), simulated per subject at
  a constant rate, is used as a template over the cardiac phase and warped to each R-R
  interval. ECGSYN itself drives its waveform by a phase that advances 2 pi per R-R
  interval, so this is its own mechanism with the beat times given explicitly.
- PPG: neurokit2's ``ppg_simulate`` landmark model (onset, systolic peak, dicrotic notch,
  diastolic peak at fixed fractions of the beat, Akima interpolation), with each pulse
  onset one pulse transit time after its R peak.
- RSP: a belt (lung volume) signal, ``(1 - cos(phase)) / 2`` per breath, with phase 0 at
  the start of inspiration, pi at its end, linear in time over inspiration and over
  expiration (inspiration takes a subject-specific fraction of the breath). Pauses hold
  the phase at end-expiration.

All times are in seconds, rates in beats or breaths per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEMPLATE_POINTS = 512


def rate_trajectory(
    t_s: np.ndarray, start: float, end: float, dynamics: str, window_s: float, change_s: float
) -> np.ndarray:
    """Rate at times ``t_s``: constant (steady), linear across the window (ramp), or a jump.

    Before the window the rate is ``start``, after it ``end``; a step jumps at ``change_s``.
    """
    if dynamics == "ramp":
        return start + (end - start) * np.clip(t_s / window_s, 0.0, 1.0)
    if dynamics == "step":
        return np.where(t_s < change_s, start, end)
    return np.full(len(t_s), float(start))


def cumulative_cycles(t_s: np.ndarray, rate_bpm: np.ndarray, start_cycles: float) -> np.ndarray:
    """Cycles elapsed at ``t_s`` (trapezoidal integral of rate / 60) from ``start_cycles``."""
    increments = np.diff(t_s) * (rate_bpm[1:] + rate_bpm[:-1]) / 120.0
    return start_cycles + np.concatenate([[0.0], np.cumsum(increments)])


def crossing_times(t_s: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Times at which the non-decreasing ``cycles`` reaches each whole number (interpolated)."""
    whole = np.arange(np.ceil(cycles[0]), np.floor(cycles[-1]) + 1)
    idx = np.clip(np.searchsorted(cycles, whole, side="left"), 1, len(cycles) - 1)
    c0, c1 = cycles[idx - 1], cycles[idx]
    frac = np.where(c1 > c0, (whole - c0) / np.where(c1 > c0, c1 - c0, 1.0), 1.0)
    return t_s[idx - 1] + frac * (t_s[idx] - t_s[idx - 1])


@dataclass
class Breathing:
    """A breath sequence on a time grid: phase (rad), trough (inspiration onset) and peak
    times, cycles elapsed, and the pause (start NaN when there is none)."""

    phase_rad: np.ndarray
    troughs_s: np.ndarray
    peaks_s: np.ndarray
    cycles: np.ndarray
    pause_start_s: float = float("nan")
    pause_s: float = 0.0

    def pause_inside(self, start_s: float, stop_s: float) -> float:
        """Seconds of the pause that fall inside ``[start_s, stop_s]``."""
        if not self.pause_s:
            return 0.0
        end = self.pause_start_s + self.pause_s
        return float(max(0.0, min(end, stop_s) - max(self.pause_start_s, start_s)))


def breathing(
    t_s: np.ndarray,
    rate_bpm: np.ndarray,
    inspiration_fraction: float,
    start_cycles: float,
    pause_near_s: float | None = None,
    pause_s: float = 0.0,
) -> Breathing:
    """Breath phase on ``t_s``; optionally a pause of ``pause_s`` at the end-expiration
    nearest to ``pause_near_s`` (phase held at 0, volume at its end-expiratory level)."""
    cycles = cumulative_cycles(t_s, rate_bpm, start_cycles)
    pause_start = float("nan")
    if pause_near_s is not None and pause_s > 0:
        onsets = crossing_times(t_s, cycles)
        pause_start = float(onsets[np.argmin(np.abs(onsets - pause_near_s))])
        held = (t_s >= pause_start) & (t_s < pause_start + pause_s)
        rate = np.where(held, 0.0, rate_bpm)
        cycles = cumulative_cycles(t_s, rate, start_cycles)
        cycles[held] = np.round(cycles[held])
    frac = cycles - np.floor(cycles)
    q = inspiration_fraction
    phase = np.where(frac < q, np.pi * frac / q, np.pi + np.pi * (frac - q) / (1 - q))
    troughs = crossing_times(t_s, cycles)
    peaks = crossing_times(t_s, cycles - q) if len(t_s) else np.array([])
    return Breathing(phase_rad=phase, troughs_s=troughs, peaks_s=peaks, cycles=cycles,
                     pause_start_s=pause_start, pause_s=pause_s if pause_s > 0 else 0.0)


def sinus_beats(t_s: np.ndarray, rate_bpm: np.ndarray, start_cycles: float) -> np.ndarray:
    """R-peak times of a sinus rhythm following the instantaneous ``rate_bpm`` on ``t_s``."""
    return crossing_times(t_s, cumulative_cycles(t_s, rate_bpm, start_cycles))


def irregular_beats(
    rng: np.random.Generator, start_s: float, stop_s: float, mean_rate_bpm: float, cv: float
) -> np.ndarray:
    """AF-like R-peak times: independent log-normal RR intervals (coefficient of variation
    ``cv``, at least 0.3 s) from a random phase before ``start_s`` until after ``stop_s``."""
    mean_rr = 60.0 / mean_rate_bpm
    sigma = np.sqrt(np.log1p(cv**2))
    n = int(np.ceil((stop_s - start_s) / mean_rr * 2)) + 4
    rr = np.maximum(mean_rr * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2), 0.3)
    beats = start_s - rng.uniform(0, mean_rr) + np.concatenate([[0.0], np.cumsum(rr)])
    return beats[beats <= stop_s + 3 * mean_rr]


def ecg_template(
    heart_rate_bpm: float, fs: int, seed: int, wave_gains: np.ndarray
) -> np.ndarray:
    """One ECGSYN beat (R peak to R peak) sampled at ``TEMPLATE_POINTS`` phases.

    ``wave_gains`` scales the amplitudes of the P, Q, R, S, T waves (0 removes a wave).
    """
    import neurokit2 as nk

    rr_s = 60.0 / heart_rate_bpm
    n_beats = 8
    length = int(np.ceil((n_beats + 1) * rr_s * fs))
    ecg = np.asarray(nk.ecg_simulate(
        duration=None, length=length, sampling_rate=fs, heart_rate=heart_rate_bpm,
        heart_rate_std=0, noise=0, method="ecgsyn", random_state=seed,
        random_state_distort=seed, ai=tuple(np.array([1.2, -5, 30, -7.5, 0.75]) * wave_gains),
    ), dtype=float)
    # With a constant RR, ECGSYN's phase is 2 pi t / RR: beat k spans [k RR, (k + 1) RR).
    phases = np.arange(TEMPLATE_POINTS) / TEMPLATE_POINTS
    return np.interp((n_beats - 2 + phases) * rr_s, np.arange(len(ecg)) / fs, ecg)


def beat_phase(t_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Fraction [0, 1) of the current beat interval at ``t_s`` (NaN outside the beats)."""
    idx = np.searchsorted(beats_s, t_s, side="right") - 1
    inside = (idx >= 0) & (idx < len(beats_s) - 1)
    out = np.full(len(t_s), np.nan)
    i = idx[inside]
    out[inside] = (t_s[inside] - beats_s[i]) / (beats_s[i + 1] - beats_s[i])
    return out


def render_ecg(t_s: np.ndarray, beats_s: np.ndarray, template: np.ndarray) -> np.ndarray:
    """ECG at ``t_s``: the template warped to each R-R interval."""
    phase = beat_phase(t_s, beats_s)
    grid = np.arange(len(template) + 1)
    return np.interp(phase * len(template), grid, np.append(template, template[0]))


@dataclass(frozen=True)
class PulseShape:
    """PPG landmark fractions of the beat and relative heights (ppg_simulate's model)."""

    systolic_fraction: float = 0.175
    notch_fraction: float = 0.4
    diastolic_fraction: float = 0.45
    systolic_height: float = 1.5
    notch_ratio: float = 0.49
    diastolic_ratio: float = 0.51


def render_ppg(
    t_s: np.ndarray, onsets_s: np.ndarray, shape: PulseShape, rng: np.random.Generator
) -> np.ndarray:
    """PPG at ``t_s`` from pulse onsets, with ppg_simulate's per-beat height jitter."""
    from neurokit2 import signal_interpolate

    onsets = onsets_s[:-1]
    periods = np.diff(onsets_s)
    n = len(onsets)
    y_onset = rng.normal(0, 0.1, n)
    y_sys = y_onset + rng.normal(shape.systolic_height, 0.15 * shape.systolic_height / 1.5, n)
    x = np.stack([
        onsets,
        onsets + shape.systolic_fraction * periods,
        onsets + shape.notch_fraction * periods,
        onsets + shape.diastolic_fraction * periods,
    ], axis=1).ravel()
    y = np.stack([
        y_onset, y_sys, y_sys * shape.notch_ratio, y_sys * shape.diastolic_ratio,
    ], axis=1).ravel()
    return np.asarray(signal_interpolate(x, y, x_new=t_s, method="akima"), dtype=float)


def render_rsp(breath: Breathing, amplitudes: np.ndarray) -> np.ndarray:
    """Belt signal: per-breath amplitude times ``(1 - cos(phase)) / 2``."""
    cycle = np.floor(breath.cycles).astype(int)
    cycle -= cycle.min()
    return amplitudes[np.clip(cycle, 0, len(amplitudes) - 1)] * (1 - np.cos(breath.phase_rad)) / 2
