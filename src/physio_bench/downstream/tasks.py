"""Downstream tasks on real recordings, and simulation-to-real transfer, for one model.

Task names are ``{source}:{dataset}:{kind}:{target}`` (e.g. ``real:bidmc:ppg:resp_rate_bpm``);
each dataset offers the targets its references allow (``meta.json`` ``targets`` of its
suite, see :func:`physio_bench.downstream.windows.offered_targets`).

- ``real:*:*:heart_rate_bpm`` / ``resp_rate_bpm``: ridge regression on the pooled
  embedding, cross-validated with folds grouped by subject on ``downstream.cv_repeats``
  repeats of the split (:func:`out_of_fold`; penalty and best layer by inner CV on the
  training subjects, anew in every fold of every repeat); mean absolute error (bpm,
  breaths/min) of the out-of-fold predictions, averaged over the repeats (not clipped: a
  decoder that extrapolates shows it).
- ``sim2real:*:*:heart_rate_bpm`` / ``resp_rate_bpm``: a ridge decoder trained on the
  simulated ``factors`` suite only (same signal kind and target; penalty and best layer
  by inner CV on simulated subjects) predicts every labelled real window; predictions are
  not clipped (an extrapolating decoder shows its full error; clip for plotting only).
  No real label is used for training. Simulated and real windows reach the model through
  the same embed path and the same input normalisation (``embed.input_normalisation``,
  see :func:`physio_bench.models.embed.normalise_windows`). When the
  factors suite has no window of that kind with that label, the row says so.
- ``real:*:ecg:beat_class`` and ``sim2real:*:ecg:beat_class``: see
  :mod:`physio_bench.downstream.beats`.
- ``real:*:*:class_NAME``: a binary window-level class from the dataset's own labels
  (a reader's ``classes(record)``, e.g. CPSC 2021's annotated AF episodes, CinC 2021's
  SNOMED diagnoses). A least-squares (ridge) classifier on the pooled embedding of each
  layer, cross-validated with folds grouped by subject on repeated splits like the
  regression tasks (penalty and best layer by inner CV); a window is called positive
  when its out-of-fold score reaches the training folds' positive fraction (so that a
  constant score cannot beat chance). Metric: balanced accuracy (mean of sensitivity
  and specificity); chance 0.5, the balanced accuracy of any constant predictor. Real
  only: no simulated counterpart is trained. A class present (or absent) in fewer than
  ``statistics.min_groups`` subjects is reported as too small, with no value.

Every number comes with a 95% interval over subjects (corrected resampled t over the
outer folds of every repeat for cross-validated decoders, a subject bootstrap for
decoders fitted elsewhere), ``n`` (windows or beats) and ``n_subjects``; a metric over fewer than
``statistics.min_groups`` subjects is reported as ``not estimable: k groups (need m)``
in ``note``, with no value. The ``chance`` column of an MAE row is the error of the mean
predictor on the same folds (the training labels' mean, averaged over the repeats;
:func:`physio_bench.downstream.cv.mean_predictor_error` for one split; a model above it
is flagged "worse than a constant" in the leaderboard);
of a balanced accuracy, 1/K. The JSON holds per-layer metrics, the trivial baseline, the
folds' choices (per repeat and fold) and the predictions (repeat 0 under
``predictions``, the others under ``predictions.later_repeats``; the prediction table
holds every repeat).

A domain model (``signal_kinds`` in its ``model.json``, e.g. only ``ppg``) is not run on
the tasks of other kinds: their rows have no value and the note ``n/a: model is
PPG-only`` (:mod:`physio_bench.applicability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.applicability import accepted_kinds, applies
from physio_bench.applicability import note as not_applicable
from physio_bench.downstream import beats as beat_tasks
from physio_bench.downstream import cv
from physio_bench.downstream.datasets import dataset_specs, is_class_target
from physio_bench.errors import InputError
from physio_bench.io import PREDICTION_COLUMNS, read_json
from physio_bench.metrics import direction_of

REGRESSION_TARGETS = ("heart_rate_bpm", "resp_rate_bpm")
BEAT_TABLE_COLUMNS = ["model", "task", "class", "n_beats", "sensitivity", "ppv"]


@dataclass(frozen=True)
class Task:
    """A downstream task: which dataset, signal kind and target, trained where."""

    source: str  # "real" (cross-validated on real windows) or "sim2real"
    dataset: str
    kind: str
    target: str

    @property
    def name(self) -> str:
        return f"{self.source}:{self.dataset}:{self.kind}:{self.target}"

    @property
    def metric(self) -> str:
        return ("balanced_accuracy" if self.target == "beat_class" or is_class_target(self.target)
                else "mae")


def dataset_tasks(dataset: str, targets: dict[str, list[str]]) -> list[Task]:
    """Real and sim2real tasks of a dataset from its suite's offered targets (window
    classes: real only)."""
    return [Task(source, dataset, kind, target)
            for kind, names in targets.items() for target in names
            for source in ("real", "sim2real")
            if source == "real" or not is_class_target(target)]


@dataclass
class Embedded:
    """Pooled embeddings of one suite with its labels."""

    pooled: np.ndarray  # layers x windows x dim, float32
    labels: pd.DataFrame
    info: dict[str, Any]

    @property
    def layer_names(self) -> list[str]:
        return list(self.info.get("layer_names") or [f"layer{i}" for i in range(len(self.pooled))])


def read_embedded(embedding_dir: Path, suite_dir: Path, model: str, suite: str) -> Embedded:
    """Read ``pooled.npy`` and ``model.json`` of one suite and the suite's labels.

    Raises:
        InputError: missing files, a window count that disagrees with the suite, or
            non-finite embeddings.
    """
    pooled_path, info_path = embedding_dir / "pooled.npy", embedding_dir / "model.json"
    for path in (pooled_path, info_path):
        if not path.exists():
            raise InputError(
                f"{path} not found: embed suite '{suite}' with model '{model}' first "
                f"(snakemake results/embeddings/{model}/{suite}/model.json)"
            )
    labels_path = suite_dir / "labels.parquet"
    if not labels_path.exists():
        raise InputError(f"{labels_path} not found: build suite '{suite}' first")
    pooled = np.load(pooled_path, allow_pickle=False)
    labels = pd.read_parquet(labels_path)
    if pooled.ndim != 3 or pooled.shape[1] != len(labels):
        raise InputError(
            f"{pooled_path} has shape {pooled.shape} but {labels_path} has {len(labels)} "
            f"windows: re-embed suite '{suite}' with model '{model}'"
        )
    if not np.isfinite(pooled).all():
        raise InputError(
            f"{pooled_path} holds NaN or infinite values: fix model '{model}' "
            "(its embeddings must be finite) and re-embed"
        )
    info = read_json(info_path)
    if pooled.shape[0] != len(info.get("layer_names") or pooled):
        raise InputError(f"model.json of '{model}' names {len(info['layer_names'])} layers but "
                         f"{pooled_path} has {pooled.shape[0]}: re-embed suite '{suite}'")
    return Embedded(pooled=pooled, labels=labels, info=info)


def select(labels: pd.DataFrame, kind: str, column: str) -> np.ndarray:
    """Indices of windows of ``kind`` whose label ``column`` is finite."""
    if column not in labels.columns:
        return np.zeros(0, dtype=np.int64)
    values = pd.to_numeric(labels[column], errors="coerce").to_numpy(dtype=float)
    mask = (labels["signal_kind"].to_numpy() == kind) & np.isfinite(values)
    return np.flatnonzero(mask)


def summary(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, n_boot: int,
            seed: int, folds: np.ndarray | None = None) -> dict[str, Any]:
    """MAE, its 95% interval over subjects (:func:`.cv.metric_interval`: corrected t over
    the outer ``folds`` of cross-validated predictions, else a subject bootstrap),
    windows and subjects. With ``pred`` and ``folds`` of shape repeats x windows (repeated
    splits) the value is the mean of the repeats' MAEs and the interval uses every
    repeat's folds."""
    low, high = cv.metric_interval(y, pred, groups, "mae", n_boot, seed, folds=folds)
    return {"value": cv.mean_absolute_error(y, pred), "ci_low": low, "ci_high": high,
            "n": len(y), "n_subjects": int(np.unique(groups).size)}


