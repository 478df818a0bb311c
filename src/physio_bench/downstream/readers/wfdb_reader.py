"""Reader ``wfdb``: a folder of WFDB records (PhysioNet's format).

Records are the lines of the folder's ``RECORDS`` file when it has one, else every
``.hea`` file that is not a segment of a multi-segment record in the folder. Anything
``wfdb.rdrecord`` reads is accepted: ``.dat`` (any WFDB format) and ``.mat`` signal files,
multi-frequency records (each channel read unsmoothed at its own rate) and multi-segment
records. Signal files may be gzipped (``100.dat.gz``, as shipped in ``data/mitdb``): they
are decompressed once into the dataset's cache folder (``downstream.cache_dir``, under
``results/``), never next to the data, and reused while the ``.gz`` file is unchanged.

Options (config keys of the dataset entry):

``beats``
    Extension of the reference beat annotation file (e.g. ``atr``). Only beat codes are
    kept (:data:`BEAT_SYMBOLS`); rhythm, signal-quality and comment annotations are not.
``breaths``
    Extension of a breath annotation file (e.g. ``breath``). When its annotations carry
    an ``aux_note`` naming an annotator (at most :data:`MAX_ANNOTATORS` distinct notes,
    e.g. ``ann1``/``ann2``), the breaths are kept per annotator.
``rhythms`` and ``rhythm_classes``
    Window-level classes from rhythm annotations (``+`` with an ``aux_note`` such as
    ``(AFIB`` or ``(N``) in the annotation file ``rhythms`` (default: ``beats``):
    ``rhythm_classes`` maps a class name to the rhythm notes that mean it, e.g.
    ``{af: ["(AFIB", "(AFL"]}``; a rhythm lasts from its annotation to the next one (or the
    record's end). Used for CPSC 2021's AF episodes.
``dx_classes``
    Record-level classes from the header's ``# Dx:`` comment (SNOMED CT codes, as in the
    PhysioNet/CinC 2021 Challenge): class name -> the codes that mean it, e.g.
    ``{pac: [284470004, 63593006]}``; present over the whole record when any code is
    listed, else absent.

Bad files (the rule of :mod:`physio_bench.downstream.datasets`): each problem raises a
:class:`~physio_bench.downstream.datasets.RecordFileError` naming the file. From the
header (before any job): a header that cannot be parsed or is not UTF-8, a signal file it
names that is missing, or a plain (not gzipped) single-segment signal file shorter than
the header's samples need (``truncated``). When read: a gzipped signal file that ends
early, a signal file ``wfdb`` cannot read; an annotation file that cannot be read, whose
sampling rate (when it stores one) disagrees with the header, or whose annotations lie
outside the signal. A NaN block (WFDB invalid samples) and a constant block are not
errors: their windows are dropped and counted (``missing_fraction``, ``long_gap``,
``flat_signal``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.downstream.datasets import (
    Channel,
    ChannelInfo,
    ReaderExample,
    RecordEvents,
    RecordFileError,
)

# WFDB beat annotation codes (PhysioNet's ``isqrs``); rhythm changes '+', signal quality
# '~' and comments '"' are not beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
#: heartbeat annotations without a beat class (ventricular flutter waves), counted only
UNLABELLED_BEAT_SYMBOLS = frozenset("!")
MAX_ANNOTATORS = 4
#: bytes per sample of the WFDB formats whose file size can be checked from the header
BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5,
                    "24": 3.0, "32": 4.0, "310": 4 / 3, "311": 4 / 3}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class WfdbDataset:
    """WFDB records in ``path`` (see the module docstring)."""

    def __init__(self, path: Path, cache_dir: Path, beats: str | None = None,
                 breaths: str | None = None, rhythms: str | None = None,
                 rhythm_classes: dict[str, list[str]] | None = None,
                 dx_classes: dict[str, list[int | str]] | None = None) -> None:
        self.path = Path(path)
        self.cache_dir = Path(cache_dir)
        self.beats = beats
        self.breaths = breaths
        self.rhythms = rhythms or beats
        self.rhythm_classes = {str(k): [str(n) for n in v] for k, v in
                               (rhythm_classes or {}).items()}
        self.dx_classes = {str(k): {str(c) for c in v} for k, v in (dx_classes or {}).items()}
        if self.rhythm_classes and not self.rhythms:
            raise ValueError("rhythm_classes needs rhythms (or beats): the annotation file "
                             "that holds the rhythm annotations")
        self._headers: dict[str, Any] = {}

    # ------------------------------------------------------------------ records
    def records(self) -> list[str]:
        listing = self.path / "RECORDS"
        if listing.exists():
            names = [line.strip() for line in listing.read_text().splitlines()]
            return [n for n in names if n and not n.startswith("#")]
        import wfdb

        stems = sorted(p.name[:-4] for p in self.path.glob("*.hea"))
        segments: set[str] = set()
        for stem in stems:
            try:
                header = wfdb.rdheader(str(self.path / stem))
            except Exception:  # an unreadable header is reported when the record is used
                continue
            segments.update(getattr(header, "seg_name", None) or [])
        return [s for s in stems if s not in segments and not s.endswith("_layout")]

    def _header(self, record: str) -> Any:
        if record not in self._headers:
            import wfdb

            header_file = self.path / f"{record}.hea"
            if not header_file.exists():
                raise RecordFileError(header_file, "missing_file",
                                      f"WFDB header not found in {self.path}")
            try:
                header_file.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RecordFileError(header_file, "not_utf8",
                                      f"byte {exc.start} is not UTF-8 text") from exc
            if not header_file.read_text().strip():
                raise RecordFileError(header_file, "empty", "the header is empty")
            try:
                header = wfdb.rdheader(str(self.path / record), rd_segments=True)
            except Exception as exc:  # wfdb raises bare Exceptions on malformed headers
                raise RecordFileError(header_file, "bad_header",
                                      f"cannot parse: {_first_line(exc)}") from exc
            if not header.fs or float(header.fs) <= 0 or not header.sig_len:
                raise RecordFileError(header_file, "bad_header",
                                      "no sampling rate or no signal length")
            if getattr(header, "segments", None) is None:
                names = list(header.sig_name or [])
                if len(names) != int(header.n_sig or 0) or any(not n for n in names):
                    raise RecordFileError(header_file, "truncated",
                                          f"the record line promises {header.n_sig} signals "
                                          f"but {sum(bool(n) for n in names)} are described")
            self._headers[record] = header
        return self._headers[record]

    @staticmethod
    def _segments(header: Any) -> list[Any]:
        segments = getattr(header, "segments", None)
        if segments is None:
            return [header]
        return [s for s in segments if s is not None]

    def _signal_files(self, record: str) -> list[str]:
        files: list[str] = []
        for segment in self._segments(self._header(record)):
            for name in getattr(segment, "file_name", None) or []:
                if name and name not in files:
                    files.append(name)
        return files

    def channels(self, record: str) -> list[ChannelInfo]:
        header = self._header(record)
        for name in self._signal_files(record):
            if not (self.path / name).exists() and not (self.path / f"{name}.gz").exists():
                raise RecordFileError(name, "missing_file", f"named by {record}.hea but "
                                      f"missing from {self.path}: copy or download it")
        self._check_sizes(record, header)
        infos: dict[str, ChannelInfo] = {}
        for segment in self._segments(header):
            spf = list(getattr(segment, "samps_per_frame", None) or [1] * len(segment.sig_name))
            for i, name in enumerate(segment.sig_name or []):
                if name in infos:
                    continue
                per_frame = int(spf[i] or 1)
                infos[name] = ChannelInfo(
                    name=name, fs_hz=float(header.fs) * per_frame,
                    units=((segment.units or [None] * (i + 1))[i] or "au"),
                    n_samples=int(header.sig_len) * per_frame,
                )
        return list(infos.values())

    @staticmethod
    def _needed_bytes(header: Any) -> dict[str, int]:
        """Signal file -> the bytes a single-segment header's samples need ({} when the
        format or layout does not allow the check)."""
        if getattr(header, "segments", None) is not None:
            return {}
        need: dict[str, float] = {}
        spf = list(header.samps_per_frame or [1] * header.n_sig)
        for i, name in enumerate(header.file_name or []):
            per = BYTES_PER_SAMPLE.get(str(header.fmt[i]) if header.fmt else "")
            if per is None or name.endswith(".mat"):
                return {}
            offset = float((header.byte_offset or [0] * header.n_sig)[i] or 0)
            need[name] = need.get(name, offset) + per * header.sig_len * int(spf[i] or 1)
        return {name: int(size) for name, size in need.items()}

    def _check_sizes(self, record: str, header: Any, folder: Path | None = None,
                     shown: dict[str, str] | None = None) -> None:
        """The signal files in ``folder`` must hold the samples the header promises
        (``shown`` maps a file to the name the message gives, e.g. its ``.gz``)."""
        for name, size in self._needed_bytes(header).items():
            path = (folder or self.path) / name
            if path.exists() and path.stat().st_size < size:
                what = (shown or {}).get(name, name)
                raise RecordFileError(what, "truncated" if path.stat().st_size else "empty",
                                      f"holds {path.stat().st_size} bytes of samples but "
                                      f"{record}.hea needs {size} ({header.sig_len} samples)")

    # --------------------------------------------------------------------- read
    def _source_files(self, record: str) -> list[Path]:
        """The header(s) and signal files of ``record`` as found in the folder."""
        header = self._header(record)
        names = [f"{record}.hea"]
        if getattr(header, "seg_name", None):
            names += [f"{s}.hea" for s in header.seg_name if s and s != "~"]
        names += self._signal_files(record)
        found = []
        for name in names:
            plain = self.path / name
            found.append(plain if plain.exists() else self.path / f"{name}.gz")
        return found

    def _readable_path(self, record: str) -> Path:
        """``record``'s path for ``wfdb.rdrecord``: the folder itself, or a cache folder
        holding the headers and decompressed signal files when some are gzipped."""
        sources = self._source_files(record)
        if not any(p.suffix == ".gz" for p in sources):
            return self.path / record
        stamp = json.dumps([[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sources])
        digest = hashlib.sha256(f"{self.path.resolve()}|{record}|{stamp}".encode()).hexdigest()
        target = self.cache_dir / f"{Path(record).name}-{digest[:16]}"
        if not (target / ".complete").exists():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix=".staging-"))
            try:
                for source in sources:
                    name = source.name[:-3] if source.suffix == ".gz" else source.name
                    if source.suffix == ".gz":
                        try:
                            with gzip.open(source, "rb") as packed, \
                                    open(staging / name, "wb") as out:
                                shutil.copyfileobj(packed, out, length=1 << 20)
                        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                            raise RecordFileError(source, "truncated", "compressed file is "
                                                  "damaged or ends early "
                                                  f"({type(exc).__name__})") from exc
                    else:
                        shutil.copyfile(source, staging / name)
                self._check_sizes(record, self._header(record), staging,
                                  {p.name[:-3]: p.name for p in sources if p.suffix == ".gz"})
                (staging / ".complete").write_text(stamp)
                try:
                    os.replace(staging, target)
                except OSError:  # another process finished the same folder first
                    shutil.rmtree(staging, ignore_errors=True)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return target / Path(record).name

    def read(self, record: str, names: list[str]) -> dict[str, Channel]:
        import wfdb

        path = self._readable_path(record)
        try:
            rec = wfdb.rdrecord(str(path), channel_names=list(names), smooth_frames=False,
                                return_res=64)
        except Exception as exc:
            files = ", ".join(self._signal_files(record)) or f"{record}.hea"
            raise RecordFileError(files, "truncated" if "buffer" in str(exc) or "size" in
                                  str(exc) else "reader_error",
                                  f"wfdb cannot read channels {', '.join(names)}: "
                                  f"{_first_line(exc)}") from exc
        out: dict[str, Channel] = {}
        read_names = list(rec.sig_name or [])
        signals = rec.e_p_signal if rec.e_p_signal is not None else [
            rec.p_signal[:, i] for i in range(rec.p_signal.shape[1])]
        spf = list(rec.samps_per_frame or [1] * len(read_names))
        for i, name in enumerate(read_names):
            units = (rec.units or ["au"] * len(read_names))[i] or "au"
            out[name] = Channel(signal=np.asarray(signals[i], dtype=np.float64),
                                fs_hz=float(rec.fs) * int(spf[i] or 1), units=units)
        missing = [n for n in names if n not in out]
        if missing:
            raise RecordFileError(f"{record}.hea", "missing_channel",
                                  f"no channel {missing[0]!r}")
        return out

    # ------------------------------------------------------------------- events
    def _annotation(self, record: str, extension: str) -> Any:
        import wfdb

        path = self.path / f"{record}.{extension}"
        if not path.exists():
            raise RecordFileError(path, "missing_file", f"annotation file not found in "
                                  f"{self.path}: fix the extension or remove the option")
        if path.stat().st_size == 0:
            raise RecordFileError(path, "empty", "the annotation file is empty")
        with open(path, "rb") as handle:
            if path.stat().st_size >= 2:
                handle.seek(-2, os.SEEK_END)
            if handle.read(2) != b"\x00\x00":  # every WFDB annotation file ends with 0x0000
                raise RecordFileError(path, "truncated", "no end-of-annotations marker "
                                      "(0x0000): the file ends early")
        try:
            ann = wfdb.rdann(str(self.path / record), extension)
        except Exception as exc:
            raise RecordFileError(path, "bad_annotations",
                                  f"cannot read: {type(exc).__name__}: {_first_line(exc)}") from exc
        header = self._header(record)
        if ann.fs and not np.isclose(float(ann.fs), float(header.fs), rtol=1e-6):
            raise RecordFileError(path, "rate_mismatch", f"annotations at {float(ann.fs):g} Hz "
                                  f"but {record}.hea says {float(header.fs):g} Hz")
        samples = np.asarray(ann.sample)
        outside = (samples < 0) | (samples > int(header.sig_len))
        if outside.any():
            raise RecordFileError(path, "bad_annotations",
                                  f"{int(outside.sum())} annotations outside the signal "
                                  f"(samples 0..{header.sig_len}), e.g. {int(samples[outside][0])}")
        return ann

    def _times(self, record: str, ann: Any, samples: np.ndarray) -> np.ndarray:
        fs = float(ann.fs) if ann.fs else float(self._header(record).fs)
        return np.asarray(samples, dtype=np.float64) / fs

    def events(self, record: str) -> RecordEvents:
        events = RecordEvents()
        if self.beats:
            ann = self._annotation(record, self.beats)
            symbols = np.asarray(ann.symbol, dtype=object)
            keep = np.array([s in BEAT_SYMBOLS for s in symbols], dtype=bool)
            times = self._times(record, ann, np.asarray(ann.sample)[keep])
            order = np.argsort(times, kind="stable")
            events.beats_s = times[order]
            events.beat_symbols = symbols[keep][order].astype(str)
            events.beats_source = f"annotation:{self.beats}"
            events.unlabelled_beats = {s: int(np.sum(symbols == s))
                                       for s in sorted(UNLABELLED_BEAT_SYMBOLS)
                                       if np.any(symbols == s)}
        if self.breaths:
            ann = self._annotation(record, self.breaths)
            notes = np.asarray([str(n or "").strip() for n in (ann.aux_note or
                                [""] * len(ann.sample))], dtype=object)
            distinct = sorted(set(notes.tolist()))
            groups = distinct if 1 < len(distinct) <= MAX_ANNOTATORS else [None]
            for group in groups:
                mask = np.ones(len(notes), bool) if group is None else notes == group
                times = np.sort(self._times(record, ann, np.asarray(ann.sample)[mask]))
                events.breaths_s[group or "annotator"] = times
            events.breaths_source = f"annotation:{self.breaths}"
        return events

    # ------------------------------------------------------------------ classes
    def classes(self, record: str) -> dict[str, list[tuple[float, float]]]:
        """Window-level classes (``rhythm_classes``, ``dx_classes``): name -> intervals (s)."""
        header = self._header(record)
        duration = float(header.sig_len) / float(header.fs)
        out: dict[str, list[tuple[float, float]]] = {}
        if self.rhythm_classes:
            ann = self._annotation(record, str(self.rhythms))
            notes = [str(n or "").strip() for n in (ann.aux_note or [""] * len(ann.sample))]
            changes = [(float(t), note) for t, symbol, note in
                       zip(self._times(record, ann, np.asarray(ann.sample)), ann.symbol, notes,
                           strict=True) if symbol == "+" and note.startswith("(")]
            ends = [t for t, _ in changes[1:]] + ([duration] if changes else [])
            for name, wanted in self.rhythm_classes.items():
                out[name] = [(start, end) for (start, note), end in zip(changes, ends,
                                                                         strict=True)
                             if note.rstrip("\x00") in wanted and end > start]
        if self.dx_classes:
            codes: set[str] = set()
            for comment in getattr(header, "comments", None) or []:
                key, _, value = comment.partition(":")
                if key.strip().lower() == "dx":
                    codes |= {c.strip() for c in value.split(",") if c.strip()}
            if not codes:
                raise RecordFileError(f"{record}.hea", "bad_header", "no '# Dx:' comment "
                                      "(dx_classes needs the diagnoses)")
            for name, wanted in self.dx_classes.items():
                out[name] = [(0.0, duration)] if codes & wanted else []
        return out

    # ------------------------------------------------------------ the harness's record
    @staticmethod
    def example(folder: Path) -> ReaderExample:
        """Two good 40-s two-lead records (``ex_a``, ``ex_b``) at 100 Hz, their signal files
        gzipped as in ``data/mitdb``, with beat annotations (``atr``, storing its rate),
        and the layout's own damage for the corruption harness."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for record in ("ex_a", "ex_b"):
            _write_example(folder, record)

        def rewrite(change: Callable[[np.ndarray], None]) -> Callable[[Path], None]:
            def damage(where: Path) -> None:
                _write_example(where, "ex_a", change=change)
            return damage

        def nan_block(signals: np.ndarray) -> None:
            signals[400:800, 0] = np.nan  # 4 s of invalid samples: longer than max_gap_s

        def constant_block(signals: np.ndarray) -> None:
            signals[800:1600, 0] = 0.25  # windows 2-3 (8-16 s) flat

        def wrong_rate(where: Path) -> None:
            path = where / "ex_a.hea"
            lines = path.read_text().splitlines()
            lines[0] = lines[0].replace(" 100 ", " 250 ")
            path.write_text("\n".join(lines) + "\n")

        def swapped(where: Path) -> None:  # channel names swapped in the header only
            path = where / "ex_a.hea"
            text = path.read_text().replace(" MLII", " TMP").replace(" V1", " MLII")
            path.write_text(text.replace(" TMP", " V1"))

        def outside(where: Path) -> None:
            import wfdb

            wfdb.wrann("ex_a", "atr", np.array([50, 100, 99999]), symbol=["N", "N", "N"],
                       fs=100, write_dir=str(where))

        def truncated_plain(where: Path) -> None:
            packed = where / "ex_a.dat.gz"
            data = gzip.decompress(packed.read_bytes())
            packed.unlink()
            (where / "ex_a.dat").write_bytes(data[: len(data) // 2])

        return ReaderExample(
            entry={"reader": "wfdb", "channels": {"ecg": "MLII"}, "beats": "atr"},
            record="ex_a",
            files=[folder / "ex_a.hea", folder / "ex_a.dat.gz", folder / "ex_a.atr"],
            binary=("ex_a.dat.gz", "ex_a.atr"),
            corruptions={
                "nan_block": (rewrite(nan_block), "drop:missing_fraction"),
                "constant_block": (rewrite(constant_block), "drop:flat_signal"),
                "wrong_rate": (wrong_rate, "error"),
                "swapped_columns": (swapped, "ok"),
                "annotations_outside_signal": (outside, "error"),
                "truncated_plain_dat": (truncated_plain, "error"),
            },
        )


def _write_example(folder: Path, record: str,
                   change: Callable[[np.ndarray], None] | None = None) -> None:
    import wfdb

    fs, n = 100, 4000
    t = np.arange(n) / fs
    beat = (t * 1.2) % 1.0
    signals = np.column_stack([np.exp(-(((beat - 0.3) / 0.02) ** 2)) - 0.1,
                               0.5 * np.exp(-(((beat - 0.32) / 0.03) ** 2))])
    if change is not None:
        change(signals)
    for stale in (folder / f"{record}.dat", folder / f"{record}.dat.gz"):
        stale.unlink(missing_ok=True)
    wfdb.wrsamp(record, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=signals,
                fmt=["16", "16"], adc_gain=[1000.0, 1000.0], baseline=[0, 0],
                write_dir=str(folder))
    beats = np.arange(25, n, round(fs / 1.2))
    wfdb.wrann(record, "atr", beats, symbol=["N"] * beats.size, fs=fs, write_dir=str(folder))
    plain = folder / f"{record}.dat"
    Path(f"{plain}.gz").write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    plain.unlink()
