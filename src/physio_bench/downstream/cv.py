"""Cross-validation for real recordings: grouped folds, decoders, grouped bootstrap CIs.

Folds keep every subject whole (a subject's windows are all in train or all in test);
the real-data tasks repeat the outer split (:func:`repeated_group_folds`: repeat 0
round-robin by subject name, the others in seeded random orders, the same for every
model); regularisation and the ``best`` layer are chosen by inner cross-validation on the
training subjects only (pooled out-of-fold predictions). A regression decoder's
predictions are not clipped (issue 24): a decoder that extrapolates on windows unlike its
training set keeps its error, which the report flags when it is worse than the
training-fold mean predictor (:func:`mean_predictor_error`); clip only in plots.

Intervals (:func:`metric_interval`, from :mod:`physio_bench.statistics`) are grouped by
subject, never by window: for cross-validated predictions the corrected resampled t
interval over the outer folds of every repeat (it includes how much the decoders change
from fold to fold); for decoders trained elsewhere (sim2real, DS1 -> DS2,
signal-processing references) a bias-corrected percentile bootstrap over whole subjects.
A metric over fewer than ``statistics.min_groups`` subjects is not estimable
(:func:`estimability_note`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from physio_bench import statistics
from physio_bench.linear import (  # the decoder, shared with the statistics calibration
    RIDGE_ALPHAS,
    inner_losses,
    middle_of_best,
    ridge_path,
    round_robin_folds,
)

Fold = tuple[np.ndarray, np.ndarray]


def group_folds(groups: np.ndarray, n_folds: int) -> list[Fold]:
    """Folds that keep every group (record) whole; groups dealt round-robin by name."""
    return round_robin_folds(groups, n_folds)


def repeated_group_folds(groups: np.ndarray, n_folds: int, n_repeats: int,
                         seed: int) -> list[list[Fold]]:
    """``n_repeats`` splits of ``groups`` into ``n_folds`` folds that keep every group whole.

    Repeat 0 is :func:`group_folds` (groups dealt round-robin in sorted order of their
    names); repeat ``r >= 1`` deals the groups round-robin in a random order drawn from
    ``stable_seed(seed, "repeat", r)``. The splits depend only on the group names, the
    counts and ``seed``, so every model of a task gets the same folds (the paired tests
    pair them).
    """
    names = np.unique(np.asarray(groups, dtype=str))
    return [group_folds(groups, n_folds)] + [
        round_robin_folds(groups, n_folds, np.random.default_rng(
            stable_seed(seed, "repeat", str(r))).permutation(names))
        for r in range(1, int(n_repeats))]


def mean_predictor_predictions(y: np.ndarray, folds: list[Fold]) -> np.ndarray:
    """Out-of-fold predictions of the *mean predictor*: each test window gets the mean of
    its fold's training labels (the constant every decoder must beat)."""
    y = np.asarray(y, dtype=float)
    pred = np.full(y.shape, np.nan)
    for train, test in folds:
        pred[test] = y[train].mean()
    return pred


def mean_predictor_error(y: np.ndarray, groups: np.ndarray, n_folds: int) -> float:
    """MAE of the training-fold mean predictor on the folds :func:`cross_validate` uses
    (:func:`group_folds` of ``groups``): the error of the best-known constant on the same
    folds. A cross-validated decoder whose MAE exceeds it is *worse than a constant*
    (leaderboard flag). Shared with the mean-predictor rows of the real-data tasks."""
    folds = group_folds(np.asarray(groups), n_folds)
    return mean_absolute_error(np.asarray(y, dtype=float),
                               mean_predictor_predictions(y, folds))


def mean_absolute_error(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error in the target's units."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y`` (NaN when ``y`` is empty)."""
    y, pred = np.asarray(y), np.asarray(pred)
    recalls = [float(np.mean(pred[y == c] == c)) for c in np.unique(y)]
    return float(np.mean(recalls)) if recalls else float("nan")


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": mean_absolute_error,
    "balanced_accuracy": balanced_accuracy,
}


def stable_seed(seed: int, *names: str) -> int:
    """A seed derived from ``seed`` and names, stable across processes and platforms."""
    return (int(seed) ^ zlib.crc32("/".join(names).encode())) & 0x7FFFFFFF


