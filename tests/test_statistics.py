"""physio_bench.statistics: interval coverage on data with a known answer, the corrected t
interval, estimability, paired differences and permutation p-values, Holm, and the
entanglement statistic's known answers."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import r2_score

from physio_bench.config import REPO_ROOT
from physio_bench.probes.stats import fold_mean_estimate, mean_estimate, r2_estimates
from physio_bench.statistics import (
    corrected_t_interval,
    entanglement_statistic,
    estimability_note,
    group_index,
    group_sums,
    holm,
    mae_statistic,
    paired_difference,
)


def _coverage_module():
    spec = importlib.util.spec_from_file_location(
        "coverage_benchmark", REPO_ROOT / "benchmarks" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_intervals_cover_the_known_truth_where_the_old_ones_did_not() -> None:
    """60 replicate data sets (40 subjects x 3 items, 12 features; the benchmark script
    runs the larger case): the corrected t intervals cover the expected R² of the procedure
    in 88-99% of the replicates, the old bootstraps at fixed decoders do not."""
    bench = _coverage_module()
    result = bench.coverage(bench.Design(n_subjects=40, items=3, dim=12), n_replicates=60,
                            n_truth=100, n_boot=300)
    for method in ("cv_corrected_t", "cv_corrected_t_training"):
        assert 0.88 <= result[method]["coverage"] <= 0.99, (method, result)
    for old in ("subject_bootstrap", "fold_bootstrap"):
        assert result[old]["coverage"] < 0.88, (old, result)


def test_corrected_t_interval_known_answer() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # sample variance 2.5
    low, high, se, df = corrected_t_interval(3.0, values, n_folds=5)
    assert se == pytest.approx(math.sqrt((1 / 5 + 1 / 4) * 2.5))
    assert df == 4
    half = scipy_stats.t.ppf(0.975, 4) * se
    assert (low, high) == (pytest.approx(3.0 - half), pytest.approx(3.0 + half))
    # training-fold statistics: overlap (K-2)/(K-1), term K-2 instead of 1/(K-1)
    _, _, se_train, _ = corrected_t_interval(3.0, values, n_folds=5, on="train")
    assert se_train == pytest.approx(math.sqrt((1 / 5 + 3) * 2.5))
    assert math.isnan(corrected_t_interval(3.0, values[:1], 5)[0])


def test_cross_validated_r2_uses_the_folds() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=100)
    pred = y + rng.normal(scale=0.8, size=100)
    groups = np.repeat(np.arange(25), 4)
    folds = groups % 5
    e = r2_estimates(y, pred, groups, 100, 0, folds=folds)[0]
    assert e.method == "cv_corrected_t" and e.n_subjects == 25 and e.n == 100
    assert e.value == pytest.approx(r2_score(y, pred))
    expected = [r2_score(y[folds == k], pred[folds == k]) for k in range(5)]
    np.testing.assert_allclose(e.split_values, expected)
    assert e.ci_low < e.value < e.ci_high
    # a mean over two targets resampled on the same folds averages the fold values
    both = r2_estimates(np.column_stack([y, y]), np.column_stack([pred, y]), groups, 100, 0,
                        folds=folds)
    mean = mean_estimate(both)
    np.testing.assert_allclose(mean.split_values, (np.asarray(expected) + 1.0) / 2)
    assert mean.value == pytest.approx((e.value + 1.0) / 2)


def test_estimability_rule() -> None:
    assert estimability_note(5) == ""
    assert estimability_note(3) == "not estimable: 3 groups (need 5)"
    assert estimability_note(3, min_groups=2) == ""
    e = r2_estimates(np.arange(8.0), np.arange(8.0) + 1, np.repeat([0, 1, 2, 3], 2), 50, 0,
                     folds=np.arange(8) % 2)[0]
    assert math.isnan(e.value) and e.note == "not estimable: 4 groups (need 5)"
    dci = fold_mean_estimate(np.full(5, 0.4), 10, n_subjects=3)
    assert math.isnan(dci.value) and dci.note.startswith("not estimable")


def _mae_sums(y: np.ndarray, pred: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    index, n = group_index(subjects)
    return group_sums(mae_statistic().item_stats(y, pred), index, n)


def _mae_value(sums: np.ndarray) -> np.ndarray:
    return mae_statistic().from_sums(sums)[..., 0]


def test_identical_models_differ_by_zero_with_p_one() -> None:
    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(30), 4)
    y = rng.normal(size=120)
    pred = y + rng.normal(size=120)
    sums = _mae_sums(y, pred, subjects)
    result = paired_difference([sums], [sums.copy()], _mae_value, 500, 500, seed=3)
    assert result.difference == 0.0 and result.ci_low == 0.0 and result.ci_high == 0.0
    assert result.p == 1.0
    assert result.n_subjects == 30


def test_a_clearly_better_model_has_an_interval_excluding_zero_and_a_small_p() -> None:
    rng = np.random.default_rng(2)
    subjects = np.repeat(np.arange(30), 4)
    y = rng.normal(size=120)
    good = _mae_sums(y, y + 0.3 * rng.normal(size=120), subjects)
    bad = [_mae_sums(y, y + rng.normal(size=120), subjects) for _ in range(3)]  # three seeds
    result = paired_difference([good], bad, _mae_value, 1000, 1000, seed=4)
    assert result.difference == pytest.approx(result.value_a - result.value_b)
    assert result.value_b == pytest.approx(np.mean([_mae_value(b.sum(axis=0)) for b in bad]))
    assert result.ci_high < 0 and result.p < 0.01
    again = paired_difference([good], bad, _mae_value, 1000, 1000, seed=4)
    assert (again.ci_low, again.p) == (result.ci_low, result.p)


def test_permutation_p_values_are_calibrated_under_the_null() -> None:
    """Two equally good models: about 5% of 200 data sets give p < 0.05."""
    rng = np.random.default_rng(5)
    subjects = np.repeat(np.arange(20), 3)
    small = []
    for k in range(200):
        y = rng.normal(size=60)
        a = _mae_sums(y, y + rng.normal(size=60), subjects)
        b = _mae_sums(y, y + rng.normal(size=60), subjects)
        small.append(paired_difference([a], [b], _mae_value, 10, 199, seed=k).p < 0.05)
    assert 0.01 <= np.mean(small) <= 0.10


def test_holm_known_vector() -> None:
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[4])
    assert holm(np.array([0.5, 0.6]))[1] == pytest.approx(1.0)  # capped at 1


def _entanglement(y: np.ndarray, pred: np.ndarray, decoded: np.ndarray | None = None) -> float:
    stat = entanglement_statistic(y.shape[1], decoded)
    return float(stat.from_sums(stat.item_stats(y, pred).sum(axis=0))[0])


def test_entanglement_known_answers() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(size=(2000, 2))
    oracle = y + 0.05 * rng.normal(size=y.shape)
    entangled = np.column_stack([y[:, 0] + 0.7 * y[:, 1], y[:, 1]])
    assert _entanglement(y, oracle) < 0.01
    # decoded A = A + 0.7 B leaks 0.49 / 1.49 of its mixing; B is clean; mean over both
    assert _entanglement(y, entangled) == pytest.approx(0.49 / 1.49 / 2, abs=0.02)
    assert _entanglement(y, entangled, np.array([True, False])) == pytest.approx(
        0.49 / 1.49, abs=0.03)
    noise = rng.normal(size=y.shape)
    assert math.isnan(_entanglement(y, noise, np.array([False, False])))


def test_skill_statistic_is_against_a_zero_baseline() -> None:
    """tracking_within_r2 predictions are deviations from a baseline: skill = 1 - SSE/Σy²,
    which differs from R² when the deviations do not average to zero."""
    from physio_bench.statistics import skill_statistic

    y = np.array([[1.0], [2.0], [3.0]])
    p = np.array([[1.5], [2.0], [2.0]])
    stat = skill_statistic(1)
    value = stat.from_sums(stat.item_stats(y, p).sum(axis=0))
    assert value.shape == (1,) and value[0] == pytest.approx(1 - 1.25 / 14)
    assert np.isnan(stat.from_sums(stat.item_stats(np.zeros((2, 1)), p[:2]).sum(axis=0)))[0]


def test_corrected_paired_t_matches_its_formula_and_scipy() -> None:
    """Nadeau-Bengio / Bouckaert-Frank: t = mean(d) / sqrt((1/J + 1/(K-1)) s²), J-1 df;
    with the correction removed it is scipy's one-sample t-test."""
    from scipy import stats as st

    from physio_bench.statistics import corrected_paired_t

    d = np.array([0.12, 0.05, -0.02, 0.09, 0.15, 0.01, 0.07, 0.04, 0.11, -0.03])
    mean, low, high, p, df = corrected_paired_t(d, n_folds=5)
    se = np.sqrt((1 / 10 + 1 / 4) * d.var(ddof=1))
    assert df == 9 and mean == pytest.approx(d.mean())
    assert p == pytest.approx(2 * st.t.sf(abs(d.mean()) / se, 9))
    assert (high - low) / 2 == pytest.approx(st.t.ppf(0.975, 9) * se)
    naive = st.ttest_1samp(d, 0.0).pvalue
    assert p > naive  # the correction widens: fewer false positives
    # a difference of exactly zero everywhere is no evidence at all
    assert corrected_paired_t(np.zeros(5), 5)[3] == 1.0
    assert np.isnan(corrected_paired_t(np.array([0.1]), 5)[3])
