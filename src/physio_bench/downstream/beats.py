"""Beat classes (AAMI N/S/V/F) per annotated beat, from a model's per-token embeddings.

Beat representation: the last layer's tokens (the embed stage keeps that layer's tokens,
``embed.token_layers``) whose spans overlap ``downstream.beat_interval_s`` around the beat
(default -0.25 s to +0.45 s: from before the P wave to the end of the T wave at usual
heart rates, where the AAMI classes differ in morphology), averaged. A window-level
(pooled) embedding cannot tell which of its ~40 beats is ectopic; averaging the tokens
of the beat's own interval is the per-beat analogue of mean pooling, needs no training
and works for any tokeniser. Beats whose interval leaves the window are not used (about
one per window), and only tokens of the ECG channel (or spanning all channels) count.
A model whose tokens span more than a quarter of the window has no temporal resolution
for this (e.g. the hand-crafted baseline: one token per channel); its rows carry a
``note`` instead of a number.

Classifier: linear discriminant analysis on standardised features with Ledoit-Wolf
shrinkage and equal class priors (the classifier family of de Chazal et al. 2004, with
priors that target balanced accuracy). It has no hyperparameter to tune, so training on
the whole of DS1 is the whole procedure.

- ``real:{dataset}:ecg:beat_class``: train on the ``beat_classes.train`` records (MIT-BIH
  DS1), test on ``beat_classes.test`` (DS2), the inter-patient split of de Chazal et al.
  2004 (the paced records are in neither). Classes N, S, V, F (Q is too rare to score).
- ``sim2real:{dataset}:ecg:beat_class``: train on the beats of the simulated
  ``scenarios`` suite (``events.parquet``: ``event == "beat"``, ``label`` = AAMI class),
  test on the same real test beats, restricted to the classes the simulation has.

Metrics: balanced accuracy (mean per-class sensitivity) over the classes present in the
test beats, chance 1/K; per class, sensitivity (recall) and positive predictive value
(precision); the confusion matrix. Intervals resample whole test subjects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench import statistics
from physio_bench.downstream import cv
from physio_bench.errors import InputError
from physio_bench.io import load_npy, read_json

BEAT_CLASSES = ("N", "S", "V", "F")
#: a model whose median token spans more than this share of the window has no temporal
#: resolution for beats
MAX_TOKEN_SHARE = 0.25


@dataclass
class TokenStore:
    """The last layer's tokens of one suite (memory-mapped) and their spans."""

    tokens: np.ndarray  # windows x tokens x dim
    spans: np.ndarray  # tokens x 2, samples of the window
    channels: np.ndarray  # tokens: channel index, -1 = all channels
    layer: str


def read_tokens(embedding_dir: Path, model: str, suite: str) -> TokenStore:
    """The last layer's tokens of ``suite`` embedded by ``model``.

    Raises:
        InputError: missing files, or the last layer's tokens were not kept.
    """
    info_path = embedding_dir / "model.json"
    if not info_path.exists():
        raise InputError(f"{info_path} not found: embed suite '{suite}' with model '{model}'")
    info = read_json(info_path)
    layer = str(info["layer_names"][-1])
    if layer not in info.get("token_layers", []):
        raise InputError(f"{embedding_dir}: tokens of the last layer ({layer}) were not kept: "
                         "set embed.token_layers to last or all")
    return TokenStore(tokens=load_npy(embedding_dir / "tokens" / f"{layer}.npy"),
                      spans=load_npy(embedding_dir / "token_spans.npy", mmap=False),
                      channels=load_npy(embedding_dir / "token_channels.npy", mmap=False),
                      layer=layer)


def channel_tokens(store: TokenStore, channel: int) -> np.ndarray:
    """Indices of the tokens of ``channel`` (or of all channels)."""
    return np.flatnonzero((store.channels == channel) | (store.channels == -1))


