"""Downstream tasks on embeddings with a known answer: an embedding that carries the
label gives a small error; noise gives the trivial baseline's error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from physio_bench.cli import main
from physio_bench.downstream import run_downstream
from physio_bench.io import LEADERBOARD_COLUMNS, save_npy, write_json
from physio_bench.preflight import load_config

DIM = 6


def _real_labels(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for record, n, base in (("r1", 48, 70.0), ("r2", 36, 95.0)):
        for i in range(n):
            hr = base + 12.0 * np.sin(i / 6.0) + rng.normal(0, 2)
            rows.append({"record": record, "signal_kind": "ecg", "start_s": 8.0 * i,
                         "heart_rate_bpm": hr, "resp_rate_bpm": np.nan,
                         "ectopic": float(rng.random() < 0.3) if record == "r1" else np.nan})
    for i in range(36):
        rows.append({"record": "r2", "signal_kind": "rsp", "start_s": 8.0 * i,
                     "heart_rate_bpm": np.nan, "resp_rate_bpm": 16 + 5 * np.sin(i / 5.0),
                     "ectopic": np.nan})
    labels = pd.DataFrame(rows)
    labels.insert(0, "window_id", np.arange(len(labels)))
    labels["subject_id"] = labels["record"]
    labels["heart_rate_source"] = "annotation:atr"
    labels["measured_heart_rate_bpm"] = labels["heart_rate_bpm"] + 0.5
    return labels


def _sim_labels(rng: np.random.Generator) -> pd.DataFrame:
    n = 90
    frame = pd.DataFrame({
        "signal_kind": ["ecg"] * n + ["rsp"] * n + ["ppg"] * n,
        "heart_rate_bpm": np.r_[rng.uniform(45, 140, n), np.full(n, np.nan),
                                rng.uniform(45, 140, n)],
        "resp_rate_bpm": np.r_[np.full(n, np.nan), rng.uniform(6, 30, n), np.full(n, np.nan)],
    })
    frame.insert(0, "window_id", np.arange(len(frame)))
    frame["subject_id"] = [f"s{i}" for i in range(len(frame))]
    return frame


def _embed(labels: pd.DataFrame, rng: np.random.Generator, informative: bool) -> np.ndarray:
    """Two layers; the last carries heart rate, resp rate and the ectopic flag."""
    n = len(labels)
    noise = rng.normal(size=(2, n, DIM))
    if informative:
        hr = labels["heart_rate_bpm"].fillna(0).to_numpy()
        rr = labels["resp_rate_bpm"].fillna(0).to_numpy()
        ect = labels.get("ectopic", pd.Series(np.zeros(n))).fillna(0).to_numpy()
        noise[1, :, 0] = hr / 10 + rng.normal(0, 0.02, n)
        noise[1, :, 1] = rr / 10 + rng.normal(0, 0.02, n)
        noise[1, :, 2] = 3 * ect + rng.normal(0, 0.3, n)
    return noise.astype(np.float32)


def _results(tmp_path: Path, informative: bool) -> Path:
    rng = np.random.default_rng(0)
    results = tmp_path / "results"
    real, sim = _real_labels(rng), _sim_labels(rng)
    (results / "real").mkdir(parents=True)
    (results / "simulated" / "factors").mkdir(parents=True)
    real.to_parquet(results / "real" / "labels.parquet")
    sim.to_parquet(results / "simulated" / "factors" / "labels.parquet")
    write_json(results / "real" / "meta.json",
               {"records": {"r1": {"ecg": {"kept": 48}}, "r2": {"ecg": {"kept": 36}}}})
    for suite, labels in (("real", real), ("factors", sim)):
        folder = results / "embeddings" / "m" / suite
        save_npy(folder / "pooled.npy", _embed(labels, rng, informative))
        write_json(folder / "model.json", {"name": "m", "layer_names": ["block0", "block1"],
                                           "pretrained": False})
    return results


@pytest.fixture(scope="module")
def config():
    config = load_config()
    config["probes"].update(cv_folds=3, inner_folds=2, bootstrap=100)
    # Two records only: these tests check the decoders, so every group count is estimable
    # here (test_few_records_are_not_estimable checks the default rule).
    config["statistics"] = {"min_groups": 1}
    return config


@pytest.fixture(scope="module")
def informative(tmp_path_factory, config):
    results = _results(tmp_path_factory.mktemp("informative"), informative=True)
    return run_downstream(config, "m", results)


@pytest.fixture(scope="module")
def noise(tmp_path_factory, config):
    results = _results(tmp_path_factory.mktemp("noise"), informative=False)
    return run_downstream(config, "m", results)


REGRESSION = ["real:ecg:heart_rate_bpm", "real:rsp:resp_rate_bpm",
              "sim2real:ecg:heart_rate_bpm", "sim2real:rsp:resp_rate_bpm"]


@pytest.mark.parametrize("task", REGRESSION)
def test_embedding_with_the_label_gives_a_small_error(informative, task):
    detail, _ = informative
    result = detail["tasks"][task]
    assert result["best"]["layer"] == "block1"
    assert result["last"]["value"] < 0.1 * result["baseline"]["value"]
    assert result["last"]["value"] < 1.0
    assert result["last"]["ci_low"] <= result["last"]["value"] <= result["last"]["ci_high"]


@pytest.mark.parametrize("task", REGRESSION)
def test_noise_embedding_is_no_better_than_the_mean(noise, task):
    detail, _ = noise
    result = detail["tasks"][task]
    assert result["last"]["value"] > 0.8 * result["baseline"]["value"]


def test_ectopic_detection(informative, noise):
    good = informative[0]["tasks"]["real:ecg:ectopic_beat"]
    bad = noise[0]["tasks"]["real:ecg:ectopic_beat"]
    assert good["n"] == 48 and good["cv"] == "contiguous_blocks"
    assert good["last"]["value"] > 0.9
    assert 0.25 < bad["last"]["value"] < 0.75
    assert good["baseline"]["value"] == 0.5  # majority class


def test_cv_scheme_and_counts(informative):
    tasks = informative[0]["tasks"]
    assert tasks["real:ecg:heart_rate_bpm"]["cv"] == "grouped_by_record"
    assert tasks["real:ecg:heart_rate_bpm"]["windows_per_record"] == {"r1": 48, "r2": 36}
    assert tasks["real:rsp:resp_rate_bpm"]["cv"] == "contiguous_blocks"
    assert tasks["sim2real:ecg:heart_rate_bpm"]["n_train_simulated"] == 90
    assert "no real ppg window" in tasks["real:ppg:heart_rate_bpm"]["skipped"]
    assert "no real ppg window" in tasks["sim2real:ppg:heart_rate_bpm"]["skipped"]
    assert informative[0]["reference_agreement"]["median_abs_diff_bpm"] == pytest.approx(0.5)


def test_leaderboard_rows(informative):
    _, rows = informative
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    assert set(frame["stage"]) == {"downstream"}
    assert sorted(set(frame["task"])) == sorted([*REGRESSION, "real:ecg:ectopic_beat"])
    assert len(frame) == 2 * 5
    assert set(frame["layer"]) == {"last", "best"}
    assert frame.set_index(["task", "layer"]).loc[("real:ecg:ectopic_beat", "last"),
                                                  "metric"] == "balanced_accuracy"
    assert np.isfinite(frame[["value", "ci_low", "ci_high"]].to_numpy(dtype=float)).all()


def test_few_records_are_not_estimable(tmp_path):
    """Two records (fewer than statistics.min_groups = 5): every real and sim2real task is
    reported as not estimable, with empty numbers, never as a value."""
    config = load_config()
    config["probes"].update(cv_folds=3, inner_folds=2, bootstrap=50)
    detail, rows = run_downstream(config, "m", _results(tmp_path, informative=True))
    frame = pd.DataFrame(rows)
    assert len(frame) == 2 * 5
    assert frame[["value", "ci_low", "ci_high"]].isna().all().all()
    notes = set(frame["note"])
    assert notes == {"not estimable: 2 groups (need 5)", "not estimable: 1 groups (need 5)"}
    hr = frame[(frame["task"] == "real:ecg:heart_rate_bpm") & (frame["layer"] == "last")].iloc[0]
    assert hr["note"] == "not estimable: 2 groups (need 5)" and hr["n_subjects"] == 2
    assert detail["tasks"]["real:rsp:resp_rate_bpm"]["last"]["note"].startswith(
        "not estimable: 1 groups")


def test_cli_downstream_is_deterministic(tmp_path, config):
    results = _results(tmp_path, informative=True)
    cfg = tmp_path / "fast.yaml"
    cfg.write_text("probes: {cv_folds: 3, inner_folds: 2, bootstrap: 20}\n"
                   "statistics: {min_groups: 1}\n")
    outputs = []
    for tag in ("a", "b"):
        args = ["downstream", "--configfile", str(cfg), "--model", "m", "--results",
                str(results), "--out-json", str(tmp_path / f"{tag}.json"),
                "--out-csv", str(tmp_path / f"{tag}.csv")]
        assert main(args) == 0
        detail = json.loads((tmp_path / f"{tag}.json").read_text())
        detail.pop("wall_time_s")
        outputs.append((detail, (tmp_path / f"{tag}.csv").read_text()))
    assert outputs[0] == outputs[1]
    sim2real = outputs[0][0]["tasks"]["sim2real:ecg:heart_rate_bpm"]["predictions"]
    assert len(sim2real["reference"]) == len(sim2real["best"]) == 84


def test_missing_embeddings_fail_with_one_line(tmp_path, capsys, config):
    results = _results(tmp_path, informative=True)
    (results / "embeddings" / "m" / "real" / "pooled.npy").unlink()
    code = main(["downstream", "--model", "m", "--results", str(results),
                 "--out-json", str(tmp_path / "d.json"), "--out-csv", str(tmp_path / "d.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pooled.npy not found: embed suite 'real' with model 'm' first" in err


def test_embeddings_that_disagree_with_the_suite_fail(tmp_path, config):
    results = _results(tmp_path, informative=True)
    save_npy(results / "embeddings" / "m" / "real" / "pooled.npy",
             np.zeros((2, 5, DIM), np.float32))
    from physio_bench.errors import InputError

    with pytest.raises(InputError, match=r"has shape \(2, 5, 6\) but .* has 120 windows"):
        run_downstream(config, "m", results)
