"""Simulation stage: format, known answers, independence, determinism, bad configuration.

Small suites of real neurokit2 signals; the known-answer tests measure rates with
neurokit2's standard detectors on the stored (noisy) windows and compare them with the
labels and the time-varying targets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from physio_bench.cli import main
from physio_bench.errors import ConfigError
from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import FACTORS, count_windows, simulate_suite, window_seed
from physio_bench.simulate.factors import factor_ranges
from physio_bench.simulate.plan import plan_factors

ALL_KINDS = ["ecg", "ppg", "rsp", "eda", "emg"]


def _config(tmp_path: Path, override: dict[str, Any], name: str = "override.yaml") -> dict:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(override))
    return load_config([path])


def _simulate(tmp_path: Path, override: dict[str, Any], suite: str, name: str) -> Any:
    config = _config(tmp_path, override, f"{name}.yaml")
    simulate_suite(config, suite, tmp_path / name)
    return read_suite(tmp_path / name)


def _rate_bpm(events: np.ndarray, fs: float) -> float:
    """Mean rate (per minute) from event sample indices: 60 / mean interval."""
    events = np.asarray(events, dtype=float)
    if len(events) < 2:
        return float("nan")
    return 60.0 * fs / float(np.mean(np.diff(events)))


def _heart_rate(x: np.ndarray, fs: float, kind: str) -> float:
    import neurokit2 as nk

    if kind == "ecg":
        peaks = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs), sampling_rate=fs)[1]
        return _rate_bpm(peaks["ECG_R_Peaks"], fs)
    cleaned = nk.ppg_clean(x, sampling_rate=fs)
    return _rate_bpm(nk.ppg_findpeaks(cleaned, sampling_rate=fs)["PPG_Peaks"], fs)


def _resp_rate(x: np.ndarray, fs: float) -> float:
    """60 / median trough-to-trough interval (robust to a spurious breath in noise)."""
    import neurokit2 as nk

    try:
        info = nk.rsp_peaks(nk.rsp_clean(x, sampling_rate=fs), sampling_rate=fs)[1]
    except IndexError:  # neurokit2 0.3.0 fails on a window with a single extremum
        return float("nan")
    troughs = info["RSP_Troughs"]
    if len(troughs) < 2:
        return float("nan")
    return 60.0 * fs / float(np.median(np.diff(troughs)))


@pytest.fixture(scope="module")
def factors_suite(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Default rate and window (250 Hz, 2048 samples), 12 windows of every kind."""
    tmp = tmp_path_factory.mktemp("factors")
    return _simulate(tmp, {"simulate": {"factors": {"windows_per_kind": 12}}}, "factors", "s")


