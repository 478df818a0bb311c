"""Scenario windows: five channels (ECG, PPG, RSP, EDA, EMG) of one subject in one class.

Subjects and classes (see :mod:`physio_bench.simulate.plan`): the ``scenarios`` and
``training`` suites draw a population of subjects, each with its own seed and hence its
own morphology and physiology (:mod:`physio_bench.simulate.physiology`), and put every
subject in several classes (by default all of them): a class is a state the person is
in, so subject identity and class are crossed, not confounded. ``subject_id`` names the
person, ``scenario`` the class.

One window: the class's ranges (:mod:`physio_bench.simulate.classes`) and the subject's
quantiles give the requested rates; breaths are placed (spontaneous, or a ventilator's),
then the heart rate (base trajectory + LF + RSA + apnea response) and the beats of the
class's rhythm, then every waveform on those events
(:mod:`physio_bench.simulate.waveforms`). ECG, PPG and RSP share one heart and one
breathing; EDA and EMG carry their own events; body motion reaches all five at once.

Label columns (each measured on the events placed in the window; definitions in
:mod:`physio_bench.simulate.ground_truth` and :mod:`physio_bench.simulate.window`):
``heart_rate_bpm``, ``heart_rate_change_bpm``, ``resp_rate_bpm`` (breathing rate with
pauses left out), ``resp_rate_change_bpm``, ``change_time_s`` (step windows, else NaN),
``rr_interval_cv``, ``ectopic_beat_count`` (S and V beats in the window: premature beats,
and ventricular escape beats), ``apnea_duration_s``, ``pause_number_count``,
``apnea_type``; the conduction labels ``atrial_rate_bpm``, ``av_conduction_ratio``,
``blocked_p_wave_count``, ``pr_interval_s``, ``pr_prolongation_s``, ``av_block_type``,
``flutter_conduction_ratio``; the pulse labels ``pulse_amplitude_au``,
``pulse_amplitude_cv``, ``pulse_arrival_time_s`` (R peak to systolic peak),
``pulse_arrival_foot_s`` (R peak to foot), ``pulse_arrival_resp_change_s``,
``pulse_amplitude_resp_change_frac``, ``pulse_amplitude_variation_frac``;
``scr_number_count`` (SCR onsets in the window), ``eda_tonic_us`` (mean skin
conductance level without the responses), ``burst_number_count`` (EMG bursts); and the
subject's ECG factors ``ecg_lead``, ``ecg_axis_deg``, ``qrs_width_s``,
``t_wave_polarity_sign``. The generator's inputs are kept as ``requested_*`` columns.

Sensors: each channel gets white Gaussian noise of the subject's SD in the channel's
unit (ECG mV, PPG a.u., RSP L, EDA uS, EMG mV), and ECG, PPG and RSP a recording offset
(:data:`physio_bench.simulate.window.SENSOR_OFFSET_SD`: electrode half-cell potentials,
an oximeter's DC level, a belt or impedance baseline are arbitrary in every recording,
so a window's mean says nothing about its physiology). Motion artefacts scale with each
channel's typical amplitude (largest QRS deflection, pulse, tidal volume, SCR, EMG burst)
times the coupling of its sensor site, so ``motion_amplitude_au`` is relative: the same
value is the same signal-to-artefact ratio in every subject.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.simulate import ground_truth as gt
from physio_bench.simulate import rhythm, waveforms
from physio_bench.simulate.classes import (
    HEART_RATE_LIMITS,
    JUNCTIONAL_ESCAPE_BPM,
    RESP_RATE_LIMITS,
    SCENARIO_CLASSES,
    VENTRICULAR_ESCAPE_BPM,
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
    apnea_labels,
    beat_events,
    breath_events,
    breathing_targets,
    conduction_labels,
    morphology_labels,
    noise_only,
    pulse_labels,
    resp_rate_without_pauses,
    sensor_offsets,
)

#: Streams of one window's randomness (separate generators, so that changing one part of
#: a window's design leaves the other parts' random draws unchanged).
STREAMS = ("params", "breaths", "apnea", "hrv", "beats", "ecg", "eda", "emg", "noise",
           "motion", "sensor")
#: Share of ventricular filling from atrial contraction when a P wave precedes the QRS by
#: 0.08-0.3 s in complete AV block (the atrial kick, 15-25 %: Mitchell et al. 1962).
ATRIAL_KICK = (0.15, 0.25)


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


#: Closest the atrial-to-escape rate ratio of complete AV block comes to a whole number.
DISSOCIATION_MARGIN = 0.15


def _escape_rate(rng: np.random.Generator, atrial_bpm: float, bounds: Range) -> float:
    """An escape rate in ``bounds`` whose ratio to the atrial rate is at least
    :data:`DISSOCIATION_MARGIN` from a whole number, so that within one window the P waves
    visibly march through the QRS complexes (a near-integer ratio would look like a fixed
    2:1 or 3:1 block over 32 s); redrawn until it is (at most 50 draws)."""
    for _ in range(50):
        rate = float(rng.uniform(*bounds))
        ratio = atrial_bpm / rate
        if abs(ratio - round(ratio)) >= DISSOCIATION_MARGIN:
            break
    return rate


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
    ventricular_escape = bool(u() < 0.5)
    escape_rate = _escape_rate(rng, hr0, VENTRICULAR_ESCAPE_BPM if ventricular_escape
                               else JUNCTIONAL_ESCAPE_BPM)
    return {
        "hr_start": hr0, "hr_end": hr1, "rr_start": rr0, "rr_end": rr1,
        "change_s": u(0.35, 0.65) * window_s if dynamics == "step" else float("nan"),
        "rr_interval_cv": u(*spec.rr_interval_cv),
        "ectopic_count": _uniform_int(rng, spec.ectopic_count),
        "hrv_scale": u(*spec.hrv_scale),
        "scr_count": _uniform_int(rng, spec.scr_number_count),
        "burst_count": _uniform_int(rng, spec.emg_burst_count),
        "apnea_s": u(*spec.apnea_s),
        "apnea_kind": str(rng.choice(list(spec.apnea_kinds))),
        "motion": u(*spec.motion_amplitude_au),
        "motion_episodes": _uniform_int(rng, spec.motion_episodes),
        "pulse_scale": u(*spec.pulse_amplitude_scale),
        "pulse_decline": u(*spec.pulse_amplitude_decline),
        "riav": u(*spec.riav_frac) if spec.riav_frac else float("nan"),
        "arrival_resp_scale": u(*spec.arrival_resp_scale),
        "tidal_scale": u(*spec.tidal_scale),
        "ventilated": spec.breathing == "ventilated",
        "ventilator_tidal_scale": u(*spec.ventilator_tidal_scale),
        "ventilator_ti_frac": u(0.3, 0.36), "ventilator_tau_s": u(0.4, 0.8),
        "heart_phase": u(),
        "flutter_ratio": int(rng.choice(rhythm.FLUTTER_RATIOS, p=rhythm.FLUTTER_FIXED_P)),
        "flutter_variable": bool(u() < 0.3), "flutter_descent": u(0.6, 0.75),
        "av_delay_s": u(0.18, 0.28), "wenckebach_ratio": int(rng.integers(3, 6)),
        "pr_increment_s": u(0.08, 0.14), "mobitz2_ratio": int(rng.integers(3, 6)),
        "escape_ventricular": ventricular_escape, "escape_rate_bpm": escape_rate,
        "atrial_kick": u(*ATRIAL_KICK),
        "eda_tonic_rise_us": u(*spec.eda_tonic_rise_us),
        "eda_drift": u(*spec.eda_drift_us_per_s),
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

    if p["ventilated"]:  # a ventilator: set rate and volume, no jitter
        breaths = rhythm.breath_train(rngs["breaths"], t[0], t[-1], rate, 0.0,
                                      p["ventilator_ti_frac"], 0.0)
        breaths.ventilated = True
        breaths.expiration_tau_s = p["ventilator_tau_s"]
    else:
        breaths = rhythm.breath_train(rngs["breaths"], t[0], t[-1], rate,
                                      subject.breath_jitter, subject.inspiration_fraction,
                                      subject.tidal_cv)
    if p["apnea_s"] > 0:
        period = 60.0 / p["rr_start"]
        rhythm.insert_apnea(breaths, rngs["apnea"], p["apnea_s"], period,
                            window_s - p["apnea_s"] - 2 * period, p["apnea_kind"],
                            effort_ratio=rngs["apnea"].uniform(0.15, 0.3),
                            recovery_gain=rngs["apnea"].uniform(1.3, 1.6))
    return breaths


def apnea_response(t_s: np.ndarray, start_s: float, stop_s: float, drift_bpm: float,
                   surge_bpm: float) -> np.ndarray:
    """Heart-rate change (bpm) around an apnea: a linear bradycardic drift of
    ``drift_bpm`` through the pause, which recovers with a 4-s time constant after it,
    and a tachycardic surge of ``surge_bpm`` that builds over several beats and peaks
    6 s after the pause (``(x / 6)^2 exp(2 (1 - x / 6))``, x in s after the pause): no
    one-beat jump when breathing resumes (the cyclical variation of heart rate of sleep
    apnoea, whose peak follows the resumption of breathing by several beats:
    Guilleminault et al. 1984)."""
    out = np.zeros(len(t_s))
    during = (t_s >= start_s) & (t_s < stop_s)
    out[during] = -drift_bpm * (t_s[during] - start_s) / (stop_s - start_s)
    after = t_s >= stop_s
    x = (t_s[after] - stop_s) / 6.0
    out[after] = -drift_bpm * np.exp(-(t_s[after] - stop_s) / 4.0) + surge_bpm * x**2 * np.exp(
        2 * (1 - x))
    return out


def _heart_rate(p: dict[str, Any], dynamics: str, name: str, subject: Subject, grid: Grid,
                breaths: rhythm.Breaths, rngs: dict[str, np.random.Generator]) -> np.ndarray:
    t = grid.t_s
    hr_dynamics = dynamics if name.startswith("heart_rate") else "steady"
    base = rhythm.base_rate(t, p["hr_start"], p["hr_end"], hr_dynamics, grid.window_s,
                            p["change_s"], subject.step_tau_s)
    for apnea in breaths.apneas:
        rng = rngs["apnea"]
        base += apnea_response(t, apnea.start_s, apnea.stop_s, rng.uniform(4, 10),
                               rng.uniform(8, 15))
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
        return rhythm.flutter_beats(rng, t[0], t[-1], p["hr_start"], p["flutter_ratio"],
                                    p["flutter_variable"], p["av_delay_s"])
    nodes = rhythm.integral_crossings(t, hr, p["heart_phase"])
    p_onsets = nodes - ecg.qrs_s / 2 - ecg.pr_s
    if spec.rhythm == "av_block":
        return rhythm.wenckebach_beats(p_onsets, p["wenckebach_ratio"], ecg.pr_s,
                                       p["pr_increment_s"], ecg.qrs_s, rng)
    if spec.rhythm == "mobitz2":
        return rhythm.mobitz2_beats(p_onsets, p["mobitz2_ratio"], ecg.pr_s, ecg.qrs_s, rng)
    if spec.rhythm == "complete_block":
        return rhythm.complete_block_beats(rng, p_onsets, t[0], t[-1], p["escape_rate_bpm"],
                                           p["escape_ventricular"])
    if spec.rhythm in ("pvc", "pac"):
        kind, coupling = ("V", ecg.pvc_coupling) if spec.rhythm == "pvc" else (
            "S", ecg.pac_coupling)
        return rhythm.premature_beats(nodes, kind, p["ectopic_count"], coupling, rng,
                                      (0.5, grid.window_s - 0.5), ecg.pr_s, ecg.qrs_s,
                                      ecg.pac_pr_s)
    return rhythm.sinus_beats(nodes, ecg.pr_s, ecg.qrs_s)


def _atrial_kick(beats: rhythm.Beats, p: dict[str, Any]) -> np.ndarray:
    """Pulse-size factor of each beat: 1 + atrial kick when, in AV dissociation, a P wave
    precedes the QRS by 0.08-0.3 s (atrial contraction fills the ventricle), else 1."""
    if beats.atrial != "dissociated" or len(beats.p_onsets_s) == 0:
        return np.ones(len(beats.r_s))
    k = np.searchsorted(beats.p_onsets_s, beats.r_s, side="right") - 1
    lead = np.where(k >= 0, beats.r_s - beats.p_onsets_s[np.clip(k, 0, None)], np.inf)
    return np.where((lead >= 0.08) & (lead <= 0.3), 1 + p["atrial_kick"], 1.0)


def _eda(p: dict[str, Any], subject: Subject, grid: Grid, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """EDA over the window, SCR onsets, SCR onset-to-peak time, mean tonic level (uS)."""
    window_s = grid.window_s
    onsets = rhythm.spaced_onsets(rng, np.zeros(p["scr_count"]), 0.5, window_s - 3.0,
                                  SCR_GAP_S)
    amps = subject.scr_amplitude_us * np.exp(0.3 * rng.standard_normal(len(onsets)))
    t = grid.crop(grid.t_s)
    tonic = subject.eda_tonic_us + p["eda_tonic_rise_us"]
    eda = waveforms.render_eda(t, tonic, p["eda_drift"], onsets, amps,
                               subject.scr_rise_tau_s, subject.scr_decay_tau_s)
    peak = waveforms.scr_peak_time(subject.scr_rise_tau_s, subject.scr_decay_tau_s)
    return eda, onsets, peak, float(tonic + p["eda_drift"] * float(np.mean(t)))


def _emg(p: dict[str, Any], subject: Subject, grid: Grid, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    durations = rng.uniform(0.3, 1.0, p["burst_count"])
    onsets = rhythm.spaced_onsets(rng, durations, 0.5, grid.window_s - 0.5, EMG_GAP_S)
    emg, _ = waveforms.render_emg(grid.crop(grid.t_s), grid.fs, onsets, durations,
                                  subject.emg_burst_mv, subject.emg_noise_mv, rng)
    return emg, onsets, durations


#: The scenario channels and the subject attribute giving each one's typical amplitude.
CHANNELS = ("ecg", "ppg", "rsp", "eda", "emg")


def _motion(channels: list[np.ndarray], typical: list[float], subject: Subject,
            p: dict[str, Any], grid: Grid, rng: np.random.Generator
            ) -> tuple[list[Event], np.ndarray, np.ndarray]:
    """Add body motion to every channel in place (one movement signal, each sensor with
    its site's coupling); return the ``artifact`` events (one per episode and channel,
    the same spans in every channel) and the episodes' onsets and durations."""
    if p["motion"] <= 0:
        return [], np.zeros(0), np.zeros(0)
    motion, envelope, spans = waveforms.body_motion(grid.n, grid.fs, rng,
                                                    p["motion_episodes"],
                                                    (0.5, grid.window_s - 0.5))
    events: list[Event] = []
    for x, scale, name, coupling in zip(channels, typical, CHANNELS,
                                        subject.motion_coupling, strict=True):
        x += waveforms.coupled_artifact(name, motion, envelope, grid.fs,
                                        p["motion"] * coupling * scale, rng)
        events += [("artifact", a, b, name) for a, b in spans]
    starts = np.array([a for a, _ in spans])
    return events, starts, np.array([b - a for a, b in spans])


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
    volume = breaths.volume(t)
    modulation = breaths.normalised_volume(t, volume)
    drive = waveforms.resp_drive(volume, fs)
    hr = _heart_rate(p, dynamics, name, subject, grid, breaths, rngs)
    beats = _beats(spec, p, subject, grid, hr, rngs["beats"])
    default_rr = 60.0 / (p["hr_start"] if spec.rhythm != "flutter" else 80.0)

    ecg = waveforms.render_ecg(grid.t0_s, fs, grid.total, beats, subject.ecg, modulation,
                               default_rr, rngs["ecg"], p["flutter_descent"])
    decline = 1 - p["pulse_decline"] * np.clip(beats.r_s / window_s, 0, 1)
    riav = None if np.isnan(p["riav"]) else p["riav"]
    sign = -1.0 if p["ventilated"] else 1.0
    rr_prev = beats.preceding_rr(default_rr)
    reference = waveforms.reference_rr(rr_prev)
    arrival = waveforms.pulse_arrival_times(beats.r_s, rr_prev, subject.pulse,
                                            np.interp(beats.r_s, t, drive), sign,
                                            p["arrival_resp_scale"], reference)
    ppg, feet, peaks = waveforms.render_ppg(
        grid.t0_s, fs, grid.total, beats, subject.pulse, modulation, default_rr,
        p["pulse_scale"] * decline * _atrial_kick(beats, p), riav, drive, sign, arrival,
        reference)
    tidal_l = subject.tidal_volume_l * (p["ventilator_tidal_scale"] if p["ventilated"]
                                        else p["tidal_scale"])
    rsp = tidal_l * volume
    labels: dict[str, Any] = pulse_labels(ppg, grid, beats, feet, peaks, breaths)
    eda, scr_onsets, scr_peak, eda_tonic = _eda(p, subject, grid, rngs["eda"])
    emg, burst_onsets, burst_durations = _emg(p, subject, grid, rngs["emg"])

    noise = rngs["noise"]
    offsets = sensor_offsets(rngs["sensor"])
    channels = [grid.crop(ecg) + noise_only(noise, subject.ecg_noise_mv, n) + offsets[0],
                grid.crop(ppg) + noise_only(noise, subject.ppg_noise_au, n) + offsets[1],
                grid.crop(rsp) + noise_only(noise, subject.rsp_noise_l, n) + offsets[2],
                eda + noise_only(noise, subject.eda_noise_us, n), emg]
    typical = [subject.ecg.qrs_peak_mv, subject.pulse.amplitude_au * p["pulse_scale"],
               tidal_l, subject.scr_amplitude_us, subject.emg_burst_mv]
    artifacts, moves, move_durations = _motion(channels, typical, subject, p, grid,
                                               rngs["motion"])
    burst_onsets = np.concatenate([burst_onsets, moves])
    burst_durations = np.concatenate([burst_durations, move_durations])

    hr_target = gt.rate_per_sample(beats.r_s, grid.crop(t))
    rr_target, phase = breathing_targets(breaths, grid)
    labels.update(_rate_labels(beats, breaths, p, dynamics, name, subject, window_s))
    labels.update(apnea_labels(breaths, window_s))
    labels.update(conduction_labels(beats, subject.ecg.qrs_s, window_s))
    labels.update(morphology_labels(subject.ecg))
    labels.update({
        "scr_number_count": float(len(gt.inside(scr_onsets, 0, window_s))),
        "eda_tonic_us": eda_tonic,
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
        "resp_rate_bpm": resp_rate_without_pauses(breaths, window_s),
        "resp_rate_change_bpm": gt.rate_change(breaths.onsets_s, 0, window_s,
                                               [a.start_s for a in breaths.apneas]),
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
        "pulse_amplitude_scale": p["pulse_scale"], "pulse_amplitude_resp_frac": p["riav"],
        "eda_tonic_rise_us": p["eda_tonic_rise_us"],
    }
