"""Reader of ``results/probes/{model}/temporal_dynamics.json``.

Keys read (everything else is ignored)::

    token_layers: [name, ...]                 layers with per-token arrays, shallow to deep
    reconstruction:
      per_layer: {all: [R² per token layer]}
      examples: [{kind: str, span: [start, stop] (samples), true: [...], pred_last: [...],
                  target_samples: [first, last] (optional, fractional samples)}]
                the (z-scored) signal around one token (0.25 s centred on it, at equally
                spaced points from target_samples[0] to [1]; without it, the token's span)
                and its out-of-fold linear reconstruction from that token (last layer)
    tracking:
      {suite:target: {per_layer: {task: [R² per token layer]},
                      traces: [{target, scenario, time_s: [per token], channel: [per token],
                                true: tokens x k, pred_last: tokens x k}]}}
                traces exist for the scenarios suite (ramp and step windows)
    autocorrelation:
      per_layer: {all: [agreement excess per token layer]}

The sampling rate (Hz) for the reconstruction time axis comes from the config.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.inputs.common import as_array, get_key, load_json

PROBE = "temporal_dynamics"
LAYERS = "token_layers"
RECONSTRUCTION = "reconstruction"
EXAMPLES = "examples"
TRACKING = "tracking"
TRACES = "traces"
PER_LAYER = "per_layer"
KIND, SPAN, TRUE, PRED = "kind", "span", "true", "pred_last"
TARGET_SAMPLES = "target_samples"
TARGET, SCENARIO, TIME, CHANNEL = "target", "scenario", "time_s", "channel"
RECONSTRUCTION_CURVE = ("all",)  # per_layer key of the reconstruction R² over all kinds
TRACKING_CURVE = "factors:heart_rate_bpm"  # per_layer key (and tracking entry) of the curve
AUTOCORRELATION = "autocorrelation"
AUTOCORRELATION_CURVE = "all"  # per_layer key of the autocorrelation agreement (excess)
TRACES_PER_TARGET = 2


def json_path(results: str | Path, model: str) -> Path:
    return Path(results) / "probes" / model / f"{PROBE}.json"


def load(results: str | Path, model: str) -> dict[str, Any]:
    return load_json(json_path(results, model))


def reconstruction_examples(data: dict[str, Any], limit: int,
                            sampling_rate_hz: float) -> list[dict[str, Any]]:
    """Up to ``limit`` examples {label, time_s, true, reconstructed}, first per kind, kinds
    sorted; time in seconds from the token's first sample."""
    chosen: dict[str, dict[str, Any]] = {}
    for i, ex in enumerate(get_key(data, [RECONSTRUCTION, EXAMPLES])):
        kind = str(ex.get(KIND, f"example {i}"))
        if kind in chosen:
            continue
        true = as_array(ex.get(TRUE), f"reconstruction example {i} true")
        recon = as_array(ex.get(PRED), f"reconstruction example {i} pred_last")
        if true.ndim != 1 or true.shape != recon.shape or true.size == 0:
            continue
        if TARGET_SAMPLES in ex:
            first, last = (float(v) for v in ex[TARGET_SAMPLES])
            time_s = np.linspace(first, last, true.size) / sampling_rate_hz
        else:
            start, stop = (float(v) for v in ex.get(SPAN, (0, true.size)))
            time_s = (start + np.arange(true.size) * (stop - start) / true.size) \
                / sampling_rate_hz
        chosen[kind] = {"label": kind, "time_s": time_s, "true": true, "reconstructed": recon}
    return [chosen[k] for k in sorted(chosen)][:limit]


def _trace(trace: dict[str, Any], where: str) -> dict[str, Any] | None:
    time_s = as_array(trace.get(TIME), f"{where} time_s")
    true = as_array(trace.get(TRUE), f"{where} true").reshape(len(time_s), -1)[:, 0]
    pred = as_array(trace.get(PRED), f"{where} pred_last").reshape(len(time_s), -1)[:, 0]
    channels = [str(c) for c in trace.get(CHANNEL, ["all"] * len(time_s))]
    if len(channels) != len(time_s) or len(time_s) < 2:
        return None
    channel = Counter(channels).most_common(1)[0][0]  # one channel: a time series, no zigzag
    keep = np.array([c == channel for c in channels])
    order = np.argsort(time_s[keep], kind="stable")
    return {"time_s": time_s[keep][order], "true": true[keep][order],
            "decoded": pred[keep][order], "channel": channel}


def tracking_examples(data: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` traces {label, time_s, true, decoded}: per target (rates before the
    phase), up to two scenarios, those named after the target (e.g. heart_rate_ramp) first."""
    by_target: dict[str, list[tuple[tuple, dict[str, Any]]]] = {}
    for key in sorted(get_key(data, [TRACKING])):
        for i, trace in enumerate(data[TRACKING][key].get(TRACES, []) or []):
            target, scenario = str(trace.get(TARGET, key)), str(trace.get(SCENARIO, "?"))
            found = _trace(trace, f"{TRACKING}.{key}.{TRACES}[{i}]")
            if found is None:
                continue
            base = target.removesuffix("_bpm")
            found["label"] = f"{target} ({scenario})"
            by_target.setdefault(target, []).append(
                ((not scenario.startswith(base), scenario), found))
    out = []
    for target in sorted(by_target, key=lambda t: ("phase" in t, t)):
        seen: set[str] = set()
        for _, found in sorted(by_target[target], key=lambda item: item[0]):
            if found["label"] not in seen and len(seen) < TRACES_PER_TARGET:
                seen.add(found["label"])
                out.append(found)
    return out[:limit]


def curves(data: dict[str, Any]) -> dict[str, Any]:
    """``{"layers": token layers, "curves": {reconstruction_r2, tracking_r2,
    autocorrelation_agreement}}`` (present ones)."""
    layers = [str(x) for x in get_key(data, [LAYERS])]
    out: dict[str, np.ndarray] = {}
    recon = data.get(RECONSTRUCTION, {}).get(PER_LAYER, {})
    for key in RECONSTRUCTION_CURVE:
        if key in recon:
            out["reconstruction_r2"] = as_array(recon[key], f"reconstruction.per_layer.{key}")
    track = data.get(TRACKING, {}).get(TRACKING_CURVE, {}).get(PER_LAYER, {})
    if TRACKING_CURVE in track:
        out["tracking_r2"] = as_array(track[TRACKING_CURVE], f"tracking per_layer {TRACKING_CURVE}")
    auto = data.get(AUTOCORRELATION, {}).get(PER_LAYER, {})
    if AUTOCORRELATION_CURVE in auto:
        out["autocorrelation_agreement"] = as_array(auto[AUTOCORRELATION_CURVE],
                                                    "autocorrelation per_layer")
    return {"layers": layers,
            "curves": {m: v for m, v in out.items() if v.shape == (len(layers),)}}
