"""Bootstrap estimates: the weighted formulas equal resampling rows explicitly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, r2_score, silhouette_score

from physio_bench.probes.scenario_separation import weighted_silhouette
from physio_bench.probes.stats import (
    bc_interval,
    bootstrap_counts,
    classification_estimates,
    correlation_matrices,
    derive_seed,
    estimate_from_samples,
    group_index,
    mean_abs_off_diagonal,
    r2_estimates,
    weighted_mean_estimate,
)


def _data(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, 2)) * [1.0, 5.0]
    pred = y + rng.normal(scale=0.7, size=(n, 2))
    groups = np.repeat(np.arange(n // 3), 3)
    return y, pred, groups


def _expanded(groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row indices of an explicit resample that draws group g counts[g] times."""
    index, _ = group_index(groups)
    return np.concatenate([np.repeat(np.flatnonzero(index == g), int(c))
                           for g, c in enumerate(counts)])


def test_r2_point_estimates_match_sklearn() -> None:
    y, pred, groups = _data()
    per_target = r2_estimates(y, pred, groups, n_boot=50, seed=1)
    for j in range(2):
        assert per_target[j].value == pytest.approx(r2_score(y[:, j], pred[:, j]))
        assert per_target[j].n == len(y)
    pooled = r2_estimates(y, pred, groups, n_boot=50, seed=1, pooled=True)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum()
    assert pooled.value == pytest.approx(1 - ((y - pred) ** 2).sum() / ss_tot)


def test_bootstrap_samples_equal_explicit_group_resamples() -> None:
    y, pred, groups = _data()
    seed = 7
    estimate = r2_estimates(y, pred, groups, n_boot=5, seed=seed)[1]
    counts = bootstrap_counts(len(np.unique(groups)), 5, seed)
    for b in range(5):
        rows = _expanded(groups, counts[b])
        assert estimate.samples[b] == pytest.approx(r2_score(y[rows, 1], pred[rows, 1]))


def test_classification_estimates_match_sklearn_on_resamples() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=120)
    pred = np.where(rng.uniform(size=120) < 0.6, y, rng.integers(0, 4, size=120))
    groups = np.repeat(np.arange(40), 3)
    out = classification_estimates(y, pred, 4, groups, n_boot=4, seed=11)
    assert out["balanced_accuracy"].value == pytest.approx(balanced_accuracy_score(y, pred))
    assert out["macro_f1"].value == pytest.approx(f1_score(y, pred, average="macro"))
    counts = bootstrap_counts(40, 4, 11)
    for b in range(4):
        rows = _expanded(groups, counts[b])
        assert out["balanced_accuracy"].samples[b] == pytest.approx(
            balanced_accuracy_score(y[rows], pred[rows]))
        assert out["macro_f1"].samples[b] == pytest.approx(
            f1_score(y[rows], pred[rows], average="macro"))


def test_correlation_matrices_match_numpy_and_guard_constant_columns() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 3))
    x[:, 2] += x[:, 0]
    corr = correlation_matrices(x, np.arange(50), n_boot=3, seed=0)
    assert corr.shape == (4, 3, 3)
    np.testing.assert_allclose(corr[0], np.corrcoef(x.T), atol=1e-12)
    with_constant = np.column_stack([x[:, 0], np.full(50, 2.0)])
    flat = correlation_matrices(with_constant, np.arange(50), n_boot=3, seed=0)
    assert np.isfinite(flat).all()
    assert flat[0, 0, 1] == 0.0 and flat[0, 1, 1] == 1.0
    assert mean_abs_off_diagonal(np.array([[1.0, -0.4], [0.2, 1.0]])) == pytest.approx(0.3)


def test_weighted_silhouette_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 10)
    x = rng.normal(size=(30, 4)) + 2.0 * y[:, None]
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(axis=2))
    keep = rng.uniform(size=30) < 0.7
    weights = np.vstack([np.ones(30), keep.astype(float)])
    values = weighted_silhouette(d, y, weights, 3)
    assert values[0] == pytest.approx(silhouette_score(d, y, metric="precomputed"))
    assert values[1] == pytest.approx(
        silhouette_score(d[keep][:, keep], y[keep], metric="precomputed"))


