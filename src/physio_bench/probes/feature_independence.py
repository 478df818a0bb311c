"""Feature independence: are the generating factors linearly decodable, and separately?

Per signal kind of the ``factors`` suite (every factor drawn independently):

- ``r2``: cross-validated R² of each factor decoded by ridge from the pooled embedding
  (task ``{kind}:{factor}``), chance level 0;
- ``dci_disentanglement`` / ``dci_completeness``: DCI (:mod:`physio_bench.probes.dci`)
  of each outer fold's importance matrix (|standardised ridge coefficients|), averaged
  over folds; the interval resamples the folds;
- ``dci_informativeness``: mean cross-validated R² over the kind's factors;
- ``spurious_coupling``: mean |off-diagonal| of corr(decoded factors) - corr(true
  factors), both over the held-out windows (correlations pooled within outer folds, so
  per-fold decoder intercepts add nothing): 0 when decoding adds no coupling. Decoders
  that decode nothing (R² near 0) output arbitrary, often correlated noise, so read it
  together with ``r2``;
- ``cross_talk`` (``sweeps`` suite, one factor moved at a time, the rest fixed): a decoder
  fitted on the whole factors suite is applied to each sweep; entry [A, B] is how far
  decoded B moves when only A moves: |slope of decoded B on A| x (range of A in the sweep)
  / (range of B in the factors suite). The row reports the mean off-diagonal entry. The
  JSON also holds the max-min range of the per-step mean of decoded B (``range_matrix``).
  The decoder's alpha is chosen by grouped CV on the factors suite; for ``best`` the layer
  is the one with the highest cross-validated mean R² on the factors suite (all of which
  is training data for the sweeps). A sweep is one simulated subject, so its interval
  resamples the sweep's windows.

Task ``all`` averages over kinds (and factors). Every interval is a grouped (by subject)
bootstrap of the held-out predictions unless said otherwise.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import Suite
from physio_bench.probes.common import (
    MAX_SCATTER_POINTS,
    MetricRow,
    ProbeSettings,
    mode_layer,
    selection_detail,
    subsample,
)
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.data import Embeddings
from physio_bench.probes.dci import completeness, disentanglement
from physio_bench.probes.ridge import ALPHA_GRID, NestedRidgeResult, fit_ridge_cv, nested_ridge
from physio_bench.probes.stats import (
    Estimate,
    bootstrap_counts,
    correlation_matrices,
    derive_seed,
    estimate_from_samples,
    fold_mean_estimate,
    mean_abs_off_diagonal,
    mean_estimate,
    r2_estimates,
)

STAGE = "feature_independence"


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


def _fold_dci(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disentanglement and completeness of each fold's coefficients (folds x d x F)."""
    return (np.array([disentanglement(np.abs(c)) for c in coef]),
            np.array([completeness(np.abs(c)) for c in coef]))


