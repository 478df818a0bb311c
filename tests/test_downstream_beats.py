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
from conftest import SHIPPED_OFF

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
            **SHIPPED_OFF,
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
    both = rows[rows.task == "real:arr:ecg:beat_class"].set_index("metric")
    row = both.loc["balanced_accuracy"]
    assert row["layer"] == "last" and row["value"] == real["last"]["value"]
    assert row["direction"] == "higher" and row["note"] == ""
    assert both.loc["jkappa", "value"] == real["scores"]["jkappa"] > 0.9
    beats_pred = predictions[predictions.task == "real:arr:ecg:beat_class"]
    assert len(beats_pred) == 100 and beats_pred["item"].is_unique
    assert real["scores"]["Se_V"] > 0.9 and real["anchors"]["de Chazal et al. 2004"]["Se_V"] == 77
    low, high = real["score_intervals"]["jkappa"]
    assert low <= real["scores"]["jkappa"] <= high
    assert real["beat_accounting"]["test"]["used"] == 100
    assert real["beat_accounting"]["train"]["dropped_class_not_scored"] == 0
    sim = tasks["sim2real:arr:ecg:beat_class"]
    assert sim["classes_simulated"] == ["N", "S", "V"] and sim["last"]["value"] > 0.9


def test_noise_tokens_score_chance(tmp_path, config):
    tasks, _, _, _ = _run(tmp_path, config, informative=False)
    assert 0.2 < tasks["real:arr:ecg:beat_class"]["last"]["value"] < 0.5


def test_one_token_per_window_gets_a_note_not_a_number(tmp_path, config):
    tasks, rows, _, _ = _run(tmp_path, config, informative=True, whole_window=True)
    assert tasks["real:arr:ecg:beat_class"]["note"].startswith(
        "no temporal resolution: tokens span 100% of the window")
    row = rows[rows.task == "real:arr:ecg:beat_class"].set_index("metric").loc[
        "balanced_accuracy"]
    assert np.isnan(row["value"]) and row["note"].startswith("no temporal resolution")


def test_no_simulated_beats_yet_is_a_note(tmp_path, config):
    tasks, _, _, _ = _run(tmp_path, config, informative=True, sim_events=False)
    assert tasks["sim2real:arr:ecg:beat_class"]["note"].startswith(
        "no simulated counterpart yet")


def _time_tokens(offset_s: float, patch: int = 25, n: int = 40) -> beats.TokenStore:
    """A window starting ``offset_s`` into a record whose token j holds the record time of
    its centre (2 dims: time, time again), so a feature tells where it was read."""
    spans = np.stack([np.arange(n) * patch, np.arange(n) * patch + patch], axis=1)
    centre = offset_s + spans.mean(axis=1) / FS
    tokens = np.stack([centre, centre], axis=1)[None].astype(np.float32)
    return beats.TokenStore(tokens=tokens, spans=spans, channels=np.zeros(n, np.int64),
                            layer="x")


def test_a_beat_lands_at_the_same_token_position_whatever_the_window_offset():
    r_peak_s = 20.0  # record time of the R peak
    offsets = (-0.25, 0.0, 0.45)
    seen = []
    for window_start in (15.0, 15.037, 15.111, 16.2, 17.49):  # every phase of the token grid
        store = _time_tokens(window_start)
        x = beats.aligned_beat_features(store, 0, np.array([0]),
                                        np.array([r_peak_s - window_start]), FS, offsets)
        seen.append(x[0, ::2])  # the first dim of each of the three read-outs
        # nearest-token selection (the negative control) moves with the grid's phase
    np.testing.assert_allclose(seen, [[r_peak_s + o for o in offsets]] * len(seen), atol=1e-4)
    nearest = [(_time_tokens(w).spans.mean(axis=1) / FS + w)[
        np.argmin(np.abs(_time_tokens(w).spans.mean(axis=1) / FS - (r_peak_s - w)))]
        for w in (15.0, 15.111)]
    assert abs(nearest[0] - nearest[1]) > 0.05


def test_training_subset_caps_n_and_keeps_every_ectopic_beat():
    labels = np.array(["N"] * 50 + ["V"] * 3 + ["S"] * 2)
    kept = beats.training_subset(labels, seed=1, max_n=10)
    assert (labels[kept] == "N").sum() == 10 and (labels[kept] != "N").sum() == 5
    np.testing.assert_array_equal(kept, beats.training_subset(labels, seed=1, max_n=10))


def test_jkappa_and_record_bootstrap():
    classes = ("N", "S", "V", "F")
    perfect = np.diag([50.0, 5.0, 5.0, 2.0])
    assert beats.matrix_scores(perfect, classes)["jkappa"] == pytest.approx(1.0)
    all_n = np.zeros((4, 4))
    all_n[:, 0] = [50, 5, 5, 2]  # everything called N: κ = 0, no S/V +P
    scores = beats.matrix_scores(all_n, classes)
    assert scores["kappa"] == pytest.approx(0.0) and np.isnan(scores["jkappa"])
    y = np.array([0] * 30 + [1] * 6 + [2] * 6)
    pred = y.copy()
    pred[:3] = 1
    records = np.repeat([f"r{i}" for i in range(6)], 7)
    intervals = beats.record_bootstrap(y, pred, records, 4, classes, 200, seed=0)
    low, high = intervals["Se_S"]
    assert low == high == 1.0
    low, high = intervals["+P_S"]
    assert low < 6 / 9 < high


def test_class_metrics_sensitivity_and_ppv():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 0, 2])
    out = beats.class_metrics(y, pred, ("N", "S", "V", "F"))
    assert out["per_class"]["N"] == {"n_beats": 3, "sensitivity": 2 / 3, "ppv": 2 / 3}
    assert out["per_class"]["S"] == {"n_beats": 2, "sensitivity": 0.5, "ppv": 0.5}
    assert out["per_class"]["V"]["sensitivity"] == 1.0
    assert np.isnan(out["per_class"]["F"]["sensitivity"])
    assert out["balanced_accuracy"] == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert out["scores"]["Se_S"] == 0.5 and out["scores"]["+P_V"] == 1.0


def test_rr_features_and_the_r_centred_raw_beat():
    from physio_bench.downstream import beat_baselines as bb

    record = np.array([0.0, 1.0, 2.0, 2.5, 3.5, 4.5, 10.0, 11.0])  # a premature beat at 2.5
    rr = bb.rr_features(np.array([2.5, 11.0]), record)
    assert rr[0, 0] == pytest.approx(0.5) and rr[0, 1] == pytest.approx(1.0)  # pre, post
    # 4.5 -> 10.0 spans a gap (> MAX_RR_S): never an RR; the last beat has no post-RR
    assert np.isfinite(rr).all() and rr[1, 0] == pytest.approx(1.0)
    # The raw beat is read at the R peak's exact time: a spike lands on the same sample.
    fs = 125.0
    for r in (1.0, 1.004, 2.5):
        window = np.exp(-0.5 * ((np.arange(500) / fs - r) / 0.01) ** 2)
        beat = bb.raw_beat(window, r, fs, (-0.25, 0.45))
        assert beat.size == 88 and np.argmax(beat) == -round(-0.25 * fs)  # sample 31