def test_weighted_silhouette_leaves_same_subject_pairs_out() -> None:
    """Brute force: every mean distance skips pairs of the same subject."""
    rng = np.random.default_rng(5)
    y = np.tile(np.arange(3), 6)             # 6 subjects, each in all 3 classes
    subjects = np.repeat(np.arange(6), 3)
    x = rng.normal(size=(18, 4)) + 3.0 * subjects[:, None]  # subject identity dominates
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(axis=2))
    expected = []
    for i in range(18):
        other = subjects != subjects[i]
        a = d[i, other & (y == y[i])].mean()
        b = min(d[i, other & (y == c)].mean() for c in range(3) if c != y[i])
        expected.append((b - a) / max(a, b))
    value = weighted_silhouette(d, y, np.ones((1, 18)), 3, subjects)[0]
    assert value == pytest.approx(np.mean(expected))
    # Without the subject mask, subject identity pulls other classes close: negative.
    assert weighted_silhouette(d, y, np.ones((1, 18)), 3)[0] < value - 0.1


def test_intervals_contain_estimates_and_are_seeded() -> None:
    y, pred, groups = _data(seed=4)
    first = r2_estimates(y, pred, groups, n_boot=200, seed=derive_seed(1, "a"))
    again = r2_estimates(y, pred, groups, n_boot=200, seed=derive_seed(1, "a"))
    other = r2_estimates(y, pred, groups, n_boot=200, seed=derive_seed(1, "b"))
    for e in first:
        # The raw bias-corrected interval (before any widening) holds the estimate here.
        low, high = bc_interval(e.value, e.samples)
        assert low <= e.value <= high and low < high
    assert [e.to_dict() for e in first] == [e.to_dict() for e in again]
    assert first[0].to_dict() != other[0].to_dict()
    assert derive_seed(1, "a") == derive_seed(1, "a") != derive_seed(2, "a")


def test_bootstrap_that_cannot_form_an_interval_says_so() -> None:
    """Issue 24: an estimate outside its resamples is no longer re-centred: NaN + note."""
    rng = np.random.default_rng(0)
    samples = np.abs(rng.normal(0.01, 0.01, size=500)) + 0.005  # all above the estimate
    estimate = estimate_from_samples(0.002, samples, 10, bounds=(0.0, 2.0))
    assert np.isnan(estimate.ci_low) and np.isnan(estimate.ci_high)
    assert estimate.value == 0.002 and "z0" in estimate.note
    # the repro: 5.0 against N(0, 1) resamples used to give [3.17, 6.90]
    far = estimate_from_samples(5.0, rng.normal(size=1000), 10)
    assert np.isnan(far.ci_low) and "no interval" in far.note
    # a mildly biased one still gets an interval, which need not hold the estimate
    near = estimate_from_samples(0.3, rng.normal(size=1000), 10)
    assert np.isfinite(near.ci_low) and near.method == "subject_bootstrap_percentile"


def test_weighted_mean_and_nan_guard() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    estimate = weighted_mean_estimate(values, np.array([0, 0, 1, 1]), n_boot=100, seed=0,
                                      min_groups=2)
    assert estimate.value == pytest.approx(2.5)
    # two subjects give 3 distinct resample means: too few for an interval (issue 24)
    assert np.isnan(estimate.ci_low) and "distinct bootstrap values" in estimate.note
    two_groups = weighted_mean_estimate(values, np.array([0, 0, 1, 1]), n_boot=100, seed=0)
    assert not two_groups.finite and two_groups.note == "not estimable: 2 groups (need 5)"
    constant = r2_estimates(np.ones(6), np.zeros(6), np.arange(6), n_boot=20, seed=0)[0]
    assert not constant.finite
