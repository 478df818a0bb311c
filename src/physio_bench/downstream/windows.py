"""Cut real records into a suite directory in the simulated-suite format (``results/real``).

Each configured channel is read at its own rate, its NaN gaps are handled, it is resampled
to ``sampling_rate_hz`` (``scipy.signal.resample_poly``: polyphase FIR with a Kaiser
anti-aliasing window) and cut into consecutive, non-overlapping windows of
``window_samples`` (a trailing partial window is not used).

Missing data (NaN samples, e.g. invalid ADC values) are explicit:

- gaps up to ``downstream.max_gap_s`` seconds are linearly interpolated;
- a window whose fraction of missing samples exceeds ``downstream.max_missing_fraction``
  is dropped (reason ``missing_fraction``), as is a window that touches a longer gap
  (``long_gap``) or is constant (``flat_signal``);
- the counts of kept and dropped windows per record, channel and reason go to
  ``meta.json``. No NaN reaches ``signals.npy``.

Signals keep their physical units (e.g. mV): no per-window scaling is applied here;
models scale their inputs themselves, as they do for the simulated suites.
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
from physio_bench.downstream.records import (
    ECTOPIC_SYMBOLS,
    SIGNAL_KINDS,
    BeatAnnotations,
    RecordSpec,
    check_records,
    read_beat_annotations,
    read_channel,
)
from physio_bench.errors import InputError
from physio_bench.io import save_npy, save_npz, save_parquet, write_json

DROP_REASONS = ("missing_fraction", "long_gap", "flat_signal")
LABEL_COLUMNS = {"ecg": ["heart_rate_bpm", "ectopic"], "ppg": ["heart_rate_bpm", "ectopic"],
                 "rsp": ["resp_rate_bpm"]}


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
    missing: np.ndarray, long_gap: np.ndarray, window: np.ndarray, max_missing_fraction: float
) -> str | None:
    """Why a window is dropped (one of :data:`DROP_REASONS`), or None to keep it."""
    if missing.mean() > max_missing_fraction:
        return "missing_fraction"
    if long_gap.any():
        return "long_gap"
    if np.ptp(window) == 0:
        return "flat_signal"
    return None


@dataclass
class _Events:
    """Event times (s) with their source and the missing-sample times (s) of the channel
    they were detected on (None for annotations, which do not depend on the signal)."""

    times_s: np.ndarray
    source: str
    gaps_s: np.ndarray | None


class _Beats:
    """Reference beats of one record (annotations, or the detector on its ECG), computed
    once and shared by its ECG and PPG windows."""

    def __init__(self, spec: RecordSpec, frame_rate_hz: float) -> None:
        self.spec = spec
        self.annotations: BeatAnnotations | None = (
            read_beat_annotations(spec, frame_rate_hz) if spec.annotation else None
        )
        self.ecg: _Events | None = None

    def detect_ecg(self, filled: np.ndarray, fs: float, missing: np.ndarray) -> _Events:
        """Run the reference detector on the record's ECG (once) and remember the beats."""
        if self.ecg is None:
            self.ecg = _Events(ref.detect_ecg_beats(filled, fs), ref.ECG_DETECTOR,
                               np.flatnonzero(missing) / fs)
        return self.ecg

    def reference(self, own: _Events) -> _Events:
        """Reference beats: annotations, else the ECG detector, else ``own`` (a PPG's)."""
        if self.annotations is not None:
            return _Events(self.annotations.times_s, f"annotation:{self.spec.annotation}", None)
        return self.ecg if self.ecg is not None else own


