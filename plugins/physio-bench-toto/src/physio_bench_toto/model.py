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

Options: ``weights`` (hub id, read from the local Hugging Face cache only, or a local
directory; default ``Datadog/Toto-Open-Base-1.0``), ``device`` (auto | cpu | cuda),
``batch_size`` (windows per forward pass, default 8), ``max_samples`` (default 4096).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_WEIGHTS = "Datadog/Toto-Open-Base-1.0"
SAFETENSORS = "model.safetensors"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
DEFAULT_INPUT_HZ = 128.0
MAX_SAMPLES = 4096


class InputError(ValueError):
    """A window Toto cannot take (mapped to physio_bench's InputError by name)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_directory(weights: str, name: str) -> tuple[Path, str | None]:
    """The local checkpoint directory of ``weights`` and its hub revision (None if local).

    Never downloads: a hub id must already be in the Hugging Face cache.
    """
    if not isinstance(weights, str) or not weights:
        raise ValueError(f"model {name!r}: option weights must be a hub id or a directory")
    path = Path(weights).expanduser()
    if path.is_dir():
        directory, revision = path, None
    elif HUB_ID.fullmatch(weights) and not path.exists():
        from huggingface_hub import snapshot_download

        try:
            directory = Path(snapshot_download(weights, local_files_only=True))
        except Exception:
            raise ValueError(
                f"model {name!r}: weights {weights} are not in the Hugging Face cache and the "
                f"benchmark does not download at run time; on a connected machine run "
                f"`hf download {weights}` (or set HF_HOME to a cache that has them)") from None
        revision = directory.name
    else:
        raise ValueError(f"model {name!r}: weights directory {weights} does not exist")
    for file in ("config.json", SAFETENSORS):
        if not (directory / file).is_file():
            raise ValueError(f"model {name!r}: {directory} lacks {file}")
    return directory, revision


def left_pad_spans(n_samples: int, patch: int) -> np.ndarray:
    """``[start, stop)`` of each patch after left-padding to a multiple of ``patch``."""
    pad = (-n_samples) % patch
    starts = np.arange((n_samples + pad) // patch, dtype=np.int64) * patch - pad
    return np.stack([np.maximum(starts, 0), starts + patch], axis=1)


class TotoModel:
    """Toto as an embedding model (see the module docstring)."""

    default_input_hz = DEFAULT_INPUT_HZ

    def __init__(self, name: str, seed: int = 0, weights: str = DEFAULT_WEIGHTS,
                 device: str = "auto", batch_size: int = 8,
                 max_samples: int = MAX_SAMPLES) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"model {name!r}: device must be auto, cpu or cuda, got {device!r}")
        for option, value in (("batch_size", batch_size), ("max_samples", max_samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"model {name!r}: {option} must be a positive integer")
        self.name, self.weights, self.seed = name, weights, int(seed)
        self.batch_size, self.max_samples = batch_size, max_samples
        directory, self.revision = checkpoint_directory(weights, name)  # cheap: first
        import torch
        from toto.model.toto import Toto

        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" \
            else device
        try:
            toto = Toto.load_from_checkpoint(str(directory), map_location="cpu", strict=True)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise ValueError(f"model {name!r}: cannot load Toto weights from {directory} "
                             f"({type(exc).__name__}: {first})") from exc
        self.backbone = toto.model.to(self.device).eval()
        self.layers = list(self.backbone.transformer.layers)
        self.stride = int(self.backbone.patch_embed.stride)
        self.dim = int(self.backbone.embed_dim)
        self.layer_names = [f"layer_{i:02d}" for i in range(len(self.layers))]
        self.sha256 = _sha256(directory / SAFETENSORS)

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        extra: dict[str, Any] = {
            "patch_size": self.stride, "max_samples": self.max_samples,
            "attention": ("causal along time within a channel; space-wise layers mix all "
                          "channels at one patch index; causal patch scaler"),
            "token_order": "channel-major; left-padded (masked) to a multiple of the stride",
        }
        if self.revision is not None:
            extra["weights_revision"] = self.revision
        spacewise = sum(str(layer.attention_axis).endswith("SPACE") for layer in self.layers)
        return {
            "name": self.name, "plugin": "toto", "default_input_hz": self.default_input_hz,
            "architecture": (f"Toto (toto-ts TotoBackbone): {len(self.layers)} layers "
                             f"({spacewise} space-wise), {self.dim} dims, patch {self.stride}, "
                             f"multivariate"),
            "n_parameters": int(sum(p.numel() for p in self.backbone.parameters())),
            "pretrained": True, "weights_source": self.weights, "weights_sha256": self.sha256,
            "layer_names": list(self.layer_names), "max_window_samples": self.max_samples,
            "device": self.device, "dtype": "float32",
            "versions": {p: version(p) for p in ("toto-ts", "torch", "numpy")},
            "extra": extra,
        }

    def forward(self, windows: np.ndarray) -> list[np.ndarray]:
        """Every layer's output (windows x channels x patches x dim), the way
        ``TotoForecaster`` prepares its inputs (left padding, one variate group)."""
        import torch

        captured: dict[int, Any] = {}
        hooks = [layer.register_forward_hook(
            lambda _m, _i, out, index=index: captured.__setitem__(index, out))
            for index, layer in enumerate(self.layers)]
        n_samples = windows.shape[-1]
        pad = (-n_samples) % self.stride
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

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> dict[str, Any]:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        n_windows, n_channels, n_samples = windows.shape
        if n_samples > self.max_samples:
            raise InputError(f"windows of {n_samples} samples are longer than Toto's context "
                             f"of {self.max_samples}; set input_hz so that a window fits, or "
                             f"let the core feed chunks")
        spans = left_pad_spans(n_samples, self.stride)
        layers: dict[str, list[np.ndarray]] = {name: [] for name in self.layer_names}
        for start in range(0, n_windows, self.batch_size):
            states = self.forward(windows[start:start + self.batch_size])
            for name, state in zip(self.layer_names, states, strict=True):
                layers[name].append(state.reshape(state.shape[0], -1, self.dim))
        return {
            "layers": {k: np.concatenate(v).astype(np.float32) for k, v in layers.items()},
            "token_spans": np.tile(spans, (n_channels, 1)),
            "token_channels": np.repeat(np.arange(n_channels, dtype=np.int64), spans.shape[0]),
        }
