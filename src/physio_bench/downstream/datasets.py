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

``classes(record) -> dict[str, list[tuple[float, float]]]`` (optional)
    Window-level classes from the dataset's own labels: class name -> the intervals (s)
    where the class is present (an empty list: absent throughout the record); every
    record returns the same names. A class ``NAME`` becomes the binary target
    ``class_NAME`` of every signal kind (see :mod:`physio_bench.downstream.windows`).
``example(folder) -> ReaderExample`` (optional, a static method of the factory)
    Write one small, good record of the layout into ``folder`` and say how to damage it
    (:class:`ReaderExample`): the corruption harness of the tests
    (``tests/test_reader_corruption.py``) runs on every installed reader that has it.

A config entry under ``downstream.datasets`` names a reader and a folder; every record
found there is used unless ``records`` lists some. See ``docs/datasets.md``.

Bad records: the rule every reader follows
-------------------------------------------
A file that cannot be read, or whose content is not what the layout promises, is an
error of its record, never a traceback nor a silent loss. The reader raises
:class:`RecordFileError` (``file``, ``cause``, ``problem``) as soon as it sees it:
missing or unknown columns, no annotator column, non-numeric values, an empty file, a
sampling rate that disagrees with the header, a truncated compressed or binary file,
bytes that are not UTF-8 in a text file. The core adds what a reader cannot know
(:class:`GuardedDataset`): any other exception of a reader becomes a
``reader_error``; a channel whose length or rate disagrees with ``channels()``
(``truncated``, ``rate_mismatch``) and event times outside the signal or not finite
(``bad_annotations``) are caught after the reader returns. The result is one line::

    downstream.datasets.bidmc: record bidmc_01: bidmc_01_Signals.csv.gz: truncated: ... [truncated]

naming the dataset, the record, the file and the problem, with the cause in brackets
(:data:`BAD_RECORD_CAUSES`). Header-level problems surface in :func:`check_dataset`,
before any job runs; content problems when the record is read, before its windows are cut.
With ``on_bad_record: skip`` (``downstream.on_bad_record`` or the dataset entry's own
key) the record is left out instead, and the log, ``meta.json`` (``skipped_records``,
``skipped_by_cause``) and the dataset summary count it by cause. A kept window without a
label for a task is counted as dropped for that task, with its cause (``labels`` per
record in ``meta.json``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from physio_bench.config import describe_missing, resolve_config_path
from physio_bench.errors import InputError, PhysioBenchError
from physio_bench.model_types import REFERENCE_METHOD  # the reference methods' rows

LOG = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "physio_bench.datasets"
SIGNAL_KINDS = ("ecg", "ppg", "rsp")
#: keys of a ``downstream.datasets`` entry read by the core; the rest go to the reader
CORE_KEYS = ("reader", "path", "channels", "records", "enabled", "window_s",
             "max_windows_per_record", "subjects", "beat_classes", "targets",
             "on_bad_record")
#: why a record is bad (the bracketed word of its one-line error; counted when skipped)
BAD_RECORD_CAUSES = (
    "missing_file",      # a file the layout requires is absent
    "empty",             # a file holds no data (no bytes, or a header only)
    "truncated",         # a compressed or binary file ends early; fewer samples than the header
    "not_utf8",          # a text file holds bytes that are not UTF-8
    "bad_header",        # a header that cannot be parsed
    "bad_columns",       # missing, unknown, duplicated or disagreeing column names
    "no_annotator",      # an annotation file without any annotator column
    "non_numeric",       # a value that is not a number where the layout promises one
    "bad_annotations",   # events outside the signal, not finite, or unreadable
    "rate_mismatch",     # a sampling rate that disagrees with the header
    "missing_channel",   # the record lacks every configured channel name of a kind
    "too_short",         # the record is shorter than one window
    "reader_error",      # any other failure of the reader (a bug to report)
)
ON_BAD_RECORD = ("error", "skip")
#: targets a dataset can offer; ``targets`` in its entry may restrict them
TARGETS = ("heart_rate_bpm", "resp_rate_bpm", "beat_class")
#: prefix of the binary window-level class targets from a reader's ``classes(record)``
CLASS_PREFIX = "class_"


def is_class_target(target: str) -> bool:
    """True for a window-level class target (``class_<name>``)."""
    return target.startswith(CLASS_PREFIX)


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


class RecordFileError(InputError):
    """A reader's complaint about one file of a record: ``file: problem [cause]``.

    Attributes:
        file: the file's name (no folder).
        cause: one of :data:`BAD_RECORD_CAUSES`.
        problem: what is wrong, one line.
    """

    def __init__(self, file: str | Path, cause: str, problem: str) -> None:
        self.file = Path(file).name
        self.cause = cause if cause in BAD_RECORD_CAUSES else "reader_error"
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.file}: {self.problem} [{self.cause}]")


