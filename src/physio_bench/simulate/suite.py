"""Simulate one suite and write it in the shared suite format (see docs/architecture.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import save_npy, save_npz, save_parquet, write_json
from physio_bench.simulate.factors import SCENARIO_CHANNELS, all_factor_columns, factor_columns
from physio_bench.simulate.plan import WindowPlan, plan_suite
from physio_bench.simulate.result import WindowResult

TARGET_KEYS = ("heart_rate_bpm", "resp_rate_bpm", "resp_phase_rad")
MEASURED_COLUMNS = ("measured_heart_rate_bpm", "measured_resp_rate_bpm")


def simulate_windows(
    config: dict[str, Any], suite: str
) -> tuple[list[WindowPlan], list[WindowResult]]:
    """Plan and simulate every window of ``suite`` (in window order)."""
    from physio_bench.simulate.scenarios import draw_subject, ecg_template_for, simulate_scenario
    from physio_bench.simulate.single_channel import simulate_single

    fs, n = int(config["sampling_rate_hz"]), int(config["window_samples"])
    plans = plan_suite(config, suite)
    results: list[WindowResult] = []
    subjects: dict[str, tuple[Any, np.ndarray]] = {}
    for plan in plans:
        if plan.signal_kind == "multi":
            if plan.subject_id not in subjects:
                subject = draw_subject(plan.scenario, int(plan.subject_seed))
                subjects[plan.subject_id] = (subject, ecg_template_for(subject, fs))
            subject, template = subjects[plan.subject_id]
            results.append(simulate_scenario(plan, subject, template, fs, n).as_float32())
        else:
            results.append(
                simulate_single(plan.signal_kind, plan.factors, plan.seed, fs, n).as_float32()
            )
    return plans, results


def labels_frame(suite: str, plans: list[WindowPlan], results: list[WindowResult]) -> pd.DataFrame:
    """One row per window: ids, kind, scenario, dynamics, factor columns, measured columns."""
    from physio_bench.simulate.scenarios import SCENARIO_COLUMNS

    columns = SCENARIO_COLUMNS if suite == "scenarios" else all_factor_columns()
    rows = []
    for plan, result in zip(plans, results, strict=True):
        values = {**plan.factors, **result.labels}
        row: dict[str, Any] = {
            "window_id": plan.window_id, "subject_id": plan.subject_id,
            "signal_kind": plan.signal_kind, "scenario": plan.scenario,
            "dynamics": plan.dynamics,
        }
        row.update({c: float(values.get(c, np.nan)) for c in columns})
        row.update({c: float(result.measured.get(c, np.nan)) for c in MEASURED_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["window_id"] = frame["window_id"].astype("int64")
    return frame


def simulate_suite(config: dict[str, Any], suite: str, out_dir: str | Path) -> None:
    """Simulate ``suite`` under the validated ``config`` and write it to ``out_dir``.

    Writes ``signals.npy`` (float32, windows x channels x samples), ``labels.parquet``,
    ``targets.npz`` (float32, windows x samples per key) and ``meta.json``, each atomically;
    ``meta.json`` last, so its presence marks a complete suite.
    """
    import neurokit2

    start = time.perf_counter()
    plans, results = simulate_windows(config, suite)
    out = Path(out_dir)
    signals = np.stack([r.signals for r in results]).astype(np.float32)
    targets = {
        key: np.stack([getattr(r, key) for r in results]).astype(np.float32) for key in TARGET_KEYS
    }
    labels = labels_frame(suite, plans, results)
    save_npy(out / "signals.npy", signals)
    save_parquet(out / "labels.parquet", labels)
    save_npz(out / "targets.npz", targets)
    if suite == "scenarios":
        from physio_bench.simulate.scenarios import SCENARIO_COLUMNS

        columns = {"multi": list(SCENARIO_COLUMNS)}
    else:
        columns = {k: v for k, v in factor_columns().items()
                   if k in config["simulate"]["signal_kinds"]}
    write_json(out / "meta.json", {
        "suite": suite,
        "sampling_rate_hz": float(config["sampling_rate_hz"]),
        "window_samples": int(config["window_samples"]),
        "n_windows": len(plans),
        "channel_names": list(SCENARIO_CHANNELS) if suite == "scenarios" else ["signal"],
        "seed": int(config["seed"]),
        "factor_columns": columns,
        "measured_columns": list(MEASURED_COLUMNS),
        "neurokit2_version": neurokit2.__version__,
        "wall_time_s": round(time.perf_counter() - start, 3),
    })
