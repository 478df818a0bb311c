"""Read an embedding directory (``results/embeddings/{model}/{suite}/``).

Everything is memory-mapped; token arrays open only when a layer is asked for::

    emb = read_embeddings("results/embeddings/raw/factors")
    emb.pooled_layer("output")        # windows x dim, float32
    emb.tokens("output")              # windows x tokens x dim (token_dtype), memory-mapped
    emb.token_spans, emb.token_channels
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.io import load_npy, read_json


@dataclass
class Embeddings:
    """One model's embeddings of one suite.

    Attributes:
        path: the embedding directory.
        pooled: float32, layers x windows x dim (memory-mapped), mean over tokens.
        token_spans: int64, tokens x 2, ``[start, stop)`` in samples of the window.
        token_channels: int64, tokens: channel index, -1 for all channels.
        info: the content of ``model.json``.
    """

    path: Path
    pooled: np.ndarray
    token_spans: np.ndarray
    token_channels: np.ndarray
    info: dict[str, Any]
    _tokens: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def layer_names(self) -> list[str]:
        return list(self.info["layer_names"])

    @property
    def token_layers(self) -> list[str]:
        """Layers whose per-token arrays were kept (``embed.token_layers``)."""
        return list(self.info["token_layers"])

    @property
    def last_layer(self) -> str:
        return self.layer_names[-1]

    @property
    def n_windows(self) -> int:
        return int(self.pooled.shape[1])

    def pooled_layer(self, layer: str) -> np.ndarray:
        """Pooled embeddings of one layer: windows x dim, float32."""
        return self.pooled[self._layer_index(layer)]

    def tokens(self, layer: str | None = None) -> np.ndarray:
        """Token embeddings of ``layer`` (default: the last), memory-mapped."""
        layer = self.last_layer if layer is None else layer
        self._layer_index(layer)
        if layer not in self.token_layers:
            raise InputError(
                f"tokens of layer {layer!r} were not kept in {self.path} (kept: "
                f"{', '.join(self.token_layers)}): set embed.token_layers to include it"
            )
        if layer not in self._tokens:
            self._tokens[layer] = load_npy(self.path / "tokens" / f"{layer}.npy")
        return self._tokens[layer]

    def _layer_index(self, layer: str) -> int:
        if layer not in self.layer_names:
            raise InputError(f"model {self.info['name']!r} has no layer {layer!r}: its layers "
                             f"are {', '.join(self.layer_names)}")
        return self.layer_names.index(layer)


def read_embeddings(path: str | Path) -> Embeddings:
    """Open an embedding directory written by ``physio-bench merge-embeddings``."""
    path = Path(path)
    if not (path / "model.json").exists():
        raise InputError(f"no embeddings at {path} (model.json missing): run the embed stage "
                         "(physio-bench embed / merge-embeddings, or snakemake)")
    return Embeddings(
        path=path,
        pooled=load_npy(path / "pooled.npy"),
        token_spans=load_npy(path / "token_spans.npy", mmap=False),
        token_channels=load_npy(path / "token_channels.npy", mmap=False),
        info=read_json(path / "model.json"),
    )
