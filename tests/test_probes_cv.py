"""Grouped nested folds and the sufficient-statistics ridge against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from physio_bench.errors import InputError
from physio_bench.probes.cv import inner_splits, nested_folds
from physio_bench.probes.ridge import ALPHA_GRID, fit_ridge_cv, nested_ridge


def test_folds_keep_subjects_together_and_balance_strata() -> None:
    groups = np.repeat([f"s{i:02d}" for i in range(30)], 3)
    strata = np.repeat(np.arange(30) % 3, 3)
    outer, inner = nested_folds(groups, 5, 3, seed=1, strata=strata)
    for g in np.unique(groups):
        assert len(np.unique(outer[groups == g])) == 1
        assert len(np.unique(inner[groups == g])) == 1
    for k in range(5):
        assert set(strata[outer == k]) == {0, 1, 2}
        assert (outer == k).sum() == 18  # 6 subjects of 3 windows
        splits = inner_splits(outer, inner, k)
        assert len(splits) == 3
        for train, test in splits:
            assert not (train & test).any()
            assert not (outer[train | test] == k).any()
            assert not set(groups[train]) & set(groups[test])
    again = nested_folds(groups, 5, 3, seed=1, strata=strata)
    other = nested_folds(groups, 5, 3, seed=2, strata=strata)
    assert all(np.array_equal(a, b) for a, b in zip((outer, inner), again, strict=True))
    assert not np.array_equal(outer, other[0])


def test_too_few_subjects_is_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"has 3 subjects, fewer than probes\.cv_folds=5"):
        nested_folds(np.array(["a", "b", "c"]), 5, 2, seed=0, what="scenarios suite")


def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 6)) * [1, 10, 0.1, 1, 1, 1] + 3.0
    y = np.column_stack([x[:, 0] - 0.3 * x[:, 1], x[:, 2] * 20]) + rng.normal(size=(120, 2))
    groups = np.repeat(np.arange(40), 3)
    return x, y, groups


def test_nested_ridge_matches_sklearn_pipeline_with_the_chosen_alpha() -> None:
    x, y, groups = _problem()
    noise = np.random.default_rng(9).normal(size=x.shape)
    outer, inner = nested_folds(groups, 4, 2, seed=3)
    result = nested_ridge(lambda layer: [noise, x][layer], 2, y, outer, inner)
    assert result.oof.shape == (2, 120, 2)
    assert result.coef_std.shape == (2, 4, 6, 2)
    assert (result.chosen_layer == 1).all()  # the informative layer wins every inner CV
    np.testing.assert_array_equal(result.oof_best, result.oof[1])
    for k in range(4):
        test = outer == k
        for j in range(2):
            alpha = result.alpha[1, k, j]
            assert np.isclose(alpha / (~test).sum(), ALPHA_GRID).any()
            model = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
            model.fit(x[~test], y[~test, j])
            np.testing.assert_allclose(result.oof[1][test, j], model.predict(x[test]),
                                       rtol=1e-7, atol=1e-7)


def test_alpha_choice_uses_inner_folds_only() -> None:
    x, y, groups = _problem(1)
    outer, inner = nested_folds(groups, 4, 2, seed=3)
    base = nested_ridge(lambda layer: x, 1, y, outer, inner)
    # Changing the targets of fold 0's test windows changes neither fold 0's alpha nor
    # its layer score: test windows take no part in fold 0's selection.
    tampered = y.copy()
    tampered[outer == 0] = np.random.default_rng(2).normal(size=((outer == 0).sum(), 2))
    other = nested_ridge(lambda layer: x, 1, tampered, outer, inner)
    np.testing.assert_array_equal(base.alpha[0, 0], other.alpha[0, 0])
    np.testing.assert_allclose(base.inner_r2[0, 0], other.inner_r2[0, 0])
    assert not np.allclose(base.inner_r2[0, 1], other.inner_r2[0, 1])


def test_fit_ridge_cv_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 5))
    y = x @ np.array([[1.0], [-2.0], [0.0], [0.5], [0.0]]) + 7.0
    folds = np.arange(200) % 4
    fitted = fit_ridge_cv(x, y, folds)
    new = rng.normal(size=(10, 5))
    np.testing.assert_allclose(fitted.predict(new), new @ [[1.0], [-2.0], [0.0], [0.5], [0.0]]
                               + 7.0, atol=1e-3)
    assert fitted.cv_r2[0] > 0.999


def test_dual_and_primal_solvers_agree_when_features_outnumber_items() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(45, 60)) * rng.uniform(0.1, 5, 60) + 2.0
    y = np.column_stack([x[:, :3].sum(axis=1), x[:, 5]]) + 0.3 * rng.normal(size=(45, 2))
    outer, inner = nested_folds(np.arange(45) // 3, 3, 2, seed=0)
    primal = nested_ridge(lambda layer: x, 1, y, outer, inner, solver="primal")
    dual = nested_ridge(lambda layer: x, 1, y, outer, inner, solver="dual")
    auto = nested_ridge(lambda layer: x, 1, y, outer, inner)
    for field in ("oof", "inner_r2", "alpha", "coef_std"):
        np.testing.assert_allclose(getattr(dual, field), getattr(primal, field),
                                   rtol=1e-6, atol=1e-8, err_msg=field)
        np.testing.assert_array_equal(getattr(auto, field), getattr(dual, field))
