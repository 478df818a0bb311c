"""Mantis (``mantis-tsfm``, ``MantisV1``, 8M parameters) as an embedding model.

Mantis takes univariate series of a fixed length (``seq_len`` 512) cut into 32 patches
of 16 samples, prepends a CLS token and runs a 6-layer ViT-style transformer (256 dims).
This adapter:

* embeds every channel on its own (Mantis is univariate) and concatenates the tokens of
  all channels channel-major (``token_channels``);
* resamples each window to ``seq_len`` samples with linear interpolation
  (``torch.nn.functional.interpolate(mode="linear", align_corners=False)``, the resizing
  Mantis recommends for other lengths), so token ``i`` covers about samples
  ``[i*N/32, (i+1)*N/32)`` of an ``N``-sample window (spans rounded outwards);
* replicates ``MantisV1.forward`` (token generator, CLS, positional encoding, then the
  transformer layer by layer) to expose every layer's output: ``layer_00`` ..
  ``layer_05`` (there is no final norm in Mantis; the last layer's CLS token is the
  model's own output);
* exports the 32 patch tokens per channel and drops the CLS token, which has no time
  span: mean pooling of the patch tokens is Mantis's own ``mean_token`` output.

Options: ``weights`` (random | hub id | directory with ``model.safetensors``; default
``paris-noah/Mantis-8M``), ``batch_size`` (windows per forward pass), ``device``,
``dtype``, ``progress`` (as for Moirai).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import (
    batches,
    check_options,
    check_positive_int,
    check_sampling_rate,
    check_windows,
    layer_names,
    resolve_placement,
    to_numpy,
)
from physio_bench.models.weights import (
    WEIGHTS_FILE,
    load_weights,
    loaded_model_info,
    parse_weights,
)

PLUGIN = "mantis"
DEFAULT_HUB_ID = "paris-noah/Mantis-8M"
OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")


def build_network() -> Any:
    """A freshly initialised ``MantisV1`` with the Mantis-8M configuration (the defaults)."""
    from mantis.architecture import MantisV1

    return MantisV1(device="cpu")


def load_network(directory: Path) -> Any:
    """Load a Mantis checkpoint directory (``model.safetensors``, optional ``config.json``).

    Uses the library's ``MantisV1.from_pretrained`` (which also maps the legacy
    ``Mantis8M`` parameter names), strictly: every tensor must be in the file.
    """
    from mantis.architecture import MantisV1

    return MantisV1(device="cpu").from_pretrained(str(directory), strict=True)


def resample(rows: Any, seq_len: int) -> Any:
    """Linear resampling of series (rows x 1 x samples) to ``seq_len`` samples."""
    import torch

    if rows.shape[-1] == seq_len:
        return rows
    return torch.nn.functional.interpolate(rows, size=seq_len, mode="linear",
                                           align_corners=False)


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


class MantisModel:
    """Mantis-8M transformer hidden states for every layer (see the module docstring)."""

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        # device and dtype are explicit so that the embed stage passes embed.device/dtype
        check_options(options, OPTIONS, PLUGIN, name)
        self.name = name
        self.seed = int(seed)
        self.batch_size = check_positive_int(options.get("batch_size", 32), "batch_size", name)
        self.progress = bool(options.get("progress", True))
        self.placement = resolve_placement(device, dtype, name)
        spec = parse_weights(options.get("weights", DEFAULT_HUB_ID), name)
        loaded = load_weights(spec, name=name, seed=self.seed, files=(WEIGHTS_FILE,),
                              init_random=build_network, load_dir=load_network)
        self.network = loaded.model.eval().to(self.placement.device)
        self.weights = loaded
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
            "resampling": f"linear interpolation of every window to {self.seq_len} samples",
            "token_order": "channel-major; CLS token dropped",
        }
        return loaded_model_info(
            name=self.name,
            plugin=PLUGIN,
            architecture=(f"Mantis (mantis-tsfm MantisV1): {len(self.layer_names)} "
                          f"transformer layers, {self.dim} dims, {self.n_patches} patches of "
                          f"a window resampled to {self.seq_len} samples, univariate"),
            weights=self.weights,
            placement=self.placement,
            layer_names=self.layer_names,
            max_window_samples=None,
            packages=("mantis", "einops"),
            extra=extra,
        )

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
        """Patch-token hidden states of every layer for windows x channels x samples."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_windows, channels, n_samples = array.shape
        spans = np.tile(patch_spans(n_samples, self.n_patches), (channels, 1))
        token_channels = np.repeat(np.arange(channels, dtype=np.int64), self.n_patches)
        n_tokens = channels * self.n_patches
        outputs = {name: np.empty((n_windows, n_tokens, self.dim), dtype=np.float32)
                   for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(n_windows, self.batch_size, self.progress, self.name):
                batch = array[part]
                rows = torch.from_numpy(batch.reshape(-1, 1, n_samples))
                series = resample(rows.to(self.placement.device), self.seq_len)
                for name, state in zip(self.layer_names, hidden_states(self.network, series),
                                       strict=True):
                    tokens = to_numpy(state[:, 1:])
                    outputs[name][part] = tokens.reshape(batch.shape[0], n_tokens, self.dim)
        return TokenEmbeddings(layers=outputs, token_spans=spans, token_channels=token_channels)
