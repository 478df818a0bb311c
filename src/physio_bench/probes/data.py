"""Read a suite and a model's embeddings of it, checked against each other.

The probes read the embedding directory's files directly (``pooled.npy``,
``tokens/{layer}.npy``, ``token_spans.npy``, ``token_channels.npy``, ``model.json``; see
docs/architecture.md), so they depend on the on-disk contract only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.io import Suite, load_npy, read_suite


@dataclass
class Embeddings:
    """One model's embeddings of one suite (arrays memory-mapped)."""

    path: Path
    info: dict[str, Any]
    pooled: np.ndarray  # layers x windows x dim, float32
    token_spans: np.ndarray | None  # tokens x 2, [start, stop) samples
    token_channels: np.ndarray | None  # tokens, channel index or -1

    @property
    def layer_names(self) -> list[str]:
        return list(self.info["layer_names"])

    @property
    def token_layers(self) -> list[str]:
        """Layers with per-token arrays on disk, shallow to deep."""
        names = [n for n in self.layer_names if n in set(self.info.get("token_layers") or [])]
        return [n for n in names if (self.path / "tokens" / f"{n}.npy").exists()]

    def tokens(self, layer: str) -> np.ndarray:
        """windows x tokens x dim array of ``layer`` (memory-mapped, stored dtype)."""
        return load_npy(self.path / "tokens" / f"{layer}.npy")

    @property
    def pretrained(self) -> bool:
        return bool(self.info.get("pretrained", False))


def embeddings_dir(results_dir: str | Path, model: str, suite: str) -> Path:
    return Path(results_dir) / "embeddings" / model / suite


def suite_dir(results_dir: str | Path, suite: str) -> Path:
    return Path(results_dir) / "simulated" / suite


def load_suite(results_dir: str | Path, suite: str) -> Suite:
    """The simulated suite ``suite`` under ``results_dir`` (InputError if missing)."""
    path = suite_dir(results_dir, suite)
    if not (path / "labels.parquet").exists() or not (path / "meta.json").exists():
        raise InputError(
            f"suite '{suite}' not found at {path}: run the simulate stage first "
            f"(physio-bench simulate ... or snakemake {path}/labels.parquet)"
        )
    return read_suite(path)


def load_embeddings(results_dir: str | Path, model: str, suite: str,
                    n_windows: int | None = None, pooling: str = "mean") -> Embeddings:
    """Model ``model``'s embeddings of ``suite``; checks shapes against ``n_windows``.

    ``pooling`` (config ``probes.pooling``): ``mean`` reads ``pooled.npy``; ``by_channel``
    reads ``pooled_by_channel.npy`` (per-channel means concatenated) where the embed
    stage wrote it, else ``pooled.npy``; ``info["pooling"]`` says which was read.

    Raises:
        InputError: missing files, or arrays that disagree with each other or the suite.
    """
    path = embeddings_dir(results_dir, model, suite)
    if not (path / "model.json").exists() or not (path / "pooled.npy").exists():
        raise InputError(
            f"embeddings of model '{model}' for suite '{suite}' not found at {path}: "
            "run the embed stage for this model first"
        )
    info = json.loads((path / "model.json").read_text())
    pooled = load_npy(path / "pooled.npy")
    # --- probes.pooling (models issue 14): per-channel pooled array, when there is one
    if pooling == "by_channel" and (path / "pooled_by_channel.npy").exists():
        pooled = load_npy(path / "pooled_by_channel.npy")
        info["pooling"] = "by_channel"
    else:
        info["pooling"] = "mean"
    # ---
    names = info.get("layer_names") or []
    if pooled.ndim != 3 or pooled.shape[0] != len(names):
        raise InputError(
            f"{path}/pooled.npy has shape {pooled.shape} but model.json lists {len(names)} "
            "layers: re-run the embed stage for this model"
        )
    if n_windows is not None and pooled.shape[1] != n_windows:
        raise InputError(
            f"{path}/pooled.npy has {pooled.shape[1]} windows but the suite has {n_windows}: "
            "re-run the embed stage after simulating"
        )
    spans = channels = None
    if (path / "token_spans.npy").exists() and (path / "token_channels.npy").exists():
        spans = np.asarray(load_npy(path / "token_spans.npy", mmap=False), dtype=np.int64)
        channels = np.asarray(load_npy(path / "token_channels.npy", mmap=False), dtype=np.int64)
        if spans.ndim != 2 or spans.shape[1] != 2 or channels.shape != (spans.shape[0],):
            raise InputError(
                f"{path}: token_spans {spans.shape} and token_channels {channels.shape} "
                "disagree: re-run the embed stage for this model"
            )
    embeddings = Embeddings(path, info, pooled, spans, channels)
    for layer in embeddings.token_layers:
        shape = embeddings.tokens(layer).shape
        if spans is None or shape[:2] != (pooled.shape[1], spans.shape[0]):
            raise InputError(
                f"{path}/tokens/{layer}.npy has shape {shape}, expected "
                f"{pooled.shape[1]} windows x {None if spans is None else spans.shape[0]} "
                "tokens: re-run the embed stage for this model"
            )
    return embeddings
