"""Downstream tasks on real windows, and simulation-to-real transfer, for one model.

Real-trained tasks (cross-validated on the real windows, see :mod:`.cv`):

- ``real:ecg:heart_rate_bpm``, ``real:rsp:resp_rate_bpm``, ``real:ppg:heart_rate_bpm``:
  ridge regression, mean absolute error (bpm, breaths/min);
- ``real:ecg:ectopic_beat``: class-balanced logistic regression on annotated ECG windows,
  balanced accuracy.

Simulation-to-real (``sim2real:{kind}:{target}``): a ridge decoder per signal kind is
trained on the simulated ``factors`` suite only (penalty and best layer by inner CV on
simulated windows, grouped by subject) and predicts every labelled real window of that
kind; no real label is used for training. Its predictions are clipped to the simulated
label range, since a linear decoder extrapolates without bound on real windows that fall
outside the simulated distribution.

Every metric comes with a 95% interval over records (:func:`.cv.metric_estimate`: the
corrected t interval over the outer folds for cross-validated tasks, a record bootstrap
for sim2real), ``n`` windows and ``n_subjects`` records; with fewer than
``statistics.min_groups`` records the metric is "not estimable" (no number). The JSON also
holds a trivial baseline per task (the training mean for regression, the majority class
for classification), per-layer metrics, the predictions, and the per-record window
counts of the real suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.downstream import cv
from physio_bench.errors import InputError
from physio_bench.io import read_json
from physio_bench.metrics import direction_of
from physio_bench.statistics import min_groups_of


@dataclass(frozen=True)
class Task:
    """A downstream task: which windows, which label, which metric."""

    name: str
    kind: str
    target: str
    metric: str
    source: str  # "real" (cross-validated on real windows) or "sim2real"
    label_column: str


TASKS = (
    Task("real:ecg:heart_rate_bpm", "ecg", "heart_rate_bpm", "mae", "real", "heart_rate_bpm"),
    Task("real:rsp:resp_rate_bpm", "rsp", "resp_rate_bpm", "mae", "real", "resp_rate_bpm"),
    Task("real:ppg:heart_rate_bpm", "ppg", "heart_rate_bpm", "mae", "real", "heart_rate_bpm"),
    Task("real:ecg:ectopic_beat", "ecg", "ectopic_beat", "balanced_accuracy", "real", "ectopic"),
    Task("sim2real:ecg:heart_rate_bpm", "ecg", "heart_rate_bpm", "mae", "sim2real",
         "heart_rate_bpm"),
    Task("sim2real:rsp:resp_rate_bpm", "rsp", "resp_rate_bpm", "mae", "sim2real",
         "resp_rate_bpm"),
    Task("sim2real:ppg:heart_rate_bpm", "ppg", "heart_rate_bpm", "mae", "sim2real",
         "heart_rate_bpm"),
)


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
    return Embedded(pooled=pooled, labels=labels, info=read_json(info_path))


def _select(embedded: Embedded, kind: str, column: str) -> np.ndarray:
    """Indices of windows of ``kind`` whose label ``column`` is finite."""
    labels = embedded.labels
    if column not in labels.columns:
        return np.zeros(0, dtype=np.int64)
    values = pd.to_numeric(labels[column], errors="coerce").to_numpy(dtype=float)
    mask = (labels["signal_kind"].to_numpy() == kind) & np.isfinite(values)
    return np.flatnonzero(mask)


def _summary(
    y: np.ndarray, pred: np.ndarray, metric: str, groups: np.ndarray,
    folds: np.ndarray | None, n_boot: int, seed: int, min_groups: int,
) -> dict[str, Any]:
    e = cv.metric_estimate(y, pred, metric, groups, folds, n_boot, seed, min_groups)
    return {**e.to_dict(), "value": e.value, "note": e.note}


def _baseline_real(y: np.ndarray, folds: list[cv.FoldResult], metric: str) -> np.ndarray:
    """Out-of-fold trivial predictions: training mean, or the training majority class."""
    pred = np.empty_like(y, dtype=float)
    everything = np.arange(len(y))
    for fold in folds:
        train = np.setdiff1d(everything, fold.test)
        if metric == "mae":
            pred[fold.test] = y[train].mean()
        else:
            values, counts = np.unique(y[train], return_counts=True)
            pred[fold.test] = values[np.argmax(counts)]
    return pred


def run_real_task(
    task: Task, real: Embedded, config: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Cross-validate one real-trained task for every layer; return its JSON detail."""
    idx = _select(real, task.kind, task.label_column)
    labels = real.labels.iloc[idx]
    y = labels[task.label_column].to_numpy(dtype=float)
    if task.metric == "balanced_accuracy":
        y = y.astype(np.int64)
    n_folds = int(config["probes"]["cv_folds"])
    reason = _too_small(y, task, n_folds)
    if reason:
        return {"skipped": reason}
    groups = labels["record"].to_numpy(dtype=str)
    times = labels["start_s"].to_numpy(dtype=float)
    folds, scheme = cv.cross_validate(
        real.pooled[:, idx], y, groups, times, task.metric, n_folds,
        int(config["probes"]["inner_folds"]),
    )
    n_layers = real.pooled.shape[0]
    per_layer = np.empty((n_layers, len(y)))
    best = np.empty(len(y))
    for fold in folds:
        per_layer[:, fold.test] = fold.predictions
        best[fold.test] = fold.predictions[fold.best_layer]
    baseline = _baseline_real(y, folds, task.metric)
    fold_of = np.empty(len(y), dtype=np.int64)
    for k, fold in enumerate(folds):
        fold_of[fold.test] = k
    return _detail(task, real, labels, y, per_layer, best, baseline, config, seed, fold_of, {
        "cv": scheme,
        "n_folds": len(folds),
        "best_layer_per_fold": [real.layer_names[f.best_layer] for f in folds],
        "penalty_per_fold": [[f.penalty for f in fold.fits] for fold in folds],
        "baseline_method": "training-fold mean" if task.metric == "mae"
        else "training-fold majority class",
    })