def _channel_windows(
    spec: RecordSpec,
    kind: str,
    beats: _Beats,
    config: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[np.ndarray], dict[str, list[np.ndarray]], dict[str, Any]]:
    """Windows, labels, per-sample targets and counts of one channel of one record."""
    fs_out = float(config["sampling_rate_hz"])
    size = int(config["window_samples"])
    options = config["downstream"]
    channel = read_channel(spec, spec.channels[kind])
    try:
        filled, missing, long_gap = fill_gaps(channel.signal, channel.fs, options["max_gap_s"])
    except InputError as exc:
        raise InputError(f"{spec.key}.channels.{kind}: {exc}") from exc
    x = resample(filled, channel.fs, fs_out)
    miss = resample_mask(missing, channel.fs, x.size, fs_out)
    gap = resample_mask(long_gap, channel.fs, x.size, fs_out)
    times = np.arange(x.size) / fs_out

    nan = np.full(x.size, np.nan)
    hr_curve, rr_curve, measured_curve = nan, nan, nan
    hr_source, rr_source = "", ""
    symbols = None
    gaps_s = np.flatnonzero(missing) / channel.fs
    if kind in ("ecg", "ppg"):
        own = (beats.detect_ecg(filled, channel.fs, missing) if kind == "ecg" else
               _Events(ref.detect_ppg_beats(filled, channel.fs), ref.PPG_DETECTOR, gaps_s))
        reference = beats.reference(own)
        events, hr_source = reference.times_s, reference.source
        hr_curve = ref.rate_curve(events, times, ref.HEART_RATE_RANGE_BPM, reference.gaps_s)
        measured_curve = ref.rate_curve(own.times_s, times, ref.HEART_RATE_RANGE_BPM, gaps_s)
        if beats.annotations is not None:
            symbols = beats.annotations.symbols
    else:
        events = ref.detect_breaths(filled, channel.fs)
        rr_source = ref.RSP_DETECTOR
        rr_curve = ref.rate_curve(events, times, ref.RESP_RATE_RANGE_BPM, gaps_s)

    rows: list[dict[str, Any]] = []
    signals: list[np.ndarray] = []
    targets: dict[str, list[np.ndarray]] = {"heart_rate_bpm": [], "resp_rate_bpm": []}
    dropped = dict.fromkeys(DROP_REASONS, 0)
    starts = window_starts(x.size, size)
    limit = options.get("max_windows_per_record")
    considered = starts if limit is None else starts[: int(limit)]
    for start in considered:
        part = slice(int(start), int(start) + size)
        reason = drop_reason(miss[part], gap[part], x[part], options["max_missing_fraction"])
        if reason is not None:
            dropped[reason] += 1
            continue
        start_s, stop_s = start / fs_out, (start + size) / fs_out
        counts = (ref.count_beats(events, symbols, start_s, stop_s, ECTOPIC_SYMBOLS)
                  if kind in ("ecg", "ppg") else None)
        rows.append({
            "subject_id": spec.name,
            "signal_kind": kind,
            "scenario": "real",
            "dynamics": "steady",
            "record": spec.name,
            "channel": spec.channels[kind],
            "start_s": float(start_s),
            "heart_rate_bpm": ref.window_rate(hr_curve[part]),
            "resp_rate_bpm": ref.window_rate(rr_curve[part]),
            "ectopic": counts.ectopic if counts else float("nan"),
            "n_beats": counts.n_beats if counts else float("nan"),
            "n_ectopic_beats": counts.n_ectopic if counts else float("nan"),
            "measured_heart_rate_bpm": ref.window_rate(measured_curve[part]),
            "heart_rate_source": hr_source,
            "resp_rate_source": rr_source,
            "missing_fraction": float(miss[part].mean()),
            "n_missing_samples": int(miss[part].sum()),
        })
        signals.append(x[part].astype(np.float32))
        targets["heart_rate_bpm"].append(hr_curve[part].astype(np.float32))
        targets["resp_rate_bpm"].append(rr_curve[part].astype(np.float32))
    label = "heart_rate_bpm" if kind in ("ecg", "ppg") else "resp_rate_bpm"
    counts_info = {
        "channel": spec.channels[kind],
        "fs_hz": channel.fs,
        "units": channel.units,
        "duration_s": channel.signal.size / channel.fs,
        "missing_samples": int(missing.sum()),
        "windows_total": int(starts.size),
        "windows_considered": int(considered.size),
        "kept": len(rows),
        "dropped": dropped,
        "unlabelled": int(sum(not np.isfinite(r[label]) for r in rows)),
        "reference": hr_source or rr_source,
    }
    return rows, signals, targets, counts_info


