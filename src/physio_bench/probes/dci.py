"""DCI disentanglement and completeness (Eastwood & Williams, ICLR 2018) that noise cannot
win and that mean the same for embeddings of 8 or 2,048 dimensions.

Importances. ``R`` (codes x factors) holds ``|w_ij|``, the lasso coefficients of factor
``j`` (standardised to unit variance on the training fold) on embedding dimension ``i``
(standardised by the training fold's mean and standard deviation), with the penalty at the
*universal threshold* ``lambda_j = sigma_j * sqrt(2 log(d) / n)`` (Donoho & Johnstone
1994; ``sigma_j`` the residual standard deviation of the factor's ridge decoder on the
inner folds, ``n`` training windows, ``d`` dimensions; scikit-learn's lasso objective
``||y - Xw||² / (2n) + lambda ||w||_1``). At that penalty a dimension that carries nothing
about the factor gets exactly zero importance with high probability whatever ``d``, so:

- a representation padded with any number of uninformative dimensions keeps the same
  importance matrix (the dense ridge importances of the first version spread a noise
  floor over every dimension: pure noise scored D = 0.31 against an informative
  embedding's 0.20 at d = 384, and completeness depended on d);
- a factor held by one dimension is attributed to that dimension, and a factor spread over
  many (a rotated representation) to many of them.

A fixed-k PCA of the embedding was rejected: a PCA basis is invariant to rotations of the
embedding, so an axis-aligned (disentangled) oracle and its rotated copy would score the
same, which is exactly what disentanglement must tell apart.

Every factor has a column of ``R`` (``F`` columns, fixed by the suite): a factor that fails
the gate (inner-fold R² below :data:`physio_bench.probes.entanglement.RELIABLE_R2` in that
outer fold, computed on the fold's training windows only) gets a zero column, so the
scores of one factor never depend on which *other* factors pass (issue 24: with the
gate shrinking the base, ``disentanglement([[1,1,0],[0,0,1]])`` fell from 0.579 to 0 when
factor 2 failed).

As published (Eastwood & Williams 2018, and their reference code):

- Disentanglement of code ``i``: ``D_i = 1 - H_F(P_i.)``, ``P_ij = R_ij / sum_k R_ik``,
  ``H_F`` the entropy in base ``F`` (the fixed number of factors); the total is the mean
  of ``D_i`` weighted by each code's share of all importance (codes with zero importance
  carry no weight). Needs ``F >= 2``.
- Completeness of factor ``j``: ``C_j = 1 - H_d(P~_.j)``, ``P~_ij = R_ij / sum_k R_kj``,
  ``H_d`` in base ``d`` (the number of codes, embedding dimensions); 0 for a zero column;
  the total is the mean over the ``F`` factors.

Under its own name, :func:`effective_dimension_score`: ``exp(-H(P~_.j))`` (``H`` in nats),
the inverse *effective number* of dimensions that carry the factor (1 for one dimension,
1/m for m sharing it evenly), which unlike ``C_j`` does not depend on how many dimensions
carry nothing; reported in the probe's JSON (``effective_dimension_per_fold``), not as
completeness.

Informativeness is the mean cross-validated R² already reported as ``r2`` (task ``all``),
so it has no row of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.linear_model import Lasso

#: residual standard deviation floor (a factor decoded perfectly still gets a penalty)
MIN_SIGMA = 0.05
LASSO_MAX_ITER = 20000
LASSO_TOL = 1e-4


def _entropy(p: np.ndarray, base: float, axis: int) -> np.ndarray:
    """Shannon entropy of the distributions along ``axis`` in ``base`` (e for nats)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=axis) / np.log(base)


def disentanglement(importance: np.ndarray) -> float:
    """Eastwood-Williams disentanglement in [0, 1]: importance-weighted mean over codes of
    ``1 - H_F``, base ``F`` = the number of columns (every factor, zero columns included).

    NaN with fewer than 2 factors (nothing to be disentangled from) or no importance.
    """
    r = np.abs(np.asarray(importance, dtype=float))
    total = r.sum()
    if r.shape[1] < 2 or total <= 0:
        return float("nan")
    code_sums = r.sum(axis=1)
    used = code_sums > 0
    p = r[used] / code_sums[used, None]
    d_code = 1.0 - _entropy(p, r.shape[1], axis=1)
    return float(np.clip((d_code * code_sums[used] / total).sum(), 0.0, 1.0))


def completeness(importance: np.ndarray) -> float:
    """Eastwood-Williams completeness in [0, 1]: mean over factors of ``1 - H_d`` of the
    factor's importance over the ``d`` codes (rows); a zero column counts as 0; NaN
    without factors or with fewer than 2 codes."""
    r = np.abs(np.asarray(importance, dtype=float))
    if r.shape[1] == 0 or r.shape[0] < 2:
        return float("nan")
    return _mean_factor_score(r, lambda p: 1.0 - _entropy(p, r.shape[0], axis=0))


def effective_dimension_score(importance: np.ndarray) -> float:
    """Mean over factors of ``exp(-H)`` (nats) of the factor's importance over codes: the
    inverse effective number of dimensions carrying it, in (0, 1]; a zero column counts
    as 0; NaN without factors. Not Eastwood-Williams completeness (see the module)."""
    r = np.abs(np.asarray(importance, dtype=float))
    if r.shape[1] == 0:
        return float("nan")
    return _mean_factor_score(r, lambda p: np.exp(-_entropy(p, np.e, axis=0)))


def _mean_factor_score(r: np.ndarray, score: Callable[[np.ndarray], np.ndarray]) -> float:
    """Mean over factors (columns of ``r``) of ``score`` of each factor's importance
    distribution over codes, clipped to [0, 1]; a zero column counts as 0."""
    factor_sums = r.sum(axis=0)
    scores = np.zeros(r.shape[1])
    used = factor_sums > 0
    if used.any():
        scores[used] = score(r[:, used] / factor_sums[None, used])
    return float(np.clip(scores.mean(), 0.0, 1.0))


def universal_penalty(sigma: float, n: int, d: int) -> float:
    """``sigma * sqrt(2 log(d) / n)`` (d >= 2 in the log)."""
    return float(max(sigma, MIN_SIGMA) * np.sqrt(2.0 * np.log(max(d, 2)) / max(n, 1)))


def sparse_importance(x_train: np.ndarray, y_train: np.ndarray, sigma: np.ndarray
                      ) -> np.ndarray:
    """``d x F`` lasso importances at the universal threshold (see the module docstring).

    Args:
        x_train: training items x d (raw features; standardised here, constant ones dropped
            to zero importance).
        y_train: training items x F factors (standardised here).
        sigma: residual standard deviation of each standardised factor's decoder (F).
    """
    x = np.asarray(x_train, dtype=np.float64)
    y = np.asarray(y_train, dtype=np.float64)
    x = x - x.mean(axis=0)
    scale = x.std(axis=0)
    keep = scale > 1e-6 * max(float(scale.max(initial=0.0)), 1e-300)
    xs = x[:, keep] / scale[keep]
    ys = (y - y.mean(axis=0)) / np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
    n, d = x.shape
    out = np.zeros((d, y.shape[1]))
    gram = xs.T @ xs if n > xs.shape[1] else None
    for j in range(y.shape[1]):
        model = Lasso(alpha=universal_penalty(float(sigma[j]), n, d), fit_intercept=False,
                      max_iter=LASSO_MAX_ITER, tol=LASSO_TOL,
                      precompute=gram if gram is not None else False)
        out[keep, j] = np.abs(model.fit(xs, ys[:, j]).coef_)
    return out
