"""Simulate one suite and write it in the shared suite format (see docs/architecture.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import save_npy, save_npz, save_parquet, write_json
from physio_bench.simulate.classes import (
    SCENARIO_CATEGORIES,
    SCENARIO_COLUMNS,
    SCENARIO_REQUESTED,
)
from physio_bench.simulate.factors import SCENARIO_CHANNELS, all_factor_columns, factor_columns
from physio_bench.simulate.plan import POPULATIONS, WindowPlan, plan_suite
from physio_bench.simulate.result import WindowResult

TARGET_KEYS = ("heart_rate_bpm", "resp_rate_bpm", "resp_phase_rad")
EVENT_COLUMNS = ("window_id", "event", "start_s", "stop_s", "label")
GENERATOR = "physio_bench.simulate: events first, waveforms rendered on them"


#: The subject's ECG factors recorded in the ECG windows of the single-channel suites
#: (drawn per subject, not from the config: label columns, not factor columns).
ECG_FACTOR_COLUMNS = ["ecg_axis_deg", "qrs_width_s", "t_wave_polarity_sign"]


def label_columns(suite: str) -> tuple[list[str], list[str]]:
    """(label columns, requested columns without the ``requested_`` prefix) of ``suite``."""
    if suite in POPULATIONS:
        return list(SCENARIO_COLUMNS), list(SCENARIO_REQUESTED)
    columns = all_factor_columns()
    return columns + ECG_FACTOR_COLUMNS, columns


def category_columns(suite: str) -> list[str]:
    """Categorical (str) label columns of ``suite`` (empty string where they do not apply)."""
    return list(SCENARIO_CATEGORIES) if suite in POPULATIONS else ["ecg_lead"]


def simulate_window(plan: WindowPlan, fs: float, n: int, subjects: dict[str, Any]
                    ) -> WindowResult:
    """Simulate one planned window (``subjects`` caches the population's subjects)."""
    from physio_bench.simulate.physiology import draw_subject
    from physio_bench.simulate.scenarios import simulate_scenario
    from physio_bench.simulate.single_channel import simulate_single

    if plan.signal_kind != "multi":
        return simulate_single(plan.signal_kind, plan.factors, plan.seed, fs, n)
    if plan.subject_id not in subjects:
        subjects[plan.subject_id] = draw_subject(int(plan.subject_seed))
    return simulate_scenario(plan.scenario, plan.dynamics, subjects[plan.subject_id],
                             plan.seed, fs, n)


def _label_row(suite: str, plan: WindowPlan, result: WindowResult) -> dict[str, Any]:
    columns, requested = label_columns(suite)
    asked = result.requested or plan.factors
    row: dict[str, Any] = {
        "window_id": plan.window_id, "subject_id": plan.subject_id,
        "signal_kind": plan.signal_kind, "scenario": plan.scenario, "dynamics": plan.dynamics,
    }
    row.update({c: str(result.labels.get(c, "")) for c in category_columns(suite)})
    row.update({c: float(result.labels.get(c, np.nan)) for c in columns})
    row.update({f"requested_{c}": float(asked.get(c, np.nan)) for c in requested})
    return row


def simulate_suite(config: dict[str, Any], suite: str, out_dir: str | Path) -> None:
    """Simulate ``suite`` under the validated ``config`` and write it to ``out_dir``.

    Writes ``signals.npy`` (float32, windows x channels x samples), ``labels.parquet``,
    ``targets.npz`` (float32, windows x samples per key), ``events.parquet`` (one row per
    realised event) and ``meta.json``, each atomically; ``meta.json`` last, so its
    presence marks a complete suite.
    """
    start = time.perf_counter()
    fs, n = float(config["sampling_rate_hz"]), int(config["window_samples"])
    plans = plan_suite(config, suite)
    channels = list(SCENARIO_CHANNELS) if suite in POPULATIONS else ["signal"]
    signals = np.empty((len(plans), len(channels), n), dtype=np.float32)
    targets = {key: np.empty((len(plans), n), dtype=np.float32) for key in TARGET_KEYS}
    rows, events = [], []
    subjects: dict[str, Any] = {}
    for plan in plans:
        result = simulate_window(plan, fs, n, subjects)
        signals[plan.window_id] = result.signals
        for key in TARGET_KEYS:
            targets[key][plan.window_id] = getattr(result, key)
        rows.append(_label_row(suite, plan, result))
        events += [(plan.window_id, *event) for event in result.events]
    labels = pd.DataFrame(rows)
    labels["window_id"] = labels["window_id"].astype("int64")
    event_frame = pd.DataFrame(events, columns=list(EVENT_COLUMNS)).astype(
        {"window_id": "int64", "event": str, "start_s": "float64", "stop_s": "float64",
         "label": str})
    event_frame = event_frame.sort_values(["window_id", "start_s", "event"], kind="stable")
    out = Path(out_dir)
    save_npy(out / "signals.npy", signals)
    save_parquet(out / "labels.parquet", labels)
    save_npz(out / "targets.npz", targets)
    save_parquet(out / "events.parquet", event_frame.reset_index(drop=True))
    columns, requested = label_columns(suite)
    if suite in POPULATIONS:
        factor_cols = {"multi": columns}
    else:
        factor_cols = {k: v for k, v in factor_columns().items()
                       if k in config["simulate"]["signal_kinds"]}
    write_json(out / "meta.json", {
        "suite": suite,
        "sampling_rate_hz": fs,
        "window_samples": n,
        "n_windows": len(plans),
        "n_subjects": int(labels["subject_id"].nunique()),
        "channel_names": channels,
        "channel_units": (["mV", "a.u.", "L", "uS", "mV"] if suite in POPULATIONS
                          else {"ecg": "mV", "ppg": "a.u.", "rsp": "L", "eda": "uS", "emg": "mV"}),
        "seed": int(config["seed"]),
        "factor_columns": factor_cols,
        "requested_columns": [f"requested_{c}" for c in requested],
        "category_columns": category_columns(suite),
        "event_counts": {str(k): int(v) for k, v in
                         event_frame["event"].value_counts().sort_index().items()},
        "generator": GENERATOR,
        "wall_time_s": round(time.perf_counter() - start, 3),
    })
