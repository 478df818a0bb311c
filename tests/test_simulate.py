"""Simulation stage: format, planning, subjects, determinism, bad configuration.

Small suites on the default window (32 s at 125 Hz). The known answers and the
physiology are in test_simulate_known_answers.py and test_simulate_physiology.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.cli import main
from physio_bench.errors import ConfigError
from physio_bench.io import read_suite
from physio_bench.preflight import check_before_run, load_config
from physio_bench.simulate import (
    FACTORS,
    check_simulation,
    count_windows,
    simulate_suite,
    window_seed,
)
from physio_bench.simulate.classes import (
    SCENARIO_CATEGORIES,
    SCENARIO_CLASSES,
    SCENARIO_COLUMNS,
    SCENARIO_REQUESTED,
)
from physio_bench.simulate.factors import factor_ranges
from physio_bench.simulate.plan import plan_factors, plan_suite

ALL_KINDS = ["ecg", "ppg", "rsp", "eda", "emg"]
FS, N = 125, 4000


def _config(tmp_path: Path, override: dict[str, Any], name: str = "override.yaml") -> dict:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(override))
    return load_config([path])


def _simulate(tmp_path: Path, override: dict[str, Any], suite: str, name: str) -> Any:
    config = _config(tmp_path, override, f"{name}.yaml")
    simulate_suite(config, suite, tmp_path / name)
    return read_suite(tmp_path / name)


def _events(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path / "events.parquet")


@pytest.fixture(scope="module")
def factors_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("factors")
    _simulate(tmp, {"simulate": {"factors": {"windows_per_kind": 6}}}, "factors", "s")
    return tmp / "s"


@pytest.fixture(scope="module")
def scenarios_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every default class, 3 subjects (each in every class), 1 window each."""
    tmp = tmp_path_factory.mktemp("scenarios")
    _simulate(tmp, {"simulate": {"scenarios": {"subjects_per_scenario": 3}}}, "scenarios", "s")
    return tmp / "s"


# --- format -------------------------------------------------------------------------------


def test_default_window_is_32_s_at_125_hz() -> None:
    config = load_config()
    assert config["sampling_rate_hz"] == 125 and config["window_samples"] == 4000
    check_simulation(config, ["factors", "sweeps", "scenarios", "training"])  # every rule holds


def test_factors_suite_format(factors_dir: Path) -> None:
    s = read_suite(factors_dir)
    labels, meta = s.labels, s.meta
    assert s.signals.dtype == np.float32 and s.signals.shape == (30, 1, N)
    assert np.isfinite(s.signals).all()
    assert meta["n_windows"] == 30 and meta["channel_names"] == ["signal"]
    assert meta["sampling_rate_hz"] == FS and meta["window_samples"] == N
    assert meta["factor_columns"] == {k: [f.column for f in FACTORS[k]] for k in ALL_KINDS}
    assert meta["channel_units"] == {"ecg": "mV", "ppg": "a.u.", "rsp": "L", "eda": "uS",
                                     "emg": "mV"}
    assert list(labels["window_id"]) == list(range(30))
    assert list(labels.columns[:5]) == [
        "window_id", "subject_id", "signal_kind", "scenario", "dynamics"]
    assert labels["subject_id"].nunique() == 30  # every factors window is its own subject
    assert list(labels["signal_kind"][:5]) == ALL_KINDS  # kinds interleaved
    assert set(s.targets) == {"heart_rate_bpm", "resp_rate_bpm", "resp_phase_rad"}
    for key, target in s.targets.items():
        assert target.shape == (30, N) and target.dtype == np.float32, key
    kind = labels["signal_kind"].to_numpy()
    cardiac, breathing = np.isin(kind, ["ecg", "ppg"]), np.isin(kind, ["ecg", "ppg", "rsp"])
    assert np.isfinite(s.targets["heart_rate_bpm"][cardiac]).all()
    assert np.isnan(s.targets["heart_rate_bpm"][~cardiac]).all()
    assert np.isfinite(s.targets["resp_rate_bpm"][breathing]).all()
    assert np.isnan(s.targets["resp_phase_rad"][~breathing]).all()
    phase = s.targets["resp_phase_rad"][breathing]
    assert phase.min() >= 0 and phase.max() < 2 * np.pi
    for k in ALL_KINDS:  # a factor column is NaN exactly where it does not apply
        rows = labels[labels["signal_kind"] == k]
        own = [f.column for f in FACTORS[k]]
        assert rows[own].notna().all().all(), k
        assert rows[[f"requested_{c}" for c in own]].notna().all().all(), k
        others = [c for kk in ALL_KINDS for c in meta["factor_columns"][kk] if c not in own]
        assert rows[others].isna().all().all(), k


