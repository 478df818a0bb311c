"""TimesFM 2.5 (``timesfm``, Google; 200M, decoder-only) as an embedding model.

How windows become tokens (the prefill of ``TimesFM_2p5_200M_torch_module.decode``, with
``normalize_inputs`` as in the published recommended ``ForecastConfig``):

* TimesFM is univariate: every channel is embedded on its own and the tokens of all
  channels are concatenated channel-major (``token_channels``);
* each series is standardised (its mean and standard deviation: ``normalize_inputs``),
  left-padded with masked zeros to a multiple of the input patch (32 samples), cut into
  patches, and each patch is normalised with the *running* mean and standard deviation of
  the series up to the end of that patch (``update_running_stats`` and ``revin``), masked
  samples set to 0; the tokenizer reads ``[patch, mask]``;
* attention is causal (``make_attn_mask``): the token of patch ``t`` sees patches
  ``0..t`` of its channel only. With the running normalisation, a token's hidden state
  depends on samples up to the end of its patch, apart from the global standardisation
  (which only rescales; TimesFM's running normalisation makes it nearly irrelevant).

Layers: ``layer_00`` .. ``layer_19`` (the output of every transformer layer, the residual
stream; the last one is what the point and quantile heads read; TimesFM 2.5 has no final
norm), captured with forward hooks on ``stacked_xf`` during the module's own forward pass.

Input assumptions: any length up to the context limit of 16,384 samples per channel
(longer windows: InputError; the core feeds chunks); the first token may cover fewer real
samples (``left_pad_spans``). Default input rate (``default_input_hz``): **50 Hz**: a
token is 0.64 s and a 32-s window 50 tokens per channel; the band below 25 Hz keeps
heart and breathing rhythms and most PPG/ECG energy. Compute is the concern: 200M
parameters per token.

Pretraining data: the TimesFM corpus of about 100B time points from Google Trends,
Wikipedia page views, synthetic series and public benchmarks (Das et al. 2024; the 2.5
model card describes its additions); no physiological recordings named. Weights
``google/timesfm-2.5-200m-pytorch`` (``model.safetensors``) are licensed Apache-2.0.

Options: ``weights`` (random | hub id | directory holding ``model.safetensors``; default
``google/timesfm-2.5-200m-pytorch``), ``batch_size`` (series per forward pass, default
16), ``device``, ``dtype``, ``progress``. ``torch.compile`` is never used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.models.adapter import TorchAdapter
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import capture_outputs, layer_names
from physio_bench.models.weights import WEIGHTS_FILE, check_checkpoint_covers

PLUGIN = "timesfm"
DEFAULT_HUB_ID = "google/timesfm-2.5-200m-pytorch"
OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")


def build_module() -> Any:
    """A freshly initialised TimesFM 2.5 (200M) module, on CPU."""
    from timesfm.timesfm_2p5.timesfm_2p5_torch import TimesFM_2p5_200M_torch_module

    return TimesFM_2p5_200M_torch_module().to("cpu")


def load_module(directory: Path) -> Any:
    """Load a TimesFM 2.5 checkpoint directory with the library's loader (no compilation).

    ``TimesFM_2p5_200M_torch.from_pretrained`` reads ``model.safetensors`` into the
    module with a strict ``load_state_dict``; the module is returned on CPU.
    """
    from timesfm import TimesFM_2p5_200M_torch

    wrapper = TimesFM_2p5_200M_torch.from_pretrained(str(directory), torch_compile=False,
                                                     local_files_only=True)
    check_checkpoint_covers(wrapper.model, directory)
    return wrapper.model.to("cpu")


def prepare_series(rows: Any, patch: int) -> tuple[Any, Any]:
    """Normalised patches and masks (series x patches x patch) as ``decode`` builds them.

    ``rows`` are float32 series of equal length (series x samples). Each is standardised
    (``normalize_inputs``), left-padded with masked zeros to a multiple of ``patch``, and
    every patch normalised with the running statistics up to its end.
    """
    import torch
    from timesfm.torch import util

    mu = torch.mean(rows, dim=-1, keepdim=True)
    sigma = torch.std(rows, dim=-1, keepdim=True)
    rows = util.revin(rows, mu, sigma, reverse=False)
    n_series, n_samples = rows.shape
    pad = (-n_samples) % patch
    values = torch.nn.functional.pad(rows, (pad, 0))
    masks = torch.zeros_like(values, dtype=torch.bool)
    masks[:, :pad] = True
    patched = values.reshape(n_series, -1, patch)
    patched_masks = masks.reshape(n_series, -1, patch)
    n = torch.zeros(n_series, device=rows.device)
    running_mu = torch.zeros(n_series, device=rows.device)
    running_sigma = torch.zeros(n_series, device=rows.device)
    mus, sigmas = [], []
    for index in range(patched.shape[1]):
        (n, running_mu, running_sigma), _ = util.update_running_stats(
            n, running_mu, running_sigma, patched[:, index], patched_masks[:, index])
        mus.append(running_mu)
        sigmas.append(running_sigma)
    normed = util.revin(patched, torch.stack(mus, dim=1), torch.stack(sigmas, dim=1))
    return torch.where(patched_masks, 0.0, normed), patched_masks


class TimesFMModel(TorchAdapter):
    """TimesFM 2.5 transformer-layer outputs (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("timesfm",)
    display_name = "TimesFM's"
    default_input_hz = 50.0
    default_batch_size = 16
    default_weights, weights_file_names = DEFAULT_HUB_ID, (WEIGHTS_FILE,)

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        loaded = self.setup_adapter(
            name, seed, device, dtype, options, default_weights=DEFAULT_HUB_ID,
            files=(WEIGHTS_FILE,), init_random=build_module,
            load_dir=load_module)
        self.module = loaded.model.eval().to(self.placement.device)
        self.patch_size = int(self.module.p)
        self.dim = int(self.module.md)
        self.context_length = int(self.module.config.context_limit)
        self.layer_names = layer_names(len(self.module.stacked_xf), final_norm=False)

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        return self.patch_model_info(
            f"TimesFM 2.5 (timesfm TimesFM_2p5_200M_torch_module, decoder-only): "
            f"{len(self.layer_names)} layers, {self.dim} dims", ", univariate",
            attention="causal within a channel; running per-patch normalisation",
            token_order="channel-major; each channel alone; left-padded (masked) to a "
                        "multiple of patch_size",
        )

    def hidden_states(self, rows: Any) -> list[Any]:
        """Every transformer layer's output (series x tokens x dim) for float32 series."""
        inputs, masks = prepare_series(rows, self.patch_size)
        hooked = {f"layer_{i}": layer for i, layer in enumerate(self.module.stacked_xf)}
        with capture_outputs(hooked) as captured:
            self.module(inputs, masks)
        return [captured[key] for key in hooked]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every layer for windows x channels x samples."""
        return self.embed_channels_alone(self.check_input(windows, sampling_rate_hz),
                                         self.patch_size, self.dim, self.hidden_states)
