"""Clinically motivated scenario classes: five channels (ECG, PPG, RSP, EDA, EMG) per window.

A subject is its own seed and baseline (heart and breathing rate within the class's range,
ECG wave amplitudes, pulse transit time, pulse shape, inspiration fraction, respiratory
sinus arrhythmia, noise level, EDA tonic level, EMG gain); each of its windows varies the
rates slightly around that baseline. ECG, PPG and RSP share one beat and one breath
sequence (see :mod:`physio_bench.simulate.cardiorespiratory`); EDA and EMG come from
neurokit2's ``eda_simulate`` and ``emg_simulate``.

Label columns of a scenario window (units in the names): the requested mean heart and
respiratory rate over the window, their change from the window's start to its end
(ramps and steps), the step time, the RR-interval coefficient of variation requested for
AF-like rhythm, the SCR and EMG-burst counts, the length of breathing pause inside the
window, the motion and noise amplitudes and the pulse transit time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from physio_bench.simulate import cardiorespiratory as cr
from physio_bench.simulate.ground_truth import bracketing_rate, rate_per_sample
from physio_bench.simulate.plan import WindowPlan
from physio_bench.simulate.result import WindowResult, exact_length
from physio_bench.simulate.seeds import child_seeds

Range = tuple[float, float]
MARGIN_S = 15.0  # simulated before and after each window (>= 1.5 breaths at 6 /min)
HEART_RATE_LIMITS = (40.0, 160.0)
RESP_RATE_LIMITS = (6.0, 35.0)


@dataclass(frozen=True)
class ScenarioClass:
    """Ranges (uniform draws) that define one class."""

    heart_rate_bpm: Range = (60, 95)
    resp_rate_bpm: Range = (12, 18)
    heart_rate_change_bpm: Range = (0, 0)
    resp_rate_change_bpm: Range = (0, 0)
    rr_interval_cv: Range = (0, 0)
    scr_number_count: Range = (0, 1)
    emg_burst_count: Range = (0, 0)
    apnea_fraction: Range = (0, 0)
    motion_amplitude_au: Range = (0, 0)


SCENARIO_CLASSES: dict[str, ScenarioClass] = {
    "normal_sinus": ScenarioClass(),
    "sinus_tachycardia": ScenarioClass(heart_rate_bpm=(105, 140), resp_rate_bpm=(14, 20)),
    "sinus_bradycardia": ScenarioClass(heart_rate_bpm=(40, 55), resp_rate_bpm=(10, 16)),
    "irregular_rhythm": ScenarioClass(heart_rate_bpm=(80, 120), rr_interval_cv=(0.15, 0.3)),
    "tachypnea": ScenarioClass(heart_rate_bpm=(70, 95), resp_rate_bpm=(26, 35)),
    "bradypnea": ScenarioClass(heart_rate_bpm=(55, 80), resp_rate_bpm=(6, 9)),
    "apnea": ScenarioClass(heart_rate_bpm=(60, 90), apnea_fraction=(0.4, 0.6)),
    "stress_arousal": ScenarioClass(
        heart_rate_bpm=(85, 110), resp_rate_bpm=(16, 22), scr_number_count=(4, 7),
        emg_burst_count=(0, 1),
    ),
    "motion_artifact": ScenarioClass(motion_amplitude_au=(0.5, 1.0), emg_burst_count=(1, 3)),
    "heart_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "heart_rate_step": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "resp_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
    "resp_rate_step": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
}

SCENARIO_COLUMNS = [
    "heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm", "resp_rate_change_bpm",
    "change_time_s", "rr_interval_cv", "scr_number_count", "burst_number_count",
    "apnea_duration_s", "motion_amplitude_au", "noise_amplitude_au", "pulse_transit_time_s",
]


@dataclass(frozen=True)
class Subject:
    """Per-subject baseline parameters (drawn once from the subject's seed)."""

    heart_rate_bpm: float
    resp_rate_bpm: float
    wave_gains: np.ndarray
    ecg_gain_mv: float
    rsa_fraction: float
    inspiration_fraction: float
    pulse_transit_time_s: float
    pulse_shape: cr.PulseShape
    rsp_amplitude_au: float
    noise_amplitude_au: float
    eda_tonic_us: float
    eda_scr_gain_us: float
    eda_drift_us_per_s: float
    emg_gain_au: float
    emg_noise_au: float
    template_seed: int


def draw_subject(name: str, seed: int) -> Subject:
    """Baseline parameters of one subject of class ``name``."""
    spec = SCENARIO_CLASSES[name]
    rng = np.random.default_rng(seed)
    irregular = spec.rr_interval_cv[1] > 0
    gains = rng.uniform(0.8, 1.2, 5)
    if irregular:
        gains[0] = 0.0  # atrial fibrillation: no P wave
    notch = rng.uniform(0.45, 0.55)
    return Subject(
        heart_rate_bpm=rng.uniform(*spec.heart_rate_bpm),
        resp_rate_bpm=rng.uniform(*spec.resp_rate_bpm),
        wave_gains=gains,
        ecg_gain_mv=rng.uniform(0.7, 1.3),
        rsa_fraction=0.0 if irregular else rng.uniform(0.02, 0.06),
        inspiration_fraction=rng.uniform(0.35, 0.45),
        pulse_transit_time_s=rng.uniform(0.15, 0.3),
        pulse_shape=cr.PulseShape(
            systolic_fraction=rng.uniform(0.15, 0.2), notch_ratio=notch,
            diastolic_ratio=notch + rng.uniform(0.01, 0.05),
            systolic_height=rng.uniform(1.2, 1.8),
        ),
        rsp_amplitude_au=rng.uniform(0.5, 1.0),
        noise_amplitude_au=rng.uniform(0.02, 0.08),
        eda_tonic_us=rng.uniform(2, 10),
        eda_scr_gain_us=rng.uniform(0.3, 1.0),
        eda_drift_us_per_s=rng.uniform(-0.01, 0.01),
        emg_gain_au=rng.uniform(0.5, 1.5),
        emg_noise_au=rng.uniform(0.005, 0.02),
        template_seed=int(rng.integers(0, 2**32 - 1)),
    )


def _changed(rng: np.random.Generator, start: float, size: Range, limits: Range) -> float:
    """``start`` moved by a uniform ``size`` up or down, turned around if it leaves ``limits``."""
    change = rng.uniform(*size) * rng.choice([-1.0, 1.0])
    if not limits[0] <= start + change <= limits[1]:
        change = -change
    return float(np.clip(start + change, *limits))


def _uniform_int(rng: np.random.Generator, bounds: Range) -> int:
    return int(rng.integers(int(bounds[0]), int(bounds[1]) + 1))


def window_parameters(
    name: str, dynamics: str, subject: Subject, rng: np.random.Generator, window_s: float
) -> dict[str, float]:
    """Requested rates and event counts of one window (drawn around the subject's baseline)."""
    spec = SCENARIO_CLASSES[name]
    hr0 = float(np.clip(subject.heart_rate_bpm + rng.normal(0, 2), *spec.heart_rate_bpm))
    rr0 = float(np.clip(subject.resp_rate_bpm + rng.normal(0, 0.7), *spec.resp_rate_bpm))
    hr1, rr1 = hr0, rr0
    if spec.heart_rate_change_bpm[1] > 0:
        hr1 = _changed(rng, hr0, spec.heart_rate_change_bpm, HEART_RATE_LIMITS)
    if spec.resp_rate_change_bpm[1] > 0:
        rr1 = _changed(rng, rr0, spec.resp_rate_change_bpm, RESP_RATE_LIMITS)
    change_s = rng.uniform(0.35, 0.65) * window_s if dynamics == "step" else float("nan")
    return {
        "hr_start": hr0, "hr_end": hr1, "rr_start": rr0, "rr_end": rr1, "change_s": change_s,
        "rr_interval_cv": rng.uniform(*spec.rr_interval_cv),
        "scr_number_count": _uniform_int(rng, spec.scr_number_count),
        "burst_number_count": _uniform_int(rng, spec.emg_burst_count),
        "apnea_duration_s": rng.uniform(*spec.apnea_fraction) * window_s,
        "apnea_near_s": rng.uniform(0.15, 0.35) * window_s,
        "motion_amplitude_au": rng.uniform(*spec.motion_amplitude_au),
        "heart_phase": rng.uniform(), "breath_phase": rng.uniform(),
    }


def _mean_over_window(t: np.ndarray, values: np.ndarray, window_s: float) -> float:
    inside = (t >= 0) & (t < window_s)
    return float(np.mean(values[inside]))


def _distort(x: np.ndarray, fs: int, noise: float, motion: float, seed: int) -> np.ndarray:
    """Sensor noise (Laplace, 5/10/100 Hz) plus, for motion, slow swings and short bursts."""
    import neurokit2 as nk

    rng = np.random.default_rng(seed)
    noise_seed, motion_seed = child_seeds(rng, 2)
    x = nk.signal_distort(x, sampling_rate=fs, noise_amplitude=noise,
                          noise_frequency=[5, 10, 100], noise_shape="laplace",
                          random_state=noise_seed, silent=True)
    if motion > 0:
        x = nk.signal_distort(x, sampling_rate=fs, noise_amplitude=[motion, motion / 2],
                              noise_frequency=[0.5, 2.0], noise_shape="laplace",
                              artifacts_amplitude=2 * motion, artifacts_frequency=20,
                              artifacts_number=int(rng.integers(3, 7)),
                              random_state=motion_seed, silent=True)
    return np.asarray(x, dtype=float)


def _eda_emg(
    params: dict[str, float], subject: Subject, seeds: list[int], fs: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    import neurokit2 as nk

    eda = nk.eda_simulate(
        duration=n / fs, length=n, sampling_rate=fs, noise=0.01,
        scr_number=int(params["scr_number_count"]), drift=subject.eda_drift_us_per_s,
        random_state=seeds[0], random_state_distort=seeds[1],
    )
    eda = exact_length(eda, n, "eda_simulate")
    eda = subject.eda_tonic_us + subject.eda_scr_gain_us * (eda - 1.0)
    bursts = int(params["burst_number_count"])
    duration = min(0.8, 0.5 * n / fs / max(bursts, 1))
    emg = nk.emg_simulate(
        duration=n / fs, length=n, sampling_rate=fs, noise=subject.emg_noise_au,
        burst_number=bursts, burst_duration=duration, random_state=seeds[2],
    )
    return eda, subject.emg_gain_au * exact_length(emg, n, "emg_simulate")


def simulate_scenario(
    plan: WindowPlan, subject: Subject, template: np.ndarray, fs: int, n: int
) -> WindowResult:
    """One five-channel window of ``plan.scenario`` for ``subject``."""
    import neurokit2 as nk

    rng = np.random.default_rng(plan.seed)
    window_s = n / fs
    p = window_parameters(plan.scenario, plan.dynamics, subject, rng, window_s)
    seeds = child_seeds(rng, 8)
    lead = round(MARGIN_S * fs)
    t = (np.arange(-lead, n + lead)) / fs
    win = slice(lead, lead + n)

    rr_traj = cr.rate_trajectory(t, p["rr_start"], p["rr_end"], plan.dynamics, window_s,
                                 p["change_s"])
    breath = cr.breathing(t, rr_traj, subject.inspiration_fraction, p["breath_phase"],
                          p["apnea_near_s"] if p["apnea_duration_s"] > 0 else None,
                          p["apnea_duration_s"])
    hr_traj = cr.rate_trajectory(t, p["hr_start"], p["hr_end"], plan.dynamics, window_s,
                                 p["change_s"])
    if p["rr_interval_cv"] > 0:
        beats = cr.irregular_beats(np.random.default_rng(seeds[0]), t[0], t[-1],
                                   p["hr_start"], p["rr_interval_cv"])
    else:
        hr_inst = hr_traj * (1 + subject.rsa_fraction * np.sin(breath.phase_rad))
        beats = cr.sinus_beats(t, hr_inst, p["heart_phase"])

    ecg = subject.ecg_gain_mv * cr.render_ecg(t, beats, template)
    if p["rr_interval_cv"] > 0:  # fibrillatory f-waves at 4-8 Hz replace the P waves
        f_rng = np.random.default_rng(seeds[1])
        ecg = ecg + f_rng.uniform(0.03, 0.06) * np.sin(
            2 * np.pi * f_rng.uniform(4, 8) * t + f_rng.uniform(0, 2 * np.pi))
    ppg = cr.render_ppg(t, beats + subject.pulse_transit_time_s, subject.pulse_shape,
                        np.random.default_rng(seeds[2]))
    rsp = cr.render_rsp(breath, subject.rsp_amplitude_au
                        * (1 + 0.08 * np.random.default_rng(seeds[3]).standard_normal(64)))

    measured = {
        "measured_heart_rate_bpm": bracketing_rate(_detect_r_peaks(nk, ecg, fs, t), 0, t[win][-1]),
        "measured_resp_rate_bpm": bracketing_rate(_detect_troughs(nk, rsp, fs, t), 0, t[win][-1]),
    }
    noise, motion = subject.noise_amplitude_au, p["motion_amplitude_au"]
    eda, emg = _eda_emg(p, subject, seeds[4:7], fs, n)
    noise_seeds = child_seeds(np.random.default_rng(seeds[7]), 3)
    channels = [
        _distort(ecg[win], fs, noise, motion, noise_seeds[0]),
        _distort(ppg[win], fs, noise, motion, noise_seeds[1]),
        _distort(rsp[win], fs, noise, motion, noise_seeds[2]),
        eda, emg,
    ]
    labels = {
        "heart_rate_bpm": _mean_over_window(t, hr_traj, window_s),
        "heart_rate_change_bpm": p["hr_end"] - p["hr_start"],
        "resp_rate_bpm": _mean_over_window(t, rr_traj, window_s),
        "resp_rate_change_bpm": p["rr_end"] - p["rr_start"],
        "change_time_s": p["change_s"],
        "rr_interval_cv": p["rr_interval_cv"],
        "scr_number_count": float(p["scr_number_count"]),
        "burst_number_count": float(p["burst_number_count"]),
        "apnea_duration_s": breath.pause_inside(0.0, window_s),
        "motion_amplitude_au": motion,
        "noise_amplitude_au": noise,
        "pulse_transit_time_s": subject.pulse_transit_time_s,
    }
    return WindowResult(
        signals=np.stack(channels),
        heart_rate_bpm=rate_per_sample(beats, t[win]),
        resp_rate_bpm=rate_per_sample(breath.troughs_s, t[win]),
        resp_phase_rad=breath.phase_rad[win],
        measured=measured, labels=labels,
    )


def _finite(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    ok = np.flatnonzero(np.isfinite(x))
    return x[ok[0]:ok[-1] + 1], t[ok[0]]


def _detect_r_peaks(nk: Any, ecg: np.ndarray, fs: int, t: np.ndarray) -> np.ndarray:
    """R-peak times (s) found by ``nk.ecg_peaks`` in the noise-free ECG."""
    x, t0 = _finite(ecg, t)
    return t0 + np.asarray(nk.ecg_peaks(x, sampling_rate=fs)[1]["ECG_R_Peaks"], float) / fs


def _detect_troughs(nk: Any, rsp: np.ndarray, fs: int, t: np.ndarray) -> np.ndarray:
    """Inspiration onsets (s): ``nk.rsp_clean`` then ``nk.rsp_peaks`` on the noise-free RSP."""
    x, t0 = _finite(rsp, t)
    cleaned = nk.rsp_clean(x, sampling_rate=fs)
    return t0 + np.asarray(nk.rsp_peaks(cleaned, sampling_rate=fs)[1]["RSP_Troughs"], float) / fs


def ecg_template_for(subject: Subject, fs: int) -> np.ndarray:
    """The subject's ECG beat template (ECGSYN at its baseline rate)."""
    return cr.ecg_template(subject.heart_rate_bpm, fs, subject.template_seed, subject.wave_gains)