def test_events_table(factors_dir: Path, scenarios_dir: Path) -> None:
    for folder in (factors_dir, scenarios_dir):
        events = _events(folder)
        assert list(events.columns) == ["window_id", "event", "start_s", "stop_s", "label"]
        assert events["window_id"].dtype == np.int64
        assert events["start_s"].dtype == np.float64 and events["stop_s"].dtype == np.float64
        assert (events["stop_s"] >= events["start_s"]).all()
        n = read_suite(folder).meta["n_windows"]
        assert events["window_id"].between(0, n - 1).all()
        beats = events[events["event"] == "beat"]
        assert set(beats["label"]) <= {"N", "S", "V", "F", "Q"}
        assert (beats["start_s"] == beats["stop_s"]).all()
    scen = _events(scenarios_dir)
    labels = read_suite(scenarios_dir).labels
    assert {"beat", "p_wave", "pulse", "breath", "apnea", "scr", "emg_burst", "artifact",
            "effort", "f_wave"} >= set(scen["event"])
    assert {"beat", "breath", "apnea", "scr", "emg_burst", "p_wave", "pulse"} <= set(scen["event"])
    apnea = scen[scen["event"] == "apnea"].merge(labels[["window_id", "scenario"]])
    assert set(apnea["label"]) <= {"obstructive", "central", "mixed"}
    apnea_windows = set(labels.loc[labels["scenario"].str.endswith("apnea"), "window_id"])
    assert set(apnea["window_id"]) == apnea_windows
    assert set(apnea.loc[apnea["scenario"] == "central_apnea", "label"]) == {"central"}
    assert set(apnea.loc[apnea["scenario"] == "obstructive_apnea", "label"]) == {"obstructive"}
    beats = scen[scen["event"] == "beat"].merge(labels[["window_id", "scenario"]])
    assert set(beats.loc[beats["scenario"] == "premature_ventricular", "label"]) == {"N", "V"}
    assert set(beats.loc[beats["scenario"] == "premature_atrial", "label"]) == {"N", "S"}
    assert set(beats.loc[beats["scenario"] == "normal_sinus", "label"]) == {"N"}


def test_scenarios_format_and_subjects(scenarios_dir: Path) -> None:
    s = read_suite(scenarios_dir)
    labels, meta = s.labels, s.meta
    classes = load_config()["simulate"]["scenarios"]["classes"]
    assert s.signals.shape == (3 * len(classes), 5, N)
    assert np.isfinite(s.signals).all()
    assert meta["channel_names"] == ["ecg", "ppg", "rsp", "eda", "emg"]
    assert meta["factor_columns"] == {"multi": SCENARIO_COLUMNS}
    assert meta["requested_columns"] == [f"requested_{c}" for c in SCENARIO_REQUESTED]
    assert list(labels.columns) == ["window_id", "subject_id", "signal_kind", "scenario",
                                    "dynamics", *SCENARIO_CATEGORIES, *SCENARIO_COLUMNS,
                                    *meta["requested_columns"]]
    assert meta["category_columns"] == SCENARIO_CATEGORIES
    assert set(labels["ecg_lead"]) <= {"MLII", "II", "V1", "aVR"}
    assert set(labels["av_block_type"]) <= {"none", "mobitz_i", "mobitz_ii", "complete",
                                            "second_degree"}
    assert set(labels["signal_kind"]) == {"multi"}
    assert np.isfinite(s.targets["heart_rate_bpm"]).all()
    assert np.isfinite(s.targets["resp_phase_rad"]).all()
    # subject_id names the person, scenario the class: each subject is in every class
    per_subject = labels.groupby("subject_id")["scenario"].nunique()
    assert len(per_subject) == 3 and (per_subject == len(classes)).all()
    assert (labels.groupby("scenario")["subject_id"].nunique() == 3).all()
    assert set(labels.loc[labels["scenario"] == "heart_rate_step", "dynamics"]) == {"step"}
    assert set(labels.loc[labels["scenario"] == "resp_rate_ramp", "dynamics"]) == {"ramp"}


