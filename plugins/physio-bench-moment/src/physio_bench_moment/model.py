"""MOMENT encoder hidden states per layer, through ``momentfm.MOMENTPipeline``.

How windows become tokens: each channel is embedded independently (MOMENT is
channel-independent; ``MOMENT.embed`` folds channels into the batch); a window of at most
512 samples is left-padded and masked to MOMENT's input of 512 samples, standardised by
MOMENT's RevIN over its observed samples, and cut into 64 patches of 8 samples; only
fully observed patches are exported as tokens (see :mod:`.prepare`). Tokens are
channel-major. Attention is bidirectional over the observed patches of one channel.

Layers: ``layer_00`` .. ``layer_NN`` (output of every T5 encoder block, read with forward
hooks during ``MOMENT.embed``) and ``final_norm`` (the encoder's final layer-normed state,
which is ``MOMENT.embed(..., reduction="none")``, the library's embedding API).

Input assumptions: at most 512 samples (longer windows: an error; the core resamples to
``input_hz`` and feeds 512-sample chunks), any number of channels, float32. Recommended
input rate (``default_input_hz``): **16 Hz**, so that a 32-s window is exactly MOMENT's
512 samples (64 tokens of 0.5 s); the band below 8 Hz keeps heart rate (up to 480 bpm),
breathing and EDA but not ECG/PPG morphology: for morphology use a higher ``input_hz``
and let the core feed 32-s windows as consecutive 512-sample chunks.

Pretraining data: the Time-series Pile (Informer long-horizon sets, Monash, UCR/UEA
classification archives, TSB-UAD anomaly sets; the UCR/UEA part includes ECG and other
physiological recordings). Weights ``AutonLab/MOMENT-1-{small,base,large}`` are MIT
licensed. Weights are read from ``model.safetensors`` only: a checkpoint that has only
``pytorch_model.bin`` (a pickle) is refused, and the file must hold every tensor of the
model (the library's hub loader is not strict).

Options: ``weights`` (hub id such as ``AutonLab/MOMENT-1-large``, read from the local
Hugging Face cache only, or a local directory written by ``save_pretrained``; default
``AutonLab/MOMENT-1-large``), ``device`` (auto | cpu | cuda), ``batch_size`` (windows per
forward pass, default 16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench_kit import check_covers, embed_in_batches, file_sha256, info_dict
from physio_bench_kit import checkpoint_directory as kit_checkpoint_directory
from physio_bench_moment.prepare import prepare_windows

INPUT_SAMPLES = 512
PATCH = 8
DEFAULT_WEIGHTS = "AutonLab/MOMENT-1-large"
SAFETENSORS = "model.safetensors"
PICKLE = "pytorch_model.bin"
DEFAULT_INPUT_HZ = 16.0


def checkpoint_directory(weights: str, name: str) -> tuple[Path, str | None]:
    """The local checkpoint directory of ``weights`` and its hub revision (None if local),
    read by the kit (never downloads); a pickle-only checkpoint is refused by name."""
    directory, revision = kit_checkpoint_directory(weights, name, ("config.json",))
    if not (directory / SAFETENSORS).is_file():
        if (directory / PICKLE).exists():
            raise ValueError(f"model {name!r}: {directory} has only {PICKLE} (a pickle, which "
                             f"can run code when loaded); convert it to {SAFETENSORS}")
        raise ValueError(f"model {name!r}: {directory} lacks {SAFETENSORS}")
    return directory, revision


class MomentModel:
    """MOMENT as an embedding model (see the module docstring)."""

    default_input_hz = DEFAULT_INPUT_HZ

    def __init__(self, name: str, seed: int = 0, weights: str = DEFAULT_WEIGHTS,
                 device: str = "auto", batch_size: int = 16) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"model {name!r}: device must be auto, cpu or cuda, got {device!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"model {name!r}: batch_size must be a positive integer")
        self.name, self.weights, self.seed = name, weights, int(seed)
        self.batch_size = batch_size
        directory, self.revision = checkpoint_directory(weights, name)  # cheap: first
        import torch
        from momentfm import MOMENTPipeline

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        try:
            model = MOMENTPipeline.from_pretrained(
                str(directory), model_kwargs={"task_name": "embedding"})
            check_covers(model, directory / SAFETENSORS)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise ValueError(f"model {name!r}: cannot load MOMENT weights from {directory} "
                             f"({type(exc).__name__}: {first})") from exc
        model.init()
        self.model = model.to(device).eval()
        self.blocks = list(self.model.encoder.block)
        self.layer_names = [f"layer_{i:02d}" for i in range(len(self.blocks))] + ["final_norm"]
        self.sha256 = file_sha256(directory / SAFETENSORS)

    def describe(self) -> dict[str, Any]:
        return info_dict(
            name=self.name, plugin="moment", default_input_hz=self.default_input_hz,
            architecture=(f"MOMENT (momentfm, T5 encoder, {len(self.blocks)} blocks, d_model "
                          f"{self.model.config.d_model}), input {INPUT_SAMPLES}, "
                          f"patch {PATCH}, channel-independent"),
            n_parameters=sum(p.numel() for p in self.model.parameters()), pretrained=True,
            weights_source=self.weights, weights_sha256=self.sha256,
            layer_names=self.layer_names, max_window_samples=INPUT_SAMPLES,
            device=self.device, distributions=("momentfm", "torch", "transformers", "numpy"),
            weights_revision=self.revision, extra={
                "input_samples": INPUT_SAMPLES, "patch_size": PATCH,
                "token_order": ("channel-major; left-padded to 512 samples; only fully "
                                "observed patches are tokens")})

    def forward(self, values: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
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
        prepared = prepare_windows(windows, INPUT_SAMPLES, PATCH)  # checks; spans; kept

        def forward(batch: np.ndarray) -> list[np.ndarray]:
            part = prepare_windows(batch, INPUT_SAMPLES, PATCH)
            return self.forward(part.values, part.mask)

        return embed_in_batches(forward, windows, self.batch_size, self.layer_names,
                                prepared.spans, prepared.token_patches)
