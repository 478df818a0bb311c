"""Cut one dataset's records into a real suite (``results/real/{dataset}``).

Each configured channel is read at its own rate, its NaN gaps are handled, it is resampled
to ``sampling_rate_hz`` (``scipy.signal.resample_poly``: polyphase FIR with a Kaiser
anti-aliasing window) and cut into consecutive, non-overlapping windows of the dataset's
``window_s`` (a trailing partial window is not used). All channels of a record share the
same window starts, so an ECG, PPG and RESP window with the same ``record`` and
``start_s`` show the same 32 s of the patient.

Missing data (NaN samples, e.g. invalid ADC values) are explicit:

- gaps up to ``downstream.max_gap_s`` seconds are linearly interpolated;
- a window whose fraction of missing samples exceeds ``downstream.max_missing_fraction``
  is dropped (reason ``missing_fraction``), as is a window that touches a longer gap
  (``long_gap``) or is constant (``flat_signal``: constant, or made only of native-rate
  runs of identical samples of at least ``MIN_FLAT_RUN_S``);
- the counts of kept and dropped windows per record, channel and reason go to
  ``meta.json``. No NaN reaches ``signals.npy``.

Saturation and flat lines (:func:`signal_quality`, on the native-rate channel): every kept
window gets ``rail_fraction``, ``longest_flat_s`` and ``quality_flag`` (``saturated``: more
than 20% of its samples within 0.5% of the record's range of the record's minimum or
maximum; ``flat_line``: a run of identical samples of 2 s or more); flagged windows are
kept and counted per kind and flag (``meta.json`` ``quality_flagged``).

Heart-rate labels (see :mod:`.reference`): annotated beats, else the monitor's numerics
(:func:`monitor_label`; windows whose monitor values are missing or jump lose their
heart-rate label and are counted in ``heart_rate_label_dropped``), else a detector.

Signals keep their units (mV for MIT-BIH; BIDMC's are normalised 0-1 by its authors): no
per-window scaling is applied here; models scale their inputs themselves.

The suite holds the simulated-suite files (``signals.npy``, ``labels.parquet``,
``targets.npz``, ``meta.json``) and ``events.parquet``: one row per reference event inside
a kept window (``window_id``, ``event`` = ``beat`` or ``breath``, ``start_s`` =
``stop_s`` in seconds from the window's first sample, ``label`` = the beat's AAMI class
``N``/``S``/``V``/``F``/``Q`` or empty, ``source`` = where the event comes from, e.g.
``annotation:atr`` or ``annotation:Breaths.csv:ann2``; breaths of every annotator are
listed, so count them per ``source``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.downstream import reference as ref
from physio_bench.downstream.datasets import (
    CLASS_PREFIX,
    TARGETS,
    BadRecordError,
    Channel,
    ChannelInfo,
    Dataset,
    DatasetSpec,
    RecordEvents,
    check_dataset,
    dataset_spec,
    is_class_target,
    open_dataset,
    skip_or_raise,
)
from physio_bench.errors import InputError
from physio_bench.io import atomic_write_bytes, save_npy, save_npz, save_parquet, write_json

DROP_REASONS = ("missing_fraction", "long_gap", "flat_signal")
#: a native-rate run of identical samples at least this long (s) is a constant stretch; a
#: window made only of such stretches is dropped as ``flat_signal``
MIN_FLAT_RUN_S = 1.0
#: why a kept window has no label for a task (counted per record, kind and target)
LABEL_DROP_REASONS = ("no_reference", "rate_undefined", "mixed_class")
#: window-level targets and the column naming their reference
LABEL_SOURCES = {"heart_rate_bpm": "heart_rate_source", "resp_rate_bpm": "resp_rate_source"}
EVENT_COLUMNS = ["window_id", "event", "start_s", "stop_s", "label", "source"]
#: monitor numerics kept as context columns
MONITOR_COLUMNS = {"HR": "monitor_heart_rate_bpm", "RESP": "monitor_resp_rate_bpm"}
#: the monitor numeric that labels a window's heart rate (independent of any detector run
#: here), per signal kind, for records without beat annotations
MONITOR_HEART_LABEL = {"ecg": "HR", "ppg": "PULSE"}
#: a monitor-labelled window is dropped when a 1-Hz value in it is missing (NaN or 0) or
#: two consecutive values differ by more than this many bpm (a jump: artefact or alarm)
MONITOR_MAX_STEP_BPM = 5.0
MONITOR_DROP_REASONS = ("monitor_missing", "monitor_jump")
#: a sample is at a rail when within this share of the record channel's range of its
#: minimum or maximum (native rate, before resampling)
RAIL_TOLERANCE = 0.005
#: a window is flagged ``saturated`` when more than this share of its samples is at a rail
MAX_RAIL_FRACTION = 0.2
#: a window is flagged ``flat_line`` when it holds a run of constant samples this long (s)
MAX_FLAT_S = 2.0
QUALITY_FLAGS = ("saturated", "flat_line")


def signal_quality(window: np.ndarray, rails: tuple[float, float], fs: float
                   ) -> dict[str, float | str]:
    """Saturation and flat lines of one window at its native rate ``fs``.

    ``rail_fraction``: share of samples within :data:`RAIL_TOLERANCE` of the record's range
    of its minimum or maximum ``rails`` (clipping at the ADC's or the scaling's limits);
    ``longest_flat_s``: the longest run of identical consecutive samples (s);
    ``quality_flag``: ``saturated`` when ``rail_fraction`` > :data:`MAX_RAIL_FRACTION`,
    else ``flat_line`` when ``longest_flat_s`` >= :data:`MAX_FLAT_S`, else empty. Flagged
    windows are kept (and counted per flag in ``meta.json``); readers of the labels can
    drop them by ``quality_flag``."""
    window = np.asarray(window, dtype=np.float64)
    window = window[np.isfinite(window)]
    low, high = rails
    span = high - low
    if window.size == 0 or not np.isfinite(span) or span <= 0:
        return {"rail_fraction": float("nan"), "longest_flat_s": float("nan"),
                "quality_flag": ""}
    tolerance = RAIL_TOLERANCE * span
    at_rail = (window <= low + tolerance) | (window >= high - tolerance)
    same = np.concatenate([[False], np.diff(window) == 0])
    runs = nan_runs(same)
    longest = float((runs[:, 1] - runs[:, 0]).max() + 1) / fs if runs.size else 0.0
    fraction = float(at_rail.mean())
    flag = ("saturated" if fraction > MAX_RAIL_FRACTION
            else "flat_line" if longest >= MAX_FLAT_S else "")
    return {"rail_fraction": fraction, "longest_flat_s": longest, "quality_flag": flag}


def nan_runs(missing: np.ndarray) -> np.ndarray:
    """``[start, stop)`` index pairs (runs x 2, int64) of the True runs of a boolean mask."""
    padded = np.concatenate([[False], np.asarray(missing, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges.reshape(-1, 2).astype(np.int64)


def fill_gaps(
    signal: np.ndarray, fs: float, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate NaN gaps linearly; return ``(filled, missing, long_gap)``.

    ``filled`` has no NaN (every gap is bridged linearly so that resampling and detectors
    see a continuous signal); ``missing`` marks the samples that were NaN; ``long_gap``
    marks those in runs longer than ``max_gap_s`` seconds, whose windows are dropped.
    Gaps at the edges take the nearest valid value.

    Raises:
        InputError: the signal has no valid sample at all.
    """
    signal = np.asarray(signal, dtype=np.float64)
    missing = ~np.isfinite(signal)
    long_gap = np.zeros_like(missing)
    if not missing.any():
        return signal.copy(), missing, long_gap
    valid = np.flatnonzero(~missing)
    if valid.size == 0:
        raise InputError("channel has no valid sample (all NaN): choose another channel")
    filled = signal.copy()
    gaps = np.flatnonzero(missing)
    filled[gaps] = np.interp(gaps, valid, signal[valid])
    max_gap = max_gap_s * fs
    for start, stop in nan_runs(missing):
        if stop - start > max_gap:
            long_gap[start:stop] = True
    return filled, missing, long_gap


def resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """``(up, down)`` integers with ``up / down == fs_out / fs_in`` (to 1e-9)."""
    ratio = (Fraction(fs_out).limit_denominator(10**6) / Fraction(fs_in).limit_denominator(10**6))
    approx = ratio.limit_denominator(10_000)
    return approx.numerator, approx.denominator


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample to ``fs_out`` Hz with an anti-aliasing polyphase filter (float64)."""
    from scipy.signal import resample_poly

    up, down = resample_ratio(fs_in, fs_out)
    if up == down:
        return np.asarray(signal, dtype=np.float64).copy()
    return resample_poly(np.asarray(signal, dtype=np.float64), up, down)


def resample_mask(mask: np.ndarray, fs_in: float, n_out: int, fs_out: float) -> np.ndarray:
    """A boolean mask at ``fs_out``: True where either neighbouring input sample is True."""
    times = np.arange(n_out) * (fs_in / fs_out)
    low = np.clip(np.floor(times).astype(np.int64), 0, mask.size - 1)
    high = np.clip(np.ceil(times).astype(np.int64), 0, mask.size - 1)
    return mask[low] | mask[high]


def window_starts(n_samples: int, window_samples: int) -> np.ndarray:
    """First sample of each full, non-overlapping window (int64)."""
    return np.arange(n_samples // window_samples, dtype=np.int64) * window_samples


def drop_reason(
    missing: np.ndarray, long_gap: np.ndarray, window: np.ndarray, max_missing_fraction: float,
    flat: np.ndarray | None = None,
) -> str | None:
    """Why a window is dropped (one of :data:`DROP_REASONS`), or None to keep it.

    ``flat``: the window's samples that lie in a constant stretch of the native-rate
    signal (:func:`constant_runs`, resampled like the missing mask). A window is
    ``flat_signal`` when it is constant or every sample is in such a stretch: resampling
    (e.g. 360 -> 125 Hz) leaves a filter ripple of up to 1e-3 of a constant's level, so the
    resampled window alone cannot tell."""
    if missing.mean() > max_missing_fraction:
        return "missing_fraction"
    if long_gap.any():
        return "long_gap"
    if np.ptp(window) == 0 or (flat is not None and flat.size and bool(flat.all())):
        return "flat_signal"
    return None


def constant_runs(signal: np.ndarray, min_samples: int) -> np.ndarray:
    """Mask of the samples in runs of identical values at least ``min_samples`` long
    (NaN never equals itself, so a NaN block is missing, not constant)."""
    x = np.asarray(signal)
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    change = np.flatnonzero(x[1:] != x[:-1]) + 1
    lengths = np.diff(np.r_[0, change, x.size])
    return np.repeat(lengths >= max(int(min_samples), 2), lengths)


@dataclass
class Prepared:
    """One channel at the benchmark rate: samples, missing and long-gap masks."""

    x: np.ndarray
    missing: np.ndarray
    long_gap: np.ndarray
    gaps_s: np.ndarray  # times (s) of the native-rate missing samples
    flat: np.ndarray | None = None  # in a native-rate constant stretch (>= MIN_FLAT_RUN_S)


@dataclass
class Events:
    """Event times (s) with their source and the missing-sample times (s) of the channel
    they were detected on (None for annotations, which do not depend on the signal)."""

    times_s: np.ndarray
    source: str
    gaps_s: np.ndarray | None = None


@dataclass
class RecordReference:
    """The reference events of one record: beats (with symbols when annotated) and
    breaths per annotator, and the channel's own detections for the cross-checks."""

    beats: Events | None
    symbols: np.ndarray | None
    breaths: dict[str, Events]
    own_beats: dict[str, Events]
    unlabelled_beats: dict[str, int] | None = None