def resolution_note(store: TokenStore, channel: int, window_samples: int) -> str:
    """A note when the model's tokens are too long to describe single beats."""
    chosen = channel_tokens(store, channel)
    if chosen.size == 0:
        return "no token of the ECG channel"
    widths = store.spans[chosen, 1] - store.spans[chosen, 0]
    share = float(np.median(widths)) / window_samples
    if share > MAX_TOKEN_SHARE:
        return (f"no temporal resolution: tokens span {share:.0%} of the window "
                "(per-beat embeddings need tokens shorter than a quarter of it)")
    return ""


def beat_features(store: TokenStore, channel: int, window_ids: np.ndarray, times_s: np.ndarray,
                  fs_hz: float, window_samples: int, interval_s: tuple[float, float],
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the tokens overlapping each beat's interval; return ``(features, usable)``.

    ``features`` has one row per usable beat (float64), ``usable`` marks the beats whose
    interval lies inside their window and overlaps at least one token.
    """
    chosen = channel_tokens(store, channel)
    spans = store.spans[chosen]
    low = np.round((times_s + interval_s[0]) * fs_hz).astype(np.int64)
    high = np.round((times_s + interval_s[1]) * fs_hz).astype(np.int64)
    usable = (low >= 0) & (high <= window_samples)
    features = np.zeros((len(times_s), store.tokens.shape[2]), dtype=np.float64)
    order = np.argsort(window_ids, kind="stable")
    bounds = np.flatnonzero(np.diff(window_ids[order])) + 1
    for group in np.split(order, bounds):
        group = group[usable[group]]
        if group.size == 0:
            continue
        window = np.asarray(store.tokens[int(window_ids[group[0]])][chosen], dtype=np.float64)
        overlap = ((spans[None, :, 0] < high[group, None])
                   & (spans[None, :, 1] > low[group, None])).astype(np.float64)
        counts = overlap.sum(axis=1)
        usable[group[counts == 0]] = False
        features[group] = (overlap @ window) / np.maximum(counts, 1.0)[:, None]
    return features[usable], usable


@dataclass
class Beats:
    """Annotated beats of one suite: row in ``events.parquet`` (``item``), window, time in
    the window (s), class, record and subject."""

    item: np.ndarray
    window_id: np.ndarray
    time_s: np.ndarray
    label: np.ndarray
    record: np.ndarray
    subject: np.ndarray


def suite_beats(suite_dir: Path, classes: tuple[str, ...] = BEAT_CLASSES,
                kind: str | None = "ecg") -> Beats | None:
    """Beats of ``suite_dir/events.parquet`` with a label in ``classes`` (None: no file)."""
    path = suite_dir / "events.parquet"
    if not path.exists():
        return None
    events = pd.read_parquet(path).reset_index(drop=True)
    events = events[(events["event"] == "beat") & events["label"].astype(str).isin(classes)]
    labels = pd.read_parquet(suite_dir / "labels.parquet")
    if kind is not None and "signal_kind" in labels.columns and \
            labels["signal_kind"].nunique() > 1:
        keep = set(labels.loc[labels["signal_kind"] == kind, "window_id"].astype(int))
        events = events[events["window_id"].astype(int).isin(keep)]
    by_window = labels.set_index("window_id")
    windows = events["window_id"].to_numpy(np.int64)
    record = (by_window["record"] if "record" in by_window.columns
              else by_window["subject_id"]).astype(str)
    return Beats(item=events.index.to_numpy(np.int64), window_id=windows,
                 time_s=events["start_s"].to_numpy(np.float64),
                 label=events["label"].astype(str).to_numpy(),
                 record=record.reindex(windows).to_numpy(str),
                 subject=by_window["subject_id"].astype(str).reindex(windows).to_numpy(str))


def subset(beats: Beats, mask: np.ndarray) -> Beats:
    return Beats(**{k: getattr(beats, k)[mask] for k in Beats.__dataclass_fields__})


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """LDA (Ledoit-Wolf shrinkage, equal priors) on standardised features: class indices."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    classes = np.unique(y_train)
    model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto",
                                       priors=np.full(classes.size, 1.0 / classes.size))
    model.fit((x_train - mean) / scale, y_train)
    return model.predict((x_test - mean) / scale).astype(np.int64)


