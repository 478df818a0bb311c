"""Beat classes (AAMI N/S/V/F) per annotated beat, from a model's per-token embeddings.

Beat representation (R-aligned token interpolation): the last layer's tokens (the embed
stage keeps that layer's tokens, ``embed.token_layers``) of the ECG channel are read as a
sequence sampled at their centres; the sequence is linearly interpolated at the beat's
annotated R peak plus each offset of :func:`align_offsets_s` (the start of
``downstream.beat_interval_s``, 0, its end: -0.25, 0 and +0.45 s by default, before the P
wave, the QRS complex and the end of the T wave), and the three vectors are concatenated.
So the R peak sits at the same place of the feature vector whatever the beat's position
in the window or on the model's token grid (without re-embedding each beat; a test checks
that a token sequence linear in time gives the same feature for every window offset).
Every row (models and the baselines of :mod:`.beat_baselines`) uses the same beats: those
whose interval lies inside their window (the others are counted as
``interval_crosses_window_edge``). A model whose tokens span more than a quarter of the
window has no temporal resolution for this (e.g. the hand-crafted baseline: one token per
channel); its rows carry a ``note`` instead of a number.

Classifier: linear discriminant analysis on standardised features with Ledoit-Wolf
shrinkage and equal class priors (the classifier family of de Chazal et al. 2004, with
priors that target balanced accuracy). It has no hyperparameter to tune, so training on
DS1 is the whole procedure. For the bench's budget the training N beats are capped at
:data:`MAX_TRAIN_N` (a seeded random subset, the same for every row; every S, V and F beat
is kept); every test beat is scored.

- ``real:{dataset}:ecg:beat_class``: train on the ``beat_classes.train`` records (MIT-BIH
  DS1), test on ``beat_classes.test`` (DS2), the inter-patient split of de Chazal et al.
  2004 (the paced records are in neither). Classes N, S, V, F (Q is too rare to score).
  Records 201 and 202 come from the same man and lie on both sides of this split (the
  published split does so); the detail flags it (``split_shared_subjects``).
- ``sim2real:{dataset}:ecg:beat_class``: train on the beats of the simulated
  ``scenarios`` suite (``events.parquet``: ``event == "beat"``, ``label`` = AAMI class),
  test on the same real test beats, restricted to the classes the simulation has.

Metrics, as the field reports them: per class sensitivity (Se, recall) and positive
predictivity (+P, precision); balanced accuracy (mean Se over the classes present),
chance 1/K; Cohen's κ; the jκ index of Mondéjar-Guerra et al. 2019,
``κ / 2 + (Se_S + Se_V + +P_S + +P_V) / 8``; the confusion matrix. Intervals: 95%
percentile bootstrap over test records (whole records resampled: the beats of one record
are not independent), ``probes.bootstrap`` resamples. The interval is not widened to hold
the point estimate: a ratio's percentile interval can miss it, and then it says so.
Published anchors (DS2, :data:`ANCHORS`) are printed beside them. Every beat is counted:
used (train, test) and dropped by cause (``beat_accounting``).
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
#: training N beats kept (seeded random subset) so that LDA on 3 x dim features stays cheap
MAX_TRAIN_N = 8000
#: published inter-patient (DS1 -> DS2) results, in % (de Chazal et al. 2004, rounded as
#: quoted in issue 21; Mondéjar-Guerra et al. 2019's jκ)
ANCHORS: dict[str, dict[str, float]] = {
    "de Chazal et al. 2004": {"Se_S": 76.0, "+P_S": 38.0, "Se_V": 77.0, "+P_V": 82.0},
    "Mondéjar-Guerra et al. 2019": {"jkappa": 0.773},
}
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


def align_offsets_s(interval_s: tuple[float, float]) -> tuple[float, float, float]:
    """Where the token sequence is read around each R peak (s): interval start, 0, end."""
    return (float(interval_s[0]), 0.0, float(interval_s[1]))


def aligned_beat_features(store: TokenStore, channel: int, window_ids: np.ndarray,
                          times_s: np.ndarray, fs_hz: float,
                          offsets_s: tuple[float, ...]) -> np.ndarray:
    """R-aligned token features (beats x (len(offsets) * dim), float32): the channel's token
    sequence, linearly interpolated between token centres at ``time + offset`` for each
    offset (clamped to the first and last token), concatenated in offset order."""
    chosen = channel_tokens(store, channel)
    centres = store.spans[chosen].mean(axis=1) / fs_hz
    order = np.argsort(centres, kind="stable")
    chosen, centres = chosen[order], centres[order]
    dim = store.tokens.shape[2]
    out = np.zeros((len(times_s), len(offsets_s) * dim), dtype=np.float32)
    points = np.asarray(times_s, float)[:, None] + np.asarray(offsets_s, float)[None, :]
    if centres.size == 1:
        index = np.zeros(points.shape, dtype=np.int64)
        weight = np.zeros(points.shape)
    else:
        clamped = np.clip(points, centres[0], centres[-1])
        index = np.clip(np.searchsorted(centres, clamped, side="right") - 1, 0,
                        centres.size - 2)
        weight = (clamped - centres[index]) / (centres[index + 1] - centres[index])
    order = np.argsort(window_ids, kind="stable")
    bounds = np.flatnonzero(np.diff(window_ids[order])) + 1
    for group in np.split(order, bounds):
        if group.size == 0:
            continue
        tokens = np.asarray(store.tokens[int(window_ids[group[0]])][chosen], dtype=np.float64)
        upper = np.minimum(index[group] + 1, centres.size - 1)
        w = weight[group][..., None]
        values = (1.0 - w) * tokens[index[group]] + w * tokens[upper]
        out[group] = values.reshape(group.size, -1).astype(np.float32)
    return out


def inside_window(times_s: np.ndarray, interval_s: tuple[float, float], fs_hz: float,
                  window_samples: int) -> np.ndarray:
    """Beats whose interval ``[time + start, time + end]`` lies inside their window."""
    low = np.round((times_s + interval_s[0]) * fs_hz).astype(np.int64)
    high = np.round((times_s + interval_s[1]) * fs_hz).astype(np.int64)
    return (low >= 0) & (high <= window_samples)


def training_subset(labels: np.ndarray, seed: int, max_n: int = MAX_TRAIN_N) -> np.ndarray:
    """Indices of the training beats kept: every non-N beat, at most ``max_n`` N beats
    (seeded random subset, in their original order)."""
    labels = np.asarray(labels)
    normal = np.flatnonzero(labels == "N")
    if normal.size > max_n:
        normal = np.sort(np.random.default_rng(seed).choice(normal, max_n, replace=False))
    return np.sort(np.concatenate([np.flatnonzero(labels != "N"), normal]))


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
    chunk = 4096  # bounded memory for long feature vectors
    return np.concatenate([model.predict((x_test[i:i + chunk] - mean) / scale)
                           for i in range(0, len(x_test), chunk)] or
                          [np.zeros(0)]).astype(np.int64)


def kappa(matrix: np.ndarray) -> float:
    """Cohen's κ of a confusion matrix (NaN when undefined)."""
    matrix = np.asarray(matrix, dtype=float)
    total = matrix.sum()
    if total == 0:
        return float("nan")
    observed = np.trace(matrix) / total
    expected = float(matrix.sum(axis=0) @ matrix.sum(axis=1)) / total**2
    return float((observed - expected) / (1.0 - expected)) if expected < 1 else float("nan")