def _prepare(channel: Channel, fs_out: float, max_gap_s: float, where: str) -> Prepared:
    try:
        filled, missing, long_gap = fill_gaps(channel.signal, channel.fs_hz, max_gap_s)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    x = resample(filled, channel.fs_hz, fs_out)
    return Prepared(
        x=x,
        missing=resample_mask(missing, channel.fs_hz, x.size, fs_out),
        long_gap=resample_mask(long_gap, channel.fs_hz, x.size, fs_out),
        gaps_s=np.flatnonzero(missing) / channel.fs_hz,
        flat=resample_mask(constant_runs(channel.signal, round(MIN_FLAT_RUN_S * channel.fs_hz)),
                           channel.fs_hz, x.size, fs_out),
    )


def record_reference(
    events: RecordEvents, channels: dict[str, Channel], kinds: dict[str, str], max_gap_s: float
) -> RecordReference:
    """Reference beats and breaths of a record: annotations where the dataset has them,
    else the reference detectors (:mod:`.reference`) on the record's whole ECG (beats) or
    RESP (breaths) channel at its native rate."""
    own: dict[str, Events] = {}
    filled: dict[str, tuple[np.ndarray, float, np.ndarray]] = {}
    for kind, name in kinds.items():
        channel = channels[name]
        signal, missing, _ = fill_gaps(channel.signal, channel.fs_hz, max_gap_s)
        filled[kind] = (signal, channel.fs_hz, np.flatnonzero(missing) / channel.fs_hz)
    if "ecg" in filled:
        signal, fs, gaps = filled["ecg"]
        own["ecg"] = Events(ref.detect_ecg_beats(signal, fs), ref.ECG_DETECTOR, gaps)
    if "ppg" in filled:
        signal, fs, gaps = filled["ppg"]
        own["ppg"] = Events(ref.detect_ppg_beats(signal, fs), ref.PPG_DETECTOR, gaps)
    if events.beats_s is not None:
        beats: Events | None = Events(np.asarray(events.beats_s, float), events.beats_source)
    else:
        beats = own.get("ecg") or own.get("ppg")
    breaths = {name: Events(np.asarray(t, float), f"{events.breaths_source}:{name}")
               for name, t in events.breaths_s.items()}
    if not breaths and "rsp" in filled:
        signal, fs, gaps = filled["rsp"]
        breaths = {"detector": Events(ref.detect_breaths(signal, fs), ref.RSP_DETECTOR, gaps)}
    return RecordReference(beats=beats, symbols=events.beat_symbols, breaths=breaths,
                           own_beats=own,
                           unlabelled_beats=dict(getattr(events, "unlabelled_beats", {}) or {}))


def beat_accounting(beats_s: np.ndarray, kept_starts_s: list[float], considered_s: np.ndarray,
                    window_s: float, unlabelled: dict[str, int]) -> dict[str, int]:
    """Where every annotated beat of a record went: inside a kept window, inside a dropped
    window, after the last full window (the trailing partial window, never cut) or after
    the ``max_windows_per_record`` limit; plus heartbeats annotated without a class."""
    beats_s = np.asarray(beats_s, dtype=np.float64)
    def inside(starts: np.ndarray) -> int:
        if starts.size == 0:
            return 0
        index = np.searchsorted(starts, beats_s, side="right") - 1
        ok = index >= 0
        return int(np.sum(ok & (beats_s < starts[np.maximum(index, 0)] + window_s)))
    kept = inside(np.asarray(sorted(kept_starts_s), dtype=np.float64))
    considered = inside(np.asarray(considered_s, dtype=np.float64))
    end_considered = float(considered_s[-1] + window_s) if considered_s.size else 0.0
    return {"annotated": int(beats_s.size), "in_kept_windows": kept,
            "in_dropped_windows": considered - kept,
            "after_last_window": int(beats_s.size - considered),
            "after_last_full_window_s": end_considered,
            **{f"unlabelled_{'flutter_wave' if s == '!' else s}": n
               for s, n in (unlabelled or {}).items()}}