def class_metrics(y: np.ndarray, pred: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """Confusion matrix, balanced accuracy and per-class sensitivity and PPV."""
    matrix = cv.confusion(y, pred, len(classes))
    per_class = {}
    for i, name in enumerate(classes):
        true, called = matrix[i].sum(), matrix[:, i].sum()
        per_class[name] = {
            "n_beats": int(true),
            "sensitivity": float(matrix[i, i] / true) if true else float("nan"),
            "ppv": float(matrix[i, i] / called) if called else float("nan"),
        }
    return {"confusion": matrix.tolist(), "classes": list(classes),
            "balanced_accuracy": float(statistics.balanced_accuracy_from_confusion(matrix)),
            "per_class": per_class,
            "n_classes_present": int((matrix.sum(axis=1) > 0).sum())}


def evaluate(
    x_train: np.ndarray, y_train: np.ndarray, test: Beats, x_test: np.ndarray,
    classes: tuple[str, ...], config: dict[str, Any], seed: int,
) -> dict[str, Any]:
    """Fit on the training beats, score the test beats; JSON detail with predictions."""
    y_test = np.array([classes.index(c) for c in test.label], dtype=np.int64)
    pred = fit_predict(x_train, y_train, x_test)
    result = class_metrics(y_test, pred, classes)
    low, high = cv.metric_interval(y_test, pred, test.subject, "balanced_accuracy",
                                   int(config["probes"]["bootstrap"]), seed,
                                   n_classes=len(classes))
    counts = np.bincount(y_train, minlength=len(classes))
    majority = np.full_like(y_test, int(np.argmax(counts)))
    return {
        **result,
        "last": {"value": result["balanced_accuracy"], "ci_low": low, "ci_high": high,
                 "n": int(y_test.size)},
        "baseline": {"value": float(cv.balanced_accuracy(y_test, majority)),
                     "method": "training majority class"},
        "chance": 1.0 / max(result["n_classes_present"], 1),
        "n_train_beats": int(y_train.size),
        "train_beats_per_class": {c: int(n) for c, n in zip(classes, counts, strict=True)},
        "n_subjects": int(np.unique(test.subject).size),
        "predictions": {"item": test.item.tolist(), "window_id": test.window_id.tolist(),
                        "time_s": test.time_s.tolist(),
                        "record": test.record.tolist(), "subject": test.subject.tolist(),
                        "reference": y_test.tolist(), "last": pred.tolist()},
    }


@dataclass
class BeatSource:
    """A suite with beats and its embeddings: where features come from."""

    suite_dir: Path
    embedding_dir: Path
    suite: str
    model: str


def _features(source: BeatSource, beats: Beats, channel: int, interval: tuple[float, float],
              ) -> tuple[np.ndarray, np.ndarray, str]:
    meta = read_json(source.suite_dir / "meta.json")
    store = read_tokens(source.embedding_dir, source.model, source.suite)
    window_samples = int(meta["window_samples"])
    note = resolution_note(store, channel, window_samples)
    if note:
        return np.zeros((0, 0)), np.zeros(0, bool), note
    x, usable = beat_features(store, channel, beats.window_id, beats.time_s,
                              float(meta["sampling_rate_hz"]), window_samples, interval)
    return x, usable, ""


def _split(beats: Beats, split: dict[str, tuple[str, ...]]) -> tuple[Beats, Beats]:
    return (subset(beats, np.isin(beats.record, split["train"])),
            subset(beats, np.isin(beats.record, split["test"])))


def _header(task: str, metric_note: str = "", **extra: Any) -> dict[str, Any]:
    out = {"kind": "ecg", "target": "beat_class", "metric": "balanced_accuracy",
           "layer": "last", **extra}
    if metric_note:
        out["note"] = metric_note
    return out


def run_real_beat_task(task: str, real: BeatSource, split: dict[str, tuple[str, ...]],
                       config: dict[str, Any], seed: int) -> dict[str, Any]:
    """DS1 -> DS2 (or any fixed split) beat classes for one model; JSON detail."""
    beats = suite_beats(real.suite_dir)
    if beats is None:
        return _header(task, f"no events.parquet in {real.suite_dir}: rebuild the real suite")
    train, test = _split(beats, split)
    min_groups = int(config["statistics"]["min_groups"])
    note = cv.estimability_note(test.subject, min_groups)
    classes = tuple(c for c in BEAT_CLASSES if np.any(train.label == c))
    info = {"split": {k: list(v) for k, v in split.items()},
            "interval_s": list(config["downstream"]["beat_interval_s"]),
            "n_subjects": int(np.unique(test.subject).size)}
    if not note and len(classes) < 2:
        note = (f"the training beats have class {', '.join(classes) or 'none'} only: add "
                "records with ectopic beats to beat_classes.train")
    if note:
        return _header(task, note, **info)
    interval = tuple(config["downstream"]["beat_interval_s"])
    used = np.isin(beats.record, [*split["train"], *split["test"]]) & np.isin(beats.label, classes)
    beats = subset(beats, used)
    x, usable, note = _features(real, beats, 0, interval)
    if note:
        return _header(task, note, **info)
    kept = subset(beats, usable)
    is_train = np.isin(kept.record, split["train"])
    y_train = np.array([classes.index(c) for c in kept.label[is_train]], dtype=np.int64)
    result = evaluate(x[is_train], y_train, subset(kept, ~is_train), x[~is_train], classes,
                      config, seed)
    return _header(task, **{**info, **result, "n_beats_outside_window": int((~usable).sum())})


def run_sim2real_beat_task(task: str, real: BeatSource, sim: BeatSource,
                           split: dict[str, tuple[str, ...]], config: dict[str, Any],
                           seed: int) -> dict[str, Any]:
    """Train on simulated labelled beats (scenarios suite), test on the real test split."""
    interval = tuple(config["downstream"]["beat_interval_s"])
    sim_beats = suite_beats(sim.suite_dir, kind=None)
    if sim_beats is None:
        return _header(task, f"no simulated counterpart yet: {sim.suite_dir / 'events.parquet'} "
                             "does not exist (labelled premature beats come with the "
                             "simulation's events)")
    classes = tuple(c for c in BEAT_CLASSES if np.any(sim_beats.label == c))
    if len(classes) < 2 or classes == ("N",) or "N" not in classes:
        return _header(task, "no simulated counterpart: the scenarios suite has beats of "
                             f"class(es) {', '.join(classes) or 'none'} only (need N and an "
                             "ectopic class)")
    real_beats = suite_beats(real.suite_dir)
    if real_beats is None:
        return _header(task, f"no events.parquet in {real.suite_dir}: rebuild the real suite")
    _, test = _split(real_beats, split)
    test = subset(test, np.isin(test.label, classes))
    note = cv.estimability_note(test.subject, int(config["statistics"]["min_groups"]))
    info = {"classes_simulated": list(classes), "n_subjects": int(np.unique(test.subject).size)}
    if note:
        return _header(task, note, **info)
    sim_meta = read_json(sim.suite_dir / "meta.json")
    names = [str(n) for n in sim_meta.get("channel_names", ["signal"])]
    channel = names.index("ecg") if "ecg" in names else 0
    x_sim, usable_sim, note = _features(sim, sim_beats, channel, interval)
    if note:
        return _header(task, note, **info)
    x_real, usable_real, note = _features(real, test, 0, interval)
    if note:
        return _header(task, note, **info)
    y_sim = np.array([classes.index(c) for c in sim_beats.label[usable_sim]], dtype=np.int64)
    result = evaluate(x_sim, y_sim, subset(test, usable_real), x_real, classes, config, seed)
    return _header(task, **{**info, **result, "trained_on": "simulated scenarios suite beats"})
