"""A simulated person: morphology and physiology drawn once, from the subject's own seed.

Every window of a subject (in every class it appears in) shares these values, so a
subject is recognisable across its state changes while classes differ by what the
class changes (rates, rhythm, modulation strengths). Ranges are uniform draws and
follow adult resting values from standard physiology texts; units in the names:

- ECG (mV, s): one **lead** per subject among the real datasets' leads (MIT-BIH: MLII
  and V1; BIDMC: II and aVR), its wave amplitudes projected from the subject's
  frontal-plane **electrical axes** (:func:`draw_ecg`); PR interval, QRS duration
  (0.065-0.11 s), P duration, QTc (Fridericia, at RR = 1 s), T-wave widths; the
  subject's premature-beat morphologies (PVC: wide QRS of one polarity with a
  discordant T; PAC: a P' wave of at least half the sinus P's size, upright or
  inverted; the coupling fraction of the RR interval at which each comes); f-wave (AF)
  and F-wave (flutter) amplitudes; respiratory modulation of QRS/T amplitude (fraction)
  and of the baseline (mV).
- PPG (arbitrary units, a.u., like a pulse oximeter's plethysmogram): pulse amplitude,
  log-uniform over 0.4-3.5 a.u. (the peripheral perfusion index of healthy adults spans
  more than a decade, 0.3-10 %: Lima et al. 2002, Crit Care Med 30:1210), pulse arrival
  time (R peak to pulse foot) at 75 bpm and its change with heart rate and breathing,
  upstroke time, systolic decay width, reflected (diastolic) wave delay, ratio and
  width (the dicrotic notch lies between the two waves), filling time constant (pulse
  height from the preceding RR), respiratory amplitude (RIAV, peak-to-peak 4-12 % of the
  pulse: the pleth variability of spontaneously breathing adults) and baseline (RIIV)
  modulation, relative to the pulse amplitude.
- Respiration (litres): tidal volume, its breath-to-breath variation, inspiratory
  fraction of the breath, breath-length jitter (bounded, see ``BREATH_JITTER_MAX``).
- HRV: LF (Mayer-wave) SD and frequency, RSA gain; heart-rate step time constant.
- EDA (uS): tonic level, SCR amplitude and rise/decay time constants.
- EMG (mV): burst amplitude, background noise.
- Sensor noise per channel in the channel's unit; how strongly body motion couples
  into each sensor (:data:`MOTION_COUPLING`, set by where the sensor sits).
- Quantiles that place the subject inside every class's heart- and breathing-rate
  range (a subject with a fast heart is fast in every state).

Pulse arrival time (PAT = pre-ejection period + pulse transit time) shortens as the
heart rate rises: the pre-ejection period alone by about 0.4 ms/bpm (Weissler et al.
1968, Circulation 37:149: PEP = 131 - 0.4 HR ms), the transit time by more as the
pressure rises with the rate (Payne et al. 2006, J Appl Physiol 100:136, where PEP is
12-35 % of PAT); here 0.6-1.5 ms/bpm in all. Breathing moves PAT by a few ms
(Drinnan et al. 2001, Physiol Meas 22:425): longer during spontaneous inspiration, when
arterial pressure falls, shorter during a ventilator's inspiration, when it rises
(:func:`physio_bench.simulate.waveforms.pulse_arrival_times`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest relative deviation of one breath's length from the rate's period. Bounded so
#: that a 32-s window holds 3 breath onsets even at 6 breaths/min (3 x 10.6 s < 32 s).
BREATH_JITTER_MAX = 0.06

#: The ECG leads of the shipped real recordings (MIT-BIH MLII and V1, BIDMC II and aVR),
#: the probability that a subject is recorded with each, and the frontal-plane angle of
#: the limb leads (hexaxial reference system; MLII, the Holter lead of MIT-BIH, is
#: placed to approximate lead II: Moody & Mark 2001, IEEE EMB Mag 20:45).
LEADS = ("MLII", "II", "V1", "aVR")
LEAD_PROBABILITY = (0.3, 0.3, 0.2, 0.2)
LEAD_ANGLE_DEG = {"MLII": 60.0, "II": 60.0, "aVR": -150.0}
#: Normal adult frontal QRS axis (AHA/ACCF/HRS: Surawicz et al. 2009, Circulation
#: 119:e235): -30 to +90 degrees; P axis 0-75; T axis 0-75 (upright T in II, inverted in aVR).
QRS_AXIS_DEG = (-30.0, 90.0)
P_AXIS_DEG = (0.0, 75.0)
T_AXIS_DEG = (0.0, 75.0)
#: Subjects whose T axis points away from the QRS axis (T-wave inversion in lead II:
#: a common non-specific finding in monitored patients).
T_INVERTED_FRACTION = 0.1

#: Motion coupling by sensor site: artefact amplitude per unit of body motion, relative to
#: each channel's typical amplitude (R wave, pulse, tidal volume, SCR, EMG burst). The
#: fingertip PPG probe is the most motion-sensitive sensor and skin conductance at the
#: fingers the least; chest electrodes move with the skin (electrode-motion artefact);
#: a thoracic belt or impedance pneumograph records trunk movement as breathing
#: (Allen 2007, Physiol Meas 28:R1; Tong et al. 1997 for electrode motion;
#: Boucsein 2012 for EDA); EMG records the muscle activity that moves the body.
SENSOR_SITES = {"ecg": "chest electrodes", "ppg": "fingertip probe",
                "rsp": "thoracic belt / impedance", "eda": "finger electrodes",
                "emg": "limb muscle"}
MOTION_COUPLING = {"ecg": (0.3, 0.7), "ppg": (0.8, 1.4), "rsp": (0.5, 1.0),
                   "eda": (0.1, 0.3), "emg": (0.6, 1.2)}


@dataclass(frozen=True)
class EcgMorphology:
    """One ECG lead of one subject (amplitudes in mV, times in s, angles in degrees)."""

    lead: str
    axis_deg: float
    pr_s: float
    qrs_s: float
    p_duration_s: float
    qtc_s: float
    p_mv: float
    p_terminal_mv: float
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
    pac_p_mv: float
    pac_pr_s: float
    pac_coupling: float
    af_mv: float
    flutter_mv: float
    resp_amplitude_frac: float
    resp_baseline_mv: float

    @property
    def qrs_peak_mv(self) -> float:
        """The largest QRS deflection's absolute size (mV): R or S, whichever is larger."""
        return float(max(abs(self.r_mv), abs(self.s_mv), abs(self.q_mv)))

    @property
    def t_polarity(self) -> float:
        """+1 for an upright T wave in this lead, -1 for an inverted one."""
        return 1.0 if self.t_mv >= 0 else -1.0