def matrix_scores(matrix: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    """Balanced accuracy, κ, jκ and per-class Se/+P (fractions) of one confusion matrix;
    Se/+P of an absent (never true / never called) class are NaN, and so is jκ when S or
    V has no Se or +P."""
    matrix = np.asarray(matrix, dtype=float)
    out = {"balanced_accuracy": float(statistics.balanced_accuracy_from_confusion(matrix)),
           "kappa": kappa(matrix)}
    for i, name in enumerate(classes):
        true, called = matrix[i].sum(), matrix[:, i].sum()
        out[f"Se_{name}"] = float(matrix[i, i] / true) if true else float("nan")
        out[f"+P_{name}"] = float(matrix[i, i] / called) if called else float("nan")
    j = sum(out.get(f"{m}_{c}", float("nan")) for m in ("Se", "+P") for c in ("S", "V"))
    out["jkappa"] = float(out["kappa"] / 2.0 + j / 8.0)
    return out


def record_bootstrap(y: np.ndarray, pred: np.ndarray, records: np.ndarray, n_classes: int,
                     classes: tuple[str, ...], n_boot: int, seed: int,
                     ) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of :func:`matrix_scores` over test records resampled whole."""
    names, inverse = np.unique(np.asarray(records, dtype=str), return_inverse=True)
    per_record = np.zeros((names.size, n_classes, n_classes))
    np.add.at(per_record, (inverse, y, pred), 1.0)
    rng = np.random.default_rng(seed)
    draws = [matrix_scores(per_record[rng.integers(0, names.size, names.size)].sum(axis=0),
                           classes) for _ in range(max(int(n_boot), 0))]
    if not draws or names.size < 2:
        return {}
    out = {}
    point = matrix_scores(per_record.sum(axis=0), classes)
    for key in draws[0]:
        values = np.array([d[key] for d in draws])
        values = values[np.isfinite(values)]
        if not values.size or not np.isfinite(point[key]):
            out[key] = (float("nan"), float("nan"))
            continue
        # never widened to hold the estimate: an interval that misses it is reported as is
        out[key] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return out


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
            "scores": matrix_scores(matrix, classes),
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
    intervals = record_bootstrap(y_test, pred, test.record, len(classes), classes,
                                 int(config["probes"]["bootstrap"]), seed)
    return {
        **result,
        "score_intervals": {k: list(v) for k, v in intervals.items()},
        "interval_method": "95% percentile bootstrap over test records (whole records)",
        "anchors": ANCHORS,
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
    """R-aligned token features of the beats whose interval lies inside their window:
    ``(features of those beats, usable mask over all beats, note)``."""
    meta = read_json(source.suite_dir / "meta.json")
    store = read_tokens(source.embedding_dir, source.model, source.suite)
    window_samples = int(meta["window_samples"])
    fs = float(meta["sampling_rate_hz"])
    note = resolution_note(store, channel, window_samples)
    if note:
        return np.zeros((0, 0)), np.zeros(0, bool), note
    usable = inside_window(beats.time_s, interval, fs, window_samples)
    x = aligned_beat_features(store, channel, beats.window_id[usable], beats.time_s[usable],
                              fs, align_offsets_s(interval))
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


@dataclass
class BeatPlan:
    """The beats of the real beat task, the same for every row: ``beats`` (train beats
    kept, then every test beat), ``is_train``, ``classes``, the count of every beat."""

    beats: Beats
    is_train: np.ndarray
    classes: tuple[str, ...]
    accounting: dict[str, Any]
    info: dict[str, Any]
    note: str = ""


def shared_subjects(suite_dir: Path, split: dict[str, tuple[str, ...]]) -> list[str]:
    """Subjects with records on both sides of the split (MIT-BIH: 201 and 202)."""
    labels = pd.read_parquet(suite_dir / "labels.parquet", columns=["record", "subject_id"])
    pairs = labels.drop_duplicates().astype(str)
    train = set(pairs.loc[pairs["record"].isin(split["train"]), "subject_id"])
    test = set(pairs.loc[pairs["record"].isin(split["test"]), "subject_id"])
    return sorted(train & test)


def _record_beat_counts(suite_dir: Path, records: list[str]) -> dict[str, int]:
    meta = read_json(suite_dir / "meta.json")
    total: dict[str, int] = {}
    for record in records:
        counts = meta.get("records", {}).get(record, {}).get("ecg", {}).get("beats", {})
        for key, value in counts.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total


def beat_plan(suite_dir: Path, split: dict[str, tuple[str, ...]], config: dict[str, Any],
              seed: int) -> BeatPlan:
    """Which beats the real beat task uses, and where every other annotated beat went."""
    interval = tuple(config["downstream"]["beat_interval_s"])
    info: dict[str, Any] = {"split": {k: list(v) for k, v in split.items()},
                            "interval_s": list(interval)}
    empty = Beats(*(np.zeros(0),) * 6)
    beats = suite_beats(suite_dir, classes=(*BEAT_CLASSES, "Q"))
    if beats is None:
        return BeatPlan(empty, np.zeros(0, bool), (), {}, info,
                        f"no events.parquet in {suite_dir}: rebuild the real suite")
    train, test = _split(beats, split)
    info["n_subjects"] = int(np.unique(test.subject).size)
    info["split_shared_subjects"] = shared_subjects(suite_dir, split)
    note = cv.estimability_note(test.subject, int(config["statistics"]["min_groups"]))
    classes = tuple(c for c in BEAT_CLASSES if np.any(train.label == c))
    if not note and len(classes) < 2:
        note = (f"the training beats have class {', '.join(classes) or 'none'} only: add "
                "records with ectopic beats to beat_classes.train")
    meta = read_json(suite_dir / "meta.json")
    in_split = np.isin(beats.record, [*split["train"], *split["test"]])
    scored = in_split & np.isin(beats.label, classes)
    usable = inside_window(beats.time_s, interval, float(meta["sampling_rate_hz"]),
                           int(meta["window_samples"]))
    kept = subset(beats, scored & usable)
    is_train = np.isin(kept.record, split["train"])
    train_idx = np.flatnonzero(is_train)[training_subset(kept.label[is_train], seed)]
    order = np.concatenate([train_idx, np.flatnonzero(~is_train)])
    accounting: dict[str, Any] = {}
    for side in ("train", "test"):
        on_side = np.isin(beats.record, split[side])
        windows = _record_beat_counts(suite_dir, list(split[side]))
        accounting[side] = {
            **{f"record_{k}": v for k, v in windows.items()},
            "in_kept_windows": int(on_side.sum()),
            "dropped_class_not_scored": int((on_side & ~np.isin(beats.label, classes)).sum()),
            "dropped_interval_crosses_window_edge": int((on_side & scored & ~usable).sum()),
            "used": int(train_idx.size if side == "train" else (~is_train).sum()),
        }
    accounting["train"]["dropped_n_beyond_budget"] = int(is_train.sum() - train_idx.size)
    return BeatPlan(subset(kept, order), np.arange(order.size) < train_idx.size, classes,
                    accounting, info, note)


def run_real_beat_task(task: str, real: BeatSource, split: dict[str, tuple[str, ...]],
                       config: dict[str, Any], seed: int) -> dict[str, Any]:
    """DS1 -> DS2 (or any fixed split) beat classes for one model; JSON detail."""
    plan = beat_plan(real.suite_dir, split, config, seed)
    if plan.note:
        return _header(task, plan.note, **plan.info, beat_accounting=plan.accounting)
    interval = tuple(config["downstream"]["beat_interval_s"])
    x, usable, note = _features(real, plan.beats, 0, interval)
    if note:
        return _header(task, note, **plan.info, beat_accounting=plan.accounting)
    assert usable.all()  # the plan keeps only beats inside their window
    return _header(task, **{**plan.info, **features_result(x, plan, config, seed)})


def features_result(x: np.ndarray, plan: BeatPlan, config: dict[str, Any], seed: int,
                    ) -> dict[str, Any]:
    """Train on the plan's training beats' features, score its test beats."""
    classes = plan.classes
    y_train = np.array([classes.index(c) for c in plan.beats.label[plan.is_train]],
                       dtype=np.int64)
    result = evaluate(x[plan.is_train], y_train, subset(plan.beats, ~plan.is_train),
                      x[~plan.is_train], classes, config, seed)
    return {**result, "beat_accounting": plan.accounting}


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