def build_real_windows(
    config: dict[str, Any],
) -> tuple[np.ndarray, pd.DataFrame, dict[str, np.ndarray], dict[str, Any]]:
    """Cut every configured record; return ``(signals, labels, targets, per-record counts)``.

    Raises:
        InputError: no record configured, a record fails its header checks, or no window
            is kept.
    """
    specs = check_records(config)
    if not specs:
        raise InputError(
            "downstream.records is empty: list at least one WFDB record (see config.yaml)"
        )
    size = int(config["window_samples"])
    rows: list[dict[str, Any]] = []
    signals: list[np.ndarray] = []
    targets: dict[str, list[np.ndarray]] = {"heart_rate_bpm": [], "resp_rate_bpm": []}
    counts: dict[str, dict[str, Any]] = {}
    import wfdb

    for spec in specs:
        header = wfdb.rdheader(str(spec.path))
        beats = _Beats(spec, float(header.fs))
        counts[spec.name] = {}
        # ECG first, so PPG windows of an unannotated record can use the ECG's beats.
        for kind in (k for k in SIGNAL_KINDS if k in spec.channels):
            r, s, t, info = _channel_windows(spec, kind, beats, config)
            rows += r
            signals += s
            for key in targets:
                targets[key] += t[key]
            counts[spec.name][kind] = info
    if not rows:
        raise InputError(
            "no real window was kept (every window dropped for missing data): raise "
            "downstream.max_missing_fraction or max_gap_s, or add records"
        )
    labels = pd.DataFrame(rows)
    labels.insert(0, "window_id", np.arange(len(rows), dtype=np.int64))
    array = np.stack(signals)[:, None, :].astype(np.float32)
    target_arrays = {k: np.stack(v).reshape(len(rows), size) for k, v in targets.items()}
    return array, labels, target_arrays, counts


def make_real_suite(config: dict[str, Any], out_dir: str | Path) -> dict[str, Any]:
    """Write ``signals.npy``, ``labels.parquet``, ``targets.npz``, ``meta.json`` to ``out_dir``.

    Same format as the simulated suites (``docs/architecture.md``), with one row per kept
    window and the reference labels described in :mod:`physio_bench.downstream.reference`.
    Returns the metadata written to ``meta.json``.
    """
    import neurokit2
    import scipy
    import wfdb

    began = time.perf_counter()
    out_dir = Path(out_dir)
    signals, labels, targets, counts = build_real_windows(config)
    meta = {
        "suite": "real",
        "sampling_rate_hz": float(config["sampling_rate_hz"]),
        "window_samples": int(config["window_samples"]),
        "n_windows": len(labels),
        "channel_names": ["signal"],
        "seed": int(config["seed"]),
        "factor_columns": {k: v for k, v in LABEL_COLUMNS.items()
                           if k in set(labels["signal_kind"])},
        "records": counts,
        "max_missing_fraction": float(config["downstream"]["max_missing_fraction"]),
        "max_gap_s": float(config["downstream"]["max_gap_s"]),
        "drop_reasons": list(DROP_REASONS),
        "units": "physical units of each channel (see records.*.*.units); not rescaled",
        "reference_methods": (ref.__doc__ or "").strip(),
        "neurokit2_version": neurokit2.__version__,
        "versions": {"wfdb": wfdb.__version__, "neurokit2": neurokit2.__version__,
                     "scipy": scipy.__version__},
    }
    if not np.isfinite(signals).all():  # guaranteed by fill_gaps; checked all the same
        raise InputError("a real window still holds NaN after gap filling: please report")
    save_npy(out_dir / "signals.npy", signals)
    save_parquet(out_dir / "labels.parquet", labels)
    save_npz(out_dir / "targets.npz", targets)
    meta["wall_time_s"] = round(time.perf_counter() - began, 3)
    write_json(out_dir / "meta.json", meta)
    return meta
