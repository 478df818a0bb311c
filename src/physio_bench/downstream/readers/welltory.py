"""Reader ``welltory``: the layout of the Welltory PPG dataset (smartphone-camera PPG with
a chest-strap ECG's RR intervals).

A record is a folder ``<path>/<name>/`` (e.g. ``data/welltory/data/subject_01``) holding

- ``PPG.csv``: header ``time,R,G,B``; ``time`` is each camera frame's capture time in ms
  from the start (about 30 frames/s, uneven), ``R``/``G``/``B`` the frame's mean colour.
- ``RR.txt``: the Polar H10 chest strap's RR intervals (ms, integers separated by blanks),
  recorded over the same measurement.

Channels (all at the uniform rate ``fs_hz``, default 30 Hz; units ``au``):
``R``, ``G``, ``B`` linearly interpolated from the frame times onto ``i / fs_hz``; samples
inside a gap between frames longer than ``max_frame_gap_s`` (default 0.25 s) are NaN.
``PPG``: of ``R`` and ``G``, the one with the larger standard deviation after a 0.5-4 Hz
band-pass (the finger saturates one colour in some recordings: subjects 20 and 21 have a
constant red channel), negated (the camera sees less light when more blood is in the
finger). Which colour was chosen is not recorded per sample: the choice is a pure
function of the file.

Events: the ECG beats, as the cumulative sum of the RR intervals from the start of the
measurement (both devices start together; their clocks are not synchronised further),
source ``annotation:RR.txt (Polar H10 ECG)``: an independent heart-rate reference for the
PPG. Beats after the PPG's last frame are not kept (the strap may record a little longer).

Bad files (the rule of :mod:`physio_bench.downstream.datasets`): an empty, truncated or
non-UTF-8 ``PPG.csv``; a header other than ``time,R,G,B``; non-numeric cells; frame
times that are not increasing, or whose median step is not 5-200 ms (not milliseconds);
an ``RR.txt`` that is empty, holds a non-integer or an interval outside 250-2500 ms, or
whose beats cover less than half the PPG (a truncated file); a PPG more than 10 % + 5 s
shorter than the beats (a truncated ``PPG.csv``); each gives one line naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
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
from physio_bench.downstream.readers.bidmc_csv import file_problems

PPG, RR = "PPG.csv", "RR.txt"
COLUMNS = ["time", "R", "G", "B"]
RR_RANGE_MS = (250.0, 2500.0)
FRAME_STEP_MS = (5.0, 200.0)  # 5-200 frames/s
UNITS = "au"


class WelltoryDataset:
    """Welltory records under ``path`` (see the module docstring)."""

    def __init__(self, path: Path, cache_dir: Path, fs_hz: float = 30.0,
                 max_frame_gap_s: float = 0.25) -> None:
        self.path = Path(path)
        self.cache_dir = Path(cache_dir)
        self.fs_hz = float(fs_hz)
        self.max_frame_gap_s = float(max_frame_gap_s)
        self._frames: dict[str, pd.DataFrame] = {}

    def records(self) -> list[str]:
        return sorted(p.parent.name for p in self.path.glob(f"*/{PPG}"))

    def _frames_of(self, record: str) -> pd.DataFrame:
        if record not in self._frames:
            path = self.path / record / PPG
            if not path.exists():
                raise RecordFileError(f"{record}/{PPG}", "missing_file", f"not in {self.path}")
            with file_problems(path):
                frame = pd.read_csv(path, dtype="float64", encoding="utf-8")
            if [str(c).strip() for c in frame.columns] != COLUMNS:
                header = ",".join(map(str, frame.columns))[:60]
                raise RecordFileError(path, "bad_columns",
                                      f"header {header!r} is not {','.join(COLUMNS)}")
            if len(frame) < 2:
                raise RecordFileError(path, "empty", "fewer than two frames")
            values = frame.to_numpy(float)
            if not np.isfinite(values).all():
                raise RecordFileError(path, "non_numeric", "empty or non-finite cells")
            steps = np.diff(frame["time"].to_numpy())
            if not (steps > 0).all():
                raise RecordFileError(path, "bad_columns", "frame times do not increase")
            if not FRAME_STEP_MS[0] <= float(np.median(steps)) <= FRAME_STEP_MS[1]:
                raise RecordFileError(path, "rate_mismatch",
                                      f"frame times step by {float(np.median(steps)):.4g} "
                                      "(median): not milliseconds at a camera's frame rate")
            self._frames[record] = frame
        return self._frames[record]

    def _n_samples(self, record: str) -> int:
        times_s = self._frames_of(record)["time"].to_numpy() / 1000.0
        return int(np.floor(times_s[-1] * self.fs_hz)) + 1

    def channels(self, record: str) -> list[ChannelInfo]:
        n = self._n_samples(record)
        return [ChannelInfo(name=c, fs_hz=self.fs_hz, units=UNITS, n_samples=n)
                for c in ("PPG", "R", "G", "B")]

    def _uniform(self, record: str) -> dict[str, np.ndarray]:
        frame = self._frames_of(record)
        times_s = frame["time"].to_numpy() / 1000.0
        grid = np.arange(self._n_samples(record)) / self.fs_hz
        gaps = np.flatnonzero(np.diff(times_s) > self.max_frame_gap_s)
        invalid = np.zeros(grid.size, dtype=bool)
        for i in gaps:
            invalid |= (grid > times_s[i]) & (grid < times_s[i + 1])
        out = {}
        for colour in ("R", "G", "B"):
            values = np.interp(grid, times_s, frame[colour].to_numpy())
            values[invalid] = np.nan
            out[colour] = values
        out["PPG"] = -out[_pulse_colour(out, self.fs_hz)]
        return out

    def read(self, record: str, names: list[str]) -> dict[str, Channel]:
        signals = self._uniform(record)
        missing = [n for n in names if n not in signals]
        if missing:
            raise RecordFileError(f"{record}/{PPG}", "missing_channel",
                                  f"no channel {missing[0]!r} (has PPG, R, G, B)")
        return {n: Channel(signal=signals[n], fs_hz=self.fs_hz, units=UNITS) for n in names}

    def events(self, record: str) -> RecordEvents:
        path = self.path / record / RR
        if not path.exists():
            return RecordEvents()
        with file_problems(path):
            words = path.read_bytes().decode("utf-8").split()
        if not words:
            raise RecordFileError(path, "empty", "no RR interval")
        try:
            rr_ms = np.array([int(w) for w in words], dtype=np.float64)
        except ValueError:
            bad = next(w for w in words if not w.lstrip("-").isdigit())
            raise RecordFileError(path, "non_numeric", f"{bad[:20]!r} is not an RR interval "
                                  "in ms") from None
        outside = (rr_ms < RR_RANGE_MS[0]) | (rr_ms > RR_RANGE_MS[1])
        if outside.any():
            raise RecordFileError(path, "bad_annotations",
                                  f"{int(outside.sum())} RR intervals outside "
                                  f"{RR_RANGE_MS[0]:g}-{RR_RANGE_MS[1]:g} ms, e.g. "
                                  f"{rr_ms[outside][0]:g}")
        beats = np.cumsum(rr_ms) / 1000.0
        duration = (self._n_samples(record) - 1) / self.fs_hz
        if beats[-1] < 0.5 * duration:
            raise RecordFileError(path, "truncated", f"the beats cover {beats[-1]:.1f} s of a "
                                  f"{duration:.1f}-s PPG: the file ends early")
        if beats[-1] > 1.1 * duration + 5.0:  # both devices record the same measurement
            raise RecordFileError(self.path / record / PPG, "truncated",
                                  f"the PPG lasts {duration:.1f} s but {RR} covers "
                                  f"{beats[-1]:.1f} s: the file ends early")
        return RecordEvents(beats_s=beats[beats <= duration],
                            beats_source="annotation:RR.txt (Polar H10 ECG)")

    # ------------------------------------------------------------ the harness's record
    @staticmethod
    def example(folder: Path) -> ReaderExample:
        """Two good 40-s recordings (``ex_a``, ``ex_b``) at an uneven ~30 frames/s with
        their RR intervals, and the layout's own damage for the corruption harness."""
        folder = Path(folder)
        for record in ("ex_a", "ex_b"):
            _write_example(folder / record)

        def edit(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
            def damage(where: Path) -> None:
                path = where / "ex_a" / PPG
                frame = pd.read_csv(path, dtype=str)
                change(frame).to_csv(path, index=False)
            return damage

        def nan_block(frame: pd.DataFrame) -> pd.DataFrame:
            times = frame["time"].astype(float)
            return frame[(times < 4000) | (times > 12000)]  # 8 s without frames

        def constant_block(frame: pd.DataFrame) -> pd.DataFrame:
            times = frame["time"].astype(float)
            frame.loc[(times >= 0) & (times < 12000), ["R", "G", "B"]] = "100"
            return frame

        def swapped(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.rename(columns={"R": "G", "G": "R"})[["time", "G", "R", "B"]]

        def non_numeric(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[50, "R"] = "abc"
            return frame

        def wrong_rate(frame: pd.DataFrame) -> pd.DataFrame:  # frame times in s, not ms
            frame["time"] = (frame["time"].astype(float) / 1000).map(lambda t: f"{t:.3f}")
            return frame

        def rr_outside(where: Path) -> None:
            (where / "ex_a" / RR).write_text("800 800 80000 800\n")

        return ReaderExample(
            # at the harness's 100 Hz: a constant block stays exactly constant (no resampling)
            entry={"reader": "welltory", "channels": {"ppg": "PPG"}, "fs_hz": 100.0},
            record="ex_a",
            files=[folder / "ex_a" / PPG, folder / "ex_a" / RR],
            corruptions={
                "nan_block": (edit(nan_block), "drop:missing_fraction"),
                "constant_block": (edit(constant_block), "drop:flat_signal"),
                "swapped_columns": (edit(swapped), "error"),
                "non_numeric": (edit(non_numeric), "error"),
                "wrong_rate": (edit(wrong_rate), "error"),
                "rr_outside_range": (rr_outside, "error"),
            },
        )


def _pulse_colour(colours: dict[str, np.ndarray], fs_hz: float) -> str:
    """``R`` or ``G``: the larger 0.5-4 Hz standard deviation (NaN samples ignored)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [0.5, min(4.0, 0.45 * fs_hz)], btype="band", fs=fs_hz, output="sos")
    power = {}
    for colour in ("R", "G"):
        x = colours[colour]
        valid = np.isfinite(x)
        filled = np.interp(np.arange(x.size), np.flatnonzero(valid), x[valid]) \
            if valid.any() else np.zeros_like(x)
        power[colour] = float(np.std(sosfiltfilt(sos, filled))) if x.size > 30 else 0.0
    return "R" if power["R"] >= power["G"] else "G"


def _write_example(folder: Path, duration_s: float = 40.0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    steps = rng.choice([33.0, 34.0], size=int(duration_s * 31))
    times = np.concatenate([[0.0], np.cumsum(steps)])
    times = times[times <= duration_s * 1000]
    rr = np.full(int(duration_s / 0.8) + 2, 800)
    phase = (times / 800.0) % 1.0
    pulse = np.exp(-(((phase - 0.3) / 0.1) ** 2))
    frame = pd.DataFrame({"time": times.astype(int), "R": np.round(240 - 5 * pulse, 3),
                          "G": np.round(10 - 2 * pulse, 3), "B": np.full(times.size, 0.01)})
    frame.to_csv(folder / PPG, index=False)
    (folder / RR).write_text(" ".join(str(v) for v in rr) + "\n")
