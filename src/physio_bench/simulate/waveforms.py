"""Waveforms rendered on known events (see :mod:`physio_bench.simulate.rhythm`).

All renderers work on a uniform grid ``t_s = t0 + arange(n) / fs``.

ECG (mV): the wave model of ECGSYN (McSharry et al. 2003, IEEE TBME 50:289: P, Q, R, S
and T as Gaussian bumps), placed in *time* around each R peak instead of being stretched
with the RR interval: QRS and PR are fixed per subject, the T wave ends one QT after the
QRS onset with QT from the preceding RR by Fridericia's formula (``QT = QTc x
RR^(1/3)``), so only the T-P segment stretches with the rate. The T wave is an
asymmetric Gaussian (slower rise than fall); its end is taken 2.2 SDs after its peak.
Amplitudes are those of the subject's lead
(:func:`physio_bench.simulate.physiology.draw_ecg`); in V1 the P wave is biphasic.
Premature ventricular beats and ventricular escape beats are a wide biphasic QRS of the
subject's PVC polarity without a P wave and a discordant, wider T; premature atrial
beats have a normal QRS after their own P' wave. AF adds f-waves: narrow-band noise, a
sinusoid whose frequency (4.5-8 Hz) and amplitude wander slowly (0.05-0.3 Hz). Flutter
adds F waves (:func:`flutter_waves`): a continuous sawtooth without isoelectric baseline
whose slow limb takes 60-75 % of the cycle and whose fast limb the rest, rounded by a
12-ms Gaussian, not a steep step (typical counter-clockwise flutter in the inferior
leads: Cosio 2017, Arrhythm Electrophysiol Rev 6:55). Respiration modulates QRS and T
amplitudes (``1 + k m(t)``) and the baseline (``b m(t)`` mV), ``m`` being the breath's
normalised volume. Every Gaussian is widened by an anti-aliasing Gaussian of SD ``0.6 /
fs`` (4.8 ms at 125 Hz), so waves have no content worth mentioning above the Nyquist
frequency.

PPG (a.u.): one pulse per ventricular beat, its foot one pulse arrival time after the R
peak (:func:`pulse_arrival_times`: shorter at a faster heart rate, moved by breathing):
a systolic wave (asymmetric Gaussian: fixed upstroke time whatever the rate, its rising
SD half the foot-to-peak time, so that the tangent at the steepest upstroke meets the
baseline at the foot, as the intersecting-tangent definition of the foot has it; a wider
decay) and a reflected diastolic wave (the dicrotic notch lies between them). The
ejection-related widths (systolic decay, the reflected wave's delay and width) scale
with the left-ventricular ejection time, which shortens with the heart rate
(Weissler et al. 1968, Circulation 37:149: LVET = 415 - 1.65 HR ms, the mean of their
male and female regressions), taken from the preceding RR: at 140 bpm the pulse is
0.63 x as wide as at 75 bpm, at 45 bpm 1.17 x. The pulse height follows the filling
time relative to the recent rhythm (:func:`pulse_filling`): a beat after an RR much
shorter than the preceding beats' gives a small pulse or none (pulse deficit), one
after a pause a larger pulse (post-extrasystolic potentiation, at most 1.35 x), while
a steady fast rhythm keeps its pulse size. Breathing modulates pulse amplitude (RIAV)
through the intrathoracic pressure swing (:func:`resp_drive`): in spontaneous breathing
the pulse is smallest when pleural pressure is lowest (inspiration: the direction of
pulsus paradoxus, Hamzaoui et al. 2013, Eur Respir J 42:1696), under positive-pressure
ventilation it is largest at end-inspiration and smallest in expiration (Michard 2005,
Anesthesiology 103:419); the baseline (RIIV, peripheral venous volume) falls during
spontaneous inspiration and rises during a ventilator's (Nilsson 2013, Anesth Analg
117:859); the rate modulation (RIFV) is the RSA in the beat times.

Respiration (L): tidal volume x the breaths' volume-like signal (0 at end-expiration).

EDA (uS): tonic level + linear drift + skin conductance responses, each a bi-exponential
``exp(-t / tau_decay) - exp(-t / tau_rise)`` scaled to its amplitude at its peak (Alexander
et al. 2005; rise from onset to peak about 1-2.5 s, half-recovery 2-8 s).

EMG (mV): background white noise plus bursts of band-limited Gaussian noise (20 Hz up to
0.45 fs) under a Tukey envelope. At 125 Hz only 20-56 Hz of the surface-EMG band
(20-450 Hz) is representable: burst timing and amplitude envelope are faithful, the
spectrum (median frequency) is not.

Motion (:func:`body_motion`): one body-movement signal per window (movement episodes of
0.4-2 s) reaches every sensor at once, each with its own coupling (set by the sensor's
site, :data:`physio_bench.simulate.physiology.MOTION_COUPLING`), sign, lag (0-80 ms) and
transfer: displacement for the PPG, the belt and the electrode contact (ECG, plus the
high-frequency muscle noise of the movement), a skin-pressure bump for the EDA, and the
muscle activity itself (an EMG burst) for the EMG.
"""

