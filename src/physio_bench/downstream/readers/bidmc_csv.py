"""Reader ``bidmc-csv``: the CSV layout of the BIDMC PPG and Respiration Dataset.

A record ``NAME`` is the set of files ``NAME_Signals.csv[.gz]`` (required),
``NAME_Breaths.csv[.gz]``, ``NAME_Numerics.csv[.gz]`` and ``NAME_Fix.txt`` in one folder;
records are the ``*_Signals.csv[.gz]`` files found there.

- Signals: one column per channel, named in the CSV's header line; the column order
  varies between records (as the record's ``_Fix.txt`` says), so channels are found by
  name, never by position. Values are scaled to 0-1 by the dataset's authors (units
  ``normalised``). Sample ``i`` is at ``i / fs`` seconds with ``fs`` from ``_Fix.txt``
  (``Signals sampling frequency: 125 Hz``; 125 Hz when the file is absent): the
  ``Time [s]`` column is not used (it loses precision after 100 s). Empty cells are NaN.
- Breaths: one column per annotator (``breaths ann1 [signal sample no]``, ...), sample
  numbers counted from 1 (MATLAB convention; the shift is one sample, 8 ms, far below
  what changes a rate); the annotator's name is the column's second word.
- Numerics: the 1 Hz monitor values (``HR``, ``PULSE``, ``RESP``, ``SpO2``), exposed
  through :meth:`BidmcCsvDataset.numerics`: ``HR`` and ``PULSE`` label the heart rate of
  ECG and PPG windows (independent of every detector run here); ``RESP`` is context.

Bad files (the rule of :mod:`physio_bench.downstream.datasets`): each problem raises a
:class:`~physio_bench.downstream.datasets.RecordFileError` naming the file. Checked from
the headers (before any job): a signals file that is empty, truncated (gzip), not UTF-8,
whose first column is not ``Time [s]``, with blank or duplicated column names, or
columns that disagree with ``_Fix.txt``; a ``Time [s]`` column whose step disagrees
with the rate of ``_Fix.txt`` by more than 1 % (first 1000 rows). Checked when read:
non-numeric cells, fewer rows than counted; a breaths file that is empty, has a column
that is not ``breaths <annotator> [signal sample no]`` or no such column, non-numeric
cells, or sample numbers outside ``1..n_samples``.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from physio_bench.downstream.datasets import (
    Channel,
    ChannelInfo,
    ReaderExample,
    RecordEvents,
    RecordFileError,
)

SIGNALS, BREATHS, NUMERICS, FIX = "_Signals.csv", "_Breaths.csv", "_Numerics.csv", "_Fix.txt"
DEFAULT_FS_HZ = 125.0
UNITS = "normalised (0-1)"
_RATE = re.compile(r"^\s*Signals sampling frequency:\s*([0-9.]+)\s*Hz", re.MULTILINE | re.I)
_NUMERICS_RATE = re.compile(r"^\s*Numerics sampling frequency:\s*([0-9.]+)\s*Hz",
                            re.MULTILINE | re.I)
_SIGNALS_LINE = re.compile(r"^\s*Signals:\s*(.+)$", re.MULTILINE | re.I)
_BREATHS_COLUMN = re.compile(r"^breaths\s+(\S+)\s*\[signal sample no\]$", re.I)
TIME_COLUMN = "Time [s]"
RATE_CHECK_ROWS = 1000


@contextmanager
def file_problems(path: Path) -> Iterator[None]:
    """Turn the exceptions of reading ``path`` into a :class:`RecordFileError`."""
    try:
        yield
    except RecordFileError:
        raise
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise RecordFileError(path, "truncated", f"compressed file is damaged or ends early "
                              f"({type(exc).__name__}: {exc})") from exc
    except UnicodeDecodeError as exc:
        raise RecordFileError(path, "not_utf8", f"byte {exc.start} is not UTF-8 text") from exc
    except pd.errors.EmptyDataError as exc:
        raise RecordFileError(path, "empty", "the file is empty") from exc
    except (ValueError, pd.errors.ParserError) as exc:
        text = " ".join(str(exc).split())[:160]
        cause = "non_numeric" if "convert" in text or "could not" in text else "bad_columns"
        raise RecordFileError(path, cause, f"cannot parse: {text}") from exc
    except OSError as exc:
        raise RecordFileError(path, "missing_file", f"cannot be read: {exc}") from exc


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


class BidmcCsvDataset:
    """BIDMC-layout CSV records in ``path`` (see the module docstring)."""

    def __init__(self, path: Path, cache_dir: Path) -> None:
        self.path = Path(path)
        self.cache_dir = Path(cache_dir)  # unused: pandas reads gzipped CSVs directly
        self._lengths: dict[str, int] = {}

    def _file(self, record: str, suffix: str) -> Path | None:
        for name in (f"{record}{suffix}", f"{record}{suffix}.gz"):
            if (self.path / name).exists():
                return self.path / name
        return None

    def records(self) -> list[str]:
        names = {p.name.split(SIGNALS)[0] for p in self.path.iterdir()
                 if p.name.endswith((SIGNALS, SIGNALS + ".gz"))}
        return sorted(names)

    def _signals_file(self, record: str) -> Path:
        path = self._file(record, SIGNALS)
        if path is None:
            raise RecordFileError(f"{record}{SIGNALS}", "missing_file",
                                  f"not found (nor .gz) in {self.path}")
        return path

    def _fix_text(self, record: str) -> str:
        path = self.path / f"{record}{FIX}"
        if not path.exists():
            return ""
        with file_problems(path):
            return path.read_bytes().decode("utf-8")

    def sampling_rate_hz(self, record: str) -> float:
        found = _RATE.search(self._fix_text(record))
        return float(found.group(1)) if found else DEFAULT_FS_HZ

    def _columns(self, record: str) -> list[str]:
        path = self._signals_file(record)
        with file_problems(path), _open_text(path) as handle:
            header = handle.readline()
        if not header.strip():
            raise RecordFileError(path, "empty", "no header line")
        columns = [c.strip() for c in header.strip().split(",")]
        if columns[0] != TIME_COLUMN:
            raise RecordFileError(path, "bad_columns", f"first column is {columns[0][:40]!r}, "
                                  f"not {TIME_COLUMN!r}: not a BIDMC signals file")
        if any(not c for c in columns) or len(set(columns)) != len(columns):
            raise RecordFileError(path, "bad_columns", "blank or repeated column names in the "
                                  f"header ({', '.join(columns)[:120]})")
        listed = _SIGNALS_LINE.search(self._fix_text(record))
        if listed:
            names = [n.strip() for n in listed.group(1).split(";") if n.strip()]
            if names != columns[1:]:
                raise RecordFileError(path, "bad_columns",
                                      f"has columns {', '.join(columns[1:])} but {record}{FIX} "
                                      f"lists {', '.join(names)}: the files disagree")
        return columns

    def _length(self, record: str) -> int:
        if record not in self._lengths:
            path = self._signals_file(record)
            opener = gzip.open if path.suffix == ".gz" else open
            lines, last = 0, b"\n"
            with file_problems(path), opener(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
            lines += last != b"\n"  # a last line without its newline
            if lines <= 1:
                raise RecordFileError(path, "empty", "a header line but no samples")
            self._lengths[record] = lines - 1  # the header line
        return self._lengths[record]

    def _check_rate(self, record: str, fs: float) -> None:
        """The ``Time [s]`` step of the first rows must match the rate of ``_Fix.txt``."""
        path = self._signals_file(record)
        with file_problems(path):
            times = pd.read_csv(path, skipinitialspace=True, usecols=[0], nrows=RATE_CHECK_ROWS,
                                encoding="utf-8").iloc[:, 0]
        times = pd.to_numeric(times, errors="coerce").to_numpy(float)
        if times.size < 2 or not np.isfinite(times).all():
            raise RecordFileError(path, "non_numeric", f"column {TIME_COLUMN!r} holds values "
                                  "that are not numbers in its first rows")
        step = (times[-1] - times[0]) / (times.size - 1)
        if not abs(step * fs - 1.0) <= 0.01:
            raise RecordFileError(path, "rate_mismatch",
                                  f"{TIME_COLUMN} steps by {step:.5g} s "
                                  f"({1 / step if step else 0:.4g} Hz) but {record}{FIX} "
                                  f"says {fs:g} Hz")

    def channels(self, record: str) -> list[ChannelInfo]:
        fs = self.sampling_rate_hz(record)
        columns = self._columns(record)
        n = self._length(record)
        self._check_rate(record, fs)
        return [ChannelInfo(name=c, fs_hz=fs, units=UNITS, n_samples=n) for c in columns[1:]]

    def read(self, record: str, names: list[str]) -> dict[str, Channel]:
        path = self._signals_file(record)
        columns = self._columns(record)
        missing = [n for n in names if n not in columns[1:]]
        if missing:
            raise RecordFileError(path, "bad_columns", f"has no column {missing[0]!r}")
        with file_problems(path):
            frame = pd.read_csv(path, skipinitialspace=True, usecols=list(names),
                                dtype="float64", na_values=["", "NaN", "nan"], encoding="utf-8")
        if len(frame) != self._length(record):
            raise RecordFileError(path, "truncated", f"{len(frame)} rows read but "
                                  f"{self._length(record)} lines counted")
        fs = self.sampling_rate_hz(record)
        return {n: Channel(signal=frame[n].to_numpy(dtype=np.float64), fs_hz=fs, units=UNITS)
                for n in names}

    def events(self, record: str) -> RecordEvents:
        events = RecordEvents()
        path = self._file(record, BREATHS)
        if path is None:
            return events
        with file_problems(path):
            frame = pd.read_csv(path, skipinitialspace=True, dtype=str, keep_default_na=False,
                                encoding="utf-8")
        fs = self.sampling_rate_hz(record)
        n = self._length(record)
        if frame.columns.empty:
            raise RecordFileError(path, "empty", "no header line")
        for column in frame.columns:
            found = _BREATHS_COLUMN.match(str(column).strip())
            if found is None:
                raise RecordFileError(path, "bad_columns", f"unknown column {str(column)[:40]!r} "
                                      "(expected 'breaths <annotator> [signal sample no]')")
            cells = frame[column].str.strip()
            cells = cells[~cells.str.lower().isin(["", "nan"])]  # padding of shorter columns
            samples = pd.to_numeric(cells, errors="coerce").to_numpy(float)
            if not np.isfinite(samples).all():
                bad = cells[~np.isfinite(samples)].iloc[0]
                raise RecordFileError(path, "non_numeric", f"column {column!r} holds "
                                      f"{bad[:20]!r}, not a sample number")
            outside = (samples < 1) | (samples > n)
            if outside.any():
                raise RecordFileError(path, "bad_annotations",
                                      f"{int(outside.sum())} breaths of {found.group(1)} outside "
                                      f"the signal (samples 1..{n}), e.g. {samples[outside][0]:g}")
            events.breaths_s[found.group(1)] = np.sort(samples - 1.0) / fs
        if not events.breaths_s:
            raise RecordFileError(path, "no_annotator", "no annotator column")
        events.breaths_source = f"annotation:{BREATHS[1:]}"
        return events

    def numerics(self, record: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Monitor numerics: name -> (times in s, values); empty when there is no file."""
        path = self._file(record, NUMERICS)
        if path is None:
            return {}
        with file_problems(path):
            frame = pd.read_csv(path, skipinitialspace=True, encoding="utf-8")
        if not str(frame.columns[0]).strip().lower().startswith("time"):
            raise RecordFileError(path, "bad_columns", f"first column is "
                                  f"{str(frame.columns[0])[:40]!r}, not 'Time [s]'")
        found = _NUMERICS_RATE.search(self._fix_text(record))
        fs = float(found.group(1)) if found else 1.0
        times = np.arange(len(frame), dtype=np.float64) / fs
        return {str(c).strip(): (times, pd.to_numeric(frame[c], errors="coerce").to_numpy(float))
                for c in frame.columns[1:]}

    # ------------------------------------------------------------ the harness's record
    @staticmethod
    def example(folder: Path) -> ReaderExample:
        """Two good 40-s records (``ex_a``, ``ex_b``) of the layout at 100 Hz, and the
        layout's own damage for the corruption harness (``tests/test_reader_corruption.py``).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for record in ("ex_a", "ex_b"):
            _write_example(folder, record)
        entry = {"reader": "bidmc-csv", "channels": {"ecg": "II", "ppg": "PLETH", "rsp": "RESP"}}

        def edit_signals(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
            def damage(where: Path) -> None:
                path = where / f"ex_a{SIGNALS}.gz"
                frame = change(pd.read_csv(path, skipinitialspace=True, dtype=str))
                with gzip.open(path, "wt", encoding="utf-8") as out:
                    frame.to_csv(out, index=False)
            return damage

        def nan_block(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[400:799, "RESP"] = ""  # 4 s without samples: longer than max_gap_s
            return frame

        def constant_block(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[800:1599, "PLETH"] = "0.5"  # windows 2-3 (8-16 s) flat
            return frame

        def swapped(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[["Time [s]", "II", "PLETH", "RESP"]]  # _Fix.txt lists PLETH; II; RESP

        def non_numeric(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[123, "II"] = "abc"
            return frame

        def wrong_rate(where: Path) -> None:
            path = where / f"ex_a{FIX}"
            path.write_text(path.read_text().replace("100 Hz", "125 Hz"))

        def junk_breaths(where: Path) -> None:  # the reproduction of issue 27
            (where / f"ex_a{BREATHS}").write_text("garbage,,\n1,x,\n")

        def breaths_outside(where: Path) -> None:
            path = where / f"ex_a{BREATHS}"
            path.write_text(path.read_text() + "99999,99999\n")

        return ReaderExample(
            entry=entry, record="ex_a",
            files=[folder / f"ex_a{SIGNALS}.gz", folder / f"ex_a{BREATHS}",
                   folder / f"ex_a{NUMERICS}.gz", folder / f"ex_a{FIX}"],
            corruptions={
                "nan_block": (edit_signals(nan_block), "drop:missing_fraction"),
                "constant_block": (edit_signals(constant_block), "drop:flat_signal"),
                "swapped_columns": (edit_signals(swapped), "error"),
                "non_numeric": (edit_signals(non_numeric), "error"),
                "wrong_rate": (wrong_rate, "error"),
                "junk_breaths": (junk_breaths, "error"),
                "breaths_outside_signal": (breaths_outside, "error"),
            },
        )


def _write_example(folder: Path, record: str, fs: float = 100.0, duration_s: float = 40.0) -> None:
    n = int(fs * duration_s)
    t = np.arange(n) / fs
    beat = (t * 1.2) % 1.0
    frame = pd.DataFrame({
        "Time [s]": np.round(t, 3),
        "PLETH": 0.5 + 0.4 * np.sin(2 * np.pi * beat) ** 2,
        "II": 0.3 + 0.6 * np.exp(-(((beat - 0.3) / 0.02) ** 2)),
        "RESP": 0.5 + 0.3 * np.sin(2 * np.pi * 0.25 * t),
    })
    with gzip.open(folder / f"{record}{SIGNALS}.gz", "wt", encoding="utf-8") as out:
        frame.to_csv(out, index=False, float_format="%.5f")
    breaths = np.arange(int(fs), n, int(4 * fs)) + 1
    pd.DataFrame({"breaths ann1 [signal sample no]": breaths,
                  "breaths ann2 [signal sample no]": breaths + 2}
                 ).to_csv(folder / f"{record}{BREATHS}", index=False)
    seconds = int(duration_s)
    numerics = pd.DataFrame({"Time [s]": np.arange(seconds), "HR": np.full(seconds, 72.0),
                             "PULSE": np.full(seconds, 72.0), "RESP": np.full(seconds, 15.0),
                             "SpO2": np.full(seconds, 98.0)})
    with gzip.open(folder / f"{record}{NUMERICS}.gz", "wt", encoding="utf-8") as out:
        numerics.to_csv(out, index=False)
    (folder / f"{record}{FIX}").write_text(
        f"{record}\nSignals: PLETH; II; RESP\nSignals sampling frequency: {fs:g} Hz\n"
        "Numerics sampling frequency: 1 Hz\n")
