"""Datasets of real recordings as plug-ins: the protocol, the registry, the config entries.

A *dataset reader* is an entry point in the group ``physio_bench.datasets`` (physio_bench's
own ``wfdb`` and ``bidmc-csv`` register the same way as any third-party reader). Its value
is a factory called as ``factory(path=<folder>, cache_dir=<folder>, **options)``, where
``options`` are the dataset's config keys that the core does not read itself
(:data:`CORE_KEYS`); it returns an object with these methods (:class:`Dataset`):

``records() -> list[str]``
    Every record found in the folder, sorted (record names are unique in a dataset).
``channels(record) -> list[ChannelInfo]``
    The record's channels: name, sampling rate (Hz), physical units, length in samples.
    Must be cheap (headers only): it runs before any job, for every record.
``read(record, names) -> dict[str, Channel]``
    The named channels as float64 arrays in physical units at their own rate, NaN where
    the recording marks samples invalid.
``events(record) -> RecordEvents``
    The record's reference events: beats (times in s from the record start, with their
    WFDB beat symbols when annotated) and breaths (times in s, per annotator), each with
    its source; ``None`` where the dataset has none (the core then detects them, see
    :mod:`physio_bench.downstream.reference`).
``numerics(record) -> dict[str, tuple[ndarray, ndarray]]`` (optional)
    Monitor numerics (name -> times in s, values), used only as a cross-check of the
    reference labels (e.g. BIDMC's 1 Hz monitor heart rate).

A config entry under ``downstream.datasets`` names a reader and a folder; every record
found there is used unless ``records`` lists some. See ``docs/datasets.md``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from physio_bench.config import describe_missing, resolve_config_path
from physio_bench.errors import InputError, PhysioBenchError
from physio_bench.model_types import REFERENCE_METHOD  # the reference methods' rows

ENTRY_POINT_GROUP = "physio_bench.datasets"
SIGNAL_KINDS = ("ecg", "ppg", "rsp")
#: keys of a ``downstream.datasets`` entry read by the core; the rest go to the reader
CORE_KEYS = ("reader", "path", "channels", "records", "enabled", "window_s",
             "max_windows_per_record", "subjects", "beat_classes", "targets")
#: targets a dataset can offer; ``targets`` in its entry may restrict them
TARGETS = ("heart_rate_bpm", "resp_rate_bpm", "beat_class")


@dataclass(frozen=True)
class ChannelInfo:
    """One channel of a record, from its header: name, rate (Hz), units, samples."""

    name: str
    fs_hz: float
    units: str
    n_samples: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz


@dataclass
class Channel:
    """One channel's samples (float64, physical units, NaN = invalid) at ``fs_hz``."""

    signal: np.ndarray
    fs_hz: float
    units: str


@dataclass
class RecordEvents:
    """Reference events of one record (times in seconds from the record start).

    Attributes:
        beats_s: beat times, increasing, or None when the dataset has no beat reference.
        beat_symbols: WFDB beat symbol per beat (``N``, ``A``, ``V``, ...), or None.
        beats_source: where the beats come from, e.g. ``annotation:atr``.
        breaths_s: annotator -> breath times (increasing); empty when there is none.
        breaths_source: e.g. ``annotation:Breaths.csv``.
        unlabelled_beats: annotations of heartbeats that carry no beat class, by symbol
            (MIT-BIH ``!``: ventricular flutter waves, record 207), counted, never used.
    """

    beats_s: np.ndarray | None = None
    beat_symbols: np.ndarray | None = None
    beats_source: str = ""
    breaths_s: dict[str, np.ndarray] = field(default_factory=dict)
    breaths_source: str = ""
    unlabelled_beats: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Dataset(Protocol):
    """What a dataset reader returns (see the module docstring)."""

    def records(self) -> list[str]: ...

    def channels(self, record: str) -> list[ChannelInfo]: ...

    def read(self, record: str, names: list[str]) -> dict[str, Channel]: ...

    def events(self, record: str) -> RecordEvents: ...


