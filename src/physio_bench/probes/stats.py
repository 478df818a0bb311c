"""Point estimates with 95% bootstrap confidence intervals, resampled by subject.

Every interval here is a bias-corrected percentile interval (:func:`bc_interval`) of
``n_boot`` bootstrap resamples of the held-out (out-of-fold) predictions. Resampling is
grouped: whole subjects are drawn with replacement (a subject drawn twice counts twice),
so windows of one subject never count as independent evidence. Each resample is a vector
of per-subject counts, and every metric is written as a function of count-weighted sums,
so all resamples are evaluated at once with matrix products (no loop over resamples).

Seeds come from :func:`derive_seed` (BLAKE2b of the global seed and a stream name), so
the same configuration always gives the same intervals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

CI_LEVEL = 0.95


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from the global ``seed`` and a stream name made of ``parts``."""
    key = "/".join(["physio_bench.probes", str(int(seed)), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


@dataclass
class Estimate:
    """A metric value, its 95% bootstrap interval, the number of test items ``n`` and of
    independent subjects (resampling clusters) ``n_subjects`` (None when unknown).

    ``samples`` (the bootstrap distribution) is kept in memory so that estimates can be
    combined (e.g. averaged over signal kinds); it is not written to JSON.
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    n_subjects: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n": self.n, "n_subjects": self.n_subjects}

    @property
    def finite(self) -> bool:
        return bool(np.isfinite([self.value, self.ci_low, self.ci_high]).all())


def bc_interval(value: float, samples: np.ndarray) -> tuple[float, float]:
    """Bias-corrected bootstrap interval at :data:`CI_LEVEL`.

    Percentiles are shifted by ``z0 = Phi^-1(share of resamples below the estimate)``
    (Efron's bias-corrected percentile interval), which keeps the interval around the
    estimate for statistics that resampling biases (R², silhouette); ``z0 = 0`` gives the
    plain percentile interval. When the estimate lies outside the central 95% of its
    resamples (e.g. a mean of absolute values near 0, which every resample inflates), the
    correction degenerates; the percentile interval is then shifted by the bootstrap bias
    estimate (median of resamples minus estimate) instead. NaN when no resample is finite.
    """
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0 or not np.isfinite(value):
        return float("nan"), float("nan")
    tail = (1 - CI_LEVEL) / 2
    below = (np.count_nonzero(finite < value) + 0.5 * np.count_nonzero(finite == value))
    share = below / finite.size
    if not tail <= share <= 1 - tail:
        bias = float(np.median(finite)) - float(value)
        low, high = np.percentile(finite, [100 * tail, 100 * (1 - tail)])
        return float(low - bias), float(high - bias)
    normal = NormalDist()
    z0 = normal.inv_cdf(float(np.clip(share, 0.5 / finite.size, 1 - 0.5 / finite.size)))
    z = normal.inv_cdf(1 - tail)
    quantiles = [100 * normal.cdf(2 * z0 - z), 100 * normal.cdf(2 * z0 + z)]
    low, high = (float(q) for q in np.percentile(finite, quantiles))
    return low, high


def estimate_from_samples(value: float, samples: np.ndarray, n: int,
                          bounds: tuple[float, float] = (-np.inf, np.inf),
                          n_subjects: int | None = None) -> Estimate:
    """Estimate with the :func:`bc_interval` of the bootstrap ``samples``.

    Should the estimate still fall outside, the interval is extended to it, so that
    ``ci_low <= value <= ci_high`` always holds; ``bounds`` clips it to the metric's range.
    """
    low, high = bc_interval(value, samples)
    if np.isfinite(low):
        low, high = min(low, float(value)), max(high, float(value))
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Estimate(float(value), low, high, int(n), np.asarray(samples, dtype=float),
                    None if n_subjects is None else int(n_subjects))


def group_index(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """Map group labels to ``0..G-1`` (sorted label order); return (index per item, G)."""
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1 if inverse.size else 0


def bootstrap_counts(n_groups: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x ``n_groups`` draw counts of a with-replacement resample of the groups.

    Row 0 of the result is NOT the original sample; callers add the point estimate
    separately (weights all ones).
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot).astype(float)


def _group_sums(values: np.ndarray, index: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``values`` (items x k) within each group -> groups x k."""
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, index, values)
    return out


def _weights(index: np.ndarray, n_groups: int, n_boot: int, seed: int) -> np.ndarray:
    """Rows: the all-ones weights (point estimate), then ``n_boot`` resampled count rows."""
    return np.vstack([np.ones((1, n_groups)), bootstrap_counts(n_groups, n_boot, seed)])


def _as_2d(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    return array[:, None] if array.ndim == 1 else array


def r2_estimates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    n_boot: int,
    seed: int,
    pooled: bool = False,
) -> list[Estimate] | Estimate:
    """Coefficient of determination R² (1 - SS_res / SS_tot) with grouped bootstrap CIs.

    Args:
        y_true, y_pred: items x targets (or items).
        groups: subject of each item.
        pooled: one R² over all targets together (SS summed over targets: the R² of the
            flattened array with a separate mean per target), else one per target.

    Returns:
        One :class:`Estimate` per target (or a single one when ``pooled``). A resample
        whose targets are constant gives NaN and is left out of the interval.
    """
    y_true, y_pred = _as_2d(y_true), _as_2d(y_pred)
    index, n_groups = group_index(groups)
    stats = np.hstack([
        np.ones((len(y_true), 1)), (y_true - y_pred) ** 2, y_true, y_true**2,
    ])
    sums = _weights(index, n_groups, n_boot, seed) @ _group_sums(stats, index, n_groups)
    k = y_true.shape[1]
    count, ss_res = sums[:, :1], sums[:, 1:1 + k]
    total, total_sq = sums[:, 1 + k:1 + 2 * k], sums[:, 1 + 2 * k:]
    ss_tot = np.maximum(total_sq - total**2 / count, 0.0)
    if pooled:
        ss_res, ss_tot = ss_res.sum(axis=1, keepdims=True), ss_tot.sum(axis=1, keepdims=True)
    scale = np.maximum(ss_tot[:1], 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 1e-12 * scale, 1.0 - ss_res / ss_tot, np.nan)
    results = [estimate_from_samples(r2[0, j], r2[1:, j], len(y_true), bounds=(-np.inf, 1.0),
                                     n_subjects=n_groups)
               for j in range(r2.shape[1])]
    return results[0] if pooled else results


def mean_estimate(estimates: list[Estimate], n: int | None = None,
                  bounds: tuple[float, float] = (-np.inf, np.inf)) -> Estimate:
    """Mean of estimates; its interval is that of the mean of their bootstrap samples.

    Estimates of targets resampled together (same resamples) give the interval of their
    mean; estimates resampled independently (e.g. one per signal kind) give that of a
    mean of independent quantities. ``n`` defaults to the first estimate's ``n``.
    """
    if not estimates or any(e.samples is None for e in estimates):
        raise ValueError("mean_estimate needs estimates that carry their bootstrap samples")
    value = float(np.mean([e.value for e in estimates]))
    samples = np.mean(np.stack([e.samples for e in estimates]), axis=0)
    subjects = [e.n_subjects for e in estimates if e.n_subjects is not None]
    return estimate_from_samples(value, samples, estimates[0].n if n is None else n, bounds,
                                 n_subjects=min(subjects) if subjects else None)


def weighted_mean_estimate(
    values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> Estimate:
    """Mean of per-item ``values`` with a grouped bootstrap interval."""
    values = np.asarray(values, dtype=float)
    index, n_groups = group_index(groups)
    stats = _group_sums(np.column_stack([np.ones_like(values), values]), index, n_groups)
    sums = _weights(index, n_groups, n_boot, seed) @ stats
    means = sums[:, 1] / sums[:, 0]
    return estimate_from_samples(means[0], means[1:], len(values), n_subjects=n_groups)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class (integer labels 0..K-1)."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return out


def balanced_accuracy_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present (rows with a count); conf: ... x K x K."""
    support = conf.sum(axis=-1)
    recall = np.divide(np.diagonal(conf, axis1=-2, axis2=-1), support,
                       out=np.zeros_like(support, dtype=float), where=support > 0)
    present = (support > 0).sum(axis=-1)
    return np.where(present > 0, recall.sum(axis=-1) / np.maximum(present, 1), np.nan)


def macro_f1_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Mean F1 over classes that occur as truth or prediction (as scikit-learn's macro F1)."""
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    denom = conf.sum(axis=-1) + conf.sum(axis=-2)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)
    used = (denom > 0).sum(axis=-1)
    return np.where(used > 0, f1.sum(axis=-1) / np.maximum(used, 1), np.nan)


def classification_estimates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int,
    groups: np.ndarray,
    n_boot: int,
    seed: int,
) -> dict[str, Estimate]:
    """Balanced accuracy and macro-F1 with grouped bootstrap intervals."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    index, n_groups = group_index(groups)
    cell = y_true * n_classes + y_pred
    onehot = np.zeros((len(y_true), n_classes * n_classes))
    onehot[np.arange(len(y_true)), cell] = 1.0
    conf = (_weights(index, n_groups, n_boot, seed) @ _group_sums(onehot, index, n_groups))
    conf = conf.reshape(-1, n_classes, n_classes)
    out = {}
    for name, fn in (("balanced_accuracy", balanced_accuracy_from_confusion),
                     ("macro_f1", macro_f1_from_confusion)):
        values = fn(conf)
        out[name] = estimate_from_samples(values[0], values[1:], len(y_true), bounds=(0.0, 1.0),
                                          n_subjects=n_groups)
    return out


def correlation_matrices(
    columns: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """Pearson correlation matrices of ``columns`` (items x k): (1 + n_boot) x k x k.

    Entry 0 is the full-sample matrix, the rest are grouped bootstrap resamples. A
    constant column has zero correlation with everything (and 1 with itself).
    """
    columns = _as_2d(columns)
    n, k = columns.shape
    columns = columns - columns.mean(axis=0)
    index, n_groups = group_index(groups)
    outer = (columns[:, :, None] * columns[:, None, :]).reshape(n, k * k)
    stats = _group_sums(np.hstack([np.ones((n, 1)), columns, outer]), index, n_groups)
    sums = _weights(index, n_groups, n_boot, seed) @ stats
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


def resample_mean_estimate(values: np.ndarray, n_items: int, n_boot: int, seed: int) -> Estimate:
    """Mean of a few values (e.g. one per CV fold) with a bootstrap over those values."""
    values = np.asarray(values, dtype=float)
    counts = bootstrap_counts(len(values), n_boot, seed)
    samples = counts @ values / len(values)
    return estimate_from_samples(float(values.mean()), samples, n_items)
