"""Waveforms rendered on known events (see :mod:`physio_bench.simulate.rhythm`).

All renderers work on a uniform grid ``t_s = t0 + arange(n) / fs``.

ECG (mV): the wave model of ECGSYN (McSharry et al. 2003, IEEE TBME 50:289: P, Q, R, S
and T as Gaussian bumps), placed in *time* around each R peak instead of being
stretched with the RR interval: QRS and PR are fixed per subject, the T wave ends one
QT after the QRS onset with QT from the preceding RR by Fridericia's formula
(``QT = QTc x RR^(1/3)``), so only the T-P segment stretches with the rate. The T wave
is an asymmetric Gaussian (slower rise than fall); its end is taken 2.2 SDs after its
peak. Premature ventricular beats are a wide biphasic QRS of the subject's PVC polarity
without a P wave and a discordant, wider T; premature atrial beats have a normal QRS
after their own P' wave. AF adds f-waves: narrow-band noise, a sinusoid whose frequency
(4.5-8 Hz) and amplitude wander slowly (0.05-0.3 Hz). Flutter adds sawtooth F-waves
(five harmonics). Respiration modulates QRS and T amplitudes (``1 + k m(t)``) and the
baseline (``b m(t)`` mV), ``m`` being the breath's normalised volume. Every Gaussian is
widened by an anti-aliasing Gaussian of SD ``0.6 / fs`` (4.8 ms at 125 Hz), so waves have
no content worth mentioning above the Nyquist frequency.

PPG (a.u.): one pulse per ventricular beat, its foot one pulse arrival time after the R
peak: a systolic wave (asymmetric Gaussian: fixed upstroke time whatever the rate, a
wider decay) and a reflected diastolic wave (the dicrotic notch lies between them). The
pulse height follows the preceding RR interval (ventricular filling,
``1 - exp(-(RR - 0.25 s) / tau)``, normalised at RR = 0.8 s): very short RR intervals
give small or no pulses (pulse deficit), long pauses larger ones. Respiration modulates
pulse amplitude (RIAV) and baseline (RIIV); the rate modulation (RIFV) is the RSA in the
beat times.

Respiration (L): tidal volume x the breaths' volume-like signal (0 at end-expiration).

EDA (uS): tonic level + linear drift + skin conductance responses, each a bi-exponential
``exp(-t / tau_decay) - exp(-t / tau_rise)`` scaled to its amplitude at its peak (Alexander
et al. 2005; rise from onset to peak about 1-2.5 s, half-recovery 2-8 s).

EMG (mV): background white noise plus bursts of band-limited Gaussian noise (20 Hz up to
0.45 fs) under a Tukey envelope. At 125 Hz only 20-56 Hz of the surface-EMG band
(20-450 Hz) is representable: burst timing and amplitude envelope are faithful, the
spectrum (median frequency) is not.
"""

from __future__ import annotations

import numpy as np

from physio_bench.simulate.physiology import EcgMorphology, PulseMorphology
from physio_bench.simulate.rhythm import Beats

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
    out = np.zeros(n)
    if centres.size == 0:
        return out
    amps = np.broadcast_to(np.asarray(amplitudes, float), centres.shape)
    left = np.broadcast_to(_widen(sigma_left_s, fs), centres.shape)
    right = left if sigma_right_s is None else np.broadcast_to(
        _widen(sigma_right_s, fs), centres.shape)
    half = int(np.ceil(4.5 * max(left.max(), right.max()) * fs)) + 1
    base = np.round((centres - t0_s) * fs).astype(int)
    idx = base[:, None] + np.arange(-half, half + 1)[None, :]
    dt = t0_s + idx / fs - centres[:, None]
    sigma = np.where(dt < 0, left[:, None], right[:, None])
    values = amps[:, None] * np.exp(-0.5 * (dt / sigma) ** 2)
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
) -> np.ndarray:
    """Noise-free ECG (mV) on the grid; ``modulation`` is the normalised breath volume."""
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
        p_amp = np.where(beats.p_kind == "ectopic", morph.pac_p_ratio * morph.p_mv, morph.p_mv)
        ecg += bumps(n, t0_s, fs, beats.p_onsets_s + morph.p_duration_s / 2, p_amp,
                     morph.p_duration_s / 5)
    if beats.atrial == "af":
        ecg += fibrillatory_waves(t, morph.af_mv, rng)
    elif beats.atrial == "flutter":
        ecg += flutter_waves(t, beats.flutter_s, morph.flutter_mv)
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


