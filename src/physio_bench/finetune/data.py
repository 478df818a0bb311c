"""The training windows: a suite directory, filtered, resampled to the model's input rate.

A suite (``signals.npy`` windows x channels x samples, ``labels.parquet``, ``meta.json``;
see docs/architecture.md) is read memory-mapped; windows are selected by their
``signal_kind`` / ``scenario`` labels and channels by ``meta.json``'s ``channel_names``,
then resampled from the suite's ``sampling_rate_hz`` to ``input_hz`` by
:func:`physio_bench.resampling.resample` (Kaiser-windowed FIR, stopband from the new
Nyquist frequency, ``padtype="line"``): the very function the embed stage
(``models.resampling``) calls before a model sees a window, so training and evaluation
inputs are identical. Everything is
checked before training starts: a suite that is missing, empty after selection,
non-finite, or too short for ``min_patches`` patches is a one-line
:class:`~physio_bench.errors.InputError`.

The suite's digest (:func:`suite_digest`) is the SHA-256 of its ``meta.json`` and
``labels.parquet`` bytes and of its ``signals.npy``: the provenance names exactly which
windows trained the model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.finetune.settings import RunSettings
from physio_bench.io import read_suite
from physio_bench.resampling import rate_ratio, resample, resampled_length

SUITE_FILES = ("signals.npy", "labels.parquet", "meta.json")
HASH_CHUNK_BYTES = 1 << 22
CHUNK_WINDOWS = 256  # windows resampled at a time


@dataclass
class TrainingWindows:
    """Selected windows at ``input_hz`` (float32, windows x channels x samples)."""

    signals: np.ndarray
    window_ids: np.ndarray  # the suite's window_id of each row
    channel_names: list[str]
    input_hz: float
    suite_meta: dict[str, Any]
    suite_sha256: str

    @property
    def n_windows(self) -> int:
        return int(self.signals.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[2])


def suite_digest(path: Path) -> str:
    """SHA-256 over the suite's ``meta.json``, ``labels.parquet`` and ``signals.npy``."""
    digest = hashlib.sha256()
    for name in ("meta.json", "labels.parquet", "signals.npy"):
        digest.update(f"{name}\n".encode())
        with open(path / name, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()


def _check_files(path: Path, run: str) -> None:
    missing = [f for f in SUITE_FILES if not (path / f).is_file()]
    if missing:
        raise InputError(f"finetune run {run!r}: no training suite at {path} (missing "
                         f"{', '.join(missing)}): simulate it first or fix finetune.runs."
                         f"{run}.suite")


def _select_rows(labels: Any, settings: RunSettings) -> np.ndarray:
    """Row indices of the windows whose labels pass the run's filters (suite order)."""
    keep = np.ones(len(labels), dtype=bool)
    for column, wanted in (("signal_kind", settings.signal_kinds),
                           ("scenario", settings.scenarios)):
        if wanted is None:
            continue
        present = set(labels[column].astype(str)) if column in labels else set()
        unknown = sorted(set(wanted) - present)
        if unknown:
            raise InputError(f"finetune run {settings.name!r}: {column} {unknown[0]!r} is not in"
                             f" the training suite {settings.suite} (it has "
                             f"{', '.join(sorted(present)) or 'none'}); fix finetune.runs."
                             f"{settings.name}.{column}s")
        keep &= labels[column].astype(str).isin(wanted).to_numpy()
    rows = np.flatnonzero(keep)
    if settings.max_windows is not None:
        rows = rows[: settings.max_windows]
    if rows.size == 0:
        raise InputError(f"finetune run {settings.name!r}: no window of {settings.suite} "
                         f"passes signal_kinds/scenarios; widen the selection")
    return rows


def _select_channels(names: list[str], settings: RunSettings) -> list[int]:
    if settings.channels is None:
        return list(range(len(names)))
    unknown = [c for c in settings.channels if c not in names]
    if unknown:
        raise InputError(f"finetune run {settings.name!r}: channel {unknown[0]!r} is not in "
                         f"the training suite (channels {', '.join(names)}); fix finetune."
                         f"runs.{settings.name}.channels")
    return [names.index(c) for c in settings.channels]


def resample_windows(signals: np.ndarray, from_hz: float, to_hz: float,
                     what: str = "resample") -> np.ndarray:
    """``signals`` (..., samples) at ``from_hz`` resampled to ``to_hz`` (float32).

    :func:`physio_bench.resampling.resample` along the last axis (the embed stage's code
    path); a copy when the rates are equal.
    """
    up, down = rate_ratio(from_hz, to_hz, what)
    return resample(signals, up, down)


def load_training_windows(settings: RunSettings) -> TrainingWindows:
    """Read, select, check and resample the run's training windows.

    Raises:
        InputError: missing suite, empty selection, unknown label or channel, NaN/inf
            values, or windows too short for ``min_patches`` patches at ``input_hz`` and
            ``patch_size``.
    """
    path = Path(settings.suite)
    _check_files(path, settings.name)
    suite = read_suite(path)
    if suite.signals.ndim != 3 or len(suite.labels) != suite.signals.shape[0]:
        raise InputError(f"finetune run {settings.name!r}: {path}/signals.npy must be windows "
                         f"x channels x samples with one labels.parquet row per window")
    rows = _select_rows(suite.labels, settings)
    channels = _select_channels(suite.channel_names, settings)
    fs = suite.sampling_rate_hz
    up, down = rate_ratio(fs, settings.input_hz,
                          f"config key 'finetune.runs.{settings.name}.input_hz'")
    n_out = resampled_length(suite.signals.shape[2], up, down)
    n_patches = n_out // settings.patch_size
    if n_patches < settings.min_patches:
        raise InputError(
            f"finetune run {settings.name!r}: windows of {suite.signals.shape[2]} samples at "
            f"{fs:g} Hz are {n_out} samples at {settings.input_hz:g} Hz, {n_patches} patches "
            f"of {settings.patch_size}, fewer than min_patches {settings.min_patches}; raise "
            f"input_hz or lower patch_size/min_patches")
    signals = np.empty((rows.size, len(channels), n_out), dtype=np.float32)
    for first in range(0, rows.size, CHUNK_WINDOWS):  # bounded memory for large suites
        part = rows[first:first + CHUNK_WINDOWS]
        selected = np.asarray(suite.signals[part][:, channels], dtype=np.float32)
        finite = np.isfinite(selected).reshape(part.size, -1).all(axis=1)
        if not finite.all():
            window = int(suite.labels["window_id"].iloc[part[int(np.argmin(finite))]])
            raise InputError(f"finetune run {settings.name!r}: training window {window} of "
                             f"{path} has NaN or infinite values; drop it from the suite")
        signals[first:first + part.size] = resample_windows(selected, fs, settings.input_hz)
    return TrainingWindows(
        signals=signals,
        window_ids=suite.labels["window_id"].to_numpy()[rows].astype(np.int64),
        channel_names=[suite.channel_names[c] for c in channels],
        input_hz=settings.input_hz,
        suite_meta=dict(suite.meta),
        suite_sha256=suite_digest(path),
    )
