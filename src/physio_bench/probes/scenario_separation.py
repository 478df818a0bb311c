"""Scenario separation: can a linear read-out tell the physiological scenarios apart?

On the pooled embeddings of the ``scenarios`` suite (task ``scenarios``):

- ``balanced_accuracy`` and ``macro_f1`` of a multinomial logistic regression
  (``StandardScaler`` + ``LogisticRegression``, ``C`` chosen by inner CV on balanced
  accuracy), outer folds grouped by subject and stratified by scenario; chance levels
  1/K (K classes); confusion matrices (rows true, columns predicted) with class names;
- ``silhouette``: silhouette score (Euclidean) of the scenario labels over *subject
  means*: the standardised embeddings averaged over each (subject, scenario) pair, with
  pairs of points of the same subject left out of every mean distance (no fitting;
  chance about 0). Windows of one subject resemble each other whatever the scenario, so
  a per-window silhouette rewards subject identity; with subjects that appear in several
  scenarios, same-subject pairs would otherwise also pull different scenarios together.
  The interval resamples subjects.
- ``fisher_ratio``: trace(S_b) / trace(S_w) of *held-out* windows projected onto the
  K-1 Fisher discriminant directions of each training fold (standardised features,
  within-class covariance shrunk by Ledoit-Wolf, coordinates whitened so the training
  within-class covariance is the identity); S_b and S_w are the between- and within-class
  scatter matrices of the test windows, summed over folds. It is 0 when class means
  coincide and grows as classes separate; the held-out projection keeps a 384-dimensional
  LDA from separating noise by overfitting. Held-out projections of noise still have a
  positive ratio, so the row's ``chance`` is a permutation null: the mean ratio over
  :data:`N_FISHER_PERMUTATIONS` relabellings that shuffle the scenario labels of whole
  (subject, scenario) blocks (windows of a block keep one label, as in the data), with
  the same folds.

The classifier is fitted until it converges (Newton-CG to a tolerance of 1e-4; no warning
is silenced: the first version's lbfgs stopped after 200 iterations with its
ConvergenceWarning ignored). The out-of-fold class predictions are returned as a table
(target ``class``, class indices in the order of ``classes``).

``best`` for the classifier and the Fisher ratio is each fold's inner-CV choice of layer;
the silhouette (which has no folds) uses the layer chosen most often.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.covariance import ledoit_wolf
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from physio_bench.io import Suite
from physio_bench.probes import common
from physio_bench.probes.common import MAX_SCATTER_POINTS, MetricRow, ProbeSettings
from physio_bench.probes.cv import inner_splits, nested_folds
from physio_bench.probes.data import Embeddings
from physio_bench.probes.stats import (
    Estimate,
    balanced_accuracy_from_confusion,
    bootstrap_counts,
    classification_estimates,
    confusion_matrix,
    derive_seed,
    estimate_from_samples,
    group_index,
    macro_f1_from_confusion,
)

STAGE = "scenario_separation"
C_GRID = (0.001, 0.01, 0.1, 1.0)
#: Newton iterations allowed per fit (each fit starts from the previous C's solution; a
#: handful suffice, where lbfgs needed hundreds and stopped before converging)
MAX_ITER = 1000
N_FISHER_PERMUTATIONS = 20
#: resamples evaluated per matrix product in the silhouette bootstrap
_SILHOUETTE_CHUNK = 64


def _classifier() -> LogisticRegression:
    """Multinomial logistic regression (Newton-CG, tolerance 1e-4), warm-started along the
    C grid."""
    return LogisticRegression(solver="newton-cg", max_iter=MAX_ITER, tol=1e-4, warm_start=True)


def _fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                 grid: tuple[float, ...]) -> list[np.ndarray]:
    """Predictions on ``x_test`` of the standardised classifier for each C in ``grid``
    (fitted from the smallest C up, each fit starting from the previous solution)."""
    scaler = StandardScaler().fit(x_train)
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    if len(np.unique(y_train)) < 2:
        return [np.full(len(x_test), y_train[0]) for _ in grid]
    preds = []
    model = _classifier()
    for c in sorted(grid):
        preds.append(model.set_params(C=c).fit(xs_train, y_train).predict(xs_test))
    order = np.argsort(np.argsort(grid))
    return [preds[i] for i in order]


def nested_logistic(
    layers: np.ndarray, y: np.ndarray, outer: np.ndarray, inner: np.ndarray, n_classes: int,
    grid: tuple[float, ...] = C_GRID,
) -> dict[str, np.ndarray]:
    """Nested grouped CV over layers (layers x items x dim) and C.

    Returns ``oof`` (layers x items), ``inner_score`` (layers x folds, inner balanced
    accuracy at the chosen C), ``c`` (layers x folds), ``chosen_layer`` (folds), ``oof_best``.
    """
    n_layers, n_folds = layers.shape[0], int(outer.max()) + 1
    oof = np.zeros((n_layers, len(y)), dtype=np.int64)
    scores = np.zeros((n_layers, n_folds))
    chosen_c = np.zeros((n_layers, n_folds))
    for layer in range(n_layers):
        x = np.asarray(layers[layer], dtype=np.float64)
        for k in range(n_folds):
            conf = np.zeros((len(grid), n_classes, n_classes))
            for train, test in inner_splits(outer, inner, k):
                for g, pred in enumerate(_fit_predict(x[train], y[train], x[test], grid)):
                    conf[g] += confusion_matrix(y[test], pred, n_classes)
            bal = balanced_accuracy_from_confusion(conf)
            best = len(grid) - 1 - int(np.argmax(bal[::-1]))  # ties: weaker regularisation
            scores[layer, k], chosen_c[layer, k] = bal[best], grid[best]
            test = outer == k
            oof[layer, test] = _fit_predict(x[~test], y[~test], x[test], (grid[best],))[0]
    chosen = np.argmax(scores, axis=0)
    oof_best = np.zeros(len(y), dtype=np.int64)
    for k, layer in enumerate(chosen):
        oof_best[outer == k] = oof[layer, outer == k]
    return {"oof": oof, "inner_score": scores, "c": chosen_c, "chosen_layer": chosen,
            "oof_best": oof_best}


def grouped_logistic_predict(x_train: np.ndarray, y_train: np.ndarray,
                             groups_train: np.ndarray, x_test: np.ndarray,
                             inner_folds: int = 3, seed: int = 0,
                             grid: tuple[float, ...] = C_GRID) -> np.ndarray:
    """One layer's classifier as :func:`nested_logistic` fits it in one outer fold: ``C``
    by the best balanced accuracy over ``inner_folds`` subject-grouped folds of the
    training windows (ties: weaker regularisation), refitted on all of them, predicting
    the classes of ``x_test``. The statistics calibration runs it as the scenario probe's
    decoder (:mod:`physio_bench.stat_calibration_classes`)."""
    y_train = np.asarray(y_train, dtype=np.int64)
    n_classes = int(max(y_train.max(), 0)) + 1
    folds, _ = nested_folds(np.asarray(groups_train), inner_folds, 2, seed, strata=y_train)
    conf = np.zeros((len(grid), n_classes, n_classes))
    for j in range(inner_folds):
        test = folds == j
        for g, pred in enumerate(_fit_predict(x_train[~test], y_train[~test], x_train[test],
                                              grid)):
            conf[g] += confusion_matrix(y_train[test], pred, n_classes)
    bal = balanced_accuracy_from_confusion(conf)
    best = len(grid) - 1 - int(np.argmax(bal[::-1]))
    return _fit_predict(x_train, y_train, x_test, (grid[best],))[0]


def weighted_silhouette(distances: np.ndarray, y: np.ndarray, weights: np.ndarray,
                        n_classes: int, subjects: np.ndarray | None = None) -> np.ndarray:
    """Silhouette score for each row of item ``weights`` (resamples x items).

    A weight is how many times the item is drawn. Pairs of items of the same subject
    (``subjects``; default: each item its own subject) are left out of both the mean
    intra-class and the mean nearest-other-class distance, so an item's own copies never
    count and all-ones weights without ``subjects`` give scikit-learn's
    ``silhouette_score(distances, y, metric="precomputed")``. An item with no other
    same-class item of another subject scores 0 (as a singleton cluster does).
    """
    y = np.asarray(y)
    onehot = np.eye(n_classes)[y]
    n = len(y)
    subjects = np.arange(n) if subjects is None else np.asarray(subjects)
    other = (subjects[:, None] != subjects[None, :]).astype(float)
    masked = distances * other
    out = np.empty(len(weights))
    for start in range(0, len(weights), _SILHOUETTE_CHUNK):
        w = weights[start:start + _SILHOUETTE_CHUNK]
        b_count = len(w)
        mass = (w[:, :, None] * onehot[None]).transpose(1, 0, 2).reshape(n, -1)
        sums = (masked @ mass).reshape(n, b_count, n_classes).transpose(1, 0, 2)
        counts = (other @ mass).reshape(n, b_count, n_classes).transpose(1, 0, 2)
        rows = np.arange(n)
        own = counts[:, rows, y]
        a = np.divide(sums[:, rows, y], own, out=np.zeros_like(own), where=own > 0)
        means = np.divide(sums, counts, out=np.full_like(sums, np.inf), where=counts > 0)
        means[:, rows, y] = np.inf
        b = means.min(axis=2)
        denom = np.maximum(a, b)
        s = np.divide(b - a, denom, out=np.zeros_like(a), where=np.isfinite(b) & (denom > 0))
        s = np.where(own > 0, s, 0.0)
        out[start:start + b_count] = (w * s).sum(axis=1) / w.sum(axis=1)
    return out


def subject_means(x: np.ndarray, y: np.ndarray, groups: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``x`` over each (subject, class) pair: (means, class, subject) per pair."""
    keys = np.array([f"{g}\x00{c}" for g, c in zip(groups, y, strict=True)])
    unique, first, index = np.unique(keys, return_index=True, return_inverse=True)
    sums = np.zeros((len(unique), x.shape[1]))
    np.add.at(sums, index, x)
    counts = np.bincount(index, minlength=len(unique))[:, None]
    return sums / counts, np.asarray(y)[first], np.asarray(groups)[first]


