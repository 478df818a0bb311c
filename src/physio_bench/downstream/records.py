"""Real WFDB records named in the config: cheap header checks, channel and annotation reads.

A record entry in ``downstream.records`` is ``{path, channels: {kind: channel name},
annotation?}``. ``path`` is the WFDB record name without extension, relative to the
repository root (:data:`physio_bench.config.REPO_ROOT`) unless absolute. Anything that
``wfdb.rdrecord`` reads is accepted: ``.dat`` (any WFDB format) and ``.mat`` signal files,
multi-frequency records (several samples per frame, read unsmoothed at each channel's own
rate) and multi-segment records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.config import REPO_ROOT
from physio_bench.errors import InputError

SIGNAL_KINDS = ("ecg", "ppg", "rsp")

# WFDB beat annotation codes (PhysioNet's ``isqrs``); other symbols (rhythm changes '+',
# signal quality '~', comments '"') are not beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
# Ectopic beats: the AAMI EC57 supraventricular (S: A a J S), ventricular (V: V r E) and
# fusion (F) classes. Normal and bundle-branch/escape beats (N L R B e j n) and paced or
# unclassifiable beats (/ f Q ?) are not ectopic.
ECTOPIC_SYMBOLS = frozenset("AaJSVrEF")


@dataclass(frozen=True)
class RecordSpec:
    """One ``downstream.records`` entry with its path resolved.

    Attributes:
        index: position in ``downstream.records`` (for error messages).
        path: absolute WFDB record path without extension.
        channels: signal kind (``ecg``/``ppg``/``rsp``) -> channel name in the header.
        annotation: extension of the reference beat annotation file, or None.
    """

    index: int
    path: Path
    channels: dict[str, str] = field(default_factory=dict)
    annotation: str | None = None

    @property
    def name(self) -> str:
        """The record name (file stem), used as ``subject_id`` and ``record``."""
        return self.path.name

    @property
    def key(self) -> str:
        """Config key of this entry, for messages: ``downstream.records[i]``."""
        return f"downstream.records[{self.index}]"


def resolve_record_path(path: str | Path) -> Path:
    """Absolute record path: relative paths are taken from the repository root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def record_specs(config: dict[str, Any]) -> list[RecordSpec]:
    """The ``downstream.records`` entries of ``config`` as :class:`RecordSpec` objects.

    Raises:
        InputError: two entries share a record name (the name is the CV group).
    """
    specs = [
        RecordSpec(
            index=i,
            path=resolve_record_path(entry["path"]),
            channels=dict(entry["channels"]),
            annotation=entry.get("annotation"),
        )
        for i, entry in enumerate(config["downstream"]["records"])
    ]
    seen: dict[str, RecordSpec] = {}
    for spec in specs:
        if spec.name in seen:
            raise InputError(
                f"{spec.key} and {seen[spec.name].key} are both named record '{spec.name}': "
                "list each record once (record names group the cross-validation)"
            )
        seen[spec.name] = spec
    return specs


def _read_header(spec: RecordSpec) -> Any:
    import wfdb

    header_file = spec.path.with_name(spec.path.name + ".hea")
    if not header_file.exists():
        raise InputError(
            f"{spec.key}: WFDB record {spec.path} not found (no {header_file.name} in "
            f"{spec.path.parent}): fix the path (relative to {REPO_ROOT}) or download the record"
        )
    try:
        return wfdb.rdheader(str(spec.path), rd_segments=True)
    except Exception as exc:  # wfdb raises bare Exceptions on malformed headers
        raise InputError(
            f"{spec.key}: cannot read the header of {spec.path}: {exc}".splitlines()[0]
        ) from exc


def _segments(header: Any) -> list[Any]:
    """Single-segment headers as a list: the header itself, or a multi-segment's parts."""
    segments = getattr(header, "segments", None)
    if segments is None:
        return [header]
    return [s for s in segments if s is not None]


def header_channels(header: Any) -> list[str]:
    """Channel names of a (single- or multi-segment) WFDB header, in order, unique."""
    names: list[str] = []
    for segment in _segments(header):
        for name in segment.sig_name or []:
            if name not in names:
                names.append(name)
    return names


def header_duration_s(header: Any) -> float:
    """Record length in seconds (``sig_len`` frames at the frame rate ``fs``)."""
    return float(header.sig_len) / float(header.fs)


