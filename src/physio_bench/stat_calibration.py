"""Calibration of the paired tests and intervals on simulated data with a known truth.

Foundation level (imports :mod:`physio_bench.statistics` only); used by
``benchmarks/statistics_calibration.py`` (the table in docs/statistics.md) and by
``tests/test_statistics_calibration.py`` (a small version).

**Population** (:class:`Design`): ``n_subjects`` subjects with ``items`` windows each. A
window's label is ``y = s_subject + e_item`` (``s ~ N(0, sd_subject²)``, ``e ~ N(0,
sd_item²)``); two embeddings of width ``width`` carry it with equal, independent noise,
``x_A = y w_A + noise_A``, ``x_B = y w_B + noise_B`` (``w`` unit-norm random directions,
noise ``N(0, sd_noise²)`` per dimension). Models A and B are therefore *the same
procedure in distribution*: any test of "A differs from B" should reject in 5% of data
sets at alpha 0.05.

**Procedure**: the benchmark's decoder (:func:`physio_bench.linear.inner_cv_ridge`, as
the real-data tasks run it): ridge on features standardised on the training fold, its
penalty chosen from ``RIDGE_ALPHAS`` by the lowest inner-CV MAE over ``inner_folds``
subject-grouped folds of the training subjects, cross-validated over subject-grouped
outer folds (``n_folds``, ``repeats`` seeded shuffles of the subjects, the *same folds
for both models*, as in the benchmark). The metric is the MAE of the out-of-fold
predictions. ``penalty`` (a number) replaces the inner CV by a fixed penalty of
``penalty`` times the training size on centred, unscaled features (the calibration's
procedure before 2026-12-06, kept to show how much the decoder matters). A ``decode``
argument (:data:`Decoder`) replaces both: a stage's own decoder, e.g. the probes' ridge
(:func:`physio_bench.probes.ridge.grouped_ridge_predict`), which this foundation module
cannot import.

**What is measured** per replicate data set (:func:`replicate`):

- type-I error of ``corrected resampled paired t`` (:func:`statistics.paired_cv_difference`)
  and of today's previous test, the ``within-subject permutation`` with the decoders held
  fixed (:func:`statistics.paired_difference`), on the cross-validated predictions;
- type-I error of the permutation test where its null holds: one decoder fitted on
  independent data (sim2real-like), two prediction sets differing by equal, independent
  noise (exchangeable within subject);
- coverage at 95% of: the corrected paired t interval of the difference (truth 0), the
  corrected t interval of the cross-validated MAE (``cv_corrected_t``; truth: the
  expected MAE of the procedure trained on ``(K-1)/K`` of the subjects, by Monte Carlo,
  :func:`procedure_truth`), and the subject bootstrap of grouped means in its BCa and
  percentile forms: of a strongly skewed per-window value (``y²``, truth ``sd_subject² +
  sd_item²``; the subject means are about chi-square(1), skewness 2.8: a stress test) and
  of an MAE-like one (``|y|``, truth ``sqrt(2/pi) sd_total``; half-normal, skewness 1,
  like the per-subject absolute errors the sim2real MAE averages).

**How much the fold differences vary** (:func:`repeat_study`): on the same null, the
per-fold differences ``d`` of ``R`` repetitions of the ``K``-fold split (``J = R K``).
Every t-test on them divides ``mean(d)`` by ``sqrt(c s²)`` (``s²`` their sample variance)
with an assumed factor ``c``: ``1/J + 1/(K-1)`` for the corrected resampled t (Nadeau and
Bengio; Bouckaert and Frank for ``R > 1``), ``1/J`` for the naive paired t. The study
reports the factor the data need, ``var(mean d) / E[s²]`` over the replicates, beside the
assumed ones and each test's type-I error: a test is calibrated where the two agree, and
no fixed ``c`` can be where the needed factor moves with the design.

Monte Carlo error of a rate ``r`` over ``R`` replicates: ``sqrt(r (1 - r) / R)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr

from physio_bench.linear import inner_cv_ridge
from physio_bench.statistics import (
    CI_LEVEL,
    bootstrap_estimate,
    cv_estimate,
    estimate_from_samples,
    group_sums,
    mae_statistic,
    paired_cv_difference,
    paired_difference,
    resample_weights,
)

ALPHA = 1 - CI_LEVEL
TYPE_I = ("corrected resampled paired t (CV)", "permutation, decoders held fixed (CV)",
          "permutation, conditional on a fitted decoder")
COVERAGE = ("corrected paired t interval of the difference", "cv_corrected_t (CV MAE)",
            "subject bootstrap BCa (grouped mean of y², skewed)",
            "subject bootstrap percentile (grouped mean of y², skewed)",
            "subject bootstrap BCa (grouped mean of abs(y), MAE-like)",
            "subject bootstrap percentile (grouped mean of abs(y), MAE-like)")


@dataclass(frozen=True)
class Design:
    """One simulated design (see the module docstring)."""

    name: str
    n_subjects: int
    items: int
    width: int
    n_folds: int = 5
    repeats: int = 1
    sd_subject: float = 1.0
    sd_item: float = 0.5
    sd_noise: float = 2.0
    penalty: float | None = None  # None: inner-CV penalty (the benchmark's decoder)
    inner_folds: int = 3


def rate_with_error(flags: list[bool] | np.ndarray) -> tuple[float, float]:
    """Share of ``True`` among the replicates' ``flags`` and its Monte Carlo error,
    ``sqrt(r (1 - r) / R)``."""
    rate = float(np.mean(flags))
    return rate, float(np.sqrt(rate * (1 - rate) / len(flags)))


def subject_folds(n_subjects: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each subject: a seeded shuffle dealt round-robin (as the probes do)."""
    fold = np.empty(n_subjects, dtype=np.int64)
    fold[rng.permutation(n_subjects)] = np.arange(n_subjects) % n_folds
    return fold


