"""Shared statistics: honest intervals, the estimability rule, paired comparisons, Holm.

Foundation level (imports no stage): the probes, the downstream stage and the compare stage
all use it. Every number below is at :data:`CI_LEVEL` (95%).

**Intervals of cross-validated metrics** (:func:`cv_estimate`): the corrected resampled
t interval of Nadeau & Bengio (2003, Machine Learning 52:239). A cross-validated metric
is computed on the pooled out-of-fold predictions (the point estimate, as before), and
also on each outer test fold alone (the *split values* ``v_1..v_J``; ``J = K`` folds, or
``R x K`` with ``R`` repetitions of the fold split). With ``s²`` their sample variance,

    se² = (1/J + n_test/n_train) · s²,   n_test/n_train = 1/(K - 1),
    interval = estimate ± t_{J-1, 0.975} · se   (clipped to the metric's bounds).

The ``n_test/n_train`` term accounts for the correlation between folds whose training sets
overlap; without it (the naive t interval) and with a bootstrap of the held-out
predictions at fixed decoders, the interval ignores how much the decoders themselves
would change with another sample, and under-covers (measured: 0.73 for a nominal 0.95,
issue 11). The target of the interval is the expected performance of the whole procedure
(penalty and layer choice included) trained on ``(K-1)/K`` of the subjects and applied to
new subjects. Why this method and not the others the issue lists: it needs no refit (a
refit bootstrap of the token-level probes would cost hundreds of d x d solves per layer),
it uses the folds every probe already has, and it takes repeated splits when a caller can
afford them (``folds`` with a leading repeat axis). Its price is width: with one 5-fold
split the interval uses ``t_4 = 2.78``. Statistics of the *training* folds (e.g. DCI of
each fold's fitted decoder) are far more correlated across folds, since two training sets
share (K-2)/(K-1) of their subjects: their term is ``rho/(1-rho) = K-2`` instead of
``1/(K-1)`` (``on="train"``). Coverage on synthetic data with a known answer is
measured by ``benchmarks/coverage.py`` (and checked on a small case in the tests).

**Metrics without fitting** (silhouette, autocorrelation agreement, decoders trained on
other data such as sim2real): a bootstrap over whole subjects, BCa when the
leave-one-subject-out jackknife is available (:func:`bootstrap_estimate`,
:func:`grouped_estimates`), else percentile (``method`` says which). Intervals are never
re-centred on the estimate: one that cannot be formed (``|z0| > 2``, fewer than
:data:`MIN_DISTINCT` distinct resamples) is NaN with a note.

**Estimability** (:func:`estimability_note`): a metric whose interval is built over fewer
than ``statistics.min_groups`` (default :data:`MIN_GROUPS`) subject or record groups is
not reported as a number: its row carries ``note = "not estimable: k groups (need 5)"``
and empty value and interval. Intervals over fewer than :data:`FEW_CLUSTERS` groups are
flagged in the report.

**Paired comparisons.** Cross-validated models (the outer folds are shared between the
models compared): the corrected resampled paired t-test on the per-fold differences
(:func:`paired_cv_difference`, :func:`corrected_paired_t`; Nadeau & Bengio 2003,
Bouckaert & Frank 2004), which includes training variability. Decoders fitted elsewhere
(sim2real, DS1 -> DS2): a paired subject bootstrap and a within-subject permutation
p-value (:func:`paired_difference`), *conditional on the fitted decoder*: it speaks for
the evaluation sample only. Models with several seeds enter as the mean of their seeds'
metrics. :func:`holm` adjusts a family of p-values (Holm 1979). Calibration (type-I error,
coverage) on the benchmark's design: ``benchmarks/statistics_calibration.py``,
docs/statistics.md.

Metrics are written as functions of count-weighted sums of per-item statistics
(:class:`SumStatistic`), so every bootstrap resample, fold and permutation is one matrix
product over per-subject sums.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.special import stdtr, stdtrit

CI_LEVEL = 0.95
#: fewest subject/record groups a metric's interval may be built from (statistics.min_groups)
MIN_GROUPS = 5
#: intervals over fewer groups than this are flagged in the report
FEW_CLUSTERS = 30
NOT_ESTIMABLE = "not estimable"


def stream_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from ``seed`` and a stream name made of ``parts`` (BLAKE2b)."""
    key = "/".join(["physio_bench.statistics", str(int(seed)), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


def min_groups_of(config: dict[str, Any]) -> int:
    """``statistics.min_groups`` of a validated config (default :data:`MIN_GROUPS`)."""
    return int(config.get("statistics", {}).get("min_groups", MIN_GROUPS))


def estimability_note(n_groups: int, min_groups: int = MIN_GROUPS) -> str:
    """``""`` when ``n_groups`` suffice, else ``not estimable: k groups (need m)``."""
    if n_groups >= min_groups:
        return ""
    return f"{NOT_ESTIMABLE}: {int(n_groups)} groups (need {int(min_groups)})"


@dataclass
class Estimate:
    """A metric value, its 95% interval, the number of test items ``n`` and of independent
    subjects (resampling clusters) ``n_subjects`` (None when unknown).

    ``note`` is empty for a reported number, or says why there is none (value and
    interval are then NaN), e.g. ``not estimable: 3 groups (need 5)``. ``method`` names
    the interval (``cv_corrected_t`` or ``subject_bootstrap``). ``samples`` (bootstrap
    distribution, or draws from the t interval) and ``split_values`` (the metric on each
    outer test fold) are kept in memory so that estimates can be combined (e.g. averaged
    over signal kinds); they are not written to JSON.
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    n_subjects: int | None = None
    note: str = ""
    method: str = ""
    split_values: np.ndarray | None = field(default=None, repr=False, compare=False)
    n_folds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
               "n": self.n, "n_subjects": self.n_subjects}
        if self.method:
            out["interval"] = self.method
        if self.note:
            out["note"] = self.note
        return out

    @property
    def finite(self) -> bool:
        return bool(np.isfinite([self.value, self.ci_low, self.ci_high]).all())


def not_estimable(n: int, n_subjects: int, note: str) -> Estimate:
    """An estimate with no number: NaN value and interval, and the reason in ``note``."""
    nan = float("nan")
    return Estimate(nan, nan, nan, int(n), None, int(n_subjects), note)


# ------------------------------------------------------------------- grouped resampling

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
    draws = np.random.default_rng(seed).integers(0, n_groups, size=(n_boot, n_groups))
    offsets = (np.arange(n_boot) * n_groups)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_groups)
    return counts.reshape(n_boot, n_groups).astype(float)


def group_sums(values: np.ndarray, index: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``values`` (items x k) within each group -> groups x k."""
    values = np.asarray(values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, index, values)
    return out


def resample_weights(n_groups: int, n_boot: int, seed: int) -> np.ndarray:
    """Rows: the all-ones weights (point estimate), then ``n_boot`` resampled count rows."""
    return np.vstack([np.ones((1, n_groups)), bootstrap_counts(n_groups, n_boot, seed)])


# -------------------------------------------------------------------------- intervals

#: the bootstrap cannot form an interval when its bias correction |z0| exceeds this (the
#: estimate lies outside the central ~95% of its own resamples): NaN with a note instead
Z0_LIMIT = 2.0
#: nor when fewer distinct resample values than this exist (a few subjects, ties)
MIN_DISTINCT = 20
BCA, PERCENTILE = "subject_bootstrap_bca", "subject_bootstrap_percentile"


@dataclass
class Interval:
    """A bootstrap interval: bounds (NaN when it cannot be formed), the method
    (:data:`BCA` or :data:`PERCENTILE`) and, when NaN, why (``note``)."""

    low: float
    high: float
    method: str
    note: str = ""


def acceleration(jackknife: np.ndarray) -> float:
    """BCa acceleration from leave-one-group-out values (Efron 1987, eq. 6.6)."""
    jk = np.asarray(jackknife, dtype=float)
    jk = jk[np.isfinite(jk)]
    if jk.size < 3:
        return 0.0
    d = jk.mean() - jk
    denom = 6.0 * float((d**2).sum()) ** 1.5
    return float((d**3).sum() / denom) if denom > 0 else 0.0


def bootstrap_interval(value: float, samples: np.ndarray,
                       jackknife: np.ndarray | None = None,
                       n_groups: int | None = None) -> Interval:
    """95% bootstrap interval: BCa when leave-one-group-out ``jackknife`` values are
    given (Efron 1987), else the plain percentile interval.

    With ``n_groups`` (the resampled subjects), the normal quantile is *expanded* to
    ``sqrt(n/(n-1)) t_{n-1, 0.975}`` (Hesterberg 2015), which corrects the bootstrap's
    narrowness with few subjects (percentile coverage 0.86 at 20 subjects without it,
    docs/statistics.md).

    No re-centring: the interval may miss ``value``. When it cannot be formed (no finite
    resample, fewer than :data:`MIN_DISTINCT` distinct resample values, or a bias
    correction ``|z0| = |Phi^-1(share of resamples below the estimate)|`` above
    :data:`Z0_LIMIT`) the bounds are NaN and ``note`` says why.
    """
    method = PERCENTILE if jackknife is None else BCA
    nan = float("nan")
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0 or not np.isfinite(value):
        return Interval(nan, nan, method, "no interval: no finite bootstrap resample")
    distinct = np.unique(np.round(finite, 12)).size
    if distinct == 1 and np.isclose(finite[0], value, rtol=1e-12, atol=1e-15):
        return Interval(float(value), float(value), method)  # no variation at all
    if distinct < MIN_DISTINCT:
        return Interval(nan, nan, method, f"no interval: {distinct} distinct bootstrap "
                        f"values (need {MIN_DISTINCT})")
    normal = NormalDist()
    below = (np.count_nonzero(finite < value) + 0.5 * np.count_nonzero(finite == value))
    share = float(np.clip(below / finite.size, 0.5 / finite.size, 1 - 0.5 / finite.size))
    z0 = normal.inv_cdf(share)
    if abs(z0) > Z0_LIMIT:
        return Interval(nan, nan, method, f"no interval: bootstrap bias correction z0 = "
                        f"{z0:.2f} (limit ±{Z0_LIMIT:g}): the estimate lies outside its "
                        "resamples")
    tail = (1 - CI_LEVEL) / 2
    z_hi = normal.inv_cdf(1 - tail)
    if n_groups is not None and n_groups >= 3:
        z_hi = float(np.sqrt(n_groups / (n_groups - 1)) * stdtrit(n_groups - 1, 1 - tail))
    if jackknife is None:
        quantiles = [100 * normal.cdf(-z_hi), 100 * normal.cdf(z_hi)]
    else:
        acc = acceleration(jackknife)
        quantiles = []
        for z in (-z_hi, z_hi):
            shifted = z0 + (z0 + z) / (1 - acc * (z0 + z))
            quantiles.append(100 * normal.cdf(shifted))
    low, high = (float(q) for q in np.percentile(finite, quantiles))
    return Interval(low, high, method)


def bc_interval(value: float, samples: np.ndarray) -> tuple[float, float]:
    """Percentile bootstrap bounds of :func:`bootstrap_interval` (NaN when it cannot be
    formed); kept for callers that need only the bounds."""
    found = bootstrap_interval(value, samples)
    return found.low, found.high


def _clip(value: float, low: float, high: float,
          bounds: tuple[float, float]) -> tuple[float, float]:
    """Clip ``[low, high]`` to the metric's ``bounds`` (never moved to hold ``value``)."""
    del value
    if np.isfinite(low) and np.isfinite(high):
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return float(low), float(high)


def estimate_from_samples(value: float, samples: np.ndarray, n: int,
                          bounds: tuple[float, float] = (-np.inf, np.inf),
                          n_subjects: int | None = None,
                          jackknife: np.ndarray | None = None) -> Estimate:
    """Estimate with the :func:`bootstrap_interval` of the bootstrap ``samples`` (BCa
    with ``jackknife`` values, else percentile; ``method`` says which). The interval can
    miss the estimate; NaN with the reason in ``note`` when it cannot be formed.
    ``bounds`` clips it to the metric's range."""
    found = bootstrap_interval(value, samples, jackknife, n_subjects)
    low, high = _clip(value, found.low, found.high, bounds)
    return Estimate(float(value), low, high, int(n), np.asarray(samples, dtype=float),
                    None if n_subjects is None else int(n_subjects), note=found.note,
                    method=found.method)


#: correlation terms of the corrected t interval: statistics of the test folds use
#: n_test/n_train = 1/(K-1) (Nadeau & Bengio); statistics of the training folds (e.g. a
#: fitted decoder's DCI), whose samples overlap by (K-2)/(K-1), use rho/(1-rho) = K-2
FOLD_CORRELATION = {"test": lambda k: 1.0 / (k - 1), "train": lambda k: float(k - 2)}
METHODS = {"test": "cv_corrected_t", "train": "cv_corrected_t_training"}


def corrected_t_interval(value: float, split_values: np.ndarray, n_folds: int,
                         on: str = "test") -> tuple[float, float, float, int]:
    """Corrected resampled t interval around ``value`` from per-fold ``split_values``.

    ``se² = (1/J + c) s²`` with ``c = 1/(K-1)`` for metrics of the test folds (Nadeau &
    Bengio) or ``c = K-2`` for statistics of the training folds (``on="train"``: two
    training sets share (K-2)/(K-1) of their subjects, so the fold values are correlated
    by about that much). Returns ``(low, high, se, df)``; NaN interval when fewer than 2
    split values are finite.
    """
    values = np.asarray(split_values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2 or n_folds < 2 or not np.isfinite(value):
        nan = float("nan")
        return nan, nan, nan, 0
    j = values.size
    se = float(np.sqrt((1.0 / j + FOLD_CORRELATION[on](n_folds)) * values.var(ddof=1)))
    df = j - 1
    q = float(stdtrit(df, 1 - (1 - CI_LEVEL) / 2))  # Student t quantile
    return float(value - q * se), float(value + q * se), se, df


def _t_draws(value: float, se: float, df: int, size: int, key: bytes) -> np.ndarray:
    """Seeded draws from ``value + se * t_df`` (the interval's distribution), so that a
    t-interval estimate can still be combined with others through ``samples``."""
    seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return value + se * np.random.default_rng(seed).standard_t(df, size)


def cv_estimate(value: float, split_values: np.ndarray, n_folds: int, n: int,
                n_subjects: int | None, bounds: tuple[float, float] = (-np.inf, np.inf),
                on: str = "test", n_draws: int = 1000) -> Estimate:
    """Estimate of a cross-validated metric with the corrected resampled t interval
    (:func:`corrected_t_interval`; ``on`` = ``test`` or ``train`` folds)."""
    split_values = np.asarray(split_values, dtype=float).ravel()
    subjects = None if n_subjects is None else int(n_subjects)
    low, high, se, df = corrected_t_interval(value, split_values, n_folds, on)
    if not np.isfinite(low):
        return Estimate(float(value), float("nan"), float("nan"), int(n), None, subjects,
                        "no interval: fewer than 2 folds with a defined value", METHODS[on],
                        split_values, int(n_folds))
    low, high = _clip(value, low, high, bounds)  # bounds only; never widened to the value
    draws = _t_draws(value, se, df, n_draws, split_values.tobytes() + str(value).encode())
    return Estimate(float(value), low, high, int(n), np.clip(draws, *bounds), subjects, "",
                    METHODS[on], split_values, int(n_folds))


def mean_of_estimates(estimates: list[Estimate], n: int,
                      bounds: tuple[float, float] = (-np.inf, np.inf)) -> Estimate:
    """Mean of estimates (e.g. over signal kinds or targets).

    Cross-validated estimates with split values for the same number of folds: the split
    values are averaged fold by fold and the corrected t interval is taken of the mean
    (estimates from independent fold splits give the interval of a mean of independent
    quantities; targets sharing one split give that of their mean). Otherwise the mean
    of their ``samples``. A non-estimable part makes the mean not estimable.
    """
    if not estimates:
        raise ValueError("mean_of_estimates needs at least one estimate")
    subjects = [e.n_subjects for e in estimates if e.n_subjects is not None]
    n_subjects = min(subjects) if subjects else None
    missing = [e for e in estimates if not np.isfinite(e.value)]
    if missing:
        return not_estimable(n, n_subjects or 0, missing[0].note or "a part is not estimable")
    value = float(np.mean([e.value for e in estimates]))
    splits = [e.split_values for e in estimates]
    folds = {e.n_folds for e in estimates}
    methods = {e.method for e in estimates}
    if all(s is not None for s in splits) and len({len(s) for s in splits}) == 1 \
            and len(folds) == 1 and len(methods) == 1:
        on = "train" if methods.pop() == METHODS["train"] else "test"
        return cv_estimate(value, np.mean(np.stack(splits), axis=0), folds.pop(), n,
                           n_subjects, bounds, on)
    if any(e.samples is None for e in estimates):
        raise ValueError("mean_of_estimates needs estimates with split values or samples")
    samples = np.mean(np.stack([e.samples for e in estimates]), axis=0)
    return estimate_from_samples(value, samples, n, bounds, n_subjects)


# ---------------------------------------------------------------- metrics from sums

@dataclass(frozen=True)
class SumStatistic:
    """A metric computed from sums of per-item statistics.

    ``item_stats(y_true, y_pred)`` maps items x targets arrays to items x m statistics;
    ``from_sums(sums)`` maps ``... x m`` sums to ``... x k`` metric values (k outputs,
    e.g. one per target). Any weighting of items by whole groups (bootstrap counts, fold
    membership, permutations) is then a matrix product.
    """

    name: str
    item_stats: Callable[[np.ndarray, np.ndarray], np.ndarray]
    from_sums: Callable[[np.ndarray], np.ndarray]


def _2d(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    return array[:, None] if array.ndim == 1 else array


def r2_statistic(n_targets: int, pooled: bool = False) -> SumStatistic:
    """R² = 1 - SS_res / SS_tot per target (k = targets), or pooled over the targets
    (SS summed over targets, each around its own mean; k = 1). A constant target gives
    NaN."""
    t = n_targets

    def item_stats(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        y, p = _2d(y), _2d(p)
        return np.hstack([np.ones((len(y), 1)), (y - p) ** 2, y, y**2])

    def from_sums(s: np.ndarray) -> np.ndarray:
        count, ss_res = s[..., :1], s[..., 1:1 + t]
        total, total_sq = s[..., 1 + t:1 + 2 * t], s[..., 1 + 2 * t:1 + 3 * t]
        with np.errstate(divide="ignore", invalid="ignore"):
            ss_tot = np.maximum(total_sq - total**2 / count, 0.0)
            scale = np.maximum(np.abs(total_sq), 1e-300)
            if pooled:
                ss_res = ss_res.sum(axis=-1, keepdims=True)
                ss_tot, scale = (ss_tot.sum(axis=-1, keepdims=True),
                                 scale.sum(axis=-1, keepdims=True))
            return np.where(ss_tot > 1e-12 * scale, 1.0 - ss_res / ss_tot, np.nan)

    return SumStatistic("r2_pooled" if pooled else "r2", item_stats, from_sums)


def skill_statistic(n_targets: int) -> SumStatistic:
    """Skill against a zero baseline, pooled over the targets: ``1 - sum (y - p)² /
    sum y²`` (k = 1). For predictions whose truth is already a deviation from a baseline
    (e.g. the position-adjusted within-window values of ``tracking_within_r2``);
    ``n_targets`` is accepted for symmetry with the other statistics."""
    del n_targets

    def item_stats(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        y, p = _2d(y), _2d(p)
        return np.column_stack([((y - p) ** 2).sum(axis=1), (y**2).sum(axis=1)])

    def from_sums(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s[..., 1:2] > 0, 1.0 - s[..., :1] / s[..., 1:2], np.nan)

    return SumStatistic("skill", item_stats, from_sums)


def mean_r2_statistic(n_targets: int) -> SumStatistic:
    """Mean over targets of each target's R² (k = 1): the mean factor R²."""
    base = r2_statistic(n_targets)
    return SumStatistic("mean_r2", base.item_stats,
                        lambda s: np.mean(base.from_sums(s), axis=-1, keepdims=True))


def mae_statistic() -> SumStatistic:
    """Mean absolute error over items and targets (k = 1), in the targets' unit."""
    def item_stats(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        y, p = _2d(y), _2d(p)
        return np.column_stack([np.full(len(y), y.shape[1]), np.abs(y - p).sum(axis=1)])

    def from_sums(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s[..., :1] > 0, s[..., 1:2] / s[..., :1], np.nan)

    return SumStatistic("mae", item_stats, from_sums)


def confusion_statistic(n_classes: int) -> SumStatistic:
    """Balanced accuracy and macro-F1 (k = 2) from the confusion counts of integer class
    labels ``0..K-1`` (one target)."""
    k = n_classes

    def item_stats(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        y, p = np.asarray(y).reshape(-1).astype(np.int64), np.asarray(p).reshape(-1)
        out = np.zeros((len(y), k * k))
        out[np.arange(len(y)), y * k + p.astype(np.int64)] = 1.0
        return out

    def from_sums(s: np.ndarray) -> np.ndarray:
        conf = s.reshape(*s.shape[:-1], k, k)
        return np.stack([balanced_accuracy_from_confusion(conf),
                         macro_f1_from_confusion(conf)], axis=-1)

    return SumStatistic("classification", item_stats, from_sums)


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


def entanglement_statistic(n_factors: int, decoded: np.ndarray | None = None) -> SumStatistic:
    """Leakage of the linear mixing between standardised true and decoded factors (k = 1).

    ``M`` (F x F) regresses the standardised decoded factors on the standardised true
    ones (``M = R_yy^-1 C(y_std, p_std)``); the leakage of decoded factor ``j`` is
    ``sum_{i != j} M_ij² / sum_i M_ij²`` (0: decoded j moves with true j alone), and the
    metric is its mean over the factors in ``decoded`` (a boolean mask: the reliably
    decoded ones; all when None). Lower is better; NaN when no factor is selected or a
    factor is constant.
    """
    f = n_factors
    mask = np.ones(f, bool) if decoded is None else np.asarray(decoded, bool)

    def item_stats(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        y, p = _2d(y), _2d(p)
        outer_yy = (y[:, :, None] * y[:, None, :]).reshape(len(y), f * f)
        outer_yp = (y[:, :, None] * p[:, None, :]).reshape(len(y), f * f)
        return np.hstack([np.ones((len(y), 1)), y, p, p**2, outer_yy, outer_yp])

    def from_sums(s: np.ndarray) -> np.ndarray:
        lead = s.shape[:-1]
        n = s[..., :1]
        mu_y, mu_p = s[..., 1:1 + f] / n, s[..., 1 + f:1 + 2 * f] / n
        var_p = s[..., 1 + 2 * f:1 + 3 * f] / n - mu_p**2
        syy = s[..., 1 + 3 * f:1 + 3 * f + f * f].reshape(*lead, f, f) / n[..., None]
        syp = s[..., 1 + 3 * f + f * f:].reshape(*lead, f, f) / n[..., None]
        c_yy = syy - mu_y[..., :, None] * mu_y[..., None, :]
        c_yp = syp - mu_y[..., :, None] * mu_p[..., None, :]
        sd_y = np.sqrt(np.clip(np.diagonal(c_yy, axis1=-2, axis2=-1), 0, None))
        sd_p = np.sqrt(np.clip(var_p, 0, None))
        ok = (sd_y > 0).all(axis=-1) & (sd_p[..., mask] > 0).all(axis=-1)
        sd_y, sd_p = np.where(sd_y > 0, sd_y, 1.0), np.where(sd_p > 0, sd_p, 1.0)
        r_yy = c_yy / (sd_y[..., :, None] * sd_y[..., None, :])
        r_yp = c_yp / (sd_y[..., :, None] * sd_p[..., None, :])
        m = np.linalg.solve(r_yy + 1e-12 * np.eye(f), r_yp)
        sq = m**2
        own = np.diagonal(sq, axis1=-2, axis2=-1)
        total = sq.sum(axis=-2)
        leak = np.divide(total - own, total, out=np.full_like(total, np.nan), where=total > 0)
        value = leak[..., mask].mean(axis=-1) if mask.any() else np.full(lead, np.nan)
        return np.where(ok, value, np.nan)[..., None]

    return SumStatistic("entanglement", item_stats, from_sums)


# --------------------------------------------------------- grouped metric estimates

def grouped_estimates(stat: SumStatistic, y_true: np.ndarray, y_pred: np.ndarray,
                      groups: np.ndarray, *, folds: np.ndarray | None = None,
                      n_boot: int = 1000, seed: int = 0,
                      bounds: tuple[float, float] = (-np.inf, np.inf),
                      min_groups: int = MIN_GROUPS) -> list[Estimate]:
    """One :class:`Estimate` per output of ``stat`` on items grouped by subject.

    Args:
        y_true, y_pred: items (x targets). With ``folds`` of shape repeats x items,
            ``y_pred`` holds one prediction set per repeat (repeats x items (x targets)).
        groups: subject (or record) of each item.
        folds: outer-fold id of each item when the predictions are cross-validated
            (interval: :func:`cv_estimate`); None for predictions of decoders trained
            elsewhere (interval: subject bootstrap).
        min_groups: fewer groups give not-estimable estimates.
    """
    index, n_groups = group_index(groups)
    n = len(index)
    folds = None if folds is None else np.asarray(folds)
    first = y_pred if folds is None or folds.ndim == 1 else y_pred[0]
    first_stats = stat.item_stats(y_true, first)
    note = estimability_note(n_groups, min_groups)
    if note:
        k_out = stat.from_sums(first_stats.sum(axis=0)).shape[-1]
        return [not_estimable(n, n_groups, note) for _ in range(k_out)]
    if folds is None:
        per_group = group_sums(first_stats, index, n_groups)
        sums = resample_weights(n_groups, n_boot, seed) @ per_group
        values = stat.from_sums(sums)
        jack = stat.from_sums(per_group.sum(axis=0)[None, :] - per_group)  # leave one out
        return [estimate_from_samples(values[0, j], values[1:, j], n, bounds, n_groups,
                                      jackknife=jack[:, j])
                for j in range(values.shape[1])]
    fold_sets = folds[None] if folds.ndim == 1 else folds
    preds = [y_pred] if folds.ndim == 1 else list(y_pred)
    points, splits = [], []
    n_folds = 0
    for r, (fold, pred) in enumerate(zip(fold_sets, preds, strict=True)):
        stats_ = first_stats if r == 0 else stat.item_stats(y_true, pred)
        points.append(stat.from_sums(stats_.sum(axis=0)))
        ids, fold_index = np.unique(fold, return_inverse=True)
        n_folds = max(n_folds, len(ids))
        splits.append(stat.from_sums(group_sums(stats_, fold_index.reshape(-1), len(ids))))
    point = np.mean(points, axis=0)
    split = np.vstack(splits)
    return [cv_estimate(point[j], split[:, j], n_folds, n, n_groups, bounds)
            for j in range(len(point))]


def bootstrap_estimate(values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int,
                       bounds: tuple[float, float] = (-np.inf, np.inf),
                       min_groups: int = MIN_GROUPS) -> Estimate:
    """Mean of per-item ``values`` with a BCa subject-bootstrap interval (jackknife over
    subjects)."""
    values = np.asarray(values, dtype=float)
    index, n_groups = group_index(groups)
    note = estimability_note(n_groups, min_groups)
    if note:
        return not_estimable(len(values), n_groups, note)
    stats_ = group_sums(np.column_stack([np.ones_like(values), values]), index, n_groups)
    sums = resample_weights(n_groups, n_boot, seed) @ stats_
    means = sums[:, 1] / sums[:, 0]
    rest = stats_.sum(axis=0)[None, :] - stats_
    with np.errstate(divide="ignore", invalid="ignore"):
        jack = rest[:, 1] / rest[:, 0]
    return estimate_from_samples(means[0], means[1:], len(values), bounds, n_groups,
                                 jackknife=jack)


# ------------------------------------------------------------------ paired comparisons

#: names of the paired tests (the ``test`` column of comparisons.csv)
TEST_CORRECTED_T = "corrected resampled paired t"
TEST_PERMUTATION = "permutation, conditional on the fitted decoder"


@dataclass
class PairedDifference:
    """Metric of A minus metric of B, its 95% interval and the two-sided p-value of the
    paired ``test`` (:data:`TEST_CORRECTED_T` or :data:`TEST_PERMUTATION`)."""

    difference: float
    ci_low: float
    ci_high: float
    p: float
    value_a: float
    value_b: float
    n_subjects: int
    samples: np.ndarray = field(repr=False)
    test: str = TEST_PERMUTATION
    note: str = ""
    n_splits: int = 0


def corrected_paired_t(split_differences: np.ndarray, n_folds: int
                       ) -> tuple[float, float, float, float, int]:
    """Corrected resampled paired t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004).

    ``split_differences``: ``d_1..d_J``, the difference of the two models' metric on each
    outer test fold (``J = R x K`` for ``R`` repetitions of a ``K``-fold split shared by
    both models). With ``s²`` their sample variance,
    ``t = mean(d) / sqrt((1/J + 1/(K-1)) s²)`` on ``J - 1`` degrees of freedom; the
    ``1/(K-1)`` term (n_test/n_train) accounts for the overlap of the training sets, which
    the naive paired t ignores. Returns ``(mean, low, high, p, df)``; NaN when fewer than
    2 differences are finite.
    """
    d = np.asarray(split_differences, dtype=float)
    d = d[np.isfinite(d)]
    nan = float("nan")
    if d.size < 2 or n_folds < 2:
        return nan, nan, nan, nan, 0
    j, df = d.size, d.size - 1
    mean = float(d.mean())
    se = float(np.sqrt((1.0 / j + 1.0 / (n_folds - 1)) * d.var(ddof=1)))
    q = float(stdtrit(df, 1 - (1 - CI_LEVEL) / 2))
    if se <= 1e-15 * max(1.0, abs(mean)):
        p = 1.0 if abs(mean) <= 1e-15 else 0.0
    else:
        p = float(2 * stdtr(df, -abs(mean) / se))
    return mean, mean - q * se, mean + q * se, p, df


def paired_cv_difference(splits_a: list[np.ndarray], splits_b: list[np.ndarray],
                         value: Callable[[np.ndarray], np.ndarray], n_folds: int,
                         value_a: float, value_b: float, n_subjects: int) -> PairedDifference:
    """Corrected resampled paired t comparison of two cross-validated models.

    Args:
        splits_a, splits_b: per instance (seed) of model A and B, the sums of item
            statistics of each outer test fold (splits x m, same splits for all).
        value: ``... x m`` sums -> ``...`` metric values.
        n_folds: folds per repetition (``K``).
        value_a, value_b: the pooled out-of-fold values (as in the leaderboard).

    A model with several instances enters as the mean over its instances on each fold.
    ``difference`` is ``value_a - value_b`` (the leaderboard's values); the interval and
    p-value are those of the mean per-fold difference (:func:`corrected_paired_t`).
    """
    a = np.mean([value(s) for s in splits_a], axis=0)
    b = np.mean([value(s) for s in splits_b], axis=0)
    d = np.asarray(a - b, dtype=float).reshape(-1)
    _, low, high, p, _ = corrected_paired_t(d, n_folds)
    note = "" if np.isfinite(p) else "no test: fewer than 2 folds with a defined difference"
    return PairedDifference(float(value_a - value_b), float(low), float(high), float(p),
                            float(value_a), float(value_b), int(n_subjects), d,
                            TEST_CORRECTED_T, note, int(d.size))


def paired_difference(sums_a: list[np.ndarray], sums_b: list[np.ndarray],
                      value: Callable[[np.ndarray], np.ndarray], n_boot: int, n_perm: int,
                      seed: int) -> PairedDifference:
    """Paired subject bootstrap and within-subject permutation test of ``A - B``,
    *conditional on the fitted decoders* (:data:`TEST_PERMUTATION`).

    Only for decoders fitted elsewhere (sim2real, DS1 -> DS2): holding the decoders
    fixed ignores training variability, so for cross-validated models this test is
    anti-conservative (type-I error 0.13 at alpha 0.05 in issue 24's simulation; see
    ``benchmarks/statistics_calibration.py``) and :func:`paired_cv_difference` is used.

    Args:
        sums_a, sums_b: per instance (seed) of model A and B, per-subject sums of item
            statistics, subjects x m, rows in the same subject order for all.
        value: ``... x m`` sums -> ``...`` metric value (one number per row).
        n_boot: bootstrap resamples of the subjects (the same counts for A and B).
        n_perm: random within-subject swaps for the p-value.

    The metric of a model with several instances is the mean over its instances. The
    permutation null swaps, for a random half of the subjects, the predictions of A and
    B (each pair of instances with the same swaps); two-sided p-value
    ``(1 + #{|d*| >= |d|}) / (1 + n_perm)``. The interval is the percentile interval of
    the paired subject bootstrap (NaN with a note when it cannot be formed; never
    re-centred on the difference).
    """
    n_subjects = sums_a[0].shape[0]
    weights = resample_weights(n_subjects, n_boot, stream_seed(seed, "bootstrap"))

    def metric(sums_list: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        return np.mean([value(w @ s) for s in sums_list], axis=0)

    a, b = metric(sums_a, weights), metric(sums_b, weights)
    diff = a - b
    d0 = float(diff[0])
    found = bootstrap_interval(d0, diff[1:], n_groups=n_subjects)
    flips = np.random.default_rng(stream_seed(seed, "permutation")).integers(
        0, 2, size=(n_perm, n_subjects)).astype(float)
    keep = 1.0 - flips
    null = np.zeros(n_perm)
    for sa in sums_a:
        for sb in sums_b:
            null += value(keep @ sa + flips @ sb) - value(flips @ sa + keep @ sb)
    null /= len(sums_a) * len(sums_b)
    if np.isfinite(d0):
        tol = 1e-12 * max(1.0, abs(d0))
        p = float((1 + np.count_nonzero(np.abs(null) >= abs(d0) - tol)) / (1 + n_perm))
    else:
        p = float("nan")
    return PairedDifference(d0, float(found.low), float(found.high), p, float(a[0]),
                            float(b[0]), int(n_subjects), diff[1:], TEST_PERMUTATION,
                            found.note)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and are not counted)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
