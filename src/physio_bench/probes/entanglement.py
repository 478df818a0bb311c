"""Entanglement of decoded factors, from held-out predictions, as an excess over a null.

Inputs: the true factors ``Y`` (windows x F, drawn independently in the ``factors`` suite)
and their out-of-fold linear decodings ``P`` (windows x F). Both are centred within each
outer fold (so the folds' separate decoder intercepts add nothing) and ``Y`` is scaled to
unit variance per factor.

- **Mixing matrix** ``M`` (F x F): least squares of ``P`` on ``Y`` (``P ~ Y M``); column
  ``j`` says from which true factors decoded factor ``j`` is made.
- **Leakage** of decoded factor ``j``: ``L_j = sum_{i != j} M_ij² / sum_i M_ij²``, the share
  of its linearly explained content that comes from the other factors (0: pure, 1: only
  other factors). Scale-free in ``P``, so the shrinkage of a ridge decoder does not matter.
- **Null**: ``L_j`` after permuting the rows of the *other* true factors (jointly) while
  ``Y_j`` and ``P_j`` stay paired, averaged over :data:`N_PERMUTATIONS` permutations. It
  keeps the factor's own decodability (``M_jj``) and the decoding noise, and removes any
  real dependence on the other factors: it is the leakage that estimation noise alone
  produces at this decodability and sample size. Permuting all factors jointly would
  destroy ``M_jj`` too (its null would sit near ``(F-1)/F`` whatever the model). Rows
  are permuted individually because every window of the ``factors`` suite draws its
  factors independently (windows sharing a subject do not share factor values).
- **Entanglement** of a signal kind: the mean of ``L_j - null_j`` over the *reliably
  decoded* factors (below); 0 when decoding mixes no more than chance, about 0.33 for a
  decoder whose output is ``A + 0.7 B``. Not estimable when no factor of the kind is
  reliably decoded (a representation that encodes nothing has no mixing to measure).
- **Residual correlation**: mean |correlation| between the residuals ``P - Y M`` of pairs
  of reliably decoded factors: decoding errors that move together (e.g. from shared
  features), reported separately because it is not mixing of the true factors. Chance
  level ``sqrt(2 / (pi n))`` (mean |r| of independent errors over ``n`` windows).

Reliably decoded (:func:`reliable_factors`): cross-validated R² of at least
:data:`RELIABLE_R2` and the lower end of its 95% interval above 0.

Intervals resample subjects (grouped bootstrap) with the null held fixed; every resample
is evaluated from count-weighted group sums (no loop over resamples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from physio_bench.probes.stats import (
    Estimate,
    bootstrap_counts,
    estimate_from_samples,
    group_index,
)

#: a factor is reliably decoded when its held-out R² is at least this and its CI excludes 0
RELIABLE_R2 = 0.1
N_PERMUTATIONS = 200


def reliable_factors(r2: list[Estimate], threshold: float = RELIABLE_R2) -> np.ndarray:
    """Boolean per factor: R² >= ``threshold`` and the lower end of its interval > 0."""
    return np.array([bool(np.isfinite(e.value) and e.value >= threshold
                          and np.isfinite(e.ci_low) and e.ci_low > 0) for e in r2], dtype=bool)


def reliability_rule(threshold: float = RELIABLE_R2) -> str:
    return (f"held-out R² >= {threshold:g} and the lower end of its 95% interval above 0")


def centre_by_fold(values: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """``values`` (items x k) minus the mean of their outer fold."""
    out = np.asarray(values, dtype=float).copy()
    for k in np.unique(folds):
        out[folds == k] -= out[folds == k].mean(axis=0)
    return out


def leakage(mixing: np.ndarray) -> np.ndarray:
    """``L_j`` per column of ``... x F x F`` mixing matrices (NaN for an all-zero column)."""
    sq = np.asarray(mixing, dtype=float) ** 2
    total = sq.sum(axis=-2)
    own = np.diagonal(sq, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (total - own) / np.where(total > 0, total, 1.0), np.nan)


def mixing_matrix(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Least-squares ``M`` with ``pred ~ y M`` (both centred; F x F)."""
    return np.linalg.lstsq(y, pred, rcond=None)[0]


def null_leakage(y: np.ndarray, pred: np.ndarray, n_permutations: int, seed: int
                 ) -> np.ndarray:
    """Mean leakage of each decoded factor with the other true factors' rows permuted."""
    n, f = y.shape
    rng = np.random.default_rng(seed)
    out = np.zeros(f)
    if f < 2:
        return out
    for _ in range(n_permutations):
        shuffled = y[rng.permutation(n)]
        for j in range(f):
            design = shuffled.copy()
            design[:, j] = y[:, j]
            column = np.linalg.lstsq(design, pred[:, j], rcond=None)[0]
            sq = column**2
            out[j] += (sq.sum() - sq[j]) / sq.sum() if sq.sum() > 0 else np.nan
    return out / n_permutations


