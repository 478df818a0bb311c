"""``handcrafted``: neurokit2 physiology features per window and channel.

The model does not know which kind of signal a channel holds (the ``factors`` suite mixes
ECG, PPG, RSP, EDA and EMG in one channel), so every channel gets every feature group;
a group that does not apply to the signal usually fails or gives an odd value, and the
probes learn which to trust. One token per channel spans the whole window; its vector
holds, in this order (units in the names):

- generic: mean, standard deviation, interquartile range, line length per second,
  zero-crossing rate of the demeaned signal (Hz), dominant frequency (Welch, Hz),
  normalised spectral entropy (0-1);
- ECG (``ecg_clean`` + ``ecg_peaks``): mean and SD of heart rate (bpm), RMSSD and SDNN (ms);
- PPG (``ppg_clean`` + ``ppg_findpeaks``): mean and SD of heart rate (bpm);
- RSP (``rsp_clean`` + ``rsp_peaks``): breathing rate (breaths/min) from the periodogram
  peak of the cleaned signal in 0.05-1 Hz (an 8 s window holds too few whole breaths for
  peak intervals), amplitude (5-95 percentile range) and detected inhalation peaks per
  minute;
- EDA (``eda_clean``, high-pass ``eda_phasic``, ``eda_findpeaks``'s ``neurokit`` method as
  :func:`scr_peaks_and_onsets`): tonic mean, phasic SD,
  SCRs per minute, mean SCR amplitude (onset to peak);
- EMG (``emg_clean`` + ``emg_amplitude``): RMS of the cleaned signal, mean envelope, fraction
  of samples whose envelope exceeds median + 3 MAD (bursts) and bursts per minute.

Imputation (features are never NaN): every group except ``generic`` ends with a
``*_valid`` flag, 1.0 when all its features were computed and finite, else 0.0 and the
group's features are set to 0.0. A constant 0 (not a dataset mean) keeps each window's
features independent of the other windows, so sharding never changes them. Generic
features of a constant signal are 0. Rates need at least 3 detected peaks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from physio_bench.models.baselines import BASELINE_WEIGHTS
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings

GROUPS: dict[str, list[str]] = {
    "generic": ["mean_au", "std_au", "iqr_au", "line_length_au_per_s", "zero_crossing_rate_hz",
                "dominant_frequency_hz", "spectral_entropy"],
    "ecg": ["ecg_heart_rate_bpm", "ecg_heart_rate_std_bpm", "ecg_rmssd_ms", "ecg_sdnn_ms"],
    "ppg": ["ppg_heart_rate_bpm", "ppg_heart_rate_std_bpm"],
    "rsp": ["rsp_rate_bpm", "rsp_amplitude_au", "rsp_peaks_per_min"],
    "eda": ["eda_tonic_mean_au", "eda_phasic_std_au", "eda_scr_per_min", "eda_scr_amplitude_au"],
    "emg": ["emg_rms_au", "emg_envelope_mean_au", "emg_burst_fraction", "emg_bursts_per_min"],
}


def feature_names() -> list[str]:
    """All features of one channel, in token-vector order."""
    names: list[str] = []
    for group, features in GROUPS.items():
        names += features if group == "generic" else [*features, f"{group}_valid"]
    return names


def _rates_per_min(peaks: np.ndarray, fs: float) -> np.ndarray:
    """Instantaneous rates (per minute) between successive peaks; needs 3 peaks."""
    peaks = np.asarray(peaks, dtype=np.float64)
    peaks = peaks[np.isfinite(peaks)]
    if peaks.size < 3:
        raise ValueError("fewer than 3 peaks")
    return 60.0 * fs / np.diff(peaks)


def generic_features(x: np.ndarray, fs: float) -> list[float]:
    """Statistics and spectrum summaries that apply to any signal (numpy/scipy only)."""
    from scipy.signal import welch

    centred = x - x.mean()
    q25, q75 = np.percentile(x, [25, 75])
    crossings = np.count_nonzero(np.diff(np.signbit(centred)))
    freqs, psd = welch(centred, fs=fs, nperseg=min(x.size, 1024))
    psd, freqs = psd[1:], freqs[1:]
    total = psd.sum()
    if total > 0:
        p = psd / total
        entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum() / np.log(p.size))
        dominant = float(freqs[np.argmax(psd)])
    else:
        entropy = dominant = 0.0
    return [float(x.mean()), float(x.std()), float(q75 - q25),
            float(np.abs(np.diff(x)).mean() * fs), crossings * fs / x.size, dominant, entropy]


def ecg_features(x: np.ndarray, fs: float) -> list[float]:
    import neurokit2 as nk

    _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs), sampling_rate=fs)
    rates = _rates_per_min(info["ECG_R_Peaks"], fs)
    rr_ms = 60000.0 / rates
    return [rates.mean(), rates.std(), float(np.sqrt(np.mean(np.diff(rr_ms) ** 2))), rr_ms.std()]


def ppg_features(x: np.ndarray, fs: float) -> list[float]:
    import neurokit2 as nk

    peaks = nk.ppg_findpeaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)["PPG_Peaks"]
    rates = _rates_per_min(peaks, fs)
    return [rates.mean(), rates.std()]


def dominant_rate_per_min(x: np.ndarray, fs: float, low_hz: float, high_hz: float) -> float:
    """Frequency (per minute) of the largest periodogram peak in ``[low_hz, high_hz]``.

    The demeaned, Hann-tapered signal is zero-padded to at least 2**15 samples, so the
    grid is fine (0.46 per minute at 250 Hz) even for an 8 s window holding two breaths.
    """
    n_fft = max(2**15, int(2 ** np.ceil(np.log2(x.size))))
    power = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(x.size), n=n_fft)) ** 2
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / fs)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    if not power[band].any():
        raise ValueError("no power in band")
    return float(60.0 * freqs[band][np.argmax(power[band])])


def rsp_features(x: np.ndarray, fs: float) -> list[float]:
    import neurokit2 as nk

    cleaned = np.asarray(nk.rsp_clean(x, sampling_rate=fs), dtype=np.float64)
    try:
        n_peaks = len(nk.rsp_peaks(cleaned, sampling_rate=fs)[1]["RSP_Peaks"])
    except IndexError:  # neurokit2 0.3 fails instead of finding no extrema
        n_peaks = 0
    p5, p95 = np.percentile(cleaned, [5, 95])
    return [dominant_rate_per_min(cleaned, fs, 0.05, 1.0), float(p95 - p5),
            n_peaks * 60.0 * fs / x.size]


def scr_peaks_and_onsets(phasic: np.ndarray, amplitude_min: float = 0.1
                         ) -> tuple[np.ndarray, np.ndarray]:
    """SCR peaks and onsets (sample indices) of a phasic EDA signal: the same as
    ``nk.eda_findpeaks(phasic, method="neurokit")``'s ``SCR_Peaks`` and ``SCR_Onsets``
    (local maxima whose prominence is at least ``amplitude_min`` of the largest; onset: the
    last local minimum before each peak), with the onsets found by one ``searchsorted``
    instead of neurokit2's per-peak pandas search (27 ms a channel here; this: 3.5). Raises
    ``ValueError`` where neurokit2's values would not give a feature: no peak, or a peak
    without an earlier minimum (neurokit2's NaN onset)."""
    from scipy.signal import find_peaks, peak_prominences

    peaks, _ = find_peaks(phasic)
    if peaks.size == 0:
        raise ValueError("no SCR peak")
    prominence = peak_prominences(phasic, peaks)[0]
    peaks = peaks[~(prominence / prominence.max() < amplitude_min)]
    troughs, _ = find_peaks(-1 * phasic)
    before = np.searchsorted(troughs, peaks, side="left") - 1
    if (before < 0).any():
        raise ValueError("an SCR peak without an earlier minimum")
    return peaks, troughs[before]


def eda_features(x: np.ndarray, fs: float) -> list[float]:
    import neurokit2 as nk

    parts = nk.eda_phasic(nk.eda_clean(x, sampling_rate=fs), sampling_rate=fs, method="highpass")
    tonic, phasic = parts["EDA_Tonic"].to_numpy(), parts["EDA_Phasic"].to_numpy()
    peaks, onsets = scr_peaks_and_onsets(phasic)
    amplitude = float((phasic[peaks] - phasic[onsets]).mean())
    return [tonic.mean(), phasic.std(), peaks.size * 60.0 * fs / x.size, amplitude]


def emg_features(x: np.ndarray, fs: float) -> list[float]:
    import neurokit2 as nk

    cleaned = np.asarray(nk.emg_clean(x, sampling_rate=fs))
    envelope = np.asarray(nk.emg_amplitude(cleaned))
    median = np.median(envelope)
    threshold = median + 3.0 * np.median(np.abs(envelope - median))
    active = envelope > threshold
    bursts = np.count_nonzero(np.diff(active.astype(np.int8)) == 1) + int(active[0])
    return [float(np.sqrt(np.mean(cleaned**2))), envelope.mean(), active.mean(),
            bursts * 60.0 * fs / x.size]


EXTRACTORS: dict[str, Callable[[np.ndarray, float], list[float]]] = {
    "ecg": ecg_features, "ppg": ppg_features, "rsp": rsp_features,
    "eda": eda_features, "emg": emg_features,
}


def _imputed(group: str, x: np.ndarray, fs: float) -> list[float]:
    """A group's features plus its validity flag; zeros and flag 0 when it fails."""
    n = len(GROUPS[group])
    try:
        values = np.asarray(EXTRACTORS[group](x, fs), dtype=np.float64)
    except Exception:  # neurokit2 raises many types on signals it cannot parse
        return [0.0] * n + [0.0]
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        return [0.0] * n + [0.0]
    return [*values.tolist(), 1.0]


def channel_features(x: np.ndarray, fs: float) -> np.ndarray:
    """Feature vector (``feature_names()`` order) of one channel sampled at ``fs`` Hz."""
    x = np.asarray(x, dtype=np.float64)
    generic = np.nan_to_num(generic_features(x, fs), nan=0.0, posinf=0.0, neginf=0.0)
    values = list(generic)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for group in EXTRACTORS:
            values += _imputed(group, x, fs)
    return np.asarray(values, dtype=np.float32)


class HandcraftedModel:
    """neurokit2 features, one whole-window token per channel (see module docstring)."""

    def __init__(self, name: str = "handcrafted", seed: int = 0) -> None:
        self.name = name
        self.seed = seed

    def describe(self) -> ModelInfo:
        from importlib.metadata import version

        return ModelInfo(
            name=self.name, plugin="handcrafted",
            architecture=f"{len(feature_names())} neurokit2 physiology features per channel",
            n_parameters=0, pretrained=False, weights_source=BASELINE_WEIGHTS,
            layer_names=["output"], versions={"neurokit2": version("neurokit2")},
            extra={"feature_names": feature_names(), "imputation": "0.0 with *_valid flag 0"},
        )

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        windows = np.asarray(windows, dtype=np.float32)
        n_windows, n_channels, n_samples = windows.shape
        tokens = np.stack([
            np.stack([channel_features(windows[w, c], sampling_rate_hz)
                      for c in range(n_channels)])
            for w in range(n_windows)
        ])
        spans = np.tile(np.array([[0, n_samples]], dtype=np.int64), (n_channels, 1))
        return TokenEmbeddings({"output": tokens}, spans, np.arange(n_channels, dtype=np.int64))
