"""Real windows to show beside a simulated class (``results/real/{dataset}/``).

Files read: ``signals.npy`` (memory-mapped; one channel per window), ``labels.parquet``
(``window_id``, ``record``, ``signal_kind``, ``channel``, ``start_s``,
``heart_rate_bpm``, ``resp_rate_bpm``), ``events.parquet`` (reference beats with their
AAMI class, breaths) and ``meta.json`` (``sampling_rate_hz``). Every choice is a pure
function of the suite, so the figure is reproducible:

- ``rhythm``: a record and second taken from MIT-BIH's rhythm annotations (``(AFL`` in
  record 202 from 1527 s, ``(AFIB`` in 219 from 0.5 s, ``(BII`` second-degree block in 231
  from 334 s, ``(SBR`` in 232, normal rhythm in 100); the window of that record that
  contains the second (the real suites cut records into consecutive windows from 0 s).
  The real suite keeps beat classes, not rhythm labels, so these come from the
  annotation files by hand, checked by reading ``data/mitdb/*.atr``;
- ``beats``: the first window (record order, then time) whose annotated beats hold
  2-6 of one AAMI class and otherwise only N (premature beats);
- ``rate``: the first window whose reference heart or breathing rate is in a range,
  with every channel of its record at the same start (ECG, PPG and RESP of BIDMC).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.report.inputs.common import MissingResult, load_json

SUITE_FILES = ("signals.npy", "labels.parquet", "events.parquet", "meta.json")


@dataclass(frozen=True)
class RealExample:
    """How to find a class's real counterpart: ``rule`` is ``rhythm`` (``record`` and
    ``time_s``), ``beats`` (``beat_class``) or ``rate`` (``column`` in ``[low, high]``);
    ``what`` says what the window shows."""

    dataset: str
    rule: str
    what: str
    record: str = ""
    time_s: float = 0.0
    beat_class: str = ""
    column: str = ""
    low: float = -np.inf
    high: float = np.inf


#: Scenario class -> its real counterpart in the shipped data (MIT-BIH for rhythms and
#: ectopy, BIDMC for breathing); classes without one are not listed.
EXAMPLES: dict[str, RealExample] = {
    "normal_sinus": RealExample("bidmc", "rate", "BIDMC: breathing at 12-18 /min",
                                column="resp_rate_bpm", low=12, high=18),
    "sinus_bradycardia": RealExample("mitdb", "rhythm", "MIT-BIH 232: sinus bradycardia "
                                     "(SBR)", record="232", time_s=40.0),
    "sinus_tachycardia": RealExample("bidmc", "rate", "BIDMC: heart rate 105-140 bpm",
                                     column="heart_rate_bpm", low=105, high=140),
    "irregular_rhythm": RealExample("mitdb", "rhythm", "MIT-BIH 219: atrial fibrillation "
                                    "(AFIB)", record="219", time_s=40.0),
    "atrial_flutter": RealExample("mitdb", "rhythm", "MIT-BIH 202: atrial flutter (AFL)",
                                  record="202", time_s=1540.0),
    "av_block_mobitz2": RealExample("mitdb", "rhythm", "MIT-BIH 231: second-degree AV "
                                    "block, 2:1 (BII)", record="231", time_s=360.0),
    "premature_ventricular": RealExample("mitdb", "beats", "MIT-BIH: 2-6 PVCs (V), "
                                         "otherwise N", beat_class="V"),
    "premature_atrial": RealExample("mitdb", "beats", "MIT-BIH: 2-6 premature atrial "
                                    "beats (S), otherwise N", beat_class="S"),
    "tachypnea": RealExample("bidmc", "rate", "BIDMC: 24 breaths/min or more",
                             column="resp_rate_bpm", low=24, high=60),
    "bradypnea": RealExample("bidmc", "rate", "BIDMC: 10 breaths/min or fewer",
                             column="resp_rate_bpm", low=0, high=10),
}


def suite_dir(results: str | Path, dataset: str) -> Path:
    return Path(results) / "real" / dataset


def inputs(results: str | Path, datasets: list[str]) -> list[str]:
    """The real-suite files the class figures read, for the datasets configured."""
    used = sorted({e.dataset for e in EXAMPLES.values()} & set(datasets))
    return [str(suite_dir(results, d) / f) for d in used for f in SUITE_FILES]


def _window_of_record(labels: pd.DataFrame, record: str, time_s: float,
                      window_s: float) -> pd.DataFrame:
    rows = labels[(labels["record"].astype(str) == record) & (labels["start_s"] <= time_s)
                  & (labels["start_s"] + window_s > time_s)]
    if rows.empty:
        raise MissingResult(f"no window of record {record} at {time_s:g} s (record not in "
                            "this run, or its window dropped)")
    return rows


def _first_with_beats(labels: pd.DataFrame, events: pd.DataFrame, beat_class: str
                      ) -> pd.DataFrame:
    beats = events[events["event"] == "beat"]
    counts = beats.groupby(["window_id", "label"]).size().unstack(fill_value=0)
    if beat_class not in counts.columns:
        raise MissingResult(f"no annotated {beat_class} beat in the real suite")
    other = counts.drop(columns=[c for c in (beat_class, "N") if c in counts.columns]).sum(1)
    good = counts.index[(counts[beat_class] >= 2) & (counts[beat_class] <= 6) & (other == 0)]
    rows = labels[labels["window_id"].isin(good)].sort_values(["record", "start_s"])
    if rows.empty:
        raise MissingResult(f"no real window with 2-6 {beat_class} beats and otherwise N")
    first = rows.iloc[0]
    return labels[(labels["record"] == first["record"])
                  & (labels["start_s"] == first["start_s"])]


def _first_in_rate(labels: pd.DataFrame, column: str, low: float, high: float
                   ) -> pd.DataFrame:
    if column not in labels.columns:
        raise MissingResult(f"the real suite has no {column} column")
    values = pd.to_numeric(labels[column], errors="coerce")
    rows = labels[(values >= low) & (values <= high)].sort_values(["record", "start_s"])
    if rows.empty:
        raise MissingResult(f"no real window with {column} in [{low:g}, {high:g}]")
    first = rows.iloc[0]
    return labels[(labels["record"] == first["record"])
                  & (labels["start_s"] == first["start_s"])]


def real_example(results: str | Path, scenario: str, datasets: list[str]) -> dict[str, Any]:
    """The real window(s) shown beside ``scenario``: ``{"what", "dataset", "record",
    "start_s", "time_s", "channels": {kind: trace}, "units": {kind: unit}, "events"}``.

    Raises:
        MissingResult: no counterpart, the dataset is not configured or not built, or no
            window matches.
    """
    spec = EXAMPLES.get(scenario)
    if spec is None:
        raise MissingResult("no real counterpart in the shipped data")
    if spec.dataset not in datasets:
        raise MissingResult(f"dataset {spec.dataset} is not configured")
    folder = suite_dir(results, spec.dataset)
    for name in SUITE_FILES:
        if not (folder / name).exists():
            raise MissingResult(f"{folder / name} does not exist")
    meta = load_json(folder / "meta.json")
    fs = float(meta["sampling_rate_hz"])
    signals = np.load(folder / "signals.npy", mmap_mode="r", allow_pickle=False)
    labels = pd.read_parquet(folder / "labels.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    window_s = signals.shape[-1] / fs
    if spec.rule == "rhythm":
        rows = _window_of_record(labels, spec.record, spec.time_s, window_s)
    elif spec.rule == "beats":
        rows = _first_with_beats(labels, events, spec.beat_class)
    else:
        rows = _first_in_rate(labels, spec.column, spec.low, spec.high)
    channels, units, window_events = {}, {}, {}
    for _, row in rows.sort_values("window_id").iterrows():
        kind = str(row["signal_kind"])
        if kind in channels:
            continue
        channels[kind] = np.asarray(signals[int(row["window_id"]), 0], dtype=np.float64)
        units[kind] = str(meta.get("records", {}).get(str(row["record"]), {})
                          .get(kind, {}).get("units", "")) if isinstance(
            meta.get("records"), dict) else ""
        table = events[events["window_id"] == int(row["window_id"])]
        window_events[kind] = {"event": table["event"].astype(str).tolist(),
                               "start_s": table["start_s"].to_numpy(float),
                               "label": table["label"].astype(str).tolist()}
    first = rows.iloc[0]
    return {"what": spec.what, "dataset": spec.dataset, "record": str(first["record"]),
            "start_s": float(first["start_s"]), "time_s": np.arange(signals.shape[-1]) / fs,
            "channels": channels, "units": units, "events": window_events}
