"""Downstream regression tasks on embeddings with a known answer: an embedding that
carries the label gives a small error, noise gives the trivial baseline's error; fewer
than 5 subjects is "not estimable"; predictions stay inside the training labels' range;
sim2real without a simulated counterpart says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHIPPED_OFF

from physio_bench.cli import main
from physio_bench.downstream import run_downstream
from physio_bench.errors import InputError
from physio_bench.io import (
    LEADERBOARD_COLUMNS,
    PREDICTION_COLUMNS,
    read_predictions,
    save_npy,
    write_json,
)
from physio_bench.preflight import load_config

DIM = 6
LAYERS = ["block0", "block1"]
CONFIG = {
    "probes": {"cv_folds": 4, "inner_folds": 3, "bootstrap": 200},
    "downstream": {"datasets": {
        **SHIPPED_OFF,
        "toy": {"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"}},
        "few": {"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"}},
    }},
}


def _real_labels(rng: np.random.Generator, n_subjects: int, kinds: tuple[str, ...]
                 ) -> pd.DataFrame:
    rows = []
    for s in range(n_subjects):
        base_hr, base_rr = 60 + 7 * s, 12 + 1.5 * s
        for i in range(10):
            hr = base_hr + 8 * np.sin(i / 3 + s) + rng.normal(0, 1)
            rr = base_rr + 2 * np.cos(i / 3 + s) + rng.normal(0, 0.3)
            for kind in kinds:
                rows.append({"record": f"r{s}", "subject_id": f"p{s}", "signal_kind": kind,
                             "start_s": 32.0 * i,
                             "heart_rate_bpm": hr if kind != "rsp" else np.nan,
                             "resp_rate_bpm": rr})
    labels = pd.DataFrame(rows)
    labels.insert(0, "window_id", np.arange(len(labels)))
    return labels


def _sim_labels(rng: np.random.Generator) -> pd.DataFrame:
    n = 60
    frame = pd.DataFrame({
        "signal_kind": ["ecg"] * n + ["rsp"] * n,
        "heart_rate_bpm": np.r_[rng.uniform(45, 150, n), np.full(n, np.nan)],
        "resp_rate_bpm": np.r_[np.full(n, np.nan), rng.uniform(6, 35, n)],
    })
    frame.insert(0, "window_id", np.arange(len(frame)))
    frame["subject_id"] = [f"s{i % 20}" for i in range(len(frame))]
    return frame


def _embed(labels: pd.DataFrame, rng: np.random.Generator, informative: bool | str
           ) -> np.ndarray:
    """Two layers; the last carries heart rate and respiratory rate when informative;
    ``"position"``: position-only tokens, whose pooled mean is one vector for every
    window."""
    n = len(labels)
    if informative == "position":
        positions = rng.normal(size=(2, 1, 13, DIM))  # 13 tokens' positional codes
        return np.repeat(positions.mean(axis=2), n, axis=1).astype(np.float32)
    out = rng.normal(size=(2, n, DIM))
    if informative:
        out[1, :, 0] = labels["heart_rate_bpm"].fillna(0).to_numpy() / 10
        out[1, :, 1] = labels["resp_rate_bpm"].fillna(0).to_numpy() / 10
        out[1, :, :2] += rng.normal(0, 0.02, (n, 2))
    return out.astype(np.float32)


def _write_embedding(folder: Path, pooled: np.ndarray) -> None:
    save_npy(folder / "pooled.npy", pooled)
    write_json(folder / "model.json", {"name": "m", "layer_names": LAYERS, "pretrained": False,
                                       "token_layers": []})


def _results(tmp_path: Path, informative: bool | str) -> Path:
    rng = np.random.default_rng(0)
    results = tmp_path / "results"
    suites = {"toy": _real_labels(rng, 8, ("ecg", "ppg", "rsp")),
              "few": _real_labels(rng, 3, ("ecg",))}
    for name, labels in suites.items():
        folder = results / "real" / name
        folder.mkdir(parents=True)
        labels.to_parquet(folder / "labels.parquet")
        targets = {k: (["heart_rate_bpm", "resp_rate_bpm"] if k != "rsp" else ["resp_rate_bpm"])
                   for k in labels["signal_kind"].unique()}
        write_json(folder / "meta.json", {"targets": targets, "records": {}})
        _write_embedding(results / "embeddings" / "m" / f"real-{name}",
                         _embed(labels, rng, informative))
    sim = _sim_labels(rng)
    (results / "simulated" / "factors").mkdir(parents=True)
    sim.to_parquet(results / "simulated" / "factors" / "labels.parquet")
    _write_embedding(results / "embeddings" / "m" / "factors", _embed(sim, rng, informative))
    return results


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return load_config([path])


@pytest.fixture(scope="module")
def informative(tmp_path_factory, config):
    return run_downstream(config, "m", _results(tmp_path_factory.mktemp("inf"), True))


@pytest.fixture(scope="module")
def noise(tmp_path_factory, config):
    return run_downstream(config, "m", _results(tmp_path_factory.mktemp("noise"), False))


REAL = ["real:toy:ecg:heart_rate_bpm", "real:toy:ppg:heart_rate_bpm",
        "real:toy:rsp:resp_rate_bpm", "real:toy:ppg:resp_rate_bpm",
        "real:toy:ecg:resp_rate_bpm"]
SIM2REAL = ["sim2real:toy:ecg:heart_rate_bpm", "sim2real:toy:rsp:resp_rate_bpm"]


@pytest.mark.parametrize("task", REAL + SIM2REAL)
def test_embedding_with_the_label_gives_a_small_error(informative, task):
    result = informative[0]["tasks"][task]
    assert result["best"]["layer"] == "block1"
    assert result["last"]["value"] < 0.15 * result["baseline"]["value"]
    # the interval separates the decoder from the mean predictor (a claim that can fail)
    assert result["last"]["ci_low"] < result["last"]["ci_high"] < result["baseline"]["value"]
    assert result["n_subjects"] == 8


@pytest.mark.parametrize("task", REAL + SIM2REAL)
def test_noise_embedding_is_no_better_than_the_mean(noise, task):
    result = noise[0]["tasks"][task]
    assert result["last"]["value"] > 0.75 * result["baseline"]["value"]


def test_position_only_tokens_score_the_mean_predictor_and_no_better(tmp_path, config):
    """Negative control: tokens that carry only their position pool to one vector for
    every window; on every repeat of the split the decoder can only predict the training
    folds' mean, so its MAE equals the mean predictor's and is never below it."""
    detail = run_downstream(config, "m", _results(tmp_path, "position"))[0]
    for name in REAL:
        task = detail["tasks"][name]
        assert task["n_repeats"] == 3
        assert task["last"]["value"] == pytest.approx(task["baseline"]["value"], rel=1e-6)
        assert not task["beats_mean_predictor"]


def test_predictions_are_not_clipped(noise, informative):
    """Issue 24: cross-validated predictions keep their extrapolation (clip only in
    plots); the JSON says so and the saved predictions are the decoder's own."""
    for detail, _, predictions, _ in (noise, informative):
        for name in REAL:
            task = detail["tasks"][name]
            assert task["predictions_clipped_to_training_range"] is False
            saved = predictions[(predictions["task"] == name)
                                & (predictions["layer"] == "last")
                                & (predictions["repeat"] == 0)]
            np.testing.assert_allclose(saved["y_pred"], task["predictions"]["last"])
            assert (saved["fold"] >= 0).all()  # cross-validated: the outer fold is kept
        for name in SIM2REAL:  # sim-to-real errors are reported unclipped
            assert detail["tasks"][name].get("predictions_clipped_to_training_range") in (
                False, None)


