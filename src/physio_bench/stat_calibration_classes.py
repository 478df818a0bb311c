"""Calibration of the corrected paired t for the scenario classifier (balanced accuracy).

Foundation level (imports :mod:`physio_bench.statistics` and the folds and Monte Carlo
errors of :mod:`physio_bench.stat_calibration`), the classification counterpart of the
latter; used by ``benchmarks/statistics_calibration.py --classes`` (the table in
docs/statistics.md) and ``tests/test_statistics_calibration.py``.

**Population** (:class:`ClassDesign`, the default run's ``scenarios`` suite):
``n_subjects`` subjects, each seen once in each of ``n_classes`` scenarios (subject and
class crossed). Model ``m`` embeds a window of class ``c`` and subject ``s`` as
``x = mu_m[c] + u_m[s] + noise`` in ``width`` dimensions: class means ``mu_m`` of norm
``separation`` in random directions, a subject offset ``u_m[s] ~ N(0, sd_subject²)`` per
dimension (windows of one subject resemble each other whatever the scenario), noise
``N(0, 1)`` per dimension. The two models draw their means, offsets and noise
independently from the same distribution: *the same procedure in distribution*, so a
test of "A differs from B" should reject in 5% of data sets at alpha 0.05.

**Procedure**: a classifier (:data:`ClassDecoder`, ``(x_train, y_train,
subjects_train, x_test) -> classes``; the benchmark passes the scenario probe's
multinomial logistic regression with its inner-CV choice of ``C``,
:func:`physio_bench.probes.scenario_separation.grouped_logistic_predict`, which this
foundation module cannot import), cross-validated over ``n_folds`` subject-grouped outer
folds shared by both models. The metric is the balanced accuracy of the pooled
out-of-fold predictions (as the compare stage recomputes it); the split values are the
folds' balanced accuracies.

**Measured** per replicate (:func:`class_replicate`): the type-I error of the corrected
resampled paired t (:func:`statistics.paired_cv_difference`), the coverage at 95% of its
interval of the difference (truth 0), and the coverage of the corrected t interval of
model A's balanced accuracy (:func:`statistics.cv_estimate`; truth: the expected balanced
accuracy of the procedure trained on ``(K-1)/K`` of the subjects, on new subjects, by
Monte Carlo, :func:`class_procedure_truth`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physio_bench.stat_calibration import rate_with_error, subject_folds
from physio_bench.statistics import (
    CI_LEVEL,
    confusion_statistic,
    cv_estimate,
    group_sums,
    paired_cv_difference,
)

ALPHA = 1 - CI_LEVEL
#: rows of :func:`calibrate_classes` (after ``type-I: `` / ``coverage: ``)
CLASS_ROWS = ("type-I: corrected resampled paired t (CV balanced accuracy)",
              "coverage: corrected paired t interval of the difference",
              "coverage: cv_corrected_t (CV balanced accuracy)")

#: a classifier: (x_train, y_train, subjects_train, x_test) -> class of each test window
ClassDecoder = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ClassDesign:
    """One simulated scenario design (see the module docstring)."""

    name: str
    n_subjects: int = 30
    n_classes: int = 22
    width: int = 384
    n_folds: int = 5
    separation: float = 3.0  # balanced accuracy about 0.39, as the default run's models
    sd_subject: float = 0.5


def _draw(d: ClassDesign, rng: np.random.Generator, means: np.ndarray,
          n_subjects: int | None = None) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Subject and class of each window and the two models' embeddings (``means``:
    models x classes x width)."""
    n = d.n_subjects if n_subjects is None else n_subjects
    subjects = np.repeat(np.arange(n), d.n_classes)
    y = np.tile(np.arange(d.n_classes), n)
    xs = [mu[y] + rng.normal(0, d.sd_subject, (n, d.width))[subjects]
          + rng.normal(size=(y.size, d.width)) for mu in means]
    return subjects, y, xs


