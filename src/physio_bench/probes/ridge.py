"""Ridge regression with nested, grouped cross-validation from sufficient statistics.

The model is scikit-learn's ``make_pipeline(StandardScaler(), Ridge(alpha))`` (features
standardised with the training mean and standard deviation, an unpenalised intercept),
solved in closed form. Items are split into *chunks* (outer fold x inner fold); the
moments of each chunk (count, sums, X'X, X'y, y'y) are computed in one pass over the
data, and every training set of the nested cross-validation is a sum of chunks. A fit
is then one eigendecomposition of a d x d matrix, all ``alpha`` values at once, and an
inner-fold score needs no second pass over the data.

The regularisation grid is relative: ``alpha = a * n_train`` with ``a`` in
:data:`ALPHA_GRID`, so the grid means the same for any number of training items.
For each outer fold and each target, the ``alpha`` with the best pooled inner-fold R²
is kept; the layer with the best inner score (mean over targets) is that fold's *best*
layer. Test folds never take part in either choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from physio_bench.probes.cv import inner_splits, nested_folds

#: alpha = ALPHA_GRID * (number of training items), for standardised features.
ALPHA_GRID = np.logspace(-5, 2, 8)
_BLOCK = 16384


@dataclass
class Moments:
    """Sums over a set of items (features ``x`` shifted by a common offset)."""

    n: float
    sx: np.ndarray   # d
    sxx: np.ndarray  # d x d
    sy: np.ndarray   # F
    sxy: np.ndarray  # d x F
    syy: np.ndarray  # F


@dataclass
class ChunkMoments:
    """Per-chunk moments: leading axis = chunk."""

    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sy: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray

    def total(self, mask: np.ndarray) -> Moments:
        """Moments of the union of the chunks where ``mask`` is true."""
        w = np.asarray(mask, dtype=np.float64)
        return Moments(
            float(w @ self.n), w @ self.sx, np.tensordot(w, self.sxx, axes=1),
            w @ self.sy, np.tensordot(w, self.sxy, axes=1), w @ self.syy,
        )


def chunk_moments(x: np.ndarray, y: np.ndarray, chunk: np.ndarray, n_chunks: int) -> ChunkMoments:
    """Moments of each chunk; ``x`` (items x d) and ``y`` (items x F) already shifted."""
    d, f = x.shape[1], y.shape[1]
    out = ChunkMoments(
        np.zeros(n_chunks), np.zeros((n_chunks, d)), np.zeros((n_chunks, d, d)),
        np.zeros((n_chunks, f)), np.zeros((n_chunks, d, f)), np.zeros((n_chunks, f)),
    )
    for c in range(n_chunks):
        rows = np.flatnonzero(chunk == c)
        for start in range(0, len(rows), _BLOCK):
            xb = np.asarray(x[rows[start:start + _BLOCK]], dtype=np.float64)
            yb = np.asarray(y[rows[start:start + _BLOCK]], dtype=np.float64)
            out.n[c] += len(xb)
            out.sx[c] += xb.sum(0)
            out.sxx[c] += xb.T @ xb
            out.sy[c] += yb.sum(0)
            out.sxy[c] += xb.T @ yb
            out.syy[c] += (yb**2).sum(0)
    return out


@dataclass
class RidgeFit:
    """Ridge solutions for a grid of alphas (leading axis) in shifted coordinates."""

    weights: np.ndarray    # A x d x F, applied to shifted raw features
    intercept: np.ndarray  # A x F
    coef_std: np.ndarray   # A x d x F, for standardised features and standardised targets
    alphas: np.ndarray     # A, absolute

    def select(self, index: np.ndarray) -> RidgeFit:
        """Keep alpha ``index[f]`` for target ``f`` (result has one alpha row)."""
        f = np.arange(self.weights.shape[2])
        return RidgeFit(
            self.weights[index, :, f].T[None], self.intercept[index, f][None],
            self.coef_std[index, :, f].T[None], self.alphas[index],
        )


def fit_moments(m: Moments, alpha_grid: np.ndarray = ALPHA_GRID) -> RidgeFit:
    """Standardise with the moments' mean and std, then solve ridge for every alpha."""
    mu = m.sx / m.n
    cov = m.sxx - m.n * np.outer(mu, mu)
    var = np.clip(np.diagonal(cov) / m.n, 0.0, None)
    sigma = np.sqrt(var)
    sigma = np.where(sigma > 1e-6 * max(float(sigma.max(initial=0.0)), 1e-300), sigma, 1.0)
    y_mean = m.sy / m.n
    gram = cov / np.outer(sigma, sigma)
    cross = (m.sxy - m.n * np.outer(mu, y_mean)) / sigma[:, None]
    eigval, eigvec = np.linalg.eigh(gram)
    eigval = np.clip(eigval, 0.0, None)
    proj = eigvec.T @ cross
    alphas = np.asarray(alpha_grid, dtype=float) * m.n
    coef = np.stack([eigvec @ (proj / (eigval + a)[:, None]) for a in alphas])
    weights = coef / sigma[None, :, None]
    intercept = y_mean[None, :] - mu @ weights
    y_std = np.sqrt(np.clip(m.syy / m.n - y_mean**2, 0.0, None))
    y_std = np.where(y_std > 0, y_std, 1.0)
    return RidgeFit(weights, intercept, coef / y_std[None, None, :], alphas)