def offered_targets(spec: DatasetSpec, reference_kinds: dict[str, bool]) -> dict[str, list[str]]:
    """Targets per signal kind that the dataset's references allow, filtered by
    ``spec.targets``: heart rate for ECG and PPG, respiratory rate for every kind when
    there are breaths (annotated, or detected on a RESP channel), beat classes for ECG
    when the dataset has annotated beat symbols and a ``beat_classes`` split."""
    offered: dict[str, list[str]] = {}
    for kind in spec.channels:
        targets = []
        if kind in ("ecg", "ppg"):
            targets.append("heart_rate_bpm")
        if reference_kinds["breaths"]:
            targets.append("resp_rate_bpm")
        if kind == "ecg" and reference_kinds["beat_symbols"] and spec.beat_split is not None:
            targets.append("beat_class")
        offered[kind] = [t for t in targets if t in spec.targets]
    return offered


def _monitor_means(numerics: dict[str, tuple[np.ndarray, np.ndarray]], start_s: float,
                   stop_s: float) -> dict[str, float]:
    out = {}
    for name, column in MONITOR_COLUMNS.items():
        if name not in numerics:
            continue
        times, values = numerics[name]
        inside = (times >= start_s) & (times < stop_s) & np.isfinite(values) & (values > 0)
        out[column] = float(values[inside].mean()) if inside.any() else float("nan")
    return out


def events_are_detected(events: Events | None) -> bool:
    """Whether events come from a detector run here (or are absent), not an annotation."""
    return events is None or events.source.startswith("detector:")


def monitor_label(numerics: dict[str, tuple[np.ndarray, np.ndarray]], name: str,
                  start_s: float, stop_s: float) -> tuple[float, str | None]:
    """A window's label from the monitor's 1-Hz numeric ``name``: ``(mean, None)`` over the
    values stamped in ``[start_s, stop_s)``, or ``(nan, reason)`` with ``reason`` one of
    :data:`MONITOR_DROP_REASONS` (a missing value: NaN, 0 or no value at all; a step between
    consecutive values above :data:`MONITOR_MAX_STEP_BPM`)."""
    times, values = numerics[name]
    inside = values[(times >= start_s) & (times < stop_s)]
    if inside.size == 0 or not np.all(np.isfinite(inside) & (inside > 0)):
        return float("nan"), "monitor_missing"
    if inside.size > 1 and np.max(np.abs(np.diff(inside))) > MONITOR_MAX_STEP_BPM:
        return float("nan"), "monitor_jump"
    return float(inside.mean()), None


def _monitor_curve(numerics: dict[str, tuple[np.ndarray, np.ndarray]], name: str,
                   times_s: np.ndarray) -> np.ndarray:
    """The monitor numeric held constant over each of its seconds, at ``times_s``."""
    times, values = numerics[name]
    index = np.clip(np.searchsorted(times, times_s, side="right") - 1, 0, max(times.size - 1, 0))
    out = values[index].astype(np.float64) if times.size else np.full(times_s.shape, np.nan)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def _window_events(reference: RecordReference, window_id: int, start_s: float,
                   stop_s: float) -> list[dict[str, Any]]:
    rows = []
    if reference.beats is not None:
        times = reference.beats.times_s
        inside = np.flatnonzero((times >= start_s) & (times < stop_s))
        for i in inside:
            label = ref.aami_class(reference.symbols[i]) if reference.symbols is not None else ""
            rows.append({"window_id": window_id, "event": "beat",
                         "start_s": float(times[i] - start_s), "stop_s": float(times[i] - start_s),
                         "label": label, "source": reference.beats.source})
    for events in reference.breaths.values():
        times = events.times_s
        for t in times[(times >= start_s) & (times < stop_s)]:
            rows.append({"window_id": window_id, "event": "breath", "start_s": float(t - start_s),
                         "stop_s": float(t - start_s), "label": "", "source": events.source})
    return rows


@dataclass
class SuiteParts:
    """Accumulated windows of a dataset."""

    rows: list[dict[str, Any]]
    signals: list[np.ndarray]
    targets: dict[str, list[np.ndarray]]
    events: list[dict[str, Any]]


