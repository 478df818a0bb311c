"""Reader of ``results/probes/{model}/feature_independence.json``.

Keys read (everything else is ignored)::

    layer_names: [name, ...]                              shallow to deep
    kinds: {kind: {                                       one block per signal kind
        factors: [factor, ...],
        per_layer: {mean_r2 | entanglement: [value per layer]},
        last: {                                           the model's last layer
            scatter: {factor: {true: [...], pred: [...]}},   out-of-fold, subsampled
            entanglement: {mixing_matrix: k x k},            rows true, columns decoded
            cross_talk: {factors: [...], matrix: k x k,      rows: swept factor (optional)
                         note: str},                         why there is no value
        }}}
    calibration: {d: int, n: int}                         the probe calibration's size

Tasks are named ``{kind}:{factor}`` as in the leaderboard.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.inputs.common import MissingResult, as_array, get_key, load_json

PROBE = "feature_independence"
LAYERS = "layer_names"
KINDS = "kinds"
FACTORS = "factors"
PER_LAYER = "per_layer"
LAST = "last"
SCATTER, TRUE, PRED = "scatter", "true", "pred"
ENTANGLEMENT, MIXING = "entanglement", "mixing_matrix"
CROSS_TALK, MATRIX, NOTE = "cross_talk", "matrix", "note"
CALIBRATION = "calibration"
CURVE_METRICS = ("mean_r2", "entanglement")


def json_path(results: str | Path, model: str) -> Path:
    return Path(results) / "probes" / model / f"{PROBE}.json"


def load(results: str | Path, model: str) -> dict[str, Any]:
    return load_json(json_path(results, model))


def _kinds(data: dict[str, Any]) -> list[str]:
    return sorted(get_key(data, [KINDS]))


def predictions(data: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Task ``kind:factor`` -> (true, decoded) arrays, sorted by task."""
    out = {}
    for kind in _kinds(data):
        for factor in sorted(get_key(data, [KINDS, kind, LAST, SCATTER])):
            where = [KINDS, kind, LAST, SCATTER, factor]
            true = as_array(get_key(data, [*where, TRUE]), ".".join(where))
            pred = as_array(get_key(data, [*where, PRED]), ".".join(where))
            if true.shape == pred.shape and true.ndim == 1:
                out[f"{kind}:{factor}"] = (true, pred)
    return dict(sorted(out.items()))


def _square(data: dict[str, Any], keys: list[str], k: int) -> np.ndarray:
    matrix = as_array(get_key(data, keys), ".".join(keys))
    if matrix.shape != (k, k):
        raise MissingResult(f"{data.get('__path__')} key '{'.'.join(keys)}' has shape "
                            f"{matrix.shape}, expected {k} x {k}")
    return matrix


def mixing(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Kind -> {factors, mixing[, cross_talk][, cross_talk_note]}.

    ``mixing[i, j]`` is the share of decoded factor ``j``'s linear content that comes from
    true factor ``i`` (the squared mixing matrix, each column divided by its sum).
    ``cross_talk`` is present where the JSON has a matrix over the same factors.
    """
    out = {}
    for kind in _kinds(data):
        factors = [str(f) for f in get_key(data, [KINDS, kind, FACTORS])]
        k = len(factors)
        squared = _square(data, [KINDS, kind, LAST, ENTANGLEMENT, MIXING], k) ** 2
        total = squared.sum(axis=0, keepdims=True)
        share = np.divide(squared, total, out=np.full_like(squared, np.nan), where=total > 0)
        block: dict[str, Any] = {"factors": factors, "mixing": share}
        talk = data[KINDS][kind][LAST].get(CROSS_TALK)
        if isinstance(talk, dict) and [str(f) for f in talk.get(FACTORS, [])] == factors:
            with contextlib.suppress(MissingResult):  # a malformed matrix: panel left empty
                block["cross_talk"] = _square(data, [KINDS, kind, LAST, CROSS_TALK, MATRIX], k)
            if talk.get(NOTE):
                block["cross_talk_note"] = str(talk[NOTE])
        out[kind] = block
    return out


def calibration(data: dict[str, Any]) -> dict[str, int]:
    """``{d, n}`` of the probe calibration (embedding size and windows)."""
    return {key: int(get_key(data, [CALIBRATION, key])) for key in ("d", "n")}


def curves(data: dict[str, Any]) -> dict[str, Any]:
    """``{"layers": [...], "curves": {metric: mean over kinds, per layer}}``."""
    layers = [str(x) for x in get_key(data, [LAYERS])]
    stacks: dict[str, list[np.ndarray]] = {}
    for kind in _kinds(data):
        per_layer = get_key(data, [KINDS, kind, PER_LAYER])
        for metric in CURVE_METRICS:
            if metric in per_layer:
                values = as_array(per_layer[metric], f"{kind}.{PER_LAYER}.{metric}")
                if values.shape == (len(layers),):
                    stacks.setdefault(metric, []).append(values)
    return {"layers": layers,
            "curves": {m: np.nanmean(np.stack(v), axis=0) for m, v in sorted(stacks.items())}}