def test_default_scenarios_have_30_subjects_per_class_spanning_classes(tmp_path: Path) -> None:
    config = load_config()
    plans = plan_suite(config, "scenarios")
    frame = pd.DataFrame([{"subject": p.subject_id, "scenario": p.scenario} for p in plans])
    # every class but the generic apnea (central, obstructive or mixed) is in the default
    assert frame["scenario"].nunique() == len(SCENARIO_CLASSES) - 1 == 22
    assert set(SCENARIO_CLASSES) - set(frame["scenario"]) == {"apnea"}
    assert config["simulate"]["training"]["classes"] == config["simulate"]["scenarios"]["classes"]
    assert frame.groupby("scenario")["subject"].nunique().min() >= 30
    assert frame.groupby("subject")["scenario"].nunique().min() >= 2
    # with fewer classes per subject the population grows to keep 30 per class
    config = _config(tmp_path, {"simulate": {"scenarios": {"classes_per_subject": 4}}})
    plans = plan_suite(config, "scenarios")
    frame = pd.DataFrame([{"subject": p.subject_id, "scenario": p.scenario} for p in plans])
    assert frame.groupby("scenario")["subject"].nunique().min() >= 30
    assert (frame.groupby("subject")["scenario"].nunique() == 4).all()
    assert len(plans) == count_windows(config, "scenarios")


def test_training_suite_is_disjoint_from_the_evaluation_suites(tmp_path: Path) -> None:
    override = {"simulate": {
        "scenarios": {"subjects_per_scenario": 2, "classes": ["normal_sinus", "apnea"]},
        "training": {"subjects_per_scenario": 2, "classes": ["normal_sinus", "apnea"]}}}
    config = _config(tmp_path, override)
    train, evaluation = plan_suite(config, "training"), plan_suite(config, "scenarios")
    assert {p.subject_id for p in train}.isdisjoint({p.subject_id for p in evaluation})
    assert {p.seed for p in train}.isdisjoint({p.seed for p in evaluation})
    assert {p.subject_seed for p in train}.isdisjoint({p.subject_seed for p in evaluation})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(override))
    out = tmp_path / "training"
    assert main(["simulate", "--configfile", str(path), "--suite", "training",
                 "--out", str(out)]) == 0
    s = read_suite(out)
    assert s.meta["suite"] == "training" and s.signals.shape == (4, 5, N)
    assert s.labels["subject_id"].str.startswith("train-").all()
    assert (out / "events.parquet").exists()


def test_count_windows_is_cheap_and_matches(factors_dir: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 6}}})
    assert count_windows(config, "factors") == read_suite(factors_dir).meta["n_windows"] == 30
    assert count_windows(config, "sweeps") == 8 * 10 * sum(len(FACTORS[k]) for k in ALL_KINDS)
    assert count_windows(config, "scenarios") == 22 * 30
    assert count_windows(config, "training") == 22 * 120
    for suite in ("factors", "sweeps", "scenarios", "training"):
        assert len(plan_suite(config, suite)) == count_windows(config, suite)
    code = ("import sys, physio_bench.simulate as s; "
            "from physio_bench.preflight import load_config;"
            "c = load_config(); print(s.count_windows(c, 'scenarios'),"
            "s.count_windows(c, 'training'), 'neurokit2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["660", "2640", "False"]


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


# --- factor draws and sweeps ----------------------------------------------------------------


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
            assert values.min() < low + 0.1 * (high - low) + 1e-9, (kind, spec.column)
            assert values.max() > high - 0.1 * (high - low) - 1e-9, (kind, spec.column)
            if spec.integer:
                assert np.array_equal(values, np.round(values))
    assert {p.factors["scr_number_count"] for p in plans if p.signal_kind == "eda"} == {2.0, 3.0}


def test_requested_factors_are_independent(tmp_path: Path) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 3000}}})
    plans = plan_factors(config)
    for kind in ALL_KINDS:
        columns = [f.column for f in FACTORS[kind]]
        values = np.array([[p.factors[c] for c in columns]
                           for p in plans if p.signal_kind == kind])
        corr = np.corrcoef(values, rowvar=False)
        assert np.abs(corr[~np.eye(len(columns), dtype=bool)]).max() < 0.08, (kind, corr)


