"""Ridge regression on standardised features, and its penalty chosen by inner CV.

Foundation level (imports nothing from the stages): the decoder of the real-data tasks
(:mod:`physio_bench.downstream.cv`) and of the statistics calibration
(:mod:`physio_bench.stat_calibration`), so that the calibration measures the procedure
the benchmark runs.

- :func:`ridge_path`: predictions for every penalty of a grid, features standardised
  with the training windows' mean and SD (never the test windows').
- :func:`inner_cv_ridge`: the penalty with the lowest pooled inner-CV mean absolute error
  over ``RIDGE_ALPHAS`` (ties: the middle of the tied penalties), on folds that keep each
  group (subject) whole, refitted on all training windows.
"""

from __future__ import annotations

import numpy as np

# Ridge penalties for standardised features.
RIDGE_ALPHAS = np.logspace(-3, 7, 11)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Arrays centred and scaled by the training array's column mean and SD (SD 0 -> 1)."""
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
    z_train, z_test = standardise(np.asarray(x_train, np.float64), np.asarray(x_test, np.float64))
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


def round_robin_folds(groups: np.ndarray, n_folds: int, order: np.ndarray | None = None
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs that keep every group whole; groups dealt round-robin in
    sorted order of their names, or in ``order`` (every group name once)."""
    names = np.unique(np.asarray(groups, dtype=str)) if order is None else np.asarray(order)
    n_folds = min(n_folds, names.size)
    fold_of = {name: i % n_folds for i, name in enumerate(names)}
    assigned = np.array([fold_of[g] for g in np.asarray(groups, dtype=str)])
    return [(np.flatnonzero(assigned != k), np.flatnonzero(assigned == k))
            for k in range(n_folds)]


def inner_losses(x: np.ndarray, y: np.ndarray,
                 folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Pooled inner-CV mean absolute error for each of ``RIDGE_ALPHAS``."""
    pred = np.full((RIDGE_ALPHAS.size, y.size), np.nan)
    for train, test in folds:
        pred[:, test] = ridge_path(x[train], y[train], x[test], RIDGE_ALPHAS)
    seen = np.isfinite(pred[0])
    return np.abs(pred[:, seen] - np.asarray(y, float)[seen][None]).mean(axis=1)


def middle_of_best(losses: np.ndarray) -> int:
    """Index of the best (lowest) loss; among ties, the middle one of the tied penalties."""
    tied = np.flatnonzero(losses <= losses.min() + 1e-12)
    return int(tied[(tied.size - 1) // 2])


def inner_cv_ridge(x_train: np.ndarray, y_train: np.ndarray, groups_train: np.ndarray,
                   x_test: np.ndarray, inner_folds: int) -> tuple[np.ndarray, int, float]:
    """Predictions for ``x_test`` at the inner-CV penalty: (predictions, index of the
    penalty in ``RIDGE_ALPHAS``, its inner MAE)."""
    losses = inner_losses(x_train, y_train, round_robin_folds(groups_train, inner_folds))
    pick = middle_of_best(losses)
    pred = ridge_path(x_train, y_train, x_test, RIDGE_ALPHAS[pick: pick + 1])[0]
    return pred, pick, float(losses[pick])