def _scatter_traces(z: np.ndarray, y: np.ndarray, weights: np.ndarray,
                    n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Traces of between- and within-class scatter of ``z`` for each weight row."""
    onehot = np.eye(n_classes)[y]
    wc = weights @ onehot
    sums = np.einsum("bn,nk,nm->bkm", weights, onehot, z)
    sq = weights @ (onehot * (z**2).sum(axis=1)[:, None])
    norms = (sums**2).sum(axis=2)
    present = wc > 0
    ratio = np.divide(norms, wc, out=np.zeros_like(norms), where=present)
    within = (sq - ratio).sum(axis=1)
    total_sq = (sums.sum(axis=1) ** 2).sum(axis=1)
    mass = weights.sum(axis=1)
    between = ratio.sum(axis=1) - np.divide(total_sq, mass, out=np.zeros_like(mass),
                                            where=mass > 0)
    return between, within


def shrinkage_lda(x: np.ndarray, y: np.ndarray, n_classes: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Fisher discriminant directions with a Ledoit-Wolf shrunk within-class covariance.

    Returns ``(mean, projection)``: coordinates are ``(x - mean) @ projection`` (at most
    K - 1 columns), in which the training within-class covariance is the identity.
    """
    present = np.unique(y)
    means = np.stack([x[y == c].mean(axis=0) for c in present])
    centred = x - means[np.searchsorted(present, y)]
    within, _ = ledoit_wolf(centred, assume_centered=True)
    eigval, eigvec = np.linalg.eigh(within)
    whiten = eigvec / np.sqrt(np.clip(eigval, 1e-12 * eigval.max(), None))[None, :]
    mean = x.mean(axis=0)
    weights = np.array([(y == c).mean() for c in present])
    spread = (means - mean) * np.sqrt(weights)[:, None]
    between = (spread @ whiten).T @ (spread @ whiten)
    _, directions = np.linalg.eigh(between)
    n_out = min(len(present), n_classes) - 1
    return mean, whiten @ directions[:, ::-1][:, :max(n_out, 1)]


def _lda_projections(x: np.ndarray, y: np.ndarray, outer: np.ndarray,
                     n_classes: int) -> list[np.ndarray]:
    """Held-out LDA coordinates of each outer fold's test windows."""
    out = []
    for k in range(int(outer.max()) + 1):
        test = outer == k
        scaler = StandardScaler().fit(x[~test])
        mean, projection = shrinkage_lda(scaler.transform(x[~test]), y[~test], n_classes)
        out.append((scaler.transform(x[test]) - mean) @ projection)
    return out


def _fisher(projections: list[np.ndarray], y: np.ndarray, outer: np.ndarray,
            weights: np.ndarray, n_classes: int) -> np.ndarray:
    """Fisher ratio per weight row (weights: rows x items), scatter summed over folds."""
    between = np.zeros(len(weights))
    within = np.zeros(len(weights))
    for k, z in enumerate(projections):
        test = outer == k
        b, w = _scatter_traces(z, y[test], weights[:, test], n_classes)
        between, within = between + b, within + w
    return np.divide(between, within, out=np.full_like(between, np.nan), where=within > 0)


def _standardised(x: np.ndarray) -> np.ndarray:
    return StandardScaler().fit_transform(np.asarray(x, dtype=np.float64))


def _distances(x: np.ndarray) -> np.ndarray:
    sq = (x**2).sum(axis=1)
    return np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0, None))


