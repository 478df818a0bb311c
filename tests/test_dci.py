"""DCI disentanglement and completeness on importance matrices with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from physio_bench.probes.dci import completeness, disentanglement


def test_one_code_per_factor_is_fully_disentangled_and_complete() -> None:
    importance = np.zeros((6, 3))
    importance[[4, 0, 2], [0, 1, 2]] = [2.0, 1.0, 0.5]
    assert disentanglement(importance) == pytest.approx(1.0)
    assert completeness(importance) == pytest.approx(1.0)


def test_uniform_importance_scores_zero() -> None:
    importance = np.ones((5, 4))
    assert disentanglement(importance) == pytest.approx(0.0, abs=1e-12)
    assert completeness(importance) == pytest.approx(0.0, abs=1e-12)


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
    # Each factor spreads evenly over 2 of 4 codes: 1 - log(2) / log(4) = 0.5.
    assert completeness(importance) == pytest.approx(0.5)


def test_code_weighting_and_sign_handling() -> None:
    # Code 0 (weight 3/4) is pure, code 1 (weight 1/4) splits evenly: D = 3/4.
    importance = np.array([[-3.0, 0.0], [0.5, 0.5]])
    assert disentanglement(importance) == pytest.approx(0.75)
    assert disentanglement(np.zeros((3, 2))) == 0.0
    assert completeness(np.zeros((3, 2))) == 0.0


def test_scores_are_invariant_to_code_and_factor_order() -> None:
    rng = np.random.default_rng(0)
    importance = rng.exponential(size=(7, 3))
    shuffled = importance[rng.permutation(7)][:, rng.permutation(3)]
    assert disentanglement(shuffled) == pytest.approx(disentanglement(importance))
    assert completeness(shuffled) == pytest.approx(completeness(importance))
