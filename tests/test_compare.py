"""The compare stage on prediction tables written here: pairs (untrained twin, best
baseline), values recomputed from the predictions, known answers, notes for what cannot be
compared, and the Snakemake rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPORT_CLASSES, small_report_config, workflow_snakefile
from sklearn.metrics import r2_score

from physio_bench.compare import COLUMNS, compare_models
from physio_bench.compare.metrics import blocks
from physio_bench.compare.run import _align, prediction_path
from physio_bench.headlines import HEADLINES
from physio_bench.io import read_json, read_predictions, save_predictions, write_json
from physio_bench.preflight import load_config
from physio_bench.report.synthetic import write_synthetic_results
from physio_bench.statistics import (
    TEST_CORRECTED_T,
    TEST_PERMUTATION,
    corrected_paired_t,
    holm,
)

SEEDS = [f"moirai-small-untrained-seed{k}" for k in range(3)]
SMALL = {**small_report_config(("ecg", "rsp"), REPORT_CLASSES, {
    "moirai-1.1-R-small": {"plugin": "moirai", "size": "small", "enabled": True}}),
    "statistics": {"comparison_resamples": 300}}


def _config(tmp_path: Path, extra: dict | None = None) -> dict:
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    for key, value in (extra or {}).items():
        data.setdefault(key, {}).update(value)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config([path])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("compare")
    config = _config(tmp)
    results = write_synthetic_results(tmp / "results", config)
    return config, results, compare_models(config, results)


def test_pairs_columns_and_holm_families(setup: tuple[dict, Path, pd.DataFrame]) -> None:
    config, _, table = setup
    assert list(table.columns) == COLUMNS
    keys = [(h.stage, h.task, h.metric) for h in HEADLINES]
    pretrained = table[table["model"] == "moirai-1.1-R-small"]
    twin = pretrained[pretrained["comparison"] == "untrained twin"]
    assert set(twin["reference"]) == {"moirai-small-untrained"}
    assert list(zip(twin["stage"], twin["task"], twin["metric"], strict=True)) == keys
    untrained = table[table["model"] == "moirai-small-untrained"]
    assert set(untrained["comparison"]) == {"best baseline"}  # the control has no twin
    assert not table["model"].isin(["raw", "spectral"]).any()  # baselines are references
    assert set(table["reference"]) <= {"moirai-small-untrained", "raw", "spectral"}
    finite = table[np.isfinite(table["difference"])]
    np.testing.assert_allclose(finite["difference"],
                               finite["model_value"] - finite["reference_value"], atol=1e-9)
    # every row names its test; cross-validated rows are paired fold by fold (issue 24);
    # coverage of the intervals: tests/test_statistics_calibration.py
    assert table["test"].isin([TEST_CORRECTED_T, TEST_PERMUTATION]).all()
    cv_rows = finite[finite["test"] == TEST_CORRECTED_T]
    assert len(cv_rows) and (cv_rows["n_splits"] == config["probes"]["cv_folds"]).all()
    assert (finite["ci_low"] < finite["ci_high"]).all()
    for _, family in table.groupby(["model", "comparison"]):
        np.testing.assert_allclose(family["p_holm"], holm(family["p"].to_numpy(float)),
                                   equal_nan=True)


def _mae(results: Path, instance: str, task: str) -> float:
    rows = read_predictions(prediction_path(results, instance, "downstream"))
    rows = rows[rows["task"] == task]
    return float(np.mean(np.abs(rows["y_true"] - rows["y_pred"])))


def test_values_are_recomputed_from_the_predictions(
        setup: tuple[dict, Path, pd.DataFrame]) -> None:
    _, results, table = setup
    task = "real:mitdb:ecg:heart_rate_bpm"
    row = table[(table["model"] == "moirai-1.1-R-small") & (table["task"] == task)
                & (table["comparison"] == "untrained twin")].iloc[0]
    assert row["model_value"] == pytest.approx(_mae(results, "moirai-1.1-R-small", task))
    seeds = np.mean([_mae(results, s, task) for s in SEEDS])  # the mean over all seeds
    assert row["reference_value"] == pytest.approx(seeds)
    assert row["n_subjects"] == 40
    # mean factor R²: each factor's R², averaged over the factors of every kind
    rows = read_predictions(prediction_path(results, "raw", "feature_independence"))
    r2 = np.mean([r2_score(g["y_true"], g["y_pred"]) for _, g in rows.groupby("task")])
    mean_r2 = table[(table["metric"] == "r2") & (table["reference"] == "raw")].iloc[0]
    assert mean_r2["reference_value"] == pytest.approx(r2)


def test_the_best_baseline_is_the_best_one(setup: tuple[dict, Path, pd.DataFrame]) -> None:
    _, results, table = setup
    task = "real:bidmc:ppg:resp_rate_bpm"
    maes = {b: _mae(results, b, task) for b in ("raw", "spectral")}
    row = table[(table["task"] == task) & (table["comparison"] == "best baseline")].iloc[0]
    assert row["reference"] == min(maes, key=maes.get)  # lower MAE is better


def test_identical_predictions_differ_by_zero_with_p_one(tmp_path: Path) -> None:
    config = _config(tmp_path, {"models": {"moirai-small-untrained": {"replicates": 1}}})
    results = write_synthetic_results(tmp_path / "results", config)
    for stage in ("feature_independence", "temporal_dynamics", "scenario_separation",
                  "downstream"):
        shutil.copy(prediction_path(results, "moirai-small-untrained", stage),
                    prediction_path(results, "moirai-1.1-R-small", stage))
    table = compare_models(config, results)
    twin = table[(table["model"] == "moirai-1.1-R-small")
                 & (table["comparison"] == "untrained twin")]
    finite = twin[np.isfinite(twin["difference"])]
    assert len(finite) >= 7  # entanglement may be not estimable (nothing decoded)
    assert (finite["difference"] == 0).all() and (finite["p"] == 1).all()
    assert (finite["ci_low"] == 0).all() and (finite["ci_high"] == 0).all()


def _repeat_split(results: Path, instances: list[str], task: str, n_repeats: int,
                  n_folds: int) -> None:
    """Give ``task``'s cross-validated predictions of ``instances`` ``n_repeats`` repeats
    of the split: the same seeded folds for every instance, new predictions per repeat."""
    for instance in instances:
        path = prediction_path(results, instance, "downstream")
        table = read_predictions(path)
        rows = table[table["task"] == task]
        names = np.unique(rows["subject"].astype(str))
        parts = [table]
        for r in range(1, n_repeats):
            order = np.random.default_rng(r).permutation(names)
            fold_of = {name: i % n_folds for i, name in enumerate(order)}
            noise = np.random.default_rng([r, zlib.crc32(instance.encode())])
            parts.append(rows.assign(
                repeat=r, fold=rows["subject"].astype(str).map(fold_of).astype(np.int64),
                y_pred=rows["y_pred"] + noise.normal(0, 2, len(rows))))
        save_predictions(path, pd.concat(parts, ignore_index=True))


def test_repeated_splits_pair_repeat_by_repeat_and_a_fixed_method_meets_every_repeat(
        tmp_path: Path) -> None:
    """Issue 24: three repeats of a 5-fold split give J = 15 fold differences, tested with
    K = 5 (1/J + 1/(K-1)); the model's value is the mean over its repeats everywhere,
    also against a method fitted elsewhere, whose one prediction set meets every repeat."""
    config = _config(tmp_path)
    results = write_synthetic_results(tmp_path / "results", config)
    task, k = "real:mitdb:ecg:heart_rate_bpm", int(config["probes"]["cv_folds"])
    _repeat_split(results, ["moirai-1.1-R-small", "raw", "spectral", *SEEDS], task, 3, k)
    table = compare_models(config, results)
    mine = table[(table["model"] == "moirai-1.1-R-small") & (table["task"] == task)]
    twin = mine[mine["comparison"] == "untrained twin"].iloc[0]
    assert twin["test"] == TEST_CORRECTED_T and twin["n_splits"] == 3 * k

    def split_maes(instance: str) -> pd.Series:
        rows = read_predictions(prediction_path(results, instance, "downstream"))
        rows = rows[(rows["task"] == task) & (rows["layer"].astype(str) == "last")]
        return (rows["y_true"] - rows["y_pred"]).abs().groupby(
            [rows["repeat"], rows["fold"]]).mean()

    d = split_maes("moirai-1.1-R-small") - np.mean([split_maes(s) for s in SEEDS], axis=0)
    assert len(d) == 15
    _, low, _, p, df = corrected_paired_t(d.to_numpy(), k)
    assert df == 14 and twin["p"] == pytest.approx(p) and twin["ci_low"] == pytest.approx(low)
    assert twin["model_value"] == pytest.approx(_mae(results, "moirai-1.1-R-small", task))
    # a method fitted elsewhere (one prediction set, fold -1) against three repeats
    fixed = pd.DataFrame({
        "task": task, "metric": "mae", "layer": "last", "repeat": 0, "fold": -1,
        "item": np.arange(200), "subject": np.repeat([f"r{i:02d}" for i in range(40)], 5),
        "target": "value", "y_true": read_predictions(prediction_path(
            results, "raw", "downstream")).query("task == @task and repeat == 0")
        .sort_values("item")["y_true"].to_numpy(), "y_pred": 0.0})
    fixed["y_pred"] = fixed["y_true"] + 0.1
    rows = _align({"moirai-1.1-R-small": blocks(read_predictions(prediction_path(
        results, "moirai-1.1-R-small", "downstream")), "mae", task, "last")[0],
        "fixed": blocks(fixed, "mae", task, "last")[0]})
    _, preds, truth, splits = rows
    assert splits is None and len(truth) == 3 * 200  # every repeat paired, no shared folds
    np.testing.assert_allclose(np.abs(preds["fixed"] - truth), 0.1)
    assert np.mean(np.abs(preds["moirai-1.1-R-small"] - truth)) == pytest.approx(
        _mae(results, "moirai-1.1-R-small", task))


def test_what_cannot_be_compared_is_a_row_with_a_note(tmp_path: Path) -> None:
    config = _config(tmp_path, {"statistics": {"min_groups": 20}})
    results = write_synthetic_results(tmp_path / "results", config)
    prediction_path(results, "moirai-1.1-R-small", "downstream").unlink()
    table = compare_models(config, results)
    own = table[table["model"] == "moirai-1.1-R-small"]
    downstream = own[own["stage"] == "downstream"]
    assert len(downstream) == 8 and downstream["difference"].isna().all()
    assert downstream["note"].str.contains("moirai-1.1-R-small.predictions.parquet does not "
                                           "exist").all()
    tracking = own[own["metric"] == "tracking_within_r2"]  # 16 subjects < 20
    assert tracking["note"].eq("not estimable: 16 groups (need 20)").all()
    assert tracking["difference"].isna().all()


def test_a_model_trained_on_synthetic_data_meets_its_untrained_twin_and_its_ablation(
        tmp_path: Path) -> None:
    config = _config(tmp_path, {"models": {
        "moirai-1.1-R-small": {"enabled": False},
        "moirai-small-synthetic": {"plugin": "moirai", "size": "small", "enabled": True,
                                   "weights": "results/finetune/moirai-small"},
        "moirai-small-shuffled": {"plugin": "moirai", "size": "small",
                                  "weights": "results/finetune/moirai-small-shuffled"},
        "chronos-bolt-small": {"enabled": True}}})
    results = write_synthetic_results(tmp_path / "results", config)
    for model, kind in (("moirai-small-synthetic", "trained on synthetic"),
                        ("moirai-small-shuffled", "marginal ablation (shuffled patches)")):
        for suite in ("factors", "sweeps", "scenarios", "real"):
            path = results / "embeddings" / model / suite / "model.json"
            write_json(path, {**read_json(path), "training": {
                "initial_weights": "random", "steps": 10, "type": kind}})
    table = compare_models(config, results)
    trained = table[table["model"] == "moirai-small-synthetic"]
    assert set(trained["comparison"]) == {
        "untrained twin", "best baseline", "marginal ablation",
        "untrained twin, per factor", "marginal ablation, per factor"}
    references = trained.groupby("comparison")["reference"].agg(set).to_dict()
    assert references["untrained twin"] == references["untrained twin, per factor"] == {
        "moirai-small-untrained"}
    assert references["marginal ablation"] == references[
        "marginal ablation, per factor"] == {"moirai-small-shuffled"}
    assert set(trained["type"]) == {"trained on synthetic"}
    assert set(trained.loc[trained["comparison"] == "marginal ablation", "reference_type"]) \
        == {"marginal ablation"}
    # per factor: every feature-independence factor and tracking task, last layer, own Holm
    per_factor = trained[trained["comparison"] == "marginal ablation, per factor"]
    r2_tasks = set(per_factor.loc[per_factor["metric"] == "r2", "task"])
    assert r2_tasks and all(t.split(":")[0] in ("ecg", "rsp") for t in r2_tasks)
    assert (per_factor["metric"] == "tracking_within_r2").any()
    assert set(per_factor["layer"]) == {"last"}
    p = per_factor["p"].to_numpy(float)
    np.testing.assert_allclose(per_factor["p_holm"].to_numpy(float), holm(p))
    # the values are the factor's own: recomputed R² of one task from the predictions
    task = sorted(r2_tasks)[0]
    row = per_factor[(per_factor["metric"] == "r2") & (per_factor["task"] == task)].iloc[0]
    preds = read_predictions(prediction_path(results, "moirai-small-synthetic",
                                             "feature_independence"))
    own = preds[(preds["task"] == task) & (preds["metric"] == "r2")
                & (preds["layer"].astype(str) == "last")]
    expected = np.mean([r2_score(g["y_true"], g["y_pred"]) for _, g in own.groupby("target")])
    assert row["model_value"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # the ablation meets its untrained twin (its "gains"), not itself
    ablation = table[table["model"] == "moirai-small-shuffled"]
    assert set(ablation["type"]) == {"marginal ablation"}
    assert set(ablation["comparison"]) == {"untrained twin", "best baseline",
                                           "untrained twin, per factor"}
    chronos = table[table["model"] == "chronos-bolt-small"]  # no untrained Chronos configured
    assert set(chronos["comparison"]) == {"best baseline"}


SNAKEFILE = workflow_snakefile(["compare.smk"])


def _snakemake(workdir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args, "--configfile", "small.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def test_compare_rule_under_snakemake(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SMALL))
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    config = load_config([tmp_path / "small.yaml"])
    results = write_synthetic_results(tmp_path / "results", config)
    (results / "comparisons.csv").unlink()
    _snakemake(tmp_path, "results/comparisons.csv")
    table = pd.read_csv(results / "comparisons.csv")
    assert list(table.columns) == COLUMNS
    assert len(table) == 3 * len(HEADLINES)  # pretrained: twin + baseline; control: baseline
    assert (results / "logs" / "compare.log").exists()
    assert "Nothing to be done" in _snakemake(tmp_path, "-n", "results/comparisons.csv")
