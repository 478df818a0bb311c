"""An example physio_bench plug-in from another distribution, built on the adapter kit.

``RandomProjectionModel`` cuts each channel of a window into non-overlapping patches of
``patch_samples`` samples and projects every patch with a fixed random matrix drawn from
``seed`` (layer ``projection``), then applies ``tanh`` after a second random matrix (layer
``output``). It writes only ``load`` and ``forward``: :class:`physio_bench_kit.KitModel`
does the option and device checks, batching, token spans, stitching and ``describe()``.
The kit needs numpy only and does not import physio_bench, so the same plug-in runs
in-process or in another environment through ``plugin: subprocess`` (whose worker
provides the kit there).
"""

from __future__ import annotations

import numpy as np

from physio_bench_kit import KitModel, whole_patch_spans

__version__ = "0.1.0"


class RandomProjectionModel(KitModel):
    """Fixed random projection of patches (two layers: ``projection``, ``output``)."""

    plugin = "example"
    distributions = ("physio-bench-example",)
    layer_names = ("projection", "output")

    def load(self, patch_samples: int = 16, dim: int = 8,
             max_window_samples: int | None = None) -> None:
        if patch_samples < 1 or dim < 1:
            raise ValueError(f"model {self.name!r}: patch_samples and dim must be positive")
        self.patch_size, self.dim = int(patch_samples), int(dim)
        self.max_window_samples = max_window_samples
        rng = np.random.default_rng(self.seed)
        self.w1 = rng.standard_normal((patch_samples, dim)) / np.sqrt(patch_samples)
        self.w2 = rng.standard_normal((dim, dim)) / np.sqrt(dim)
        self.n_parameters = self.w1.size + self.w2.size
        self.architecture = (f"random projection of {patch_samples}-sample patches to {dim} "
                             f"dims, then tanh")

    def token_spans(self, n_samples: int) -> np.ndarray:
        return whole_patch_spans(n_samples, self.patch_size)

    def forward(self, windows: np.ndarray) -> list[np.ndarray]:
        n_windows, n_channels, n_samples = windows.shape
        n_patches = n_samples // self.patch_size
        patches = windows[..., : n_patches * self.patch_size].astype(np.float64).reshape(
            n_windows, n_channels, n_patches, self.patch_size)
        projection = patches @ self.w1
        return [projection, np.tanh(projection @ self.w2)]
