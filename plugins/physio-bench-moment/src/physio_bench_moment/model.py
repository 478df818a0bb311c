"""MOMENT encoder hidden states per layer, through ``momentfm.MOMENTPipeline``.

Options: ``weights`` (hub id such as ``AutonLab/MOMENT-1-large`` or a local directory
written by ``save_pretrained``; default ``AutonLab/MOMENT-1-large``), ``device`` (auto |
cpu | cuda), ``batch_size`` (windows per forward pass, default 16), ``long_windows``
(``downsample``, the default: block-average windows longer than 512 samples, see
:mod:`.prepare`; ``error``: refuse them).

Each channel is embedded independently (MOMENT is channel-independent); tokens are
channel-major. Layers: ``block_00`` .. ``block_NN`` (output of every T5 encoder block,
read with forward hooks) and ``output`` (the encoder's final, layer-normed state, i.e.
``MOMENT.embed(..., reduction="none")``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench_moment.prepare import prepare_windows

INPUT_SAMPLES = 512
PATCH = 8
DEFAULT_WEIGHTS = "AutonLab/MOMENT-1-large"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_file(weights: str) -> Path | None:
    """The weights file of a local directory or of the hub cache, if there is one."""
    if Path(weights).is_dir():
        found = [Path(weights) / f for f in WEIGHT_FILES if (Path(weights) / f).exists()]
        return found[0] if found else None
    from huggingface_hub import try_to_load_from_cache

    for file in WEIGHT_FILES:
        cached = try_to_load_from_cache(weights, file)
        if isinstance(cached, str):
            return Path(cached)
    return None


class MomentModel:
    """MOMENT as an embedding model (see the module docstring)."""

    def __init__(self, name: str, seed: int = 0, weights: str = DEFAULT_WEIGHTS,
                 device: str = "auto", batch_size: int = 16,
                 long_windows: str = "downsample") -> None:
        import torch
        from momentfm import MOMENTPipeline

        if long_windows not in ("downsample", "error"):
            raise ValueError(f"model {name!r}: long_windows must be downsample or error")
        self.name, self.weights, self.long_windows = name, weights, long_windows
        self.batch_size = int(batch_size)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        torch.manual_seed(seed)
        try:
            model = MOMENTPipeline.from_pretrained(weights, model_kwargs={"task_name": "embedding"})
        except Exception as exc:
            raise RuntimeError(
                f"model {name!r}: cannot load MOMENT weights {weights!r} ({type(exc).__name__})"
                f": on a connected machine run `huggingface-cli download {weights}` with this "
                "environment's python, or give a local directory as weights"
            ) from exc
        model.init()
        self.model = model.to(device).eval()
        self.blocks = list(self.model.encoder.block)
        self.layer_names = [f"block_{i:02d}" for i in range(len(self.blocks))] + ["output"]
        weights_file = _weights_file(weights)
        self.sha256 = _sha256(weights_file) if weights_file is not None else None

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        n_parameters = sum(p.numel() for p in self.model.parameters())
        return {
            "name": self.name, "plugin": "moment",
            "architecture": (f"MOMENT (T5 encoder, {len(self.blocks)} blocks, d_model "
                             f"{self.model.config.d_model}), input {INPUT_SAMPLES}, "
                             f"patch {PATCH}"),
            "n_parameters": int(n_parameters), "pretrained": True,
            "weights_source": self.weights, "weights_sha256": self.sha256,
            "layer_names": list(self.layer_names),
            "max_window_samples": INPUT_SAMPLES if self.long_windows == "error" else None,
            "device": self.device, "dtype": "float32",
            "versions": {p: version(p) for p in ("momentfm", "torch", "transformers")},
            "extra": {"long_windows": self.long_windows, "token_order": "channel-major"},
        }

    def _forward(self, values: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """Hidden states (windows x channels x patches x dim) of every layer."""
        import torch

        captured: list[Any] = []
        hooks = [block.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
                 for block in self.blocks]
        try:
            with torch.inference_mode():
                x = torch.from_numpy(values).to(self.device)
                m = torch.from_numpy(mask.astype(np.float32)).to(self.device)
                final = self.model.embed(x_enc=x, input_mask=m, reduction="none").embeddings
        finally:
            for hook in hooks:
                hook.remove()
        shape = tuple(final.shape)  # windows x channels x patches x dim
        states = [state.reshape(shape) for state in captured] + [final]
        return [state.float().cpu().numpy() for state in states]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> dict[str, Any]:
        windows = np.asarray(windows, dtype=np.float32)
        n_windows, n_channels, n_samples = windows.shape
        if self.long_windows == "error" and n_samples > INPUT_SAMPLES:
            raise ValueError(f"model {self.name!r} takes at most {INPUT_SAMPLES} samples")
        prepared = prepare_windows(windows, INPUT_SAMPLES, PATCH)
        keep = prepared.token_patches
        layers: dict[str, list[np.ndarray]] = {name: [] for name in self.layer_names}
        for start in range(0, n_windows, self.batch_size):
            part = slice(start, start + self.batch_size)
            states = self._forward(prepared.values[part], prepared.mask[part])
            for name, state in zip(self.layer_names, states, strict=True):
                tokens = state[:, :, keep, :]
                layers[name].append(tokens.reshape(tokens.shape[0], -1, tokens.shape[-1]))
        return {
            "layers": {k: np.concatenate(v).astype(np.float32) for k, v in layers.items()},
            "token_spans": np.tile(prepared.spans, (n_channels, 1)),
            "token_channels": np.repeat(np.arange(n_channels, dtype=np.int64), keep.size),
        }