def _means(d: ClassDesign, rng: np.random.Generator, n_models: int = 2) -> np.ndarray:
    w = rng.normal(size=(n_models, d.n_classes, d.width))
    return w / np.linalg.norm(w, axis=-1, keepdims=True) * d.separation


def class_procedure_truth(d: ClassDesign, seed: int, decode: ClassDecoder,
                          n_train_sets: int = 20, n_test_subjects: int = 100) -> float:
    """Expected balanced accuracy of the procedure trained on ``(K-1)/K`` of
    ``n_subjects`` subjects, on ``n_test_subjects`` new subjects (Monte Carlo over
    ``n_train_sets`` training sets)."""
    rng = np.random.default_rng(seed)
    means = _means(d, np.random.default_rng(seed + 1), 1)
    _, y_test, x_test = _draw(d, rng, means, n_test_subjects)
    n_train = d.n_subjects - int(np.ceil(d.n_subjects / d.n_folds))
    stat = confusion_statistic(d.n_classes)
    values = []
    for _ in range(n_train_sets):
        groups, y, xs = _draw(d, rng, means, n_train)
        pred = decode(xs[0], y, groups, x_test[0])
        values.append(stat.from_sums(stat.item_stats(y_test, pred).sum(axis=0))[0])
    return float(np.mean(values))


def class_replicate(d: ClassDesign, seed: int, truth: float, decode: ClassDecoder
                    ) -> dict[str, bool]:
    """One null data set: whether the corrected t rejects and whether its two intervals
    cover (keys :data:`CLASS_ROWS`)."""
    rng = np.random.default_rng(seed)
    subjects, y, xs = _draw(d, rng, _means(d, np.random.default_rng(seed + 10**6)))
    fold = subject_folds(d.n_subjects, d.n_folds, rng)[subjects]
    stat = confusion_statistic(d.n_classes)
    split_sums, points = [], []
    for x in xs:
        pred = np.empty_like(y)
        for k in range(d.n_folds):
            test = fold == k
            pred[test] = decode(x[~test], y[~test], subjects[~test], x[test])
        items = stat.item_stats(y, pred)
        split_sums.append(group_sums(items, fold, d.n_folds))
        points.append(float(stat.from_sums(items.sum(axis=0))[0]))

    def value(sums: np.ndarray) -> np.ndarray:  # balanced accuracy (output 0)
        return stat.from_sums(sums)[..., 0]

    test = paired_cv_difference([split_sums[0]], [split_sums[1]], value, d.n_folds,
                                points[0], points[1], d.n_subjects)
    interval = cv_estimate(points[0], value(split_sums[0]), d.n_folds, y.size,
                           d.n_subjects, (0.0, 1.0))
    return {CLASS_ROWS[0]: bool(test.p < ALPHA),
            CLASS_ROWS[1]: bool(test.ci_low <= 0.0 <= test.ci_high),
            CLASS_ROWS[2]: bool(np.isfinite(interval.ci_low)
                                and interval.ci_low <= truth <= interval.ci_high)}


def calibrate_classes(d: ClassDesign, n_replicates: int, decode: ClassDecoder,
                      seed: int = 0) -> dict[str, tuple[float, float]]:
    """Rate and Monte Carlo error (``sqrt(r (1 - r) / R)``) of each row of
    :data:`CLASS_ROWS` over ``n_replicates`` null data sets; ``truth`` also returned
    under the key ``"truth: expected balanced accuracy"`` (its error: NaN)."""
    truth = class_procedure_truth(d, seed + 7, decode)
    outcomes = [class_replicate(d, seed * 100_003 + r, truth, decode)
                for r in range(n_replicates)]
    out = {}
    for name in CLASS_ROWS:
        out[name] = rate_with_error([o[name] for o in outcomes])
    out["truth: expected balanced accuracy"] = (truth, float("nan"))
    return out