def _record_windows(
    spec: DatasetSpec, record: str, chosen: dict[str, ChannelInfo], dataset: Dataset,
    config: dict[str, Any], parts: SuiteParts,
) -> tuple[dict[str, Any], dict[str, bool]]:
    """Append the windows of one record to ``parts``; return its per-channel counts and
    which references it had (breaths, beat symbols)."""
    fs_out = float(config["sampling_rate_hz"])
    size = spec.window_samples(fs_out)
    options = config["downstream"]
    names = {kind: info.name for kind, info in chosen.items()}
    channels = dataset.read(record, list(dict.fromkeys(names.values())))
    reference = record_reference(dataset.events(record), channels, names, options["max_gap_s"])
    numerics = dataset.numerics(record) if callable(getattr(dataset, "numerics", None)) else {}
    prepared = {kind: _prepare(channels[name], fs_out, options["max_gap_s"],
                               f"{spec.key}: record {record} channel {name}")
                for kind, name in names.items()}
    n_out = min(p.x.size for p in prepared.values())
    times = np.arange(n_out) / fs_out
    beats = reference.beats
    hr_curve = (ref.rate_curve(beats.times_s, times, ref.HEART_RATE_RANGE_BPM, beats.gaps_s)
                if beats is not None else np.full(n_out, np.nan))
    breath_curves = {name: ref.rate_curve(e.times_s, times, ref.RESP_RATE_RANGE_BPM, e.gaps_s)
                     for name, e in reference.breaths.items()}
    resp_curve = np.full(n_out, np.nan)
    if breath_curves:
        stacked = np.stack(list(breath_curves.values()))
        defined = np.isfinite(stacked).sum(axis=0)
        resp_curve = np.where(defined > 0, np.nansum(stacked, axis=0) / np.maximum(defined, 1),
                              np.nan)
    starts = window_starts(n_out, size)
    considered = starts if spec.max_windows is None else starts[: spec.max_windows]
    counts: dict[str, Any] = {}
    kept_starts: dict[str, list[float]] = {}
    # records without annotated beats: heart rate from the monitor when it has the numeric
    monitor_hr = {kind: MONITOR_HEART_LABEL[kind] for kind in prepared
                  if kind in MONITOR_HEART_LABEL and events_are_detected(beats)
                  and MONITOR_HEART_LABEL[kind] in numerics}
    for kind, prep in prepared.items():
        own = reference.own_beats.get(kind)
        label_dropped = dict.fromkeys(MONITOR_DROP_REASONS, 0)
        native = channels[names[kind]]
        finite_native = native.signal[np.isfinite(native.signal)]
        rails = ((float(finite_native.min()), float(finite_native.max()))
                 if finite_native.size else (float("nan"), float("nan")))
        flagged = dict.fromkeys(QUALITY_FLAGS, 0)
        kind_curve = (_monitor_curve(numerics, monitor_hr[kind], times) if kind in monitor_hr
                      else hr_curve)
        hr_source = (f"monitor:Numerics.csv:{monitor_hr[kind]}" if kind in monitor_hr
                     else beats.source if beats is not None else "")
        measured = (ref.rate_curve(own.times_s, times, ref.HEART_RATE_RANGE_BPM, own.gaps_s)
                    if own is not None else None)
        dropped = dict.fromkeys(DROP_REASONS, 0)
        kept = 0
        for start in considered:
            part = slice(int(start), int(start) + size)
            reason = drop_reason(prep.missing[part], prep.long_gap[part], prep.x[part],
                                 options["max_missing_fraction"],
                                 None if prep.flat is None else prep.flat[part])
            if reason is not None:
                dropped[reason] += 1
                continue
            window_id = len(parts.rows)
            start_s, stop_s = start / fs_out, (start + size) / fs_out
            with np.errstate(all="ignore"):
                ann_rates = [ref.window_rate(c[part]) for c in breath_curves.values()]
            finite = [r for r in ann_rates if np.isfinite(r)]
            if kind in monitor_hr:
                heart_rate, why = monitor_label(numerics, monitor_hr[kind], start_s, stop_s)
                if why is not None:
                    label_dropped[why] += 1
            elif kind in ("ecg", "ppg"):
                heart_rate = ref.window_rate(hr_curve[part])
            else:
                heart_rate = float("nan")
            quality = signal_quality(
                native.signal[int(np.round(start_s * native.fs_hz)):
                              int(np.round(stop_s * native.fs_hz))], rails, native.fs_hz)
            if quality["quality_flag"]:
                flagged[str(quality["quality_flag"])] += 1
            row = {
                "subject_id": spec.subject_of(record),
                "record": record,
                "dataset": spec.name,
                "signal_kind": kind,
                "scenario": "real",
                "dynamics": "steady",
                "channel": names[kind],
                "start_s": float(start_s),
                "heart_rate_bpm": heart_rate,
                "resp_rate_bpm": float(np.mean(finite)) if finite else float("nan"),
                "resp_rate_annotator_range_bpm": (float(np.ptp(finite)) if len(finite) > 1
                                                  else float("nan")),
                "n_beats": float(np.sum((beats.times_s >= start_s) & (beats.times_s < stop_s)))
                if beats is not None else float("nan"),
                "measured_heart_rate_bpm": (ref.window_rate(measured[part])
                                            if measured is not None else float("nan")),
                "heart_rate_source": hr_source if kind != "rsp" else "",
                "resp_rate_source": ",".join(e.source for e in reference.breaths.values()),
                "missing_fraction": float(prep.missing[part].mean()),
                "n_missing_samples": int(prep.missing[part].sum()),
                **quality,
                **_monitor_means(numerics, start_s, stop_s),
            }
            parts.rows.append(row)
            parts.signals.append(prep.x[part].astype(np.float32))
            parts.targets["heart_rate_bpm"].append(
                (kind_curve[part] if kind != "rsp" and np.isfinite(heart_rate)
                 else np.full(size, np.nan)).astype(np.float32))
            parts.targets["resp_rate_bpm"].append(resp_curve[part].astype(np.float32))
            parts.events += _window_events(reference, window_id, start_s, stop_s)
            kept += 1
            kept_starts.setdefault(kind, []).append(float(start_s))
        channel = channels[names[kind]]
        counts[kind] = {
            "channel": names[kind], "fs_hz": channel.fs_hz, "units": channel.units,
            "duration_s": channel.signal.size / channel.fs_hz,
            "missing_samples": int(np.isnan(channel.signal).sum()),
            "windows_total": int(starts.size), "windows_considered": int(considered.size),
            "kept": kept, "dropped": dropped,
            "heart_rate_reference": hr_source if kind != "rsp" else "",
            "heart_rate_label_dropped": label_dropped if kind in monitor_hr else {},
            "quality_flagged": flagged,
            "resp_rate_reference": [e.source for e in reference.breaths.values()],
        }
    if reference.symbols is not None and beats is not None and "ecg" in counts:
        counts["ecg"]["beats"] = beat_accounting(
            beats.times_s, kept_starts.get("ecg", []), considered / fs_out, size / fs_out,
            reference.unlabelled_beats or {})
    has = {"breaths": bool(reference.breaths),
           "beat_symbols": reference.symbols is not None and beats is not None}
    return counts, has


