"""Known answers: every label column of every suite against an independent detector.

Each label is measured again on the stored noisy window with a standard detector
(:mod:`physio_bench.simulate.detectors`: neurokit2's ecg_peaks, ppg_findpeaks,
rsp_peaks, eda_peaks, emg_activation, or a textbook estimator) and compared with the
label; the tolerance of each is stated below as (median, 90th percentile) of
|detected - label|, or (fraction exact, 90th percentile) for counts. The sweeps suite is
made of the factors suite's windows and the training suite of the scenario windows, so
these cover them (their format is tested in test_simulate.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import FACTORS, simulate_suite
from physio_bench.simulate.classes import SCENARIO_COLUMNS
from physio_bench.simulate.detectors import measure_scenario, measure_single
from physio_bench.simulate.ground_truth import window_rate
from physio_bench.simulate.known_answers import factor_comparisons, scenario_comparisons

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FS, N, WINDOW_S = 125.0, 4000, 32.0
#: (kind, label) -> (max median |error|, max 90th percentile |error|), label units.
FACTOR_TOLERANCE = {
    ("ecg", "heart_rate_bpm"): (0.5, 1.0),
    ("ecg", "heart_rate_std_bpm"): (0.3, 1.0),
    ("ecg", "resp_rate_bpm"): (1.0, 4.0),  # small equiphasic QRS at a -30 deg axis in II
    ("ecg", "noise_amplitude_mv"): (0.005, 0.01),
    ("ppg", "heart_rate_bpm"): (0.5, 1.0),
    ("ppg", "heart_rate_std_bpm"): (0.5, 3.0),  # 8-ms sampling: 1 sample = 2.6 bpm at 140
    ("ppg", "resp_rate_bpm"): (1.0, 4.0),
    ("ppg", "noise_amplitude_au"): (0.005, 0.01),
    ("rsp", "resp_rate_bpm"): (0.3, 0.6),
    ("rsp", "noise_amplitude_l"): (0.002, 0.004),
    ("eda", "scr_number_count"): (0.0, 1.0),
    ("eda", "drift_us_per_s"): (0.012, 0.03),
    ("eda", "noise_amplitude_us"): (0.001, 0.002),
    ("emg", "burst_number_count"): (0.0, 1.0),
    ("emg", "burst_duration_s"): (0.1, 0.2),
    ("emg", "noise_amplitude_mv"): (0.002, 0.005),
}
SCENARIO_TOLERANCE = {
    "heart_rate_bpm": (0.5, 2.0),
    "heart_rate_change_bpm": (1.0, 3.0),
    "resp_rate_bpm": (0.5, 1.5),
    "resp_rate_change_bpm": (1.0, 2.5),
    "change_time_s": (1.5, 3.0),
    "rr_interval_cv": (0.01, 0.03),
    "ectopic_beat_count": (0.0, 1.0),
    "apnea_duration_s": (1.5, 3.0),
    "pause_number_count": (0.0, 0.0),
    "pulse_amplitude_au": (0.08, 0.15),
    "pulse_amplitude_cv": (0.03, 0.08),
    "pulse_arrival_time_s": (0.03, 0.05),
    "pulse_arrival_foot_s": (0.015, 0.03),
    "pulse_arrival_resp_change_s": (0.006, 0.012),
    "pulse_amplitude_resp_change_frac": (0.04, 0.08),
    "pulse_amplitude_variation_frac": (0.04, 0.1),
    "scr_number_count": (0.0, 1.0),
    "eda_tonic_us": (0.25, 0.5),
    "burst_number_count": (0.0, 0.0),
    "t_wave_polarity_sign": (0.0, 0.0),
}
#: Scenario labels without an independent detector (see physio_bench.simulate.detectors;
#: they are checked against the events in test_simulate_physiology.py).
NO_DETECTOR = {"atrial_rate_bpm", "av_conduction_ratio", "blocked_p_wave_count",
               "pr_interval_s", "pr_prolongation_s", "flutter_conduction_ratio",
               "ecg_axis_deg", "qrs_width_s"}


def _suite(tmp: Path, override: dict[str, Any], suite: str) -> Any:
    path = tmp / f"{suite}.yaml"
    path.write_text(yaml.safe_dump(override))
    simulate_suite(load_config([path]), suite, tmp / suite)
    return read_suite(tmp / suite)


def _stats(error: np.ndarray) -> tuple[float, float]:
    error = np.abs(error[np.isfinite(error)])
    return float(np.median(error)), float(np.quantile(error, 0.9))


@pytest.fixture(scope="module")
def factor_errors(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """|detected - label| of every factor of 24 windows per kind."""
    s = _suite(tmp_path_factory.mktemp("ka"), {"simulate": {"factors": {"windows_per_kind": 24}}},
               "factors")
    return pd.DataFrame([
        {"kind": kind, "label": label, "truth": truth, "detected": found}
        for kind, label, truth, found in factor_comparisons(s, FS)])


@pytest.fixture(scope="module")
def scenario_errors(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """|detected - label| of every scenario label, 3 subjects in every default class."""
    s = _suite(tmp_path_factory.mktemp("ka"),
               {"simulate": {"scenarios": {"subjects_per_scenario": 3}}}, "scenarios")
    checked = [label for label in SCENARIO_COLUMNS if label not in NO_DETECTOR]
    return pd.DataFrame([
        {"scenario": name, "label": label, "truth": truth, "detected": found}
        for name, label, truth, found in scenario_comparisons(s, FS, checked)])


@pytest.mark.parametrize(("kind", "label"), list(FACTOR_TOLERANCE))
def test_factor_label_matches_detector(factor_errors: pd.DataFrame, kind: str, label: str
                                       ) -> None:
    rows = factor_errors[(factor_errors["kind"] == kind) & (factor_errors["label"] == label)]
    assert len(rows) >= 12, (kind, label)
    error = (rows["detected"] - rows["truth"]).to_numpy(float)
    assert np.isfinite(error).mean() >= 0.9, f"{kind}:{label}: detector found nothing"
    median, p90 = _stats(error)
    print(f"factors {kind}:{label}: median {median:.4g}, p90 {p90:.4g}")
    max_median, max_p90 = FACTOR_TOLERANCE[(kind, label)]
    assert median <= max_median and p90 <= max_p90


def test_every_factor_has_a_known_answer() -> None:
    assert set(FACTOR_TOLERANCE) == {(k, f.column) for k, specs in FACTORS.items()
                                     for f in specs}
    assert set(SCENARIO_TOLERANCE) | NO_DETECTOR == set(SCENARIO_COLUMNS)
    assert not set(SCENARIO_TOLERANCE) & NO_DETECTOR


@pytest.mark.parametrize("label", list(SCENARIO_TOLERANCE))
def test_scenario_label_matches_detector(scenario_errors: pd.DataFrame, label: str) -> None:
    rows = scenario_errors[scenario_errors["label"] == label]
    assert len(rows) >= 3, label
    error = (rows["detected"] - rows["truth"]).to_numpy(float)
    assert np.isfinite(error).mean() >= 0.9, f"{label}: detector found nothing"
    median, p90 = _stats(error)
    print(f"scenarios {label}: median {median:.4g}, p90 {p90:.4g} over {len(rows)} windows")
    max_median, max_p90 = SCENARIO_TOLERANCE[label]
    assert median <= max_median and p90 <= max_p90


@pytest.fixture(scope="module")
def af_apnea(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("af")
    s = _suite(tmp, {"simulate": {"scenarios": {
        "subjects_per_scenario": 10, "classes": ["irregular_rhythm", "central_apnea"]}}},
               "scenarios")
    return s, pd.read_parquet(tmp / "scenarios" / "events.parquet")


def test_af_labels_are_the_realised_rhythm(af_apnea: tuple[Any, pd.DataFrame]) -> None:
    """AF over ~50 beats: the labels are the rate and RR CV of the placed beats (events);
    the detector agrees within 0.5 bpm and 0.01 at the median (it misses some beats that
    follow 0.3-s RR intervals), the requested values do not."""
    s, events = af_apnea
    rows = s.labels.index[s.labels["scenario"] == "irregular_rhythm"]
    found = pd.DataFrame([measure_scenario(np.asarray(s.signals[i], float), FS) for i in rows],
                         index=rows)
    for i in rows:
        beats = events[(events["window_id"] == i) & (events["event"] == "beat")]["start_s"]
        assert s.labels.loc[i, "heart_rate_bpm"] == pytest.approx(window_rate(beats, 0, WINDOW_S))
    labels = s.labels.loc[rows]
    assert (found["heart_rate_bpm"] - labels["heart_rate_bpm"]).abs().median() <= 0.5
    assert (found["rr_interval_cv"] - labels["rr_interval_cv"]).abs().median() <= 0.01
    requested_hr = (labels["requested_heart_rate_bpm"] - labels["heart_rate_bpm"]).abs()
    requested_cv = (labels["requested_rr_interval_cv"] - labels["rr_interval_cv"]).abs()
    assert requested_hr.median() > 0.5 and requested_cv.median() > 0.01


def test_apnea_labels_are_the_realised_breathing(af_apnea: tuple[Any, pd.DataFrame]) -> None:
    """Central apnea >= 10 s at random positions; the breathing-rate label leaves the
    pause out (so it stays near the requested rate, far from the rate counted over the
    pause); the detector, which leaves out gaps 5 s longer than the others, agrees
    within 1.5 /min at the median (it drops a breath starting in the window's last
    second, and in one of the ten windows it keeps too few breaths to see the pause), and
    on the pause's length and count."""
    s, events = af_apnea
    rows = s.labels.index[s.labels["scenario"] == "central_apnea"]
    starts, rate_error, apnea_error, pauses = [], [], [], []
    for i in rows:
        found = measure_scenario(np.asarray(s.signals[i], float), FS)
        label = s.labels.loc[i]
        assert label["apnea_duration_s"] >= 10 and label["pause_number_count"] == 1
        rate_error.append(abs(found["resp_rate_bpm"] - label["resp_rate_bpm"]))
        apnea_error.append(abs(found["apnea_duration_s"] - label["apnea_duration_s"]))
        pauses.append(found["pause_number_count"])
        onsets = events[(events["window_id"] == i) & (events["event"] == "breath")]["start_s"]
        assert window_rate(onsets, 0, WINDOW_S) < label["resp_rate_bpm"] - 2
        assert label["resp_rate_bpm"] == pytest.approx(label["requested_resp_rate_bpm"],
                                                       rel=0.1)
        apnea = events[(events["window_id"] == i) & (events["event"] == "apnea")]
        assert len(apnea) == 1 and apnea["label"].iloc[0] == label["apnea_type"] == "central"
        starts.append(float(apnea["start_s"].iloc[0]))
        assert (apnea["stop_s"] - apnea["start_s"]).iloc[0] == pytest.approx(
            label["apnea_duration_s"])
    assert np.ptp(starts) > 5.0  # not always at the same place in the window
    rate_error, apnea_error = np.array(rate_error), np.array(apnea_error)
    assert np.median(rate_error) <= 1.5 and np.nanmedian(apnea_error) <= 1.5
    # at most one window where the detector keeps too few breaths to see the pause
    assert (~(rate_error <= 3.0)).sum() <= 1 and (~(apnea_error <= 4.0)).sum() <= 1
    assert np.mean(np.array(pauses) == 1) >= 0.8