def _center_by_fold(values: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """``values`` (items x k) minus the mean of their outer fold."""
    out = np.asarray(values, dtype=float).copy()
    for k in np.unique(folds):
        out[folds == k] -= out[folds == k].mean(axis=0)
    return out


def _coupling(y: np.ndarray, pred: np.ndarray, folds: np.ndarray, groups: np.ndarray,
              n_boot: int, seed: int) -> tuple[Estimate, np.ndarray, np.ndarray]:
    """Spurious coupling estimate, true and decoded correlation matrices (full sample).

    Correlations are pooled within outer folds (each fold's mean removed), so that the
    per-fold intercepts of the decoders cannot create coupling between factors.
    """
    f = y.shape[1]
    joint = _center_by_fold(np.hstack([y, pred]), folds)
    corr = correlation_matrices(joint, groups, n_boot, seed)
    true, decoded = corr[:, :f, :f], corr[:, f:, f:]
    values = mean_abs_off_diagonal(decoded - true)
    return (estimate_from_samples(values[0], values[1:], len(y), bounds=(0.0, 2.0),
                                  n_subjects=len(np.unique(groups))),
            true[0], decoded[0])


def _evaluate(
    tag: str, kind: str, factors: list[str], y: np.ndarray, pred: np.ndarray,
    coef: np.ndarray, folds: np.ndarray, groups: np.ndarray, s: ProbeSettings,
) -> tuple[dict[str, Any], list[MetricRow], dict[str, Any]]:
    """Metrics of one layer choice (``last`` or ``best``); coef: folds x d x F."""
    seed = derive_seed(s.seed, STAGE, kind, tag)
    r2 = r2_estimates(y, pred, groups, s.bootstrap, seed, folds=folds,
                      min_groups=s.min_groups)
    informativeness = mean_estimate(r2)
    d_fold, c_fold = _fold_dci(coef)
    n_subjects = len(np.unique(groups))
    # statistics of each training fold's decoder: corrected t interval for training folds
    dis = fold_mean_estimate(d_fold, len(y), n_subjects, min_groups=s.min_groups)
    com = fold_mean_estimate(c_fold, len(y), n_subjects, min_groups=s.min_groups)
    coupling, true_corr, decoded_corr = _coupling(y, pred, folds, groups, s.bootstrap,
                                                  derive_seed(seed, "coupling"))
    rows = [MetricRow(f"{kind}:{f}", "r2", tag, e) for f, e in zip(factors, r2, strict=True)]
    rows += [
        MetricRow(kind, "dci_disentanglement", tag, dis),
        MetricRow(kind, "dci_completeness", tag, com),
        MetricRow(kind, "dci_informativeness", tag, informativeness),
        MetricRow(kind, "spurious_coupling", tag, coupling),
    ]
    pick = subsample(len(y), MAX_SCATTER_POINTS, derive_seed(seed, "scatter"))
    detail = {
        "r2": {f: e.to_dict() for f, e in zip(factors, r2, strict=True)},
        "dci": {"disentanglement": dis.to_dict(), "completeness": com.to_dict(),
                "informativeness": informativeness.to_dict(),
                "disentanglement_per_fold": d_fold, "completeness_per_fold": c_fold},
        "spurious_coupling": coupling.to_dict(),
        "coupling_true": true_corr, "coupling_decoded": decoded_corr,
        "coupling_difference": decoded_corr - true_corr,
        "scatter": {f: {"true": y[pick, j], "pred": pred[pick, j]}
                    for j, f in enumerate(factors)},
    }
    parts = {"r2": r2, "dci_disentanglement": dis, "dci_completeness": com,
             "dci_informativeness": informativeness, "spurious_coupling": coupling}
    return detail, rows, parts


def _per_layer_curves(result: NestedRidgeResult, y: np.ndarray, factors: list[str],
                      folds: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Point estimates of the main metrics at every layer (layer-wise curves)."""
    n_layers = result.oof.shape[0]
    true_corr = correlation_matrices(_center_by_fold(y, folds), groups, 0, 0)[0]
    r2 = np.array([_r2_point(y, result.oof[layer]) for layer in range(n_layers)])
    dis, com, coupling = [], [], []
    for layer in range(n_layers):
        d_fold, c_fold = _fold_dci(result.coef_std[layer])
        dis.append(d_fold.mean())
        com.append(c_fold.mean())
        decoded = correlation_matrices(_center_by_fold(result.oof[layer], folds), groups, 0, 0)
        coupling.append(mean_abs_off_diagonal(decoded[0] - true_corr))
    return {
        "r2": {f: r2[:, j] for j, f in enumerate(factors)},
        "mean_r2": r2.mean(axis=1),
        "dci_disentanglement": dis,
        "dci_completeness": com,
        "spurious_coupling": coupling,
    }


def _cross_talk(
    kind: str, factors: list[str], x_train: np.ndarray, y: np.ndarray, folds: np.ndarray,
    sweeps: Suite, sweep_x: np.ndarray, tag: str, s: ProbeSettings,
) -> tuple[dict[str, Any], Estimate | None]:
    """Cross-talk matrix (swept factor x decoded factor) from the sweeps suite."""
    decoder = fit_ridge_cv(x_train, y, folds)
    y_range = np.ptp(y, axis=0)
    labels = sweeps.labels
    f = len(factors)
    slope_matrix = np.full((f, f), np.nan)
    range_matrix = np.full((f, f), np.nan)
    traces: dict[str, Any] = {}
    samples = []
    seed = derive_seed(s.seed, STAGE, kind, tag, "cross_talk")
    for a, factor in enumerate(factors):
        rows = np.flatnonzero(
            (labels["signal_kind"].to_numpy() == kind)
            & (labels["scenario"].to_numpy() == f"sweep:{factor}")
        )
        if len(rows) < 2 or factor not in labels.columns:
            continue
        swept = labels[factor].to_numpy(dtype=float)[rows]
        if not np.isfinite(swept).all() or np.ptp(swept) <= 0:
            continue
        decoded = decoder.predict(sweep_x[rows])
        steps = np.unique(swept)
        step_means = np.array([decoded[swept == v].mean(axis=0) for v in steps])
        range_matrix[a] = np.ptp(step_means, axis=0) / y_range
        # A sweep is one simulated subject: its windows (steps) are resampled.
        weights = np.vstack([
            np.ones((1, len(rows))),
            bootstrap_counts(len(rows), s.bootstrap, derive_seed(seed, factor)),
        ])
        wsum = weights.sum(axis=1, keepdims=True)
        a_mean = weights @ swept / wsum[:, 0]
        a_cent = swept[None, :] - a_mean[:, None]
        var_a = (weights * a_cent**2).sum(axis=1)
        cov = np.einsum("bn,bn,nf->bf", weights, a_cent, decoded)
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = np.where(var_a[:, None] > 0, cov / var_a[:, None], np.nan)
        moved = np.abs(slopes) * np.ptp(swept) / y_range[None, :]
        slope_matrix[a] = moved[0]
        samples.append(moved)
        traces[factor] = {"swept_values": steps, "decoded_step_means": step_means}
    detail = {
        "factors": factors, "matrix": slope_matrix, "range_matrix": range_matrix,
        "decoded_traces": traces, "decoder_cv_r2": decoder.cv_r2,
    }
    have = [a for a in range(f) if np.isfinite(slope_matrix[a]).all()]
    if f < 2 or len(have) == 0:
        detail["skipped"] = "no usable sweeps for this kind (needs >= 2 factors and their sweeps)"
        return detail, None
    stack = np.stack(samples)  # sweeps x (1+B) x F
    swept_idx = np.array(have)
    off = [(i, b) for i, a in enumerate(swept_idx) for b in range(f) if b != a]
    values = np.mean([stack[i, :, b] for i, b in off], axis=0)
    n_items = int(sum(
        ((labels["signal_kind"] == kind) & (labels["scenario"] == f"sweep:{factors[a]}")).sum()
        for a in swept_idx
    ))
    # one simulated subject per sweep (the interval resamples its windows): flagged in the
    # report as an interval from few subjects
    return detail, estimate_from_samples(values[0], values[1:], n_items, bounds=(0.0, np.inf),
                                         n_subjects=len(swept_idx))


def run_feature_independence(
    factors_suite: Suite,
    factors_emb: Embeddings,
    s: ProbeSettings,
    sweeps_suite: Suite | None = None,
    sweeps_emb: Embeddings | None = None,
) -> tuple[dict[str, Any], list[MetricRow]]:
    """Run the probe; returns the JSON detail and the leaderboard rows (without model)."""
    labels = factors_suite.labels
    layer_names = factors_emb.layer_names
    last = len(layer_names) - 1
    factor_columns = factors_suite.meta.get("factor_columns", {})
    detail: dict[str, Any] = {"kinds": {}, "skipped": []}
    rows: list[MetricRow] = []
    parts: dict[str, dict[str, list]] = {tag: {} for tag in ("last", "best")}
    kinds = [k for k in factor_columns if (labels["signal_kind"] == k).any()]
    for kind in kinds:
        kind_rows = np.flatnonzero(labels["signal_kind"].to_numpy() == kind)
        factors = _usable_factors(labels, kind_rows, list(factor_columns[kind]),
                                  detail["skipped"], kind)
        if not factors:
            detail["skipped"].append({"task": kind, "reason": "no usable factor"})
            continue
        y = labels[factors].to_numpy(dtype=float)[kind_rows]
        groups = labels["subject_id"].to_numpy()[kind_rows]
        outer, inner = nested_folds(groups, s.cv_folds, s.inner_folds,
                                    derive_seed(s.seed, STAGE, kind, "folds"),
                                    what=f"factors suite ({kind} windows)")
        layer_rows = partial(_pooled_rows, factors_emb.pooled, kind_rows)
        result = nested_ridge(layer_rows, len(layer_names), y, outer, inner)
        kind_detail: dict[str, Any] = {
            "factors": factors, "n_windows": len(kind_rows),
            "n_subjects": len(np.unique(groups)),
            "per_layer": _per_layer_curves(result, y, factors, outer, groups),
            "selection": selection_detail(result.chosen_layer, result.inner_score, layer_names),
            "alpha_per_layer_fold": result.alpha,
        }
        choices = {
            "last": (result.oof[last], result.coef_std[last], last),
            "best": (result.oof_best,
                     np.stack([result.coef_std[c, k] for k, c in enumerate(result.chosen_layer)]),
                     mode_layer(result.chosen_layer)),
        }
        for tag, (pred, coef, layer) in choices.items():
            tag_detail, tag_rows, tag_parts = _evaluate(tag, kind, factors, y, pred, coef,
                                                        outer, groups, s)
            tag_detail["layer"] = layer_names[layer] if tag == "last" else "per fold"
            tag_detail["importance_layer"] = layer_names[layer]
            tag_detail["importance"] = np.abs(result.coef_std[layer]).mean(axis=0)
            rows += tag_rows
            for name, value in tag_parts.items():
                parts[tag].setdefault(name, []).extend(value if name == "r2" else [value])
            if sweeps_suite is not None and sweeps_emb is not None:
                talk_layer = last if tag == "last" else int(np.argmax(
                    kind_detail["per_layer"]["mean_r2"]))
                talk, estimate = _cross_talk(
                    kind, factors, layer_rows(talk_layer), y, outer, sweeps_suite,
                    np.asarray(sweeps_emb.pooled[talk_layer], dtype=np.float32), tag, s)
                talk["layer"] = layer_names[talk_layer]
                tag_detail["cross_talk"] = talk
                if estimate is not None:
                    rows.append(MetricRow(kind, "cross_talk", tag, estimate))
                    parts[tag].setdefault("cross_talk", []).append(estimate)
            kind_detail[tag] = tag_detail
        detail["kinds"][kind] = kind_detail
    n_total = sum(detail["kinds"][k]["n_windows"] for k in detail["kinds"])
    for tag, named in parts.items():
        for name, estimates in named.items():
            if len(estimates) > 1:
                n = sum(e.n for e in estimates) if name == "cross_talk" else n_total
                bounds = (0.0, np.inf) if name in ("spurious_coupling", "cross_talk") else (
                    -np.inf, np.inf)
                rows.append(MetricRow("all", name, tag, mean_estimate(estimates, n, bounds)))
    detail["chance"] = {"r2": 0.0, "spurious_coupling": 0.0, "cross_talk": 0.0}
    detail["alpha_grid_times_n_train"] = ALPHA_GRID
    detail["layer_names"] = layer_names
    return detail, rows