def build_dataset_windows(
    spec: DatasetSpec, config: dict[str, Any],
) -> tuple[np.ndarray, pd.DataFrame, dict[str, np.ndarray], pd.DataFrame, dict[str, Any]]:
    """Cut every record of ``spec``; return ``(signals, labels, targets, events, info)``.

    Raises:
        InputError: a record fails its header checks, or no window is kept.
    """
    skipped: dict[str, dict[str, str]] = {}
    chosen = check_dataset(spec, config, skipped)
    dataset = open_dataset(spec, config)
    size = spec.window_samples(config["sampling_rate_hz"])
    parts = SuiteParts(rows=[], signals=[], targets={"heart_rate_bpm": [], "resp_rate_bpm": []},
                       events=[])
    counts: dict[str, Any] = {}
    has = {"breaths": False, "beat_symbols": False}
    spans: dict[str, slice] = {}
    class_names: set[str] = set()
    for record, infos in chosen.items():
        first = len(parts.rows)
        try:
            counts[record], found = _record_windows(spec, record, infos, dataset, config, parts)
        except BadRecordError as exc:
            skip_or_raise(spec, exc, skipped)
            continue
        except InputError as exc:  # e.g. a channel without a single valid sample
            skip_or_raise(spec, BadRecordError(spec.key, record, "empty", str(exc),
                                               message=str(exc)), skipped)
            continue
        has = {k: has[k] or found[k] for k in has}
        spans[record] = slice(first, len(parts.rows))
        class_names |= _add_classes(dataset, record, parts.rows[first:], spec.window_s)
    offered = offered_targets(spec, has)
    if class_names and spec.targets == TARGETS:  # no explicit ``targets``: offer them all
        for kind in offered:
            offered[kind] += [f"{CLASS_PREFIX}{c}" for c in sorted(class_names)]
    for record, span in spans.items():
        _label_counts(counts[record], parts.rows[span], offered)
    if not parts.rows:
        raise InputError(
            f"{spec.key}: no real window was kept (every window dropped for missing data): "
            "raise downstream.max_missing_fraction or max_gap_s, or add records"
        )
    labels = pd.DataFrame(parts.rows)
    labels.insert(0, "window_id", np.arange(len(parts.rows), dtype=np.int64))
    signals = np.stack(parts.signals)[:, None, :].astype(np.float32)
    targets = {k: np.stack(v).reshape(len(parts.rows), size) for k, v in parts.targets.items()}
    events = pd.DataFrame(parts.events, columns=EVENT_COLUMNS)
    events = events.astype({"window_id": "int64", "start_s": "float64", "stop_s": "float64",
                            "event": str, "label": str, "source": str})
    info = {"records": counts, "targets": offered, "skipped": skipped}
    return signals, labels, targets, events, info


def _add_classes(dataset: Dataset, record: str, rows: list[dict[str, Any]],
                 window_s: float) -> set[str]:
    """Add the reader's window-level classes (``classes(record)``) to ``rows`` as columns
    ``class_NAME``: 1.0 when the class covers the whole window, 0.0 when it is absent
    from it, NaN (counted as ``mixed_class``) when it covers part of it."""
    method = getattr(dataset, "classes", None)
    found = method(record) if callable(method) else {}
    for name, intervals in found.items():
        for row in rows:
            start, stop = row["start_s"], row["start_s"] + window_s
            covered = sum(max(0.0, min(stop, b) - max(start, a)) for a, b in intervals)
            fraction = covered / window_s
            row[f"{CLASS_PREFIX}{name}"] = (1.0 if fraction >= 1.0 - 1e-9 else 0.0
                                            if fraction <= 1e-9 else float("nan"))
    return set(found)