def _draw(d: Design, rng: np.random.Generator, directions: np.ndarray,
          n_subjects: int | None = None) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Subjects of each window, labels, and the two models' embeddings."""
    n = d.n_subjects if n_subjects is None else n_subjects
    subjects = np.repeat(np.arange(n), d.items)
    y = rng.normal(0, d.sd_subject, n)[subjects] + rng.normal(0, d.sd_item, n * d.items)
    xs = [y[:, None] * w[None, :] + rng.normal(0, d.sd_noise, (y.size, d.width))
          for w in directions]
    return subjects, y, xs


def _directions(d: Design, rng: np.random.Generator) -> np.ndarray:
    w = rng.normal(size=(2, d.width))
    return w / np.linalg.norm(w, axis=1, keepdims=True) * 2.0


def _ridge(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
           penalty: float) -> np.ndarray:
    mx, my = x_train.mean(axis=0), y_train.mean()
    xc = x_train - mx
    n, p = xc.shape
    lam = penalty * n
    if p <= n:
        coef = np.linalg.solve(xc.T @ xc + lam * np.eye(p), xc.T @ (y_train - my))
    else:  # dual form for wide embeddings
        coef = xc.T @ np.linalg.solve(xc @ xc.T + lam * np.eye(n), y_train - my)
    return (x_test - mx) @ coef + my


#: a decoder: (x_train, y_train, subjects_train, x_test) -> predictions of x_test
Decoder = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _decode(d: Design, x_train: np.ndarray, y_train: np.ndarray, groups_train: np.ndarray,
            x_test: np.ndarray, decode: Decoder | None = None) -> np.ndarray:
    """``decode`` (when given) or the design's decoder, fitted on the training windows,
    predicting ``x_test``. ``decode`` lets a caller run a stage's decoder (the probes'
    ridge), which this foundation module cannot import."""
    if decode is not None:
        return decode(x_train, y_train, groups_train, x_test)
    if d.penalty is None:
        return inner_cv_ridge(x_train, y_train, groups_train, x_test, d.inner_folds)[0]
    return _ridge(x_train, y_train, x_test, d.penalty)


