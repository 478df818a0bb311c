"""An example physio_bench plug-in from another distribution (needs numpy only).

``RandomProjectionModel`` cuts each channel of a window into non-overlapping patches of
``patch_samples`` samples and projects every patch with a fixed random matrix drawn from
``seed`` (layer ``projection``), then applies ``tanh`` after a second random matrix (layer
``output``). It does not import physio_bench: ``describe()`` and ``embed()`` return plain
dicts with the field names of ``physio_bench.models.protocol`` (``ModelInfo`` and
``TokenEmbeddings``), which the core accepts, so the same plug-in runs in-process or in
another environment through ``plugin: subprocess``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__version__ = "0.1.0"


class RandomProjectionModel:
    """Fixed random projection of patches (two layers: ``projection``, ``output``)."""

    def __init__(self, name: str, seed: int = 0, patch_samples: int = 16, dim: int = 8,
                 max_window_samples: int | None = None, device: str = "cpu") -> None:
        if patch_samples < 1 or dim < 1:
            raise ValueError(f"model {name!r}: patch_samples and dim must be positive")
        if device not in ("auto", "cpu"):  # `device` comes from embed.device
            raise ValueError(f"model {name!r} runs on cpu only, not on device {device!r}")
        self.name = name
        self.patch_samples = int(patch_samples)
        self.dim = int(dim)
        self.max_window_samples = max_window_samples
        rng = np.random.default_rng(seed)
        self.w1 = (rng.standard_normal((patch_samples, dim)) / np.sqrt(patch_samples))
        self.w2 = rng.standard_normal((dim, dim)) / np.sqrt(dim)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plugin": "example",
            "architecture": f"random projection of {self.patch_samples}-sample patches "
                            f"to {self.dim} dims, then tanh",
            "n_parameters": int(self.w1.size + self.w2.size),
            "pretrained": False,
            "weights_source": "random (fixed seed)",
            "layer_names": ["projection", "output"],
            "max_window_samples": self.max_window_samples,
            "device": "cpu",
            "versions": {"physio-bench-example": __version__},
        }

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> dict[str, Any]:
        windows = np.asarray(windows, dtype=np.float64)
        n_windows, n_channels, n_samples = windows.shape
        n_patches = n_samples // self.patch_samples
        patches = windows[:, :, : n_patches * self.patch_samples].reshape(
            n_windows, n_channels * n_patches, self.patch_samples)
        projection = patches @ self.w1
        starts = np.arange(n_patches, dtype=np.int64) * self.patch_samples
        spans = np.stack([starts, starts + self.patch_samples], axis=1)
        return {
            "layers": {"projection": projection.astype(np.float32),
                       "output": np.tanh(projection @ self.w2).astype(np.float32)},
            "token_spans": np.tile(spans, (n_channels, 1)),
            "token_channels": np.repeat(np.arange(n_channels, dtype=np.int64), n_patches),
        }
