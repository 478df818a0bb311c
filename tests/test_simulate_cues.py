"""Cue-leak audit: no scenario class is told from normal sinus rhythm by one trivial cue.

For every scenario class (every class the simulator knows, so a new class is audited
the moment it exists) a depth-2 tree on one trivial cue per window (a channel's mean, SD
or amplitude, the window length, the channels present) must stay at or below the
documented bound of :mod:`physio_bench.simulate.cues` in subject-grouped
cross-validation; 40 subjects per class. The audit itself is checked on windows with a
planted cue.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import simulate_suite
from physio_bench.simulate.classes import SCENARIO_CLASSES
from physio_bench.simulate.cues import (
    DEFINING_CUES,
    LEAK_BOUND,
    REFERENCE_CLASS,
    cue_audit,
    cue_names,
    leaks,
)

SUBJECTS = 40


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("cues")
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({"simulate": {"scenarios": {
        "subjects_per_scenario": SUBJECTS, "classes": list(SCENARIO_CLASSES)}}}))
    simulate_suite(load_config([path]), "scenarios", tmp / "s")
    return read_suite(tmp / "s")


@pytest.fixture(scope="module")
def table(suite: Any) -> pd.DataFrame:
    return cue_audit(suite.signals, suite.labels, list(suite.meta["channel_names"]))


def test_every_class_and_cue_is_audited(suite: Any, table: pd.DataFrame) -> None:
    assert set(table.index) == set(SCENARIO_CLASSES) - {REFERENCE_CLASS}
    assert list(table.columns) == cue_names(list(suite.meta["channel_names"]))
    assert len(table.columns) == 5 * 3 + 2
    # window length and channel presence are the same in every window: no leak at all
    assert (table[["window_length_samples", "channels_present_count"]] == 0.5).all().all()
    assert all(name in SCENARIO_CLASSES and cue in table.columns and LEAK_BOUND < bound < 1
               for (name, cue), (bound, _) in DEFINING_CUES.items())


def test_no_class_is_separated_by_a_trivial_cue(table: pd.DataFrame) -> None:
    print(table.max(axis=1).sort_values().round(2).to_string())
    assert leaks(table) == []


def test_the_audit_finds_a_planted_cue(suite: Any) -> None:
    """Positive control: sinus tachycardia windows whose PPG is scaled by 10 (another
    oximeter's gain) and sinus bradycardia windows shifted by 1 mV (an ECG offset) are
    flagged, on those cues and no others."""
    labels = suite.labels.copy()
    signals = np.array(suite.signals, dtype=np.float32)
    rows = labels.index[labels["scenario"] == "sinus_tachycardia"]
    signals[rows, 1] *= 10.0
    labels.loc[rows, "scenario"] = "gain_leak"
    rows = labels.index[labels["scenario"] == "sinus_bradycardia"]
    signals[rows, 0] += 1.0
    labels.loc[rows, "scenario"] = "offset_leak"
    keep = labels["scenario"].isin(["normal_sinus", "gain_leak", "offset_leak"]).to_numpy()
    found = leaks(cue_audit(signals[keep], labels[keep].reset_index(drop=True),
                            list(suite.meta["channel_names"])))
    flagged = {(x["scenario"], x["cue"]) for x in found}
    assert ("offset_leak", "ecg_mean") in flagged
    assert {("gain_leak", "ppg_sd"), ("gain_leak", "ppg_amplitude")} <= flagged
    assert all(name in ("gain_leak", "offset_leak") for name, _ in flagged)


def test_too_few_subjects_are_refused_not_scored(suite: Any) -> None:
    """A class with fewer subjects than folds is refused, not scored."""
    labels = suite.labels
    keep = labels["scenario"].isin(["normal_sinus", "tachypnea"]).to_numpy()
    small = labels[keep].groupby("scenario").head(3).index
    with pytest.raises(ValueError, match="fewer than 5 subjects"):
        cue_audit(np.asarray(suite.signals)[small], labels.loc[small].reset_index(drop=True),
                  list(suite.meta["channel_names"]))