def _too_small(y: np.ndarray, task: Task, n_folds: int) -> str | None:
    if len(y) == 0:
        return f"no real {task.kind} window has a finite '{task.label_column}' label"
    if len(y) < 4 * n_folds:
        return f"only {len(y)} labelled {task.kind} windows (need {4 * n_folds})"
    if task.metric == "balanced_accuracy" and np.unique(y).size < 2:
        return f"every labelled {task.kind} window has the same class ({int(y[0])})"
    return None


def run_sim2real_task(
    task: Task, real: Embedded, sim: Embedded, config: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Train on the simulated factors suite, predict the real windows (no real label)."""
    real_idx = _select(real, task.kind, task.label_column)
    sim_idx = _select(sim, task.kind, task.label_column)
    if real_idx.size == 0:
        return {"skipped": f"no real {task.kind} window has a finite '{task.label_column}'"}
    inner_folds = int(config["probes"]["inner_folds"])
    if sim_idx.size < 4 * inner_folds:
        return {"skipped": f"only {sim_idx.size} simulated {task.kind} windows with "
                           f"'{task.label_column}' in the factors suite"}
    if sim.pooled.shape[0] != real.pooled.shape[0]:
        raise InputError(
            f"factors and real embeddings have {sim.pooled.shape[0]} and "
            f"{real.pooled.shape[0]} layers: re-embed both with the same model"
        )
    y_sim = sim.labels.iloc[sim_idx][task.label_column].to_numpy(dtype=float)
    groups = sim.labels.iloc[sim_idx]["subject_id"].to_numpy(dtype=str)
    inner = cv.group_folds(groups, inner_folds)
    labels = real.labels.iloc[real_idx]
    y = labels[task.label_column].to_numpy(dtype=float)
    per_layer, fits = [], []
    low, high = float(y_sim.min()), float(y_sim.max())
    for layer_sim, layer_real in zip(sim.pooled[:, sim_idx], real.pooled[:, real_idx],
                                     strict=True):
        pred, fit = cv.fit_layer(layer_sim, y_sim, layer_real, inner, task.metric)
        # A linear decoder extrapolates without bound on out-of-distribution real windows;
        # predictions are clipped to the simulated label range (a physiological prior).
        per_layer.append(np.clip(pred, low, high))
        fits.append(fit)
    chosen = cv.best_layer(fits, task.metric)
    per_layer_arr = np.array(per_layer)
    baseline = np.full(len(y), y_sim.mean())
    return _detail(task, real, labels, y, per_layer_arr, per_layer_arr[chosen], baseline, config,
                   seed, None, {
                       "cv": "train on simulated factors, test on real",
                       "n_train_simulated": int(sim_idx.size),
                       "best_layer_per_fold": [real.layer_names[chosen]],
                       "penalty_per_layer": [f.penalty for f in fits],
                       "inner_score_per_layer": [f.inner_score for f in fits],
                       "simulated_label_range": [low, high],
                       "predictions_clipped_to_simulated_range": True,
                       "baseline_method": "simulated training mean",
                   })


def _detail(
    task: Task,
    real: Embedded,
    labels: pd.DataFrame,
    y: np.ndarray,
    per_layer: np.ndarray,
    best: np.ndarray,
    baseline: np.ndarray,
    config: dict[str, Any],
    seed: int,
    folds: np.ndarray | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    n_boot = int(config["probes"]["bootstrap"])
    names = real.layer_names
    task_seed = cv.stable_seed(seed, task.name)
    groups = labels["record"].to_numpy(dtype=str)
    min_groups = min_groups_of(config)

    def summary(pred: np.ndarray) -> dict[str, Any]:
        return _summary(y, pred, task.metric, groups, folds, n_boot, task_seed, min_groups)

    layers = {name: summary(p) for name, p in zip(names, per_layer, strict=True)}
    per_record = {
        str(record): int(count)
        for record, count in labels["record"].value_counts().sort_index().items()
    }
    return {
        "kind": task.kind,
        "target": task.target,
        "metric": task.metric,
        "n": len(y),
        "n_subjects": len(per_record),
        "interval": "corrected resampled t over the outer folds (by record)" if folds is not None
        else "bootstrap over records",
        "windows_per_record": per_record,
        "layers": layers,
        "last": {"layer": names[-1], **layers[names[-1]]},
        "best": {"layer": _most_common(extra["best_layer_per_fold"]),
                 **summary(best)},
        "baseline": summary(baseline),
        "predictions": {
            "window_id": labels["window_id"].to_numpy(dtype=np.int64).tolist(),
            "record": labels["record"].astype(str).tolist(),
            "start_s": labels["start_s"].to_numpy(dtype=float).tolist(),
            "reference": y.tolist(),
            "last": per_layer[-1].tolist(),
            "best": best.tolist(),
        },
        **extra,
    }


def _most_common(names: list[str]) -> str:
    values, counts = np.unique(np.asarray(names), return_counts=True)
    return str(values[np.argmax(counts)])


def _reference_agreement(labels: pd.DataFrame) -> dict[str, Any]:
    """Annotation vs reference-detector heart rate on annotated ECG windows (context)."""
    annotated = labels[(labels["signal_kind"] == "ecg")
                       & labels["heart_rate_source"].astype(str).str.startswith("annotation")]
    diff = (annotated["heart_rate_bpm"] - annotated["measured_heart_rate_bpm"]).abs().dropna()
    if diff.empty:
        return {"n": 0}
    return {"n": int(diff.size), "mae_bpm": float(diff.mean()),
            "median_abs_diff_bpm": float(diff.median()),
            "fraction_within_2_bpm": float((diff <= 2.0).mean())}


def run_downstream(
    config: dict[str, Any], model: str, results_dir: str | Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run every downstream task for ``model``; return ``(detail, leaderboard rows)``.

    Reads ``{results}/embeddings/{model}/{real,factors}/`` and the suites
    ``{results}/real`` and ``{results}/simulated/factors``.
    """
    results_dir = Path(results_dir)
    real = read_embedded(results_dir / "embeddings" / model / "real", results_dir / "real",
                         model, "real")
    sim = read_embedded(results_dir / "embeddings" / model / "factors",
                        results_dir / "simulated" / "factors", model, "factors")
    if real.pooled.shape[0] != len(real.layer_names):
        raise InputError(
            f"model.json of '{model}' names {len(real.layer_names)} layers but pooled.npy has "
            f"{real.pooled.shape[0]}: re-embed suite 'real'"
        )
    seed = int(config["seed"])
    real_meta_path = results_dir / "real" / "meta.json"
    real_meta = read_json(real_meta_path) if real_meta_path.exists() else {}
    tasks: dict[str, Any] = {}
    for task in TASKS:
        if task.source == "real":
            tasks[task.name] = run_real_task(task, real, config, seed)
        else:
            tasks[task.name] = run_sim2real_task(task, real, sim, config, seed)
    pretrained = bool(real.info.get("pretrained", False))
    detail = {
        "model": model,
        "pretrained": pretrained,
        "layer_names": real.layer_names,
        "n_real_windows": len(real.labels),
        "records": real_meta.get("records", {}),
        "reference_agreement": _reference_agreement(real.labels),
        "settings": {
            "cv_folds": int(config["probes"]["cv_folds"]),
            "inner_folds": int(config["probes"]["inner_folds"]),
            "bootstrap": int(config["probes"]["bootstrap"]),
            "ridge_alphas": cv.RIDGE_ALPHAS.tolist(),
            "logistic_cs": cv.LOGISTIC_CS.tolist(),
        },
        "tasks": tasks,
    }
    return detail, leaderboard_rows(model, pretrained, tasks)


def leaderboard_rows(
    model: str, pretrained: bool, tasks: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows (``physio_bench.io.LEADERBOARD_COLUMNS``) for the ``last`` and ``best`` layers."""
    rows = []
    for name, detail in tasks.items():
        if "skipped" in detail:
            continue
        for layer in ("last", "best"):
            result = detail[layer]
            rows.append({
                "model": model, "pretrained": pretrained, "stage": "downstream",
                "task": name, "metric": detail["metric"], "layer": layer,
                "value": result["value"], "ci_low": result["ci_low"],
                "ci_high": result["ci_high"], "n": result["n"],
                "n_subjects": len(detail["windows_per_record"]),
                "chance": float("nan"), "direction": direction_of(detail["metric"]),
                "note": result.get("note", ""),
            })
    return rows
