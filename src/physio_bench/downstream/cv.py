"""Cross-validation for real recordings: folds, ridge and logistic decoders, intervals.

Folds are grouped by record when a task has windows from several records; within a
single record they are contiguous time blocks, and the window just before and just after
each test block is left out of training, so no pair of neighbouring windows is split
across train and test. Regularisation and the ``best`` layer are chosen by inner
cross-validation on the training windows only (pooled out-of-fold predictions).

Intervals (:func:`metric_estimate`) are grouped by record, never by window: the
corrected resampled t interval over the outer folds for cross-validated predictions, a
record bootstrap for decoders trained elsewhere (sim2real); fewer than
``statistics.min_groups`` records make the metric not estimable
(:mod:`physio_bench.statistics`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from physio_bench.statistics import (
    MIN_GROUPS,
    Estimate,
    confusion_statistic,
    grouped_estimates,
    mae_statistic,
)

# Penalties for standardised features (ridge alpha; logistic inverse penalty C).
RIDGE_ALPHAS = np.logspace(-3, 7, 11)
LOGISTIC_CS = np.logspace(-4, 2, 7)

Fold = tuple[np.ndarray, np.ndarray]


def block_folds(times: np.ndarray, n_folds: int, gap: int = 1) -> list[Fold]:
    """Contiguous time blocks of one record as ``(train, test)`` index arrays.

    Windows are ordered by ``times``; block ``k`` is the test set and the ``gap`` windows
    on either side of it are in neither set.
    """
    order = np.argsort(np.asarray(times), kind="stable")
    n = order.size
    n_folds = min(n_folds, n)
    bounds = np.linspace(0, n, n_folds + 1).round().astype(int)
    folds = []
    for k in range(n_folds):
        lo, hi = bounds[k], bounds[k + 1]
        keep = np.ones(n, dtype=bool)
        keep[max(0, lo - gap):min(n, hi + gap)] = False
        folds.append((np.sort(order[keep]), np.sort(order[lo:hi])))
    return folds


def group_folds(groups: np.ndarray, n_folds: int) -> list[Fold]:
    """Folds that keep every group (record) whole; groups dealt round-robin by name."""
    names = np.unique(np.asarray(groups, dtype=str))
    n_folds = min(n_folds, names.size)
    fold_of = {name: i % n_folds for i, name in enumerate(names)}
    assigned = np.array([fold_of[g] for g in np.asarray(groups, dtype=str)])
    return [(np.flatnonzero(assigned != k), np.flatnonzero(assigned == k))
            for k in range(n_folds)]


def make_folds(groups: np.ndarray, times: np.ndarray, n_folds: int) -> tuple[list[Fold], str]:
    """Grouped folds when there are several groups, else contiguous time blocks.

    Returns the folds and the scheme's name (``grouped_by_record`` or
    ``contiguous_blocks``).
    """
    if np.unique(np.asarray(groups, dtype=str)).size >= 2:
        return group_folds(groups, n_folds), "grouped_by_record"
    return block_folds(times, n_folds), "contiguous_blocks"


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0] = 1.0
    return [(a - mean) / scale for a in (train, *others)]


def ridge_path(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """Ridge predictions (alphas x test windows) on standardised features.

    One symmetric eigendecomposition serves every alpha: of the Gram matrix (windows x
    windows) when there are fewer windows than features, else of the feature covariance.
    """
    z_train, z_test = _standardise(np.asarray(x_train, np.float64), np.asarray(x_test, np.float64))
    y_centred = np.asarray(y_train, np.float64) - float(np.mean(y_train))
    alphas = np.asarray(alphas, np.float64)[:, None]
    if z_train.shape[0] <= z_train.shape[1]:  # dual: K = Z Z^T
        eigval, eigvec = np.linalg.eigh(z_train @ z_train.T)
        left = (z_test @ z_train.T) @ eigvec  # test x n
    else:  # primal: C = Z^T Z
        eigval, eigvec = np.linalg.eigh(z_train.T @ z_train)
        left = z_test @ eigvec  # test x d
        y_centred = z_train.T @ y_centred
    right = eigvec.T @ y_centred
    weights = right[None, :] / (np.clip(eigval, 0.0, None)[None, :] + alphas)
    return weights @ left.T + float(np.mean(y_train))


def logistic_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, c: float
) -> np.ndarray:
    """Class-balanced logistic regression on standardised features: 0/1 predictions."""
    from sklearn.linear_model import LogisticRegression

    if np.unique(y_train).size < 2:
        return np.full(len(x_test), y_train[0], dtype=np.int64)
    z_train, z_test = _standardise(np.asarray(x_train, np.float64), np.asarray(x_test, np.float64))
    # liblinear: exact and deterministic for L2 in the primal, and fast for few windows.
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear",
                               max_iter=1000, random_state=0)
    model.fit(z_train, y_train)
    return model.predict(z_test).astype(np.int64)


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
LOWER_IS_BETTER = {"mae": True, "balanced_accuracy": False}


def stable_seed(seed: int, *names: str) -> int:
    """A seed derived from ``seed`` and names, stable across processes and platforms."""
    return (int(seed) ^ zlib.crc32("/".join(names).encode())) & 0x7FFFFFFF


def metric_estimate(
    y: np.ndarray, pred: np.ndarray, metric: str, groups: np.ndarray,
    folds: np.ndarray | None, n_boot: int, seed: int, min_groups: int = MIN_GROUPS,
) -> Estimate:
    """``metric`` with a 95% interval over record groups.

    ``folds`` (outer-fold id of each window): the predictions are cross-validated and the
    interval is the corrected resampled t interval over the folds; None: a record
    bootstrap (decoders trained on other data). Fewer than ``min_groups`` records: not
    estimable (NaN and a note).
    """
    y, pred = np.asarray(y), np.asarray(pred)
    if metric == "mae":
        stat, bounds = mae_statistic(), (0.0, np.inf)
        y_in, pred_in = y.astype(float), pred.astype(float)
    else:
        classes = np.unique(np.concatenate([y, pred]).astype(np.int64))
        stat, bounds = confusion_statistic(len(classes)), (0.0, 1.0)
        y_in = np.searchsorted(classes, y.astype(np.int64))
        pred_in = np.searchsorted(classes, pred.astype(np.int64))
    return grouped_estimates(stat, y_in, pred_in, np.asarray(groups, dtype=str), folds=folds,
                             n_boot=n_boot, seed=seed, bounds=bounds,
                             min_groups=min_groups)[0]


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


def _inner_scores(
    x: np.ndarray, y: np.ndarray, folds: list[Fold], metric: str
) -> np.ndarray:
    """Pooled inner-CV score for each penalty (ridge alphas or logistic Cs)."""
    penalties = RIDGE_ALPHAS if metric == "mae" else LOGISTIC_CS
    pred = np.full((penalties.size, y.size), np.nan)
    for train, test in folds:
        if metric == "mae":
            pred[:, test] = ridge_path(x[train], y[train], x[test], penalties)
        else:
            for i, c in enumerate(penalties):
                pred[i, test] = logistic_predict(x[train], y[train], x[test], c)
    seen = np.isfinite(pred[0])
    return np.array([METRICS[metric](y[seen], p[seen]) for p in pred])


def _middle_of_best(losses: np.ndarray) -> int:
    """Index of the best (lowest) loss; among ties, the middle one of the tied penalties
    (balanced accuracy on few windows often ties over a plateau of penalties)."""
    tied = np.flatnonzero(losses <= losses.min() + 1e-12)
    return int(tied[(tied.size - 1) // 2])


def fit_layer(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    inner: list[Fold],
    metric: str,
) -> tuple[np.ndarray, LayerFit]:
    """Choose the penalty by inner CV, refit on all training windows, predict the test."""
    penalties = RIDGE_ALPHAS if metric == "mae" else LOGISTIC_CS
    scores = _inner_scores(x_train, y_train, inner, metric)
    pick = _middle_of_best(scores if LOWER_IS_BETTER[metric] else -scores)
    if metric == "mae":
        pred = ridge_path(x_train, y_train, x_test, penalties[pick : pick + 1])[0]
    else:
        pred = logistic_predict(x_train, y_train, x_test, float(penalties[pick]))
    return pred, LayerFit(penalty=float(penalties[pick]), inner_score=float(scores[pick]))


def best_layer(fits: list[LayerFit], metric: str) -> int:
    """Index of the layer with the best inner-CV score (ties: the deepest)."""
    scores = np.array([f.inner_score for f in fits])
    if not LOWER_IS_BETTER[metric]:
        scores = -scores
    return int(len(scores) - 1 - np.argmin(scores[::-1]))


def cross_validate(
    layers: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    times: np.ndarray,
    metric: str,
    n_folds: int,
    inner_folds: int,
) -> tuple[list[FoldResult], str]:
    """Outer CV over windows for every layer (layers x windows x dim).

    Inner folds (for the penalty and the best layer) are built from the training
    windows only, with the same grouping rule as the outer folds.
    """
    folds, scheme = make_folds(groups, times, n_folds)
    results = []
    for train, test in folds:
        inner, _ = make_folds(groups[train], times[train], inner_folds)
        preds, fits = [], []
        for layer in layers:
            pred, fit = fit_layer(layer[train], y[train], layer[test], inner, metric)
            preds.append(pred)
            fits.append(fit)
        results.append(FoldResult(test=test, predictions=np.array(preds),
                                  best_layer=best_layer(fits, metric), fits=fits))
    return results, scheme