def test_fewer_than_five_subjects_is_not_estimable(informative):
    detail, rows, _, _ = informative
    assert detail["tasks"]["real:few:ecg:heart_rate_bpm"]["note"] == \
        "not estimable: 3 groups (need 5)"
    few = pd.DataFrame(rows).query("task.str.startswith('real:few')")
    assert len(few) == 4  # heart and respiratory rate, layers last and best
    assert few["value"].isna().all() and few["ci_low"].isna().all()
    assert (few["note"] == "not estimable: 3 groups (need 5)").all()
    assert (few["n_subjects"] == 3).all()


def test_sim2real_without_a_simulated_counterpart_says_so(informative):
    detail = informative[0]["tasks"]["sim2real:toy:ppg:resp_rate_bpm"]
    assert detail["note"] == ("no simulated counterpart: the factors suite has 0 ppg "
                              "windows labelled resp_rate_bpm")
    assert "last" not in detail


def test_leaderboard_rows_and_predictions(informative):
    _, rows, predictions, beats = informative
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    assert set(frame["direction"]) == {"lower"}
    numbered = frame[frame["note"] == ""]
    assert set(numbered["task"]) == set(REAL + SIM2REAL)
    assert (numbered["n_subjects"] == 8).all() and (numbered["n"] > 0).all()
    # chance: the error of the trivial predictor (the training mean), beside the value
    assert (numbered["chance"] > numbered["value"]).all()
    assert list(predictions.columns) == PREDICTION_COLUMNS
    ecg = predictions[(predictions.task == "real:toy:ecg:heart_rate_bpm")
                      & (predictions.layer == "last")]
    assert len(ecg) == 3 * 80 and ecg["subject"].nunique() == 8
    assert sorted(ecg["repeat"].unique()) == [0, 1, 2]  # downstream.cv_repeats = 3
    assert all(part["item"].is_unique and len(part) == 80 for _, part in ecg.groupby("repeat"))
    assert beats.empty