@dataclass
class Entanglement:
    """Entanglement of one signal kind (see the module docstring)."""

    reliable: np.ndarray            # F, bool
    mixing: np.ndarray              # F x F (rows true, columns decoded)
    leakage: np.ndarray             # F
    null: np.ndarray                # F
    residual_corr: np.ndarray       # F x F (NaN outside reliable factors)
    excess: Estimate | None = None
    residual: Estimate | None = None
    residual_chance: float = float("nan")
    note: str = ""
    residual_note: str = ""

    def to_dict(self, factors: list[str]) -> dict[str, Any]:
        return {
            "factors": factors, "reliable": [factors[j] for j in np.flatnonzero(self.reliable)],
            "reliability_rule": reliability_rule(), "mixing_matrix": self.mixing,
            "leakage": self.leakage, "null_leakage": self.null,
            "excess_leakage": self.leakage - self.null, "residual_correlation": self.residual_corr,
            "entanglement": None if self.excess is None else self.excess.to_dict(),
            "residual_correlation_mean": None if self.residual is None else self.residual.to_dict(),
            "residual_correlation_chance": self.residual_chance,
            "note": self.note, "residual_note": self.residual_note,
            "n_permutations": N_PERMUTATIONS,
        }


def _resampled_moments(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, n_boot: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred covariances yy, yp, pp (each (1 + n_boot) x F x F) of the full sample (row 0)
    and of grouped bootstrap resamples."""
    n, f = y.shape
    index, n_groups = group_index(groups)
    outer = lambda a, b: (a[:, :, None] * b[:, None, :]).reshape(n, f * f)  # noqa: E731
    stats = np.hstack([np.ones((n, 1)), y, pred, outer(y, y), outer(y, pred), outer(pred, pred)])
    group_sums = np.zeros((n_groups, stats.shape[1]))
    np.add.at(group_sums, index, stats)
    weights = np.vstack([np.ones((1, n_groups)), bootstrap_counts(n_groups, n_boot, seed)])
    sums = weights @ group_sums
    count = sums[:, :1]
    mean_y, mean_p = sums[:, 1:1 + f] / count, sums[:, 1 + f:1 + 2 * f] / count
    blocks = sums[:, 1 + 2 * f:].reshape(-1, 3, f, f) / count[:, :, None, None]
    cyy = blocks[:, 0] - mean_y[:, :, None] * mean_y[:, None, :]
    cyp = blocks[:, 1] - mean_y[:, :, None] * mean_p[:, None, :]
    cpp = blocks[:, 2] - mean_p[:, :, None] * mean_p[:, None, :]
    return cyy, cyp, cpp


def _residual_correlations(cyy: np.ndarray, cyp: np.ndarray, cpp: np.ndarray,
                           mixing: np.ndarray) -> np.ndarray:
    """Correlation matrices of the residuals ``P - Y M`` (... x F x F)."""
    cov = cpp - np.swapaxes(cyp, -1, -2) @ mixing
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0.0, None))
    scale = sd[..., :, None] * sd[..., None, :]
    return np.divide(cov, scale, out=np.zeros_like(cov), where=scale > 1e-300)


def entanglement(y: np.ndarray, pred: np.ndarray, folds: np.ndarray, groups: np.ndarray,
                 reliable: np.ndarray, n_boot: int, seed: int) -> Entanglement:
    """Entanglement and residual correlation of one kind's held-out predictions.

    Args:
        y, pred: windows x F true factors and their out-of-fold decodings.
        folds: outer fold of each window; groups: subject of each window.
        reliable: F booleans (:func:`reliable_factors`).
    """
    y = centre_by_fold(y, folds)
    y = y / np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
    pred = centre_by_fold(pred, folds)
    f = y.shape[1]
    cyy, cyp, cpp = _resampled_moments(y, pred, groups, n_boot, seed)
    cyy = cyy + 1e-12 * np.eye(f)
    mixing = np.linalg.solve(cyy, cyp)
    leak = leakage(mixing)
    null = null_leakage(y, pred, N_PERMUTATIONS, seed + 1)
    resid = _residual_correlations(cyy, cyp, cpp, mixing)
    mask = np.outer(reliable, reliable) & ~np.eye(f, dtype=bool)
    shown = np.where(np.outer(reliable, reliable), resid[0], np.nan)
    result = Entanglement(reliable, mixing[0], leak[0], null, shown)
    n_subjects = group_index(groups)[1]
    if f < 2:
        result.note = "not estimable: one factor (nothing to be entangled with)"
    elif not reliable.any():
        result.note = f"not estimable: no factor reliably decoded ({reliability_rule()})"
    else:
        excess = (leak[:, reliable] - null[reliable]).mean(axis=1)
        result.excess = estimate_from_samples(excess[0], excess[1:], len(y), (-1.0, 1.0),
                                              n_subjects=n_subjects)
    if reliable.sum() < 2:
        result.residual_note = "not estimable: fewer than 2 reliably decoded factors"
    else:
        values = np.abs(resid[:, mask]).mean(axis=1)
        result.residual = estimate_from_samples(values[0], values[1:], len(y), (0.0, 1.0),
                                                n_subjects=n_subjects)
    result.residual_chance = float(np.sqrt(2.0 / (np.pi * max(len(y), 1))))
    return result


def entanglement_point(y: np.ndarray, pred: np.ndarray, reliable: np.ndarray,
                       seed: int = 0, n_permutations: int = N_PERMUTATIONS) -> float:
    """Entanglement (mean excess leakage over the reliable factors) of predictions that
    are already centred within their folds (as in the ``entanglement`` rows of the
    prediction tables); NaN when no factor is reliable or there is one factor. For paired
    comparisons that resample subjects themselves."""
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    reliable = np.asarray(reliable, dtype=bool)
    if y.shape[1] < 2 or not reliable.any():
        return float("nan")
    y = y - y.mean(axis=0)
    y = y / np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
    pred = pred - pred.mean(axis=0)
    leak = leakage(mixing_matrix(y, pred))
    null = null_leakage(y, pred, n_permutations, seed)
    return float((leak[reliable] - null[reliable]).mean())