def _label_counts(counts: dict[str, Any], rows: list[dict[str, Any]],
                  offered: dict[str, list[str]]) -> None:
    """Add ``labels`` to each kind of a record's counts: per window-level target that the
    dataset offers for that kind (``offered``), the kept
    windows with a label (``available``) and those without, by cause
    (:data:`LABEL_DROP_REASONS`): the record has no reference for it (``no_reference``),
    or the reference gives no rate in that window (``rate_undefined``: too few events,
    or a rate outside the plausible range)."""
    for kind, info in counts.items():
        mine = [r for r in rows if r["signal_kind"] == kind]
        labels: dict[str, Any] = {}
        for target in offered.get(kind, []):
            if target not in LABEL_SOURCES and not is_class_target(target):
                continue  # beat classes are counted per beat by the beat task
            source = LABEL_SOURCES.get(target)
            values = [r.get(target, float("nan")) for r in mine]
            ok = sum(1 for v in values if np.isfinite(v))
            dropped = dict.fromkeys(LABEL_DROP_REASONS, 0)
            for r, v in zip(mine, values, strict=True):
                if np.isfinite(v):
                    continue
                if source is None:
                    dropped["mixed_class" if target in r else "no_reference"] += 1
                else:
                    dropped["no_reference" if not r.get(source) else "rate_undefined"] += 1
            labels[target] = {"available": ok, "dropped": dropped}
        info["labels"] = labels


def dataset_summary(meta: dict[str, Any]) -> list[str]:
    """Lines of the per-record summary of a real suite (log and report): windows kept,
    dropped by cause, labels available per task, and the skipped records by cause."""
    lines = []
    for record, kinds in meta["records"].items():
        for kind, info in kinds.items():
            dropped = ", ".join(f"{k} {v}" for k, v in info["dropped"].items() if v) or "none"
            labels = "; ".join(
                f"{target} {lab['available']}/{info['kept']}"
                + "".join(f", no label ({k}) {v}" for k, v in lab["dropped"].items() if v)
                for target, lab in info.get("labels", {}).items())
            lines.append(f"{record} {kind} ({info['channel']}, {info['fs_hz']:g} Hz): "
                         f"{info['kept']}/{info['windows_total']} windows kept, dropped: "
                         f"{dropped}; labels: {labels or 'none'}")
    for record, why in meta.get("skipped_records", {}).items():
        lines.append(f"{record}: skipped ({why['cause']}): {why['message']}")
    causes = ", ".join(f"{k} {v}" for k, v in meta.get("skipped_by_cause", {}).items())
    lines.append(f"dataset {meta['dataset']}: {meta['n_windows']} windows of "
                 f"{meta['n_records']} records ({meta['n_subjects']} subjects); "
                 f"{len(meta.get('skipped_records', {}))} records skipped"
                 f"{' (' + causes + ')' if causes else ''}")
    return lines


SUMMARY_COLUMNS = ("record", "kind", "channel", "windows kept", "dropped (cause)",
                   "labels available (no label: cause)")