def test_written_requested_columns_are_the_drawn_factors(factors_dir: Path, tmp_path: Path
                                                         ) -> None:
    config = _config(tmp_path, {"simulate": {"factors": {"windows_per_kind": 6}}})
    labels = read_suite(factors_dir).labels
    for plan in plan_factors(config):
        row = labels.iloc[plan.window_id]
        for column, value in plan.factors.items():
            assert row[f"requested_{column}"] == pytest.approx(value)


def test_sweeps_move_one_factor_at_a_time_per_subject(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"simulate": {
        "signal_kinds": ["rsp", "eda"], "sweeps": {"steps": 3, "subjects": 2}}}))
    out = tmp_path / "sweeps"
    assert main(["simulate", "--configfile", str(path), "--suite", "sweeps",
                 "--out", str(out)]) == 0
    s = read_suite(out)
    config = load_config([path])
    assert s.signals.shape == (2 * 3 * (2 + 3), 1, N)
    assert s.labels["subject_id"].nunique() == 4  # 2 subjects x 2 kinds
    for subject, rows_s in s.labels.groupby("subject_id"):
        kind = rows_s["signal_kind"].iloc[0]
        ranges = factor_ranges(config, kind)
        for spec in FACTORS[kind]:
            rows = rows_s[rows_s["scenario"] == f"sweep:{spec.column}"]
            assert len(rows) == 3, subject
            low, high = ranges[spec.column]
            expected = np.linspace(low, high, 3)
            expected = np.round(expected) if spec.integer else expected
            np.testing.assert_allclose(rows[f"requested_{spec.column}"], expected)
            for other in FACTORS[kind]:
                if other.column != spec.column:
                    assert rows[f"requested_{other.column}"].nunique() == 1
    # the subjects differ (own seed, own morphology): same requested values, other signals
    first = s.labels.groupby("subject_id").head(1).index.to_numpy()
    rsp = [i for i in first if s.labels["signal_kind"][i] == "rsp"]
    assert not np.array_equal(s.signals[rsp[0]], s.signals[rsp[1]])


# --- determinism --------------------------------------------------------------------------

SMALL = {"simulate": {
    "factors": {"windows_per_kind": 2},
    "sweeps": {"steps": 2, "subjects": 1},
    "scenarios": {"classes": ["normal_sinus", "heart_rate_step", "apnea",
                              "premature_ventricular"],
                  "subjects_per_scenario": 2, "windows_per_subject": 1}}}
FILES = ("signals.npy", "targets.npz", "labels.parquet", "events.parquet")


@pytest.mark.parametrize("suite", ["factors", "scenarios"])
def test_same_config_gives_identical_files(tmp_path: Path, suite: str) -> None:
    config = _config(tmp_path, SMALL)
    for name in ("a", "b"):
        simulate_suite(config, suite, tmp_path / name)
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