def per_subject_errors(y: np.ndarray, pred: np.ndarray, groups: np.ndarray,
                       ) -> dict[str, dict[str, float]]:
    """Per subject: windows, MAE, and the MAE of the mean predictor (the mean of every
    other subject's labels), so that one subject cannot hide in a pooled mean."""
    y, pred, groups = np.asarray(y, float), np.asarray(pred, float), np.asarray(groups, str)
    out = {}
    for subject in np.unique(groups):
        here = groups == subject
        others = y[~here].mean() if (~here).any() else float("nan")
        out[str(subject)] = {"n": int(here.sum()),  # pred: windows, or repeats x windows
                             "mae": float(np.mean(np.abs(y[here] - pred[..., here]))),
                             "mean_predictor_mae": float(np.mean(np.abs(y[here] - others)))}
    return out


WITHIN_SUBJECT_NOTE = ("each window predicted by the mean label of its subject's other "
                       "windows: uses the test subject's labels, so no subject-grouped split "
                       "allows it; it shows how much of the label varies within subjects")


def mean_predictor(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Leave-one-subject-out mean: each window predicted by the mean label of the other
    subjects (the mean predictor under a subject-grouped split)."""
    y, groups = np.asarray(y, float), np.asarray(groups, str)
    out = np.full(y.size, np.nan)
    total, count = y.sum(), y.size
    for subject in np.unique(groups):
        here = groups == subject
        if count > here.sum():
            out[here] = (total - y[here].sum()) / (count - here.sum())
    return out


def within_subject_predictor(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each window predicted by the mean label of its subject's other windows (NaN for a
    subject with one window); see :data:`WITHIN_SUBJECT_NOTE`."""
    y, groups = np.asarray(y, float), np.asarray(groups, str)
    out = np.full(y.size, np.nan)
    for subject in np.unique(groups):
        here = np.flatnonzero(groups == subject)
        if here.size > 1:
            out[here] = (y[here].sum() - y[here]) / (here.size - 1)
    return out


def skill(value: float, reference: float) -> float:
    """``1 - MAE / reference MAE``: 0 = no better than the reference, 1 = perfect."""
    return float(1.0 - value / reference) if reference and np.isfinite(reference) \
        else float("nan")


def note_only(task: Task, note: str, **extra: Any) -> dict[str, Any]:
    """The detail of a task that has no number, only a reason."""
    return {"kind": task.kind, "target": task.target, "metric": task.metric, "note": note,
            **extra}


def regression_detail(
    task: Task, labels: pd.DataFrame, y: np.ndarray, per_layer: np.ndarray, best: np.ndarray,
    best_name: str, baseline: np.ndarray, layer_names: list[str], config: dict[str, Any],
    extra: dict[str, Any], folds: np.ndarray | None = None,
) -> dict[str, Any]:
    """JSON detail of a regression task: per-layer, last, best and baseline summaries.

    ``per_layer`` (repeats x layers x windows), ``best`` and ``baseline`` (repeats x
    windows): one prediction set per repeat of the split; ``folds`` (repeats x windows):
    the outer fold of each window in each repeat when the predictions are cross-validated,
    None for a decoder fitted elsewhere (one repeat). The JSON's ``predictions`` hold
    repeat 0 (``last``, ``best``, ``fold``) and the others under ``later_repeats``.
    """
    if per_layer.shape[0] == 1:  # one split: plain windows arrays, as every reader expects
        per_layer, best, baseline = per_layer[0], best[0], baseline[0]
        folds = None if folds is None else folds[0]
    n_boot = int(config["probes"]["bootstrap"])
    seed = cv.stable_seed(int(config["seed"]), task.name)
    groups = labels["subject_id"].astype(str).to_numpy()
    by_layer = per_layer if per_layer.ndim == 2 else per_layer.transpose(1, 0, 2)
    layers = {name: summary(y, p, groups, n_boot, seed, folds)
              for name, p in zip(layer_names, by_layer, strict=True)}
    base = summary(y, baseline, groups, n_boot, seed, folds)
    within = within_subject_predictor(y, groups)
    has = np.isfinite(within)
    within_mae = float(np.mean(np.abs(y[has] - within[has]))) if has.any() else float("nan")
    last_value = layers[layer_names[-1]]["value"]
    best_value = cv.mean_absolute_error(y, best)
    return {
        "kind": task.kind, "target": task.target, "metric": task.metric,
        "dataset": task.dataset, "n": len(y), "n_subjects": int(np.unique(groups).size),
        "windows_per_subject": {str(k): int(v) for k, v in
                                labels["subject_id"].astype(str).value_counts().sort_index()
                                .items()},
        "label_range": [float(np.min(y)), float(np.max(y))],
        "layers": layers,
        "last": {"layer": layer_names[-1], **layers[layer_names[-1]]},
        "best": {"layer": best_name, **summary(y, best, groups, n_boot, seed, folds)},
        "interval": ("corrected resampled t over the outer folds (by subject)"
                     if folds is not None else "bootstrap over subjects"),
        "baseline": base,
        "chance": base["value"],
        "within_subject_baseline": {"value": within_mae, "n": int(has.sum()),
                                    "note": WITHIN_SUBJECT_NOTE},
        "skill": {"last_over_mean_predictor": skill(last_value, base["value"]),
                  "best_over_mean_predictor": skill(best_value, base["value"]),
                  "last_over_within_subject": skill(last_value, within_mae),
                  "best_over_within_subject": skill(best_value, within_mae)},
        "beats_mean_predictor": bool(layers[layer_names[-1]]["ci_high"] < base["value"]),
        "per_subject": per_subject_errors(y, by_layer[-1], groups),
        **label_source(labels, task.target),
        "predictions": {
            "window_id": labels["window_id"].to_numpy(dtype=np.int64).tolist(),
            "record": labels["record"].astype(str).tolist(),
            "subject": groups.tolist(),
            "start_s": labels["start_s"].to_numpy(dtype=float).tolist(),
            "reference": y.tolist(),
            **_repeat_predictions(by_layer[-1], best, folds),
        },
        "n_repeats": 1 if best.ndim == 1 else len(best),
        **extra,
    }


def _repeat_predictions(last: np.ndarray, best: np.ndarray, folds: np.ndarray | None,
                        ) -> dict[str, Any]:
    """The ``predictions`` entries of the last and best layers: repeat 0 flat (``last``,
    ``best``, ``fold``; fold -1 for a decoder fitted elsewhere), the other repeats as
    ``later_repeats`` (a list of the same three entries)."""
    last, best = np.atleast_2d(last), np.atleast_2d(best)
    fold = (np.full(best.shape, -1, dtype=np.int64) if folds is None
            else np.atleast_2d(np.asarray(folds, dtype=np.int64)))
    entries = [{"last": a.tolist(), "best": b.tolist(), "fold": f.tolist()}
               for a, b, f in zip(last, best, fold, strict=True)]
    return {**entries[0], "later_repeats": entries[1:]} if len(entries) > 1 else entries[0]


def label_source(labels: pd.DataFrame, target: str) -> dict[str, Any]:
    """Where a task's labels come from, and whether they are independent of every
    detector run here (annotations, the monitor) or a detector's (named as such)."""
    column = {"heart_rate_bpm": "heart_rate_source", "resp_rate_bpm": "resp_rate_source"}.get(
        target, "")
    if column not in labels.columns:
        return {"label_source": "", "label_independent": True}
    sources = sorted({part for value in labels[column].astype(str)
                      for part in value.split(",") if part})
    return {"label_source": ",".join(sources),
            "label_independent": not any(s.startswith("detector:") for s in sources)}


def label_note(detail: dict[str, Any]) -> str:
    """``"detector label"`` for a task whose labels a detector made, else empty."""
    return "detector label" if detail.get("label_independent") is False else ""


def _most_common(names: list[str]) -> str:
    values, counts = np.unique(np.asarray(names), return_counts=True)
    return str(values[np.argmax(counts)])


def cv_repeats(config: dict[str, Any]) -> int:
    """Repeats of the real-data tasks' outer split (``downstream.cv_repeats``; 1 for a
    configuration dict that was never validated against the schema)."""
    return int(config.get("downstream", {}).get("cv_repeats", 1))


@dataclass
class OutOfFold:
    """Repeated nested cross-validation of one task: per repeat (axis 0) every layer's
    out-of-fold value, the inner-chosen layer's, the training folds' mean label, and each
    window's outer fold; the chosen layer's name in every (repeat, fold)."""

    per_layer: np.ndarray  # repeats x layers x windows
    best: np.ndarray  # repeats x windows
    train_mean: np.ndarray  # repeats x windows
    fold: np.ndarray  # repeats x windows, int
    chosen: list[str]
    penalties: list[list[float]]  # per (repeat, fold): each layer's penalty


def out_of_fold(real: Embedded, idx: np.ndarray, y: np.ndarray, groups: np.ndarray,
                task: Task, config: dict[str, Any]) -> OutOfFold:
    """Cross-validate the windows ``idx`` on ``downstream.cv_repeats`` repeats of a
    ``probes.cv_folds``-fold split grouped by subject (:func:`.cv.repeated_group_folds`,
    seeded by the task's name, so every model gets the same folds); penalty and best
    layer by ``probes.inner_folds`` inner folds of the training subjects."""
    n_folds, inner_folds = int(config["probes"]["cv_folds"]), int(config["probes"]["inner_folds"])
    splits = cv.repeated_group_folds(groups, n_folds, cv_repeats(config),
                                     cv.stable_seed(int(config["seed"]), task.name))
    n_layers, n = real.pooled.shape[0], len(y)
    shape = (len(splits), n)
    found = OutOfFold(np.empty((len(splits), n_layers, n)), np.empty(shape), np.empty(shape),
                      np.empty(shape, dtype=np.int64), [], [])
    for r, split in enumerate(splits):
        results = cv.cross_validate(real.pooled[:, idx], y, groups, n_folds, inner_folds,
                                    folds=split)
        found.train_mean[r] = cv.mean_predictor_predictions(y, split)
        for k, fold in enumerate(results):
            found.fold[r, fold.test] = k
            found.per_layer[r][:, fold.test] = fold.predictions
            found.best[r, fold.test] = fold.predictions[fold.best_layer]
            found.chosen.append(real.layer_names[fold.best_layer])
            found.penalties.append([f.penalty for f in fold.fits])
    return found


def run_real_task(task: Task, real: Embedded, config: dict[str, Any]) -> dict[str, Any]:
    """Cross-validate one regression task on real windows, grouped by subject."""
    idx = select(real.labels, task.kind, task.target)
    labels = real.labels.iloc[idx]
    groups = labels["subject_id"].astype(str).to_numpy()
    note = cv.estimability_note(groups, int(config["statistics"]["min_groups"]))
    if note:
        return note_only(task, note, n=len(idx), n_subjects=int(np.unique(groups).size))
    y = labels[task.target].to_numpy(dtype=float)
    found = out_of_fold(real, idx, y, groups, task, config)
    return regression_detail(task, labels, y, found.per_layer, found.best,
                             _most_common(found.chosen), found.train_mean,
                             real.layer_names, config, {
                                 "cv": "grouped_by_subject",
                                 "n_folds": int(found.fold.max()) + 1,
                                 "best_layer_per_fold": found.chosen,
                                 "penalty_per_fold": found.penalties,
                                 "predictions_clipped_to_training_range": False,
                                 "baseline_method": "training-fold mean",
                             }, folds=found.fold)


def run_real_class_task(task: Task, real: Embedded, config: dict[str, Any]) -> dict[str, Any]:
    """Cross-validate one binary window-class task, grouped by subject (module docstring)."""
    idx = select(real.labels, task.kind, task.target)
    labels = real.labels.iloc[idx]
    groups = labels["subject_id"].astype(str).to_numpy()
    y = labels[task.target].to_numpy(dtype=float) if len(idx) else np.zeros(0)
    min_groups = int(config["statistics"]["min_groups"])
    counts = {"n_positive": int((y == 1).sum()), "n_negative": int((y == 0).sum()),
              "positive_subjects": int(np.unique(groups[y == 1]).size),
              "negative_subjects": int(np.unique(groups[y == 0]).size)}
    note = cv.estimability_note(groups, min_groups)
    if not note and min(counts["positive_subjects"], counts["negative_subjects"]) < min_groups:
        note = (f"too small: the class is present in {counts['positive_subjects']} and absent "
                f"in {counts['negative_subjects']} subjects (need {min_groups} of each)")
    if note:
        return note_only(task, note, n=len(idx), n_subjects=int(np.unique(groups).size),
                         chance=0.5, **counts)
    found = out_of_fold(real, idx, y, groups, task, config)
    calls = (found.per_layer >= found.train_mean[:, None, :]).astype(np.int64)
    best_calls = (found.best >= found.train_mean).astype(np.int64)
    truth = y.astype(np.int64)
    n_boot = int(config["probes"]["bootstrap"])
    seed = cv.stable_seed(int(config["seed"]), task.name)

    def summarise(pred: np.ndarray) -> dict[str, Any]:  # repeats x windows
        low, high = cv.metric_interval(truth, pred, groups, "balanced_accuracy", n_boot,
                                       seed, folds=found.fold, n_classes=2)
        value = float(np.mean([cv.balanced_accuracy(truth, p) for p in pred]))
        return {"value": value, "ci_low": low, "ci_high": high,
                "n": len(y), "n_subjects": int(np.unique(groups).size)}

    layers = {name: summarise(calls[:, i]) for i, name in enumerate(real.layer_names)}
    chosen = found.chosen
    return {
        "kind": task.kind, "target": task.target, "metric": task.metric,
        "dataset": task.dataset, "n": len(y), "n_subjects": int(np.unique(groups).size),
        **counts, "layers": layers,
        "last": {"layer": real.layer_names[-1], **layers[real.layer_names[-1]]},
        "best": {"layer": _most_common(chosen), **summarise(best_calls)},
        "chance": 0.5, "baseline_method": "any constant predictor (balanced accuracy 0.5)",
        "cv": "grouped_by_subject", "n_folds": int(found.fold.max()) + 1,
        "n_repeats": len(found.best), "best_layer_per_fold": chosen,
        "interval": "corrected resampled t over the outer folds (by subject)",
        "predictions": {
            "window_id": labels["window_id"].to_numpy(dtype=np.int64).tolist(),
            "record": labels["record"].astype(str).tolist(), "subject": groups.tolist(),
            "start_s": labels["start_s"].to_numpy(dtype=float).tolist(),
            "reference": truth.tolist(),
            **_repeat_predictions(calls[:, -1], best_calls, found.fold),
        },
    }


def run_sim2real_task(task: Task, real: Embedded, sim: Embedded,
                      config: dict[str, Any]) -> dict[str, Any]:
    """Train on the simulated factors suite, predict the real windows (no real label)."""
    real_idx = select(real.labels, task.kind, task.target)
    sim_idx = select(sim.labels, task.kind, task.target)
    labels = real.labels.iloc[real_idx]
    groups = labels["subject_id"].astype(str).to_numpy()
    inner_folds = int(config["probes"]["inner_folds"])
    if np.unique(sim.labels.iloc[sim_idx]["subject_id"].astype(str)).size < inner_folds:
        return note_only(task, f"no simulated counterpart: the factors suite has "
                               f"{sim_idx.size} {task.kind} windows labelled {task.target}",
                         n=len(real_idx), n_subjects=int(np.unique(groups).size))
    note = cv.estimability_note(groups, int(config["statistics"]["min_groups"]))
    if note:
        return note_only(task, note, n=len(real_idx), n_subjects=int(np.unique(groups).size))
    if sim.pooled.shape[0] != real.pooled.shape[0]:
        raise InputError(
            f"factors and real embeddings have {sim.pooled.shape[0]} and "
            f"{real.pooled.shape[0]} layers: re-embed both with the same model"
        )
    y_sim = sim.labels.iloc[sim_idx][task.target].to_numpy(dtype=float)
    inner = cv.group_folds(sim.labels.iloc[sim_idx]["subject_id"].to_numpy(dtype=str),
                           inner_folds)
    y = labels[task.target].to_numpy(dtype=float)
    per_layer, fits = [], []
    for layer_sim, layer_real in zip(sim.pooled[:, sim_idx], real.pooled[:, real_idx],
                                     strict=True):
        pred, fit = cv.fit_layer(layer_sim, y_sim, layer_real, inner)
        per_layer.append(pred)
        fits.append(fit)
    chosen = cv.best_layer(fits)
    per_layer_arr = np.array(per_layer)[None]  # one "repeat": no resampled split
    return regression_detail(
        task, labels, y, per_layer_arr, per_layer_arr[:, chosen], real.layer_names[chosen],
        np.full((1, len(y)), y_sim.mean()), real.layer_names, config, {
            "cv": "train on simulated factors, test on real",
            "n_train_simulated": int(sim_idx.size),
            "penalty_per_layer": [f.penalty for f in fits],
            "inner_score_per_layer": [f.inner_score for f in fits],
            "simulated_label_range": [float(y_sim.min()), float(y_sim.max())],
            "predictions_clipped_to_training_range": False,
            "baseline_method": "simulated training mean",
        })


def run_downstream(
    config: dict[str, Any], model: str, results_dir: str | Path
) -> tuple[dict[str, Any], list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    """Every downstream task of every dataset for ``model``.

    Reads ``{results}/real/{dataset}``, ``{results}/simulated/{factors,scenarios}`` and
    their embeddings under ``{results}/embeddings/{model}/``. Returns the JSON detail, the
    leaderboard rows, the out-of-fold predictions (``physio_bench.io.PREDICTION_COLUMNS``)
    and the per-class beat table (:data:`BEAT_TABLE_COLUMNS`).
    """
    results = Path(results_dir)
    embeddings = results / "embeddings" / model
    sim = read_embedded(embeddings / "factors", results / "simulated" / "factors", model,
                        "factors")
    scenarios = beat_tasks.BeatSource(results / "simulated" / "scenarios",
                                      embeddings / "scenarios", "scenarios", model)
    seed = int(config["seed"])
    tasks: dict[str, Any] = {}
    datasets: dict[str, Any] = {}
    pretrained = bool(sim.info.get("pretrained", False))
    kinds = accepted_kinds(sim.info)  # ModelInfo.signal_kinds: None for general models
    for spec in dataset_specs(config):
        suite_dir = results / "real" / spec.name
        real = read_embedded(embeddings / spec.suite, suite_dir, model, spec.suite)
        meta = read_json(suite_dir / "meta.json")
        datasets[spec.name] = {"n_windows": len(real.labels), "records": meta.get("records", {}),
                               "cross_checks": meta.get("cross_checks", {})}
        source = beat_tasks.BeatSource(suite_dir, embeddings / spec.suite, spec.suite, model)
        for task in dataset_tasks(spec.name, meta["targets"]):
            if not applies(task.name, kinds):  # a domain model: not run on other kinds
                tasks[task.name] = note_only(task, not_applicable(kinds))
            elif task.target == "beat_class" and spec.beat_split is not None:
                task_seed = cv.stable_seed(seed, task.name)
                tasks[task.name] = (
                    beat_tasks.run_real_beat_task(task.name, source, spec.beat_split, config,
                                                  task_seed)
                    if task.source == "real" else
                    beat_tasks.run_sim2real_beat_task(task.name, source, scenarios,
                                                      spec.beat_split, config, task_seed))
            elif is_class_target(task.target):
                tasks[task.name] = run_real_class_task(task, real, config)
            elif task.source == "real":
                tasks[task.name] = run_real_task(task, real, config)
            else:
                tasks[task.name] = run_sim2real_task(task, real, sim, config)
    detail = {
        "model": model,
        "pretrained": pretrained,
        "layer_names": sim.layer_names,
        "datasets": datasets,
        "settings": {
            "cv_folds": int(config["probes"]["cv_folds"]),
            "cv_repeats": cv_repeats(config),
            "inner_folds": int(config["probes"]["inner_folds"]),
            "bootstrap": int(config["probes"]["bootstrap"]),
            "min_groups": int(config["statistics"]["min_groups"]),
            "ridge_alphas": cv.RIDGE_ALPHAS.tolist(),
            "beat_interval_s": list(config["downstream"]["beat_interval_s"]),
        },
        "tasks": dict(sorted(tasks.items())),
        "signal_kinds": None if kinds is None else list(kinds),
    }
    return (detail, leaderboard_rows(model, pretrained, detail["tasks"]),
            prediction_table(detail["tasks"]), beat_table(model, detail["tasks"]))


def beat_rows(model: str, task: str, detail: dict[str, Any], layer: str = "last",
              pretrained: bool = False) -> list[dict[str, Any]]:
    """Leaderboard rows of a beat-class result: balanced accuracy and jκ, each with its
    record-bootstrap interval (no value when the task has a ``note``)."""
    rows = []
    intervals = detail.get("score_intervals", {})
    scores = detail.get("scores", {})
    for metric in ("balanced_accuracy", "jkappa"):
        low, high = intervals.get(metric, (float("nan"), float("nan")))
        value = scores.get(metric, float("nan"))
        note = detail.get("note", "")
        if not note and not np.isfinite(value):
            missing = [f"{m} of {c}" for c in ("S", "V") for m in ("Se", "+P")
                       if not np.isfinite(scores.get(f"{m}_{c}", float("nan")))]
            note = ("not estimable: no " + ", ".join(missing) + " (class absent or never "
                    "called in the test records)") if missing else "not estimable"
        rows.append({
            "model": model, "pretrained": pretrained, "stage": "downstream", "task": task,
            "metric": metric, "layer": layer,
            "value": value, "ci_low": low, "ci_high": high,
            "n": detail.get("last", {}).get("n", detail.get("n", 0)),
            "n_subjects": detail.get("n_subjects", pd.NA),
            "chance": detail.get("chance", float("nan")) if metric == "balanced_accuracy"
            else float("nan"),
            "direction": direction_of(metric), "note": note,
        })
    return rows


def leaderboard_rows(model: str, pretrained: bool,
                     tasks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (``physio_bench.io.LEADERBOARD_COLUMNS``): ``last`` and ``best`` for regression
    tasks, ``last`` for beat classes (only the last layer's tokens are kept); a task with
    a ``note`` and no number gives rows with empty values."""
    rows = []
    for name, detail in tasks.items():
        if name.startswith("real:") and detail.get("target") == "beat_class":
            rows += beat_rows(model, name, detail, pretrained=pretrained)
            continue
        two = detail["metric"] == "mae" or is_class_target(detail.get("target", ""))
        for layer in ("last", "best") if two else ("last",):
            result = detail.get(layer, {})
            rows.append({
                "model": model, "pretrained": pretrained, "stage": "downstream",
                "task": name, "metric": detail["metric"], "layer": layer,
                "value": result.get("value", float("nan")),
                "ci_low": result.get("ci_low", float("nan")),
                "ci_high": result.get("ci_high", float("nan")),
                "n": result.get("n", detail.get("n", 0)),
                "n_subjects": detail.get("n_subjects", pd.NA),
                "chance": detail.get("chance", float("nan")),
                "direction": direction_of(detail["metric"]),
                "note": "; ".join(filter(None, [label_note(detail), detail.get("note", "")])),
            })
    return rows


def prediction_table(tasks: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Out-of-fold predictions of every task with numbers, one row per item and layer."""
    frames = []
    for name, detail in tasks.items():
        found = detail.get("predictions")
        if not found:
            continue
        items = found.get("item", found["window_id"])
        for repeat, entry in enumerate([found, *found.get("later_repeats", [])]):
            for layer in ("last", "best"):
                if layer not in entry:
                    continue
                frames.append(pd.DataFrame({
                    "task": name, "metric": detail["metric"], "layer": layer,
                    "repeat": repeat, "fold": entry.get("fold", -1), "item": items,
                    "subject": found["subject"], "target": detail["target"],
                    "y_true": found["reference"], "y_pred": entry[layer],
                }))
    if not frames:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    return pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS]


def beat_table(model: str, tasks: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per-class sensitivity and positive predictive value of the beat-class tasks."""
    rows = [{"model": model, "task": name, "class": cls, **values}
            for name, detail in tasks.items() if "per_class" in detail
            for cls, values in detail["per_class"].items()]
    return pd.DataFrame(rows, columns=BEAT_TABLE_COLUMNS)
