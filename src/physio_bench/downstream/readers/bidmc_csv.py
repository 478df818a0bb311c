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
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from physio_bench.downstream.datasets import Channel, ChannelInfo, RecordEvents
from physio_bench.errors import InputError

SIGNALS, BREATHS, NUMERICS, FIX = "_Signals.csv", "_Breaths.csv", "_Numerics.csv", "_Fix.txt"
DEFAULT_FS_HZ = 125.0
UNITS = "normalised (0-1)"
_RATE = re.compile(r"^\s*Signals sampling frequency:\s*([0-9.]+)\s*Hz", re.MULTILINE | re.I)
_NUMERICS_RATE = re.compile(r"^\s*Numerics sampling frequency:\s*([0-9.]+)\s*Hz",
                            re.MULTILINE | re.I)
_SIGNALS_LINE = re.compile(r"^\s*Signals:\s*(.+)$", re.MULTILINE | re.I)


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
            raise InputError(f"{record}{SIGNALS}[.gz] not found in {self.path}")
        return path

    def _fix_text(self, record: str) -> str:
        path = self.path / f"{record}{FIX}"
        return path.read_text(errors="replace") if path.exists() else ""

    def sampling_rate_hz(self, record: str) -> float:
        found = _RATE.search(self._fix_text(record))
        return float(found.group(1)) if found else DEFAULT_FS_HZ

    def _columns(self, record: str) -> list[str]:
        path = self._signals_file(record)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            header = handle.readline()
        columns = [c.strip() for c in header.split(",")]
        listed = _SIGNALS_LINE.search(self._fix_text(record))
        if listed:
            names = [n.strip() for n in listed.group(1).split(";") if n.strip()]
            if names != columns[1:]:
                raise InputError(f"{path.name} has columns {', '.join(columns[1:])} but "
                                 f"{record}{FIX} lists {', '.join(names)}: the files disagree")
        return columns

    def _length(self, record: str) -> int:
        if record not in self._lengths:
            path = self._signals_file(record)
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as handle:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
            self._lengths[record] = max(0, lines - 1)  # the header line
        return self._lengths[record]

    def channels(self, record: str) -> list[ChannelInfo]:
        fs = self.sampling_rate_hz(record)
        n = self._length(record)
        return [ChannelInfo(name=c, fs_hz=fs, units=UNITS, n_samples=n)
                for c in self._columns(record)[1:]]

    def read(self, record: str, names: list[str]) -> dict[str, Channel]:
        path = self._signals_file(record)
        columns = self._columns(record)
        missing = [n for n in names if n not in columns[1:]]
        if missing:
            raise InputError(f"{path.name} has no column {missing[0]!r}")
        frame = pd.read_csv(path, skipinitialspace=True, usecols=list(names),
                            dtype="float64", na_values=["", "NaN", "nan"])
        fs = self.sampling_rate_hz(record)
        return {n: Channel(signal=frame[n].to_numpy(dtype=np.float64), fs_hz=fs, units=UNITS)
                for n in names}

    def events(self, record: str) -> RecordEvents:
        events = RecordEvents()
        path = self._file(record, BREATHS)
        if path is None:
            return events
        frame = pd.read_csv(path, skipinitialspace=True)
        fs = self.sampling_rate_hz(record)
        for column in frame.columns:
            words = str(column).split()
            annotator = words[1] if len(words) > 1 and words[0].lower() == "breaths" \
                else str(column).strip()
            samples = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(float)
            events.breaths_s[annotator] = np.sort(samples - 1.0) / fs
        events.breaths_source = f"annotation:{BREATHS[1:]}"
        return events

    def numerics(self, record: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Monitor numerics: name -> (times in s, values); empty when there is no file."""
        path = self._file(record, NUMERICS)
        if path is None:
            return {}
        frame = pd.read_csv(path, skipinitialspace=True)
        found = _NUMERICS_RATE.search(self._fix_text(record))
        fs = float(found.group(1)) if found else 1.0
        times = np.arange(len(frame), dtype=np.float64) / fs
        return {str(c).strip(): (times, pd.to_numeric(frame[c], errors="coerce").to_numpy(float))
                for c in frame.columns[1:]}