def test_real_tasks_repeat_the_split_and_average_the_repeats(informative, noise):
    """Issue 24: three repeats of the 5-fold split. Each repeat holds every window once,
    keeps subjects whole and differs from the others; the value is the mean of the repeats'
    MAEs; every model gets the same folds (the paired tests pair them); sim2real, fitted
    elsewhere, has one prediction set."""
    detail, _, predictions, _ = informative
    other = noise[2]
    for name in REAL:
        rows = predictions[(predictions.task == name) & (predictions.layer == "last")]
        assignments = []
        for _, part in rows.groupby("repeat"):
            per_subject = part.groupby("subject")["fold"].nunique()
            assert (per_subject == 1).all()  # a subject's windows share their fold
            assignments.append(part.sort_values("item")["fold"].to_numpy())
        assert not np.array_equal(assignments[0], assignments[1])
        assert not np.array_equal(assignments[1], assignments[2])
        maes = rows.assign(err=(rows.y_true - rows.y_pred).abs()).groupby("repeat")["err"].mean()
        task = detail["tasks"][name]
        assert task["n_repeats"] == 3 and len(task["predictions"]["later_repeats"]) == 2
        assert task["last"]["value"] == pytest.approx(maes.mean())
        theirs = other[(other.task == name) & (other.layer == "last")]
        np.testing.assert_array_equal(
            rows.sort_values(["repeat", "item"])["fold"].to_numpy(),
            theirs.sort_values(["repeat", "item"])["fold"].to_numpy())
    for name in SIM2REAL:
        rows = predictions[predictions.task == name]
        assert set(rows["repeat"]) == {0} and (rows["fold"] == -1).all()


def test_cli_downstream_is_deterministic(tmp_path):
    results = _results(tmp_path, informative=True)
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    outputs = []
    for tag in ("a", "b"):
        out = {k: tmp_path / f"{tag}.{k}" for k in ("json", "csv", "parquet", "beats")}
        args = ["downstream", "--configfile", str(cfg), "--model", "m", "--results",
                str(results), "--out-json", str(out["json"]), "--out-csv", str(out["csv"]),
                "--out-predictions", str(out["parquet"]), "--out-beats", str(out["beats"])]
        assert main(args) == 0
        detail = json.loads(out["json"].read_text())
        detail.pop("wall_time_s")
        outputs.append((detail, out["csv"].read_text(), out["parquet"].read_bytes()))
        assert len(read_predictions(out["parquet"])) > 0
    assert outputs[0] == outputs[1]


