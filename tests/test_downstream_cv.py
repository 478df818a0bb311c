"""Cross-validation on real windows: folds never split neighbours, decoders, CIs."""

from __future__ import annotations

import numpy as np
import pytest

from physio_bench.downstream import cv


def _check_partition(folds, n):
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(n))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0


@pytest.mark.parametrize("n_folds", [2, 3, 5])
def test_block_folds_leave_a_window_between_train_and_test(n_folds):
    window_s = 8.192
    rng = np.random.default_rng(0)
    # 40 windows of one record, a few dropped (gaps in time), given in shuffled order.
    starts = np.delete(np.arange(43) * window_s, [5, 17, 30])
    order = rng.permutation(starts.size)
    times = starts[order]
    folds = cv.block_folds(times, n_folds)
    assert len(folds) == n_folds
    _check_partition(folds, times.size)
    for train, test in folds:
        gaps = np.abs(times[train][:, None] - times[test][None, :])
        assert gaps.min() > 1.5 * window_s  # never adjacent windows across train/test
        # Each test set is one contiguous run of the record's windows.
        rank = np.argsort(np.argsort(times))
        assert np.ptp(rank[test]) == test.size - 1


def test_group_folds_keep_records_whole():
    groups = np.array(["a"] * 5 + ["b"] * 7 + ["c"] * 3 + ["d"] * 4)
    folds = cv.group_folds(groups, n_folds=3)
    _check_partition(folds, groups.size)
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_make_folds_picks_the_scheme():
    times = np.arange(20.0)
    _, scheme = cv.make_folds(np.array(["r1"] * 20), times, 4)
    assert scheme == "contiguous_blocks"
    folds, scheme = cv.make_folds(np.array(["r1"] * 10 + ["r2"] * 10), times, 4)
    assert scheme == "grouped_by_record" and len(folds) == 2


def test_ridge_path_limits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    y = 2.0 * x[:, 0] - x[:, 2] + 5.0
    x_test = rng.normal(size=(10, 3))
    pred = cv.ridge_path(x, y, x_test, np.array([1e-9, 1e12]))
    np.testing.assert_allclose(pred[0], 2.0 * x_test[:, 0] - x_test[:, 2] + 5.0, atol=1e-6)
    np.testing.assert_allclose(pred[1], y.mean(), atol=1e-6)


def test_cross_validate_picks_the_informative_layer():
    rng = np.random.default_rng(2)
    n = 60
    y = rng.uniform(50, 120, n)
    noise = rng.normal(size=(n, 4))
    signal = np.column_stack([y + rng.normal(0, 0.5, n), rng.normal(size=(n, 3))])
    layers = np.stack([noise, signal])
    folds, scheme = cv.cross_validate(layers, y, np.array(["r"] * n), np.arange(n) * 8.0,
                                      "mae", n_folds=3, inner_folds=2)
    assert scheme == "contiguous_blocks"
    assert [f.best_layer for f in folds] == [1, 1, 1]
    pred = np.full(n, np.nan)
    for fold in folds:
        pred[fold.test] = fold.predictions[1]
    tested = np.isfinite(pred)
    assert cv.mean_absolute_error(y[tested], pred[tested]) < 1.5


def test_balanced_accuracy_and_bootstrap():
    y = np.array([0] * 8 + [1] * 2)
    assert cv.balanced_accuracy(y, np.zeros(10)) == 0.5
    assert cv.balanced_accuracy(y, y) == 1.0
    pred = y.astype(float) + np.linspace(-1, 1, 10)
    records = np.repeat(["a", "b", "c", "d", "e"], 2)
    e = cv.metric_estimate(y, pred, "mae", records, None, 200, seed=3)
    assert e.ci_low <= cv.mean_absolute_error(y, pred) == e.value <= e.ci_high
    again = cv.metric_estimate(y, pred, "mae", records, None, 200, seed=3)
    assert (e.ci_low, e.ci_high) == (again.ci_low, again.ci_high)
    assert e.n_subjects == 5 and e.method == "subject_bootstrap"
    folds = np.arange(10) % 5
    crossed = cv.metric_estimate(y, pred, "mae", records, folds, 200, seed=3)
    assert crossed.method == "cv_corrected_t" and crossed.ci_low <= e.value <= crossed.ci_high
    few = cv.metric_estimate(y[:8], pred[:8], "mae", records[:8], None, 200, seed=3)
    assert np.isnan(few.value) and few.note == "not estimable: 4 groups (need 5)"
    ba = cv.metric_estimate(y, (pred > 0.5).astype(int), "balanced_accuracy", records, None,
                            100, seed=1)
    assert ba.value == cv.balanced_accuracy(y, (pred > 0.5).astype(int))
    assert cv.stable_seed(7, "task") == cv.stable_seed(7, "task") != cv.stable_seed(7, "other")
