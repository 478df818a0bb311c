"""``run_probe``: one probe of one model's embeddings, as JSON detail, leaderboard rows and
out-of-fold predictions."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from physio_bench.applicability import accepted_kinds, mask_rows
from physio_bench.errors import ConfigError, InputError
from physio_bench.probes.common import MetricRow, ProbeSettings
from physio_bench.probes.data import load_embeddings, load_suite

PROBE_SUITES = {
    "feature_independence": ("factors", "sweeps"),
    "temporal_dynamics": ("factors", "scenarios"),
    "scenario_separation": ("scenarios",),
}
PROBES = tuple(PROBE_SUITES)
#: significant digits of floats in the JSON detail (keeps files small and byte-stable)
JSON_DIGITS = 7


def to_jsonable(obj: Any) -> Any:
    """Arrays -> lists, numpy scalars -> Python, floats rounded, NaN/inf -> None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        value = float(obj)
        return float(f"{value:.{JSON_DIGITS}g}") if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _rows(metric_rows: list[MetricRow], model: str, pretrained: bool, probe: str,
          min_groups: int) -> list[dict[str, Any]]:
    """Leaderboard rows: a number only where it can be estimated, else an empty value and a
    note saying why (never a non-finite number)."""
    out = []
    for row in metric_rows:
        record = row.checked(min_groups).to_row(model, pretrained, probe)
        for key in ("value", "ci_low", "ci_high", "chance"):
            value = record[key]
            record[key] = float(f"{value:.{JSON_DIGITS}g}") if math.isfinite(value) else math.nan
        out.append(record)
    return out


@dataclass
class ProbeOutput:
    """What one probe run produces: JSON detail, leaderboard rows, out-of-fold predictions
    (columns :data:`physio_bench.io.PREDICTION_COLUMNS`)."""

    detail: dict[str, Any]
    rows: list[dict[str, Any]]
    predictions: pd.DataFrame


def run_probe(
    config: dict[str, Any], probe: str, model: str, results_dir: str | Path,
    suites: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(detail, rows)`` of :func:`run_probe_outputs` (predictions dropped)."""
    output = run_probe_outputs(config, probe, model, results_dir, suites)
    return output.detail, output.rows


def run_probe_outputs(
    config: dict[str, Any], probe: str, model: str, results_dir: str | Path,
    suites: tuple[str, ...] | None = None,
) -> ProbeOutput:
    """Run ``probe`` on ``model``'s embeddings under ``results_dir``.

    Reads ``{results_dir}/simulated/{suite}`` and ``{results_dir}/embeddings/{model}/{suite}``
    for the probe's suites (:data:`PROBE_SUITES`), or only those of them in ``suites``
    (the first, main suite must be one: the sensitivity study probes the factors suite
    without the sweeps).

    Returns:
        the JSON-ready detail (everything the figures need), the leaderboard rows (columns
        ``physio_bench.io.LEADERBOARD_COLUMNS``; a row that cannot be estimated has an
        empty value and a ``note``) and the out-of-fold predictions behind them.

    Raises:
        ConfigError: unknown probe. InputError: missing or inconsistent inputs.
    """
    if probe not in PROBE_SUITES:
        raise ConfigError(f"unknown probe '{probe}': use one of {', '.join(PROBES)}")
    settings = ProbeSettings.from_config(config)
    wanted = [s for s in PROBE_SUITES[probe] if suites is None or s in suites]
    if not wanted or wanted[0] != PROBE_SUITES[probe][0]:
        raise ConfigError(f"probe '{probe}' needs the {PROBE_SUITES[probe][0]} suite")
    pooling = config.get("probes", {}).get("pooling", "mean")
    loaded, embeddings = {}, {}
    for suite in wanted:
        loaded[suite] = load_suite(results_dir, suite)
        embeddings[suite] = load_embeddings(results_dir, model, suite,
                                            n_windows=len(loaded[suite].labels),
                                            pooling=pooling)
    first = embeddings[PROBE_SUITES[probe][0]]
    for suite, emb in embeddings.items():
        if emb.layer_names != first.layer_names:
            raise InputError(
                f"embeddings of model '{model}' list different layers for suites "
                f"{PROBE_SUITES[probe][0]} and {suite}: re-run the embed stage for this model"
            )
    function = _probe_function(probe)
    # Many small BLAS calls: one thread is faster than contended threads. The probe modules
    # (and the BLAS libraries scikit-learn and SciPy load) are imported first, because
    # threadpoolctl limits only the libraries already loaded.
    with threadpool_limits(limits=1):
        detail, metric_rows, predictions = function(loaded, embeddings, settings)
    info = first.info
    detail.update({
        "probe": probe, "model": model, "pretrained": first.pretrained,
        "settings": settings.to_dict(), "suites": wanted, "pooling": first.info["pooling"],
        "model_info": {k: info.get(k) for k in ("name", "plugin", "layer_names", "token_layers",
                                                "weights_source", "pretrained")},
    })
    rows = _rows(metric_rows, model, first.pretrained, probe, settings.min_groups)
    # a domain model (ModelInfo.signal_kinds): tasks that feed it other kinds have no number
    kinds = accepted_kinds(info)
    rows, masked = mask_rows(rows, kinds)
    if masked:
        predictions = predictions[~predictions["task"].isin(masked)].reset_index(drop=True)
    detail["signal_kinds"] = None if kinds is None else list(kinds)
    detail["not_applicable"] = masked
    detail["leaderboard_rows"] = rows
    return ProbeOutput(to_jsonable(detail), rows, predictions)


def _probe_function(probe: str
                    ) -> Callable[..., tuple[dict[str, Any], list[MetricRow], pd.DataFrame]]:
    """``f(suites, embeddings, settings) -> (detail, metric rows, predictions)`` of ``probe``."""
    if probe == "feature_independence":
        from physio_bench.probes.feature_independence import run_feature_independence

        return lambda su, em, s: run_feature_independence(
            su["factors"], em["factors"], s, su.get("sweeps"), em.get("sweeps"))
    if probe == "temporal_dynamics":
        from physio_bench.probes.temporal_dynamics import run_temporal_dynamics

        return lambda su, em, s: run_temporal_dynamics(
            su["factors"], em["factors"], s, su.get("scenarios"), em.get("scenarios"))
    from physio_bench.probes.scenario_separation import run_scenario_separation

    return lambda su, em, s: run_scenario_separation(su["scenarios"], em["scenarios"], s)
