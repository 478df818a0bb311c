"""Classical reference methods on windows with a known answer (neurokit2 signals with set
rates and respiratory modulation), the smart-fusion rule, and their leaderboard rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHIPPED_OFF

from physio_bench.downstream import REFERENCE_METHOD, run_reference_methods
from physio_bench.downstream import reference_methods as rm
from physio_bench.io import LEADERBOARD_COLUMNS, save_npy, write_json
from physio_bench.preflight import load_config

FS = 125.0
SECONDS = 32


def _ecg(heart_rate: float, seed: int = 0) -> np.ndarray:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nk.ecg_simulate(duration=SECONDS, sampling_rate=int(FS), heart_rate=heart_rate,
                               method="simple", random_state=seed)


def _pulses(resp_rate: float, width_s: float) -> np.ndarray:
    """A pulse train at about 80 beats/min with the three respiratory modulations of real
    ECG and PPG: intervals (sinus arrhythmia), amplitude and baseline."""
    t = np.arange(int(SECONDS * FS)) / FS
    breath = lambda time: np.sin(2 * np.pi * resp_rate / 60 * time)  # noqa: E731
    beats = [0.3]
    while beats[-1] < SECONDS:
        beats.append(beats[-1] + 0.75 + 0.06 * breath(beats[-1]))
    signal = 0.3 * breath(t)
    for beat in beats:
        signal += (1 + 0.25 * breath(beat)) * np.exp(-0.5 * ((t - beat) / width_s) ** 2)
    return signal


def test_event_rate_and_spectral_rate():
    assert rm.event_rate(np.array([0.0, 1.0, 2.0, 3.0])) == 60.0
    assert np.isnan(rm.event_rate(np.array([0.0, 1.0])))
    rng = np.random.default_rng(0)
    beats = np.cumsum(rng.uniform(0.7, 0.9, 40))  # irregular sampling, like beats
    series = np.sin(2 * np.pi * (15 / 60) * beats)
    assert abs(rm.spectral_rate(beats, series) - 15.0) < 0.5


def test_smart_fusion_keeps_agreeing_estimates_only():
    assert rm.smart_fusion({"baseline": 14.0, "amplitude": 15.0, "frequency": 16.0}) == (15.0, True)
    value, kept = rm.smart_fusion({"baseline": 10.0, "amplitude": 15.0, "frequency": 30.0})
    assert (value, kept) == (15.0, False)  # SD 8.5 > 4: Karlen discards; we use the median
    assert rm.smart_fusion({"a": np.nan, "b": np.nan, "c": np.nan})[1] is False


@pytest.mark.parametrize("heart_rate", [55, 90, 130])
def test_heart_rate_from_ecg_and_ppg(heart_rate):
    import neurokit2 as nk

    value, _ = rm.estimate("ecg", "heart_rate_bpm", _ecg(heart_rate), FS)
    assert abs(value - heart_rate) < 2.0
    ppg = nk.ppg_simulate(duration=SECONDS, sampling_rate=int(FS), heart_rate=heart_rate,
                          frequency_modulation=0, ibi_randomness=0, random_state=1)
    value, _ = rm.estimate("ppg", "heart_rate_bpm", ppg, FS)
    assert abs(value - heart_rate) < 2.0


@pytest.mark.parametrize("resp_rate", [9, 15, 24])
def test_respiratory_rate_from_resp_and_from_modulated_ecg(resp_rate):
    import neurokit2 as nk

    rsp = nk.rsp_simulate(duration=SECONDS, sampling_rate=int(FS), respiratory_rate=resp_rate,
                          method="sinusoidal", random_state=0)
    value, _ = rm.estimate("rsp", "resp_rate_bpm", rsp, FS)
    assert abs(value - resp_rate) < 1.0
    for kind, width_s in (("ecg", 0.02), ("ppg", 0.12)):
        signal = _pulses(resp_rate, width_s)
        peaks = rm.ecg_beats(signal, FS) if kind == "ecg" else rm.ppg_beats(signal, FS)
        rates = rm.modulation_rates(signal, FS, peaks, kind)
        for name, rate in rates.items():
            assert abs(rate - resp_rate) < 1.5, (kind, name, rates)
        value, kept = rm.estimate(kind, "resp_rate_bpm", signal, FS)
        assert kept and abs(value - resp_rate) < 1.0


def test_reference_rows_on_a_suite(tmp_path):
    results = tmp_path / "results"
    folder = results / "real" / "toy"
    rates = [60, 70, 80, 90, 100, 110]
    signals = np.stack([_ecg(r, seed=i) for i, r in enumerate(rates)])[:, None, :]
    labels = pd.DataFrame({"window_id": range(6), "subject_id": [f"p{i}" for i in range(6)],
                           "record": [f"p{i}" for i in range(6)], "signal_kind": "ecg",
                           "heart_rate_bpm": rates, "resp_rate_bpm": np.nan})
    save_npy(folder / "signals.npy", signals.astype(np.float32))
    labels.to_parquet(folder / "labels.parquet")
    write_json(folder / "meta.json", {"sampling_rate_hz": FS,
                                      "targets": {"ecg": ["heart_rate_bpm"]}})
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump({"probes": {"bootstrap": 50}, "downstream": {
        "datasets": {**SHIPPED_OFF,
                     "toy": {"reader": "wfdb", "path": "data/mitdb",
                             "channels": {"ecg": "MLII"}}}}}))
    detail, rows, predictions = run_reference_methods(load_config([config_path]), results)
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    row = frame.iloc[0]
    assert (row["model"], row["task"], row["layer"]) == (REFERENCE_METHOD,
                                                         "real:toy:ecg:heart_rate_bpm", "last")
    assert row["value"] < 2.0 and row["n_subjects"] == 6 and row["note"] == ""
    assert detail["tasks"]["real:toy:ecg:heart_rate_bpm"]["method"].startswith("Pan-Tompkins")
    assert len(predictions) == 6 and set(predictions["layer"]) == {"last"}
    # The mean predictor: each subject predicted by the others' mean (rates 60..110 bpm).
    trivial = frame[frame["model"] == "mean-predictor"].set_index("layer")
    expected = np.mean([abs(r - (sum(rates) - r) / 5) for r in rates])
    assert trivial.loc["last", "value"] == pytest.approx(expected)
    assert trivial.loc["last", "value"] > 10 * row["value"]  # the reference beats it
    assert trivial.loc["within-subject", "note"].startswith("not estimable: every subject")


def test_resp_count_and_fuse_resists_a_doubled_count_and_flags_noise():
    t = np.arange(int(SECONDS * FS)) / FS
    # 12 breaths/min with a notch at each inhalation's top: a peak counter sees 24/min.
    notched = np.sin(2 * np.pi * 0.2 * t) - 0.6 * np.maximum(np.sin(2 * np.pi * 0.2 * t),
                                                             0) ** 8
    rates = rm.resp_rates(notched, FS)
    value, quality = rm.resp_count_and_fuse(notched, FS)
    assert abs(rates["count"] - 24.0) < 1.0  # the counter is fooled
    assert abs(value - 12.0) < 1.0 and quality, rates
    # White noise: the three estimates disagree on most windows (quality index 0).
    rng = np.random.default_rng(0)
    flags = [rm.resp_count_and_fuse(rng.normal(size=t.size), FS)[1] for _ in range(20)]
    assert np.mean(flags) < 0.5
