"""A simulated person: morphology and physiology drawn once, from the subject's own seed.

Every window of a subject (in every class it appears in) shares these values, so a
subject is recognisable across its state changes while classes differ by what the
class changes (rates, rhythm, modulation strengths). Ranges are uniform draws and
follow adult resting values from standard physiology texts; units in the names:

- ECG (mV, s): PR interval, QRS duration, P duration, QTc (Fridericia, at RR = 1 s),
  wave amplitudes (P, Q, R, S, T: "axis and amplitudes" of one lead), T-wave widths;
  the subject's premature-beat morphologies (PVC: wide QRS of one polarity with a
  discordant T; PAC: its own P' amplitude and PR'; the coupling fraction of the RR
  interval at which each comes); f-wave (AF) and F-wave (flutter)
  amplitudes; respiratory modulation of QRS/T amplitude (fraction) and of the baseline
  (mV).
- PPG (arbitrary units, a.u., like a pulse oximeter's plethysmogram): pulse amplitude,
  pulse arrival time (R peak to pulse foot), upstroke time, systolic decay width,
  reflected (diastolic) wave delay, ratio and width (the dicrotic notch lies between
  the two waves), filling time constant (pulse height from the preceding RR),
  respiratory amplitude (RIAV) and baseline (RIIV) modulation, relative to the pulse
  amplitude.
- Respiration (litres): tidal volume, its breath-to-breath variation, inspiratory
  fraction of the breath, breath-length jitter (bounded, see ``BREATH_JITTER_MAX``).
- HRV: LF (Mayer-wave) SD and frequency, RSA gain; heart-rate step time constant.
- EDA (uS): tonic level, SCR amplitude and rise/decay time constants.
- EMG (mV): burst amplitude, background noise.
- Sensor noise per channel in the channel's unit.
- Quantiles that place the subject inside every class's heart- and breathing-rate
  range (a subject with a fast heart is fast in every state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest relative deviation of one breath's length from the rate's period. Bounded so
#: that a 32-s window holds 3 breath onsets even at 6 breaths/min (3 x 10.6 s < 32 s).
BREATH_JITTER_MAX = 0.06


@dataclass(frozen=True)
class EcgMorphology:
    """One ECG lead of one subject (amplitudes in mV, times in s)."""

    pr_s: float
    qrs_s: float
    p_duration_s: float
    qtc_s: float
    p_mv: float
    q_mv: float
    r_mv: float
    s_mv: float
    t_mv: float
    t_sigma_s: float
    t_rise_ratio: float
    pvc_qrs_s: float
    pvc_mv: float
    pvc_second_ratio: float
    pvc_t_mv: float
    pvc_coupling: float
    pac_p_ratio: float
    pac_pr_s: float
    pac_coupling: float
    af_mv: float
    flutter_mv: float
    resp_amplitude_frac: float
    resp_baseline_mv: float


@dataclass(frozen=True)
class PulseMorphology:
    """The subject's photoplethysmogram (a.u.; times in s)."""

    amplitude_au: float
    arrival_s: float
    rise_s: float
    decay_sigma_s: float
    diastolic_delay_s: float
    diastolic_ratio: float
    diastolic_sigma_s: float
    filling_tau_s: float
    resp_amplitude_frac: float
    resp_baseline_frac: float


@dataclass(frozen=True)
class Subject:
    """Everything fixed about one simulated person."""

    ecg: EcgMorphology
    pulse: PulseMorphology
    heart_rate_quantile: float
    resp_rate_quantile: float
    lf_sd_bpm: float
    mayer_hz: float
    rsa_gain_bpm: float
    step_tau_s: float
    tidal_volume_l: float
    tidal_cv: float
    inspiration_fraction: float
    breath_jitter: float
    eda_tonic_us: float
    scr_amplitude_us: float
    scr_rise_tau_s: float
    scr_decay_tau_s: float
    emg_burst_mv: float
    emg_noise_mv: float
    ecg_noise_mv: float
    ppg_noise_au: float
    rsp_noise_l: float
    eda_noise_us: float