@dataclass(frozen=True)
class PulseMorphology:
    """The subject's photoplethysmogram (a.u.; times in s)."""

    amplitude_au: float
    arrival_s: float
    arrival_hr_slope_s_per_bpm: float
    arrival_resp_s: float
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
    motion_coupling: tuple[float, float, float, float, float]


def _cos(deg: float) -> float:
    return float(np.cos(np.deg2rad(deg)))


def draw_ecg(rng: np.random.Generator) -> EcgMorphology:
    """One subject's ECG morphology in its lead.

    Limb leads (MLII, II, aVR): each wave's amplitude is its frontal-plane vector
    projected on the lead axis (Einthoven's hexaxial system, electrode placement
    jittered by 10 degrees). The QRS loop is an ellipse rather than a line (its width
    25-40 % of its length), so a lead at right angles to the QRS axis records a small
    equiphasic RS complex, a lead along it a tall R (or, in aVR, a deep S with a small
    r): ``r = M (max(c, 0) + w (1 - |c|))``, ``s = -M (max(-c, 0) + w' (1 - |c|)) -
    terminal S``, with ``c`` the cosine of the angle between QRS axis and lead. P and T
    are projected the same way (upright in II, inverted in aVR; 10 % of subjects have a
    T axis turned away from the QRS axis: inverted T in II). V1 (horizontal plane, not
    set by the frontal axis) has its usual rS complex (small r, deep S), a biphasic P
    (positive, then a negative terminal part) and a T wave that is inverted in about
    half of normal adults.
    """
    u = rng.uniform
    lead = str(rng.choice(LEADS, p=LEAD_PROBABILITY))
    axis = u(*QRS_AXIS_DEG)
    qrs_mag, p_mag, t_mag = u(0.8, 2.2), u(0.1, 0.25), u(0.2, 0.55)
    p_terminal = 0.0
    if lead == "V1":
        r = qrs_mag * u(0.1, 0.35)
        s = -qrs_mag * u(0.5, 1.0)
        q = 0.0
        p = p_mag * u(0.4, 0.8)
        p_terminal = -p_mag * u(0.3, 0.7)
        t = t_mag * u(0.25, 0.6) * (1.0 if u() < 0.5 else -1.0)
    else:
        angle = LEAD_ANGLE_DEG[lead] + rng.normal(0, 10)
        c = _cos(axis - angle)
        width = u(0.25, 0.4)
        r = qrs_mag * (max(c, 0.0) + width * (1 - abs(c)))
        s = -qrs_mag * (max(-c, 0.0) + u(0.6, 1.0) * width * (1 - abs(c)) + u(0.05, 0.2))
        q = -qrs_mag * u(0.02, 0.1) * max(c, 0.0)
        p_axis = u(*P_AXIS_DEG)
        p = p_mag * _cos(p_axis - angle)
        p = float(np.sign(p) or 1.0) * max(abs(p), 0.35 * p_mag)
        t_axis = u(*T_AXIS_DEG)
        if u() < T_INVERTED_FRACTION:
            t_axis += 180.0
        t = t_mag * _cos(t_axis - angle)
        t = float(np.sign(t) or 1.0) * max(abs(t), 0.3 * t_mag)
    pac_sign = 1.0 if u() < 0.7 else -1.0  # high (upright P') or low atrial focus
    return EcgMorphology(
        lead=lead, axis_deg=float(axis),
        pr_s=u(0.12, 0.20), qrs_s=u(0.065, 0.11), p_duration_s=u(0.08, 0.11),
        qtc_s=u(0.37, 0.44), p_mv=float(p), p_terminal_mv=float(p_terminal), q_mv=float(q),
        r_mv=float(r), s_mv=float(s), t_mv=float(t), t_sigma_s=u(0.035, 0.055),
        t_rise_ratio=u(1.3, 1.8),
        pvc_qrs_s=u(0.12, 0.17), pvc_mv=float(rng.choice([-1.0, 1.0])) * u(0.8, 1.8),
        pvc_second_ratio=u(0.2, 0.5), pvc_t_mv=u(0.2, 0.5), pvc_coupling=u(0.55, 0.75),
        pac_p_mv=pac_sign * u(0.6, 1.0) * max(abs(p), 0.1), pac_pr_s=u(0.10, 0.16),
        pac_coupling=u(0.55, 0.75),
        af_mv=u(0.03, 0.10), flutter_mv=u(0.10, 0.25),
        resp_amplitude_frac=u(0.03, 0.15), resp_baseline_mv=u(0.02, 0.12),
    )


