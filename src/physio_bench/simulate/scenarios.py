"""Scenario windows: five channels (ECG, PPG, RSP, EDA, EMG) of one subject in one class.

Subjects and classes (see :mod:`physio_bench.simulate.plan`): the ``scenarios`` and
``training`` suites draw a population of subjects, each with its own seed and hence its
own morphology and physiology (:mod:`physio_bench.simulate.physiology`), and put every
subject in several classes (by default all of them): a class is a state the person is
in, so subject identity and class are crossed, not confounded. ``subject_id`` names the
person, ``scenario`` the class.

One window: the class's ranges (:mod:`physio_bench.simulate.classes`) and the subject's
quantiles give the requested rates; breaths are placed, then the heart rate (base
trajectory + LF + RSA + apnea response) and the beats of the class's rhythm, then every
waveform on those events (:mod:`physio_bench.simulate.waveforms`). ECG, PPG and RSP
share one heart and one breathing; EDA and EMG carry their own events.

Label columns (each measured on the events placed in the window; definitions in
:mod:`physio_bench.simulate.ground_truth`): ``heart_rate_bpm``, ``heart_rate_change_bpm``,
``resp_rate_bpm``, ``resp_rate_change_bpm``, ``change_time_s`` (step windows, else NaN),
``rr_interval_cv``, ``ectopic_beat_count`` (S and V beats in the window),
``apnea_duration_s``, ``pulse_amplitude_au``, ``pulse_amplitude_cv`` and
``pulse_arrival_time_s`` (R peak to systolic peak; over the window's visible pulses),
``scr_number_count`` (SCR onsets in the window), ``burst_number_count`` (EMG bursts).
The generator's inputs are kept as ``requested_*`` columns.

Noise: each channel gets white Gaussian noise of the subject's SD in the channel's
unit (ECG mV, PPG a.u., RSP L, EDA uS, EMG mV); motion artefacts scale with each
channel's typical amplitude (R wave, pulse, tidal volume), so ``motion_amplitude_au`` is
relative: the same value is the same signal-to-artefact ratio in every subject.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.simulate import ground_truth as gt
from physio_bench.simulate import rhythm, waveforms
from physio_bench.simulate.classes import (
    HEART_RATE_LIMITS,
    RESP_RATE_LIMITS,
    SCENARIO_CLASSES,
    Range,
    ScenarioClass,
)
from physio_bench.simulate.factors import EMG_GAP_S, SCR_GAP_S
from physio_bench.simulate.physiology import Subject, rsa_sd_bpm
from physio_bench.simulate.result import Event, WindowResult, interval_events, point_events
from physio_bench.simulate.seeds import child_seeds
from physio_bench.simulate.window import (
    EVENT_MARGIN_S,
    Grid,
    beat_events,
    breath_events,
    breathing_targets,
    pulse_labels,
    white_noise,
)

#: Streams of one window's randomness (separate generators, so that changing one part of
#: a window's design leaves the other parts' random draws unchanged).
STREAMS = ("params", "breaths", "apnea", "hrv", "beats", "ecg", "eda", "emg", "noise",
           "motion")


def _in_range(rng: np.random.Generator, bounds: Range, quantile: float, spread: float = 0.05
              ) -> float:
    """A value at ``quantile`` of ``bounds`` moved by N(0, spread x width), kept inside."""
    low, high = float(bounds[0]), float(bounds[1])
    value = low + quantile * (high - low) + rng.normal(0, spread * (high - low))
    return float(np.clip(value, low, high))


def _changed(rng: np.random.Generator, start: float, size: Range, limits: Range) -> float:
    """``start`` moved by a uniform ``size`` up or down, turned around if it leaves ``limits``."""
    change = rng.uniform(*size) * rng.choice([-1.0, 1.0])
    if not limits[0] <= start + change <= limits[1]:
        change = -change
    return float(np.clip(start + change, *limits))


def _uniform_int(rng: np.random.Generator, bounds: Range) -> int:
    return int(rng.integers(int(bounds[0]), int(bounds[1]) + 1))


def window_parameters(
    spec: ScenarioClass, dynamics: str, subject: Subject, rng: np.random.Generator,
    window_s: float,
) -> dict[str, Any]:
    """The requested values of one window (drawn around the subject's place in the class)."""
    hr0 = _in_range(rng, spec.heart_rate_bpm, subject.heart_rate_quantile)
    rr0 = _in_range(rng, spec.resp_rate_bpm, subject.resp_rate_quantile)
    hr1, rr1 = hr0, rr0
    if spec.heart_rate_change_bpm[1] > 0:
        hr1 = _changed(rng, hr0, spec.heart_rate_change_bpm, HEART_RATE_LIMITS)
    if spec.resp_rate_change_bpm[1] > 0:
        rr1 = _changed(rng, rr0, spec.resp_rate_change_bpm, RESP_RATE_LIMITS)
    u = rng.uniform
    ratio = int(rng.choice([2, 3, 4], p=[0.5, 0.15, 0.35]))
    return {
        "hr_start": hr0, "hr_end": hr1, "rr_start": rr0, "rr_end": rr1,
        "change_s": u(0.35, 0.65) * window_s if dynamics == "step" else float("nan"),
        "rr_interval_cv": u(*spec.rr_interval_cv),
        "ectopic_count": _uniform_int(rng, spec.ectopic_count),
        "hrv_scale": u(*spec.hrv_scale),
        "scr_count": _uniform_int(rng, spec.scr_number_count),
        "burst_count": _uniform_int(rng, spec.emg_burst_count),
        "apnea_s": u(*spec.apnea_s),
        "apnea_kind": str(rng.choice(["central", "obstructive"])),
        "motion": u(*spec.motion_amplitude_au),
        "pulse_scale": u(*spec.pulse_amplitude_scale),
        "pulse_decline": u(*spec.pulse_amplitude_decline),
        "riav": u(*spec.riav_frac) if spec.riav_frac else float("nan"),
        "tidal_scale": u(*spec.tidal_scale),
        "heart_phase": u(), "flutter_ratio": ratio, "flutter_variable": bool(u() < 0.3),
        "av_delay_s": u(0.18, 0.28), "wenckebach_ratio": int(rng.integers(3, 6)),
        "pr_increment_s": u(0.08, 0.14), "eda_drift": u(-0.01, 0.01),
    }


def _breaths(p: dict[str, Any], dynamics: str, subject: Subject, grid: Grid,
             rngs: dict[str, np.random.Generator]) -> rhythm.Breaths:
    window_s = grid.window_s
    t = grid.t_s

    def rate(time_s: float) -> float:
        if dynamics == "ramp":
            frac = float(np.clip(time_s / window_s, 0, 1))
            return p["rr_start"] + (p["rr_end"] - p["rr_start"]) * frac
        if dynamics == "step":
            return p["rr_end"] if time_s >= p["change_s"] else p["rr_start"]
        return p["rr_start"]

    breaths = rhythm.breath_train(rngs["breaths"], t[0], t[-1], rate, subject.breath_jitter,
                                  subject.inspiration_fraction, subject.tidal_cv)
    if p["apnea_s"] > 0:
        period = 60.0 / p["rr_start"]
        rhythm.insert_apnea(breaths, rngs["apnea"], p["apnea_s"], period,
                            window_s - p["apnea_s"] - 2 * period, p["apnea_kind"],
                            effort_ratio=rngs["apnea"].uniform(0.08, 0.2),
                            recovery_gain=rngs["apnea"].uniform(1.3, 1.6))
    return breaths


def _heart_rate(p: dict[str, Any], dynamics: str, name: str, subject: Subject, grid: Grid,
                breaths: rhythm.Breaths, rngs: dict[str, np.random.Generator]) -> np.ndarray:
    t = grid.t_s
    hr_dynamics = dynamics if name.startswith("heart_rate") else "steady"
    base = rhythm.base_rate(t, p["hr_start"], p["hr_end"], hr_dynamics, grid.window_s,
                            p["change_s"], subject.step_tau_s)
    for apnea in breaths.apneas:  # bradycardic drift, then tachycardic overshoot
        rng = rngs["apnea"]
        during = (t >= apnea.start_s) & (t < apnea.stop_s)
        base[during] -= rng.uniform(4, 10) * (t[during] - apnea.start_s) / apnea.duration_s
        after = t >= apnea.stop_s
        base[after] += rng.uniform(8, 15) * np.exp(-(t[after] - apnea.stop_s) / 6.0)
    hrv = p["hrv_scale"]
    return rhythm.heart_rate(base, t, breaths.phase(t), subject.lf_sd_bpm * hrv,
                             rsa_sd_bpm(subject, p["rr_start"]) * hrv, subject.mayer_hz,
                             rngs["hrv"])


def _beats(spec: ScenarioClass, p: dict[str, Any], subject: Subject, grid: Grid,
           hr: np.ndarray, rng: np.random.Generator) -> rhythm.Beats:
    t, ecg = grid.t_s, subject.ecg
    if spec.rhythm == "af":
        return rhythm.af_beats(rng, t[0], t[-1], p["hr_start"], p["rr_interval_cv"])
    if spec.rhythm == "flutter":
        ratios = [2, 4] if p["flutter_variable"] else [p["flutter_ratio"]]
        return rhythm.flutter_beats(rng, t[0], t[-1], p["hr_start"], ratios,
                                    p["flutter_variable"], p["av_delay_s"])
    nodes = rhythm.integral_crossings(t, hr, p["heart_phase"])
    if spec.rhythm == "av_block":
        return rhythm.wenckebach_beats(nodes - ecg.qrs_s / 2 - ecg.pr_s, p["wenckebach_ratio"],
                                       ecg.pr_s, p["pr_increment_s"], ecg.qrs_s, rng)
    if spec.rhythm in ("pvc", "pac"):
        kind, coupling = ("V", ecg.pvc_coupling) if spec.rhythm == "pvc" else (
            "S", ecg.pac_coupling)
        return rhythm.premature_beats(nodes, kind, p["ectopic_count"], coupling, rng,
                                      (0.5, grid.window_s - 0.5), ecg.pr_s, ecg.qrs_s,
                                      ecg.pac_pr_s)
    return rhythm.sinus_beats(nodes, ecg.pr_s, ecg.qrs_s)


def _eda(p: dict[str, Any], subject: Subject, grid: Grid, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, float]:
    """EDA over the window, SCR onsets, SCR onset-to-peak time."""
    window_s = grid.window_s
    onsets = rhythm.spaced_onsets(rng, np.zeros(p["scr_count"]), 0.5, window_s - 3.0,
                                  SCR_GAP_S)
    amps = subject.scr_amplitude_us * np.exp(0.3 * rng.standard_normal(len(onsets)))
    t = grid.crop(grid.t_s)
    eda = waveforms.render_eda(t, subject.eda_tonic_us, p["eda_drift"], onsets, amps,
                               subject.scr_rise_tau_s, subject.scr_decay_tau_s)
    return eda, onsets, waveforms.scr_peak_time(subject.scr_rise_tau_s, subject.scr_decay_tau_s)


def _emg(p: dict[str, Any], subject: Subject, grid: Grid, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    durations = rng.uniform(0.3, 1.0, p["burst_count"])
    onsets = rhythm.spaced_onsets(rng, durations, 0.5, grid.window_s - 0.5, EMG_GAP_S)
    emg, _ = waveforms.render_emg(grid.crop(grid.t_s), grid.fs, onsets, durations,
                                  subject.emg_burst_mv, subject.emg_noise_mv, rng)
    return emg, onsets, durations


def _motion(channels: list[np.ndarray], scales: list[float], names: list[str], motion: float,
            grid: Grid, rng: np.random.Generator) -> list[Event]:
    """Add motion artefacts in place; return their transients as ``artifact`` events."""
    events: list[Event] = []
    if motion <= 0:
        return events
    for x, scale, name in zip(channels, scales, names, strict=True):
        art, spans = waveforms.motion_artifact(grid.n, grid.fs, motion * scale, rng,
                                               int(rng.integers(3, 7)))
        x += art
        events += [("artifact", a, b, name) for a, b in spans]
    return events


def simulate_scenario(name: str, dynamics: str, subject: Subject, seed: int, fs: float,
                      n: int) -> WindowResult:
    """One five-channel window of class ``name`` for ``subject``."""
    spec = SCENARIO_CLASSES[name]
    grid = Grid.for_window(fs, n)
    rngs = {k: np.random.default_rng(s) for k, s in zip(
        STREAMS, child_seeds(np.random.default_rng(seed), len(STREAMS)), strict=True)}
    p = window_parameters(spec, dynamics, subject, rngs["params"], grid.window_s)
    window_s, t = grid.window_s, grid.t_s

    breaths = _breaths(p, dynamics, subject, grid, rngs)
    modulation = breaths.normalised_volume(t)
    hr = _heart_rate(p, dynamics, name, subject, grid, breaths, rngs)
    beats = _beats(spec, p, subject, grid, hr, rngs["beats"])
    default_rr = 60.0 / (p["hr_start"] if spec.rhythm != "flutter" else 80.0)

    ecg = waveforms.render_ecg(grid.t0_s, fs, grid.total, beats, subject.ecg, modulation,
                               default_rr, rngs["ecg"])
    decline = 1 - p["pulse_decline"] * np.clip(beats.r_s / window_s, 0, 1)
    riav = None if np.isnan(p["riav"]) else p["riav"]
    ppg, feet, peaks = waveforms.render_ppg(grid.t0_s, fs, grid.total, beats, subject.pulse,
                                            modulation, default_rr, p["pulse_scale"] * decline,
                                            riav)
    tidal_l = subject.tidal_volume_l * p["tidal_scale"]
    rsp = tidal_l * breaths.volume(t)
    labels = pulse_labels(ppg, grid, beats, feet, peaks)
    eda, scr_onsets, scr_peak = _eda(p, subject, grid, rngs["eda"])
    emg, burst_onsets, burst_durations = _emg(p, subject, grid, rngs["emg"])

    noise = rngs["noise"]
    channels = [grid.crop(ecg) + white_noise(noise, subject.ecg_noise_mv, n)[0],
                grid.crop(ppg) + white_noise(noise, subject.ppg_noise_au, n)[0],
                grid.crop(rsp) + white_noise(noise, subject.rsp_noise_l, n)[0],
                eda + white_noise(noise, subject.eda_noise_us, n)[0], emg]
    artifacts = _motion(channels[:3], [subject.ecg.r_mv, subject.pulse.amplitude_au, tidal_l],
                        ["ecg", "ppg", "rsp"], p["motion"], grid, rngs["motion"])

    hr_target = gt.rate_per_sample(beats.r_s, grid.crop(t))
    rr_target, phase = breathing_targets(breaths, grid)
    labels.update(_rate_labels(beats, breaths, p, dynamics, name, subject, window_s))
    labels.update({
        "apnea_duration_s": sum(gt.overlap_s(a.start_s, a.stop_s, 0, window_s)
                                for a in breaths.apneas),
        "scr_number_count": float(len(gt.inside(scr_onsets, 0, window_s))),
        "burst_number_count": float(len(gt.inside(burst_onsets, 0, window_s))),
    })
    events = (beat_events(beats, subject.ecg.p_duration_s, window_s)
              + interval_events("pulse", feet, peaks, "", -EVENT_MARGIN_S,
                                window_s + EVENT_MARGIN_S)
              + breath_events(breaths, window_s)
              + interval_events("scr", scr_onsets, scr_onsets + scr_peak)
              + interval_events("emg_burst", burst_onsets, burst_onsets + burst_durations)
              + artifacts)
    if beats.atrial == "flutter":
        events += point_events("f_wave", beats.flutter_s, "", -EVENT_MARGIN_S,
                               window_s + EVENT_MARGIN_S)
    return WindowResult(
        signals=np.stack(channels), heart_rate_bpm=hr_target, resp_rate_bpm=rr_target,
        resp_phase_rad=phase, labels=labels, requested=_requested(p, dynamics, name),
        events=events,
    )


def _rate_labels(beats: rhythm.Beats, breaths: rhythm.Breaths, p: dict[str, Any],
                 dynamics: str, name: str, subject: Subject, window_s: float
                 ) -> dict[str, float]:
    change_time = float("nan")
    if dynamics == "step" and name.startswith("heart_rate"):
        change_time = p["change_s"] + subject.step_tau_s * np.log(2)
    elif dynamics == "step":
        after = breaths.onsets_s[breaths.onsets_s >= p["change_s"]]
        change_time = float(after[0]) if len(after) else float("nan")
    in_window = (beats.r_s >= 0) & (beats.r_s < window_s)
    return {
        "heart_rate_bpm": gt.window_rate(beats.r_s, 0, window_s),
        "heart_rate_change_bpm": gt.rate_change(beats.r_s, 0, window_s),
        "resp_rate_bpm": gt.window_rate(breaths.onsets_s, 0, window_s),
        "resp_rate_change_bpm": gt.rate_change(breaths.onsets_s, 0, window_s),
        "change_time_s": change_time,
        "rr_interval_cv": gt.interval_cv(beats.r_s, 0, window_s),
        "ectopic_beat_count": float(np.isin(beats.classes[in_window], ["S", "V"]).sum()),
    }


def _requested(p: dict[str, Any], dynamics: str, name: str) -> dict[str, float]:
    return {
        "heart_rate_bpm": p["hr_start"], "heart_rate_change_bpm": p["hr_end"] - p["hr_start"],
        "resp_rate_bpm": p["rr_start"], "resp_rate_change_bpm": p["rr_end"] - p["rr_start"],
        "change_time_s": p["change_s"], "rr_interval_cv": p["rr_interval_cv"],
        "ectopic_beat_count": float(p["ectopic_count"]), "apnea_duration_s": p["apnea_s"],
        "scr_number_count": float(p["scr_count"]),
        "burst_number_count": float(p["burst_count"]),
        "motion_amplitude_au": p["motion"], "hrv_scale": p["hrv_scale"],
        "pulse_amplitude_scale": p["pulse_scale"],
    }
