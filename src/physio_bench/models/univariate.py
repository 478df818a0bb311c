"""What the univariate plug-ins (PaPaGei, HuBERT-ECG, Sundial, Timer-XL) share.

Each embeds every channel of a window on its own and returns the tokens of all channels
channel-major (``token_channels``). A plug-in subclasses :class:`UnivariateModel` and
provides three things: ``token_spans(n_samples)`` (``[start, stop)`` of each token in a
series of ``n_samples`` samples; the same for every series of that length),
``hidden_states(series)`` (float32 tensor rows x samples -> one tensor rows x tokens x
dim per layer, shallow to deep) and ``describe()``. The window checks, batching,
placement (device, dtype, autocast) and the output arrays are here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.models.adapter import TorchAdapter
from physio_bench.models.protocol import TokenEmbeddings
from physio_bench.models.torch_utils import (
    Placement,
    check_sampling_rate,
    check_windows,
)
from physio_bench.models.weights import LoadedWeights

OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")

if TYPE_CHECKING:
    import torch


def proportional_spans(n_samples: int, n_tokens: int) -> np.ndarray:
    """``[start, stop)`` of ``n_tokens`` equal shares of ``n_samples`` samples (floor of the
    start, ceiling of the stop: every sample a token touches; int64, tokens x 2)."""
    index = np.arange(n_tokens, dtype=np.int64)
    starts = (index * n_samples) // n_tokens
    stops = -((-(index + 1) * n_samples) // n_tokens)
    return np.stack([starts, stops], axis=1)


def standardise(series: torch.Tensor, floor: float) -> torch.Tensor:
    """Each row minus its mean, divided by its population standard deviation (a standard
    deviation below ``floor`` divides by 1: a flat row stays flat at 0)."""
    import torch

    mean = series.mean(dim=-1, keepdim=True)
    std = series.std(dim=-1, keepdim=True, unbiased=False)
    return (series - mean) / torch.where(std < floor, torch.ones_like(std), std)


class UnivariateModel(TorchAdapter):
    """Base of the plug-ins that embed channels one by one (see the module docstring).

    Subclasses set ``name``, ``placement`` (:class:`Placement`), ``batch_size``,
    ``progress``, ``layer_names``, ``dim``, ``min_samples`` and ``max_samples`` (None: no
    limit) in their ``__init__``.
    """

    name: str
    placement: Placement
    batch_size: int
    progress: bool
    layer_names: list[str]
    dim: int
    min_samples: int = 1
    max_samples: int | None = None

    def load(self, name: str, seed: int, device: str, dtype: str, options: dict[str, Any], *,
             plugin: str, weights: str, files: Sequence[str], init_random: Callable[[], Any],
             load_dir: Callable[[Path], Any], batch_size: int = 16) -> LoadedWeights[Any]:
        """The common part of a plug-in's ``__init__``: check the options (:data:`OPTIONS`),
        set name, seed, batch size, progress and placement, load the network (``weights``:
        ``random``, a directory or a hub id; :func:`physio_bench.models.weights.
        load_weights`) in eval mode on the device as ``self.network``."""
        self.plugin, self.options, self.default_batch_size = plugin, OPTIONS, batch_size
        loaded = self.setup_adapter(name, seed, device, dtype,
                                    {**options, "weights": weights}, default_weights=weights,
                                    files=files, init_random=init_random, load_dir=load_dir)
        self.network = loaded.model.eval().to(self.placement.device)
        return loaded

    def token_spans(self, n_samples: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def hidden_states(self, series: torch.Tensor) -> list[torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def check_input(self, windows: Any, sampling_rate_hz: float) -> np.ndarray:
        """Validate windows before any compute (shape, finite values, length limits)."""
        array = check_windows(windows, self.name)
        check_sampling_rate(sampling_rate_hz, self.name)
        n_samples = array.shape[2]
        if n_samples < self.min_samples:
            raise InputError(f"model {self.name!r}: windows of {n_samples} samples are "
                             f"shorter than the {self.min_samples} samples it needs; use "
                             f"longer windows or a higher input_hz")
        if self.max_samples is not None and n_samples > self.max_samples:
            raise InputError(f"model {self.name!r}: windows of {n_samples} samples exceed "
                             f"its context of {self.max_samples} samples; the embed stage "
                             f"cuts longer windows into chunks (max_window_samples)")
        return array

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Every layer's tokens of every channel (windows x channels x samples)."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)

        def forward(rows: np.ndarray) -> list[Any]:
            states = self.hidden_states(torch.from_numpy(np.ascontiguousarray(
                rows, dtype=np.float32)).to(self.placement.device))
            if len(states) != len(self.layer_names):
                raise RuntimeError(f"{len(states)} hidden states for "
                                   f"{len(self.layer_names)} layers")
            return states

        return self.embed_channel_rows(array, self.token_spans(array.shape[2]), self.dim,
                                       forward)
