"""Cross-validation on real windows: folds keep subjects whole, ridge decoders clip to the
training range, the bootstrap resamples subjects, estimability needs enough subjects."""

from __future__ import annotations

import numpy as np
import pytest

from physio_bench import statistics
from physio_bench.downstream import cv


def _check_partition(folds, n):
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(n))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0


def test_group_folds_keep_subjects_whole():
    groups = np.array(["a"] * 5 + ["b"] * 7 + ["c"] * 3 + ["d"] * 4)
    folds = cv.group_folds(groups, n_folds=3)
    _check_partition(folds, groups.size)
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_repeated_group_folds_are_partitions_that_differ_and_repeat_zero_is_round_robin():
    groups = np.repeat([f"s{i:02d}" for i in range(23)], 3)
    splits = cv.repeated_group_folds(groups, 5, 4, seed=7)
    assert len(splits) == 4
    assert [t.tolist() for _, t in splits[0]] == [t.tolist() for _, t in
                                                 cv.group_folds(groups, 5)]
    tests = []
    for folds in splits:
        assert len(folds) == 5
        _check_partition(folds, groups.size)
        for train, test in folds:
            assert not set(groups[train]) & set(groups[test])
            assert np.unique(groups[test]).size in (4, 5)  # subjects dealt evenly
        tests.append({frozenset(groups[t]) for _, t in folds})
    assert all(tests[i] != tests[j] for i in range(4) for j in range(i))
    again = cv.repeated_group_folds(groups, 5, 4, seed=7)
    assert all(np.array_equal(a[1], b[1]) for x, y in zip(splits, again, strict=True)
               for a, b in zip(x, y, strict=True))
    other = cv.repeated_group_folds(groups, 5, 2, seed=8)
    assert {frozenset(groups[t]) for _, t in other[1]} != tests[1]


def test_ridge_path_limits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    y = 2.0 * x[:, 0] - x[:, 2] + 5.0
    x_test = rng.normal(size=(10, 3))
    pred = cv.ridge_path(x, y, x_test, np.array([1e-9, 1e12]))
    np.testing.assert_allclose(pred[0], 2.0 * x_test[:, 0] - x_test[:, 2] + 5.0, atol=1e-6)
    np.testing.assert_allclose(pred[1], y.mean(), atol=1e-6)


def test_fit_layer_does_not_clip_an_extrapolating_decoder():
    """Issue 24: no clipping to the training range; the error shows."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 2))
    y = 60 + 10 * x[:, 0]
    far = np.array([[50.0, 0.0], [-50.0, 0.0]])  # extrapolates to about 560 and -440 bpm
    pred, fit = cv.fit_layer(x, y, far, cv.group_folds(np.arange(40) % 4, 4))
    assert pred[0] > 500 and pred[1] < -380
    assert fit.inner_score < 1.0


def test_mean_predictor_error_uses_the_same_folds():
    groups = np.repeat(np.arange(6), 2).astype(str)
    y = np.arange(12, dtype=float)
    folds = cv.group_folds(groups, 3)
    pred = cv.mean_predictor_predictions(y, folds)
    for train, test in folds:  # every test window gets its fold's training mean
        np.testing.assert_allclose(pred[test], y[train].mean())
    assert cv.mean_predictor_error(y, groups, 3) == pytest.approx(np.abs(y - pred).mean())


def test_cross_validate_picks_the_informative_layer():
    rng = np.random.default_rng(2)
    n = 60
    y = rng.uniform(50, 120, n)
    noise = rng.normal(size=(n, 4))
    signal = np.column_stack([y + rng.normal(0, 0.5, n), rng.normal(size=(n, 3))])
    groups = np.repeat(np.arange(6), 10).astype(str)
    folds = cv.cross_validate(np.stack([noise, signal]), y, groups, n_folds=3, inner_folds=2)
    assert [f.best_layer for f in folds] == [1, 1, 1]
    pred = np.full(n, np.nan)
    for fold in folds:
        assert len(set(groups[fold.test])) == 2
        pred[fold.test] = fold.predictions[1]
    assert cv.mean_absolute_error(y, pred) < 1.5


def test_balanced_accuracy_and_confusion():
    y = np.array([0] * 8 + [1] * 2)
    assert cv.balanced_accuracy(y, np.zeros(10)) == 0.5
    assert cv.balanced_accuracy(y, y) == 1.0
    matrix = cv.confusion(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    # classes 0, 1, 2 present (3 absent): recalls 1/2, 1, 2/3
    assert np.isclose(statistics.balanced_accuracy_from_confusion(matrix), (0.5 + 1 + 2 / 3) / 3)


def test_grouped_bootstrap_resamples_subjects_not_windows():
    rng = np.random.default_rng(3)
    # 8 subjects with very different errors, 50 windows each: windows are not independent.
    groups = np.repeat(np.arange(8), 50).astype(str)
    per_subject = np.repeat(rng.uniform(0, 10, 8), 50)
    y = np.zeros(400)
    pred = per_subject + rng.normal(0, 0.1, 400)
    low, high = cv.metric_interval(y, pred, groups, "mae", 500, seed=5)
    naive = [cv.mean_absolute_error(y[i], pred[i])
             for i in (rng.integers(0, 400, 400) for _ in range(500))]
    naive_width = np.subtract(*np.percentile(naive, [97.5, 2.5]))
    assert low <= cv.mean_absolute_error(y, pred) <= high
    assert high - low > 5 * naive_width
    assert (low, high) == cv.metric_interval(y, pred, groups, "mae", 500, seed=5)
    classes = np.repeat([0, 1], 200)
    low, high = cv.metric_interval(classes, classes, groups, "balanced_accuracy", 100, 1)
    assert low == high == 1.0
    assert cv.stable_seed(7, "task") == cv.stable_seed(7, "task") != cv.stable_seed(7, "other")


def test_estimability_note():
    assert cv.estimability_note(np.array(["a", "b", "a"]), 5) == "not estimable: 2 groups (need 5)"
    assert cv.estimability_note(np.array(list("abcde")), 5) == ""