@dataclass(frozen=True)
class DatasetSpec:
    """One ``downstream.datasets`` entry, resolved.

    Attributes:
        name: the entry's key (the suite is ``results/real/{name}``, tasks
            ``real:{name}:{kind}:{target}``).
        reader: entry-point name in ``physio_bench.datasets``.
        path: the folder (:func:`resolve_path`: a relative path stays relative, taken
            from the working directory of the run; ``physio_bench:data/...`` is absolute).
        channels: signal kind -> channel names to try, in order (the first a record has).
        records: the records to use, or None for every record found.
        window_s: window length in seconds.
        max_windows: first N windows per record and channel (None: all).
        subjects: record -> subject, for records of the same person (default: itself).
        beat_split: ``{"train": [...], "test": [...]}`` records of the fixed beat-class
            split, or None (no beat-class task).
        targets: the targets to evaluate (a subset of :data:`TARGETS`).
        options: the reader's own options.
    """

    name: str
    reader: str
    path: Path
    channels: dict[str, tuple[str, ...]]
    records: tuple[str, ...] | None
    window_s: float
    max_windows: int | None
    subjects: dict[str, str]
    beat_split: dict[str, tuple[str, ...]] | None
    targets: tuple[str, ...]
    options: dict[str, Any]

    @property
    def key(self) -> str:
        return f"downstream.datasets.{self.name}"

    @property
    def suite(self) -> str:
        """The suite name used by the embed stage (``real-{name}``)."""
        return f"real-{self.name}"

    def subject_of(self, record: str) -> str:
        return self.subjects.get(record, record)

    def window_samples(self, sampling_rate_hz: float) -> int:
        """Samples per window at the benchmark's rate."""
        return round(self.window_s * float(sampling_rate_hz))