@pytest.mark.parametrize(("suite", "grow", "n_small"), [
    ("factors", {"factors": {"windows_per_kind": 3}}, 10),
    ("scenarios", {"scenarios": {"subjects_per_scenario": 3}}, 8),
    ("sweeps", {"sweeps": {"subjects": 2}}, 32),
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
    ev_small, ev_large = _events(tmp_path / "small"), _events(tmp_path / "large")
    ev_large = ev_large[ev_large["window_id"] < n_small].reset_index(drop=True)
    assert ev_small.equals(ev_large)


# --- bad configuration --------------------------------------------------------------------


@pytest.mark.parametrize(("override", "expected"), [
    ({"simulate": {"signal_kinds": ["ecg", "eeg"]}}, "'simulate.signal_kinds.1' has value 'eeg'"),
    ({"window_samples": -2048}, "'window_samples' is invalid"),
    ({"sampling_rate_hz": 250.5}, "'sampling_rate_hz' is 250.5"),
    ({"sampling_rate_hz": 10, "window_samples": 400}, "need at least 20 Hz"),
    ({"simulate": {"factors": {"ranges": {"rsp": {"resp_rate_bpm": [30, 10]}}}}},
     "'simulate.factors.ranges.rsp.resp_rate_bpm' has min 30 > max 10"),
    ({"simulate": {"factors": {"ranges": {"ecg": {"heart_rate": [50, 60]}}}}},
     "'simulate.factors.ranges.ecg.heart_rate' is not a factor of ecg: use one of heart_rate_bpm"),
    ({"simulate": {"factors": {"ranges": {"ecg": {"noise_amplitude_mv": [-1, 1]}}}}},
     "has a negative minimum -1"),
    ({"simulate": {"factors": {"ranges": {"ppg": {"heart_rate_bpm": [60, 300]}}}}},
     "'simulate.factors.ranges.ppg.heart_rate_bpm' is [60.0, 300.0]: keep it within [20, 250]"),
    ({"simulate": {"factors": {"ranges": {"emg": {"burst_number_count": [0, 3]}}}}},
     "'simulate.factors.ranges.emg.burst_number_count' starts at 0: use >= 1"),
    ({"simulate": {"sweeps": {"stepz": 3}}}, "unknown config key 'simulate.sweeps.stepz'"),
    ({"simulate": {"scenarios": {"classes": ["apnea", "hypovolemia"],
                                 "classes_per_subject": 3}}},
     "'simulate.scenarios.classes_per_subject' is 3 but only 2 classes are listed"),
    ({"simulate": {"training": {"classes": ["normal_sinus", "sinus_arrest"]}}},
     "'simulate.training.classes.1' has value 'sinus_arrest'"),
])
def test_bad_simulate_config_fails_with_one_line(
    tmp_path: Path, override: dict, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, override)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("override", "suite", "expected"), [
    ({"window_samples": 1000}, "factors",
     "config key 'simulate.factors.ranges.ecg.resp_rate_bpm' breathes down to 6 /min, and a "
     "8.00 s window then holds fewer than 3 breaths: use windows of at least 31.8 s "
     "(window_samples >= 3976) or breathing of at least 23.9 /min"),
    ({"window_samples": 1000, "simulate": {"factors": {"ranges": {
        k: {"resp_rate_bpm": [24, 35]} for k in ("ecg", "ppg", "rsp")}}}}, "factors",
     "'simulate.factors.ranges.eda.scr_number_count' allows 7 SCRs"),
    ({"window_samples": 1500}, "scenarios",
     "scenario class 'normal_sinus' (simulate.scenarios.classes) needs windows of at least "
     "15.9 s (>= 3 breaths at 12 /min), not 12.00 s: lengthen window_samples (>= 1988)"),
    ({"window_samples": 3000, "simulate": {"scenarios": {"classes": ["apnea", "normal_sinus"]}}},
     "scenarios", "scenario class 'apnea' (simulate.scenarios.classes) needs windows of at "
                  "least 30.9 s (>= 3 breaths at 14 /min besides its apnea)"),
])
def test_windows_too_short_for_their_content_are_refused_before_simulating(
    tmp_path: Path, override: dict, suite: str, expected: str
) -> None:
    config = _config(tmp_path, override)  # loading is fine: real-data-only runs may use it
    with pytest.raises(ConfigError) as info:
        simulate_suite(config, suite, tmp_path / "out")
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError):  # and the workflow refuses it before any job
        check_before_run(config)


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
