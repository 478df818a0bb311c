"""DCI disentanglement and completeness on importance matrices with known answers, and the
sparse importances that make them comparable across embedding sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physio_bench.probes.dci import (
    completeness,
    disentanglement,
    effective_dimension_score,
    sparse_importance,
)


def test_one_code_per_factor_is_fully_disentangled_and_complete() -> None:
    importance = np.zeros((6, 3))
    importance[[4, 0, 2], [0, 1, 2]] = [2.0, 1.0, 0.5]
    assert disentanglement(importance) == pytest.approx(1.0)
    assert completeness(importance) == pytest.approx(1.0)


def test_uniform_importance_scores_zero_disentanglement_and_completeness() -> None:
    importance = np.ones((5, 4))
    assert disentanglement(importance) == pytest.approx(0.0, abs=1e-12)
    # Eastwood-Williams: 1 - H_5 of an even spread over 5 codes = 0
    assert completeness(importance) == pytest.approx(0.0, abs=1e-12)
    # the effective-dimension score: 1 / (5 codes sharing evenly)
    assert effective_dimension_score(importance) == pytest.approx(1 / 5)


def test_one_code_for_all_factors_is_complete_but_entangled() -> None:
    importance = np.zeros((4, 2))
    importance[1] = [1.0, 1.0]
    assert disentanglement(importance) == pytest.approx(0.0, abs=1e-12)
    assert completeness(importance) == pytest.approx(1.0)


def test_factor_spread_over_codes_is_disentangled_but_incomplete() -> None:
    importance = np.zeros((4, 2))
    importance[:2, 0] = 1.0
    importance[2:, 1] = 1.0
    assert disentanglement(importance) == pytest.approx(1.0)
    # Each factor spreads evenly over 2 of 4 codes: 1 - log 2 / log 4 = 0.5 (E&W), and
    # 1 / (effective number 2) = 0.5 for the effective-dimension score.
    assert completeness(importance) == pytest.approx(0.5)
    assert effective_dimension_score(importance) == pytest.approx(0.5)


def test_code_weighting_and_sign_handling() -> None:
    # Code 0 (weight 3/4) is pure, code 1 (weight 1/4) splits evenly: D = 3/4.
    importance = np.array([[-3.0, 0.0], [0.5, 0.5]])
    assert disentanglement(importance) == pytest.approx(0.75)
    assert math.isnan(disentanglement(np.zeros((3, 2))))  # no importance: undefined
    assert math.isnan(disentanglement(np.ones((3, 1))))  # one factor: nothing to separate
    assert completeness(np.zeros((3, 2))) == 0.0


def test_scores_are_invariant_to_code_and_factor_order() -> None:
    rng = np.random.default_rng(0)
    importance = rng.exponential(size=(7, 3))
    shuffled = importance[rng.permutation(7)][:, rng.permutation(3)]
    assert disentanglement(shuffled) == pytest.approx(disentanglement(importance))
    assert completeness(shuffled) == pytest.approx(completeness(importance))


def test_effective_dimension_does_not_depend_on_unused_dimensions() -> None:
    """The same spread: the effective-dimension score is the same at d = 256 and 2,048;
    published completeness (1 - H / log d) is not (0.646 and 0.742), which is why the
    report reads completeness only between models of equal width."""
    rng = np.random.default_rng(3)
    spread = rng.exponential(size=(10, 3))
    small, large = np.zeros((256, 3)), np.zeros((2048, 3))
    small[:10], large[:10] = spread, spread
    assert effective_dimension_score(small) == pytest.approx(effective_dimension_score(large))
    assert completeness(small) < completeness(large)
    assert disentanglement(small) == pytest.approx(disentanglement(large))


def _embedding(y: np.ndarray, d: int, rotate: bool, rng: np.random.Generator) -> np.ndarray:
    ys = (y - y.mean(axis=0)) / y.std(axis=0)
    x = np.hstack([ys + 0.05 * rng.normal(size=ys.shape),
                   rng.normal(size=(len(y), d - y.shape[1]))])
    if rotate:
        q, r = np.linalg.qr(rng.normal(size=(d, d)))
        x = x @ (q * np.sign(np.diag(r)))
    return x


@pytest.mark.parametrize("d", [8, 64, 2048])
def test_sparse_importances_give_the_same_answer_at_every_embedding_size(d: int) -> None:
    """One dimension per factor plus d - 3 noise dimensions: D = C = 1 whatever d (the
    universal threshold leaves the noise dimensions at zero with high probability: at most
    a trace of importance reaches them)."""
    rng = np.random.default_rng(d)
    y = rng.uniform(size=(400, 3))
    importance = sparse_importance(_embedding(y, d, False, rng), y, np.full(3, 0.05))
    assert importance.shape == (d, 3)
    assert importance[3:].sum() < 1e-3 * importance.sum()
    assert (importance[3:] > 0).sum() <= 2
    assert disentanglement(importance) == pytest.approx(1.0, abs=1e-3)
    assert completeness(importance) == pytest.approx(1.0, abs=1e-3)


def test_rotated_oracle_scores_clearly_lower_than_the_oracle() -> None:
    rng = np.random.default_rng(5)
    y = rng.uniform(size=(400, 3))
    scores = {}
    for rotate in (False, True):
        importance = sparse_importance(_embedding(y, 16, rotate, rng), y, np.full(3, 0.05))
        scores[rotate] = (disentanglement(importance), completeness(importance))
    assert scores[True][0] < scores[False][0] - 0.3
    assert scores[True][1] < scores[False][1] - 0.3


def test_dense_ridge_importances_reward_noise_but_sparse_ones_do_not() -> None:
    """The first version's failure: dense importances of pure noise at d = 384 score a
    higher D than an informative, mixed representation. Sparse importances give noise no
    importance at all (D undefined: reported as not estimable)."""
    from physio_bench.probes.ridge import fit_ridge_cv

    rng = np.random.default_rng(7)
    n, d = 300, 384
    y = rng.uniform(size=(n, 3))
    folds = np.arange(n) % 5
    noise = rng.normal(size=(n, d))
    mixed = _embedding(y, d, True, rng)

    def dense(x: np.ndarray) -> np.ndarray:
        fit = fit_ridge_cv(x, (y - y.mean(0)) / y.std(0), folds)
        return np.abs(fit.weights * x.std(axis=0)[:, None])

    assert disentanglement(dense(noise)) > disentanglement(dense(mixed))
    sparse = sparse_importance(noise, y, np.ones(3))
    assert (sparse > 0).sum() <= 3 and sparse.max() < 0.1  # at most a stray dimension
    assert (sparse_importance(mixed, y, np.full(3, 0.05)) > 0).sum() > 20


def test_issue_24_repros_give_the_published_values() -> None:
    """Hand-computed Eastwood & Williams on R = [[1, 1, 0], [0, 0, 1]] (codes x factors).

    Code 0 splits evenly over factors 0 and 1: D_0 = 1 - log 2 / log 3 = 0.36907;
    code 1 is pure: D_1 = 1. Weights 2/3 and 1/3: D = 0.57938.
    """
    r = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    d0 = 1 - math.log(2) / math.log(3)
    assert disentanglement(r) == pytest.approx(2 / 3 * d0 + 1 / 3, abs=1e-12)
    assert disentanglement(r) == pytest.approx(0.5794, abs=1e-4)
    # factor 2 fails the gate: a zero column, the base stays 3, and code 0 keeps its
    # score (the gate-dependent base gave 0.0 here)
    gated = r.copy()
    gated[:, 2] = 0.0
    assert disentanglement(gated) == pytest.approx(d0, abs=1e-12)
    # completeness as published: 1 - H_d over the d = 2 codes; each factor sits in one
    # code (C = 1), a failed factor counts 0
    assert completeness(r) == pytest.approx(1.0)
    assert completeness(gated) == pytest.approx(2 / 3)
    # a factor split 3:1 over 2 codes: 1 - H_2([.75, .25]) = 0.18872
    split = np.array([[3.0], [1.0]])
    h = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert completeness(split) == pytest.approx(1 - h, abs=1e-12)
    assert effective_dimension_score(split) == pytest.approx(math.exp(-h * math.log(2)))
