"""Mantis (``mantis-tsfm``, ``MantisV1``, 8M parameters) as an embedding model.

Mantis takes univariate series of a fixed length (``seq_len`` 512) cut into 32 patches
of 16 samples, prepends a CLS token and runs a 6-layer ViT-style transformer (256 dims).
This adapter:

* embeds every channel on its own (Mantis is univariate) and concatenates the tokens of
  all channels channel-major (``token_channels``);
* resizes each window to ``seq_len`` samples, as Mantis expects every series (its
  pretraining resized series of any length and rate to 512), but anti-aliased: the
  polyphase resampler of :func:`physio_bench.models.resampling.resample_to_length`
  (Kaiser FIR, 60 dB stopband from the new Nyquist frequency) instead of the linear
  interpolation Mantis's examples use, which folds a 50 Hz tone into 12.45 Hz at 0.61 of
  its amplitude when 2,048 samples become 512. Token ``i`` covers about samples
  ``[i*N/32, (i+1)*N/32)`` of an ``N``-sample window (spans rounded outwards). A 32-s
  window thus reaches Mantis at 16 Hz (passband 0-6.4 Hz: heart and breathing rates,
  not QRS morphology); the plug-in has no default ``input_hz`` (the core passes windows
  at the suite's rate and this resizing is the only one);
* replicates ``MantisV1.forward`` (token generator, CLS, positional encoding, then the
  transformer layer by layer) to expose every layer's output: ``layer_00`` ..
  ``layer_05`` (there is no final norm in Mantis; the last layer's CLS token is the
  model's own output);
* exports the 32 patch tokens per channel and drops the CLS token, which has no time
  span: mean pooling of the patch tokens is Mantis's own ``mean_token`` output.

Options: ``weights`` (random | hub id | directory with ``config.json`` and
``model.safetensors``; default
``paris-noah/Mantis-8M``), ``batch_size`` (windows per forward pass), ``device``,
``dtype``, ``progress`` (as for Moirai).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.models.adapter import TorchAdapter
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.resampling import METHOD, resample_to_length
from physio_bench.models.torch_utils import (
    check_sampling_rate,
    check_windows,
    layer_names,
)
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE

PLUGIN = "mantis"
DEFAULT_HUB_ID = "paris-noah/Mantis-8M"
OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")
FILES = (CONFIG_FILE, WEIGHTS_FILE)  # MantisV1.from_pretrained reads its kwargs from config.json


def build_network() -> Any:
    """A freshly initialised ``MantisV1`` with the Mantis-8M configuration (the defaults)."""
    from mantis.architecture import MantisV1

    return MantisV1(device="cpu")


def load_network(directory: Path) -> Any:
    """Load a Mantis checkpoint directory (``config.json`` and ``model.safetensors``).

    Uses the library's ``MantisV1.from_pretrained`` (which also maps the legacy
    ``Mantis8M`` parameter names), strictly: every tensor must be in the file.
    """
    from mantis.architecture import MantisV1

    return MantisV1(device="cpu").from_pretrained(str(directory), strict=True)


def resample(rows: np.ndarray, seq_len: int) -> np.ndarray:
    """Anti-aliased resampling of series (rows x 1 x samples) to ``seq_len`` samples
    (float32; unchanged values when the length already is ``seq_len``)."""
    if rows.shape[-1] == seq_len:
        return np.ascontiguousarray(rows, dtype=np.float32)
    return resample_to_length(rows, seq_len)


def patch_spans(n_samples: int, n_patches: int) -> np.ndarray:
    """``[start, stop)`` of each patch in the original window (floor/ceil, int64)."""
    index = np.arange(n_patches, dtype=np.int64)
    starts = (index * n_samples) // n_patches
    stops = -((-(index + 1) * n_samples) // n_patches)
    return np.stack([starts, stops], axis=1)


def hidden_states(network: Any, series: Any) -> list[Any]:
    """Every transformer layer's output (rows x 1+patches x dim, CLS first).

    Replicates ``MantisV1.forward`` (``tokgen_unit`` then ``transf_unit``) up to the last
    transformer layer, keeping each layer's output.
    """
    from einops import pack, repeat

    unit = network.transf_unit
    tokens = network.tokgen_unit(series)
    cls_tokens = repeat(unit.cls_token, "d -> b d", b=tokens.shape[0])
    x, _ = pack([cls_tokens, tokens], "b * d")
    x = unit.pos_encoder(x.transpose(0, 1)).transpose(0, 1)
    states = []
    for attention, feed_forward in unit.transformer.layers:
        x = attention(x) + x
        x = feed_forward(x) + x
        states.append(x)
    return states


class MantisModel(TorchAdapter):
    """Mantis-8M transformer hidden states for every layer (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("mantis", "einops")
    default_weights, weights_file_names = DEFAULT_HUB_ID, FILES

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        # device and dtype are explicit so that the embed stage passes embed.device/dtype
        loaded = self.setup_adapter(
            name, seed, device, dtype, options, default_weights=DEFAULT_HUB_ID,
            files=FILES, init_random=build_network, load_dir=load_network)
        self.network = loaded.model.eval().to(self.placement.device)
        self.seq_len = int(self.network.seq_len)
        self.n_patches = int(self.network.num_patches)
        self.dim = int(self.network.transf_unit.cls_token.shape[0])
        self.layer_names = layer_names(len(self.network.transf_unit.transformer.layers),
                                       final_norm=False)

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        extra: dict[str, Any] = {
            "seq_len": self.seq_len,
            "n_patches": self.n_patches,
            "resampling": f"every window resized to {self.seq_len} samples: {METHOD}",
            "token_order": "channel-major; CLS token dropped",
        }
        return self.model_info(
            f"Mantis (mantis-tsfm MantisV1): {len(self.layer_names)} transformer layers, "
            f"{self.dim} dims, {self.n_patches} patches of a window resampled to "
            f"{self.seq_len} samples, univariate", None, extra)

    def check_input(self, windows: Any, sampling_rate_hz: float) -> np.ndarray:
        """Validate windows before any compute (shape, NaN, at least one sample per patch)."""
        array = check_windows(windows, self.name)
        check_sampling_rate(sampling_rate_hz, self.name)
        if array.shape[2] < self.n_patches:
            raise InputError(f"model {self.name!r}: windows of {array.shape[2]} samples are "
                             f"shorter than Mantis's {self.n_patches} patches; use longer "
                             f"windows")
        return array

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Patch-token hidden states of every layer for windows x channels x samples (the
        [CLS] token dropped)."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_samples = array.shape[2]

        def forward(rows: np.ndarray) -> list[Any]:
            series = resample(rows.reshape(-1, 1, n_samples), self.seq_len)
            states = hidden_states(self.network, torch.from_numpy(series).to(
                self.placement.device))
            return [state[:, 1:] for state in states]

        return self.embed_channel_rows(array, patch_spans(n_samples, self.n_patches),
                                       self.dim, forward)
