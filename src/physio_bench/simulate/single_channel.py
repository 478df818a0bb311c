"""One-channel windows for the ``factors`` and ``sweeps`` suites, straight from neurokit2.

Each kind calls its neurokit2 simulator with the window's factor values. ECG, PPG and
RSP are simulated with margins before and after the window, because neurokit2's ECGSYN
starts on an R peak, ppg_simulate ends flat after its last beat, and a slow breath does
not fit in one window: ECG and PPG get 3 s plus a random offset of up to one beat (so
windows do not all start on a beat), RSP at least 2.5 breaths (``rsp_peaks`` drops the
first and last breath). The ground truth comes from events detected (``ecg_peaks``,
``ppg_findpeaks``, ``rsp_clean`` + ``rsp_peaks``) on the noise-free extended signal; the
stored window is the noisy signal cut out of it.

Noise: ECG and RSP are simulated with ``noise=0`` and then distorted with exactly the
``signal_distort`` call that ``ecg_simulate``/``rsp_simulate`` make themselves (Laplace
noise at 5, 10 and 100 Hz; 100 Hz is skipped by neurokit2 below 1000 Hz sampling), which
saves a second ECGSYN integration. PPG is simulated twice with the same seeds, once
without distortions (ground truth) and once with drift and motion. Every call gets
explicit ``random_state`` (and ``random_state_distort``) seeds.
"""

from __future__ import annotations

import numpy as np

from physio_bench.simulate.ground_truth import (
    bracketing_rate,
    phase_per_sample,
    rate_per_sample,
)
from physio_bench.simulate.result import WindowResult, exact_length, nan_target
from physio_bench.simulate.seeds import child_seeds

ECG_METHOD = "ecgsyn"  # McSharry et al. 2003 dynamical model (about 0.1 s per window)
RSP_METHOD = "breathmetrics"  # neurokit2's default, with breath-to-breath variability
CARDIAC_MARGIN_S = 3.0


def _nk():
    import neurokit2

    return neurokit2


def _distort(signal: np.ndarray, fs: int, amplitude: float, seed: int) -> np.ndarray:
    """The noise step of ``ecg_simulate``/``rsp_simulate``/``eda_simulate`` (Laplace)."""
    if amplitude <= 0:
        return signal
    return _nk().signal_distort(
        signal, sampling_rate=fs, noise_amplitude=amplitude, noise_frequency=[5, 10, 100],
        noise_shape="laplace", random_state=seed, silent=True,
    )


def _cardiac_margins(rng: np.random.Generator, heart_rate_bpm: float, fs: int) -> tuple[int, int]:
    """(samples before, samples after) the window: 3 s, plus up to one beat before."""
    margin = round(CARDIAC_MARGIN_S * fs)
    offset = int(rng.integers(0, max(1, round(60.0 / heart_rate_bpm * fs))))
    return margin + offset, margin


def _cardiac_result(
    noisy: np.ndarray, beats_s: np.ndarray, lead: int, n: int, fs: int
) -> WindowResult:
    t = (lead + np.arange(n)) / fs
    start, stop = lead / fs, (lead + n - 1) / fs
    return WindowResult(
        signals=noisy[None, lead:lead + n],
        heart_rate_bpm=rate_per_sample(beats_s, t),
        resp_rate_bpm=nan_target(n), resp_phase_rad=nan_target(n),
        measured={"measured_heart_rate_bpm": bracketing_rate(beats_s, start, stop)},
    )


def simulate_ecg(factors: dict[str, float], seed: int, fs: int, n: int) -> WindowResult:
    """ECG window (ECGSYN) with heart rate (bpm), its standard deviation (bpm) and noise."""
    nk = _nk()
    rng = np.random.default_rng(seed)
    sim_seed, noise_seed = child_seeds(rng, 2)
    lead, tail = _cardiac_margins(rng, factors["heart_rate_bpm"], fs)
    total = lead + n + tail
    clean = exact_length(nk.ecg_simulate(
        duration=None, length=total, sampling_rate=fs, noise=0,
        heart_rate=factors["heart_rate_bpm"], heart_rate_std=factors["heart_rate_std_bpm"],
        method=ECG_METHOD, random_state=sim_seed, random_state_distort=noise_seed,
    ), total, "ecg_simulate")
    _, info = nk.ecg_peaks(clean, sampling_rate=fs)
    beats_s = np.asarray(info["ECG_R_Peaks"], dtype=float) / fs
    noisy = _distort(clean, fs, factors["noise_amplitude_au"], noise_seed)
    return _cardiac_result(noisy, beats_s, lead, n, fs)