def test_missing_embeddings_fail_with_one_line(tmp_path, capsys):
    results = _results(tmp_path, informative=True)
    (results / "embeddings" / "m" / "real-toy" / "pooled.npy").unlink()
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    code = main(["downstream", "--configfile", str(cfg), "--model", "m", "--results",
                 str(results), "--out-json", str(tmp_path / "d.json"), "--out-csv",
                 str(tmp_path / "d.csv"), "--out-predictions", str(tmp_path / "d.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pooled.npy not found: embed suite 'real-toy' with model 'm' first" in err


def test_embeddings_that_disagree_with_the_suite_fail(tmp_path, config):
    results = _results(tmp_path, informative=True)
    save_npy(results / "embeddings" / "m" / "real-toy" / "pooled.npy",
             np.zeros((2, 5, DIM), np.float32))
    with pytest.raises(InputError, match=r"has shape \(2, 5, 6\) but .* has 240 windows"):
        run_downstream(config, "m", results)


def test_mean_predictor_within_subject_baseline_and_skill():
    from physio_bench.downstream.tasks import mean_predictor, skill, within_subject_predictor

    y = np.array([10.0, 12.0, 20.0, 22.0, 30.0, 30.0])
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    # subject a predicted by the mean of b and c (25.5), never by its own labels
    np.testing.assert_allclose(mean_predictor(y, groups)[:2], 25.5)
    np.testing.assert_allclose(within_subject_predictor(y, groups), [12, 10, 22, 20, 30, 30])
    assert skill(1.0, 4.0) == 0.75 and skill(4.0, 4.0) == 0.0 and np.isnan(skill(1.0, 0.0))


def test_a_task_no_row_beats_beyond_its_interval_is_flagged_uninformative():
    from physio_bench.report.leaderboard import task_informative

    def rows(model_ci_high: float) -> pd.DataFrame:
        return pd.DataFrame([
            {"model": "mean-predictor", "task": "real:d:ppg:resp_rate_bpm", "metric": "mae",
             "layer": "last", "value": 2.6, "ci_high": 3.0},
            {"model": "m", "task": "real:d:ppg:resp_rate_bpm", "metric": "mae",
             "layer": "last", "value": 2.4, "ci_high": model_ci_high},
        ])

    informative, reason = task_informative(rows(2.9), "real:d:ppg:resp_rate_bpm", "mae", "last")
    assert informative is False and "mean predictor (2.60)" in reason
    assert task_informative(rows(2.5), "real:d:ppg:resp_rate_bpm", "mae", "last") == (True, "")
    assert task_informative(rows(2.5), "sim2real:d:ppg:resp_rate_bpm", "mae", "last")[0] is None

    def classes(model_ci_low: float) -> pd.DataFrame:  # a window-class task: chance 0.5
        return pd.DataFrame([{"model": "m", "task": "real:d:ecg:class_af",
                              "metric": "balanced_accuracy", "layer": "last", "value": 0.6,
                              "ci_low": model_ci_low, "chance": 0.5}])

    informative, reason = task_informative(classes(0.45), "real:d:ecg:class_af",
                                           "balanced_accuracy", "last")
    assert informative is False and "chance (0.50)" in reason
    assert task_informative(classes(0.55), "real:d:ecg:class_af", "balanced_accuracy",
                            "last") == (True, "")
    too_small = classes(float("nan")).assign(value=float("nan"))  # every row n.e.
    assert task_informative(too_small, "real:d:ecg:class_af", "balanced_accuracy",
                            "last") == (None, "")


def test_an_uninformative_task_is_greyed_with_its_reason():
    from physio_bench.report.leaderboard import html_page, markdown_table

    display = pd.DataFrame([
        {"task": "real:d:ppg:resp_rate_bpm", "metric": "mae↓", "layer": "last",
         "informative": "no: no row beats the mean predictor (2.60) beyond its interval"},
        {"task": "real:d:rsp:resp_rate_bpm", "metric": "mae↓", "layer": "last",
         "informative": "yes"},
    ])
    lines = markdown_table(display)
    assert 'color:gray">real:d:ppg:resp_rate_bpm' in lines[2]
    assert "gray" not in lines[3]
    page = html_page(display, "t", (), "task")
    assert page.count("uninformative\"") == 1 and "tr.uninformative td{color:#999}" in page


def test_beat_class_report_prints_the_published_anchors_beside_the_rows(tmp_path):
    from physio_bench.downstream.beats import ANCHORS
    from physio_bench.report.leaderboard import beat_class_lines

    entry = {"target": "beat_class", "anchors": ANCHORS, "beat_accounting": {"test": {"used": 9}},
             "scores": {"Se_V": 0.5, "+P_V": 0.25, "jkappa": 0.4},
             "score_intervals": {"Se_V": [0.4, 0.6]}}
    folder = tmp_path / "downstream"
    folder.mkdir()
    (folder / "m.json").write_text(json.dumps({"tasks": {"real:d:ecg:beat_class": entry}}))
    (folder / "reference-method.json").write_text(json.dumps(
        {"tasks": {}, "beat_baselines": {"real:d:ecg:beat_class": {"raw beat + RR": entry}}}))
    # the leaderboard passes the reference methods among the models: each file is read once
    text = "\n".join(beat_class_lines(tmp_path, ["m", "reference-method"]))
    assert "| m | – | – | – | – | 50.0 [40.0, 60.0] | 25.0 |" in text
    assert text.count("| baseline: raw beat + RR |") == 1
    assert "| published: de Chazal et al. 2004 |  |  | 76 | 38 | 77 | 82 |" in text
    assert '"used": 9' in text
