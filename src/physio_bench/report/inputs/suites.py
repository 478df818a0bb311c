"""Example windows from the simulated suites (``results/simulated/{suite}/``).

Files read: ``signals.npy`` (memory-mapped), ``labels.parquet`` (columns ``window_id``,
``signal_kind``, ``scenario`` and the factor columns), ``meta.json`` (``sampling_rate_hz``,
``channel_names``, ``channel_units``), ``events.parquet`` of the scenarios suite (optional:
``window_id``, ``event``, ``start_s``, ``stop_s``, ``label``). The example of a kind or
scenario is its window with the lowest ``window_id``, so the choice is a pure function of
the suite.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.report.inputs.common import MissingResult, load_json

FACTOR_NOTE_LIMIT = 3


def suite_dir(results: str | Path, suite: str) -> Path:
    return Path(results) / "simulated" / suite


def _open(results: str | Path, suite: str) -> tuple[np.ndarray, pd.DataFrame, dict[str, Any]]:
    folder = suite_dir(results, suite)
    for name in ("signals.npy", "labels.parquet", "meta.json"):
        if not (folder / name).exists():
            raise MissingResult(f"{folder / name} does not exist")
    signals = np.load(folder / "signals.npy", mmap_mode="r", allow_pickle=False)
    labels = pd.read_parquet(folder / "labels.parquet")
    return signals, labels, load_json(folder / "meta.json")


def _first_window(labels: pd.DataFrame, column: str, value: str) -> int | None:
    if column not in labels.columns:
        raise MissingResult(f"labels.parquet lacks column '{column}'")
    rows = labels.index[labels[column].astype(str) == value]
    if len(rows) == 0:
        return None
    ids = labels.loc[rows, "window_id"] if "window_id" in labels.columns else pd.Series(rows)
    return int(rows[int(np.argmin(ids.to_numpy()))])


def _factor_note(row: pd.Series) -> str:
    skip = {"window_id", "subject_id", "signal_kind", "scenario", "dynamics"}
    parts = []
    for column, value in row.items():
        if column in skip or str(column).startswith(("measured_", "requested_")):
            continue
        if isinstance(value, int | float | np.number) and not math.isnan(float(value)):
            parts.append(f"{column}={float(value):.3g}")
    return ", ".join(parts[:FACTOR_NOTE_LIMIT])


def kind_examples(results: str | Path, kinds: list[str]) -> dict[str, Any]:
    """One window of each signal kind of the ``factors`` suite, channel 0."""
    signals, labels, meta = _open(results, "factors")
    rate = float(meta["sampling_rate_hz"])
    traces, notes = {}, {}
    for kind in kinds:
        row = _first_window(labels, "signal_kind", kind)
        if row is None:
            continue
        traces[kind] = np.asarray(signals[row, 0], dtype=np.float64)
        notes[kind] = _factor_note(labels.iloc[row])
    return {"time_s": np.arange(signals.shape[-1]) / rate, "traces": traces, "notes": notes}


def scenario_examples(results: str | Path, scenarios: list[str]) -> dict[str, Any]:
    """One window of each scenario of the ``scenarios`` suite, every channel."""
    signals, labels, meta = _open(results, "scenarios")
    rate = float(meta["sampling_rate_hz"])
    channels = [str(c) for c in meta.get("channel_names", range(signals.shape[1]))]
    windows = {}
    for scenario in scenarios:
        row = _first_window(labels, "scenario", scenario)
        if row is not None:
            windows[scenario] = np.asarray(signals[row], dtype=np.float64)
    return {"time_s": np.arange(signals.shape[-1]) / rate, "channels": channels,
            "windows": windows}


def class_example(results: str | Path, scenario: str) -> dict[str, Any]:
    """The first window of ``scenario`` in the ``scenarios`` suite: every channel, its label
    row and its realised events (``events.parquet`` columns as arrays; None when absent)."""
    signals, labels, meta = _open(results, "scenarios")
    row = _first_window(labels, "scenario", scenario)
    if row is None:
        raise MissingResult(f"no {scenario} window in the scenarios suite")
    rate = float(meta["sampling_rate_hz"])
    events_path = suite_dir(results, "scenarios") / "events.parquet"
    events = None
    if events_path.exists():
        window_id = int(labels["window_id"].iloc[row]) if "window_id" in labels.columns else row
        table = pd.read_parquet(events_path)
        table = table[table["window_id"] == window_id]
        events = {"event": table["event"].astype(str).tolist(),
                  "start_s": table["start_s"].to_numpy(float),
                  "stop_s": table["stop_s"].to_numpy(float),
                  "label": table["label"].astype(str).tolist()}
    return {
        "time_s": np.arange(signals.shape[-1]) / rate,
        "channels": [str(c) for c in meta.get("channel_names", range(signals.shape[1]))],
        "units": meta.get("channel_units"),
        "window": np.asarray(signals[row], dtype=np.float64),
        "labels": labels.iloc[row].to_dict(),
        "subject_id": str(labels["subject_id"].iloc[row]) if "subject_id" in labels else "",
        "events": events,
    }
