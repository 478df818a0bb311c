"""Leaderboard tables: long (tidy, sorted, seed means), headline (decision 11: exact rows,
arrows, chance, types, seeds, flags), per-stage tables, and the guards that keep absurd
numbers out."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    REPORT_CLASSES,
    REPORT_MODELS,
    small_config,
    small_report_config,
    synthetic_results,
)

from physio_bench.errors import InputError
from physio_bench.headlines import HEADLINES
from physio_bench.io import LEADERBOARD_COLUMNS, write_leaderboard_rows
from physio_bench.report.leaderboard import (
    CELL_COLUMNS,
    ID_COLUMNS,
    format_cell,
    stage_paths,
    write_leaderboard,
)

SEEDS = [f"moirai-small-untrained-seed{k}" for k in range(3)]
INSTANCES = ["raw", *SEEDS, "moirai-1.1-R-small"]
GROUPS = ["raw", "moirai-small-untrained", "moirai-1.1-R-small"]
REFERENCE = "reference-method"  # the downstream stage's classical methods, listed last


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return small_config(tmp_path_factory,
                        small_report_config(("ecg", "rsp"), REPORT_CLASSES, REPORT_MODELS))


@pytest.fixture(scope="module")
def board(config: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_results(tmp_path_factory, "board", config, write_leaderboard)


def _csv_rows(results: Path) -> pd.DataFrame:
    paths = sorted(results.glob("probes/*/*.csv")) + sorted(results.glob("downstream/*.csv"))
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def test_long_table_holds_every_row_sorted_with_seed_means(board: Path) -> None:
    long = pd.read_csv(board / "leaderboard.csv", keep_default_na=False, na_values=[""])
    # the producers' columns, with the kind added and the loaded-weights flag renamed
    expected = ["from_checkpoint" if c == "pretrained" else c for c in LEADERBOARD_COLUMNS]
    assert list(long.columns) == [expected[0], "type", *expected[1:]]
    rows = _csv_rows(board)
    seed_rows = rows[rows["model"] == SEEDS[0]]
    assert len(long) == len(rows) + len(seed_rows)  # one seed-mean row per seed row
    assert list(dict.fromkeys(long["model"])) == [
        "raw", "moirai-small-untrained", *SEEDS, "moirai-1.1-R-small", REFERENCE]
    assert set(long.loc[long["model"] == REFERENCE, "stage"]) == {"downstream"}
    for _, own in long[long["model"] != REFERENCE].groupby("model", sort=False):
        stages = list(dict.fromkeys(own["stage"]))
        assert stages == ["feature_independence", "temporal_dynamics", "scenario_separation",
                          "downstream"]
        for _, part in own.groupby("stage", sort=False):
            keys = list(zip(part["task"], part["metric"], part["layer"], strict=True))
            assert keys == sorted(keys)
    # direction and chance come from the metric registry where the producer left them out
    r2 = long[long["metric"] == "r2"]
    assert set(r2["direction"]) == {"higher"} and set(r2["chance"]) == {0.0}
    assert set(long.loc[long["metric"] == "mae", "direction"]) == {"lower"}
    # the seed-mean row: mean of the seeds, envelope of their intervals, range in the note
    key = (long["task"] == "all") & (long["metric"] == "r2") & (long["layer"] == "last")
    seeds = long[key & long["model"].isin(SEEDS)]
    mean = long[key & (long["model"] == "moirai-small-untrained")].iloc[0]
    assert mean["value"] == pytest.approx(seeds["value"].mean())
    assert mean["ci_low"] == pytest.approx(seeds["ci_low"].min())
    assert mean["ci_high"] == pytest.approx(seeds["ci_high"].max())
    assert mean["note"].startswith("mean of 3 seeds")


def test_headline_table_has_the_decision_11_columns_and_types(board: Path) -> None:
    wide = pd.read_csv(board / "leaderboard_wide.csv")
    assert list(wide.columns) == ID_COLUMNS + [f"{h.key}{c}" for h in HEADLINES
                                               for c in CELL_COLUMNS]
    assert len(HEADLINES) <= 8
    assert list(wide["model"]) == [*GROUPS, REFERENCE]
    assert list(wide["type"]) == ["baseline", "untrained control (mean of 3 seeds)",
                                  "pretrained", "reference method"]
    assert list(wide["n_seeds"]) == [1, 3, 1, 1]
    # one meaning per column (issue 24): type is the kind, from_checkpoint the loaded flag
    assert list(wide["from_checkpoint"]) == [False, False, True, False]
    long = pd.read_csv(board / "leaderboard.csv")
    assert "pretrained" not in long.columns and list(long.columns[:3]) == [
        "model", "type", "from_checkpoint"]
    kinds = dict(zip(long["model"], long["type"], strict=False))
    assert kinds["moirai-small-untrained-seed0"] == "untrained control"
    assert kinds["moirai-1.1-R-small"] == "pretrained" and kinds["raw"] == "baseline"
    rows = _csv_rows(board)
    for h in HEADLINES:
        exact = rows[(rows["stage"] == h.stage) & (rows["metric"] == h.metric)
                     & (rows["task"] == h.task) & (rows["layer"] == h.layer)]
        raw = exact[exact["model"] == "raw"].iloc[0]
        got = wide[wide["model"] == "raw"].iloc[0]
        assert got[h.key] == pytest.approx(raw["value"]), h.key
        assert got[f"{h.key}_ci_low"] == pytest.approx(raw["ci_low"]), h.key
        assert got[f"{h.key}_n_subjects"] == raw["n_subjects"], h.key
        seeds = exact[exact["model"].isin(SEEDS)]["value"]
        untrained = wide[wide["model"] == "moirai-small-untrained"].iloc[0]
        assert untrained[h.key] == pytest.approx(seeds.mean()), h.key
        assert untrained[f"{h.key}_seed_min"] == pytest.approx(seeds.min()), h.key
        assert untrained[f"{h.key}_seed_max"] == pytest.approx(seeds.max()), h.key


def test_markdown_shows_arrows_chance_flags_and_stage_tables(board: Path) -> None:
    text = (board / "leaderboard.md").read_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Model | Type |"))
    assert "factor R² ↑ (chance 0)" in header and "entanglement ↓" in header
    assert "scenario bal. acc. ↑ (chance 0.33)" in header  # 1/K from the rows (K = 3)
    assert "HR from ECG, MIT-BIH: MAE (bpm) ↓" in header
    assert header.count(" | ") == 2 + len(HEADLINES) - 1  # Model, Type, the headlines
    table = [line for line in lines[: lines.index(header) + 6]
             if line.startswith("| ") and line != header]
    assert [line.split(" | ")[0] for line in table] == [
        "| raw", "| moirai-small-untrained", "| **moirai-1.1-R-small**", f"| {REFERENCE}"]
    assert "(seeds " in table[1] and "(seeds " not in table[0]
    # tracking rests on 16 subjects: its intervals carry the dagger, the others do not
    cells = table[0].split(" | ")
    tracking = [h.key for h in HEADLINES].index("hr_tracking") + 2
    assert cells[tracking].endswith("†") and not cells[2].endswith("†")
    assert "† interval from fewer than 30 subjects" in text
    for title in ("## Feature independence", "## Temporal dynamics", "## Scenario separation",
                  "## Downstream (real recordings)"):
        assert title in text
    html = (board / "leaderboard.html").read_text()
    assert html.count("<tr class=") == 4 and 'class="pretrained"' in html


def test_stage_tables_have_every_other_row_and_no_duplicates(board: Path) -> None:
    for stage, files in stage_paths(board).items():
        for path in files.values():
            assert path.stat().st_size > 0, path
        table = pd.read_csv(files["csv"])
        rows = _csv_rows(board)
        own = rows[(rows["stage"] == stage) & (rows["metric"] != "dci_informativeness")]
        assert len(table) == len(own[["task", "metric", "layer"]].drop_duplicates())
        assert [c for c in table.columns if c in GROUPS] == GROUPS
        assert "dci_informativeness" not in set(table["metric"])  # = mean R²


def test_format_cell_known_answers() -> None:
    assert format_cell(0.5, 0.4, 0.6, 40) == "0.50 [0.40, 0.60]"
    assert format_cell(0.5, 0.4, 0.6, 12) == "0.50 [0.40, 0.60]†"
    assert format_cell(12.345, 11.0, 13.9) == "12.3 [11.0, 13.9]"
    assert format_cell(math.nan, 0.0, 1.0) == "–"
    assert format_cell(math.nan, math.nan, math.nan, 3, "not estimable: 3 groups (need 5)") \
        == "n.e."
    assert format_cell(0.5, 0.3, 0.7, 40, "", (0.45, 0.55)) == "0.50 [0.30, 0.70] (seeds 0.45–0.55)"


def _copy(board: Path, tmp_path: Path) -> Path:
    results = tmp_path / "results"
    shutil.copytree(board, results)
    return results


def test_a_missing_aggregate_is_shown_as_missing(board: Path, config: dict,
                                                 tmp_path: Path) -> None:
    """Without raw's `all` R² row, raw's mean-R² cell is empty: never the mean of the
    per-factor rows that remain."""
    results = _copy(board, tmp_path)
    path = results / "probes" / "raw" / "feature_independence.csv"
    rows = pd.read_csv(path)
    keep = ~((rows["task"] == "all") & (rows["metric"] == "r2"))
    write_leaderboard_rows(path, rows[keep].to_dict("records"))
    write_leaderboard(config, results)
    wide = pd.read_csv(results / "leaderboard_wide.csv")
    assert math.isnan(wide.loc[wide["model"] == "raw", "mean_r2"].iloc[0])
    assert np.isfinite(wide.loc[wide["model"] == "moirai-1.1-R-small", "mean_r2"].iloc[0])
    md = (results / "leaderboard.md").read_text().splitlines()
    raw = next(line for line in md if line.startswith("| raw |"))
    assert raw.split(" | ")[2] == "–"


def _worse_than_constant(results: Path, instance: str) -> float:
    """Make ``instance`` predict MIT-BIH heart rate 50 bpm too high: rewrite its
    predictions and its leaderboard row from them (value, interval, and the mean
    predictor's error on the same folds as chance); return the MAE."""
    from physio_bench.compare.run import prediction_path
    from physio_bench.downstream.cv import mean_absolute_error, mean_predictor_predictions
    from physio_bench.io import read_predictions, save_predictions
    from physio_bench.statistics import grouped_estimates, mae_statistic

    task = "real:mitdb:ecg:heart_rate_bpm"
    path = prediction_path(results, instance, "downstream")
    table = read_predictions(path)
    mine = table["task"] == task
    table.loc[mine, "y_pred"] = table.loc[mine, "y_true"] + 50.0
    save_predictions(path, table)
    part = table[mine]
    y, pred = part["y_true"].to_numpy(), part["y_pred"].to_numpy()
    folds = part["fold"].to_numpy()
    est = grouped_estimates(mae_statistic(), y, pred, part["subject"].to_numpy(), folds=folds)[0]
    mean_pred = mean_predictor_predictions(
        y, [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in np.unique(folds)])
    csv = results / "downstream" / f"{instance}.csv"
    rows = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    at = rows["task"] == task
    rows.loc[at, ["value", "ci_low", "ci_high", "chance"]] = [
        est.value, est.ci_low, est.ci_high, mean_absolute_error(y, mean_pred)]
    write_leaderboard_rows(csv, rows.to_dict("records"))
    assert est.value == pytest.approx(50.0) and mean_absolute_error(y, mean_pred) < 20
    return est.value


def test_a_model_worse_than_a_constant_keeps_its_value_and_is_flagged(
        board: Path, config: dict, tmp_path: Path) -> None:
    """Issue 24: a 50-bpm MAE is a result about the model (worse than the training-fold
    mean predictor), not "n.e.": value, interval and flag stay, and leaderboard.csv agrees
    with comparisons.csv."""
    from physio_bench.compare import compare_models
    from physio_bench.report.leaderboard import WORSE_THAN_CONSTANT

    results = _copy(board, tmp_path)
    mae = _worse_than_constant(results, "raw")
    write_leaderboard(config, results)
    long = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    task = "real:mitdb:ecg:heart_rate_bpm"
    row = long[(long["model"] == "raw") & (long["task"] == task)
               & (long["layer"] == "last")].iloc[0]
    assert row["value"] == pytest.approx(mae) and np.isfinite([row["ci_low"], row["ci_high"]]).all()
    assert row["note"].startswith(WORSE_THAN_CONSTANT) and "n.e." not in row["note"]
    md = (results / "leaderboard.md").read_text()
    raw = next(line for line in md.splitlines() if line.startswith("| raw |"))
    cell = raw.split(" | ")[2 + [h.key for h in HEADLINES].index("real_hr_mae")]
    assert cell.startswith("50.0 [") and cell.endswith("⚠")
    # the comparison against raw reads the same number
    table = compare_models(config, results)
    against = table[(table["reference"] == "raw") & (table["task"] == task)]
    assert len(against)
    np.testing.assert_allclose(against["reference_value"], mae, rtol=1e-9)
    assert np.isfinite(against["difference"]).all()


def test_a_flagged_seed_shows_on_the_mean_of_all_seeds(board: Path, config: dict,
                                                       tmp_path: Path) -> None:
    from physio_bench.report.leaderboard import WORSE_THAN_CONSTANT

    results = _copy(board, tmp_path)
    _worse_than_constant(results, SEEDS[1])
    write_leaderboard(config, results)
    long = pd.read_csv(results / "leaderboard.csv", keep_default_na=False, na_values=[""])
    task = "real:mitdb:ecg:heart_rate_bpm"
    own = long[(long["task"] == task) & (long["layer"] == "last")].set_index("model")
    seeds = own.loc[SEEDS, "value"].to_numpy(dtype=float)
    mean = own.loc["moirai-small-untrained"]
    assert mean["value"] == pytest.approx(seeds.mean())  # every seed counts
    assert mean["note"].startswith(f"{WORSE_THAN_CONSTANT} in seed(s) {SEEDS[1]}")


def test_same_results_give_identical_tables(board: Path, config: dict) -> None:
    names = ["leaderboard.csv", "leaderboard_wide.csv", "leaderboard.md", "leaderboard.html",
             "tables/downstream.csv"]
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
    """Only one model's downstream CSV: one row in the headline table, its real heart-rate
    cell filled, every other cell missing (and not estimable where the note says so)."""
    row = {"model": "raw", "pretrained": False, "stage": "downstream",
           "task": "real:mitdb:ecg:heart_rate_bpm", "metric": "mae", "layer": "last",
           "value": 4.0, "ci_low": 3.5, "ci_high": 4.5, "n": 30, "n_subjects": 3}
    ne = {**row, "task": "real:bidmc:ppg:resp_rate_bpm", "value": math.nan,
          "ci_low": math.nan, "ci_high": math.nan, "note": "not estimable: 3 groups (need 5)"}
    write_leaderboard_rows(tmp_path / "downstream" / "raw.csv", [row, ne])
    (tmp_path / "downstream" / "raw.json").write_text(
        '{"tasks": {"real:mitdb:ecg:heart_rate_bpm": {"predictions": {"reference": [60, 90]}}}}')
    write_leaderboard(config, tmp_path)
    wide = pd.read_csv(tmp_path / "leaderboard_wide.csv")
    assert list(wide["model"]) == ["raw"]
    assert wide.loc[0, ["real_hr_mae", "real_hr_mae_ci_low", "real_hr_mae_ci_high"]].tolist() \
        == [4.0, 3.5, 4.5]
    assert wide.loc[0, "real_rr_mae_note"] == "not estimable: 3 groups (need 5)"
    md = (tmp_path / "leaderboard.md").read_text()
    assert "4.00 [3.50, 4.50]†" in md and "| n.e. |" in md


def _forecast_rows(model: str, marginal: dict[str, str], seasonal: dict[str, str]
                   ) -> list[dict]:
    rows = []
    for reference, verdicts in (("marginal", marginal), ("seasonal_naive", seasonal)):
        rows += [{"model": model, "predictor": model, "kind": kind, "task": "next_patch",
                  "metric": "crps_skill", "reference": reference, "value": 0.1,
                  "verdict": verdict} for kind, verdict in verdicts.items()]
    rows += [{"model": model, "predictor": model, "kind": kind, "task": "next_patch",
              "metric": "median_corr", "reference": None, "value": 0.5, "verdict": None}
             for kind in marginal]
    return rows


def test_the_leaderboard_says_plainly_whether_a_model_forecasts(tmp_path: Path) -> None:
    from physio_bench.report.leaderboard import forecast_lines

    kinds = ("ecg", "ppg", "rsp", "eda", "emg")
    rows = (_forecast_rows("flat", {k: "better" for k in kinds[:4]} | {"emg": "worse"},
                           {k: "worse" for k in kinds})
            + _forecast_rows("level", {k: "better" for k in kinds},
                             {"ecg": "better", "ppg": "tie", "rsp": "worse", "eda": "worse",
                              "emg": "better"})
            + _forecast_rows("skilled", {k: "better" for k in kinds},
                             {"ecg": "better", "ppg": "tie", "rsp": "better", "eda": "worse",
                              "emg": "worse"})
            + _forecast_rows("few", {k: "not estimable" for k in kinds},
                             {k: "not estimable" for k in kinds}))
    pd.DataFrame(rows).to_csv(tmp_path / "forecast_skill.csv", index=False)
    lines = {line.split(" | ")[0].strip("| "): line
             for line in forecast_lines(tmp_path, ["skilled", "flat"]) if line.startswith("| ")}
    assert lines["flat"].endswith("has not learned dynamics: no better than the "
                                  "context-free baseline on emg |")
    assert "4/5 (ecg, ppg, rsp, eda)" in lines["flat"]
    assert lines["level"].endswith("loses to seasonal naive (repeat the last period) on rsp |")
    assert "| ecg, emg / ppg |" in lines["level"]
    assert lines["skilled"].endswith("at least as well as seasonal naive on ecg, ppg, rsp |")
    assert "| 0.50, 0.50, 0.50 |" in lines["skilled"]
    assert "not estimable on ecg" in lines["few"]
    order = [line.split(" | ")[0].strip("| ") for line in forecast_lines(tmp_path, ["skilled"])
             if line.startswith("| ") and not line.startswith("| model")]
    assert order[0] == "skilled"  # the shown models first, in their order
    assert forecast_lines(tmp_path / "nowhere", ["skilled"]) == []
