"""Domain models (``ModelInfo.signal_kinds``): tasks outside their signal kinds have no
number, the probes and the downstream stage say so in one note, the leaderboard shows it,
and the rows that do fit equal those of the same embeddings without the declaration."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import RUNS_OFF, SMALL_PROBE_SUITES, SMALL_PROBES, TRAINED_OFF, reference_results
from test_downstream_tasks import _results as downstream_results
from test_downstream_tasks import config as downstream_config  # noqa: F401 (fixture)

from physio_bench.applicability import (
    accepted_kinds,
    applies,
    check_kinds,
    mask_rows,
    note,
    task_kinds,
)
from physio_bench.downstream import run_downstream
from physio_bench.models.protocol import ModelInfo
from physio_bench.probes.runner import run_probe_outputs
from physio_bench.probes.synthetic import SyntheticSpec
from physio_bench.report.leaderboard import format_cell

PROBES_SECTION = SMALL_PROBES
SPEC = SyntheticSpec(**SMALL_PROBE_SUITES)


@pytest.mark.parametrize(("task", "kinds"), [
    ("ecg:heart_rate_bpm", ("ecg",)), ("ppg", ("ppg",)), ("factors:rsp", ("rsp",)),
    ("real:bidmc:ppg:resp_rate_bpm", ("ppg",)), ("sim2real:mitdb:ecg:beat_class", ("ecg",)),
    ("all", None), ("scenarios", None), ("factors:heart_rate_bpm", None),
    ("scenarios:ramp_step:heart_rate_bpm", None), ("calibration", None),
    ("factors:all", None),
])
def test_task_kinds_read_from_the_name(task: str, kinds: tuple[str, ...] | None) -> None:
    assert task_kinds(task) == kinds


def test_a_task_fits_only_when_it_uses_nothing_but_accepted_kinds() -> None:
    assert applies("real:mitdb:ecg:heart_rate_bpm", ("ecg",))
    assert not applies("real:bidmc:ppg:resp_rate_bpm", ("ecg",))
    assert not applies("all", ("ecg",))  # a mean over every kind
    assert not applies("scenarios", ("ecg", "ppg"))  # all five channels
    assert applies("scenarios", None) and applies("ppg:heart_rate_bpm", None)


def test_notes_and_kind_checks() -> None:
    assert note(["ecg"]) == "n/a: model is ECG-only"
    assert note(["ppg", "ecg"]) == "n/a: model is ECG and PPG-only"
    assert check_kinds(["ppg"], "x") == ("ppg",)
    assert check_kinds([], "x") is None
    assert check_kinds(["ecg", "ppg", "rsp", "eda", "emg"], "x") is None  # every kind
    with pytest.raises(ValueError, match=r"^model 'm' signal_kinds: unknown signal kind"):
        check_kinds(["ekg"], "model 'm' signal_kinds")


def test_model_info_mirrors_signal_kinds_into_extra() -> None:
    info = ModelInfo("m", "p", "arch", 1, True, "w", ["layer"], signal_kinds=["ppg"])
    data = info.to_dict()
    assert data["signal_kinds"] == ["ppg"] and data["extra"]["signal_kinds"] == ["ppg"]
    # model.json keeps extra whole (not the top-level field): the reader finds it there
    assert accepted_kinds({"name": "m", "extra": data["extra"]}) == ("ppg",)
    assert accepted_kinds({"name": "m"}) is None
    assert ModelInfo.from_any(data).signal_kinds == ["ppg"]
    with pytest.raises(ValueError, match="unknown signal kind"):
        ModelInfo("m", "p", "arch", 1, True, "w", ["layer"], signal_kinds=["ekg"])


def test_mask_rows_keeps_fitting_rows_and_empties_the_others() -> None:
    rows = [{"task": "ecg:heart_rate_bpm", "value": 0.9, "ci_low": 0.8, "ci_high": 1.0,
             "note": ""},
            {"task": "all", "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "note": ""}]
    out, masked = mask_rows(rows, ("ecg",))
    assert out[0] == rows[0] and masked == ["all"]
    assert math.isnan(out[1]["value"]) and out[1]["note"] == "n/a: model is ECG-only"
    assert rows[1]["value"] == 0.5  # the input is not changed
    assert mask_rows(rows, None) == (rows, [])


def test_leaderboard_cell_shows_the_note() -> None:
    assert format_cell(math.nan, math.nan, math.nan, 40, "n/a: model is PPG-only") == (
        "n/a: model is PPG-only")
    assert format_cell(0.5, 0.4, 0.6, 40, "") == "0.50 [0.40, 0.60]"


# ------------------------------------------------------------------ probes

@pytest.fixture(scope="module")
def probe_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic suites, the oracle's embeddings, and the same embeddings under the
    name ``oracle-ecg`` whose model.json declares ``signal_kinds: [ecg]`` (the synthetic
    factors suite has ECG and RSP windows)."""
    root = reference_results(tmp_path_factory, "applicability", SPEC)
    shutil.copytree(root / "embeddings" / "oracle", root / "embeddings" / "oracle-ecg")
    for path in (root / "embeddings" / "oracle-ecg").glob("*/model.json"):
        info = json.loads(path.read_text())
        info["extra"] = {**info.get("extra", {}), "signal_kinds": ["ecg"]}
        path.write_text(json.dumps(info))
    return root


