"""The class figures' real examples: which real window stands beside a simulated class.

Real suites in the format of ``physio-bench real-windows`` (written by the report's
synthetic results); the choice rules of :mod:`physio_bench.report.inputs.real_examples`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.inputs.real_examples import EXAMPLES, inputs, real_example
from physio_bench.report.synthetic import write_real_suite
from physio_bench.simulate.classes import SCENARIO_CLASSES


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    for dataset in ("mitdb", "bidmc"):
        write_real_suite(root / "real" / dataset, seed=0, samples=256)
    return root


def test_every_example_names_a_class_and_a_shipped_dataset() -> None:
    assert set(EXAMPLES) <= set(SCENARIO_CLASSES)
    assert {e.dataset for e in EXAMPLES.values()} == {"mitdb", "bidmc"}
    assert {"premature_ventricular", "premature_atrial", "atrial_flutter", "tachypnea",
            "bradypnea"} <= set(EXAMPLES)


def test_beat_and_rate_rules_pick_the_first_matching_window(results: Path) -> None:
    pvc = real_example(results, "premature_ventricular", ["mitdb", "bidmc"])
    assert (pvc["record"], pvc["start_s"]) == ("r1", 0.0) and set(pvc["channels"]) == {
        "ecg", "ppg", "rsp"}
    assert sorted(set(pvc["events"]["ecg"]["label"]) - {""}) == ["N", "V"]
    normal = real_example(results, "normal_sinus", ["mitdb", "bidmc"])  # 15 /min
    assert normal["dataset"] == "bidmc" and len(normal["time_s"]) == 256
    assert np.isfinite(normal["channels"]["rsp"]).all()


def test_absent_counterparts_are_reasons_not_figures(results: Path) -> None:
    with pytest.raises(MissingResult, match="no real counterpart"):
        real_example(results, "central_apnea", ["mitdb", "bidmc"])
    with pytest.raises(MissingResult, match="record 202"):
        real_example(results, "atrial_flutter", ["mitdb", "bidmc"])
    with pytest.raises(MissingResult, match="resp_rate_bpm in"):
        real_example(results, "tachypnea", ["mitdb", "bidmc"])
    with pytest.raises(MissingResult, match="not configured"):
        real_example(results, "premature_atrial", ["bidmc"])
    assert inputs(results, ["bidmc"]) == [str(results / "real" / "bidmc" / f) for f in (
        "signals.npy", "labels.parquet", "events.parquet", "meta.json")]
