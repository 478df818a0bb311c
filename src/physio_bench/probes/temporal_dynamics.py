"""Temporal dynamics: what each token knows about its own stretch of time.

Token-level probes on the layers whose per-token arrays were kept (``embed.token_layers``);
``last`` is the deepest kept layer, ``best`` the per-fold inner-CV choice among them.

- ``reconstruction_r2`` (``factors`` suite): ridge from a token to the signal around it, at
  a fixed duration and resolution whatever the model's patch length: the window's samples
  z-scored per window and channel (mean 0, std 1: what an instance-normalising model such
  as Moirai sees, so amplitude is not asked for) over 0.25 s centred on the token's span,
  at 32 equally spaced points (linear interpolation; :func:`.tokens.reconstruction_times`
  says what happens to tokens shorter or longer than 0.25 s and at the window's edges).
  Tokens covering all channels (channel -1) target the channels concatenated. R² is
  pooled over the 32 points. Tasks ``factors:{kind}`` and ``factors:all``. A patch
  embedding can win it legitimately: it measures what a token keeps of the waveform.
- ``tracking_r2``: ridge from a token to the time-varying ground truth averaged over its
  span: ``heart_rate_bpm`` (ECG/PPG tokens), ``resp_rate_bpm`` and ``resp_phase`` (RSP
  tokens; sine and cosine of the phase, R² pooled over both). Tasks
  ``factors:{target}``; on the ``scenarios`` suite one decoder is cross-validated over all
  windows and scored separately on steady windows (``scenarios:steady:{target}``) and on
  ramp/step windows whose rate (heart rate for ``heart_rate_bpm``, respiratory rate for
  ``resp_*``) changes by at least 3 bpm (``scenarios:ramp_step:{target}``: the windows where
  that target actually moves). ``tracking_within_r2`` (the tracking headline) scores how
  well the change *within* a window is followed beyond what a token's position alone
  predicts: with ``y``, ``p`` the truth and prediction minus their window's mean and
  ``b`` the mean of ``y`` at the token's position (token index) over the ramp/step windows
  (a property of the truth, like the window mean), ``1 - sum (y - p)² / sum (y - b)²``:
  the R² of ``y - b`` by ``p - b``. Tokens that carry only their position (which can
  predict no more than the average time course, e.g. "every ramp goes up") score about 0,
  so do tokens that carry nothing; a tracker that follows each window's own course
  scores 1. ``n`` counts tokens, ``n_subjects`` the subjects they come from.
- ``autocorrelation_agreement`` (``factors`` suite, all tokens of each window), an excess
  over a null: for window ``w``, ``a(w, w)`` is the Pearson correlation, across lags of
  1..T/2 tokens, between the z-scored signal's autocorrelation at the lag in samples
  (token stride x lag) and the mean cosine similarity of ``w``'s token embeddings that many
  tokens apart (embeddings centred on the window's mean token, so a shared offset does not
  dominate). The null pairs ``w``'s similarity curve with the autocorrelation of
  :data:`N_NULL_PARTNERS` other windows of the same kind from other subjects (seeded),
  ``a(w, w')``; the metric is ``a(w, w) - mean a(w, w')``, averaged over windows, chance 0.
  Tokens that carry only their position (the same similarity curve in every window)
  score 0 whatever the signal's typical spectrum, which the raw correlation rewarded
  (+0.88 on EDA-like random walks). A patch embedding can win it legitimately (its
  similarity *is* the signal's autocorrelation). ``best`` is the layer most often chosen
  by the reconstruction probe. Token strides may vary by one sample (spans mapped back
  from another input rate); lags use the mean stride.

Models whose tokens have no temporal resolution (fewer than 4 distinct spans per
channel, e.g. the handcrafted baseline) are skipped, with the reason in the JSON.

The out-of-fold predictions of the ``scenarios`` tracking tasks (``tracking_r2`` on steady
and ramp/step windows and ``tracking_within_r2``, the latter with each window's means
removed, so that R² of the stored rows is the metric) are returned as a table, one row per
token (``item`` = window x tokens per window + token) and target (``sin``/``cos`` for the
phase).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import Suite
from physio_bench.probes.common import (
    MetricRow,
    ProbeSettings,
    concat_predictions,
    mode_layer,
    predictions_frame,
    selection_detail,
    subsample,
)
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.data import Embeddings
from physio_bench.probes.ridge import NestedRidgeResult, nested_ridge
from physio_bench.probes.stats import (
    Estimate,
    bootstrap_counts,
    derive_seed,
    estimate_from_samples,
    group_index,
    r2_estimates,
    weighted_mean_estimate,
)
from physio_bench.probes.tokens import (
    RECONSTRUCTION_POINTS,
    RECONSTRUCTION_SPAN_S,
    TokenRows,
    gather_tokens,
    reconstruction_targets,
    reconstruction_times,
    select_tokens,
    span_means,
    temporal_resolution_problem,
    zscore_windows,
)
from physio_bench.statistics import cv_estimate

STAGE = "temporal_dynamics"
#: tracking target -> (key in targets.npz, channels whose tokens decode it)
TRACKING_TARGETS = {
    "heart_rate_bpm": ("heart_rate_bpm", ("ecg", "ppg")),
    "resp_rate_bpm": ("resp_rate_bpm", ("rsp",)),
    "resp_phase": ("resp_phase_rad", ("rsp",)),
}
#: a ramp/step window counts for a target when its rate changes at least this much (bpm)
MIN_RATE_CHANGE_BPM = 3.0
N_EXAMPLES = 6
N_TRACES = 4
#: other windows of the same kind whose autocorrelation forms a window's null
N_NULL_PARTNERS = 5


def _token_features(emb: Embeddings, names: list[str], rows: TokenRows, layer: int) -> np.ndarray:
    return gather_tokens(emb.tokens(names[layer]), rows)


def _fit(emb: Embeddings, names: list[str], rows: TokenRows, y: np.ndarray,
         groups: np.ndarray, s: ProbeSettings, stream: str
         ) -> tuple[NestedRidgeResult, np.ndarray]:
    """Nested ridge over the token layers, and the outer fold of every item."""
    outer, inner = nested_folds(groups, s.cv_folds, s.inner_folds,
                                derive_seed(s.seed, STAGE, stream, "folds"), what=stream)
    result = nested_ridge(partial(_token_features, emb, names, rows), len(names), y, outer,
                          inner)
    return result, outer


def _tag_predictions(result: NestedRidgeResult) -> dict[str, np.ndarray]:
    return {"last": result.oof[-1], "best": result.oof_best}


def _pooled_r2_point(y: np.ndarray, pred: np.ndarray) -> float:
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum()
    return float(1.0 - ((y - pred) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


def _reconstruction_candidates(channels: np.ndarray) -> np.ndarray:
    """Indices of the tokens to reconstruct: the per-channel ones or the all-channel ones
    (whichever are more)."""
    per_channel, all_channels = channels >= 0, channels < 0
    return np.flatnonzero(per_channel if per_channel.sum() >= all_channels.sum()
                          else all_channels)


def _reconstruction(suite: Suite, emb: Embeddings, names: list[str], s: ProbeSettings
                    ) -> tuple[dict[str, Any], list[MetricRow], np.ndarray | None]:
    spans, channels = emb.token_spans, emb.token_channels
    candidates = _reconstruction_candidates(channels)
    n_windows = suite.signals.shape[0]
    rows = select_tokens(candidates, np.ones((n_windows, len(candidates)), dtype=bool),
                         s.max_tokens_per_window, derive_seed(s.seed, STAGE, "reconstruction"))
    zsig = zscore_windows(suite.signals)
    y = reconstruction_targets(zsig, rows, spans, channels, suite.sampling_rate_hz)
    labels = suite.labels
    groups = labels["subject_id"].to_numpy()[rows.window]
    kinds = labels["signal_kind"].to_numpy()[rows.window]
    result, _ = _fit(emb, names, rows, y, groups, s, "factors suite tokens (reconstruction)")
    out_rows: list[MetricRow] = []
    lengths = spans[rows.token, 1] - spans[rows.token, 0]
    detail: dict[str, Any] = {
        "target_span_s": RECONSTRUCTION_SPAN_S, "target_points": RECONSTRUCTION_POINTS,
        "token_span_samples": {"min": int(lengths.min()), "max": int(lengths.max()),
                               "median": float(np.median(lengths))},
        "target_dim": y.shape[1], "n_tokens": len(rows),
        "per_layer": {"all": [_pooled_r2_point(y, p) for p in result.oof]},
        "selection": selection_detail(result.chosen_layer, result.inner_score, names),
    }
    for kind in np.unique(kinds):
        detail["per_layer"][str(kind)] = [
            _pooled_r2_point(y[kinds == kind], p[kinds == kind]) for p in result.oof
        ]
    pick = subsample(len(rows), N_EXAMPLES, derive_seed(s.seed, STAGE, "examples"))
    detail["examples"] = [
        {"window": int(rows.window[i]), "kind": str(kinds[i]),
         "span": spans[rows.token[i]],
         "target_samples": [float(t) for t in reconstruction_times(
             spans[rows.token[i:i + 1]], suite.signals.shape[2],
             suite.sampling_rate_hz)[0, [0, -1]]], "true": y[i],
         "pred_last": result.oof[-1][i], "pred_best": result.oof_best[i]}
        for i in pick
    ]
    for tag, pred in _tag_predictions(result).items():
        seed = derive_seed(s.seed, STAGE, "reconstruction", tag)
        tag_detail: dict[str, Any] = {
            "layer": names[-1] if tag == "last" else "per fold (see selection)"}
        for kind in [*np.unique(kinds), "all"]:
            mask = np.ones(len(kinds), bool) if kind == "all" else kinds == kind
            estimate = r2_estimates(y[mask], pred[mask], groups[mask], s.bootstrap,
                                    derive_seed(seed, kind), pooled=True,
                                    folds=result.outer[mask])
            out_rows.append(MetricRow(f"factors:{kind}", "reconstruction_r2", tag, estimate))
            tag_detail[str(kind)] = estimate.to_dict()
        detail[tag] = tag_detail
    return detail, out_rows, result.chosen_layer


def _tracking_values(suite: Suite, spans: np.ndarray, target: str) -> np.ndarray | None:
    """windows x tokens x k span means of a tracking target (k=2 for the phase)."""
    key = TRACKING_TARGETS[target][0]
    if key not in suite.targets:
        return None
    values = np.asarray(suite.targets[key], dtype=np.float64)
    if target == "resp_phase":
        return np.stack([span_means(np.sin(values), spans), span_means(np.cos(values), spans)],
                        axis=2)
    return span_means(values, spans)[:, :, None]


def _relevant_tokens(suite: Suite, channels: np.ndarray, target: str) -> np.ndarray:
    """Tokens whose channel carries ``target`` (all tokens of single-channel suites)."""
    names = list(suite.meta.get("channel_names", []))
    if len(names) <= 1:
        return np.arange(len(channels))
    wanted = {names.index(c) for c in TRACKING_TARGETS[target][1] if c in names}
    return np.flatnonzero([c < 0 or int(c) in wanted for c in channels])


def _moving_windows(suite: Suite, target: str) -> np.ndarray:
    """Windows whose underlying rate changes by at least :data:`MIN_RATE_CHANGE_BPM`
    (heart rate for ``heart_rate_bpm``, respiratory rate for ``resp_*``)."""
    key = "heart_rate_bpm" if target == "heart_rate_bpm" else "resp_rate_bpm"
    rates = np.asarray(suite.targets.get(key, np.full(suite.signals.shape[::2], np.nan)))
    finite = np.isfinite(rates).any(axis=1)
    change = np.zeros(len(rates))
    change[finite] = np.nanmax(rates[finite], axis=1) - np.nanmin(rates[finite], axis=1)
    return change >= MIN_RATE_CHANGE_BPM


def position_means(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each item, the mean of ``values`` (items x k) over the items at its position."""
    keys, index = np.unique(positions, return_inverse=True)
    sums = np.zeros((len(keys), values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index, minlength=len(keys))[:, None]
    return (sums / counts)[index]


def skill_estimate(error: np.ndarray, baseline_error: np.ndarray, groups: np.ndarray,
                   n_boot: int, seed: int, folds: np.ndarray | None = None) -> Estimate:
    """``1 - sum error² / sum baseline_error²`` (summed over items and columns) with a 95%
    interval: the corrected resampled t interval over the outer ``folds`` of
    cross-validated predictions (:func:`physio_bench.statistics.cv_estimate`), else a
    grouped bootstrap."""
    index, n_groups = group_index(groups)
    sq = np.column_stack([(np.asarray(error, float) ** 2).reshape(len(groups), -1).sum(axis=1),
                          (np.asarray(baseline_error, float) ** 2).reshape(len(groups), -1)
                          .sum(axis=1)])

    def skill(totals: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals[:, 1] > 0, 1.0 - totals[:, 0] / totals[:, 1], np.nan)

    if folds is not None:
        ids, fold_index = np.unique(np.asarray(folds), return_inverse=True)
        per_fold = np.zeros((len(ids), 2))
        np.add.at(per_fold, fold_index.reshape(-1), sq)
        value = float(skill(sq.sum(axis=0, keepdims=True))[0])
        return cv_estimate(value, skill(per_fold), len(ids), len(groups), n_groups,
                           (-np.inf, 1.0))
    sums = np.zeros((n_groups, 2))
    np.add.at(sums, index, sq)
    weights = np.vstack([np.ones((1, n_groups)), bootstrap_counts(n_groups, n_boot, seed)])
    values = skill(weights @ sums)
    return estimate_from_samples(values[0], values[1:], len(groups), (-np.inf, 1.0),
                                 n_subjects=n_groups)


def _within(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """``values`` (items x k) minus the mean of its window."""
    _, index = np.unique(windows, return_inverse=True)
    sums = np.zeros((index.max() + 1, values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index)[:, None]
    return values - (sums / counts)[index]


def _tracking(suite_name: str, suite: Suite, emb: Embeddings, names: list[str],
              target: str, s: ProbeSettings
              ) -> tuple[dict[str, Any], list[MetricRow], list[pd.DataFrame]]:
    spans, channels = emb.token_spans, emb.token_channels
    values = _tracking_values(suite, spans, target)
    if values is None:
        return {"skipped": f"targets.npz of the {suite_name} suite has no "
                           f"{TRACKING_TARGETS[target][0]}"}, [], []
    candidates = _relevant_tokens(suite, channels, target)
    cand_values = values[:, candidates]
    valid = np.isfinite(cand_values).all(axis=2)
    rows = select_tokens(candidates, valid, s.max_tokens_per_window,
                         derive_seed(s.seed, STAGE, suite_name, target, "tokens"))
    if len(rows) == 0:
        return {"skipped": f"no token with a finite {target} in the {suite_name} suite"}, [], []
    y = values[rows.window, rows.token]
    if np.ptp(y, axis=0).max() <= 0:
        return {"skipped": f"{target} is constant in the {suite_name} suite"}, [], []
    labels = suite.labels
    groups = labels["subject_id"].astype(str).to_numpy()[rows.window]
    result, _ = _fit(emb, names, rows, y, groups, s, f"{suite_name} suite tokens ({target})")
    dynamics = labels["dynamics"].to_numpy()[rows.window] if "dynamics" in labels else None
    subsets: dict[str, np.ndarray] = {f"{suite_name}:{target}": np.ones(len(rows), bool)}
    if suite_name == "scenarios" and dynamics is not None:
        moving = _moving_windows(suite, target)[rows.window]
        subsets = {f"scenarios:steady:{target}": dynamics == "steady",
                   f"scenarios:ramp_step:{target}": np.isin(dynamics, ["ramp", "step"]) & moving}
    detail: dict[str, Any] = {
        "n_tokens": len(rows), "n_windows": len(np.unique(rows.window)),
        "selection": selection_detail(result.chosen_layer, result.inner_score, names),
        "per_layer": {task: [_pooled_r2_point(y[m], p[m]) for p in result.oof]
                      for task, m in subsets.items() if m.any()},
    }
    out_rows: list[MetricRow] = []
    frames: list[pd.DataFrame] = []
    items = rows.window * len(spans) + rows.token
    columns = ["sin", "cos"] if target == "resp_phase" else [target]
    keep_predictions = suite_name == "scenarios"
    for tag, pred in _tag_predictions(result).items():
        seed = derive_seed(s.seed, STAGE, suite_name, target, tag)
        tag_detail: dict[str, Any] = {}
        for task, mask in subsets.items():
            n_subjects = len(np.unique(groups[mask]))
            if mask.sum() < 2:
                tag_detail[task] = {"skipped": "fewer than 2 tokens in this subset"}
                for metric in ("tracking_r2", "tracking_within_r2")[
                        :2 if task.startswith("scenarios:ramp_step") else 1]:
                    out_rows.append(MetricRow.missing(
                        task, metric, tag, "not estimable: fewer than 2 tokens in this subset",
                        int(mask.sum()), n_subjects))
                continue
            est = r2_estimates(y[mask], pred[mask], groups[mask], s.bootstrap,
                               derive_seed(seed, task), pooled=True, folds=result.outer[mask])
            tag_detail[task] = {"tracking_r2": est.to_dict()}
            out_rows.append(MetricRow(task, "tracking_r2", tag, est))
            if keep_predictions:
                frames.append(predictions_frame(task, "tracking_r2", tag, items[mask],
                                                groups[mask], columns, y[mask], pred[mask],
                                                folds=result.outer[mask]))
            if task.startswith("scenarios:ramp_step"):
                win = rows.window[mask]
                true_w, pred_w = _within(y[mask], win), _within(pred[mask], win)
                base = position_means(true_w, rows.token[mask])
                within = skill_estimate(true_w - pred_w, true_w - base, groups[mask],
                                        s.bootstrap, derive_seed(seed, task, "w"),
                                        folds=result.outer[mask])
                tag_detail[task]["tracking_within_r2"] = within.to_dict()
                out_rows.append(MetricRow(task, "tracking_within_r2", tag, within))
                frames.append(predictions_frame(task, "tracking_within_r2", tag, items[mask],
                                                groups[mask], columns, true_w - base,
                                                pred_w - base, folds=result.outer[mask]))
        detail[tag] = tag_detail
    if dynamics is not None and suite_name == "scenarios":
        detail["traces"] = _traces(suite, emb, rows, y, result, dynamics, target)
    return detail, out_rows, frames


def _traces(suite: Suite, emb: Embeddings, rows: TokenRows, y: np.ndarray,
            result: NestedRidgeResult, dynamics: np.ndarray, target: str
            ) -> list[dict[str, Any]]:
    """True and decoded target over time for a few ramp/step windows (distinct scenarios
    first)."""
    moving = np.unique(rows.window[np.isin(dynamics, ["ramp", "step"])])
    scenario = suite.labels["scenario"].to_numpy()
    picked: list[int] = []
    for w in moving:
        if scenario[w] not in {scenario[p] for p in picked}:
            picked.append(int(w))
    picked += [int(w) for w in moving if int(w) not in picked]
    rate = float(suite.meta["sampling_rate_hz"])
    names = list(suite.meta.get("channel_names", []))
    traces = []
    for w in picked[:N_TRACES]:
        idx = np.flatnonzero(rows.window == w)
        span = emb.token_spans[rows.token[idx]]
        order = np.argsort(span.mean(axis=1), kind="stable")
        idx, span = idx[order], span[order]
        traces.append({
            "window": w, "scenario": str(scenario[w]), "target": target,
            "time_s": span.mean(axis=1) / rate,
            "channel": [names[c] if 0 <= c < len(names) else "all"
                        for c in emb.token_channels[rows.token[idx]]],
            "true": y[idx], "pred_last": result.oof[-1][idx], "pred_best": result.oof_best[idx],
        })
    return traces


def signal_autocorrelation(z: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Biased autocorrelation (lag 0 = 1) of each row of ``z`` (windows x samples) at
    ``lags`` (samples): windows x len(lags); 0 for a constant row."""
    n = z.shape[1]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(z, size, axis=1)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size, axis=1)[:, :n]
    zero = acf[:, :1]
    return np.where(zero > 1e-12, acf[:, lags] / np.where(zero > 1e-12, zero, 1.0), 0.0)


def embedding_lag_similarity(tokens: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean cosine similarity of tokens ``k`` apart, k = 1..max_lag, after centring each
    window's tokens on their mean: windows x max_lag. tokens: windows x T x dim (in time
    order)."""
    e = np.asarray(tokens, dtype=np.float64)
    e = e - e.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(e, axis=2, keepdims=True)
    e = np.where(norm > 0, e / np.where(norm > 0, norm, 1.0), 0.0)
    gram = np.matmul(e, e.transpose(0, 2, 1))
    return np.stack([np.diagonal(gram, offset=k, axis1=1, axis2=2).mean(axis=1)
                     for k in range(1, max_lag + 1)], axis=1)


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows; NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-12, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


def _regular_sequence(spans: np.ndarray, channels: np.ndarray) -> tuple[np.ndarray, float] | str:
    """Token indices of the most populous channel in time order (the longest run of equally
    spaced tokens: a partial first or last patch is left out), and their mean stride in
    samples; or the reason there is no such run of at least 6 tokens. Strides may differ
    by one sample (spans rounded after mapping back from another input rate)."""
    values, counts = np.unique(channels, return_counts=True)
    channel = values[np.argmax(counts)]
    idx = np.flatnonzero(channels == channel)
    idx = idx[np.argsort(spans[idx, 0], kind="stable")]
    steps = np.diff(spans[idx, 0])
    if len(idx) < 6 or steps.min() <= 0:
        return "tokens of one channel do not form a regular sequence of at least 6 steps"
    stride = float(np.median(steps))
    regular = np.abs(steps - stride) <= max(1.0, 0.05 * stride)
    best_start = best_length = start = 0
    for i, ok in enumerate([*regular, False]):
        if not ok:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = i + 1
    if best_length + 1 < 6:
        return "tokens of one channel do not form a regular sequence of at least 6 steps"
    run = idx[best_start:best_start + best_length + 1]
    return run, float(np.diff(spans[run, 0]).mean())


def null_partners(kinds: np.ndarray, groups: np.ndarray, n_partners: int, seed: int
                  ) -> np.ndarray:
    """windows x ``n_partners`` indices of other windows of the same kind and another
    subject (seeded; -1 where the kind has no such window)."""
    rng = np.random.default_rng(seed)
    out = np.full((len(kinds), n_partners), -1, dtype=np.int64)
    for kind in np.unique(kinds):
        members = np.flatnonzero(kinds == kind)
        for w in members:
            pool = members[groups[members] != groups[w]]
            if len(pool):
                out[w] = rng.choice(pool, size=n_partners, replace=len(pool) < n_partners)
    return out


def agreement_excess(acf: np.ndarray, similarity: np.ndarray, partners: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: own agreement ``a(w, w)``, null ``mean a(w, w')`` over its partners, and
    their difference (NaN where undefined, e.g. a constant similarity curve)."""
    own = rowwise_pearson(acf, similarity)
    null = np.full(len(acf), np.nan)
    valid = (partners >= 0).all(axis=1)
    if valid.any():
        values = np.stack([rowwise_pearson(acf[partners[valid, j]], similarity[valid])
                           for j in range(partners.shape[1])], axis=1)
        null[valid] = values.mean(axis=1)
    return own, null, own - null


def _missing_autocorrelation(reason: str) -> list[MetricRow]:
    return [MetricRow.missing("factors:all", "autocorrelation_agreement", tag,
                              f"not estimable: {reason}") for tag in ("last", "best")]


def _autocorrelation(suite: Suite, emb: Embeddings, names: list[str], chosen: np.ndarray | None,
                     s: ProbeSettings) -> tuple[dict[str, Any], list[MetricRow]]:
    sequence = _regular_sequence(emb.token_spans, emb.token_channels)
    if isinstance(sequence, str):
        return {"skipped": sequence}, _missing_autocorrelation(sequence)
    idx, stride = sequence
    n_samples = suite.signals.shape[2]
    max_lag = min(len(idx) // 2, int((n_samples - 1) // stride))
    if max_lag < 3:
        reason = f"only {max_lag} whole-token lags fit in a window (need 3)"
        return {"skipped": reason}, _missing_autocorrelation(reason)
    lags = np.round(stride * np.arange(1, max_lag + 1)).astype(np.int64)
    z = zscore_windows(suite.signals)[:, max(int(emb.token_channels[idx[0]]), 0)]
    acf = signal_autocorrelation(z, lags)
    labels = suite.labels
    kinds = labels["signal_kind"].astype(str).to_numpy()
    groups = labels["subject_id"].astype(str).to_numpy()
    partners = null_partners(kinds, groups, N_NULL_PARTNERS,
                             derive_seed(s.seed, STAGE, "autocorrelation", "null"))
    excess, own_all, null_all, similarity = [], [], [], []
    for name in names:
        tokens = emb.tokens(name)
        sims = np.concatenate([
            embedding_lag_similarity(np.asarray(tokens[w:w + 256][:, idx], dtype=np.float32),
                                     max_lag)
            for w in range(0, tokens.shape[0], 256)
        ])
        similarity.append(sims)
        own, null, diff = agreement_excess(acf, sims, partners)
        own_all.append(own)
        null_all.append(null)
        excess.append(diff)
    detail: dict[str, Any] = {
        "lags_tokens": np.arange(1, max_lag + 1), "lags_samples": lags, "stride_samples": stride,
        "n_null_partners": N_NULL_PARTNERS, "per_layer": {}, "per_layer_own": {},
        "per_layer_null": {}, "curves": {},
    }
    kind_names = [*np.unique(kinds).tolist(), "all"]

    def mean_of(values: np.ndarray, mask: np.ndarray) -> float | None:
        return float(np.nanmean(values[mask])) if np.isfinite(values[mask]).any() else None

    for kind in kind_names:
        mask = np.ones(len(kinds), bool) if kind == "all" else kinds == kind
        detail["per_layer"][kind] = [mean_of(a, mask) for a in excess]
        detail["per_layer_own"][kind] = [mean_of(a, mask) for a in own_all]
        detail["per_layer_null"][kind] = [mean_of(a, mask) for a in null_all]
        detail["curves"][kind] = {
            "signal_autocorrelation": acf[mask].mean(axis=0),
            "embedding_similarity": {n: sim[mask].mean(axis=0) for n, sim in zip(
                names, similarity, strict=True)},
        }
    layers = {"last": len(names) - 1,
              "best": mode_layer(chosen) if chosen is not None else len(names) - 1}
    rows = []
    for tag, layer in layers.items():
        detail[tag] = {"layer": names[layer]}
        values = excess[layer]
        for kind in kind_names:
            in_kind = np.ones(len(kinds), bool) if kind == "all" else kinds == kind
            mask = in_kind & np.isfinite(values)
            task = f"factors:{kind}"
            if mask.sum() < 2:
                rows.append(MetricRow.missing(
                    task, "autocorrelation_agreement", tag, "not estimable: the token "
                    "similarity or the signal autocorrelation is constant across lags",
                    int(in_kind.sum()), len(np.unique(groups[in_kind]))))
                continue
            est = weighted_mean_estimate(values[mask], groups[mask], s.bootstrap,
                                         derive_seed(s.seed, STAGE, "autocorrelation", tag, kind))
            detail[tag][kind] = est.to_dict()
            detail[tag][f"{kind}_own"] = float(np.nanmean(own_all[layer][mask]))
            detail[tag][f"{kind}_null"] = float(np.nanmean(null_all[layer][mask]))
            detail[tag][f"{kind}_n_windows_skipped"] = int(in_kind.sum() - mask.sum())
            rows.append(MetricRow(task, "autocorrelation_agreement", tag, est))
    return detail, rows


#: rows reported as not estimable (with the reason) for models without temporal tokens
SUMMARY_TASKS = (("factors:all", "reconstruction_r2"),
                 ("scenarios:ramp_step:heart_rate_bpm", "tracking_within_r2"),
                 ("factors:all", "autocorrelation_agreement"))


def run_temporal_dynamics(
    factors_suite: Suite,
    factors_emb: Embeddings,
    s: ProbeSettings,
    scenarios_suite: Suite | None = None,
    scenarios_emb: Embeddings | None = None,
) -> tuple[dict[str, Any], list[MetricRow], pd.DataFrame]:
    """Run the probe; returns the JSON detail, the leaderboard rows (without model) and the
    out-of-fold predictions of the scenarios tracking tasks."""
    names = factors_emb.token_layers
    detail: dict[str, Any] = {"layer_names": factors_emb.layer_names, "token_layers": names,
                              "skipped": []}
    problem = ("the model kept no per-token arrays (see embed.token_layers)" if not names
               else temporal_resolution_problem(factors_emb.token_spans,
                                                factors_emb.token_channels))
    if problem:
        detail["skipped"].append({"task": "all", "reason": problem})
        missing = [MetricRow.missing(task, metric, tag, f"not estimable: {problem}")
                   for task, metric in SUMMARY_TASKS for tag in ("last", "best")]
        return detail, missing, concat_predictions([])
    detail["last_layer"] = names[-1]
    rows: list[MetricRow] = []
    frames: list[pd.DataFrame] = []
    recon, recon_rows, chosen = _reconstruction(factors_suite, factors_emb, names, s)
    detail["reconstruction"] = recon
    rows += recon_rows
    detail["tracking"] = {}
    for target in TRACKING_TARGETS:
        task_detail, task_rows, _ = _tracking("factors", factors_suite, factors_emb, names,
                                              target, s)
        detail["tracking"][f"factors:{target}"] = task_detail
        rows += task_rows
    if scenarios_suite is not None and scenarios_emb is not None:
        scen_names = scenarios_emb.token_layers
        scen_problem = temporal_resolution_problem(scenarios_emb.token_spans,
                                                   scenarios_emb.token_channels)
        if scen_names and not scen_problem:
            for target in TRACKING_TARGETS:
                task_detail, task_rows, task_frames = _tracking(
                    "scenarios", scenarios_suite, scenarios_emb, scen_names, target, s)
                detail["tracking"][f"scenarios:{target}"] = task_detail
                rows += task_rows
                frames += task_frames
        else:
            reason = scen_problem or "no per-token arrays for the scenarios suite"
            detail["skipped"].append({"task": "scenarios", "reason": reason})
            rows += [MetricRow.missing(SUMMARY_TASKS[1][0], SUMMARY_TASKS[1][1], tag,
                                       f"not estimable: {reason}") for tag in ("last", "best")]
    for entry in detail["tracking"].values():
        if "skipped" in entry:
            detail["skipped"].append({"task": "tracking", "reason": entry["skipped"]})
    detail["autocorrelation"], auto_rows = _autocorrelation(factors_suite, factors_emb, names,
                                                            chosen, s)
    rows += auto_rows
    detail["chance"] = {"reconstruction_r2": 0.0, "tracking_r2": 0.0,
                        "tracking_within_r2": 0.0, "autocorrelation_agreement": 0.0}
    return detail, rows, concat_predictions(frames)
