"""Point estimates with 95% intervals for the probes (see :mod:`physio_bench.statistics`).

Cross-validated metrics (``r2_estimates``, ``classification_estimates`` given the outer
``folds``) take the corrected resampled t interval of Nadeau & Bengio over the outer
folds, which includes the fold-to-fold (training) variation; metrics without fitting
(``weighted_mean_estimate``, silhouette, correlations) a bias-corrected percentile
bootstrap over whole subjects. Without ``folds`` the cross-validated functions fall back
to the subject bootstrap of the held-out predictions (decoders held fixed: too narrow for
a cross-validated metric; kept for metrics of decoders trained on other data). Every
function returns a not-estimable :class:`Estimate` (NaN, with a ``note``) when its items
come from fewer than ``min_groups`` subjects.

Seeds come from :func:`derive_seed` (BLAKE2b of the global seed and a stream name), so
the same configuration always gives the same intervals.
"""

from __future__ import annotations

import hashlib

import numpy as np

from physio_bench.statistics import (
    CI_LEVEL,
    MIN_GROUPS,
    Estimate,
    balanced_accuracy_from_confusion,
    bc_interval,
    bootstrap_counts,
    bootstrap_estimate,
    confusion_statistic,
    cv_estimate,
    estimability_note,
    estimate_from_samples,
    group_index,
    group_sums,
    grouped_estimates,
    macro_f1_from_confusion,
    mean_of_estimates,
    not_estimable,
    r2_statistic,
    resample_weights,
)

