"""DCI disentanglement and completeness (Eastwood & Williams, ICLR 2018).

The importance matrix ``R`` (codes x factors) holds the absolute *standardised*
coefficients of the linear decoders: ``|w_ij|`` of the ridge regression of factor ``j``
(standardised to unit variance) on embedding dimension ``i`` (standardised by the
pipeline's scaler). It is non-negative and comparable across factors and dimensions.

- Disentanglement of code ``i``: ``D_i = 1 - H_K(P_i.)`` with ``P_ij = R_ij / sum_k R_ik``
  and ``H_K`` the entropy in base ``K`` (number of factors); the total is the average of
  ``D_i`` weighted by each code's share of all importance, ``rho_i = sum_j R_ij / sum R``.
- Completeness of factor ``j``: ``C_j = 1 - H_D(P~_.j)`` with ``P~_ij = R_ij / sum_k R_kj``
  and ``H_D`` the entropy in base ``D`` (number of codes); the total is the mean over factors.
- Informativeness: the paper uses the decoders' prediction error; this benchmark reports the
  mean cross-validated R² of the factors (higher is better), see ``feature_independence``.

With a single factor, disentanglement is 1 by definition (entropy over one outcome is 0).
"""

from __future__ import annotations

import numpy as np


def _entropy(p: np.ndarray, base: int, axis: int) -> np.ndarray:
    """Shannon entropy of the distributions along ``axis`` in the given ``base``."""
    if base < 2:
        return np.zeros(np.delete(p.shape, axis))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=axis) / np.log(base)


def disentanglement(importance: np.ndarray) -> float:
    """Importance-weighted mean code disentanglement in [0, 1]; 0 if all importance is 0."""
    r = np.abs(np.asarray(importance, dtype=float))
    total = r.sum()
    if total <= 0:
        return 0.0
    code_sums = r.sum(axis=1)
    used = code_sums > 0
    p = r[used] / code_sums[used, None]
    d_code = 1.0 - _entropy(p, r.shape[1], axis=1)
    return float(np.clip((d_code * code_sums[used] / total).sum(), 0.0, 1.0))


def completeness(importance: np.ndarray) -> float:
    """Mean factor completeness in [0, 1]; a factor with zero importance counts as 0."""
    r = np.abs(np.asarray(importance, dtype=float))
    factor_sums = r.sum(axis=0)
    scores = np.zeros(r.shape[1])
    used = factor_sums > 0
    if used.any():
        p = r[:, used] / factor_sums[None, used]
        scores[used] = 1.0 - _entropy(p, r.shape[0], axis=0)
    return float(np.clip(scores.mean(), 0.0, 1.0))