def draw_pulse(rng: np.random.Generator) -> PulseMorphology:
    """One subject's PPG pulse shape and modulation strengths."""
    u = rng.uniform
    return PulseMorphology(
        amplitude_au=float(np.exp(u(np.log(0.4), np.log(3.5)))), arrival_s=u(0.15, 0.28),
        arrival_hr_slope_s_per_bpm=-u(0.0006, 0.0015), arrival_resp_s=u(0.002, 0.008),
        rise_s=u(0.09, 0.16),
        decay_sigma_s=u(0.08, 0.13), diastolic_delay_s=u(0.22, 0.32),
        diastolic_ratio=u(0.25, 0.55), diastolic_sigma_s=u(0.07, 0.11),
        filling_tau_s=u(0.15, 0.25), resp_amplitude_frac=u(0.04, 0.12),
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
        motion_coupling=tuple(float(u(*MOTION_COUPLING[c])) for c in MOTION_COUPLING),
    )


def rsa_sd_bpm(subject: Subject, resp_rate_bpm: float) -> float:
    """SD (bpm) of the respiratory sinus arrhythmia at this breathing rate.

    RSA amplitude falls with breathing frequency (vagal low-pass; Hirsch & Bishop 1981):
    gain / sqrt(1 + (f / 0.15 Hz)^2), ``rsa_gain_bpm`` being the SD at slow breathing.
    """
    f_hz = resp_rate_bpm / 60.0
    return float(subject.rsa_gain_bpm / np.sqrt(1.0 + (f_hz / 0.15) ** 2))
