"""Headline metrics recomputed from prediction tables, keyed by metric name.

A prediction table (:data:`physio_bench.io.PREDICTION_COLUMNS`) holds, per task, one row
per held-out item and target. :func:`blocks` turns the rows of one headline into
*blocks* (a task's items x targets, with their subjects); :func:`block_statistic` gives
each block's :class:`physio_bench.statistics.SumStatistic`; the headline's value is the
mean over its blocks (one block for a single task; one per task, or per signal kind for
entanglement, for the aggregate task ``all``):

- ``r2``: each target's R² (1 - SS_res/SS_tot), averaged over targets (mean factor R²);
- ``tracking_r2``, ``reconstruction_r2``: R² pooled over the targets (sums of squares
  added), as the temporal-dynamics probe reports them;
- ``tracking_within_r2``: ``1 - sum (y - p)² / sum y²`` pooled over the targets: its
  predictions hold the within-window values after removing the per-position mean course
  (the probe's position-adjusted definition), so the baseline is zero;
- ``mae``: mean absolute error over items and targets (target units);
- ``balanced_accuracy``, ``macro_f1``: from the confusion counts of the class indices;
- ``entanglement``: :func:`physio_bench.statistics.entanglement_statistic` of the
  factors of one signal kind (targets of one task, or the ``{kind}:{factor}`` tasks of
  the R² predictions when no ``entanglement`` rows exist), over the factors decoded with
  R² >= :data:`RELIABLE_R2` by every model compared (issue 10: "reliably decoded").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from physio_bench.statistics import (
    SumStatistic,
    confusion_statistic,
    entanglement_statistic,
    mae_statistic,
    mean_r2_statistic,
    r2_statistic,
    skill_statistic,
)

#: a factor counts as reliably decoded (for entanglement) from this R² on
RELIABLE_R2 = 0.1
POOLED_R2 = ("tracking_r2", "reconstruction_r2")
SKILL = ("tracking_within_r2",)
CLASSIFICATION = {"balanced_accuracy": 0, "macro_f1": 1}
SUPPORTED = ("r2", *POOLED_R2, *SKILL, "mae", *CLASSIFICATION, "entanglement")


@dataclass
class Block:
    """One task's predictions: items x ``targets``; ``keys`` (sorted, unique int64) name
    each item by its repeat and item index for pairing, ``subjects`` its subject,
    ``folds`` the outer fold that held it out (-1: a decoder fitted elsewhere)."""

    name: str
    keys: np.ndarray
    subjects: np.ndarray
    targets: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    folds: np.ndarray | None = None


def _pivot(rows: pd.DataFrame, name: str) -> Block:
    """Long prediction rows of one task -> items x targets arrays (items sorted by key)."""
    subjects = rows["subject"].astype(str).to_numpy()
    keys = (rows["repeat"].to_numpy(dtype=np.int64) << 32) + rows["item"].to_numpy(
        dtype=np.int64)
    unique, first, item_codes = np.unique(keys, return_index=True, return_inverse=True)
    target_codes, targets = pd.factorize(rows["target"].astype(str), sort=True)
    shape = (len(unique), len(targets))
    y_true, y_pred = np.full(shape, np.nan), np.full(shape, np.nan)
    y_true[item_codes.reshape(-1), target_codes] = rows["y_true"].to_numpy(dtype=float)
    y_pred[item_codes.reshape(-1), target_codes] = rows["y_pred"].to_numpy(dtype=float)
    folds = (rows["fold"].to_numpy(dtype=np.int64)[first] if "fold" in rows
             else np.full(len(unique), -1, dtype=np.int64))
    return Block(name, unique, subjects[first], [str(t) for t in targets], y_true, y_pred,
                 folds)


def blocks(table: pd.DataFrame, metric: str, task: str, layer: str) -> list[Block]:
    """The blocks of one headline in one model's prediction table ([] when absent)."""
    rows = table[(table["layer"].astype(str) == layer)]
    exact = rows[(rows["metric"] == metric) & (rows["task"] == task)]
    if len(exact):
        return [_pivot(exact, task)]
    if task != "all":
        return []
    own = rows[rows["metric"] == metric]
    if len(own):
        return [_pivot(part, str(name)) for name, part in own.groupby("task", sort=True)]
    if metric == "entanglement":
        r2 = rows[(rows["metric"] == "r2") & rows["task"].astype(str).str.contains(":")]
        kinds = r2["task"].astype(str).str.split(":").str[0]
        return [_pivot(part.assign(target=part["task"].astype(str)), str(kind))
                for kind, part in r2.groupby(kinds, sort=True)]
    return []


def class_codes(values: list[np.ndarray]) -> np.ndarray:
    """Sorted class labels present in any of ``values`` (for confusion indices)."""
    return np.unique(np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]))


def block_statistic(metric: str, n_targets: int, classes: np.ndarray | None = None,
                    decoded: np.ndarray | None = None) -> tuple[SumStatistic, int]:
    """(statistic, index of its output) of ``metric`` on a block of ``n_targets``."""
    if metric == "r2":
        return mean_r2_statistic(n_targets), 0
    if metric in POOLED_R2:
        return r2_statistic(n_targets, pooled=True), 0
    if metric in SKILL:
        return skill_statistic(n_targets), 0
    if metric == "mae":
        return mae_statistic(), 0
    if metric in CLASSIFICATION:
        if classes is None:
            raise ValueError("classification metrics need the class labels")
        return confusion_statistic(len(classes)), CLASSIFICATION[metric]
    if metric == "entanglement":
        return entanglement_statistic(n_targets, decoded), 0
    raise KeyError(f"metric {metric!r} cannot be recomputed from predictions: supported are "
                   f"{', '.join(SUPPORTED)}")


def decoded_factors(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Boolean mask of the targets decoded with R² >= :data:`RELIABLE_R2`."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, -np.inf)
    return r2 >= RELIABLE_R2