def test_rsp_factor_label_is_the_realised_rate(tmp_path: Path) -> None:
    """Single-channel RSP: the label is the realised rate (detector within 0.3 /min at the
    median), and realised and requested differ by the breath-length jitter."""
    s = _suite(tmp_path, {"simulate": {"signal_kinds": ["rsp"],
                                       "factors": {"windows_per_kind": 30}}}, "factors")
    detected = np.array([measure_single("rsp", np.asarray(x[0], float), FS)["resp_rate_bpm"]
                         for x in s.signals])
    label = s.labels["resp_rate_bpm"].to_numpy()
    assert np.median(np.abs(detected - label)) <= 0.3
    assert np.median(np.abs(s.labels["requested_resp_rate_bpm"] - label)) > 0.01


@pytest.mark.parametrize("suite", ["factors", "scenarios"])
def test_windows_with_respiration_hold_three_breaths_at_the_lowest_rate(
    tmp_path: Path, suite: str
) -> None:
    """The slowest configurable breathing (6 /min) still gives >= 3 breath onsets in every
    window carrying respiration (ECG and PPG through modulation, RSP), by its labels."""
    slow = {"resp_rate_bpm": [6, 6.3]}
    override = {"simulate": {
        "signal_kinds": ["ecg", "ppg", "rsp"],
        "factors": {"windows_per_kind": 20, "ranges": {k: slow for k in ("ecg", "ppg", "rsp")}},
        "scenarios": {"subjects_per_scenario": 12,
                      "classes": ["bradypnea", "apnea", "central_apnea", "obstructive_apnea",
                                  "resp_rate_ramp", "resp_rate_step"]}}}
    s = _suite(tmp_path, override, suite)
    events = pd.read_parquet(tmp_path / suite / "events.parquet")
    onsets = events[(events["event"] == "breath") & (events["start_s"] >= 0)
                    & (events["start_s"] < WINDOW_S)]
    counts = onsets.groupby("window_id").size().reindex(range(len(s.labels)), fill_value=0)
    assert counts.min() >= 3
    assert (s.labels["resp_rate_bpm"] >= 5.5).all()
    if suite == "factors":  # the label is the rate of those onsets
        for i, row in s.labels.iterrows():
            times = onsets.loc[onsets["window_id"] == i, "start_s"]
            assert row["resp_rate_bpm"] == pytest.approx(window_rate(times, 0, WINDOW_S))