def _check_signal_files(spec: RecordSpec, header: Any) -> None:
    for segment in _segments(header):
        folder = spec.path.parent
        for file_name in sorted(set(getattr(segment, "file_name", None) or [])):
            if file_name and not (folder / file_name).exists():
                raise InputError(
                    f"{spec.key}: signal file {folder / file_name} named by the header of "
                    f"{spec.name} is missing: copy or download it next to {spec.name}.hea"
                )


def check_record(spec: RecordSpec, window_s: float) -> Any:
    """Check one record from its header only; return the header.

    Raises:
        InputError: missing record or signal file, unknown channel, missing annotation
            file, or a record shorter than one window of ``window_s`` seconds.
    """
    header = _read_header(spec)
    names = header_channels(header)
    for kind, channel in spec.channels.items():
        if channel not in names:
            raise InputError(
                f"{spec.key}.channels.{kind}: record {spec.name} has no channel '{channel}' "
                f"(it has {', '.join(names)}): use one of those names"
            )
    _check_signal_files(spec, header)
    if spec.annotation is not None:
        ann_file = spec.path.with_name(f"{spec.name}.{spec.annotation}")
        if not ann_file.exists():
            raise InputError(
                f"{spec.key}.annotation: annotation file {ann_file} not found: fix the "
                "extension or remove 'annotation' to use the reference detector"
            )
    duration = header_duration_s(header)
    if duration < window_s:
        raise InputError(
            f"{spec.key}: record {spec.name} is {duration:.2f} s long, shorter than one "
            f"window ({window_s:.2f} s): use a longer record or reduce window_samples"
        )
    return header


def check_records(config: dict[str, Any]) -> list[RecordSpec]:
    """Check every ``downstream.records`` entry from headers only (cheap; no signal read).

    Call this from configuration validation so that a wrong path, a wrong channel name or
    a record shorter than a window fails before any job runs.

    Raises:
        InputError: one line naming the entry, the problem and the fix.
    """
    window_s = config["window_samples"] / config["sampling_rate_hz"]
    specs = record_specs(config)
    for spec in specs:
        check_record(spec, window_s)
    return specs


@dataclass
class Channel:
    """One channel of a record in physical units at its own sampling rate.

    Attributes:
        signal: float64 samples (NaN where the record marks samples invalid).
        fs: sampling rate of this channel in Hz (frame rate x samples per frame).
        units: physical units from the header (e.g. ``mV``).
    """

    signal: np.ndarray
    fs: float
    units: str


def read_channel(spec: RecordSpec, channel: str) -> Channel:
    """Read one channel at its native rate (multi-frequency records are not smoothed)."""
    import wfdb

    try:
        record = wfdb.rdrecord(
            str(spec.path), channel_names=[channel], smooth_frames=False, return_res=64
        )
    except Exception as exc:
        raise InputError(
            f"{spec.key}: cannot read channel '{channel}' of {spec.path}: {exc}".splitlines()[0]
        ) from exc
    if not record.e_p_signal:
        raise InputError(f"{spec.key}: record {spec.name} has no channel '{channel}'")
    signal = np.asarray(record.e_p_signal[0], dtype=np.float64)
    fs = float(record.fs) * int(record.samps_per_frame[0])
    units = (record.units or ["au"])[0] or "au"
    return Channel(signal=signal, fs=fs, units=units)


@dataclass
class BeatAnnotations:
    """Reference beats of a record.

    Attributes:
        times_s: beat times in seconds from the record start, increasing.
        symbols: the WFDB beat symbol of each beat (``N``, ``A``, ``V``, ...).
    """

    times_s: np.ndarray
    symbols: np.ndarray


def read_beat_annotations(spec: RecordSpec, frame_rate_hz: float) -> BeatAnnotations:
    """Read the beat annotations (``spec.annotation``), keeping beat symbols only.

    Annotation sample numbers count at the annotation file's own rate when it stores one
    (high-resolution annotations of multi-frequency records), else at the frame rate.
    """
    import wfdb

    if spec.annotation is None:
        raise ValueError(f"{spec.key} has no annotation")
    ann = wfdb.rdann(str(spec.path), spec.annotation)
    fs = float(ann.fs) if ann.fs else frame_rate_hz
    symbols = np.asarray(ann.symbol, dtype=object)
    beats = np.array([s in BEAT_SYMBOLS for s in symbols], dtype=bool)
    times = np.asarray(ann.sample, dtype=np.float64)[beats] / fs
    order = np.argsort(times, kind="stable")
    return BeatAnnotations(times_s=times[order], symbols=symbols[beats][order].astype(str))
