"""A non-linear ceiling beside the linear probe: RBF kernel ridge, same nested grouped CV.

``r2_nonlinear`` asks whether a factor is *present* in the embedding even where a linear
read-out misses it ("present but not linearly accessible" is a finding of its own).

Model: features standardised with the outer training fold's mean and standard deviation;
kernel ridge ``(K + alpha I) c = y - mean(y)`` with ``alpha = a * n_train``, ``a`` in
:data:`ALPHA_GRID` (the linear probe's relative grid), and the kernel one of: the linear
kernel ``x . x'`` (``g = 0``: ridge itself) or the RBF kernel ``exp(-g ||x - x'||² / m)``
with ``m`` the median squared distance between training items (the median heuristic) and
``g`` in :data:`GAMMA_GRID`. For each outer fold and each factor, ``(g, a)`` with the best
pooled inner-fold R² is kept (inner folds of the same nested split; ties go to the linear
kernel, then the smoother model), refitted on the fold's training subjects and scored on
its test subjects. The linear kernel among the candidates keeps the ceiling from falling
below the linear probe when a factor lies along a few of many dimensions (where an RBF
kernel on all dimensions does worse than ridge). All penalties of a kernel come from one
eigendecomposition.

Cost: one n_train x n_train eigendecomposition per (gamma, inner or outer fit), so it runs
on two layer choices only: the last layer and, per fold, the layer the linear probe chose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physio_bench.probes.cv import inner_splits

#: RBF widths relative to the median heuristic; 0 stands for the linear kernel
GAMMA_GRID = np.array([0.0, 0.25, 1.0, 4.0])
ALPHA_GRID = np.logspace(-5, 2, 8)


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0, None)


def _kernel(gamma: float, median: float, d2: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """The linear kernel (``gamma == 0``) or the RBF kernel of width ``gamma / median``."""
    return gram if gamma == 0 else np.exp(-gamma / median * d2)


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mu = x[train].mean(axis=0)
    sd = x[train].std(axis=0)
    sd = np.where(sd > 1e-6 * max(float(sd.max(initial=0.0)), 1e-300), sd, 1.0)
    return (x - mu) / sd


@dataclass
class _Eigen:
    values: np.ndarray
    vectors: np.ndarray
    proj: np.ndarray   # vectors' (y - mean)
    mean: np.ndarray

    @classmethod
    def fit(cls, kernel: np.ndarray, y: np.ndarray) -> _Eigen:
        values, vectors = np.linalg.eigh(kernel)
        mean = y.mean(axis=0)
        return cls(np.clip(values, 0.0, None), vectors, vectors.T @ (y - mean), mean)

    def predict(self, cross: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """``cross`` (test x train kernel): predictions A x test x F."""
        left = cross @ self.vectors
        return np.stack([left @ (self.proj / (self.values + a)[:, None]) for a in alphas]) \
            + self.mean


@dataclass
class KernelResult:
    """Out-of-fold predictions (items x F) and, per fold and factor, the chosen
    ``g``, relative ``a`` and pooled inner R²."""

    oof: np.ndarray
    gamma: np.ndarray     # folds x F
    alpha: np.ndarray     # folds x F (relative: alpha / n_train)
    inner_r2: np.ndarray  # folds x F


def _fold(x: np.ndarray, y: np.ndarray, outer: np.ndarray, inner: np.ndarray, k: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train, test = outer != k, outer == k
    xs = _standardise(x, train)
    d2 = _sqdist(xs, xs)
    tr = np.flatnonzero(train)
    block = d2[np.ix_(tr, tr)]
    median = float(np.median(block[~np.eye(len(tr), dtype=bool)])) if len(tr) > 1 else 1.0
    median = median if median > 0 else 1.0
    f = y.shape[1]
    ss_res = np.zeros((len(GAMMA_GRID), len(ALPHA_GRID), f))
    ss_tot = np.zeros(f)
    splits = inner_splits(outer, inner, k)
    for _, test_in in splits:
        ss_tot += ((y[test_in] - y[test_in].mean(axis=0)) ** 2).sum(axis=0)
    gram = xs @ xs.T
    for g, gamma in enumerate(GAMMA_GRID):
        kernel = _kernel(gamma, median, d2, gram)
        for train_in, test_in in splits:
            a, b = np.flatnonzero(train_in), np.flatnonzero(test_in)
            eig = _Eigen.fit(kernel[np.ix_(a, a)], y[a])
            pred = eig.predict(kernel[np.ix_(b, a)], ALPHA_GRID * len(a))
            ss_res[g] += ((pred - y[b][None]) ** 2).sum(axis=1)
    r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
    flat = r2.reshape(-1, f)
    # Ties: the first in (gamma ascending, alpha descending) order: the linear kernel, then
    # the smoother model.
    order = np.array([g * len(ALPHA_GRID) + a for g in range(len(GAMMA_GRID))
                      for a in range(len(ALPHA_GRID) - 1, -1, -1)])
    best = order[np.argmax(flat[order], axis=0)]
    g_best, a_best = np.divmod(best, len(ALPHA_GRID))
    pred = np.zeros((int(test.sum()), f))
    te = np.flatnonzero(test)
    for g in np.unique(g_best):
        kernel = _kernel(GAMMA_GRID[g], median, d2, gram)
        eig = _Eigen.fit(kernel[np.ix_(tr, tr)], y[tr])
        targets = np.flatnonzero(g_best == g)
        full = eig.predict(kernel[np.ix_(te, tr)], ALPHA_GRID[a_best[targets]] * len(tr))
        pred[:, targets] = full[np.arange(len(targets)), :, targets].T
    return pred, GAMMA_GRID[g_best], ALPHA_GRID[a_best], flat[best, np.arange(f)]


def nested_kernel_ridge(get_layer: Callable[[int], np.ndarray], layer_per_fold: np.ndarray,
                        y: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> KernelResult:
    """Kernel ridge predictions of ``y`` (items x F) with fold ``k`` using layer
    ``layer_per_fold[k]`` (layers loaded once each; a negative layer skips the fold, whose
    predictions stay 0)."""
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    n_folds = int(outer.max()) + 1
    oof = np.zeros_like(y)
    gamma = np.zeros((n_folds, y.shape[1]))
    alpha = np.zeros_like(gamma)
    inner_r2 = np.zeros_like(gamma)
    for layer in np.unique(layer_per_fold[layer_per_fold >= 0]):
        x = np.asarray(get_layer(int(layer)), dtype=np.float64)
        for k in np.flatnonzero(layer_per_fold == layer):
            oof[outer == k], gamma[k], alpha[k], inner_r2[k] = _fold(x, y, outer, inner, int(k))
    return KernelResult(oof, gamma, alpha, inner_r2)
