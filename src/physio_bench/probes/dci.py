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

Only *reliably decoded* factors enter ``R`` (the rule of
:func:`physio_bench.probes.entanglement.reliable_factors`): a factor the model does not
encode has no importance structure to speak of, and including it made a failed factor
*raise* D in the first version.

- Disentanglement of code ``i``: ``D_i = 1 - H_K(P_i.)``, ``P_ij = R_ij / sum_k R_ik``,
  ``H_K`` the entropy in base ``K`` (number of reliably decoded factors); the total is the
  mean of ``D_i`` weighted by each code's share of all importance (codes with zero
  importance carry no weight). Needs ``K >= 2``.
- Completeness of factor ``j``: ``C_j = exp(-H(P~_.j))``, ``P~_ij = R_ij / sum_k R_kj``,
  ``H`` in nats: the inverse of the *effective number* of dimensions that carry the factor
  (1 for one dimension, 1/m for m dimensions sharing it evenly). It does not depend on how
  many dimensions carry nothing (the original ``1 - H / log(d)`` gives the same spread
  0.585 at d = 256 and 0.698 at d = 2,048). The total is the mean over factors.

Informativeness is the mean cross-validated R² already reported as ``r2`` (task ``all``),
so it has no row of its own.
"""

from __future__ import annotations

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
    """Importance-weighted mean code disentanglement in [0, 1] (base K = factors).

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
    """Mean over factors of exp(-entropy) of the factor's importance over codes, in (0, 1];
    a factor with zero importance counts as 0; NaN without factors."""
    r = np.abs(np.asarray(importance, dtype=float))
    if r.shape[1] == 0:
        return float("nan")
    factor_sums = r.sum(axis=0)
    scores = np.zeros(r.shape[1])
    used = factor_sums > 0
    if used.any():
        p = r[:, used] / factor_sums[None, used]
        scores[used] = np.exp(-_entropy(p, np.e, axis=0))
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