def _map_2d(x: np.ndarray, classes: list[str], y: np.ndarray, groups: np.ndarray,
            seed: int) -> dict[str, Any]:
    pca = PCA(n_components=2, svd_solver="full").fit(x)
    coords = pca.transform(x)
    pick = common.subsample(len(y), 4 * MAX_SCATTER_POINTS, seed)
    return {"method": "PCA of standardised pooled embeddings", "x": coords[pick, 0],
            "y": coords[pick, 1], "label": [classes[i] for i in y[pick]],
            "subject": groups[pick].tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_}


def block_permutations(y: np.ndarray, groups: np.ndarray, n_permutations: int, seed: int
                       ) -> list[np.ndarray]:
    """Relabellings of ``y`` that shuffle the labels of whole (subject, class) blocks."""
    keys = np.array([f"{g}\x00{c}" for g, c in zip(groups, y, strict=True)])
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    block_labels = np.asarray(y)[first]
    rng = np.random.default_rng(seed)
    return [rng.permutation(block_labels)[index] for _ in range(n_permutations)]


def fisher_null(layers_per_fold: list[np.ndarray], y: np.ndarray, groups: np.ndarray,
                outer: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Held-out Fisher ratios of block-permuted labels (fold ``k`` uses the features
    ``layers_per_fold[k]``)."""
    ones = np.ones((1, len(y)))
    out = []
    for labels in block_permutations(y, groups, N_FISHER_PERMUTATIONS, seed):
        projections = []
        for k, x in enumerate(layers_per_fold):
            test = outer == k
            scaler = StandardScaler().fit(x[~test])
            mean, projection = shrinkage_lda(scaler.transform(x[~test]), labels[~test],
                                             n_classes)
            projections.append((scaler.transform(x[test]) - mean) @ projection)
        out.append(_fisher(projections, labels, outer, ones, n_classes)[0])
    return np.asarray(out)


def run_scenario_separation(
    suite: Suite, emb: Embeddings, s: ProbeSettings
) -> tuple[dict[str, Any], list[MetricRow], pd.DataFrame]:
    """Run the probe; returns the JSON detail, the leaderboard rows (without model) and the
    out-of-fold class predictions."""
    labels = suite.labels
    classes = sorted(labels["scenario"].astype(str).unique())
    n_classes = len(classes)
    y = np.searchsorted(classes, labels["scenario"].astype(str).to_numpy())
    groups = labels["subject_id"].astype(str).to_numpy()
    names = emb.layer_names
    last = len(names) - 1
    outer, inner = nested_folds(groups, s.cv_folds, s.inner_folds,
                                derive_seed(s.seed, STAGE, "folds"), strata=y,
                                what="scenarios suite")
    pooled = np.asarray(emb.pooled, dtype=np.float64)
    result = nested_logistic(pooled, y, outer, inner, n_classes)
    chosen = result["chosen_layer"]
    mode = common.mode_layer(chosen)
    projections = [_lda_projections(pooled[layer], y, outer, n_classes)
                   for layer in range(len(names))]
    means, mean_y, mean_subject = zip(*[subject_means(_standardised(pooled[layer]), y, groups)
                                        for layer in range(len(names))], strict=True)
    point_y, point_subject = mean_y[0], mean_subject[0]
    ones = np.ones((1, len(y)))
    per_layer: dict[str, list[float]] = {"balanced_accuracy": [], "macro_f1": [],
                                         "silhouette": [], "fisher_ratio": []}
    distances = {}
    for layer in range(len(names)):
        conf = confusion_matrix(y, result["oof"][layer], n_classes)
        per_layer["balanced_accuracy"].append(float(balanced_accuracy_from_confusion(conf)))
        per_layer["macro_f1"].append(float(macro_f1_from_confusion(conf)))
        distances[layer] = _distances(means[layer])
        per_layer["silhouette"].append(float(weighted_silhouette(
            distances[layer], point_y, np.ones((1, len(point_y))), n_classes,
            point_subject)[0]))
        per_layer["fisher_ratio"].append(
            float(_fisher(projections[layer], y, outer, ones, n_classes)[0]))
    n_subjects = len(np.unique(groups))
    detail: dict[str, Any] = {
        "classes": classes, "n_windows": len(y), "n_subjects": n_subjects,
        "n_subject_scenario_pairs": len(point_y),
        "layer_names": names, "per_layer": per_layer, "skipped": [],
        "selection": common.selection_detail(chosen, result["inner_score"], names),
        "c_per_layer_fold": result["c"], "c_grid": C_GRID,
        "chance": {"balanced_accuracy": 1.0 / n_classes, "macro_f1": 1.0 / n_classes,
                   "silhouette": 0.0},
    }
    rows: list[MetricRow] = []
    frames: list[pd.DataFrame] = []
    subject_index, _ = group_index(groups)
    point_index = np.searchsorted(np.unique(groups), point_subject)
    null_cache: dict[tuple[int, ...], np.ndarray] = {}
    for tag in ("last", "best"):
        seed = derive_seed(s.seed, STAGE, tag)
        pred = result["oof"][last] if tag == "last" else result["oof_best"]
        estimates: dict[str, Estimate] = classification_estimates(
            y, pred, n_classes, groups, s.bootstrap, seed, folds=outer)
        counts = np.vstack([np.ones((1, n_subjects)),
                            bootstrap_counts(n_subjects, s.bootstrap,
                                             derive_seed(seed, "weights"))])
        sil_layer = last if tag == "last" else mode
        sil = weighted_silhouette(distances[sil_layer], point_y, counts[:, point_index],
                                  n_classes, point_subject)
        estimates["silhouette"] = estimate_from_samples(sil[0], sil[1:], len(point_y),
                                                        (-1.0, 1.0), n_subjects=n_subjects)
        fold_layers = [last if tag == "last" else int(chosen[k]) for k in range(len(chosen))]
        fold_proj = [projections[layer][k] for k, layer in enumerate(fold_layers)]
        fisher = _fisher(fold_proj, y, outer, counts[:, subject_index], n_classes)
        estimates["fisher_ratio"] = estimate_from_samples(fisher[0], fisher[1:], len(y),
                                                          (0.0, np.inf), n_subjects=n_subjects)
        key = tuple(fold_layers)
        if key not in null_cache:
            null_cache[key] = fisher_null([pooled[layer] for layer in fold_layers], y, groups,
                                          outer, n_classes, derive_seed(s.seed, STAGE, "null"))
        chance = {"balanced_accuracy": 1.0 / n_classes, "macro_f1": 1.0 / n_classes,
                  "fisher_ratio": float(null_cache[key].mean())}
        rows += [MetricRow("scenarios", m, tag, e, chance=chance.get(m))
                 for m, e in estimates.items()]
        frames.append(common.predictions_frame("scenarios", "balanced_accuracy", tag,
                                               np.arange(len(y)), groups, "class", y, pred,
                                               folds=outer))
        conf = confusion_matrix(y, pred, n_classes)
        detail[tag] = {
            "layer": names[last] if tag == "last" else "per fold",
            "silhouette_layer": names[sil_layer],
            "metrics": {m: e.to_dict() for m, e in estimates.items()},
            "fisher_null": {"mean": float(null_cache[key].mean()),
                            "p95": float(np.percentile(null_cache[key], 95)),
                            "n_permutations": N_FISHER_PERMUTATIONS,
                            "rule": "scenario labels of whole (subject, scenario) blocks "
                                    "shuffled, same folds"},
            "confusion_matrix": conf,
            "map_2d": _map_2d(_standardised(pooled[sil_layer]), classes, y, groups,
                              derive_seed(seed, "map")),
        }
    return detail, rows, common.concat_predictions(frames)
