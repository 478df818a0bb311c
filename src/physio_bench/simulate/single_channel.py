"""One-channel windows for the ``factors`` and ``sweeps`` suites.

Each window is one simulated person (morphology and physiology drawn from the window's
own subject seed, :mod:`physio_bench.simulate.physiology`) with the requested factor
values; the events are placed first and the waveform is rendered on them
(:mod:`physio_bench.simulate.rhythm`, :mod:`physio_bench.simulate.waveforms`), exactly as
in the scenario windows. Every label column is then *measured* on the placed events
(definitions in :mod:`physio_bench.simulate.ground_truth`); the requested values are
kept as ``requested_*`` columns.

- ECG (mV) and PPG (a.u.): sinus rhythm at the requested heart rate with HRV of the
  requested SD, split at random between LF (Mayer waves) and HF (RSA at the breathing
  rate); the breathing (at the requested ``resp_rate_bpm``) also modulates the
  amplitude and baseline with the subject's strengths, so the breathing rate is in the
  signal and is a factor. Labels: ``heart_rate_bpm``, ``heart_rate_std_bpm``,
  ``resp_rate_bpm`` (window rates of the beats and breaths), noise SD; ECG windows also
  record the subject's ECG factors (``ecg_lead``, ``ecg_axis_deg``, ``qrs_width_s``,
  ``t_wave_polarity_sign``; not drawn from the config, so not factor columns). The PPG
  pulse arrival time follows the heart rate and the breathing as in the scenario
  windows (spontaneous breathing).
- RSP (L): volume-like breathing at the requested rate; labels ``resp_rate_bpm``, noise.
- EDA (uS): SCRs at random onsets (``scr_number_count`` onsets in the window), linear
  drift ``drift_us_per_s``, noise ``noise_amplitude_us``.
- EMG (mV): ``burst_number_count`` bursts at random onsets with durations around
  ``burst_duration_s`` (label: their mean), background noise ``noise_amplitude_mv``.

Noise is white and Gaussian, its SD in the channel's unit; the label is the SD of the
noise actually added in the window. For ECG (mV), RSP (L), EDA (uS) and EMG (mV) that is
a physical amplitude: the signal-to-noise ratio then also depends on the subject's
amplitudes (largest QRS deflection 0.2-2.2 mV by lead and axis, tidal volume 0.35-0.8 L,
...), and a model that
normalises each window sees the ratio, not the amplitude. PPG has no physical unit
(a.u., pulse height 0.4-3.5 a.u. by subject), so its noise is in those a.u. ECG, PPG and
RSP windows carry a recording offset
(:data:`~physio_bench.simulate.window.SENSOR_OFFSET_SD`), as the scenario windows do.

Each component draws from its own random stream, so along a sweep (same seed, one
factor moved) everything not caused by the moved factor stays the same.
"""

from __future__ import annotations

import numpy as np

from physio_bench.simulate import ground_truth as gt
from physio_bench.simulate import rhythm, waveforms
from physio_bench.simulate.factors import EMG_GAP_S, SCR_GAP_S
from physio_bench.simulate.physiology import Subject, draw_subject
from physio_bench.simulate.result import WindowResult, interval_events, nan_target
from physio_bench.simulate.seeds import child_seeds
from physio_bench.simulate.window import (
    EVENT_MARGIN_S,
    Grid,
    beat_events,
    breath_events,
    breathing_targets,
    morphology_labels,
    sensor_offsets,
    white_noise,
)

STREAMS = ("subject", "breaths", "hrv", "beats", "noise", "events", "split", "sensor")
#: Each EMG burst lasts the requested mean duration times U(1 - x, 1 + x).
BURST_DURATION_SPREAD = 0.2


def _streams(seed: int) -> dict[str, np.random.Generator]:
    seeds = child_seeds(np.random.default_rng(seed), len(STREAMS))
    return {k: np.random.default_rng(s) for k, s in zip(STREAMS, seeds, strict=True)}


def _subject(rngs: dict[str, np.random.Generator]) -> Subject:
    return draw_subject(int(rngs["subject"].integers(0, 2**63 - 1)))


def _breathing(subject: Subject, rate_bpm: float, grid: Grid,
               rng: np.random.Generator) -> rhythm.Breaths:
    t = grid.t_s
    return rhythm.breath_train(rng, t[0], t[-1], lambda _t: rate_bpm, subject.breath_jitter,
                               subject.inspiration_fraction, subject.tidal_cv)