class BadRecordError(InputError):
    """One record of one dataset cannot be used: one line naming the dataset, the record,
    the file and the problem (``.cause`` is one of :data:`BAD_RECORD_CAUSES`)."""

    def __init__(self, key: str, record: str, cause: str, detail: str,
                 message: str | None = None) -> None:
        self.key, self.record, self.cause = key, record, cause
        self.detail = " ".join(str(detail).split())
        super().__init__(message or f"{key}: record {record}: {self.detail}")


@dataclass
class ReaderExample:
    """A small good record written by a reader's ``example(folder)`` for the harness.

    Attributes:
        entry: the dataset entry (``reader``, ``channels``, reader options; no ``path``).
        record: the record's name.
        files: the record's files (each gets the generic corruptions: truncation,
            emptying, non-UTF-8 bytes, a junk first line).
        corruptions: layout-specific damage: name -> (function of the folder that
            damages the record, expected outcome): ``"error"`` (a one-line error naming
            a file), or ``"drop:<reason>"`` (windows dropped and counted with that reason),
            or ``"ok"`` (the reader copes, e.g. columns found by name).
        binary: the files the generic text corruptions do not apply to.
    """

    entry: dict[str, Any]
    record: str
    files: list[Path]
    corruptions: dict[str, tuple[Callable[[Path], None], str]] = field(default_factory=dict)
    binary: tuple[str, ...] = ()


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
        on_bad_record: ``error`` (stop with the record's one-line error) or ``skip``
            (leave the record out, counted by cause).
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
    on_bad_record: str = "error"

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
            on_bad_record=str(entry.get("on_bad_record")
                              or options.get("on_bad_record") or "error"),
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
        return GuardedDataset(spec, factory(**kwargs))
    except PhysioBenchError as exc:
        raise InputError(f"{spec.key}: {exc}") from exc
    except Exception as exc:
        raise InputError(f"{spec.key}: reader {spec.reader!r} failed: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def bad_record(spec: DatasetSpec, record: str, exc: BaseException,
               where: str = "") -> BadRecordError:
    """``exc`` raised by the reader on ``record`` as a one-line :class:`BadRecordError`."""
    if isinstance(exc, BadRecordError):
        return exc
    if isinstance(exc, RecordFileError):
        return BadRecordError(spec.key, record, exc.cause, str(exc))
    if isinstance(exc, PhysioBenchError):
        return BadRecordError(spec.key, record, getattr(exc, "cause", "reader_error"),
                              _first_line(exc))
    return BadRecordError(spec.key, record, "reader_error",
                          f"reader {spec.reader!r} failed{' in ' + where if where else ''}: "
                          f"{type(exc).__name__}: {_first_line(exc)} [reader_error]")


class GuardedDataset:
    """A reader wrapped so that every failure on a record is a :class:`BadRecordError`,
    and what the reader returns is checked against its own header (see the module
    docstring: channel lengths and rates, event times inside the signal)."""

    def __init__(self, spec: DatasetSpec, dataset: Any) -> None:
        self.spec = spec
        self.dataset = dataset
        self._infos: dict[str, list[ChannelInfo]] = {}

    def __getattr__(self, name: str) -> Any:  # optional methods (numerics, ...) pass through
        value = getattr(self.dataset, name)
        if not callable(value) or name.startswith("_"):
            return value

        def guarded(record: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return value(record, *args, **kwargs)
            except Exception as exc:
                raise bad_record(self.spec, record, exc, f"{name}()") from exc
        return guarded

    def records(self) -> list[str]:
        try:
            return [str(r) for r in self.dataset.records()]
        except PhysioBenchError as exc:
            raise InputError(f"{self.spec.key}: {_first_line(exc)}") from exc
        except Exception as exc:
            raise InputError(f"{self.spec.key}: reader {self.spec.reader!r} cannot list its "
                             f"records in {self.spec.path}: {type(exc).__name__}: "
                             f"{_first_line(exc)}") from exc

    def channels(self, record: str) -> list[ChannelInfo]:
        if record not in self._infos:
            try:
                infos = list(self.dataset.channels(record))
            except Exception as exc:
                raise bad_record(self.spec, record, exc, "channels()") from exc
            for info in infos:
                if not isinstance(info.name, str) or not info.name.strip() or \
                        not info.fs_hz > 0 or info.n_samples < 0:
                    raise BadRecordError(self.spec.key, record, "bad_header",
                                         f"a channel without a name, rate or length in its "
                                         f"header ({info}) [bad_header]")
            self._infos[record] = infos
        return self._infos[record]

    def read(self, record: str, names: list[str]) -> dict[str, Channel]:
        try:
            read = self.dataset.read(record, names)
        except Exception as exc:
            raise bad_record(self.spec, record, exc, "read()") from exc
        infos = {normalise_channel_name(i.name): i for i in self.channels(record)}
        for name, channel in read.items():
            info = infos.get(normalise_channel_name(name))
            n = np.asarray(channel.signal).size
            if info is None:
                continue
            if not np.isclose(channel.fs_hz, info.fs_hz, rtol=1e-6):
                raise BadRecordError(self.spec.key, record, "rate_mismatch",
                                     f"channel {name}: read at {channel.fs_hz:g} Hz but its "
                                     f"header says {info.fs_hz:g} Hz [rate_mismatch]")
            if n != info.n_samples:
                cause = "truncated" if n < info.n_samples else "bad_header"
                raise BadRecordError(self.spec.key, record, cause,
                                     f"channel {name}: {n} samples read but the header says "
                                     f"{info.n_samples} [{cause}]")
        return read

    def events(self, record: str) -> RecordEvents:
        try:
            events = self.dataset.events(record)
        except Exception as exc:
            raise bad_record(self.spec, record, exc, "events()") from exc
        duration = max((i.duration_s for i in self.channels(record)), default=np.inf)
        series = {"beats": events.beats_s} if events.beats_s is not None else {}
        series.update({f"breaths {k}": v for k, v in events.breaths_s.items()})
        for what, times in series.items():
            times = np.asarray(times, dtype=np.float64)
            source = events.beats_source if what == "beats" else events.breaths_source
            bad = ~np.isfinite(times) | (times < 0) | (times > duration)
            if bad.any():
                raise BadRecordError(
                    self.spec.key, record, "bad_annotations",
                    f"{source or what}: {int(bad.sum())} {what} times outside the signal "
                    f"(0-{duration:.1f} s) or not finite, e.g. {times[bad][0]:.2f} s "
                    "[bad_annotations]")
        if events.beat_symbols is not None and events.beats_s is not None and \
                len(events.beat_symbols) != len(events.beats_s):
            raise BadRecordError(self.spec.key, record, "bad_annotations",
                                 f"{events.beats_source}: {len(events.beat_symbols)} symbols "
                                 f"for {len(events.beats_s)} beats [bad_annotations]")
        return events


def skip_or_raise(spec: DatasetSpec, error: BadRecordError,
                  skipped: dict[str, dict[str, str]] | None) -> None:
    """Record ``error`` in ``skipped`` when the dataset skips bad records, else raise it."""
    if spec.on_bad_record != "skip" or skipped is None:
        raise error
    skipped[error.record] = {"cause": error.cause, "message": str(error)}
    LOG.warning("skipped %s", error)


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


def check_dataset(spec: DatasetSpec, config: dict[str, Any],
                  skipped: dict[str, dict[str, str]] | None = None,
                  ) -> dict[str, dict[str, ChannelInfo]]:
    """Header-only checks of one dataset; return record -> kind -> channel.

    With ``on_bad_record: skip`` and a ``skipped`` dict, a bad record is left out and
    ``skipped[record] = {"cause": ..., "message": ...}`` says why.

    Raises:
        InputError: unknown reader, missing folder or record, a channel a record lacks, a
            record shorter than one window, an unreadable header or file (one line naming
            the dataset, record, file and problem), or beat-class split records not in the
            dataset.
    """
    dataset = open_dataset(spec, config)
    records = record_list(spec, dataset)
    chosen: dict[str, dict[str, ChannelInfo]] = {}
    for record in records:
        try:
            infos = dataset.channels(record)
            picked = {}
            for kind in spec.channels:
                try:
                    picked[kind] = pick_channel(spec, record, kind, infos)
                except InputError as exc:
                    raise BadRecordError(spec.key, record, "missing_channel", str(exc),
                                         message=str(exc)) from exc
            for kind, info in picked.items():
                if info.duration_s < spec.window_s:
                    raise BadRecordError(
                        spec.key, record, "too_short", "", message=(
                            f"{spec.key}: channel {info.name} ({kind}) of record {record} "
                            f"lasts {info.duration_s:.2f} s, shorter than one window "
                            f"({spec.window_s:.2f} s): leave the record out or shorten the "
                            "window (window_s)"))
        except BadRecordError as exc:
            skip_or_raise(spec, exc, skipped)
            continue
        chosen[record] = picked
    if not chosen:
        raise InputError(f"{spec.key}: every record is bad and skipped "
                         f"({'; '.join(v['message'] for v in (skipped or {}).values())[:300]})")
    if spec.beat_split is not None:
        if "ecg" not in spec.channels:
            raise InputError(f"{spec.key}.beat_classes needs an ecg channel in "
                             f"{spec.key}.channels")
        for part, names in spec.beat_split.items():
            outside = [r for r in names if r not in chosen and r not in (skipped or {})]
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