def estimability_note(groups: np.ndarray, min_groups: int) -> str:
    """``not estimable: k groups (need m)`` when fewer than ``min_groups`` distinct
    groups (subjects) carry the metric, else the empty string."""
    return statistics.estimability_note(int(np.unique(np.asarray(groups, dtype=str)).size),
                                        min_groups)


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (true class x predicted class) of integer labels ``0..n_classes-1``."""
    flat = np.asarray(y, np.int64) * n_classes + np.asarray(pred, np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def metric_interval(
    y: np.ndarray, pred: np.ndarray, groups: np.ndarray, metric: str, n_boot: int, seed: int,
    folds: np.ndarray | None = None, n_classes: int | None = None,
) -> tuple[float, float]:
    """95% interval of ``metric`` (``mae`` or ``balanced_accuracy``) over subjects.

    ``folds`` (outer-fold id of each item): cross-validated predictions, corrected
    resampled t interval over the folds; None: a bootstrap over whole subjects. Computed
    from per-subject sufficient statistics, so it is cheap for 100,000 beats; the same
    ``seed`` gives the same resamples for every model. NaN when it cannot be computed.
    """
    if len(y) == 0:
        return float("nan"), float("nan")
    if metric == "mae":
        stat, bounds = statistics.mae_statistic(), (0.0, np.inf)
    elif metric == "balanced_accuracy":
        n_classes = n_classes or int(max(np.max(y), np.max(pred))) + 1
        stat, bounds = statistics.confusion_statistic(n_classes), (0.0, 1.0)
    else:
        raise ValueError(f"no interval for metric {metric!r}")
    estimate = statistics.grouped_estimates(
        stat, np.asarray(y), np.asarray(pred), np.asarray(groups, dtype=str), folds=folds,
        n_boot=n_boot, seed=seed, bounds=bounds, min_groups=1)[0]
    return float(estimate.ci_low), float(estimate.ci_high)


@dataclass
class LayerFit:
    """Inner-CV choice for one layer in one outer fold."""

    penalty: float
    inner_score: float


@dataclass
class FoldResult:
    """Out-of-fold predictions for every layer and for the inner-chosen best layer."""

    test: np.ndarray
    predictions: np.ndarray  # layers x test windows
    best_layer: int
    fits: list[LayerFit] = field(default_factory=list)


def fit_layer(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, inner: list[Fold],
) -> tuple[np.ndarray, LayerFit]:
    """Choose the ridge penalty by inner CV, refit on all training windows, predict the
    test windows (not clipped: an extrapolating decoder keeps its error, issue 24)."""
    losses = inner_losses(x_train, y_train, inner)
    pick = middle_of_best(losses)
    pred = ridge_path(x_train, y_train, x_test, RIDGE_ALPHAS[pick : pick + 1])[0]
    return pred, LayerFit(penalty=float(RIDGE_ALPHAS[pick]), inner_score=float(losses[pick]))


def best_layer(fits: list[LayerFit]) -> int:
    """Index of the layer with the lowest inner-CV error (ties: the deepest)."""
    scores = np.array([f.inner_score for f in fits])
    return int(len(scores) - 1 - np.argmin(scores[::-1]))


def cross_validate(
    layers: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int, inner_folds: int,
    folds: list[Fold] | None = None,
) -> list[FoldResult]:
    """Ridge regression cross-validated over windows grouped by ``groups`` (subjects), for
    every layer (layers x windows x dim).

    ``folds``: the outer (train, test) splits (one repeat of :func:`repeated_group_folds`);
    None: :func:`group_folds` of ``groups`` into ``n_folds``. Inner folds (for the
    penalty and the best layer) are built from the training subjects only, with the
    rule of :func:`group_folds`.
    """
    results = []
    for train, test in folds if folds is not None else group_folds(groups, n_folds):
        inner = group_folds(groups[train], inner_folds)
        preds, fits = [], []
        for layer in layers:
            pred, fit = fit_layer(layer[train], y[train], layer[test], inner)
            preds.append(pred)
            fits.append(fit)
        results.append(FoldResult(test=test, predictions=np.array(preds),
                                  best_layer=best_layer(fits), fits=fits))
    return results