def simulate_ppg(factors: dict[str, float], seed: int, fs: int, n: int) -> WindowResult:
    """PPG window (``ppg_simulate``) with heart rate, IBI randomness, drift, motion."""
    nk = _nk()
    rng = np.random.default_rng(seed)
    sim_seed, noise_seed = child_seeds(rng, 2)
    lead, tail = _cardiac_margins(rng, factors["heart_rate_bpm"], fs)
    total = lead + n + tail

    def run(drift: float, motion: float) -> np.ndarray:
        return exact_length(nk.ppg_simulate(
            duration=total / fs, sampling_rate=fs, heart_rate=factors["heart_rate_bpm"],
            frequency_modulation=0.0, ibi_randomness=factors["ibi_randomness_frac"],
            drift=drift, motion_amplitude=motion, powerline_amplitude=0.0,
            burst_number=0, burst_amplitude=0.0,
            random_state=sim_seed, random_state_distort=noise_seed,
        ), total, "ppg_simulate")

    clean = run(0.0, 0.0)
    noisy = run(factors["drift_amplitude_au"], factors["motion_amplitude_au"])
    peaks = nk.ppg_findpeaks(clean, sampling_rate=fs)["PPG_Peaks"]
    return _cardiac_result(noisy, np.asarray(peaks, dtype=float) / fs, lead, n, fs)


def simulate_rsp(factors: dict[str, float], seed: int, fs: int, n: int) -> WindowResult:
    """RSP window (``rsp_simulate``, breathmetrics) with ``resp_rate_bpm``, noise."""
    nk = _nk()
    rng = np.random.default_rng(seed)
    sim_seed, noise_seed = child_seeds(rng, 2)
    breath_s = 60.0 / factors["resp_rate_bpm"]
    margin = round(max(CARDIAC_MARGIN_S, 2.5 * breath_s) * fs)
    lead = margin + int(rng.integers(0, max(1, round(breath_s * fs))))
    total = lead + n + margin
    clean = exact_length(nk.rsp_simulate(
        duration=total / fs, length=total, sampling_rate=fs, noise=0,
        respiratory_rate=factors["resp_rate_bpm"], method=RSP_METHOD,
        random_state=sim_seed, random_state_distort=noise_seed,
    ), total, "rsp_simulate")
    _, info = nk.rsp_peaks(nk.rsp_clean(clean, sampling_rate=fs), sampling_rate=fs)
    troughs_s = np.asarray(info["RSP_Troughs"], dtype=float) / fs
    peaks_s = np.asarray(info["RSP_Peaks"], dtype=float) / fs
    noisy = _distort(clean, fs, factors["noise_amplitude_au"], noise_seed)
    t = (lead + np.arange(n)) / fs
    return WindowResult(
        signals=noisy[None, lead:lead + n],
        heart_rate_bpm=nan_target(n),
        resp_rate_bpm=rate_per_sample(troughs_s, t),
        resp_phase_rad=phase_per_sample(troughs_s, peaks_s, t),
        measured={"measured_resp_rate_bpm": bracketing_rate(troughs_s, t[0], t[-1])},
    )


def simulate_eda(factors: dict[str, float], seed: int, fs: int, n: int) -> WindowResult:
    """EDA window (``eda_simulate``) with SCR count, drift (uS/s) and noise."""
    sim_seed, noise_seed = child_seeds(np.random.default_rng(seed), 2)
    eda = _nk().eda_simulate(
        duration=n / fs, length=n, sampling_rate=fs, noise=factors["noise_amplitude_au"],
        scr_number=int(factors["scr_number_count"]), drift=factors["drift_us_per_s"],
        random_state=sim_seed, random_state_distort=noise_seed,
    )
    return WindowResult(
        signals=exact_length(eda, n, "eda_simulate")[None], heart_rate_bpm=nan_target(n),
        resp_rate_bpm=nan_target(n), resp_phase_rad=nan_target(n),
    )


def simulate_emg(factors: dict[str, float], seed: int, fs: int, n: int) -> WindowResult:
    """EMG window (``emg_simulate``) with burst count, burst duration (s) and noise."""
    (sim_seed,) = child_seeds(np.random.default_rng(seed), 1)
    emg = _nk().emg_simulate(
        duration=n / fs, length=n, sampling_rate=fs, noise=factors["noise_amplitude_au"],
        burst_number=int(factors["burst_number_count"]),
        burst_duration=factors["burst_duration_s"], random_state=sim_seed,
    )
    return WindowResult(
        signals=exact_length(emg, n, "emg_simulate")[None], heart_rate_bpm=nan_target(n),
        resp_rate_bpm=nan_target(n), resp_phase_rad=nan_target(n),
    )


SIMULATORS = {
    "ecg": simulate_ecg, "ppg": simulate_ppg, "rsp": simulate_rsp,
    "eda": simulate_eda, "emg": simulate_emg,
}


def simulate_single(
    kind: str, factors: dict[str, float], seed: int, fs: int, n: int
) -> WindowResult:
    """Simulate one ``kind`` window of ``n`` samples at ``fs`` Hz with these factor values."""
    return SIMULATORS[kind](factors, seed, fs, n)