def summary_rows(meta: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per record and kind (:data:`SUMMARY_COLUMNS`), then the skipped records."""
    rows = []
    for record, kinds in meta["records"].items():
        for kind, info in kinds.items():
            dropped = ", ".join(f"{k} {v}" for k, v in info["dropped"].items() if v) or "none"
            labels = "; ".join(
                f"{t} {lab['available']}" + "".join(
                    f" ({k} {v})" for k, v in lab["dropped"].items() if v)
                for t, lab in info.get("labels", {}).items()) or "none"
            rows.append((record, kind, info["channel"],
                         f"{info['kept']}/{info['windows_total']}", dropped, labels))
    for record, why in meta.get("skipped_records", {}).items():
        rows.append((record, "-", "-", "skipped", why["cause"], why["message"]))
    return rows


def summary_markdown(meta: dict[str, Any]) -> str:
    """The dataset summary as a Markdown table (one row per record and kind)."""
    lines = [f"# Dataset {meta['dataset']}: per-record summary", "",
             "| " + " | ".join(SUMMARY_COLUMNS) + " |", "|---|---|---|--:|---|---|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |"
              for row in summary_rows(meta)]
    lines += ["", dataset_summary(meta)[-1], ""]
    return "\n".join(lines)


def summary_html(meta: dict[str, Any]) -> str:
    """The dataset summary as a small self-contained HTML page (for the report)."""
    import html

    head = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in summary_rows(meta))
    title = f"Dataset {meta['dataset']}: per-record summary"
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;font-size:13px}table{border-collapse:"
            "collapse}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
            f"</style></head><body><h3>{html.escape(title)}</h3><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table><p>"
            f"{html.escape(dataset_summary(meta)[-1])}</p></body></html>\n")


def _agreement(labels: pd.DataFrame, column: str, other: str) -> dict[str, Any]:
    """How far ``other`` lies from the reference ``column`` (context for the reader)."""
    if other not in labels.columns:
        return {"n": 0}
    diff = (labels[column] - labels[other]).abs().dropna()
    if diff.empty:
        return {"n": 0}
    return {"n": int(diff.size), "mean_abs_diff": float(diff.mean()),
            "median_abs_diff": float(diff.median()),
            "fraction_within_2": float((diff <= 2.0).mean())}


def detector_agreement(labels: pd.DataFrame) -> dict[str, Any]:
    """Once per dataset and signal kind: how far the detector label (the channel's own
    detector, ``measured_heart_rate_bpm``) lies from the independent heart-rate label
    (annotations or the monitor). Absent where the label itself is the detector's: such a
    comparison could not fail."""
    out: dict[str, Any] = {}
    for kind in ("ecg", "ppg"):
        rows = labels[labels["signal_kind"] == kind]
        if rows.empty or "heart_rate_source" not in rows.columns:
            continue
        sources = sorted(set(rows["heart_rate_source"].astype(str)) - {""})
        independent = [s for s in sources if not s.startswith("detector:")]
        if not independent:
            continue
        kept = rows[rows["heart_rate_source"].isin(independent)]
        out[kind] = {"label": ",".join(independent),
                     **_agreement(kept, "heart_rate_bpm", "measured_heart_rate_bpm")}
    return out


def quality_counts(records: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Kept windows flagged by :func:`signal_quality`, per signal kind and flag."""
    total: dict[str, dict[str, int]] = {}
    for channels in records.values():
        for kind, count in channels.items():
            for flag, n in count.get("quality_flagged", {}).items():
                total.setdefault(kind, dict.fromkeys(QUALITY_FLAGS, 0))[flag] += n
    return total


def label_drop_counts(records: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Windows whose heart-rate label was dropped, per signal kind and reason."""
    total: dict[str, dict[str, int]] = {}
    for channels in records.values():
        for kind, count in channels.items():
            for reason, n in count.get("heart_rate_label_dropped", {}).items():
                total.setdefault(kind, dict.fromkeys(MONITOR_DROP_REASONS, 0))[reason] += n
    return total


def make_real_suite(config: dict[str, Any], dataset: str, out_dir: str | Path) -> dict[str, Any]:
    """Write the suite of ``dataset`` to ``out_dir``; return the metadata of ``meta.json``.

    Files: ``signals.npy``, ``labels.parquet``, ``targets.npz``, ``events.parquet``,
    ``meta.json`` (same format as the simulated suites, see ``docs/architecture.md``).
    """
    import neurokit2
    import scipy
    import wfdb

    began = time.perf_counter()
    spec = dataset_spec(config, dataset)
    out_dir = Path(out_dir)
    signals, labels, targets, events, info = build_dataset_windows(spec, config)
    meta = {
        "suite": spec.suite,
        "dataset": spec.name,
        "reader": spec.reader,
        # as configured (relative, or physio_bench:data/...): the same bytes wherever the
        # project folder or the package lies
        "path": str(config["downstream"]["datasets"][spec.name]["path"]),
        "sampling_rate_hz": float(config["sampling_rate_hz"]),
        "window_samples": int(signals.shape[2]),
        "window_s": spec.window_s,
        "n_windows": len(labels),
        "n_records": int(labels["record"].nunique()),
        "n_subjects": int(labels["subject_id"].nunique()),
        "channel_names": ["signal"],
        "seed": int(config["seed"]),
        "targets": info["targets"],
        "factor_columns": {k: [t for t in v if t != "beat_class" and not is_class_target(t)]
                           for k, v in info["targets"].items()},
        "beat_classes": ({k: list(v) for k, v in spec.beat_split.items()}
                         if spec.beat_split is not None else None),
        "records": info["records"],
        "skipped_records": info["skipped"],
        "skipped_by_cause": {c: n for c in sorted({v["cause"] for v in info["skipped"].values()})
                             if (n := sum(v["cause"] == c for v in info["skipped"].values()))},
        "label_drop_reasons": list(LABEL_DROP_REASONS),
        "max_missing_fraction": float(config["downstream"]["max_missing_fraction"]),
        "max_gap_s": float(config["downstream"]["max_gap_s"]),
        "drop_reasons": list(DROP_REASONS),
        "heart_rate_label_dropped": label_drop_counts(info["records"]),
        "monitor_max_step_bpm": MONITOR_MAX_STEP_BPM,
        "quality_flagged": quality_counts(info["records"]),
        "quality_rule": {"rail_tolerance": RAIL_TOLERANCE,
                         "max_rail_fraction": MAX_RAIL_FRACTION, "max_flat_s": MAX_FLAT_S,
                         "action": "flagged (labels column quality_flag), kept"},
        "units": "units of each channel (see records.*.*.units); not rescaled",
        "cross_checks": {
            "detector_vs_independent_heart_rate_bpm": detector_agreement(labels),
            "reference_vs_monitor_resp_rate_bpm": _agreement(
                labels[labels["signal_kind"] == "rsp"], "resp_rate_bpm", "monitor_resp_rate_bpm"),
        },
        "reference_labels": (ref.__doc__ or "").strip(),
        "versions": {"wfdb": wfdb.__version__, "neurokit2": neurokit2.__version__,
                     "scipy": scipy.__version__},
    }
    if not np.isfinite(signals).all():  # guaranteed by fill_gaps; checked all the same
        raise InputError("a real window still holds NaN after gap filling: please report")
    save_npy(out_dir / "signals.npy", signals)
    save_parquet(out_dir / "labels.parquet", labels)
    save_npz(out_dir / "targets.npz", targets)
    save_parquet(out_dir / "events.parquet", events)
    atomic_write_bytes(out_dir / "summary.md", summary_markdown(meta).encode())
    meta["wall_time_s"] = round(time.perf_counter() - began, 3)
    write_json(out_dir / "meta.json", meta)
    return meta