def draw_ecg(rng: np.random.Generator) -> EcgMorphology:
    """One subject's ECG morphology."""
    u = rng.uniform
    return EcgMorphology(
        pr_s=u(0.12, 0.20), qrs_s=u(0.07, 0.10), p_duration_s=u(0.08, 0.11), qtc_s=u(0.37, 0.44),
        p_mv=u(0.08, 0.25), q_mv=-u(0.02, 0.15), r_mv=u(0.6, 1.8), s_mv=-u(0.1, 0.5),
        t_mv=u(0.15, 0.45), t_sigma_s=u(0.035, 0.055), t_rise_ratio=u(1.3, 1.8),
        pvc_qrs_s=u(0.12, 0.17), pvc_mv=float(rng.choice([-1.0, 1.0])) * u(0.8, 1.8),
        pvc_second_ratio=u(0.2, 0.5), pvc_t_mv=u(0.2, 0.5), pvc_coupling=u(0.55, 0.75),
        pac_p_ratio=u(-0.6, 0.7), pac_pr_s=u(0.10, 0.16), pac_coupling=u(0.6, 0.8),
        af_mv=u(0.03, 0.10), flutter_mv=u(0.10, 0.25),
        resp_amplitude_frac=u(0.03, 0.15), resp_baseline_mv=u(0.02, 0.12),
    )


def draw_pulse(rng: np.random.Generator) -> PulseMorphology:
    """One subject's PPG pulse shape and modulation strengths."""
    u = rng.uniform
    return PulseMorphology(
        amplitude_au=u(0.6, 1.6), arrival_s=u(0.15, 0.28), rise_s=u(0.09, 0.16),
        decay_sigma_s=u(0.08, 0.13), diastolic_delay_s=u(0.22, 0.32),
        diastolic_ratio=u(0.25, 0.55), diastolic_sigma_s=u(0.07, 0.11),
        filling_tau_s=u(0.15, 0.25), resp_amplitude_frac=u(0.02, 0.10),
        resp_baseline_frac=u(0.05, 0.25),
    )


def draw_subject(seed: int) -> Subject:
    """The subject whose seed is ``seed`` (same seed, same subject)."""
    rng = np.random.default_rng(seed)
    ecg = draw_ecg(rng)
    pulse = draw_pulse(rng)
    u = rng.uniform
    return Subject(
        ecg=ecg, pulse=pulse, heart_rate_quantile=u(0, 1), resp_rate_quantile=u(0, 1),
        lf_sd_bpm=u(1.0, 3.5), mayer_hz=u(0.08, 0.12), rsa_gain_bpm=u(2.0, 6.0),
        step_tau_s=u(2.0, 5.0), tidal_volume_l=u(0.35, 0.8), tidal_cv=u(0.03, 0.10),
        inspiration_fraction=u(0.35, 0.45), breath_jitter=u(0.02, BREATH_JITTER_MAX),
        eda_tonic_us=u(2.0, 12.0), scr_amplitude_us=u(0.2, 0.8), scr_rise_tau_s=u(0.5, 1.2),
        scr_decay_tau_s=u(2.5, 7.0), emg_burst_mv=u(0.2, 0.8), emg_noise_mv=u(0.005, 0.02),
        ecg_noise_mv=u(0.005, 0.03), ppg_noise_au=u(0.005, 0.02), rsp_noise_l=u(0.005, 0.02),
        eda_noise_us=u(0.002, 0.01),
    )


def rsa_sd_bpm(subject: Subject, resp_rate_bpm: float) -> float:
    """SD (bpm) of the respiratory sinus arrhythmia at this breathing rate.

    RSA amplitude falls with breathing frequency (vagal low-pass; Hirsch & Bishop 1981):
    gain / sqrt(1 + (f / 0.15 Hz)^2), ``rsa_gain_bpm`` being the SD at slow breathing.
    """
    f_hz = resp_rate_bpm / 60.0
    return float(subject.rsa_gain_bpm / np.sqrt(1.0 + (f_hz / 0.15) ** 2))
