"""Beat classes from per-token embeddings, on suites written here in the real format:
tokens that carry each beat's class give a high balanced accuracy on held-out records,
noise gives chance, one token per window gives a note; the simulated counterpart
(scenarios ``events.parquet``, decision 8's format) trains a sim2real classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.downstream import beats
from physio_bench.downstream.tasks import run_downstream
from physio_bench.io import save_npy, write_json
from physio_bench.preflight import load_config

FS = 100.0
SAMPLES = 1000  # 10-s windows
PATCH = 25      # 0.25-s tokens
DIM = 8
CLASSES = ("N", "S", "V")
TRAIN = [f"t{i}" for i in range(5)]
TEST = [f"v{i}" for i in range(5)]


def _pattern(label: str) -> np.ndarray:
    out = np.zeros(DIM)
    if label in CLASSES:
        out[CLASSES.index(label)] = 3.0
    return out


def _beats(rng: np.random.Generator, n_windows: int) -> pd.DataFrame:
    """One beat a second (class N, S or V), starting 0.5 s into each window."""
    rows = []
    for w in range(n_windows):
        for t in np.arange(0.5, 10.0, 1.0):
            label = rng.choice(CLASSES, p=[0.6, 0.2, 0.2])
            rows.append({"window_id": w, "event": "beat", "start_s": t, "stop_s": t,
                         "label": str(label), "source": "annotation:atr"})
        rows.append({"window_id": w, "event": "breath", "start_s": 1.0, "stop_s": 1.0,
                     "label": "", "source": "annotation:x"})
    return pd.DataFrame(rows)


def _tokens(events: pd.DataFrame, n_windows: int, n_channels: int, rng: np.random.Generator,
            informative: bool, whole_window: bool = False) -> tuple[np.ndarray, ...]:
    """Tokens (windows x tokens x dim), spans and channels; channel 0 carries the beats."""
    per_channel = 1 if whole_window else SAMPLES // PATCH
    starts = np.array([0]) if whole_window else np.arange(per_channel) * PATCH
    width = SAMPLES if whole_window else PATCH
    spans = np.tile(np.stack([starts, starts + width], axis=1), (n_channels, 1))
    channels = np.repeat(np.arange(n_channels), per_channel)
    tokens = rng.normal(0, 1, (n_windows, spans.shape[0], DIM))
    if informative:
        for row in events[events.event == "beat"].itertuples():
            sample = int(row.start_s * FS)
            near = np.flatnonzero((channels == 0) & (spans[:, 0] <= sample + 10)
                                  & (spans[:, 1] > sample - 10))
            tokens[row.window_id, near] += _pattern(row.label)
    return tokens.astype(np.float16), spans.astype(np.int64), channels.astype(np.int64)


def _suite(folder: Path, records: list[str], rng: np.random.Generator, channel_names: list[str],
           informative: bool, embeddings: Path, whole_window: bool = False) -> None:
    n_windows = 2 * len(records)
    labels = pd.DataFrame({"window_id": np.arange(n_windows),
                           "record": np.repeat(records, 2), "subject_id": np.repeat(records, 2),
                           "signal_kind": "ecg" if len(channel_names) == 1 else "multi"})
    events = _beats(rng, n_windows)
    folder.mkdir(parents=True)
    labels.to_parquet(folder / "labels.parquet")
    events.to_parquet(folder / "events.parquet")
    write_json(folder / "meta.json", {"sampling_rate_hz": FS, "window_samples": SAMPLES,
                                      "channel_names": channel_names,
                                      "targets": {"ecg": ["beat_class"]}})
    tokens, spans, channels = _tokens(events, n_windows, len(channel_names), rng, informative,
                                      whole_window)
    save_npy(embeddings / "tokens" / "block1.npy", tokens)
    save_npy(embeddings / "token_spans.npy", spans)
    save_npy(embeddings / "token_channels.npy", channels)
    save_npy(embeddings / "pooled.npy", tokens.astype(np.float32).mean(axis=1)[None].repeat(2, 0))
    write_json(embeddings / "model.json", {"layer_names": ["block0", "block1"],
                                           "token_layers": ["block1"], "pretrained": False})


def _results(tmp_path: Path, informative: bool, whole_window: bool = False,
             sim_events: bool = True) -> Path:
    rng = np.random.default_rng(0)
    results = tmp_path / "results"
    emb = results / "embeddings" / "m"
    _suite(results / "real" / "arr", TRAIN + TEST + ["paced"], rng, ["signal"], informative,
           emb / "real-arr", whole_window)
    _suite(results / "simulated" / "scenarios", [f"s{i}" for i in range(6)], rng,
           ["ecg", "ppg"], informative, emb / "scenarios", whole_window)
    if not sim_events:
        (results / "simulated" / "scenarios" / "events.parquet").unlink()
    factors = results / "simulated" / "factors"
    factors.mkdir(parents=True)
    pd.DataFrame({"window_id": [0], "subject_id": ["s"], "signal_kind": ["ecg"]}).to_parquet(
        factors / "labels.parquet")
    save_npy(emb / "factors" / "pooled.npy", np.zeros((2, 1, DIM), np.float32))
    write_json(emb / "factors" / "model.json", {"layer_names": ["block0", "block1"]})
    return results


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(yaml.safe_dump({
        "probes": {"bootstrap": 100},
        "downstream": {"beat_interval_s": [-0.2, 0.3], "datasets": {
            "mitdb": {"enabled": False}, "bidmc": {"enabled": False},
            "arr": {"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"},
                    "beat_classes": {"train": TRAIN, "test": TEST}}}}}))
    return load_config([path])


def _run(tmp_path: Path, config: dict, **options):
    detail, rows, predictions, table = run_downstream(config, "m", _results(tmp_path, **options))
    return detail["tasks"], pd.DataFrame(rows), predictions, table


def test_tokens_carrying_the_class_separate_the_beats(tmp_path, config):
    tasks, rows, predictions, table = _run(tmp_path, config, informative=True)
    real = tasks["real:arr:ecg:beat_class"]
    assert real["last"]["value"] > 0.95 and real["n_subjects"] == 5
    assert 1 / 3 < real["last"]["ci_low"] < real["last"]["ci_high"]  # excludes chance
    assert real["n_train_beats"] == 5 * 2 * 10 and real["last"]["n"] == 100  # paced left out
    assert real["chance"] == pytest.approx(1 / 3)
    assert set(table["class"]) == {"N", "S", "V"} and (table["sensitivity"] > 0.9).all()
    row = rows.set_index("task").loc["real:arr:ecg:beat_class"]
    assert row["metric"] == "balanced_accuracy" and row["layer"] == "last"
    assert row["direction"] == "higher" and row["note"] == ""
    beats_pred = predictions[predictions.task == "real:arr:ecg:beat_class"]
    assert len(beats_pred) == 100 and beats_pred["item"].is_unique
    sim = tasks["sim2real:arr:ecg:beat_class"]
    assert sim["classes_simulated"] == ["N", "S", "V"] and sim["last"]["value"] > 0.9


def test_noise_tokens_score_chance(tmp_path, config):
    tasks, _, _, _ = _run(tmp_path, config, informative=False)
    assert 0.2 < tasks["real:arr:ecg:beat_class"]["last"]["value"] < 0.5


def test_one_token_per_window_gets_a_note_not_a_number(tmp_path, config):
    tasks, rows, _, _ = _run(tmp_path, config, informative=True, whole_window=True)
    assert tasks["real:arr:ecg:beat_class"]["note"].startswith(
        "no temporal resolution: tokens span 100% of the window")
    row = rows.set_index("task").loc["real:arr:ecg:beat_class"]
    assert np.isnan(row["value"]) and row["note"].startswith("no temporal resolution")


def test_no_simulated_beats_yet_is_a_note(tmp_path, config):
    tasks, _, _, _ = _run(tmp_path, config, informative=True, sim_events=False)
    assert tasks["sim2real:arr:ecg:beat_class"]["note"].startswith(
        "no simulated counterpart yet")


def test_beat_features_average_the_overlapping_tokens():
    spans = np.array([[0, 25], [25, 50], [50, 75], [75, 100]])
    tokens = np.arange(4 * 2, dtype=np.float32).reshape(1, 4, 2)
    store = beats.TokenStore(tokens=tokens, spans=spans, channels=np.zeros(4, np.int64),
                             layer="x")
    x, usable = beats.beat_features(store, 0, np.array([0, 0, 0]), np.array([0.3, 0.05, 0.95]),
                                    100.0, 100, (-0.1, 0.1))
    # 0.3 s: samples 20..40 overlap tokens 0 and 1; 0.05 s and 0.95 s leave the window.
    assert usable.tolist() == [True, False, False]
    np.testing.assert_allclose(x, [[1.0, 2.0]])


def test_class_metrics_sensitivity_and_ppv():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 0, 2])
    out = beats.class_metrics(y, pred, ("N", "S", "V", "F"))
    assert out["per_class"]["N"] == {"n_beats": 3, "sensitivity": 2 / 3, "ppv": 2 / 3}
    assert out["per_class"]["S"] == {"n_beats": 2, "sensitivity": 0.5, "ppv": 0.5}
    assert out["per_class"]["V"]["sensitivity"] == 1.0
    assert np.isnan(out["per_class"]["F"]["sensitivity"])
    assert out["balanced_accuracy"] == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