def _cardiac(kind: str, factors: dict[str, float], seed: int, fs: float, n: int
             ) -> WindowResult:
    rngs = _streams(seed)
    subject = _subject(rngs)
    grid = Grid.for_window(fs, n)
    t, window_s = grid.t_s, grid.window_s
    breaths = _breathing(subject, factors["resp_rate_bpm"], grid, rngs["breaths"])
    volume = breaths.volume(t)
    modulation = breaths.normalised_volume(t, volume)
    hr_bpm = factors["heart_rate_bpm"]
    hf_share = rngs["split"].uniform(0.2, 0.8)
    sd = factors["heart_rate_std_bpm"]
    hr = rhythm.heart_rate(np.full(len(t), hr_bpm), t, breaths.phase(t),
                           sd * np.sqrt(1 - hf_share), sd * np.sqrt(hf_share),
                           subject.mayer_hz, rngs["hrv"])
    beats = rhythm.sinus_beats(rhythm.integral_crossings(t, hr, rngs["beats"].uniform()),
                               subject.ecg.pr_s, subject.ecg.qrs_s)
    default_rr = 60.0 / hr_bpm
    events = beat_events(beats, subject.ecg.p_duration_s, window_s)
    events += breath_events(breaths, window_s)
    offsets = sensor_offsets(rngs["sensor"])
    extra = {}
    if kind == "ecg":
        clean = waveforms.render_ecg(grid.t0_s, fs, grid.total, beats, subject.ecg, modulation,
                                     default_rr, rngs["events"])
        noise, noise_sd = white_noise(rngs["noise"], factors["noise_amplitude_mv"], n)
        events_s, noise_column, offset = beats.r_s, "noise_amplitude_mv", offsets[0]
        extra = morphology_labels(subject.ecg)
    else:
        drive = waveforms.resp_drive(volume, fs)
        rr_prev = beats.preceding_rr(default_rr)
        reference = waveforms.reference_rr(rr_prev)
        arrival = waveforms.pulse_arrival_times(beats.r_s, rr_prev, subject.pulse,
                                                np.interp(beats.r_s, t, drive), 1.0,
                                                reference_rr_s=reference)
        clean, feet, peaks = waveforms.render_ppg(grid.t0_s, fs, grid.total, beats,
                                                  subject.pulse, modulation, default_rr,
                                                  drive=drive, arrival_s=arrival,
                                                  reference_rr_s=reference)
        noise, noise_sd = white_noise(rngs["noise"], factors["noise_amplitude_au"], n)
        events_s, noise_column, offset = peaks, "noise_amplitude_au", offsets[1]
        events += interval_events("pulse", feet, peaks, "", -EVENT_MARGIN_S,
                                  window_s + EVENT_MARGIN_S)
    rr_target, phase = breathing_targets(breaths, grid)
    return WindowResult(
        signals=(grid.crop(clean) + noise + offset)[None],
        heart_rate_bpm=gt.rate_per_sample(events_s, grid.crop(t)),
        resp_rate_bpm=rr_target, resp_phase_rad=phase,
        labels={
            "heart_rate_bpm": gt.window_rate(events_s, 0, window_s),
            "heart_rate_std_bpm": gt.rate_sd(events_s, 0, window_s),
            "resp_rate_bpm": gt.window_rate(breaths.onsets_s, 0, window_s),
            noise_column: noise_sd,
            **extra,
        },
        events=events,
    )


def simulate_ecg(factors: dict[str, float], seed: int, fs: float, n: int) -> WindowResult:
    """ECG window (mV): heart rate, its SD, breathing rate (modulation), noise SD (mV)."""
    return _cardiac("ecg", factors, seed, fs, n)


def simulate_ppg(factors: dict[str, float], seed: int, fs: float, n: int) -> WindowResult:
    """PPG window (a.u.): heart rate, its SD, breathing rate (modulation), noise SD (a.u.)."""
    return _cardiac("ppg", factors, seed, fs, n)


