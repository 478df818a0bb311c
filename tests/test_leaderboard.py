"""Leaderboard tables: long (tidy, sorted), wide/Markdown (headlines, CIs, model types)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.errors import InputError
from physio_bench.io import LEADERBOARD_COLUMNS, write_leaderboard_rows
from physio_bench.metrics import METRICS
from physio_bench.preflight import load_config
from physio_bench.report.leaderboard import (
    HEADLINES,
    Headline,
    format_cell,
    normalise,
    select,
    write_leaderboard,
)
from physio_bench.report.synthetic import write_synthetic_results

MODELS = ["raw", "moirai-small-untrained", "moirai-1.1-R-small"]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(yaml.safe_dump({
        "simulate": {"signal_kinds": ["ecg", "rsp"],
                     "scenarios": {"classes": ["normal_sinus", "apnea", "heart_rate_ramp"]}},
        "models": {"spectral": {"plugin": "spectral", "enabled": False},
                   "handcrafted": {"plugin": "handcrafted", "enabled": False},
                   "moirai-1.1-R-small": {"plugin": "moirai", "enabled": True}},
    }))
    return load_config([path])


@pytest.fixture(scope="module")
def board(config: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = write_synthetic_results(tmp_path_factory.mktemp("board") / "results", config)
    write_leaderboard(config, results)
    return results


def _csv_rows(results: Path) -> pd.DataFrame:
    paths = sorted(results.glob("probes/*/*.csv")) + sorted(results.glob("downstream/*.csv"))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def test_long_table_holds_every_row_sorted(board: Path) -> None:
    long = pd.read_csv(board / "leaderboard.csv")
    assert list(long.columns) == LEADERBOARD_COLUMNS
    assert len(long) == len(_csv_rows(board))
    assert list(dict.fromkeys(long["model"])) == MODELS  # config order
    for _, own in long.groupby("model", sort=False):
        stages = list(dict.fromkeys(own["stage"]))
        assert stages == ["feature_independence", "temporal_dynamics", "scenario_separation",
                          "downstream"]
        for _, part in own.groupby("stage", sort=False):
            keys = list(zip(part["task"], part["metric"], part["layer"], strict=True))
            assert keys == sorted(keys)


def test_wide_table_columns_types_and_values(board: Path) -> None:
    wide = pd.read_csv(board / "leaderboard_wide.csv")
    produced = [h for h in HEADLINES if h.metric in METRICS]  # not the retired probe metrics
    expected = ["model", "type", "pretrained"] + [
        c for h in produced for c in (h.key, f"{h.key}_ci_low", f"{h.key}_ci_high")]
    assert list(wide.columns) == expected  # the synthetic results fill every such headline
    assert list(wide["model"]) == MODELS
    assert list(wide["type"]) == ["baseline", "untrained control", "pretrained"]
    assert list(wide["pretrained"]) == [False, False, True]
    rows = _csv_rows(board)
    for model in MODELS:
        hr = rows[(rows["model"] == model) & (rows["task"] == "ecg:heart_rate_bpm")
                  & (rows["metric"] == "r2") & (rows["layer"] == "last")].iloc[0]
        got = wide[wide["model"] == model].iloc[0]
        assert got["hr_r2_ecg"] == pytest.approx(hr["value"])
        assert got["hr_r2_ecg_ci_low"] == pytest.approx(hr["ci_low"])
        r2 = rows[(rows["model"] == model) & (rows["metric"] == "r2") & (rows["layer"] == "last")
                  & (rows["task"] == "all")].iloc[0]
        assert got["mean_r2"] == pytest.approx(r2["value"])  # the probe's "all" row
        assert got["mean_r2_ci_low"] == pytest.approx(r2["ci_low"])
        dci = rows[(rows["model"] == model) & (rows["task"] == "all")
                   & (rows["metric"] == "dci_disentanglement")].iloc[0]
        assert got["dci_disentanglement"] == pytest.approx(dci["value"])  # "all" wins over kinds


def test_markdown_marks_types_and_formats_cis(board: Path) -> None:
    text = (board / "leaderboard.md").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Model | Type |"))
    assert "HR R² (ECG) ↑" in header and "sim2real HR MAE (bpm) ↓" in header
    table = [line for line in lines if line.startswith("| ") and line != header]
    assert [line.split(" | ")[0] for line in table] == [
        "| raw", "| moirai-small-untrained", "| **moirai-1.1-R-small**"]
    assert [line.split(" | ")[1] for line in table] == [
        "baseline", "untrained control", "pretrained"]
    assert "untrained control = the same architecture with random weights" in text
    html = (board / "leaderboard.html").read_text()
    assert html.count("<tr class=") == 3 and 'class="pretrained"' in html


def test_format_cell_known_answers() -> None:
    assert format_cell(0.5, 0.4, 0.6, 1) == "0.50 [0.40, 0.60]"
    assert format_cell(12.345, 11.0, 13.9, 1) == "12.3 [11.0, 13.9]"
    assert format_cell(0.5, math.nan, math.nan, 3) == "0.50*"
    assert format_cell(math.nan, 0.0, 1.0, 0) == "–"


def test_select_prefers_summary_task_and_exact_layer() -> None:
    rows = normalise(pd.DataFrame([
        ["m", True, "feature_independence", "ecg", "dci_completeness", "last", 0.2, 0.1, 0.3, 9],
        ["m", True, "feature_independence", "rsp", "dci_completeness", "last", 0.4, 0.3, 0.5, 9],
        ["m", True, "feature_independence", "all", "dci_completeness", "best", 0.9, 0.8, 1.0, 9],
    ], columns=LEADERBOARD_COLUMNS[:10]).assign(
        n_subjects=9, chance=float("nan"), direction="higher", note=""), ["m"])
    headline = Headline("c", "C", "feature_independence", "dci_completeness",
                        ("all", "*"))
    value, low, high, k = select(rows, headline)
    assert (value, k) == (pytest.approx(0.3), 2) and math.isnan(low) and math.isnan(high)
    best = Headline("c", "C", "feature_independence", "dci_completeness", ("all", "*"),
                    layer="best")
    assert select(rows, best) == (pytest.approx(0.9), pytest.approx(0.8), pytest.approx(1.0), 1)


def test_same_results_give_identical_tables(board: Path, config: dict) -> None:
    names = ["leaderboard.csv", "leaderboard_wide.csv", "leaderboard.md", "leaderboard.html"]
    before = {n: (board / n).read_bytes() for n in names}
    write_leaderboard(config, board)
    assert {n: (board / n).read_bytes() for n in names} == before


def test_csv_without_leaderboard_columns_is_one_clear_error(config: dict, tmp_path: Path) -> None:
    results = tmp_path / "results"
    bad = results / "probes" / "raw" / "feature_independence.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("model,value\nraw,1.0\n")
    with pytest.raises(InputError, match=r"feature_independence.csv lacks leaderboard columns "
                                         r"pretrained, stage, task, metric, layer, ci_low"):
        write_leaderboard(config, results)


def test_no_results_is_one_clear_error(config: dict, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no probe or downstream results under .*: run "
                                         r"`snakemake all`"):
        write_leaderboard(config, tmp_path)


def test_partial_results_build_a_partial_board(config: dict, tmp_path: Path) -> None:
    """Only one model's downstream CSV: one row in the wide table, headline columns of the
    downstream stage only."""
    row = {"model": "raw", "pretrained": False, "stage": "downstream",
           "task": "real:ecg:heart_rate_bpm", "metric": "mae", "layer": "last",
           "value": 4.0, "ci_low": 3.5, "ci_high": 4.5, "n": 30}
    write_leaderboard_rows(tmp_path / "downstream" / "raw.csv", [row])
    write_leaderboard(config, tmp_path)
    wide = pd.read_csv(tmp_path / "leaderboard_wide.csv")
    assert list(wide.columns) == ["model", "type", "pretrained", "real_hr_mae",
                                  "real_hr_mae_ci_low", "real_hr_mae_ci_high"]
    assert np.allclose(wide.iloc[0, 3:].to_numpy(dtype=float), [4.0, 3.5, 4.5])
    assert "4.00 [3.50, 4.50]" in (tmp_path / "leaderboard.md").read_text()
