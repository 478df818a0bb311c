"""Chronos-Bolt and Chronos-2 (``chronos-forecasting``) as embedding models.

Both encode a series as patches of 16 samples (left-padded to a multiple of 16, as the
library does) with a T5-style encoder; this adapter runs the library's own
``model.encode`` (what the pipelines' ``embed()`` calls) and captures every encoder
block's output with forward hooks plus the final layer norm (= the encoder output that
``embed()`` returns). Layers: ``layer_00`` .. ``layer_NN`` and ``final_norm``.

* **Chronos-Bolt** is univariate: every channel is embedded on its own and the tokens of
  all channels are concatenated channel-major (``token_channels``). The context is at
  most 2048 samples (``chronos_config.context_length``); longer windows are an
  InputError, never silently cut.
* **Chronos-2** is multivariate: the channels of one window form one group (its group
  attention mixes them), tokens again channel-major; context at most 8192 samples. Its
  ``encode`` always appends one masked future patch; that token is fixed (one output
  patch, no covariates) and dropped, so embeddings cannot depend on a horizon.

**Input rate (default 50 Hz).** Chronos was pretrained on series of unspecified rate
(mostly hourly to daily public data and KernelSynth series whose periods span about 7 to
730 steps), so the rate sets how many steps a physiological cycle takes: at 50 Hz a
heartbeat (40-150 bpm) spans 20-75 steps and a breath (6-30/min) 100-500, inside that
range; a token (16 samples) is 0.32 s; a 32-s window is 1,600 samples (100 tokens per
channel), within Chronos-Bolt's 2,048-step context, so no window is chunked; and the
resampler keeps 0-20 Hz (ECG rate and rhythm, PPG, respiration, EDA; EMG and the upper
QRS band are lost). Set ``input_hz`` in the model's entry to change it (the sensitivity
study measures the effect).

The ``[REG]`` token and the future token are not exported (they have no time span);
``token_spans`` are the patches' spans. Options: ``variant`` (bolt-tiny|bolt-mini|
bolt-small|bolt-base|chronos-2; default: read from the checkpoint, ``bolt-small`` for
``weights: random``), ``weights`` (random | hub id | directory; default
``amazon/chronos-{variant}``), ``batch_size`` (windows per forward pass), ``device``,
``dtype``, ``progress`` (as for Moirai).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import ModelError
from physio_bench.models.adapter import TorchAdapter
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import (
    capture_outputs,
    check_choice,
    check_options,
    layer_names,
    to_numpy,
)
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE, check_checkpoint_covers
from physio_bench_kit import batches, channel_major, left_pad_spans

PLUGIN = "chronos"
# T5-efficient shapes of the published Chronos-Bolt checkpoints:
# d_model, d_ff, heads, encoder layers (= decoder layers)
BOLT_SHAPES = {
    "bolt-tiny": (256, 1024, 4, 4),
    "bolt-mini": (384, 1536, 8, 4),
    "bolt-small": (512, 2048, 8, 6),
    "bolt-base": (768, 3072, 12, 12),
}
CHRONOS2 = "chronos-2"
VARIANTS = (*BOLT_SHAPES, CHRONOS2)
DEFAULT_VARIANT = "bolt-small"
BOLT_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
CHRONOS2_QUANTILES = [0.01, 0.05, *[round(0.1 + 0.05 * i, 2) for i in range(17)], 0.95, 0.99]
OPTIONS = ("variant", "weights", "batch_size", "device", "dtype", "progress")
DEFAULT_INPUT_HZ = 50.0


def family(variant: str) -> str:
    """``bolt`` or ``chronos-2``."""
    return CHRONOS2 if variant == CHRONOS2 else "bolt"


def default_hub_id(variant: str) -> str:
    """``amazon/chronos-bolt-{size}`` or ``amazon/chronos-2``."""
    return f"amazon/{variant}" if variant == CHRONOS2 else f"amazon/chronos-{variant}"


def bolt_config(variant: str) -> Any:
    """The T5 configuration of a published Chronos-Bolt checkpoint, built locally."""
    from transformers import T5Config

    d_model, d_ff, heads, layers = BOLT_SHAPES[variant]
    return T5Config(
        d_model=d_model, d_ff=d_ff, d_kv=64, num_heads=heads, num_layers=layers,
        num_decoder_layers=layers, feed_forward_proj="relu", dropout_rate=0.1,
        layer_norm_epsilon=1e-6, initializer_factor=0.05, vocab_size=2, pad_token_id=0,
        eos_token_id=1, decoder_start_token_id=0, is_encoder_decoder=True,
        relative_attention_num_buckets=32, relative_attention_max_distance=128,
        architectures=["ChronosBoltModelForForecasting"],
        chronos_pipeline_class="ChronosBoltPipeline",
        chronos_config={"context_length": 2048, "input_patch_size": 16,
                        "input_patch_stride": 16, "prediction_length": 64,
                        "quantiles": BOLT_QUANTILES, "use_reg_token": True},
    )


def chronos2_config() -> Any:
    """The configuration of the published Chronos-2 (120M) checkpoint, built locally."""
    from chronos.chronos2 import Chronos2CoreConfig

    return Chronos2CoreConfig(
        d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12, dropout_rate=0.1,
        layer_norm_epsilon=1e-6, initializer_factor=0.05, feed_forward_proj="relu",
        rope_theta=10000.0, architectures=["Chronos2Model"],
        chronos_pipeline_class="Chronos2Pipeline",
        chronos_config={"context_length": 8192, "input_patch_size": 16,
                        "input_patch_stride": 16, "output_patch_size": 16,
                        "max_output_patches": 64, "quantiles": CHRONOS2_QUANTILES,
                        "time_encoding_scale": 8192, "use_arcsinh": True,
                        "use_reg_token": True},
    )


def build_model(variant: str) -> Any:
    """A freshly initialised Chronos-Bolt or Chronos-2 model of ``variant``."""
    if family(variant) == CHRONOS2:
        from chronos.chronos2 import Chronos2Model

        return Chronos2Model(chronos2_config())
    from chronos.chronos_bolt import ChronosBoltModelForForecasting

    return ChronosBoltModelForForecasting(bolt_config(variant))


def load_model(directory: Path) -> Any:
    """Load the inner model of a Chronos-Bolt/Chronos-2 checkpoint directory.

    Goes through the library's ``BaseChronosPipeline.from_pretrained`` (local files only)
    and then checks that ``model.safetensors`` held every tensor of the model. The model
    is returned in float32 whatever the checkpoint's storage dtype.
    """
    from chronos import BaseChronosPipeline, Chronos2Pipeline, ChronosBoltPipeline

    pipeline = BaseChronosPipeline.from_pretrained(str(directory), local_files_only=True)
    if not isinstance(pipeline, ChronosBoltPipeline | Chronos2Pipeline):
        raise ModelError(f"{directory} holds a {type(pipeline).__name__} checkpoint; the "
                         f"chronos plug-in takes Chronos-Bolt and Chronos-2 checkpoints")
    check_checkpoint_covers(pipeline.model, directory)
    return pipeline.model.float()  # reduced precision is applied by autocast, on GPU only


def variant_of(model: Any) -> str | None:
    """The variant name of a loaded model (None for a Bolt of unpublished shape)."""
    config = model.config
    if type(model).__name__ == "Chronos2Model":
        return CHRONOS2
    shape = (config.d_model, config.d_ff, config.num_heads, config.num_layers)
    return next((name for name, value in BOLT_SHAPES.items() if value == shape), None)


class ChronosModel(TorchAdapter):
    """Chronos-Bolt / Chronos-2 encoder hidden states (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("chronos", "transformers")
    context_hint = "use shorter windows"
    default_input_hz = DEFAULT_INPUT_HZ

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        # device and dtype are explicit so that the embed stage passes embed.device/dtype
        check_options(options, OPTIONS, PLUGIN, name)
        requested = options.get("variant")
        if requested is not None:
            check_choice(requested, VARIANTS, "variant", name)
        default_variant = requested or DEFAULT_VARIANT
        loaded = self.setup_adapter(name, seed, device, dtype, options,
                                    default_weights=default_hub_id(default_variant),
                                    files=(CONFIG_FILE, WEIGHTS_FILE),
                                    init_random=lambda: build_model(default_variant),
                                    load_dir=load_model)
        self.variant = self._check_variant(loaded.model, requested, loaded.source)
        self.model = loaded.model.eval().to(self.placement.device)
        self.family = CHRONOS2 if type(self.model).__name__ == "Chronos2Model" else "bolt"
        self.patch_size = int(self.model.chronos_config.input_patch_size)
        if self.model.chronos_config.input_patch_stride != self.patch_size:
            raise ModelError(f"model {name!r}: overlapping patches (stride "
                             f"{self.model.chronos_config.input_patch_stride}) are not supported")
        self.context_length = int(self.model.chronos_config.context_length)
        self.layer_names = layer_names(len(self.model.encoder.block), final_norm=True)

    @staticmethod
    def weights_files(options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to and the files the loader reads."""
        variant = options.get("variant") or DEFAULT_VARIANT
        return options.get("weights", default_hub_id(variant)), (CONFIG_FILE, WEIGHTS_FILE)

    def _check_variant(self, model: Any, requested: str | None, source: str) -> str:
        actual = variant_of(model)
        if requested is not None and actual != requested:
            raise ModelError(f"model {self.name!r}: weights {source} hold a "
                             f"{actual or 'Chronos-Bolt of another shape'}, not variant "
                             f"{requested}; fix variant: or weights:")
        return actual or f"bolt (d_model={model.config.d_model})"

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        config = self.model.config
        kind = ("Chronos-2 (group attention across channels)" if self.family == CHRONOS2
                else "Chronos-Bolt (T5 encoder-decoder, univariate)")
        return self.patch_model_info(
            f"{kind} {self.variant}: d_model {config.d_model}, "
            f"{len(self.model.encoder.block)} encoder layers",
            variant=self.variant,
            token_order=("channel-major; [REG] and future tokens dropped; window "
                         "left-padded to a multiple of patch_size"),
        )

    def _encode(self, rows: Any, n_windows: int, channels: int) -> list[Any]:
        """Hidden states (rows x tokens x dim) of every layer for a batch of series."""
        import torch

        encoder = self.model.encoder
        hooked = {f"block_{i}": block for i, block in enumerate(encoder.block)}
        hooked["final_norm"] = encoder.final_layer_norm
        with capture_outputs(hooked) as captured:
            if self.family == CHRONOS2:
                group_ids = torch.arange(n_windows, device=rows.device).repeat_interleave(
                    channels)
                self.model.encode(context=rows, group_ids=group_ids, num_output_patches=1)
            else:
                self.model.encode(context=rows)
        return [captured[key] for key in hooked]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every encoder layer for windows x channels x samples."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_windows, channels, n_samples = array.shape
        patch_spans = left_pad_spans(n_samples, self.patch_size)
        n_patches = patch_spans.shape[0]
        spans, token_channels = channel_major(patch_spans, channels)
        d_model = self.model.config.d_model
        outputs = {name: np.empty((n_windows, spans.shape[0], d_model), dtype=np.float32)
                   for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(n_windows, self.batch_size, self.progress, self.name):
                batch = array[part]
                rows = torch.from_numpy(batch.reshape(-1, n_samples)).to(self.placement.device)
                states = self._encode(rows, batch.shape[0], channels)
                for name, state in zip(self.layer_names, states, strict=True):
                    tokens = to_numpy(state[:, :n_patches])
                    outputs[name][part] = tokens.reshape(batch.shape[0], channels * n_patches,
                                                         d_model)
        return TokenEmbeddings(layers=outputs, token_spans=spans, token_channels=token_channels)