@pytest.fixture(scope="module")
def scenarios_suite(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every default class, 2 subjects, 1 window each (250 Hz, 2048 samples)."""
    tmp = tmp_path_factory.mktemp("scenarios")
    override = {"simulate": {"scenarios": {"subjects_per_scenario": 2, "windows_per_subject": 1}}}
    return _simulate(tmp, override, "scenarios", "s")


# --- format -------------------------------------------------------------------------------


def test_factors_suite_format(factors_suite: Any) -> None:
    s, labels, meta = factors_suite, factors_suite.labels, factors_suite.meta
    assert s.signals.dtype == np.float32
    assert s.signals.shape == (60, 1, 2048)
    assert np.isfinite(s.signals).all()
    assert meta["n_windows"] == 60 and meta["channel_names"] == ["signal"]
    assert meta["sampling_rate_hz"] == 250 and meta["window_samples"] == 2048
    assert meta["factor_columns"] == {k: [f.column for f in FACTORS[k]] for k in ALL_KINDS}
    assert list(labels["window_id"]) == list(range(60))
    assert list(labels.columns[:5]) == [
        "window_id", "subject_id", "signal_kind", "scenario", "dynamics"]
    assert list(labels["signal_kind"][:5]) == ALL_KINDS  # kinds interleaved
    assert set(labels["scenario"]) == {"factors"} and set(labels["dynamics"]) == {"steady"}
    assert set(s.targets) == {"heart_rate_bpm", "resp_rate_bpm", "resp_phase_rad"}
    for key, target in s.targets.items():
        assert target.shape == (60, 2048) and target.dtype == np.float32, key
    cardiac = labels["signal_kind"].isin(["ecg", "ppg"]).to_numpy()
    rsp = (labels["signal_kind"] == "rsp").to_numpy()
    assert np.isfinite(s.targets["heart_rate_bpm"][cardiac]).all()
    assert np.isnan(s.targets["heart_rate_bpm"][~cardiac]).all()
    assert np.isfinite(s.targets["resp_rate_bpm"][rsp]).all()
    assert np.isnan(s.targets["resp_phase_rad"][~rsp]).all()
    phase = s.targets["resp_phase_rad"][rsp]
    assert phase.min() >= 0 and phase.max() < 2 * np.pi
    for kind in ALL_KINDS:  # a factor column is NaN exactly where it does not apply
        rows = labels[labels["signal_kind"] == kind]
        own = [f.column for f in FACTORS[kind]]
        assert rows[own].notna().all().all(), kind
        others = [c for c in meta["factor_columns"]["ecg"] if c not in own]
        assert rows[others].isna().all().all(), kind


def test_count_windows_is_cheap_and_matches(factors_suite: Any, tmp_path: Path) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 12}}})
    assert count_windows(config, "factors") == factors_suite.meta["n_windows"] == 60
    assert count_windows(config, "sweeps") == 12 * sum(len(FACTORS[k]) for k in ALL_KINDS)
    assert count_windows(config, "scenarios") == 13 * 8 * 4
    code = ("import sys, physio_bench.simulate as s; "
            "from physio_bench.preflight import load_config;"
            "print(s.count_windows(load_config(), 'scenarios'), 'neurokit2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["416", "False"]


def test_window_seed_is_stable_across_processes() -> None:
    seeds = {window_seed(7, "factors:ecg", i) for i in range(100)}
    assert len(seeds) == 100 and all(0 <= s < 2**63 for s in seeds)
    assert window_seed(7, "factors:ecg", 3) != window_seed(8, "factors:ecg", 3)
    assert window_seed(7, "factors:ecg", 3) != window_seed(7, "factors:ppg", 3)
    code = "from physio_bench.simulate import window_seed; print(window_seed(7, 'factors:ecg', 3))"
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        assert int(out.stdout) == window_seed(7, "factors:ecg", 3)


# --- known answers ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ecg", "ppg"])
def test_heart_rate_of_factor_windows_matches_label(factors_suite: Any, kind: str) -> None:
    s, labels = factors_suite, factors_suite.labels
    rows = np.flatnonzero((labels["signal_kind"] == kind).to_numpy())
    measured = np.array([_heart_rate(s.signals[i, 0], 250, kind) for i in rows])
    label = labels["heart_rate_bpm"].to_numpy()[rows]
    error = np.abs(measured - label)
    print(f"{kind}: median |detected - label| = {np.median(error):.2f} bpm, max {error.max():.2f}")
    assert np.median(error) <= 3.0
    assert np.mean(error <= 8.0) >= 0.8
    # The per-sample target and the measured_ column agree with the label too.
    target_mean = np.nanmean(s.targets["heart_rate_bpm"][rows], axis=1)
    assert np.median(np.abs(target_mean - label)) <= 3.0
    assert np.median(np.abs(labels["measured_heart_rate_bpm"].to_numpy()[rows] - label)) <= 3.0


def test_resp_rate_of_rsp_windows_matches_label(tmp_path: Path) -> None:
    """RSP at 100 Hz in 40.96 s windows, so that even 6 breaths/min give several breaths."""
    override = {"sampling_rate_hz": 100, "window_samples": 4096, "simulate": {
        "signal_kinds": ["rsp"], "factors": {"windows_per_kind": 24}}}
    s = _simulate(tmp_path, override, "factors", "rsp")
    measured = np.array([_resp_rate(x[0], 100) for x in s.signals])
    label = s.labels["resp_rate_bpm"].to_numpy()
    error = np.abs(measured - label)
    print(f"rsp: median |detected - label| = {np.median(error):.2f} breaths/min")
    assert np.median(error) <= 2.0
    assert np.median(np.abs(s.labels["measured_resp_rate_bpm"].to_numpy() - label)) <= 2.0
    assert np.isfinite(s.targets["resp_phase_rad"]).all()


def test_scenarios_share_one_heart_and_breathing_rate(scenarios_suite: Any) -> None:
    s, labels = scenarios_suite, scenarios_suite.labels
    assert s.signals.shape == (26, 5, 2048)
    assert s.meta["channel_names"] == ["ecg", "ppg", "rsp", "eda", "emg"]
    assert set(labels["signal_kind"]) == {"multi"}
    assert np.isfinite(s.targets["heart_rate_bpm"]).all()
    target_hr = np.mean(s.targets["heart_rate_bpm"], axis=1)
    ecg = np.array([_heart_rate(x[0], 250, "ecg") for x in s.signals])
    ppg = np.array([_heart_rate(x[1], 250, "ppg") for x in s.signals])
    print(f"scenarios: median |ECG - target| = {np.median(np.abs(ecg - target_hr)):.2f} bpm, "
          f"|PPG - target| = {np.median(np.abs(ppg - target_hr)):.2f} bpm")
    assert np.median(np.abs(ecg - target_hr)) <= 3.0
    assert np.median(np.abs(ppg - target_hr)) <= 3.0


def test_scenario_breathing_rate_matches_target(tmp_path: Path) -> None:
    """Steady-breathing classes at 100 Hz in 40.96 s windows (several breaths even at 6/min)."""
    override = {"sampling_rate_hz": 100, "window_samples": 4096, "simulate": {"scenarios": {
        "classes": ["normal_sinus", "tachypnea", "bradypnea", "irregular_rhythm"],
        "subjects_per_scenario": 3, "windows_per_subject": 1}}}
    s = _simulate(tmp_path, override, "scenarios", "rsp")
    rsp = np.array([_resp_rate(x[2], 100) for x in s.signals])
    target = np.mean(s.targets["resp_rate_bpm"], axis=1)
    error = np.abs(rsp - target)
    print(f"scenarios: median |RSP - target| = {np.median(error):.2f} breaths/min")
    assert np.median(error) <= 2.0
    assert np.median(np.abs(s.labels["measured_resp_rate_bpm"] - target)) <= 2.0


def test_scenario_rates_change_inside_ramp_and_step_windows(scenarios_suite: Any) -> None:
    s, labels = scenarios_suite, scenarios_suite.labels
    fs = 250
    for i, row in labels.iterrows():
        for rate, change in (("heart_rate_bpm", "heart_rate_change_bpm"),
                             ("resp_rate_bpm", "resp_rate_change_bpm")):
            target = s.targets[rate][i]
            if row[change] == 0:
                continue
            assert row["dynamics"] in ("ramp", "step")
            if row["dynamics"] == "step":
                cut = round(row["change_time_s"] * fs)
                before, after = target[: cut - fs // 2], target[cut + 3 * fs:]
            else:
                before, after = target[: fs], target[-fs:]
            delta = np.mean(after) - np.mean(before)
            assert np.sign(delta) == np.sign(row[change]), (row["scenario"], delta)
            assert abs(delta) >= 0.4 * abs(row[change]), (row["scenario"], delta)
    steady = (labels["dynamics"] == "steady").to_numpy()
    assert (labels.loc[steady, ["heart_rate_change_bpm", "resp_rate_change_bpm"]] == 0).all().all()
    assert set(labels.loc[labels["scenario"] == "heart_rate_step", "dynamics"]) == {"step"}


def test_scenario_classes_differ_as_designed(scenarios_suite: Any) -> None:
    labels = scenarios_suite.labels.set_index("scenario")
    hr, rr = labels["heart_rate_bpm"], labels["resp_rate_bpm"]
    assert hr["sinus_tachycardia"].min() > 100 > hr["normal_sinus"].max()
    assert hr["sinus_bradycardia"].max() < 60 < hr["normal_sinus"].min()
    assert rr["tachypnea"].min() > 24 > rr["normal_sinus"].max()
    assert rr["bradypnea"].max() < 10 < rr["normal_sinus"].min()
    assert (labels.loc["irregular_rhythm", "rr_interval_cv"] >= 0.15).all()
    assert (labels.loc["apnea", "apnea_duration_s"] >= 1.5).all()
    assert (labels.loc["stress_arousal", "scr_number_count"] >= 4).all()
    assert (labels.loc["motion_artifact", "motion_amplitude_au"] >= 0.5).all()
    # AF-like rhythm: irregular RR in the target, sinus rhythm nearly regular.
    s = scenarios_suite
    af = (s.labels["scenario"] == "irregular_rhythm").to_numpy()
    sinus = (s.labels["scenario"] == "normal_sinus").to_numpy()

    def rr_cv(target: np.ndarray) -> float:
        rr = 60.0 / np.unique(target)
        return float(np.std(rr) / np.mean(rr))

    assert min(rr_cv(t) for t in s.targets["heart_rate_bpm"][af]) > 0.08
    # Apnea: the breath phase is held at end-expiration for as long as the label says.
    for i in np.flatnonzero((s.labels["scenario"] == "apnea").to_numpy()):
        held_s = np.sum(s.targets["resp_phase_rad"][i] == 0) / s.meta["sampling_rate_hz"]
        assert held_s == pytest.approx(s.labels["apnea_duration_s"][i], abs=0.05)
    assert max(rr_cv(t) for t in s.targets["heart_rate_bpm"][sinus]) < 0.06


# --- factor draws -------------------------------------------------------------------------


def test_factor_draws_respect_ranges(tmp_path: Path) -> None:
    override = {"simulate": {"factors": {"windows_per_kind": 400, "ranges": {
        "ecg": {"heart_rate_bpm": [50, 60]}, "eda": {"scr_number_count": [2, 3]}}}}}
    config = _config(tmp_path, override)
    plans = plan_factors(config)
    for kind in ALL_KINDS:
        ranges = factor_ranges(config, kind)
        for spec in FACTORS[kind]:
            values = np.array([p.factors[spec.column] for p in plans if p.signal_kind == kind])
            low, high = ranges[spec.column]
            assert values.min() >= low and values.max() <= high, (kind, spec.column)
            # uniform: both ends of the range are reached
            assert values.min() < low + 0.1 * (high - low) + 1e-9, (kind, spec.column)
            assert values.max() > high - 0.1 * (high - low) - 1e-9, (kind, spec.column)
            if spec.integer:
                assert np.array_equal(values, np.round(values))
    ecg = [p.factors["heart_rate_bpm"] for p in plans if p.signal_kind == "ecg"]
    assert min(ecg) >= 50 and max(ecg) <= 60
    assert {p.factors["scr_number_count"] for p in plans if p.signal_kind == "eda"} == {2.0, 3.0}


def test_written_labels_are_the_drawn_factors(factors_suite: Any, tmp_path: Path) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 12}}})
    for plan in plan_factors(config):
        row = factors_suite.labels.iloc[plan.window_id]
        assert row["signal_kind"] == plan.signal_kind
        for column, value in plan.factors.items():
            assert row[column] == pytest.approx(value)


def test_factor_correlation_matrix_is_near_identity(tmp_path: Path) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 3000}}})
    plans = plan_factors(config)
    for kind in ALL_KINDS:
        columns = [f.column for f in FACTORS[kind]]
        values = np.array([[p.factors[c] for c in columns]
                           for p in plans if p.signal_kind == kind])
        corr = np.corrcoef(values, rowvar=False)
        off = corr[~np.eye(len(columns), dtype=bool)]
        assert np.abs(off).max() < 0.08, (kind, corr)


def test_sweeps_move_one_factor_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"simulate": {
        "signal_kinds": ["rsp", "eda", "emg"], "sweeps": {"steps": 3}}}))
    out = tmp_path / "sweeps"
    assert main(["simulate", "--configfile", str(path), "--suite", "sweeps",
                 "--out", str(out)]) == 0
    s = read_suite(out)
    config = load_config([path])
    assert s.signals.shape == (3 * (2 + 3 + 3), 1, 2048)
    for kind in ["rsp", "eda", "emg"]:
        ranges = factor_ranges(config, kind)
        columns = [f.column for f in FACTORS[kind]]
        for spec in FACTORS[kind]:
            rows = s.labels[s.labels["scenario"] == f"sweep:{spec.column}"]
            rows = rows[rows["signal_kind"] == kind]
            assert len(rows) == 3
            low, high = ranges[spec.column]
            expected = np.linspace(low, high, 3)
            expected = np.round(expected) if spec.integer else expected
            np.testing.assert_allclose(rows[spec.column], expected)
            for other in FACTORS[kind]:
                if other.column != spec.column:
                    assert rows[other.column].nunique() == 1
                    assert rows[other.column].iloc[0] == other.middle(*ranges[other.column])
        assert s.labels.loc[s.labels["signal_kind"] == kind, columns].notna().all().all()


# --- determinism --------------------------------------------------------------------------

SMALL = {"window_samples": 512, "simulate": {
    "factors": {"windows_per_kind": 2},
    "scenarios": {"classes": ["normal_sinus", "heart_rate_step", "apnea"],
                  "subjects_per_scenario": 2, "windows_per_subject": 1}}}


@pytest.mark.parametrize("suite", ["factors", "scenarios"])
def test_same_config_gives_identical_files(tmp_path: Path, suite: str) -> None:
    config = _config(tmp_path, SMALL)
    for name in ("a", "b"):
        simulate_suite(config, suite, tmp_path / name)
    for file in ("signals.npy", "targets.npz", "labels.parquet"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


@pytest.mark.parametrize(("suite", "grow", "n_small"), [
    ("factors", {"factors": {"windows_per_kind": 3}}, 10),
    ("scenarios", {"scenarios": {"subjects_per_scenario": 3}}, 6),
])
def test_larger_suite_keeps_the_smaller_suites_windows(
    tmp_path: Path, suite: str, grow: dict, n_small: int
) -> None:
    small = _simulate(tmp_path, SMALL, suite, "small")
    larger = {**SMALL, "simulate": {**SMALL["simulate"], **{
        k: {**SMALL["simulate"][k], **v} for k, v in grow.items()}}}
    large = _simulate(tmp_path, larger, suite, "large")
    assert len(small.signals) == n_small < len(large.signals)
    assert np.array_equal(small.signals, large.signals[:n_small])
    for key, target in small.targets.items():
        np.testing.assert_array_equal(target, large.targets[key][:n_small])
    assert small.labels.equals(large.labels.iloc[:n_small].reset_index(drop=True))


# --- bad configuration --------------------------------------------------------------------


@pytest.mark.parametrize(("override", "expected"), [
    ({"simulate": {"signal_kinds": ["ecg", "eeg"]}}, "'simulate.signal_kinds.1' has value 'eeg'"),
    ({"window_samples": -2048}, "'window_samples' is invalid"),
    ({"sampling_rate_hz": 250.5}, "'sampling_rate_hz' is 250.5"),
    ({"simulate": {"factors": {"ranges": {"rsp": {"resp_rate_bpm": [30, 10]}}}}},
     "'simulate.factors.ranges.rsp.resp_rate_bpm' has min 30 > max 10"),
    ({"simulate": {"factors": {"ranges": {"ecg": {"heart_rate": [50, 60]}}}}},
     "'simulate.factors.ranges.ecg.heart_rate' is not a factor of ecg: use one of heart_rate_bpm"),
    ({"simulate": {"factors": {"ranges": {"ecg": {"noise_amplitude_au": [-1, 1]}}}}},
     "has a negative minimum -1"),
    ({"simulate": {"factors": {"ranges": {"ppg": {"heart_rate_bpm": [60, 190]}}}}},
     "'simulate.factors.ranges.ppg' allows beats of 0.25 s"),
    ({"simulate": {"factors": {"ranges": {"emg": {"burst_duration_s": [0.5, 3.0]}}}}},
     "'simulate.factors.ranges.emg' allows 9.00 s of bursts in a 8.19 s window"),
    ({"simulate": {"sweeps": {"stepz": 3}}}, "unknown config key 'simulate.sweeps.stepz'"),
])
def test_bad_simulate_config_fails_with_one_line(
    tmp_path: Path, override: dict, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, override)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_refuses_bad_config_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"simulate": {"factors": {"ranges": {
        "ecg": {"heart_rate_bpm": [150, 45]}}}}}))
    out = tmp_path / "out"
    code = main(["simulate", "--configfile", str(path), "--suite", "factors", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("physio-bench: error: config key 'simulate.factors.ranges.ecg.")
    assert len(err.splitlines()) == 1
    assert not out.exists()