from __future__ import annotations

import numpy as np

from physio_bench.simulate.physiology import EcgMorphology, PulseMorphology
from physio_bench.simulate.rhythm import Beats, spaced_onsets

#: RR interval (s) at which the PPG filling factor is 1, and below which no pulse ejects.
PULSE_REFERENCE_RR_S = 0.8
PULSE_MIN_RR_S = 0.25
#: The T wave ends this many (descending-limb) SDs after its peak.
T_END_SIGMAS = 2.2


def _widen(sigma: np.ndarray | float, fs: float) -> np.ndarray:
    return np.sqrt(np.asarray(sigma, float) ** 2 + (0.6 / fs) ** 2)


def bumps(
    n: int, t0_s: float, fs: float, centres_s: np.ndarray, amplitudes: np.ndarray,
    sigma_left_s: np.ndarray | float, sigma_right_s: np.ndarray | float | None = None,
) -> np.ndarray:
    """Sum of (asymmetric) Gaussian bumps on the grid, each evaluated within 4.5 SDs."""
    centres = np.asarray(centres_s, float)
    if centres.size == 0:
        return np.zeros(n)
    left = _widen(sigma_left_s, fs)
    right = left if sigma_right_s is None else _widen(sigma_right_s, fs)
    half = int(np.ceil(4.5 * max(float(np.max(left)), float(np.max(right))) * fs)) + 1
    position = (centres - t0_s) * fs
    base = np.round(position).astype(int)
    offsets = np.arange(-half, half + 1)
    idx = base[:, None] + offsets
    dt = ((base - position)[:, None] + offsets) / fs  # sample time minus centre (s)
    if left.ndim:
        left = left[:, None]
    if sigma_right_s is None:
        z = dt / left
    else:
        z = dt / np.where(dt < 0, left, right[:, None] if right.ndim else right)
    amps = np.asarray(amplitudes, float)
    values = (amps[:, None] if amps.ndim else amps) * np.exp(-0.5 * z * z)
    if base.min() - half >= 0 and base.max() + half < n:
        return np.bincount(idx.ravel(), weights=values.ravel(), minlength=n)
    ok = (idx >= 0) & (idx < n)
    return np.bincount(idx[ok], weights=values[ok], minlength=n)