def score_moments(fit: RidgeFit, m: Moments) -> tuple[np.ndarray, np.ndarray]:
    """Residual (A x F) and total (F) sums of squares of ``fit`` on the items of ``m``."""
    w, b = fit.weights, fit.intercept
    quad = (w * np.matmul(m.sxx, w)).sum(axis=1)
    ss_res = (
        m.syy[None] - 2 * (w * m.sxy[None]).sum(axis=1) - 2 * b * m.sy[None]
        + quad + 2 * b * (m.sx @ w) + m.n * b**2
    )
    ss_tot = m.syy - m.sy**2 / m.n
    return np.clip(ss_res, 0.0, None), np.clip(ss_tot, 0.0, None)


def _r2(ss_res: np.ndarray, ss_tot: np.ndarray) -> np.ndarray:
    """R² per alpha and target; a constant target scores 0 (no information)."""
    return np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)


def select_alpha(
    cm: ChunkMoments, splits: list[tuple[np.ndarray, np.ndarray]], alpha_grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the best alpha per target and its pooled CV R² (both length F).

    ``splits`` are (train, test) boolean masks over chunks.
    """
    ss_res = ss_tot = 0.0
    for train, test in splits:
        res, tot = score_moments(fit_moments(cm.total(train), alpha_grid), cm.total(test))
        ss_res, ss_tot = ss_res + res, ss_tot + tot
    r2 = _r2(ss_res, ss_tot)
    # Ties (e.g. a constant target) go to the strongest regularisation.
    best = r2.shape[0] - 1 - np.argmax(r2[::-1], axis=0)
    return best, r2[best, np.arange(r2.shape[1])]


@dataclass
class NestedRidgeResult:
    """Out-of-fold predictions and selections of a nested CV over layers.

    Attributes:
        oof: layers x items x targets, predictions in target units.
        inner_r2: layers x folds x targets, pooled inner-CV R² at the chosen alpha.
        alpha: layers x folds x targets, chosen alpha (absolute).
        coef_std: layers x folds x d x targets, standardised coefficients.
        chosen_layer: folds, the layer with the best mean inner R² in each outer fold.
        oof_best: items x targets, predictions of each fold's chosen layer.
        outer: items, the outer fold of each item (for intervals over folds).
    """

    oof: np.ndarray
    inner_r2: np.ndarray
    alpha: np.ndarray
    coef_std: np.ndarray
    chosen_layer: np.ndarray
    oof_best: np.ndarray
    outer: np.ndarray

    @property
    def inner_score(self) -> np.ndarray:
        """layers x folds: mean inner R² over targets (the layer-selection score)."""
        return self.inner_r2.mean(axis=2)


def _chunk_ids(outer: np.ndarray, inner: np.ndarray, n_inner: int) -> np.ndarray:
    return outer * n_inner + inner


def _standardise(x_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale by the training mean and std (constant features: std 1), as StandardScaler."""
    mu = x_train.mean(axis=0)
    sigma = x_train.std(axis=0)
    sigma = np.where(sigma > 1e-6 * max(float(sigma.max(initial=0.0)), 1e-300), sigma, 1.0)
    return [(a - mu) / sigma for a in (x_train, *others)]


@dataclass
class DualFit:
    """Ridge for all alphas in kernel form (fewer training items than features)."""

    xs: np.ndarray      # n x d standardised training features
    eigvec: np.ndarray  # n x n
    eigval: np.ndarray  # n
    proj: np.ndarray    # n x F: eigvec' (y - mean)
    y_mean: np.ndarray  # F
    y_std: np.ndarray   # F
    alphas: np.ndarray  # A, absolute

    @classmethod
    def fit(cls, xs: np.ndarray, y: np.ndarray, alpha_grid: np.ndarray) -> DualFit:
        eigval, eigvec = np.linalg.eigh(xs @ xs.T)
        y_mean = y.mean(axis=0)
        y_std = y.std(axis=0)
        return cls(xs, eigvec, np.clip(eigval, 0.0, None), eigvec.T @ (y - y_mean), y_mean,
                   np.where(y_std > 0, y_std, 1.0), np.asarray(alpha_grid) * len(xs))

    def dual_coef(self, index: np.ndarray | None = None) -> np.ndarray:
        """A x n x F dual coefficients (or n x F with alpha ``index[f]`` per target)."""
        if index is None:
            return np.stack([self.eigvec @ (self.proj / (self.eigval + a)[:, None])
                             for a in self.alphas])
        scaled = self.proj / (self.eigval[:, None] + self.alphas[index][None, :])
        return self.eigvec @ scaled

    def predict(self, xs_test: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """Predictions (A x n_test x F, or n_test x F for per-target ``index``)."""
        return (xs_test @ self.xs.T) @ self.dual_coef(index) + self.y_mean

    def coef_std(self, index: np.ndarray) -> np.ndarray:
        """d x F coefficients for standardised features and targets."""
        return self.xs.T @ self.dual_coef(index) / self.y_std[None, :]


def _dual_fold(x: np.ndarray, y: np.ndarray, outer: np.ndarray, inner: np.ndarray, k: int,
               alpha_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                               np.ndarray]:
    """One outer fold in kernel form: (test predictions, inner R², alphas, coef_std, index)."""
    ss_res = ss_tot = 0.0
    for train, test in inner_splits(outer, inner, k):
        xs_train, xs_test = _standardise(x[train], x[test])
        pred = DualFit.fit(xs_train, y[train], alpha_grid).predict(xs_test)
        ss_res = ss_res + ((pred - y[test][None]) ** 2).sum(axis=1)
        ss_tot = ss_tot + ((y[test] - y[test].mean(axis=0)) ** 2).sum(axis=0)
    r2 = _r2(ss_res, ss_tot)
    best = r2.shape[0] - 1 - np.argmax(r2[::-1], axis=0)
    test = outer == k
    xs_train, xs_test = _standardise(x[~test], x[test])
    fit = DualFit.fit(xs_train, y[~test], alpha_grid)
    return (fit.predict(xs_test, best), r2[best, np.arange(r2.shape[1])], fit.alphas[best],
            fit.coef_std(best), best)


def nested_ridge(
    get_layer: Callable[[int], np.ndarray],
    n_layers: int,
    y: np.ndarray,
    outer: np.ndarray,
    inner: np.ndarray,
    alpha_grid: np.ndarray = ALPHA_GRID,
    solver: str = "auto",
) -> NestedRidgeResult:
    """Nested grouped CV of ridge decoders of ``y`` from each layer's features.

    Args:
        get_layer: layer index -> items x d features (loaded one layer at a time).
        y: items x targets, finite.
        outer, inner: fold ids from :func:`physio_bench.probes.cv.nested_folds`.
        solver: ``"primal"`` (chunk moments, d x d eigenproblems), ``"dual"`` (kernel
            form, n_train x n_train eigenproblems) or ``"auto"``: dual when an outer
            training set has fewer items than features. Both give the same model.
    """
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    n_outer, n_inner = int(outer.max()) + 1, int(inner.max()) + 1
    chunk = _chunk_ids(outer, inner, n_inner)
    chunk_outer = np.repeat(np.arange(n_outer), n_inner)
    chunk_inner = np.tile(np.arange(n_inner), n_outer)
    y_shift = y.mean(axis=0)
    max_train = max(int((outer != k).sum()) for k in range(n_outer))
    oof, inner_r2, alphas, coefs = [], [], [], []
    for layer in range(n_layers):
        x = np.asarray(get_layer(layer))
        dual = solver == "dual" or (solver == "auto" and max_train < x.shape[1])
        pred = np.zeros_like(y)
        layer_r2, layer_alpha, layer_coef = [], [], []
        if dual:
            x64 = x.astype(np.float64)
            for k in range(n_outer):
                pred[outer == k], r2, alpha, coef, _ = _dual_fold(x64, y, outer, inner, k,
                                                                  alpha_grid)
                layer_r2.append(r2)
                layer_alpha.append(alpha)
                layer_coef.append(coef)
        else:
            x_shift = x.mean(axis=0, dtype=np.float64)
            cm = chunk_moments(x - x_shift.astype(x.dtype), y - y_shift, chunk,
                               n_outer * n_inner)
            for k in range(n_outer):
                best, r2 = select_alpha(cm, inner_splits(chunk_outer, chunk_inner, k),
                                        alpha_grid)
                fit = fit_moments(cm.total(chunk_outer != k), alpha_grid).select(best)
                test = outer == k
                pred[test] = (x[test] - x_shift) @ fit.weights[0] + fit.intercept[0] + y_shift
                layer_r2.append(r2)
                layer_alpha.append(fit.alphas)
                layer_coef.append(fit.coef_std[0])
        oof.append(pred)
        inner_r2.append(layer_r2)
        alphas.append(layer_alpha)
        coefs.append(layer_coef)
    inner_r2_arr = np.asarray(inner_r2)
    chosen = np.argmax(inner_r2_arr.mean(axis=2), axis=0)
    oof_arr = np.asarray(oof)
    oof_best = np.zeros_like(y)
    for k, layer in enumerate(chosen):
        oof_best[outer == k] = oof_arr[layer][outer == k]
    return NestedRidgeResult(
        oof_arr, inner_r2_arr, np.asarray(alphas), np.asarray(coefs), chosen, oof_best,
        np.asarray(outer)
    )


@dataclass
class FittedRidge:
    """A ridge decoder fitted on all items, alpha chosen by grouped CV."""

    weights: np.ndarray    # d x F, raw features
    intercept: np.ndarray  # F
    alpha: np.ndarray      # F
    cv_r2: np.ndarray      # F

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.weights + self.intercept


def fit_ridge_cv(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, alpha_grid: np.ndarray = ALPHA_GRID
) -> FittedRidge:
    """Choose alpha per target by grouped CV over ``folds`` and refit on all items."""
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    n_folds = int(folds.max()) + 1
    x_shift = x.mean(axis=0, dtype=np.float64)
    y_shift = y.mean(axis=0)
    cm = chunk_moments(x - x_shift.astype(x.dtype), y - y_shift, folds, n_folds)
    ids = np.arange(n_folds)
    best, r2 = select_alpha(cm, [(ids != k, ids == k) for k in ids], alpha_grid)
    fit = fit_moments(cm.total(np.ones(n_folds, dtype=bool)), alpha_grid).select(best)
    weights = fit.weights[0]
    intercept = fit.intercept[0] + y_shift - x_shift @ weights
    return FittedRidge(weights, intercept, fit.alphas, r2)


def grouped_ridge_predict(x_train: np.ndarray, y_train: np.ndarray, groups_train: np.ndarray,
                          x_test: np.ndarray, inner_folds: int = 3, seed: int = 0
                          ) -> np.ndarray:
    """One layer's decoder as the probes fit it, for one target: the penalty chosen by
    ``inner_folds`` subject-grouped folds of the training items (:func:`fit_ridge_cv`),
    refitted on all of them, predicting ``x_test``. The statistics calibration runs it
    as the probes' decoder (benchmarks/statistics_calibration.py)."""
    folds, _ = nested_folds(np.asarray(groups_train), inner_folds, 2, seed)
    return fit_ridge_cv(x_train, y_train, folds).predict(x_test)[:, 0]