@pytest.mark.parametrize("probe", ["feature_independence", "scenario_separation"])
def test_probe_rows_of_other_kinds_are_not_applicable(probe_results: Path, probe: str) -> None:
    config = {"seed": 1, "probes": PROBES_SECTION}
    general = run_probe_outputs(config, probe, "oracle", probe_results)
    domain = run_probe_outputs(config, probe, "oracle-ecg", probe_results)
    assert len(general.rows) == len(domain.rows)
    fitting = 0
    for g, d in zip(general.rows, domain.rows, strict=True):
        assert (g["task"], g["metric"], g["layer"]) == (d["task"], d["metric"], d["layer"])
        if applies(g["task"], ("ecg",)):
            fitting += 1
            assert d == {**g, "model": "oracle-ecg"}  # the same number where it fits
        else:
            assert math.isnan(d["value"]) and d["note"] == "n/a: model is ECG-only"
    # feature independence: the ECG factors' rows fit; scenario separation: none does
    assert (fitting > 0) == (probe == "feature_independence")
    masked = set(domain.detail["not_applicable"])
    assert domain.detail["signal_kinds"] == ["ecg"] and masked
    assert "all" in masked or probe == "scenario_separation"
    assert not set(domain.predictions["task"]) & masked  # nothing left to compare
    kept = general.predictions[~general.predictions["task"].isin(masked)]
    pd.testing.assert_frame_equal(domain.predictions, kept.reset_index(drop=True))


# -------------------------------------------------------------- downstream

def test_downstream_runs_only_the_tasks_of_accepted_kinds(
        tmp_path: Path, downstream_config: dict) -> None:  # noqa: F811
    results = downstream_results(tmp_path, True)
    general = run_downstream(downstream_config, "m", results)
    for path in (results / "embeddings" / "m").glob("*/model.json"):
        info = json.loads(path.read_text())
        path.write_text(json.dumps({**info, "extra": {"signal_kinds": ["ecg"]}}))
    detail, rows, predictions, _ = run_downstream(downstream_config, "m", results)
    assert detail["signal_kinds"] == ["ecg"]
    for name, task in detail["tasks"].items():
        if ":ecg:" in name:
            assert task == general[0]["tasks"][name]
        else:
            assert task["note"] == "n/a: model is ECG-only" and "last" not in task
    by_task = {(r["task"], r["layer"]): r for r in rows}
    assert np.isfinite(by_task[("real:toy:ecg:heart_rate_bpm", "last")]["value"])
    assert math.isnan(by_task[("real:toy:ppg:heart_rate_bpm", "last")]["value"])
    assert set(predictions["task"]) == {t for t in general[2]["task"] if ":ecg:" in t}


# --------------------------------------------------------------- leaderboard

def test_the_leaderboard_shows_n_a_where_a_domain_model_does_not_fit(
        tmp_path: Path) -> None:
    """raw's rows masked as an ECG-only model's would be: the headline table and the stage
    tables show the note in its cells, and keep its numbers on the ECG tasks."""
    import yaml

    from physio_bench.io import write_leaderboard_rows
    from physio_bench.preflight import load_config
    from physio_bench.report.leaderboard import write_leaderboard
    from physio_bench.report.synthetic import write_synthetic_results

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump({
        "simulate": {"signal_kinds": ["ecg", "rsp"],
                     "scenarios": {"classes": ["normal_sinus", "apnea", "heart_rate_ramp"]}},
        "models": {"spectral": {"plugin": "spectral", "enabled": False},
                   "handcrafted": {"plugin": "handcrafted", "enabled": False},
                   **TRAINED_OFF},
        "finetune": RUNS_OFF,
    }))
    config = load_config([path])
    results = write_synthetic_results(tmp_path / "results", config)
    for csv in [*results.glob("probes/raw/*.csv"), results / "downstream" / "raw.csv"]:
        rows, _ = mask_rows(pd.read_csv(csv, keep_default_na=True).to_dict("records"),
                            ("ecg",))
        write_leaderboard_rows(csv, rows)
    write_leaderboard(config, results)
    wide = pd.read_csv(results / "leaderboard_wide.csv")
    raw = wide[wide["model"] == "raw"].iloc[0]
    assert math.isnan(raw["mean_r2"]) and raw["mean_r2_note"] == "n/a: model is ECG-only"
    assert np.isfinite(raw["real_hr_mae"])  # HR from ECG fits an ECG model
    assert raw["real_rr_mae_note"] == "n/a: model is ECG-only"  # RR from PPG does not
    line = next(x for x in (results / "leaderboard.md").read_text().splitlines()
                if x.startswith("| raw |"))
    assert line.count("n/a: model is ECG-only") >= 3
    stage = (results / "tables" / "scenario_separation.md").read_text()
    assert "n/a: model is ECG-only" in stage


NEW_MODELS = {"papagei-s": "papagei", "hubert-ecg-small": "hubert_ecg",
              "sundial-base": "sundial", "timer-xl-base": "timer_xl"}


def test_new_plug_ins_are_entry_points_disabled_by_default_and_refused_without_weights(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from physio_bench.errors import ModelError
    from physio_bench.models.registry import available_plugins
    from physio_bench.preflight import check_before_run, load_config

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    config = load_config()
    plugins = available_plugins()
    for name, plugin in NEW_MODELS.items():
        entry = config["models"][name]
        assert entry["plugin"] == plugin and entry["enabled"] is False
        factory = plugins[plugin].load()
        assert factory.default_input_hz > 0
        enabled = {**config, "models": {**config["models"], name: {**entry, "enabled": True}}}
        with pytest.raises(ModelError) as error:
            check_before_run(enabled)
        message = str(error.value)
        assert "\n" not in message and repr(name) in message
        hint = "convert-papagei" if plugin == "papagei" else f"hf download {entry['weights']}"
        assert hint in message
