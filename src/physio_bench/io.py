"""On-disk formats shared by all stages (see docs/formats.md).

A *suite directory* (``results/simulated/{suite}/`` and ``results/real/``) holds:

- ``signals.npy``: float32, windows x channels x samples, memory-mappable;
- ``labels.parquet``: one row per window (``window_id``, ``subject_id``, ``signal_kind``,
  ``scenario``, one column per factor with its unit in the name);
- ``targets.npz``: time-varying ground truth, each key an array windows x samples
  (float32, NaN where it does not apply), e.g. ``heart_rate_bpm``;
- ``meta.json``: sampling rate (Hz), channel names, seed, versions, wall time.

An *embedding directory* (``results/embeddings/{model}/{suite}/``) holds ``pooled.npy``
(float32, layers x windows x dim), ``tokens/{layer}.npy`` (windows x tokens x dim, for
the kept layers), ``token_spans.npy`` (int64, tokens x 2: first and one-past-last sample),
``token_channels.npy`` (int64, tokens: channel index, -1 when a token spans all channels)
and ``model.json``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

LEADERBOARD_COLUMNS = [
    "model", "pretrained", "stage", "task", "metric", "layer", "value", "ci_low", "ci_high", "n",
    "n_subjects", "chance", "direction", "note",
]
#: leaderboard columns a producer may leave out, and what they default to
LEADERBOARD_DEFAULTS: dict[str, Any] = {
    "n_subjects": pd.NA, "chance": float("nan"), "direction": "", "note": "",
}
#: one row per (task, metric, layer, repeat, item, target) of out-of-fold predictions
PREDICTION_COLUMNS = [
    "task", "metric", "layer", "repeat", "fold", "item", "subject", "target", "y_true",
    "y_pred",
]
STAGES = (
    "feature_independence", "temporal_dynamics", "scenario_separation", "downstream",
)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as sorted, indented JSON atomically (no half-written file on a kill)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default, allow_nan=True)
    atomic_write_bytes(path, (text + "\n").encode())


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _umask_mode() -> int:
    """Permissions a plain ``open()`` would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, suffix: str, write: Callable[[BinaryIO], object]) -> None:
    """``write(handle)`` into a temporary file (``suffix``) in the same folder, then rename
    over ``path``; the temporary file is removed on any error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over ``path``."""
    _atomic_write(path, ".tmp", lambda handle: handle.write(data))


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """``np.save`` through a temporary file and rename (atomic)."""
    _atomic_write(Path(path), ".npy", lambda handle: np.save(handle, array, allow_pickle=False))


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` (readable by ``np.load``), written atomically.

    Arrays stream into the archive one at a time, never pickled, and the zip entries
    carry a fixed timestamp, so the same arrays give the same bytes (``np.savez`` stamps
    the current time).
    """
    def write(handle: BinaryIO) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            for key, array in arrays.items():
                entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with archive.open(entry, "w", force_zip64=True) as member:
                    np.lib.format.write_array(
                        member, np.ascontiguousarray(array), allow_pickle=False
                    )

    _atomic_write(Path(path), ".npz", write)


def save_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    """``frame`` as Parquet without its index, written atomically."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_npy(path: str | Path, mmap: bool = True) -> np.ndarray:
    """Load a ``.npy`` array, memory-mapped by default, never unpickling objects."""
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


@dataclass
class Suite:
    """A suite directory loaded lazily: signals are memory-mapped."""

    path: Path
    signals: np.ndarray
    labels: pd.DataFrame
    targets: dict[str, np.ndarray]
    meta: dict[str, Any]

    @property
    def sampling_rate_hz(self) -> float:
        return float(self.meta["sampling_rate_hz"])

    @property
    def channel_names(self) -> list[str]:
        return list(self.meta["channel_names"])


def read_suite(path: str | Path, mmap: bool = True) -> Suite:
    """Read a suite directory written by the simulate stage or the real-data stage."""
    path = Path(path)
    signals = load_npy(path / "signals.npy", mmap=mmap)
    labels = pd.read_parquet(path / "labels.parquet")
    targets_path = path / "targets.npz"
    targets: dict[str, np.ndarray] = {}
    if targets_path.exists():
        with np.load(targets_path, allow_pickle=False) as npz:
            targets = {k: npz[k] for k in npz.files}
    meta = read_json(path / "meta.json")
    return Suite(path=path, signals=signals, labels=labels, targets=targets, meta=meta)


def write_leaderboard_rows(path: str | Path, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Write leaderboard rows (columns ``LEADERBOARD_COLUMNS``) to a CSV, atomically.

    Columns of :data:`LEADERBOARD_DEFAULTS` may be absent from a row (they take their
    default); any other missing column is an error.
    """
    required = [c for c in LEADERBOARD_COLUMNS if c not in LEADERBOARD_DEFAULTS]
    for row in rows:
        missing = [c for c in required if c not in row]
        if missing:
            raise ValueError(f"leaderboard rows lack columns {missing}")
    filled = [{**LEADERBOARD_DEFAULTS, **row} for row in rows]
    frame = pd.DataFrame(filled, columns=LEADERBOARD_COLUMNS)
    atomic_write_bytes(Path(path), frame.to_csv(index=False).encode())
    return frame


def save_predictions(path: str | Path, frame: pd.DataFrame) -> None:
    """Out-of-fold predictions (columns :data:`PREDICTION_COLUMNS`) as Parquet, atomically.

    One row per held-out item and target: ``task``/``metric``/``layer`` name the result
    the predictions belong to (as in the leaderboard), ``repeat`` the cross-validation
    repetition (0 when there is one), ``item`` the window (or token, beat) index in its
    suite, ``subject`` the group the item's folds and resamples are drawn by, ``target``
    the target's name (a factor, ``sin``/``cos`` of a phase, a class index), and
    ``y_true``/``y_pred`` the values (class indices for classifiers). Paired comparisons
    between models match rows on every column but ``y_pred``.
    """
    if "fold" not in frame.columns:
        frame = frame.assign(fold=-1)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"prediction table lacks columns {missing}")
    table = frame[PREDICTION_COLUMNS].copy()
    table["fold"] = pd.to_numeric(table["fold"]).fillna(-1)
    for column in ("task", "metric", "layer", "subject", "target"):
        table[column] = table[column].astype(str)
    for column in ("repeat", "fold", "item"):
        table[column] = table[column].astype("int64")
    for column in ("y_true", "y_pred"):
        table[column] = table[column].astype("float64")
    save_parquet(path, table)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A prediction table written by :func:`save_predictions`."""
    frame = pd.read_parquet(path)
    if "fold" not in frame.columns:
        frame.insert(4 if frame.shape[1] >= 4 else frame.shape[1], "fold", -1)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} is not a prediction table: it lacks {missing}")
    return frame
