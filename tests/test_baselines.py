"""Baselines: exact token shapes and spans, known answers, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import simulate_signal

from physio_bench.errors import InputError, ModelError
from physio_bench.models.baselines import RawModel, SpectralModel, octave_bands
from physio_bench.models.handcrafted import (
    HandcraftedModel,
    channel_features,
    feature_names,
    scr_peaks_and_onsets,
)


def test_raw_tokens_are_the_patches_with_exact_spans() -> None:
    windows = np.arange(2 * 3 * 100, dtype=np.float32).reshape(2, 3, 100)
    result = RawModel(name="raw", patch_samples=32).embed(windows, 100.0)
    result.validate(2)
    tokens = result.layers["output"]
    assert tokens.shape == (2, 9, 32)  # 3 channels x 3 whole patches; 4 samples dropped
    np.testing.assert_array_equal(tokens[1, 4], windows[1, 1, 32:64])
    np.testing.assert_array_equal(result.token_spans,
                                  [[0, 32], [32, 64], [64, 96]] * 3)
    np.testing.assert_array_equal(result.token_channels, [0, 0, 0, 1, 1, 1, 2, 2, 2])


def test_raw_describes_itself_as_an_untrained_baseline() -> None:
    info = RawModel(name="raw-16", patch_samples=16).describe()
    assert (info.name, info.pretrained, info.weights_source, info.layer_names,
            info.n_parameters) == ("raw-16", False, "none (baseline)", ["output"], 0)


def test_raw_rejects_windows_shorter_than_a_patch_and_bad_options() -> None:
    with pytest.raises(InputError, match="shorter than one patch of 32: lower patch_samples"):
        RawModel(name="raw").embed(np.zeros((1, 1, 20), np.float32), 100.0)
    with pytest.raises(ModelError, match="option patch_samples=0 must be a positive integer"):
        RawModel(name="raw", patch_samples=0)


def test_octave_bands_cover_bins_1_to_nyquist() -> None:
    assert octave_bands(512) == [(1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                                 (64, 128), (128, 257)]
    assert octave_bands(16) == [(1, 2), (2, 4), (4, 9)]


def test_spectral_band_of_a_sinusoid_and_exact_spans() -> None:
    fs, n = 256.0, 1024
    t = np.arange(n) / fs
    # 6 Hz = bin 12 of a 512-sample context at 256 Hz: band (8, 16), the 4th band
    windows = np.sin(2 * np.pi * 6.0 * t)[None, None, :].astype(np.float32)
    model = SpectralModel(name="spectral", patch_samples=32, context_samples=512)
    result = model.embed(windows, fs)
    result.validate(1)
    tokens = result.layers["output"]
    assert tokens.shape == (1, 32, 8)
    assert (tokens[0].argmax(axis=1) == 3).all()
    np.testing.assert_array_equal(result.token_spans[:, 0], np.arange(32) * 32)
    np.testing.assert_array_equal(result.token_spans[:, 1], np.arange(1, 33) * 32)
    starts = model.context_starts(n)
    assert (starts[0], starts[16], starts[-1]) == (0, 528 - 256, n - 512)


def test_spectral_two_channels_and_silence_stay_finite() -> None:
    windows = np.zeros((2, 2, 300), dtype=np.float32)
    windows[1, 1] = np.random.default_rng(0).standard_normal(300)
    result = SpectralModel(name="s", context_samples=512).embed(windows, 100.0)
    tokens = result.layers["output"]
    assert tokens.shape == (2, 18, len(octave_bands(300)))
    assert np.isfinite(tokens).all()
    np.testing.assert_array_equal(result.token_channels, [0] * 9 + [1] * 9)


def test_handcrafted_known_heart_and_breathing_rates() -> None:
    names = feature_names()
    ecg = channel_features(simulate_signal("ecg", 2048, 250, 3, heart_rate_bpm=75,
                                                  ecg_method="ecgsyn"), 250)
    assert ecg[names.index("ecg_valid")] == 1.0
    assert ecg[names.index("ecg_heart_rate_bpm")] == pytest.approx(75, abs=3)
    t = np.arange(2048) / 250
    pulses = np.exp(-(((t % (60 / 90)) - 0.2) ** 2) / (2 * 0.05**2))  # 90 pulses/min
    ppg = channel_features(pulses, 250)
    assert ppg[names.index("ppg_heart_rate_bpm")] == pytest.approx(90, abs=1)
    rsp = channel_features(np.sin(2 * np.pi * 0.3 * t), 250)  # 18 breaths/min
    assert rsp[names.index("rsp_rate_bpm")] == pytest.approx(18, abs=0.5)


@pytest.mark.parametrize("kind", ["eda", "ecg", "emg"])
def test_scr_peaks_and_onsets_equal_neurokit_eda_findpeaks(kind: str) -> None:
    """The fast SCR search gives neurokit2's peaks and onsets (EDA: few SCRs; ECG and EMG:
    hundreds of local maxima, where neurokit2's per-peak search is slow); where neurokit2
    leaves an onset undefined (NaN), it raises instead."""
    import neurokit2 as nk

    for seed in range(3):
        x = simulate_signal(kind, 4000, 125, seed)
        phasic = nk.eda_phasic(nk.eda_clean(x, sampling_rate=125), sampling_rate=125,
                               method="highpass")["EDA_Phasic"].to_numpy()
        info = nk.eda_findpeaks(phasic, sampling_rate=125, method="neurokit")
        onsets = np.asarray(info["SCR_Onsets"], dtype=np.float64)
        if np.isnan(onsets).any():
            with pytest.raises(ValueError, match="earlier minimum"):
                scr_peaks_and_onsets(phasic)
            continue
        peaks, found = scr_peaks_and_onsets(phasic)
        np.testing.assert_array_equal(peaks, info["SCR_Peaks"])
        np.testing.assert_array_equal(found, onsets.astype(np.int64))
    with pytest.raises(ValueError, match="no SCR peak"):
        scr_peaks_and_onsets(np.linspace(0, 1, 500))


def test_handcrafted_imputes_zero_with_valid_flag() -> None:
    names = feature_names()
    flat = channel_features(np.zeros(1000), 250)
    assert flat.shape == (len(names),) and np.isfinite(flat).all()
    assert flat[names.index("ecg_valid")] == 0.0
    assert flat[names.index("ecg_heart_rate_bpm")] == 0.0


def test_handcrafted_shapes_spans_and_determinism() -> None:
    windows = np.stack([
        np.stack([simulate_signal(k, 500, 100, w) for k in ("ecg", "rsp")]) for w in range(2)
    ])
    model = HandcraftedModel(name="handcrafted")
    first, second = model.embed(windows, 100.0), model.embed(windows.copy(), 100.0)
    first.validate(2)
    assert first.layers["output"].shape == (2, 2, len(feature_names()))
    np.testing.assert_array_equal(first.token_spans, [[0, 500], [0, 500]])
    np.testing.assert_array_equal(first.token_channels, [0, 1])
    assert first.layers["output"].tobytes() == second.layers["output"].tobytes()
    info = model.describe()
    assert (info.pretrained, info.weights_source) == (False, "none (baseline)")
    assert info.extra["feature_names"] == feature_names()
