"""TiRex (``tirex-ts``, NX-AI; an xLSTM of sLSTM blocks) as an embedding model.

How windows become tokens: TiRex is univariate, so every channel is embedded on its own
and the tokens of all channels are concatenated channel-major (``token_channels``). The
adapter calls the library's own embedding entry point, ``TiRexZero._embed_context`` (what
``tirex.models.embedding.TiRexEmbedding`` uses): the series is left-padded with NaN to the
training context of ``train_ctx_len`` samples (2048; NaN samples are masked, the library's
convention), standardised over its observed samples, cut into patches of 32 samples, each
patch ``[values, observed mask]`` embedded, and run through the sLSTM blocks; the tokens
of the padding are dropped. So a window of ``n`` samples gives ``ceil(n / 32)`` tokens per
channel, the first of which may be partly padding (``left_pad_spans``), and windows longer
than 2048 samples are an InputError (the core feeds consecutive chunks of
``max_window_samples``). Because the sLSTM is a *recurrent* (causal) model, the token of
patch ``t`` summarises samples up to the end of patch ``t`` only (plus the standardisation,
which uses the whole window).

Layers: ``layer_00`` .. ``layer_11`` (every sLSTM block's output, the residual stream, as
``_embed_context`` returns them) and ``final_norm`` (the block stack's RMS-normalised
output that the forecast head reads; forward hook on ``out_norm``).

Precision: the library's CPU/GPU-portable ``torch`` backend runs the sLSTM recurrence in
**bfloat16** whatever the module's dtype (its own choice, in ``sLSTMCell._impl_torch``);
the custom CUDA kernels (``xlstm`` package, backend ``cuda``) are not used, so TiRex runs
on CPU without CUDA. ``model.json`` records this.

Input assumptions: one channel at a time, at most 2048 samples; default input rate
(``default_input_hz``) **64 Hz**, which makes a 32-s window exactly the 2048-sample training
context (64 tokens of 0.5 s, no padding) and keeps the band below 32 Hz.

Pretraining data: Chronos's training corpus and GIFT-Eval's pretraining split plus
synthetic series (TiRex paper, Auer et al. 2025); no physiological recordings named.
Weights ``NX-AI/TiRex`` (35M parameters) under the NXAI Community License (not an OSI
licence; read it before commercial use). The checkpoint is the library's ``model.ckpt``
(a PyTorch Lightning dict), read with ``torch.load(weights_only=True)``: tensors and plain
containers only, never arbitrary pickled objects.

Options: ``weights`` (random | hub id | directory holding ``model.ckpt``; default
``NX-AI/TiRex``), ``batch_size`` (series per forward pass, default 64), ``device``,
``dtype`` (reduced precision on CUDA only, as for Moirai; the recurrence is bfloat16
whatever it says: see Precision), ``progress``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import InputError
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import (
    batches,
    capture_outputs,
    check_options,
    check_positive_int,
    check_sampling_rate,
    check_windows,
    layer_names,
    left_pad_spans,
    resolve_placement,
    to_numpy,
)
from physio_bench.models.weights import load_weights, loaded_model_info, parse_weights

PLUGIN = "tirex"
DEFAULT_HUB_ID = "NX-AI/TiRex"
CHECKPOINT_FILE = "model.ckpt"
# The hyper-parameters stored in NX-AI/TiRex's model.ckpt.
PUBLISHED_HYPER_PARAMETERS: dict[str, Any] = {
    "model_config": {
        "input_patch_size": 32, "output_patch_size": 32,
        "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "block_kwargs": {"embedding_dim": 512, "num_blocks": 12, "num_heads": 4},
        "input_ff_dim": 2048,
    },
    "train_ctx_len": 2048,
}
OPTIONS = ("weights", "batch_size", "device", "dtype", "progress")


def init_untrained(model: Any) -> Any:
    """Initialise the tensors TiRex leaves uninitialised (``torch.empty``).

    The library initialises its ``nn.Linear`` layers and norms but not the sLSTM's
    head-wise gate projections, recurrent kernels and biases (training starts from a
    checkpoint). The untrained control draws them from the seeded generator: gate
    projections and recurrent kernels N(0, 1/fan_in), biases 0.
    """
    import torch

    for module in model.modules():
        kind = type(module).__name__
        if kind == "LinearHeadwiseExpand":
            torch.nn.init.normal_(module.weight, std=module.weight.shape[-1] ** -0.5)
        elif kind == "sLSTMCell":
            torch.nn.init.normal_(module._recurrent_kernel_,
                                  std=module._recurrent_kernel_.shape[1] ** -0.5)
            torch.nn.init.zeros_(module._bias_)
    return model


def build_model(hyper_parameters: dict[str, Any] | None = None) -> Any:
    """A freshly initialised ``TiRexZero`` (default: the published configuration)."""
    from tirex.models.tirex import TiRexZero

    settings = hyper_parameters or PUBLISHED_HYPER_PARAMETERS
    return init_untrained(TiRexZero(backend="torch", **settings))


def load_model(directory: Path) -> Any:
    """Load ``model.ckpt`` of a TiRex checkpoint directory with the library's loader
    (``torch.load(weights_only=True)``, strict ``load_state_dict``), on CPU, torch backend."""
    from tirex.models.tirex import TiRexZero

    return TiRexZero.from_pretrained(str(directory / CHECKPOINT_FILE), backend="torch",
                                     device="cpu")


class TiRexModel:
    """TiRex sLSTM block outputs for every layer (see the module docstring)."""

    default_input_hz = 64.0
    @staticmethod
    def weights_files(options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to (default hub id included) and the files
        its loader reads (for the pre-flight; imports no model library)."""
        return options.get("weights", DEFAULT_HUB_ID), (CHECKPOINT_FILE,)

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        check_options(options, OPTIONS, PLUGIN, name)
        self.name = name
        self.seed = int(seed)
        self.batch_size = check_positive_int(options.get("batch_size", 64), "batch_size", name)
        self.progress = bool(options.get("progress", True))
        self.placement = resolve_placement(device, dtype, name)
        spec = parse_weights(options.get("weights", DEFAULT_HUB_ID), name)
        loaded = load_weights(spec, name=name, seed=self.seed, files=(CHECKPOINT_FILE,),
                              init_random=build_model, load_dir=load_model,
                              weights_file=CHECKPOINT_FILE)
        self.model = loaded.model.eval().to(self.placement.device)
        self.weights = loaded
        self.patch_size = int(self.model.config.input_patch_size)
        self.context_length = int(self.model.config.train_ctx_len)
        self.dim = int(self.model.out_norm.weight.shape[0])
        self.layer_names = layer_names(len(self.model.blocks), final_norm=True)

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        extra: dict[str, Any] = {
            "patch_size": self.patch_size,
            "context_length": self.context_length,
            "backend": "torch (sLSTM recurrence in bfloat16, the library's choice)",
            "token_order": ("channel-major; each channel alone; window left-padded with NaN "
                            "to the training context, padding tokens dropped"),
        }
        return loaded_model_info(
            name=self.name,
            plugin=PLUGIN,
            architecture=(f"TiRex (tirex-ts TiRexZero, xLSTM): {len(self.model.blocks)} sLSTM "
                          f"blocks, {self.dim} dims, patch_size {self.patch_size}, context "
                          f"{self.context_length}, univariate"),
            weights=self.weights,
            placement=self.placement,
            layer_names=self.layer_names,
            max_window_samples=self.context_length,
            packages=("tirex",),
            default_input_hz=self.default_input_hz,
            extra=extra,
        )

    def check_input(self, windows: Any, sampling_rate_hz: float) -> np.ndarray:
        """Validate windows before any compute (shape, NaN, context length)."""
        array = check_windows(windows, self.name)
        check_sampling_rate(sampling_rate_hz, self.name)
        if array.shape[2] > self.context_length:
            raise InputError(f"model {self.name!r}: windows of {array.shape[2]} samples are "
                             f"longer than TiRex's context of {self.context_length} samples; "
                             f"use shorter windows or a lower input_hz")
        return array

    def hidden_states(self, rows: Any) -> list[Any]:
        """Every block's output and the final norm (series x tokens x dim), real tokens only."""
        with capture_outputs({"final_norm": self.model.out_norm}) as captured:
            blocks = self.model._embed_context(rows)  # series x tokens x blocks x dim
        n_tokens = blocks.shape[1]
        final = captured["final_norm"][:, -n_tokens:]
        return [*blocks.unbind(dim=2), final]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every layer for windows x channels x samples."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_windows, channels, n_samples = array.shape
        patch_spans = left_pad_spans(n_samples, self.patch_size)
        n_patches = patch_spans.shape[0]
        spans = np.tile(patch_spans, (channels, 1))
        token_channels = np.repeat(np.arange(channels, dtype=np.int64), n_patches)
        rows_all = array.reshape(n_windows * channels, n_samples)
        outputs = {name: np.empty((n_windows * channels, n_patches, self.dim), dtype=np.float32)
                   for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(rows_all.shape[0], self.batch_size, self.progress, self.name):
                rows = torch.from_numpy(rows_all[part]).to(self.placement.device)
                for name, state in zip(self.layer_names, self.hidden_states(rows), strict=True):
                    outputs[name][part] = to_numpy(state)
        layers = {name: array.reshape(n_windows, channels * n_patches, self.dim)
                  for name, array in outputs.items()}
        return TokenEmbeddings(layers=layers, token_spans=spans, token_channels=token_channels)
