"""The model plug-in protocol: a name, a description, and ``embed``.

A plug-in is any object with these three members, returned by a factory registered in
the entry-point group ``physio_bench.models``. The factory is called as
``factory(name=<name in the config>, seed=<int>, **options)`` where ``options`` is the
model's config entry without ``plugin`` and ``enabled``; it raises
:class:`physio_bench.errors.ModelError` (one line) for options it does not know.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class ModelInfo:
    """What a model is and where its weights came from (stored in ``model.json``)."""

    name: str
    plugin: str
    architecture: str
    n_parameters: int
    pretrained: bool
    weights_source: str  # hub id, local directory, "random (seed=...)", or "none" for baselines
    layer_names: list[str]
    weights_sha256: str | None = None
    max_window_samples: int | None = None  # longest window the model accepts (None: any)
    versions: dict[str, str] = field(default_factory=dict)  # package -> version
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TokenEmbeddings:
    """Per-layer token embeddings of a batch of windows.

    Attributes:
        layers: layer name -> float32 array (windows x tokens x dim), shallow to deep;
            the last entry is the model's output representation.
        token_spans: int64 array (tokens x 2): ``[start, stop)`` sample indices of the
            input window that each token covers.
        token_channels: int64 array (tokens,): the channel each token comes from, or -1
            when a token summarises all channels.
    """

    layers: dict[str, np.ndarray]
    token_spans: np.ndarray
    token_channels: np.ndarray

    def validate(self, n_windows: int) -> None:
        """Raise ``ValueError`` if shapes disagree with each other or with ``n_windows``."""
        n_tokens = self.token_spans.shape[0]
        if self.token_spans.shape != (n_tokens, 2):
            raise ValueError(f"token_spans must be tokens x 2, got {self.token_spans.shape}")
        if self.token_channels.shape != (n_tokens,):
            raise ValueError(
                f"token_channels must have {n_tokens} entries, got {self.token_channels.shape}"
            )
        if not self.layers:
            raise ValueError("a model must return at least one layer")
        for name, array in self.layers.items():
            if array.ndim != 3 or array.shape[:2] != (n_windows, n_tokens):
                raise ValueError(
                    f"layer {name!r} must be {n_windows} x {n_tokens} x dim, got {array.shape}"
                )


@runtime_checkable
class EmbeddingModel(Protocol):
    """What the embed stage needs from a model."""

    name: str

    def describe(self) -> ModelInfo:
        """Architecture, parameter count, weights provenance, layer names."""
        ...

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Embed float32 windows (windows x channels x samples) sampled at ``sampling_rate_hz``."""
        ...