def available_readers() -> dict[str, EntryPoint]:
    """Installed dataset readers: entry-point name -> entry point, sorted by name."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return dict(sorted(found.items()))


def resolve_path(path: str | Path) -> Path:
    """A dataset's folder (:func:`physio_bench.config.resolve_config_path`): a relative
    path is taken from the working directory of the run and stays relative, so a moved
    project folder finds its data and Snakemake sees the same input files;
    ``<package>:<path>`` (``physio_bench:data/mitdb``) is a folder shipped inside a package.

    Raises:
        InputError: the package of a ``<package>:`` path is not installed.
    """
    try:
        return resolve_config_path(path)
    except PhysioBenchError as exc:
        raise InputError(str(exc)) from exc


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else (str(value),)


def window_seconds(config: dict[str, Any], entry: dict[str, Any]) -> float:
    """A dataset's window length (s): its ``window_s``, else the benchmark's window."""
    if entry.get("window_s") is not None:
        return float(entry["window_s"])
    return float(config["window_samples"]) / float(config["sampling_rate_hz"])


def dataset_specs(config: dict[str, Any]) -> list[DatasetSpec]:
    """The enabled ``downstream.datasets`` entries as :class:`DatasetSpec` (no disk access)."""
    options = config["downstream"]
    specs = []
    for name, entry in options.get("datasets", {}).items():
        if not entry.get("enabled", True):
            continue
        split = entry.get("beat_classes")
        records = entry.get("records")
        limit = entry.get("max_windows_per_record", options.get("max_windows_per_record"))
        specs.append(DatasetSpec(
            name=str(name),
            reader=str(entry["reader"]),
            path=resolve_path(entry["path"]),
            channels={kind: _names(v) for kind, v in entry["channels"].items()},
            records=None if records is None else _names(records),
            window_s=window_seconds(config, entry),
            max_windows=None if limit is None else int(limit),
            subjects={str(k): str(v) for k, v in (entry.get("subjects") or {}).items()},
            beat_split=None if split is None else {k: _names(split[k]) for k in ("train", "test")},
            targets=tuple(entry.get("targets") or TARGETS),
            options={k: v for k, v in entry.items() if k not in CORE_KEYS},
        ))
    return specs


def dataset_spec(config: dict[str, Any], name: str) -> DatasetSpec:
    """The enabled dataset ``name`` (``InputError`` listing the configured ones)."""
    specs = {s.name: s for s in dataset_specs(config)}
    if name not in specs:
        raise InputError(f"unknown dataset {name!r}: enabled datasets are "
                         f"{', '.join(specs) or 'none'} (downstream.datasets)")
    return specs[name]


def cache_dir(config: dict[str, Any]) -> Path:
    """Folder for decompressed files (``downstream.cache_dir``; relative to the working
    directory, i.e. under the run's ``results/``)."""
    return Path(config["downstream"]["cache_dir"])


def open_dataset(spec: DatasetSpec, config: dict[str, Any]) -> Dataset:
    """Build the reader of ``spec`` (one-line ``InputError`` on any problem)."""
    readers = available_readers()
    if spec.reader not in readers:
        raise InputError(
            f"{spec.key}.reader: unknown reader {spec.reader!r}: installed readers are "
            f"{', '.join(readers) or 'none'} (entry-point group {ENTRY_POINT_GROUP})"
        )
    if not spec.path.is_dir():
        raise InputError(f"{spec.key}.path: folder {describe_missing(spec.path)}: fix the "
                         "path or download the data (physio-bench download-physionet)")
    try:
        factory = readers[spec.reader].load()
    except Exception as exc:
        raise InputError(f"{spec.key}: reader {spec.reader!r} cannot be imported: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from exc
    kwargs = {"path": spec.path, "cache_dir": cache_dir(config) / spec.name, **spec.options}
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError:
        accepted = [p for p in inspect.signature(factory).parameters
                    if p not in ("path", "cache_dir", "self")]
        extra = sorted(set(spec.options) - set(accepted))
        raise InputError(f"{spec.key}: reader {spec.reader!r} does not take option "
                         f"{extra[0] if extra else '?'!r}; its options are: "
                         f"{', '.join(accepted) or 'none'}") from None
    except ValueError:  # no signature (builtins): let the call decide
        pass
    try:
        return factory(**kwargs)
    except PhysioBenchError as exc:
        raise InputError(f"{spec.key}: {exc}") from exc
    except Exception as exc:
        raise InputError(f"{spec.key}: reader {spec.reader!r} failed: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def normalise_channel_name(name: str) -> str:
    """Channel names compared without surrounding blanks and trailing ``,``/``;`` (some
    PhysioNet headers write ``II,``)."""
    return name.strip().rstrip(",;").strip()


def pick_channel(spec: DatasetSpec, record: str, kind: str,
                 infos: list[ChannelInfo]) -> ChannelInfo:
    """The first of ``spec.channels[kind]`` that ``record`` has (one-line error if none)."""
    by_name = {normalise_channel_name(i.name): i for i in infos}
    for wanted in spec.channels[kind]:
        found = by_name.get(normalise_channel_name(wanted))
        if found is not None:
            return found
    wanted_text = " or ".join(repr(w) for w in spec.channels[kind])
    raise InputError(
        f"{spec.key}.channels.{kind}: record {record} has no channel {wanted_text} (it has "
        f"{', '.join(by_name) or 'none'}): list one of those names, or leave the record out "
        f"with {spec.key}.records"
    )


def record_list(spec: DatasetSpec, dataset: Dataset) -> list[str]:
    """The records to use: ``spec.records`` (each must exist) or every record found."""
    found = [str(r) for r in dataset.records()]
    if spec.records is None:
        if not found:
            raise InputError(f"{spec.key}: reader {spec.reader!r} found no record in "
                             f"{spec.path}: check the folder and the reader")
        return found
    missing = [r for r in spec.records if r not in set(found)]
    if missing:
        raise InputError(f"{spec.key}.records: record {missing[0]} not found in {spec.path} "
                         f"(found {len(found)} records): fix the list or add the files")
    return list(spec.records)


def check_dataset(spec: DatasetSpec, config: dict[str, Any]) -> dict[str, dict[str, ChannelInfo]]:
    """Header-only checks of one dataset; return record -> kind -> channel.

    Raises:
        InputError: unknown reader, missing folder or record, a channel a record lacks, a
            record shorter than one window, or beat-class split records not in the dataset.
    """
    dataset = open_dataset(spec, config)
    records = record_list(spec, dataset)
    chosen: dict[str, dict[str, ChannelInfo]] = {}
    for record in records:
        try:
            infos = dataset.channels(record)
        except PhysioBenchError as exc:
            raise InputError(f"{spec.key}: record {record}: {exc}") from exc
        chosen[record] = {kind: pick_channel(spec, record, kind, infos) for kind in spec.channels}
        for kind, info in chosen[record].items():
            if info.duration_s < spec.window_s:
                raise InputError(
                    f"{spec.key}: channel {info.name} ({kind}) of record {record} lasts "
                    f"{info.duration_s:.2f} s, shorter than one window ({spec.window_s:.2f} s): "
                    "leave the record out or shorten the window (window_s)"
                )
    if spec.beat_split is not None:
        if "ecg" not in spec.channels:
            raise InputError(f"{spec.key}.beat_classes needs an ecg channel in "
                             f"{spec.key}.channels")
        for part, names in spec.beat_split.items():
            outside = [r for r in names if r not in chosen]
            if outside:
                raise InputError(f"{spec.key}.beat_classes.{part}: record {outside[0]} is not "
                                 "among the dataset's records: fix the split or "
                                 f"{spec.key}.records")
        overlap = set(spec.beat_split["train"]) & set(spec.beat_split["test"])
        if overlap:
            raise InputError(f"{spec.key}.beat_classes: record {sorted(overlap)[0]} is in both "
                             "train and test: the split must be inter-patient")
    return chosen


def check_datasets(config: dict[str, Any]) -> list[DatasetSpec]:
    """Check every enabled dataset from headers only (before any job runs).

    Raises:
        InputError: one line naming the dataset key, the problem and the fix.
    """
    specs = dataset_specs(config)
    if REFERENCE_METHOD in config.get("models", {}):
        raise InputError(f"models.{REFERENCE_METHOD}: the name is reserved for the classical "
                         "reference methods' rows: rename the model")
    for spec in specs:
        check_dataset(spec, config)
    return specs