def unit_band_noise(n: int, fs: float, low_hz: float, high_hz: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise band-limited to [low_hz, high_hz] (FFT mask), SD 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    x = np.fft.irfft(spectrum, n)
    sd = float(np.std(x))
    return x / sd if sd > 0 else x


def slow_wave(t_s: np.ndarray, rng: np.random.Generator, low_hz: float = 0.05,
              high_hz: float = 0.3) -> np.ndarray:
    """Unit-SD slow random wave: four sinusoids with random frequencies in the band."""
    freqs = rng.uniform(low_hz, high_hz, 4)
    phases = rng.uniform(0, 2 * np.pi, 4)
    return np.sqrt(2 / 4) * np.sin(2 * np.pi * freqs[:, None] * t_s + phases[:, None]).sum(0)


def qt_interval(morph: EcgMorphology, rr_prev_s: np.ndarray) -> np.ndarray:
    """QT (s) from the preceding RR by Fridericia: QTc x RR^(1/3)."""
    return morph.qtc_s * np.cbrt(np.asarray(rr_prev_s, float))


def render_ecg(
    t0_s: float, fs: float, n: int, beats: Beats, morph: EcgMorphology,
    modulation: np.ndarray, default_rr_s: float, rng: np.random.Generator,
    flutter_descent: float = 0.7,
) -> np.ndarray:
    """Noise-free ECG (mV) on the grid; ``modulation`` is the normalised breath volume,
    ``flutter_descent`` the slow limb's share of a flutter cycle."""
    t = t0_s + np.arange(n) / fs
    r = beats.r_s
    rr_prev = beats.preceding_rr(default_rr_s)
    gain = 1 + morph.resp_amplitude_frac * np.interp(r, t, modulation)
    ventricular = beats.classes == "V"
    normal = ~ventricular
    qrs = morph.qrs_s
    ecg = morph.resp_baseline_mv * modulation
    # QRS and T of normally conducted beats
    rn, gn, qt = r[normal], gain[normal], qt_interval(morph, rr_prev[normal])
    ecg += bumps(n, t0_s, fs, rn - 0.3 * qrs, morph.q_mv * gn, qrs / 10)
    ecg += bumps(n, t0_s, fs, rn, morph.r_mv * gn, qrs / 7)
    ecg += bumps(n, t0_s, fs, rn + 0.3 * qrs, morph.s_mv * gn, qrs / 9)
    t_peak = rn - qrs / 2 + qt - T_END_SIGMAS * morph.t_sigma_s
    ecg += bumps(n, t0_s, fs, t_peak, morph.t_mv * gn, morph.t_sigma_s * morph.t_rise_ratio,
                 morph.t_sigma_s)
    # premature ventricular beats: wide biphasic QRS, discordant wider T, no P
    if ventricular.any():
        rv, gv, wide = r[ventricular], gain[ventricular], morph.pvc_qrs_s
        ecg += bumps(n, t0_s, fs, rv, morph.pvc_mv * gv, wide / 4.5)
        ecg += bumps(n, t0_s, fs, rv + 0.45 * wide, -morph.pvc_second_ratio * morph.pvc_mv * gv,
                     wide / 5)
        qt_v = qt_interval(morph, rr_prev[ventricular]) + (wide - qrs)
        sigma_t = 1.3 * morph.t_sigma_s
        ecg += bumps(n, t0_s, fs, rv - wide / 2 + qt_v - T_END_SIGMAS * sigma_t,
                     -np.sign(morph.pvc_mv) * morph.pvc_t_mv * gv,
                     sigma_t * morph.t_rise_ratio, sigma_t)
    # P waves (sinus, ectopic P', blocked)
    if len(beats.p_onsets_s):
        ectopic = beats.p_kind == "ectopic"
        p_amp = np.where(ectopic, morph.pac_p_mv, morph.p_mv)
        ecg += bumps(n, t0_s, fs, beats.p_onsets_s + morph.p_duration_s / 2, p_amp,
                     morph.p_duration_s / 5)
        if morph.p_terminal_mv:  # V1: biphasic P (left-atrial terminal force)
            ecg += bumps(n, t0_s, fs, beats.p_onsets_s + morph.p_duration_s * 0.8,
                         np.where(ectopic, 0.0, morph.p_terminal_mv), morph.p_duration_s / 7)
    if beats.atrial == "af":
        ecg += fibrillatory_waves(t, morph.af_mv, rng)
    elif beats.atrial == "flutter":
        ecg += flutter_waves(t, beats.flutter_s, morph.flutter_mv, flutter_descent,
                             fs)
    return ecg


def fibrillatory_waves(t_s: np.ndarray, amplitude_mv: float, rng: np.random.Generator
                       ) -> np.ndarray:
    """AF f-waves: narrow-band noise around 4.5-8 Hz with slow FM (+-0.7 Hz) and AM (+-40 %)."""
    centre = rng.uniform(4.5, 8.0)
    freq = centre + 0.7 * np.clip(slow_wave(t_s, rng), -2, 2) / 2
    envelope = amplitude_mv * (1 + 0.4 * np.clip(slow_wave(t_s, rng), -2, 2) / 2)
    dt = np.diff(t_s, prepend=t_s[0])
    phase = 2 * np.pi * np.cumsum(freq * dt) + rng.uniform(0, 2 * np.pi)
    return envelope * np.sin(phase)


def flutter_waves(t_s: np.ndarray, onsets_s: np.ndarray, amplitude_mv: float,
                  descent: float = 0.7, fs: float | None = None) -> np.ndarray:
    """Flutter F waves: per atrial cycle a slow linear descent over ``descent`` of the
    cycle and a faster linear rise over the rest (peak-to-peak ``amplitude_mv``; no
    isoelectric segment), rounded by a Gaussian of SD 12 ms."""
    cycle = float(np.median(np.diff(onsets_s)))
    phase = np.mod((t_s - onsets_s[0]) / cycle, 1.0)
    saw = np.where(phase < descent, 0.5 - phase / descent,
                   -0.5 + (phase - descent) / (1 - descent))
    rate = fs if fs is not None else 1.0 / float(np.median(np.diff(t_s)))
    sigma = 0.012 * rate
    half = int(np.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    padded = np.pad(saw, half, mode="wrap")
    smooth = np.convolve(padded, kernel / kernel.sum(), mode="same")[half:-half]
    return amplitude_mv * smooth


#: Left-ventricular ejection time (ms) = LVET_INTERCEPT_MS - LVET_SLOPE_MS_PER_BPM x HR
#: (Weissler et al. 1968; mean of the male and female regressions), and the reference
#: heart rate (bpm) at which the subject's pulse widths and arrival time are drawn.
LVET_INTERCEPT_MS, LVET_SLOPE_MS_PER_BPM, REFERENCE_HR_BPM = 415.0, 1.65, 75.0
#: Preceding beats whose median RR is the reference of the filling factor.
FILLING_MEMORY_BEATS = 8
#: Largest pulse after a pause, relative to the rhythm's (post-extrasystolic potentiation).
MAX_FILLING = 1.35
#: Respiratory-system time constant R x C (s) in the pressure proxy of :func:`resp_drive`.
RESP_TIME_CONSTANT_S = 0.5


def ejection_scale(rr_prev_s: np.ndarray) -> np.ndarray:
    """LVET at the heart rate 60 / RR (clipped to 35-180 bpm) relative to LVET at 75 bpm."""
    hr = np.clip(60.0 / np.asarray(rr_prev_s, float), 35.0, 180.0)
    return ((LVET_INTERCEPT_MS - LVET_SLOPE_MS_PER_BPM * hr)
            / (LVET_INTERCEPT_MS - LVET_SLOPE_MS_PER_BPM * REFERENCE_HR_BPM))


def reference_rr(rr_prev_s: np.ndarray) -> np.ndarray:
    """Median of the :data:`FILLING_MEMORY_BEATS` RR intervals before each beat's own
    (intervals before the first beat count as the first beat's own RR)."""
    rr = np.asarray(rr_prev_s, float)
    if len(rr) == 0:
        return rr
    padded = np.concatenate([np.full(FILLING_MEMORY_BEATS, rr[0]), rr[:-1]])
    windows = np.lib.stride_tricks.sliding_window_view(padded, FILLING_MEMORY_BEATS)
    return np.median(windows, axis=1)


def pulse_filling(rr_prev_s: np.ndarray, tau_s: float,
                  reference_rr_s: np.ndarray | float = PULSE_REFERENCE_RR_S) -> np.ndarray:
    """Relative pulse height after an RR interval: filling ``1 - exp(-(RR - 0.25 s) /
    tau)`` (0 below 0.25 s) over the filling after the reference RR, at most
    :data:`MAX_FILLING`."""
    def fill(rr: np.ndarray | float) -> np.ndarray:
        return 1 - np.exp(-np.clip(np.asarray(rr, float) - PULSE_MIN_RR_S, 0, None) / tau_s)

    ref = np.maximum(fill(reference_rr_s), 1e-6)
    return np.minimum(fill(rr_prev_s) / ref, MAX_FILLING)


def resp_drive(volume: np.ndarray, fs: float) -> np.ndarray:
    """Intrathoracic pressure swing as a modulating signal (-1..1): the equation of motion
    of the respiratory system, pressure = V / C + R x flow, i.e. volume plus
    :data:`RESP_TIME_CONSTANT_S` x flow, mapped so that its 2nd and 98th percentiles over
    the grid are -1 and 1. It is high through inspiration (volume rising, flow
    inspiratory) and low through expiration, so inspiration and expiration differ on
    average, unlike the volume itself."""
    drive = volume + RESP_TIME_CONSTANT_S * np.gradient(volume) * fs
    lo, hi = np.percentile(drive, [2, 98])
    if hi - lo <= 1e-12:
        return np.zeros(len(volume))
    return 2 * (drive - lo) / (hi - lo) - 1


def pulse_arrival_times(r_s: np.ndarray, rr_prev_s: np.ndarray, pulse: PulseMorphology,
                        drive_at_r: np.ndarray, breathing_sign: float,
                        resp_scale: float = 1.0,
                        reference_rr_s: np.ndarray | None = None) -> np.ndarray:
    """Pulse arrival time (R peak to pulse foot, s) of each beat: the subject's PAT at
    75 bpm, plus its slope times (heart rate - 75 bpm), the heart rate being 60 over the
    median of the recent RR intervals (:func:`reference_rr`), plus
    ``breathing_sign x resp_scale x arrival_resp_s x drive``: +1 in spontaneous
    breathing (longer PAT while pleural pressure falls), -1 under positive-pressure
    ventilation (shorter while airway pressure rises)."""
    ref = reference_rr(rr_prev_s) if reference_rr_s is None else reference_rr_s
    hr = 60.0 / ref
    pat = (pulse.arrival_s + pulse.arrival_hr_slope_s_per_bpm * (hr - REFERENCE_HR_BPM)
           + breathing_sign * resp_scale * pulse.arrival_resp_s * drive_at_r)
    return np.clip(pat, 0.08, None)


def render_ppg(
    t0_s: float, fs: float, n: int, beats: Beats, pulse: PulseMorphology,
    modulation: np.ndarray, default_rr_s: float, amplitude_scale: np.ndarray | float = 1.0,
    resp_amplitude_frac: float | None = None, drive: np.ndarray | None = None,
    breathing_sign: float = 1.0, arrival_s: np.ndarray | None = None,
    reference_rr_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free PPG (a.u.), pulse feet (s) and systolic peak times (s), one per beat.

    ``modulation`` (normalised volume) moves the baseline (RIIV, the peripheral venous
    blood volume: it falls while spontaneous inspiration draws blood to the chest and
    rises while a ventilator's inspiration impedes venous return: Nilsson 2013, Anesth
    Analg 117:859), scaled by the pulse's mean size; ``drive`` (the pressure swing
    of :func:`resp_drive`; default: ``modulation``) the amplitude, by
    ``1 - breathing_sign x riav / 2 x drive``, so that ``riav`` (default: the subject's) is
    the peak-to-peak respiratory pulse-amplitude variation over the mean (the ΔPOP of
    Cannesson et al. 2005); ``breathing_sign`` is +1 for spontaneous breathing (smaller
    pulses in inspiration), -1 under positive-pressure ventilation.
    ``arrival_s``: per-beat arrival times (default: the subject's constant PAT);
    ``reference_rr_s``: :func:`reference_rr` of the beats, if already known.
    """
    t = t0_s + np.arange(n) / fs
    rr_prev = beats.preceding_rr(default_rr_s)
    arrival = pulse.arrival_s if arrival_s is None else np.asarray(arrival_s, float)
    feet = beats.r_s + arrival
    riav = pulse.resp_amplitude_frac if resp_amplitude_frac is None else resp_amplitude_frac
    drive = modulation if drive is None else drive
    scale = np.broadcast_to(np.asarray(amplitude_scale, float), feet.shape)
    amps = (pulse.amplitude_au * scale
            * pulse_filling(rr_prev, pulse.filling_tau_s,
                            reference_rr(rr_prev) if reference_rr_s is None else reference_rr_s)
            * (1 - breathing_sign * riav / 2 * np.interp(feet, t, drive)))
    width = ejection_scale(rr_prev)
    peaks = feet + pulse.rise_s
    ppg = (-breathing_sign * pulse.resp_baseline_frac * pulse.amplitude_au
           * float(np.mean(scale)) * modulation)
    ppg += bumps(n, t0_s, fs, peaks, amps, pulse.rise_s / 2, pulse.decay_sigma_s * width)
    ppg += bumps(n, t0_s, fs, peaks + pulse.diastolic_delay_s * width,
                 pulse.diastolic_ratio * amps, pulse.diastolic_sigma_s * width)
    return ppg, feet, peaks


def render_eda(
    t_s: np.ndarray, tonic_us: float, drift_us_per_s: float, onsets_s: np.ndarray,
    amplitudes_us: np.ndarray, rise_tau_s: float, decay_tau_s: float,
) -> np.ndarray:
    """Skin conductance (uS): tonic + drift x t + bi-exponential SCRs."""
    eda = tonic_us + drift_us_per_s * t_s
    peak = scr_peak_time(rise_tau_s, decay_tau_s)
    norm = np.exp(-peak / decay_tau_s) - np.exp(-peak / rise_tau_s)
    for onset, amp in zip(onsets_s, amplitudes_us, strict=True):
        after = t_s >= onset
        tau = t_s[after] - onset
        eda[after] += amp * (np.exp(-tau / decay_tau_s) - np.exp(-tau / rise_tau_s)) / norm
    return eda


def scr_peak_time(rise_tau_s: float, decay_tau_s: float) -> float:
    """Onset-to-peak time (s) of the bi-exponential SCR."""
    return float(rise_tau_s * decay_tau_s * np.log(decay_tau_s / rise_tau_s)
                 / (decay_tau_s - rise_tau_s))


def render_emg(
    t_s: np.ndarray, fs: float, onsets_s: np.ndarray, durations_s: np.ndarray,
    burst_mv: float, noise_mv: float, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """EMG (mV) and its background noise alone: white noise of SD ``noise_mv`` plus bursts
    (SD ``burst_mv`` in their plateau) of noise band-limited to 20 Hz..0.45 fs."""
    n = len(t_s)
    background = noise_mv * rng.standard_normal(n)
    low = min(20.0, 0.25 * fs)
    carrier = unit_band_noise(n, fs, low, 0.45 * fs, rng)
    envelope = np.zeros(n)
    for onset, duration in zip(onsets_s, durations_s, strict=True):
        inside = (t_s >= onset) & (t_s < onset + duration)
        frac = (t_s[inside] - onset) / duration
        taper = 0.2
        env = np.ones(inside.sum())
        rise, fall = frac < taper / 2, frac > 1 - taper / 2
        env[rise] = 0.5 * (1 - np.cos(2 * np.pi * frac[rise] / taper))
        env[fall] = 0.5 * (1 - np.cos(2 * np.pi * (1 - frac[fall]) / taper))
        envelope[inside] = np.maximum(envelope[inside], env)
    return background + burst_mv * envelope * carrier, background


def body_motion(
    n: int, fs: float, rng: np.random.Generator, episodes: int, span_s: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """One window's body movement: ``episodes`` movement episodes (0.4-2 s, at random in
    ``span_s``, at least 1 s apart), each a Hann-windowed 0.5-3 Hz displacement, half of
    them with a change of posture (the baseline settles elsewhere); returns the
    displacement (about unit peak), its envelope (0..1) and the episodes'
    ``(start_s, stop_s)`` relative to the grid's first sample."""
    x = np.zeros(n)
    envelope = np.zeros(n)
    spans = []
    band = unit_band_noise(n, fs, 0.5, min(3.0, 0.45 * fs), rng)
    widths = rng.uniform(0.4, 2.0, episodes)
    for start, width in zip(spaced_onsets(rng, widths, span_s[0], span_s[1], 1.0), widths,
                            strict=True):
        i0, i1 = int(start * fs), int((start + width) * fs)
        hann = np.hanning(i1 - i0)
        x[i0:i1] += rng.uniform(0.6, 1.0) * hann * band[i0:i1] / max(
            float(np.max(np.abs(band[i0:i1]))), 1e-9)
        if rng.uniform() < 0.5:  # a change of posture: the baseline settles elsewhere
            shift = rng.uniform(-0.5, 0.5)
            x[i0:i1] += shift * np.cumsum(hann) / hann.sum()
            x[i1:] += shift
        envelope[i0:i1] = np.maximum(envelope[i0:i1], hann)
        spans.append((i0 / fs, i1 / fs))
    return x, envelope, spans


def coupled_artifact(
    channel: str, motion: np.ndarray, envelope: np.ndarray, fs: float, scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The artefact body motion leaves in one sensor: ``scale`` x (coupling set by the
    site) x the sensor's transfer of the movement, with a random sign and a 0-80 ms lag.
    ECG: electrode contact moves with the skin (the displacement) plus the movement's
    muscle noise (20 Hz..0.45 fs); PPG and RSP: the displacement; EDA: a skin-pressure
    bump (always a rise in conductance); EMG: the muscle activity of the movement
    (band-limited noise under the movement's envelope)."""
    lag = int(rng.uniform(0, 0.08) * fs)
    m = np.roll(motion, lag)
    env = np.roll(envelope, lag)
    m[:lag], env[:lag] = 0.0, 0.0
    sign = rng.choice([-1.0, 1.0])
    if channel == "eda":  # a causal skin-pressure response (Hann, 1 s) to the movement
        return scale * np.convolve(env, np.hanning(int(fs)) / (0.5 * fs))[:len(env)]
    if channel in ("emg", "ecg"):
        noise = unit_band_noise(len(m), fs, min(20.0, 0.25 * fs), 0.45 * fs, rng) * env
        if channel == "emg":
            return scale * noise
        return scale * (sign * m + 0.15 * noise)
    return scale * sign * m
