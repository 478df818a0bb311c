"""Feature independence: are the generating factors decodable, and separately?

Per signal kind of the ``factors`` suite (every factor drawn independently per window),
from ridge decoders in nested grouped cross-validation (:mod:`.ridge`):

- ``r2`` (task ``{kind}:{factor}``): cross-validated R² of each factor decoded linearly
  from the pooled embedding; chance 0. Task ``all``: the mean over every factor of every
  kind (the DCI "informativeness", which has no row of its own).
- ``r2_nonlinear`` (same tasks): the same with kernel ridge, RBF or linear kernel chosen on
  inner folds (:mod:`.nonlinear`), a ceiling beside the linear R²: a factor with a high
  ``r2_nonlinear`` and a low ``r2`` is present but not linearly accessible.
- ``entanglement`` and ``residual_correlation`` (task ``{kind}``, :mod:`.entanglement`):
  the mixing of the reliably decoded factors' held-out predictions, as an excess over a
  permutation null, and the correlation of their decoding errors.
- ``dci_disentanglement`` / ``dci_completeness`` (task ``{kind}``, :mod:`.dci`): DCI as
  published (Eastwood & Williams 2018) from sparse lasso importances over every factor
  (a zero column for a factor whose inner-fold R² misses the gate in that fold), one
  value per outer fold (importances fitted on the fold's training windows), averaged;
  the interval is the corrected t interval for training-fold statistics.
- ``cross_talk`` (task ``{kind}``, :mod:`.cross_talk`): from the ``sweeps`` suite, how far
  decoded B moves relative to decoded A when only A is swept.
- ``calibration_r2`` (task ``calibration``, :mod:`.calibration`): the probe's R² on a
  perfect feature among noise dimensions at this model's embedding size and the first
  kind's windows and folds.

Task ``all`` of ``entanglement``, ``residual_correlation``, ``dci_*`` and ``cross_talk``
is the mean over kinds, reported only when every kind has a value (a note names those
without); ``r2``/``r2_nonlinear`` ``all`` need every factor. ``last`` is the model's last
layer; ``best`` uses, in every outer fold, the layer with the best inner-CV R² (the
kernel probe and DCI use the same per-fold layer; cross-talk uses the layer with the
best cross-validated mean R² on the factors suite, all of which is training data for the
sweeps). Intervals of cross-validated metrics (``r2``, ``r2_nonlinear``) are the corrected
resampled t intervals over the outer folds (:func:`physio_bench.statistics.cv_estimate`),
those of training-fold statistics (DCI) the corrected t for training folds, and the
others (entanglement excess, residual correlation, cross-talk) subject bootstraps; the
row's ``interval`` field names the method. The out-of-fold predictions behind ``r2``
and ``r2_nonlinear`` (task ``{kind}:{factor}``) and ``entanglement`` (task ``{kind}``,
one target per factor, truth and prediction centred within their outer fold, as the
metric uses them; see :func:`.entanglement.entanglement_point`) are returned as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import Suite
from physio_bench.probes.calibration import calibrate
from physio_bench.probes.common import (
    MAX_SCATTER_POINTS,
    MetricRow,
    ProbeSettings,
    aggregate_rows,
    concat_predictions,
    mode_layer,
    predictions_frame,
    selection_detail,
    subsample,
)
from physio_bench.probes.cross_talk import cross_talk
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.data import Embeddings
from physio_bench.probes.dci import (
    completeness,
    disentanglement,
    effective_dimension_score,
    sparse_importance,
)
from physio_bench.probes.entanglement import (
    RELIABLE_R2,
    centre_by_fold,
    entanglement,
    reliability_rule,
    reliable_factors,
)
from physio_bench.probes.nonlinear import nested_kernel_ridge
from physio_bench.probes.ridge import ALPHA_GRID, NestedRidgeResult, fit_ridge_cv, nested_ridge
from physio_bench.probes.stats import (
    derive_seed,
    fold_mean_estimate,
    mean_estimate,
    r2_estimates,
)

STAGE = "feature_independence"
KIND_METRICS = ("entanglement", "residual_correlation", "dci_disentanglement",
                "dci_completeness", "cross_talk")


def _usable_factors(labels: pd.DataFrame, rows: np.ndarray, columns: list[str],
                    skipped: list[dict[str, str]], kind: str) -> list[str]:
    """Factor columns present, finite on these rows and not constant."""
    usable = []
    for column in columns:
        if column not in labels.columns:
            skipped.append({"task": f"{kind}:{column}", "reason": "column missing in labels"})
            continue
        values = labels[column].to_numpy(dtype=float)[rows]
        if not np.isfinite(values).all():
            skipped.append({"task": f"{kind}:{column}", "reason": "NaN in the factors suite"})
        elif np.ptp(values) <= 0:
            skipped.append({"task": f"{kind}:{column}", "reason": "constant in the factors suite"})
        else:
            usable.append(column)
    return usable


def _pooled_rows(pooled: np.ndarray, rows: np.ndarray, layer: int) -> np.ndarray:
    """Pooled embeddings (float32, windows x dim) of ``layer`` for the given windows."""
    return np.asarray(pooled[layer][rows], dtype=np.float32)


def _r2_point(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R² per column (constant columns were excluded upstream)."""
    ss_res = ((y - pred) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - ss_res / ss_tot


def _fold_dci(get_layer: Any, layer_per_fold: np.ndarray, y: np.ndarray, outer: np.ndarray,
              inner_r2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             np.ndarray]:
    """Per-fold disentanglement, completeness, effective-dimension score, the fold-mean
    importance (d x F) and the per-fold gate (folds x F).

    Every factor keeps its column; in outer fold ``k`` a factor enters only when its
    inner-fold R² (training windows of fold ``k`` only) reaches ``RELIABLE_R2``, else its
    column is zero (issue 24: the base of the entropy is the fixed number of factors).
    """
    d_fold, c_fold, e_fold, importance, gates = [], [], [], [], []
    cache: dict[int, np.ndarray] = {}
    for k, layer in enumerate(layer_per_fold):
        if int(layer) not in cache:
            cache = {int(layer): np.asarray(get_layer(int(layer)))}
        x = cache[int(layer)]
        train = outer != k
        r2 = inner_r2[int(layer), k, :]
        gate = np.isfinite(r2) & (r2 >= RELIABLE_R2)
        matrix = np.zeros((x.shape[1], y.shape[1]))
        if gate.any():
            sigma = np.sqrt(np.clip(1.0 - r2[gate], 0.0, 1.0))
            matrix[:, gate] = sparse_importance(x[train], y[train][:, gate], sigma)
        d_fold.append(disentanglement(matrix))
        c_fold.append(completeness(matrix))
        e_fold.append(effective_dimension_score(matrix))
        importance.append(matrix)
        gates.append(gate)
    return (np.array(d_fold), np.array(c_fold), np.array(e_fold),
            np.mean(importance, axis=0), np.array(gates))


def _kernel_predictions(get_layer: Any, layer_per_fold: np.ndarray, y: np.ndarray,
                        outer: np.ndarray, inner: np.ndarray,
                        cache: dict[tuple[int, int], tuple]) -> tuple[np.ndarray, dict]:
    """Out-of-fold kernel ridge predictions, reusing folds already fitted at a layer."""
    oof = np.zeros_like(y, dtype=float)
    detail: dict[str, list] = {"gamma": [], "alpha_relative": [], "inner_r2": []}
    todo = np.array([k for k, layer in enumerate(layer_per_fold)
                     if (int(layer), k) not in cache], dtype=np.int64)
    if len(todo):
        layers = np.full(len(layer_per_fold), -1)
        layers[todo] = layer_per_fold[todo]
        fitted = nested_kernel_ridge(get_layer, layers, y, outer, inner)
        for k in todo:
            cache[(int(layer_per_fold[k]), int(k))] = (
                fitted.oof[outer == k], fitted.gamma[k], fitted.alpha[k], fitted.inner_r2[k])
    for k, layer in enumerate(layer_per_fold):
        pred, gamma, alpha, r2 = cache[(int(layer), k)]
        oof[outer == k] = pred
        detail["gamma"].append(gamma)
        detail["alpha_relative"].append(alpha)
        detail["inner_r2"].append(r2)
    return oof, detail


def _per_layer_curves(result: NestedRidgeResult, y: np.ndarray, factors: list[str],
                      folds: np.ndarray, groups: np.ndarray, s: ProbeSettings, kind: str
                      ) -> dict[str, Any]:
    """Point estimates of R² and entanglement at every layer (layer-wise curves)."""
    n_layers = result.oof.shape[0]
    r2 = np.array([_r2_point(y, result.oof[layer]) for layer in range(n_layers)])
    ent = []
    for layer in range(n_layers):
        seed = derive_seed(s.seed, STAGE, kind, "per_layer", layer)
        estimates = r2_estimates(y, result.oof[layer], groups, min(s.bootstrap, 200), seed,
                                 folds=folds)
        found = entanglement(y, result.oof[layer], folds, groups, reliable_factors(estimates),
                             0, seed)
        ent.append(np.nan if found.excess is None else found.excess.value)
    return {"r2": {f: r2[:, j] for j, f in enumerate(factors)}, "mean_r2": r2.mean(axis=1),
            "entanglement": ent}


@dataclass
class _Kind:
    """One signal kind's windows (``rows`` of the suite), factors and folds."""

    kind: str
    factors: list[str]
    rows: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    outer: np.ndarray
    inner: np.ndarray

    @property
    def n_subjects(self) -> int:
        return len(np.unique(self.groups))


def _evaluate(tag: str, kd: _Kind, pred: np.ndarray, layer_per_fold: np.ndarray,
              get_layer: Any, result: NestedRidgeResult, kernel_cache: dict, s: ProbeSettings
              ) -> tuple[dict[str, Any], list[MetricRow], dict[str, Any], list[pd.DataFrame]]:
    """Metrics of one layer choice (``last`` or ``best``)."""
    kind, factors, y, groups, outer = kd.kind, kd.factors, kd.y, kd.groups, kd.outer
    seed = derive_seed(s.seed, STAGE, kind, tag)
    r2 = r2_estimates(y, pred, groups, s.bootstrap, seed, folds=outer)
    reliable = reliable_factors(r2)
    rows = [MetricRow(f"{kind}:{f}", "r2", tag, e) for f, e in zip(factors, r2, strict=True)]
    parts: dict[str, Any] = {"r2": dict(zip(factors, rows, strict=True))}
    frames = [predictions_frame(f"{kind}:{f}", "r2", tag, kd.rows, groups, f, y[:, j],
                                pred[:, j], folds=outer) for j, f in enumerate(factors)]

    kernel_pred, kernel_detail = _kernel_predictions(get_layer, layer_per_fold, y, outer,
                                                     kd.inner, kernel_cache)
    r2_kernel = r2_estimates(y, kernel_pred, groups, s.bootstrap, derive_seed(seed, "kernel"),
                             folds=outer)
    kernel_rows = [MetricRow(f"{kind}:{f}", "r2_nonlinear", tag, e)
                   for f, e in zip(factors, r2_kernel, strict=True)]
    rows += kernel_rows
    parts["r2_nonlinear"] = dict(zip(factors, kernel_rows, strict=True))
    frames += [predictions_frame(f"{kind}:{f}", "r2_nonlinear", tag, kd.rows, groups, f,
                                 y[:, j], kernel_pred[:, j], folds=outer)
                for j, f in enumerate(factors)]

    found = entanglement(y, pred, outer, groups, reliable, s.bootstrap,
                         derive_seed(seed, "entanglement"))
    y_centred, pred_centred = centre_by_fold(y, outer), centre_by_fold(pred, outer)
    frames += [predictions_frame(kind, "entanglement", tag, kd.rows, groups, f,
                                 y_centred[:, j], pred_centred[:, j], folds=outer)
               for j, f in enumerate(factors)]
    kind_rows: dict[str, MetricRow] = {}
    kind_rows["entanglement"] = (
        MetricRow(kind, "entanglement", tag, found.excess) if found.excess is not None
        else MetricRow.missing(kind, "entanglement", tag, found.note, len(y), kd.n_subjects))
    kind_rows["residual_correlation"] = (
        MetricRow(kind, "residual_correlation", tag, found.residual,
                  chance=found.residual_chance) if found.residual is not None
        else MetricRow.missing(kind, "residual_correlation", tag, found.residual_note, len(y),
                               kd.n_subjects, chance=found.residual_chance))

    dci: dict[str, Any] = {"reliable": [f for f, ok in zip(factors, reliable, strict=True) if ok],
                           "reliability_rule": reliability_rule()}
    d_fold, c_fold, e_fold, importance, gates = _fold_dci(get_layer, layer_per_fold, y, outer,
                                                          result.inner_r2)
    dci["gate"] = f"inner-fold R² >= {RELIABLE_R2:g} in each outer fold (training windows only)"
    dci["gated_in_per_fold"] = [[f for f, ok in zip(factors, g, strict=True) if ok]
                                for g in gates]
    if gates.any(axis=1).all():
        dci.update({"disentanglement_per_fold": d_fold, "completeness_per_fold": c_fold,
                    "effective_dimension_per_fold": e_fold,
                    "nonzero_dimensions": (importance > 0).sum(axis=0),
                    "d": int(importance.shape[0])})
        com = fold_mean_estimate(c_fold, len(y), kd.n_subjects, on="train", bounds=(0.0, 1.0))
        kind_rows["dci_completeness"] = MetricRow(kind, "dci_completeness", tag, com)
        dci["completeness"] = com.to_dict()
        if len(factors) >= 2 and np.isfinite(d_fold).all():
            dis = fold_mean_estimate(d_fold, len(y), kd.n_subjects, on="train",
                                     bounds=(0.0, 1.0))
            kind_rows["dci_disentanglement"] = MetricRow(kind, "dci_disentanglement", tag, dis)
            dci["disentanglement"] = dis.to_dict()
        else:
            kind_rows["dci_disentanglement"] = MetricRow.missing(
                kind, "dci_disentanglement", tag, "not estimable: fewer than 2 factors",
                len(y), kd.n_subjects)
    else:
        note = ("not estimable: in some outer fold no factor passes the gate "
                f"(inner-fold R² >= {RELIABLE_R2:g})")
        for metric in ("dci_disentanglement", "dci_completeness"):
            kind_rows[metric] = MetricRow.missing(kind, metric, tag, note, len(y), kd.n_subjects)
    rows += list(kind_rows.values())

    pick = subsample(len(y), MAX_SCATTER_POINTS, derive_seed(seed, "scatter"))
    detail = {
        "r2": {f: e.to_dict() for f, e in zip(factors, r2, strict=True)},
        "r2_nonlinear": {f: e.to_dict() for f, e in zip(factors, r2_kernel, strict=True)},
        "kernel": kernel_detail,
        "reliable": dci["reliable"],
        "entanglement": found.to_dict(factors),
        "dci": dci,
        "scatter": {f: {"true": y[pick, j], "pred": pred[pick, j],
                        "pred_nonlinear": kernel_pred[pick, j]}
                    for j, f in enumerate(factors)},
    }
    parts.update(kind_rows)
    return detail, rows, parts, frames


def _aggregate(parts: dict[str, dict[str, Any]], kinds: list[str], n_total: int,
               n_subjects: int, min_groups: int) -> list[MetricRow]:
    """Task ``all`` rows of one layer choice (see the module docstring)."""
    out = []
    tag = parts["tag"]
    for metric in ("r2", "r2_nonlinear"):
        components = {f"{kind}:{f}": row for kind in kinds
                      for f, row in parts[kind][metric].items()}
        out.append(aggregate_rows("all", metric, tag, components,
                                  partial(mean_estimate, bounds=(-np.inf, 1.0)), min_groups,
                                  n_total, n_subjects))
    for metric in KIND_METRICS:
        if not any(metric in parts[kind] for kind in kinds):
            continue  # e.g. cross_talk without a sweeps suite
        components = {kind: parts[kind].get(metric) for kind in kinds}
        bounds = (0.0, np.inf) if metric == "cross_talk" else (-1.0, 1.0)
        row = aggregate_rows("all", metric, tag, components,
                             partial(mean_estimate, bounds=bounds), min_groups)
        if metric == "residual_correlation":
            row.chance = float(np.mean([components[k].chance for k in kinds]))
        out.append(row)
    return out


def run_feature_independence(
    factors_suite: Suite,
    factors_emb: Embeddings,
    s: ProbeSettings,
    sweeps_suite: Suite | None = None,
    sweeps_emb: Embeddings | None = None,
) -> tuple[dict[str, Any], list[MetricRow], pd.DataFrame]:
    """Run the probe; returns the JSON detail, the leaderboard rows (without model) and the
    out-of-fold predictions."""
    labels = factors_suite.labels
    layer_names = factors_emb.layer_names
    last = len(layer_names) - 1
    factor_columns = factors_suite.meta.get("factor_columns", {})
    detail: dict[str, Any] = {"kinds": {}, "skipped": []}
    rows: list[MetricRow] = []
    frames: list[pd.DataFrame] = []
    parts: dict[str, dict[str, Any]] = {"last": {"tag": "last"}, "best": {"tag": "best"}}
    kinds_done: list[str] = []
    calibration_input = None
    kinds = [k for k in factor_columns if (labels["signal_kind"] == k).any()]
    for kind in kinds:
        kind_rows = np.flatnonzero(labels["signal_kind"].to_numpy() == kind)
        factors = _usable_factors(labels, kind_rows, list(factor_columns[kind]),
                                  detail["skipped"], kind)
        if not factors:
            detail["skipped"].append({"task": kind, "reason": "no usable factor"})
            continue
        y = labels[factors].to_numpy(dtype=float)[kind_rows]
        groups = labels["subject_id"].astype(str).to_numpy()[kind_rows]
        outer, inner = nested_folds(groups, s.cv_folds, s.inner_folds,
                                    derive_seed(s.seed, STAGE, kind, "folds"),
                                    what=f"factors suite ({kind} windows)")
        kd = _Kind(kind, factors, kind_rows, y, groups, outer, inner)
        if calibration_input is None:
            calibration_input = (kind, factors[0], y[:, 0], groups, outer, inner)
        layer_rows = partial(_pooled_rows, factors_emb.pooled, kind_rows)
        result = nested_ridge(layer_rows, len(layer_names), y, outer, inner)
        kind_detail: dict[str, Any] = {
            "factors": factors, "n_windows": len(kind_rows), "n_subjects": kd.n_subjects,
            "per_layer": _per_layer_curves(result, y, factors, outer, groups, s, kind),
            "selection": selection_detail(result.chosen_layer, result.inner_score, layer_names),
            "alpha_per_layer_fold": result.alpha,
        }
        choices = {"last": (result.oof[last], np.full(s.cv_folds, last)),
                   "best": (result.oof_best, result.chosen_layer)}
        kernel_cache: dict[tuple[int, int], tuple] = {}
        for tag, (pred, layer_per_fold) in choices.items():
            tag_detail, tag_rows, tag_parts, tag_frames = _evaluate(
                tag, kd, pred, np.asarray(layer_per_fold), layer_rows, result, kernel_cache, s)
            tag_detail["layer"] = (layer_names[last] if tag == "last" else
                                   f"per fold (mode {layer_names[mode_layer(layer_per_fold)]})")
            rows += tag_rows
            frames += tag_frames
            if sweeps_suite is not None and sweeps_emb is not None:
                talk_layer = last if tag == "last" else int(np.argmax(
                    kind_detail["per_layer"]["mean_r2"]))
                decoder = fit_ridge_cv(layer_rows(talk_layer), y, outer)
                talk, estimate, note = cross_talk(
                    decoder, y, sweeps_suite,
                    np.asarray(sweeps_emb.pooled[talk_layer], dtype=np.float32), kind, factors,
                    s.bootstrap, derive_seed(s.seed, STAGE, kind, tag, "cross_talk"))
                talk["layer"] = layer_names[talk_layer]
                talk["note"] = note
                tag_detail["cross_talk"] = talk
                tag_parts["cross_talk"] = (
                    MetricRow(kind, "cross_talk", tag, estimate) if estimate is not None
                    else MetricRow.missing(kind, "cross_talk", tag, note))
                rows.append(tag_parts["cross_talk"])
            parts[tag][kind] = tag_parts
            kind_detail[tag] = tag_detail
        detail["kinds"][kind] = kind_detail
        kinds_done.append(kind)
    n_total = sum(detail["kinds"][k]["n_windows"] for k in kinds_done)
    n_subjects = sum(detail["kinds"][k]["n_subjects"] for k in kinds_done)
    if kinds_done:
        for tag in ("last", "best"):
            rows += _aggregate(parts[tag], kinds_done, n_total, n_subjects, s.min_groups)
    if calibration_input is not None:
        kind, factor, y0, groups, outer, inner = calibration_input
        dim = int(factors_emb.pooled.shape[2])
        estimate, cal = calibrate(y0, groups, outer, inner, dim, s.bootstrap,
                                  derive_seed(s.seed, STAGE, "calibration"))
        cal.update({"kind": kind, "factor": factor})
        detail["calibration"] = cal
        rows.append(MetricRow("calibration", "calibration_r2", "last", estimate))
    detail["chance"] = {"r2": 0.0, "r2_nonlinear": 0.0, "entanglement": 0.0,
                        "cross_talk": 0.0, "calibration_r2": 0.0}
    detail["reliability_rule"] = reliability_rule()
    detail["alpha_grid_times_n_train"] = ALPHA_GRID
    detail["layer_names"] = layer_names
    return detail, rows, concat_predictions(frames)