def simulate_rsp(factors: dict[str, float], seed: int, fs: float, n: int) -> WindowResult:
    """Volume-like respiration (L) at ``resp_rate_bpm`` with white noise (L)."""
    rngs = _streams(seed)
    subject = _subject(rngs)
    grid = Grid.for_window(fs, n)
    breaths = _breathing(subject, factors["resp_rate_bpm"], grid, rngs["breaths"])
    clean = subject.tidal_volume_l * breaths.volume(grid.t_s)
    noise, noise_sd = white_noise(rngs["noise"], factors["noise_amplitude_l"], n)
    offset = sensor_offsets(rngs["sensor"])[2]
    rr_target, phase = breathing_targets(breaths, grid)
    return WindowResult(
        signals=(grid.crop(clean) + noise + offset)[None], heart_rate_bpm=nan_target(n),
        resp_rate_bpm=rr_target, resp_phase_rad=phase,
        labels={"resp_rate_bpm": gt.window_rate(breaths.onsets_s, 0, grid.window_s),
                "noise_amplitude_l": noise_sd},
        events=breath_events(breaths, grid.window_s),
    )


def simulate_eda(factors: dict[str, float], seed: int, fs: float, n: int) -> WindowResult:
    """EDA window (uS): SCRs at random onsets, linear drift (uS/s), noise (uS)."""
    rngs = _streams(seed)
    subject = _subject(rngs)
    grid = Grid.for_window(fs, n)
    window_s = grid.window_s
    count = int(factors["scr_number_count"])
    onsets = rhythm.spaced_onsets(rngs["events"], np.zeros(count), 0.5, window_s - 3.0,
                                  SCR_GAP_S)
    amps = subject.scr_amplitude_us * np.exp(0.3 * rngs["events"].standard_normal(count))
    t = grid.crop(grid.t_s)
    clean = waveforms.render_eda(t, subject.eda_tonic_us, factors["drift_us_per_s"], onsets,
                                 amps, subject.scr_rise_tau_s, subject.scr_decay_tau_s)
    noise, noise_sd = white_noise(rngs["noise"], factors["noise_amplitude_us"], n)
    peak = waveforms.scr_peak_time(subject.scr_rise_tau_s, subject.scr_decay_tau_s)
    return WindowResult(
        signals=(clean + noise)[None], heart_rate_bpm=nan_target(n),
        resp_rate_bpm=nan_target(n), resp_phase_rad=nan_target(n),
        labels={"scr_number_count": float(len(gt.inside(onsets, 0, window_s))),
                "drift_us_per_s": float(factors["drift_us_per_s"]),
                "noise_amplitude_us": noise_sd},
        events=interval_events("scr", onsets, onsets + peak),
    )


def simulate_emg(factors: dict[str, float], seed: int, fs: float, n: int) -> WindowResult:
    """EMG window (mV): bursts at random onsets, their mean duration (s), background SD."""
    rngs = _streams(seed)
    subject = _subject(rngs)
    grid = Grid.for_window(fs, n)
    count = int(factors["burst_number_count"])
    durations = factors["burst_duration_s"] * rngs["events"].uniform(
        1 - BURST_DURATION_SPREAD, 1 + BURST_DURATION_SPREAD, count)
    onsets = rhythm.spaced_onsets(rngs["events"], durations, 0.5, grid.window_s - 0.5,
                                  EMG_GAP_S)
    emg, background = waveforms.render_emg(grid.crop(grid.t_s), fs, onsets, durations,
                                           subject.emg_burst_mv, factors["noise_amplitude_mv"],
                                           rngs["noise"])
    return WindowResult(
        signals=emg[None], heart_rate_bpm=nan_target(n), resp_rate_bpm=nan_target(n),
        resp_phase_rad=nan_target(n),
        labels={"burst_number_count": float(count),
                "burst_duration_s": float(np.mean(durations)) if count else float("nan"),
                "noise_amplitude_mv": float(np.std(background))},
        events=interval_events("emg_burst", onsets, onsets + durations),
    )


SIMULATORS = {
    "ecg": simulate_ecg, "ppg": simulate_ppg, "rsp": simulate_rsp,
    "eda": simulate_eda, "emg": simulate_emg,
}


def simulate_single(kind: str, factors: dict[str, float], seed: int, fs: float, n: int
                    ) -> WindowResult:
    """Simulate one ``kind`` window of ``n`` samples at ``fs`` Hz with these factor values."""
    return SIMULATORS[kind](factors, seed, fs, n)
