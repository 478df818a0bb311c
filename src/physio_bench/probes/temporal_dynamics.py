"""Temporal dynamics: what each token knows about its own stretch of time.

Token-level probes on the layers whose per-token arrays were kept (``embed.token_layers``);
``last`` is the deepest kept layer, ``best`` the per-fold inner-CV choice among them.

- ``reconstruction_r2`` (``factors`` suite): ridge from a token to the samples of its own
  span. Targets are the window's samples z-scored per window and channel (mean 0, std 1:
  what an instance-normalising model such as Moirai sees, so amplitude is not asked
  for); tokens covering all channels (channel -1) target the channels' spans
  concatenated. Only tokens of the most common span length are used; spans longer than
  64 samples are block-averaged to 64 values. R² is pooled over the span's samples.
  Tasks ``factors:{kind}`` and ``factors:all``.
- ``tracking_r2``: ridge from a token to the time-varying ground truth averaged over its
  span: ``heart_rate_bpm`` (ECG/PPG tokens), ``resp_rate_bpm`` and ``resp_phase`` (RSP
  tokens; sine and cosine of the phase, R² pooled over both). Tasks
  ``factors:{target}``; on the ``scenarios`` suite one decoder is cross-validated over all
  windows and scored separately on steady windows (``scenarios:steady:{target}``) and on
  ramp/step windows whose rate (heart rate for ``heart_rate_bpm``, respiratory rate for
  ``resp_*``) changes by at least 3 bpm (``scenarios:ramp_step:{target}``: the windows where
  that target actually moves); ``tracking_within_r2`` scores the
  ramp/step windows after removing each window's mean (truth and prediction), i.e. how
  well the change *within* a window is followed.
- ``autocorrelation_agreement`` (``factors`` suite, all tokens of each window): Pearson
  correlation, across lags of 1..T/2 tokens, between the z-scored signal's
  autocorrelation at the lag in samples (token stride x lag) and the mean cosine
  similarity of token embeddings that many tokens apart (embeddings centred on the
  window's mean token, so a shared offset does not dominate). Averaged over windows.
  ``best`` is the layer most often chosen by the reconstruction probe.

Models whose tokens have no temporal resolution (fewer than 4 distinct spans per
channel, e.g. the handcrafted baseline) are skipped, with the reason in the JSON.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from physio_bench.io import Suite
from physio_bench.probes.common import (
    MetricRow,
    ProbeSettings,
    mode_layer,
    selection_detail,
    subsample,
)
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.data import Embeddings
from physio_bench.probes.ridge import NestedRidgeResult, nested_ridge
from physio_bench.probes.stats import (
    derive_seed,
    r2_estimates,
    weighted_mean_estimate,
)
from physio_bench.probes.tokens import (
    TokenRows,
    gather_tokens,
    modal_span_length,
    reconstruction_targets,
    select_tokens,
    span_means,
    temporal_resolution_problem,
    zscore_windows,
)

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


def _token_features(emb: Embeddings, names: list[str], rows: TokenRows, layer: int) -> np.ndarray:
    return gather_tokens(emb.tokens(names[layer]), rows)


def _fit(emb: Embeddings, names: list[str], rows: TokenRows, y: np.ndarray,
         groups: np.ndarray, s: ProbeSettings, stream: str) -> NestedRidgeResult:
    outer, inner = nested_folds(groups, s.cv_folds, s.inner_folds,
                                derive_seed(s.seed, STAGE, stream, "folds"), what=stream)
    return nested_ridge(partial(_token_features, emb, names, rows), len(names), y, outer, inner)


def _tag_predictions(result: NestedRidgeResult) -> dict[str, np.ndarray]:
    return {"last": result.oof[-1], "best": result.oof_best}


def _pooled_r2_point(y: np.ndarray, pred: np.ndarray) -> float:
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum()
    return float(1.0 - ((y - pred) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


def _reconstruction_candidates(spans: np.ndarray, channels: np.ndarray
                               ) -> tuple[int, np.ndarray]:
    """Span length and indices of the tokens to reconstruct: those of the most common
    length, either the per-channel ones or the all-channel ones (whichever are more)."""
    length = modal_span_length(spans)
    same = (spans[:, 1] - spans[:, 0]) == length
    per_channel, all_channels = same & (channels >= 0), same & (channels < 0)
    return length, np.flatnonzero(
        per_channel if per_channel.sum() >= all_channels.sum() else all_channels)


def _reconstruction(suite: Suite, emb: Embeddings, names: list[str], s: ProbeSettings
                    ) -> tuple[dict[str, Any], list[MetricRow], np.ndarray | None]:
    spans, channels = emb.token_spans, emb.token_channels
    length, candidates = _reconstruction_candidates(spans, channels)
    n_windows = suite.signals.shape[0]
    rows = select_tokens(candidates, np.ones((n_windows, len(candidates)), dtype=bool),
                         s.max_tokens_per_window, derive_seed(s.seed, STAGE, "reconstruction"))
    zsig = zscore_windows(suite.signals)
    y = reconstruction_targets(zsig, rows, spans, channels)
    labels = suite.labels
    groups = labels["subject_id"].to_numpy()[rows.window]
    kinds = labels["signal_kind"].to_numpy()[rows.window]
    result = _fit(emb, names, rows, y, groups, s, "factors suite tokens (reconstruction)")
    out_rows: list[MetricRow] = []
    detail: dict[str, Any] = {
        "span_length_samples": length, "target_dim": y.shape[1], "n_tokens": len(rows),
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
         "span": spans[rows.token[i]], "true": y[i],
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
                                    folds=result.outer[mask], min_groups=s.min_groups)
            if estimate.finite or estimate.note:
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


def _within(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """``values`` (items x k) minus the mean of its window."""
    _, index = np.unique(windows, return_inverse=True)
    sums = np.zeros((index.max() + 1, values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index)[:, None]
    return values - (sums / counts)[index]


def _tracking(suite_name: str, suite: Suite, emb: Embeddings, names: list[str],
              target: str, s: ProbeSettings) -> tuple[dict[str, Any], list[MetricRow]]:
    spans, channels = emb.token_spans, emb.token_channels
    values = _tracking_values(suite, spans, target)
    if values is None:
        return {"skipped": f"targets.npz of the {suite_name} suite has no "
                           f"{TRACKING_TARGETS[target][0]}"}, []
    candidates = _relevant_tokens(suite, channels, target)
    cand_values = values[:, candidates]
    valid = np.isfinite(cand_values).all(axis=2)
    rows = select_tokens(candidates, valid, s.max_tokens_per_window,
                         derive_seed(s.seed, STAGE, suite_name, target, "tokens"))
    if len(rows) == 0:
        return {"skipped": f"no token with a finite {target} in the {suite_name} suite"}, []
    y = values[rows.window, rows.token]
    if np.ptp(y, axis=0).max() <= 0:
        return {"skipped": f"{target} is constant in the {suite_name} suite"}, []
    labels = suite.labels
    groups = labels["subject_id"].to_numpy()[rows.window]
    result = _fit(emb, names, rows, y, groups, s, f"{suite_name} suite tokens ({target})")
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
    out_rows = []
    for tag, pred in _tag_predictions(result).items():
        seed = derive_seed(s.seed, STAGE, suite_name, target, tag)
        tag_detail: dict[str, Any] = {}
        for task, mask in subsets.items():
            if mask.sum() < 2:
                tag_detail[task] = {"skipped": "fewer than 2 tokens in this subset"}
                continue
            est = r2_estimates(y[mask], pred[mask], groups[mask], s.bootstrap,
                               derive_seed(seed, task), pooled=True,
                               folds=result.outer[mask], min_groups=s.min_groups)
            tag_detail[task] = {"tracking_r2": est.to_dict()}
            if est.finite or est.note:
                out_rows.append(MetricRow(task, "tracking_r2", tag, est))
            if task.startswith("scenarios:ramp_step"):
                win = rows.window[mask]
                within = r2_estimates(_within(y[mask], win), _within(pred[mask], win),
                                      groups[mask], s.bootstrap, derive_seed(seed, task, "w"),
                                      pooled=True, folds=result.outer[mask],
                                      min_groups=s.min_groups)
                tag_detail[task]["tracking_within_r2"] = within.to_dict()
                if within.finite or within.note:
                    out_rows.append(MetricRow(task, "tracking_within_r2", tag, within))
        detail[tag] = tag_detail
    if dynamics is not None and suite_name == "scenarios":
        detail["traces"] = _traces(suite, emb, rows, y, result, dynamics, target)
    return detail, out_rows


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


def _regular_sequence(spans: np.ndarray, channels: np.ndarray) -> tuple[np.ndarray, int] | str:
    """Token indices of the most populous channel in time order, and the stride (samples);
    or the reason they do not form a regular sequence."""
    values, counts = np.unique(channels, return_counts=True)
    channel = values[np.argmax(counts)]
    idx = np.flatnonzero(channels == channel)
    idx = idx[np.argsort(spans[idx, 0], kind="stable")]
    steps = np.diff(spans[idx, 0])
    if len(idx) < 6 or steps.min() <= 0 or np.ptp(steps) != 0:
        return "tokens of one channel do not form a regular sequence of at least 6 steps"
    return idx, int(steps[0])


def _autocorrelation(suite: Suite, emb: Embeddings, names: list[str], chosen: np.ndarray | None,
                     s: ProbeSettings) -> tuple[dict[str, Any], list[MetricRow]]:
    sequence = _regular_sequence(emb.token_spans, emb.token_channels)
    if isinstance(sequence, str):
        return {"skipped": sequence}, []
    idx, stride = sequence
    n_samples = suite.signals.shape[2]
    max_lag = min(len(idx) // 2, (n_samples - 1) // stride)
    if max_lag < 3:
        return {"skipped": f"only {max_lag} whole-token lags fit in a window (need 3)"}, []
    lags = stride * np.arange(1, max_lag + 1)
    z = zscore_windows(suite.signals)[:, max(int(emb.token_channels[idx[0]]), 0)]
    acf = signal_autocorrelation(z, lags)
    labels = suite.labels
    kinds = labels["signal_kind"].to_numpy()
    groups = labels["subject_id"].to_numpy()
    agreement, similarity = [], []
    for name in names:
        tokens = emb.tokens(name)
        sims = np.concatenate([
            embedding_lag_similarity(np.asarray(tokens[w:w + 256][:, idx], dtype=np.float32),
                                     max_lag)
            for w in range(0, tokens.shape[0], 256)
        ])
        similarity.append(sims)
        agreement.append(rowwise_pearson(acf, sims))
    detail: dict[str, Any] = {
        "lags_tokens": np.arange(1, max_lag + 1), "lags_samples": lags, "stride_samples": stride,
        "per_layer": {}, "curves": {},
    }
    kind_names = [*np.unique(kinds).tolist(), "all"]
    for kind in kind_names:
        mask = np.ones(len(kinds), bool) if kind == "all" else kinds == kind
        detail["per_layer"][kind] = [float(np.nanmean(a[mask])) if np.isfinite(a[mask]).any()
                                     else None for a in agreement]
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
        values = agreement[layer]
        for kind in kind_names:
            mask = (np.ones(len(kinds), bool) if kind == "all" else kinds == kind)
            mask &= np.isfinite(values)
            if mask.sum() < 2:
                continue
            est = weighted_mean_estimate(values[mask], groups[mask], s.bootstrap,
                                         derive_seed(s.seed, STAGE, "autocorrelation", tag, kind),
                                         min_groups=s.min_groups)
            detail[tag][kind] = est.to_dict()
            detail[tag][f"{kind}_n_windows_skipped"] = int(
                ((kinds == kind) if kind != "all" else np.ones(len(kinds), bool)).sum()
                - mask.sum())
            rows.append(MetricRow(f"factors:{kind}", "autocorrelation_agreement", tag, est))
    return detail, rows


def run_temporal_dynamics(
    factors_suite: Suite,
    factors_emb: Embeddings,
    s: ProbeSettings,
    scenarios_suite: Suite | None = None,
    scenarios_emb: Embeddings | None = None,
) -> tuple[dict[str, Any], list[MetricRow]]:
    """Run the probe; returns the JSON detail and the leaderboard rows (without model)."""
    names = factors_emb.token_layers
    detail: dict[str, Any] = {"layer_names": factors_emb.layer_names, "token_layers": names,
                              "skipped": []}
    problem = ("the model kept no per-token arrays (see embed.token_layers)" if not names
               else temporal_resolution_problem(factors_emb.token_spans,
                                                factors_emb.token_channels))
    if problem:
        detail["skipped"].append({"task": "all", "reason": problem})
        return detail, []
    detail["last_layer"] = names[-1]
    rows: list[MetricRow] = []
    recon, recon_rows, chosen = _reconstruction(factors_suite, factors_emb, names, s)
    detail["reconstruction"] = recon
    rows += recon_rows
    detail["tracking"] = {}
    for target in TRACKING_TARGETS:
        task_detail, task_rows = _tracking("factors", factors_suite, factors_emb, names,
                                           target, s)
        detail["tracking"][f"factors:{target}"] = task_detail
        rows += task_rows
    if scenarios_suite is not None and scenarios_emb is not None:
        scen_names = scenarios_emb.token_layers
        scen_problem = temporal_resolution_problem(scenarios_emb.token_spans,
                                                   scenarios_emb.token_channels)
        if scen_names and not scen_problem:
            for target in TRACKING_TARGETS:
                task_detail, task_rows = _tracking("scenarios", scenarios_suite, scenarios_emb,
                                                   scen_names, target, s)
                detail["tracking"][f"scenarios:{target}"] = task_detail
                rows += task_rows
        else:
            detail["skipped"].append({"task": "scenarios", "reason": scen_problem
                                      or "no per-token arrays for the scenarios suite"})
    for entry in detail["tracking"].values():
        if "skipped" in entry:
            detail["skipped"].append({"task": "tracking", "reason": entry["skipped"]})
    detail["autocorrelation"], auto_rows = _autocorrelation(factors_suite, factors_emb, names,
                                                            chosen, s)
    rows += auto_rows
    detail["chance"] = {"reconstruction_r2": 0.0, "tracking_r2": 0.0,
                        "tracking_within_r2": 0.0, "autocorrelation_agreement": 0.0}
    return detail, rows
