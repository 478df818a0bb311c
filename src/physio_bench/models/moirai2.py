"""Moirai 2.0 (uni2ts ``Moirai2Module``, a decoder-only transformer) as an embedding model.

How windows become tokens (the packing ``Moirai2Forecast`` uses for its context):

* every channel is one variate; each is cut into patches of the module's fixed
  ``patch_size`` (16 samples for the published checkpoint) after left-padding to a multiple
  of it (padded samples are unobserved: ``observed_mask`` 0, the uni2ts convention, so the
  first token may cover fewer real samples); tokens are channel-major, ``token_channels``
  ``[0]*P + [1]*P + ...``; ``time_id`` is the patch index, ``variate_id`` the channel;
* each token's input is ``[standardised patch, observed mask]`` (``2 * patch_size``
  values); the standardisation (``PackedStdScaler``) uses the mean and standard deviation
  of the whole channel in the window;
* no prediction tokens are appended. Unlike Moirai 1.x this would not matter for the
  context tokens: attention is **causal in time** (``packed_causal_attention_mask``):
  the token of patch ``t`` of any channel attends to the tokens of patches ``0..t`` of
  *every* channel of the window (its own and earlier time steps, across channels) and to
  nothing later. So a token's hidden state summarises the window up to the end of its
  patch; only the per-channel standardisation uses later samples (it is computed over the
  whole window). The last token of each channel is the one that has seen the whole window.

Layers: ``layer_00`` .. ``layer_05`` (the output of every transformer layer, the residual
stream) and ``final_norm`` (the RMS-normalised encoder output that ``out_proj`` reads),
read with forward hooks on the module's own ``forward``.

Input assumptions: any number of channels and samples as long as channels x patches is at
most ``max_seq_len`` (512) tokens, the length Moirai 2.0 was trained on
(``context_samples(n_channels)``: 512 // channels patches); the embed stage splits longer
windows into contexts by the shared rule of :mod:`physio_bench.models.context` (a 5-channel
32-s window at 100 Hz: chunks of 1,568 and 1,632 samples), and ``embed`` called directly
with a longer window raises InputError. Default input
rate (``default_input_hz``): **50 Hz**, so that a token is 0.32 s (about one QRS-T complex
at rest, an eighth of a breath at 15 /min) and a 32-s window is 100 tokens per channel
(500 for the five simulated signals, within the 512-token budget); 50 Hz keeps the band
below 25 Hz (heart and respiratory rhythms, PPG and most ECG energy; not EMG).

Pretraining data: about 36M series from GIFT-Eval's pretraining split, Chronos's training
mix, synthetic series and Salesforce CloudOps telemetry (Moirai 2.0 report, 2025); no
physiological recordings were named. Weights (``Salesforce/moirai-2.0-R-small``, 11.4M
parameters: d_model 384, d_ff 1024, 6 layers, patch 16) are licensed CC-BY-NC-4.0.

Options: ``weights`` (random | hub id | directory; default
``Salesforce/moirai-2.0-R-small``), ``batch_size`` (windows per forward pass, default 32),
``device``, ``dtype``, ``progress`` (as for Moirai).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.models.adapter import TokenBudgetAdapter
from physio_bench.models.lazy_import import lazy_package
from physio_bench.models.moirai import PackedBatch, pack_windows
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import (
    batches,
    capture_outputs,
    channel_spans,
    layer_names,
    left_pad_spans,
    to_numpy,
)
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE

PLUGIN = "moirai2"
DEFAULT_HUB_ID = "Salesforce/moirai-2.0-R-small"
# The published config.json of Salesforce/moirai-2.0-R-small.
SMALL_CONFIG: dict[str, Any] = {
    "d_model": 384, "d_ff": 1024, "num_layers": 6, "patch_size": 16, "max_seq_len": 512,
    "attn_dropout_p": 0.0, "dropout_p": 0.0, "scaling": True, "num_predict_token": 4,
    "quantile_levels": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
}
OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")


def build_module(config: dict[str, Any] | None = None) -> Any:
    """A freshly initialised ``Moirai2Module`` (default: the published small configuration)."""
    lazy_package("uni2ts.model.moirai2")  # Moirai2Module without Lightning's imports
    from uni2ts.model.moirai2.module import Moirai2Module

    settings = {**SMALL_CONFIG, **(config or {})}
    settings["quantile_levels"] = tuple(settings["quantile_levels"])
    return Moirai2Module(**settings)


def load_module(directory: Path) -> Any:
    """Load a ``Moirai2Module`` checkpoint directory (``config.json`` + safetensors), strictly."""
    lazy_package("uni2ts.model.moirai2")  # Moirai2Module without Lightning's imports
    from uni2ts.model.moirai2.module import Moirai2Module

    return Moirai2Module.from_pretrained(str(directory), strict=True, map_location="cpu")


def module_kwargs(packed: PackedBatch) -> dict[str, Any]:
    """``Moirai2Module.forward`` arguments (no ``patch_size``: Moirai 2.0 has one)."""
    kwargs = packed.as_kwargs()
    kwargs.pop("patch_size")
    return kwargs


class Moirai2Model(TokenBudgetAdapter):
    """Moirai 2.0 decoder hidden states for every layer (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("uni2ts",)
    display_name = "Moirai 2.0's"
    context_hint = "use shorter windows, fewer channels or a lower input_hz"

    default_input_hz = 50.0
    default_weights, weights_file_names = DEFAULT_HUB_ID, (CONFIG_FILE, WEIGHTS_FILE)

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        loaded = self.setup_adapter(
            name, seed, device, dtype, options, default_weights=DEFAULT_HUB_ID,
            files=(CONFIG_FILE, WEIGHTS_FILE), init_random=build_module,
            load_dir=load_module)
        self.module = loaded.model.eval().to(self.placement.device)
        self.patch_size = int(self.module.patch_size)
        self.layer_names = layer_names(self.module.num_layers, final_norm=True)

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        module = self.module
        extra: dict[str, Any] = {
            "patch_size": self.patch_size,
            "max_tokens": self.max_tokens,
            "attention": ("causal in time: the token of patch t sees patches 0..t of every "
                          "channel; per-channel standardisation over the whole window"),
            "token_order": "channel-major; window left-padded to a multiple of patch_size",
        }
        return self.model_info(
            f"Moirai 2.0 (uni2ts Moirai2Module, decoder-only): d_model {module.d_model}, "
            f"{module.num_layers} layers, patch_size {self.patch_size}, max_seq_len "
            f"{module.max_seq_len}", self.max_tokens * self.patch_size, extra)

    def hidden_states(self, packed: PackedBatch) -> list[Any]:
        """Every layer's output and the final norm, from the module's own forward pass."""
        encoder = self.module.encoder
        hooked = {f"layer_{i}": layer for i, layer in enumerate(encoder.layers)}
        hooked["final_norm"] = encoder.norm
        with capture_outputs(hooked) as captured:
            self.module(**module_kwargs(packed), training_mode=True)
        return [captured[key] for key in hooked]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every layer for windows x channels x samples."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_windows, channels, n_samples = array.shape
        spans, token_channels = channel_spans(left_pad_spans(n_samples, self.patch_size),
                                              channels)
        outputs = {name: np.empty((n_windows, spans.shape[0], self.module.d_model),
                                  dtype=np.float32) for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(n_windows, self.batch_size, self.progress, self.name):
                packed = pack_windows(array[part], self.patch_size, self.patch_size,
                                      self.placement.device)
                for name, state in zip(self.layer_names, self.hidden_states(packed),
                                       strict=True):
                    outputs[name][part] = to_numpy(state)
        return TokenEmbeddings(layers=outputs, token_spans=spans, token_channels=token_channels)
