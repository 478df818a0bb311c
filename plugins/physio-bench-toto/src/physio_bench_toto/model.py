"""Toto (``toto-ts``, Datadog) transformer-layer outputs, through ``toto.model.toto.Toto``.

How windows become tokens (what ``TotoForecaster.forecast`` feeds ``TotoBackbone``):

* all channels of a window are the variates of one series (one group: ``id_mask`` 0);
  each is left-padded with zeros to a multiple of the patch stride (64 samples for the
  published model; ``pad_array``), the padding flagged in ``input_padding_mask``;
* the scaler (``CausalPatchStdMeanScaler`` in the published model) standardises each
  patch with the mean and scale of its channel *up to the end of that patch*;
* patches of 64 samples are embedded (``PatchEmbedding``) and pass through transformer
  layers that attend either along time (**causal**: a token sees earlier patches of its own
  channel) or across channels (``spacewise`` layers: all channels at the same patch
  index). So a token's state summarises all channels up to the end of its patch.

Tokens are channel-major (``token_channels``); spans follow ``left_pad_spans`` (the first
token may cover fewer real samples). Layers: ``layer_00`` .. ``layer_NN`` (every
transformer layer's output, forward hooks during ``TotoBackbone.forward``); the last is
what ``unembed`` and the output distribution read (Toto has no final norm).

Input assumptions: any number of channels; at most ``max_samples`` samples per window
(4096, Toto's training context; longer windows are refused and the core feeds chunks).
Recommended input rate (``default_input_hz``): **128 Hz**, so that a 32-s window is exactly
4096 samples (64 tokens of 0.5 s) and ECG/PPG morphology below 64 Hz survives.

Pretraining data: about 2.36 trillion points, a large share of them Datadog's own
observability metrics, plus public sets (GIFT-Eval pretraining, Chronos data) and
synthetic series (Toto paper, Cohen et al. 2025); no physiological recordings named. Weights
``Datadog/Toto-Open-Base-1.0`` (151M parameters) are licensed Apache-2.0 and read from
``model.safetensors`` only (with ``config.json``), strictly.

Built on the adapter kit (:class:`physio_bench_kit.KitModel`, provided by the core's
worker in this environment): this module is only ``load`` and ``forward``.

Options: ``weights`` (hub id, read from the local Hugging Face cache only, or a local
directory; default ``Datadog/Toto-Open-Base-1.0``), ``device`` (auto | cpu | cuda),
``batch_size`` (windows per forward pass, default 8), ``max_samples`` (default 4096).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench_kit import InputError, KitModel, checkpoint_directory, file_sha256

DEFAULT_WEIGHTS = "Datadog/Toto-Open-Base-1.0"
SAFETENSORS = "model.safetensors"
DEFAULT_INPUT_HZ = 128.0
MAX_SAMPLES = 4096

__all__ = ["InputError", "TotoModel", "checkpoint_directory"]


class TotoModel(KitModel):
    """Toto as an embedding model (see the module docstring)."""

    plugin = "toto"
    display_name = "Toto"
    devices = ("auto", "cpu", "cuda")
    distributions = ("toto-ts", "torch", "numpy")
    default_input_hz = DEFAULT_INPUT_HZ
    pretrained = True

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 batch_size: int = 8, **options: Any) -> None:
        super().__init__(name, seed, device=device, batch_size=batch_size, **options)

    def load(self, weights: str = DEFAULT_WEIGHTS, max_samples: int = MAX_SAMPLES) -> None:
        if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
            raise ValueError(f"model {self.name!r}: max_samples must be a positive integer")
        self.weights_source, self.max_window_samples = weights, max_samples
        directory, revision = checkpoint_directory(weights, self.name)  # cheap: first
        from toto.model.toto import Toto

        try:
            toto = Toto.load_from_checkpoint(str(directory), map_location="cpu", strict=True)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise ValueError(f"model {self.name!r}: cannot load Toto weights from {directory} "
                             f"({type(exc).__name__}: {first})") from exc
        self.backbone = toto.model.to(self.device).eval()
        self.layers = list(self.backbone.transformer.layers)
        self.patch_size = int(self.backbone.patch_embed.stride)
        self.dim = int(self.backbone.embed_dim)
        self.layer_names = [f"layer_{i:02d}" for i in range(len(self.layers))]
        self.weights_sha256 = file_sha256(directory / SAFETENSORS)
        self.n_parameters = int(sum(p.numel() for p in self.backbone.parameters()))
        spacewise = sum(str(layer.attention_axis).endswith("SPACE") for layer in self.layers)
        self.architecture = (f"Toto (toto-ts TotoBackbone): {len(self.layers)} layers "
                             f"({spacewise} space-wise), {self.dim} dims, patch "
                             f"{self.patch_size}, multivariate")
        self.extra = {
            "patch_size": self.patch_size, "max_samples": max_samples,
            "attention": ("causal along time within a channel; space-wise layers mix all "
                          "channels at one patch index; causal patch scaler"),
            "token_order": "channel-major; left-padded (masked) to a multiple of the stride",
            **({"weights_revision": revision} if revision is not None else {}),
        }

    def forward(self, windows: np.ndarray) -> list[np.ndarray]:
        """Every layer's output (windows x channels x patches x dim), the way
        ``TotoForecaster`` prepares its inputs (left padding, one variate group)."""
        import torch

        captured: dict[int, Any] = {}
        hooks = [layer.register_forward_hook(
            lambda _m, _i, out, index=index: captured.__setitem__(index, out))
            for index, layer in enumerate(self.layers)]
        pad = (-windows.shape[-1]) % self.patch_size
        try:
            with torch.inference_mode():
                series = torch.nn.functional.pad(torch.from_numpy(windows), (pad, 0))
                valid = torch.ones_like(series, dtype=torch.bool)
                valid[..., :pad] = False
                ids = torch.zeros_like(series, dtype=torch.int)
                self.backbone(series.to(self.device), valid.to(self.device),
                              ids.to(self.device))
        finally:
            for hook in hooks:
                hook.remove()
        return [captured[index].float().cpu().numpy() for index in range(len(self.layers))]