__all__ = [
    "CI_LEVEL", "MIN_GROUPS", "Estimate", "balanced_accuracy_from_confusion", "bc_interval",
    "bootstrap_counts", "classification_estimates", "confusion_matrix",
    "correlation_matrices", "derive_seed", "estimate_from_samples", "fold_mean_estimate",
    "group_index", "macro_f1_from_confusion", "mean_abs_off_diagonal", "mean_estimate",
    "r2_estimates", "resample_mean_estimate", "weighted_mean_estimate",
]


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from the global ``seed`` and a stream name made of ``parts``."""
    key = "/".join(["physio_bench.probes", str(int(seed)), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


def r2_estimates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    n_boot: int,
    seed: int,
    pooled: bool = False,
    *,
    folds: np.ndarray | None = None,
    min_groups: int = MIN_GROUPS,
) -> list[Estimate] | Estimate:
    """Coefficient of determination R² (1 - SS_res / SS_tot) with 95% intervals.

    Args:
        y_true, y_pred: items x targets (or items).
        groups: subject of each item.
        pooled: one R² over all targets together (SS summed over targets: the R² of the
            flattened array with a separate mean per target), else one per target.
        folds: outer-fold id of each item (the predictions are out-of-fold): corrected
            resampled t interval; None: subject bootstrap of the predictions.
        min_groups: fewer subjects give a not-estimable estimate.

    Returns:
        One :class:`Estimate` per target (or a single one when ``pooled``). A constant
        target gives NaN.
    """
    y_true = np.asarray(y_true, dtype=float)
    n_targets = 1 if y_true.ndim == 1 else y_true.shape[1]
    results = grouped_estimates(r2_statistic(n_targets, pooled), y_true, y_pred, groups,
                                folds=folds, n_boot=n_boot, seed=seed, bounds=(-np.inf, 1.0),
                                min_groups=min_groups)
    return results[0] if pooled else results


def mean_estimate(estimates: list[Estimate], n: int | None = None,
                  bounds: tuple[float, float] = (-np.inf, np.inf)) -> Estimate:
    """Mean of estimates (:func:`physio_bench.statistics.mean_of_estimates`).

    Cross-validated estimates combine their per-fold values; bootstrap estimates their
    resamples (estimates of targets resampled together give the interval of their mean;
    estimates resampled independently, e.g. one per signal kind, that of a mean of
    independent quantities). ``n`` defaults to the first estimate's ``n``.
    """
    if not estimates:
        raise ValueError("mean_estimate needs at least one estimate")
    return mean_of_estimates(estimates, estimates[0].n if n is None else n, bounds)


def weighted_mean_estimate(
    values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int, *,
    min_groups: int = MIN_GROUPS,
) -> Estimate:
    """Mean of per-item ``values`` with a subject-bootstrap interval."""
    return bootstrap_estimate(values, groups, n_boot, seed, min_groups=min_groups)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class (integer labels 0..K-1)."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return out


def classification_estimates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int,
    groups: np.ndarray,
    n_boot: int,
    seed: int,
    *,
    folds: np.ndarray | None = None,
    min_groups: int = MIN_GROUPS,
) -> dict[str, Estimate]:
    """Balanced accuracy and macro-F1 with 95% intervals (``folds``: as in
    :func:`r2_estimates`)."""
    balanced, macro = grouped_estimates(
        confusion_statistic(n_classes), np.asarray(y_true), np.asarray(y_pred), groups,
        folds=folds, n_boot=n_boot, seed=seed, bounds=(0.0, 1.0), min_groups=min_groups)
    return {"balanced_accuracy": balanced, "macro_f1": macro}


def correlation_matrices(
    columns: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """Pearson correlation matrices of ``columns`` (items x k): (1 + n_boot) x k x k.

    Entry 0 is the full-sample matrix, the rest are grouped bootstrap resamples. A
    constant column has zero correlation with everything (and 1 with itself).
    """
    columns = np.asarray(columns, dtype=float)
    columns = columns[:, None] if columns.ndim == 1 else columns
    n, k = columns.shape
    columns = columns - columns.mean(axis=0)
    index, n_groups = group_index(groups)
    outer = (columns[:, :, None] * columns[:, None, :]).reshape(n, k * k)
    stats = group_sums(np.hstack([np.ones((n, 1)), columns, outer]), index, n_groups)
    sums = resample_weights(n_groups, n_boot, seed) @ stats
    count = sums[:, :1]
    mean = sums[:, 1:1 + k] / count
    second = sums[:, 1 + k:].reshape(-1, k, k) / count[:, :, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    std = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
    scale = std[:, :, None] * std[:, None, :]
    tiny = 1e-12 * np.maximum(std[:1].max(), 1e-300) ** 2
    corr = np.divide(cov, scale, out=np.zeros_like(cov), where=scale > tiny)
    eye = np.eye(k, dtype=bool)
    corr[:, eye] = 1.0
    return np.clip(corr, -1.0, 1.0)


def mean_abs_off_diagonal(matrices: np.ndarray) -> np.ndarray:
    """Mean |entry| off the diagonal of each k x k matrix in a ... x k x k stack (0 if k=1)."""
    k = matrices.shape[-1]
    if k < 2:
        return np.zeros(matrices.shape[:-2])
    mask = ~np.eye(k, dtype=bool)
    return np.abs(matrices[..., mask]).mean(axis=-1)


def fold_mean_estimate(values: np.ndarray, n_items: int, n_subjects: int | None = None,
                       on: str = "train",
                       bounds: tuple[float, float] = (-np.inf, np.inf),
                       min_groups: int = MIN_GROUPS) -> Estimate:
    """Mean of one value per outer fold with the corrected t interval.

    ``on="train"`` for statistics of each fold's fitted decoder (e.g. DCI of its
    coefficients: training sets overlap by (K-2)/(K-1)), ``"test"`` for metrics of each
    fold's held-out items. ``n_subjects`` below ``min_groups``: not estimable.
    """
    values = np.asarray(values, dtype=float)
    if n_subjects is not None:
        note = estimability_note(n_subjects, min_groups)
        if note:
            return not_estimable(n_items, n_subjects, note)
    return cv_estimate(float(np.mean(values)), values, len(values), n_items, n_subjects,
                       bounds, on)


def resample_mean_estimate(values: np.ndarray, n_items: int, n_boot: int, seed: int) -> Estimate:
    """Mean of one value per CV fold (kept signature; ``n_boot`` and ``seed`` are unused).

    It used to bootstrap the few fold values, which ignores that training folds overlap
    (coverage about 0.73 for DCI); it is now :func:`fold_mean_estimate` on training-fold
    statistics.
    """
    del n_boot, seed
    return fold_mean_estimate(values, n_items, on="train")