def procedure_truth(d: Design, seed: int, n_train_sets: int = 40,
                    n_test_items: int = 20000, decode: Decoder | None = None) -> float:
    """Expected MAE of the procedure trained on ``(K-1)/K`` of ``n_subjects`` subjects,
    on new subjects (Monte Carlo over training sets, one test set of about
    ``n_test_items`` windows)."""
    n_test_subjects = max(200, n_test_items // d.items)
    rng = np.random.default_rng(seed)
    directions = _directions(d, np.random.default_rng(seed + 1))
    _, y_test, x_test = _draw(d, rng, directions, n_test_subjects)
    n_train = d.n_subjects - int(np.ceil(d.n_subjects / d.n_folds))
    errors = []
    for _ in range(n_train_sets):
        groups, y, xs = _draw(d, rng, directions, n_train)
        errors.append(np.abs(_decode(d, xs[0], y, groups, x_test[0], decode) - y_test).mean())
    return float(np.mean(errors))


@dataclass
class Outcome:
    """One replicate: rejections (p < alpha) per test and coverage per interval."""

    reject: dict[str, bool]
    cover: dict[str, bool]


def _mae_value(sums: np.ndarray) -> np.ndarray:
    return mae_statistic().from_sums(sums)[..., 0]


def _cv_predictions(d: Design, x: np.ndarray, y: np.ndarray, subjects: np.ndarray,
                    fold: np.ndarray, decode: Decoder | None = None) -> np.ndarray:
    """Out-of-fold predictions on the item folds ``fold`` of ``decode`` (default: the
    design's decoder)."""
    pred = np.empty_like(y)
    for k in range(d.n_folds):
        test = fold == k
        pred[test] = _decode(d, x[~test], y[~test], subjects[~test], x[test], decode)
    return pred


def replicate(d: Design, seed: int, truth_mae: float, n_perm: int = 199,
              n_boot: int = 400, decode: Decoder | None = None) -> Outcome:
    """One simulated data set of design ``d`` and every test and interval on it
    (``decode``: see :func:`_decode`)."""
    rng = np.random.default_rng(seed)
    directions = _directions(d, np.random.default_rng(seed + 10**6))
    subjects, y, xs = _draw(d, rng, directions)
    stat = mae_statistic()
    n_sub = d.n_subjects
    split_sums: list[list[np.ndarray]] = [[], []]
    subject_sums: list[np.ndarray] = []
    points = []
    split_values = []
    for r in range(d.repeats):
        fold = subject_folds(n_sub, d.n_folds, rng)[subjects]
        preds = [_cv_predictions(d, x, y, subjects, fold, decode) for x in xs]
        for m, pred in enumerate(preds):
            item = stat.item_stats(y, pred)
            split_sums[m].append(group_sums(item, fold, d.n_folds))
            if r == 0:
                subject_sums.append(group_sums(item, subjects, n_sub))
        points.append(float(_mae_value(stat.item_stats(y, preds[0]).sum(axis=0))))
        split_values.append(_mae_value(split_sums[0][-1]))
    a, b = np.vstack(split_sums[0]), np.vstack(split_sums[1])
    value_a = float(np.mean(points))
    value_b = float(np.mean([_mae_value(s.sum(axis=0)) for s in split_sums[1]]))
    t_test = paired_cv_difference([a], [b], _mae_value, d.n_folds, value_a, value_b, n_sub)
    perm = paired_difference([subject_sums[0]], [subject_sums[1]], _mae_value, 1, n_perm,
                             seed)
    # permutation where its null holds: one fitted decoder, exchangeable prediction noise
    groups_train, y_train, x_train = _draw(d, rng, directions)
    base = _decode(d, x_train[0], y_train, groups_train, xs[0], decode)
    jitter = rng.normal(0, 0.3, (2, y.size))
    fixed = [group_sums(stat.item_stats(y, base + j), subjects, n_sub) for j in jitter]
    conditional = paired_difference([fixed[0]], [fixed[1]], _mae_value, 1, n_perm, seed + 1)
    cv = cv_estimate(value_a, np.concatenate(split_values), d.n_folds, y.size, n_sub,
                     (0.0, np.inf))
    # skewed grouped mean with a known truth: E[y²] = sd_subject² + sd_item²
    # subject bootstrap of grouped means with a known truth: a strongly skewed value, y²
    # (E = sd_subject² + sd_item²; across subjects about chi-square(1), skewness ~2.8), and
    # an MAE-like one, |y| (E = sqrt(2 / pi) sd_total; half-normal, skewness ~1)
    sd_total = float(np.hypot(d.sd_subject, d.sd_item))
    boot: dict[str, tuple[float, float, float]] = {}
    for label, value, truth in (("sq", y**2, sd_total**2),
                                ("abs", np.abs(y), sd_total * np.sqrt(2 / np.pi))):
        bca = bootstrap_estimate(value, subjects, n_boot, seed)
        sums = resample_weights(n_sub, n_boot, seed) @ group_sums(
            np.column_stack([np.ones_like(y), value]), subjects, n_sub)
        means = sums[:, 1] / sums[:, 0]
        pct = estimate_from_samples(means[0], means[1:], y.size, n_subjects=n_sub)
        boot[label + ":bca"] = (bca.ci_low, bca.ci_high, truth)
        boot[label + ":pct"] = (pct.ci_low, pct.ci_high, truth)

    def covers(low: float, high: float, truth: float) -> bool:
        return bool(np.isfinite(low) and low <= truth <= high)

    return Outcome(
        reject={TYPE_I[0]: bool(t_test.p < ALPHA), TYPE_I[1]: bool(perm.p < ALPHA),
                TYPE_I[2]: bool(conditional.p < ALPHA)},
        cover={COVERAGE[0]: covers(t_test.ci_low, t_test.ci_high, 0.0),
               COVERAGE[1]: covers(cv.ci_low, cv.ci_high, truth_mae),
               COVERAGE[2]: covers(*boot["sq:bca"]),
               COVERAGE[3]: covers(*boot["sq:pct"]),
               COVERAGE[4]: covers(*boot["abs:bca"]),
               COVERAGE[5]: covers(*boot["abs:pct"])})


def calibrate(d: Design, n_replicates: int, seed: int = 0, n_perm: int = 199,
              n_boot: int = 400, decode: Decoder | None = None
              ) -> dict[str, tuple[float, float]]:
    """Rate and Monte Carlo error of every test's rejections and interval's coverage
    (``decode``: a stage's decoder instead of the design's, see :func:`_decode`)."""
    truth = procedure_truth(d, seed + 7, decode=decode)
    outcomes = [replicate(d, seed * 100_003 + r, truth, n_perm, n_boot, decode)
                for r in range(n_replicates)]
    out = {}
    for name in TYPE_I:
        out[f"type-I: {name}"] = rate_with_error([o.reject[name] for o in outcomes])
    for name in COVERAGE:
        out[f"coverage: {name}"] = rate_with_error([o.cover[name] for o in outcomes])
    return out


def fold_differences(d: Design, seed: int, repeats: int, decode: Decoder | None = None
                     ) -> np.ndarray:
    """``repeats x K`` per-fold MAE differences (A - B) of one null data set, each
    repetition on its own seeded split shared by both models; ``decode`` replaces the
    design's decoder (e.g. the probes' ridge, which this foundation module cannot
    import)."""
    rng = np.random.default_rng(seed)
    directions = _directions(d, np.random.default_rng(seed + 10**6))
    subjects, y, xs = _draw(d, rng, directions)
    out = np.empty((repeats, d.n_folds))
    for r in range(repeats):
        fold = subject_folds(d.n_subjects, d.n_folds, rng)[subjects]
        a, b = (_mae_value(group_sums(mae_statistic().item_stats(
            y, _cv_predictions(d, x, y, subjects, fold, decode)), fold, d.n_folds))
            for x in xs)
        out[r] = a - b  # per-fold MAE, as replicate's split values
    return out


def _needed_factor(d: np.ndarray) -> float:
    """``var(mean d) / E[s²]`` over replicates (rows of ``d``)."""
    return float(d.mean(axis=1).var(ddof=1) / d.var(axis=1, ddof=1).mean())


def _t_rejections(d: np.ndarray, factor: float) -> np.ndarray:
    """Replicates (rows of ``d``) where ``mean / sqrt(factor s²)`` rejects at alpha on
    ``J - 1`` degrees of freedom."""
    j = d.shape[1]
    t = d.mean(axis=1) / np.sqrt(factor * d.var(axis=1, ddof=1))
    return 2 * stdtr(j - 1, -np.abs(t)) < ALPHA


def repeat_study(d: Design, n_replicates: int, repeats: int = 3, seed: int = 0,
                 decode: Decoder | None = None) -> list[dict[str, float]]:
    """Per number of repetitions ``R = 1..repeats``: the variance factor the data need
    (``var(mean d) / E[s²]``), the factors the corrected and the naive t assume, and
    their type-I errors with Monte Carlo errors (see the module docstring); ``decode``
    as in :func:`fold_differences`."""
    diffs = np.array([fold_differences(d, seed * 100_003 + r, repeats, decode)
                      for r in range(n_replicates)])
    rng = np.random.default_rng(seed)
    out = []
    for r in range(1, repeats + 1):
        dr = diffs[:, :r].reshape(n_replicates, -1)
        j = dr.shape[1]
        resampled = [_needed_factor(dr[rng.integers(0, n_replicates, n_replicates)])
                     for _ in range(200)]  # Monte Carlo error: bootstrap of replicates
        row = {"repeats": r, "splits": j, "needed": _needed_factor(dr),
               "mc_needed": float(np.std(resampled, ddof=1)),
               "corrected": 1 / j + 1 / (d.n_folds - 1), "naive": 1 / j}
        for name in ("corrected", "naive"):
            row[f"type_i_{name}"], row[f"mc_{name}"] = rate_with_error(
                _t_rejections(dr, row[name]))
        out.append(row)
    return out