def flutter_waves(t_s: np.ndarray, onsets_s: np.ndarray, amplitude_mv: float) -> np.ndarray:
    """Sawtooth F waves (slow descent, fast rise; five harmonics), one per atrial cycle."""
    cycle = float(np.median(np.diff(onsets_s)))
    phase = (t_s - onsets_s[0]) / cycle
    h = np.arange(1, 6)[:, None]
    saw = (2 / np.pi) * ((-1.0) ** (h + 1) * np.sin(2 * np.pi * h * (phase + 0.5)) / h).sum(0)
    return -amplitude_mv * saw


def pulse_filling(rr_prev_s: np.ndarray, tau_s: float) -> np.ndarray:
    """Relative pulse height after an RR interval: 0 below 0.25 s, 1 at 0.8 s."""
    def fill(rr: np.ndarray | float) -> np.ndarray:
        return 1 - np.exp(-np.clip(np.asarray(rr, float) - PULSE_MIN_RR_S, 0, None) / tau_s)

    return fill(rr_prev_s) / fill(PULSE_REFERENCE_RR_S)


def render_ppg(
    t0_s: float, fs: float, n: int, beats: Beats, pulse: PulseMorphology,
    modulation: np.ndarray, default_rr_s: float, amplitude_scale: np.ndarray | float = 1.0,
    resp_amplitude_frac: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free PPG (a.u.), pulse feet (s) and systolic peak times (s), one per beat."""
    t = t0_s + np.arange(n) / fs
    feet = beats.r_s + pulse.arrival_s
    riav = pulse.resp_amplitude_frac if resp_amplitude_frac is None else resp_amplitude_frac
    scale = np.broadcast_to(np.asarray(amplitude_scale, float), feet.shape)
    amps = (pulse.amplitude_au * scale
            * pulse_filling(beats.preceding_rr(default_rr_s), pulse.filling_tau_s)
            * (1 + riav * np.interp(feet, t, modulation)))
    peaks = feet + pulse.rise_s
    ppg = pulse.resp_baseline_frac * pulse.amplitude_au * modulation
    ppg += bumps(n, t0_s, fs, peaks, amps, pulse.rise_s / 2.5, pulse.decay_sigma_s)
    ppg += bumps(n, t0_s, fs, peaks + pulse.diastolic_delay_s, pulse.diastolic_ratio * amps,
                 pulse.diastolic_sigma_s)
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


def motion_artifact(
    n: int, fs: float, scale: float, rng: np.random.Generator, n_spikes: int,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Motion: slow swings (0.3-2 Hz noise of SD ``0.4 scale``) plus ``n_spikes`` transients
    (Hann bumps of 0.2-0.6 s, 1.5-3 x ``scale``, random sign); returns the artefact and the
    transients' ``(start_s, stop_s)`` relative to the grid's first sample."""
    x = 0.4 * scale * unit_band_noise(n, fs, 0.3, min(2.0, 0.45 * fs), rng)
    spans = []
    for _ in range(n_spikes):
        width = rng.uniform(0.2, 0.6)
        start = rng.uniform(0, n / fs - width)
        i0, i1 = int(start * fs), int((start + width) * fs)
        if i1 - i0 < 2:
            continue
        x[i0:i1] += (rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0) * scale
                     * np.hanning(i1 - i0))
        spans.append((i0 / fs, i1 / fs))
    return x, spans
