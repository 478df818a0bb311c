"""Moirai (uni2ts ``MoiraiModule``) as an embedding model.

How a batch of windows (windows x channels x samples) becomes Moirai tokens:

* every channel is one variate; tokens are ordered channel-major (all patches of channel
  0, then channel 1, ...), so ``token_channels`` is ``[0]*P + [1]*P + ...``;
* a fixed patch size (option ``patch_size``, default 64 samples; no ``auto`` search);
  a window whose length is not a multiple of it is left-padded (the uni2ts convention:
  the padded samples are unobserved and the first token covers fewer real samples);
* the whole window is context: no prediction tokens (``prediction_mask`` all False), so
  the embeddings cannot depend on a forecast horizon;
* ``sample_id`` 1 for every token, ``time_id`` the patch index within its variate,
  ``variate_id`` the channel.

The forward pass runs the module's own pieces (scaler, ``in_proj``, ``mask_encoding``,
``encoder.layers``, ``encoder.norm``) exactly as ``MoiraiModule.forward`` does, and stops
after the encoder (no distribution head). Layers: ``layer_00`` .. ``layer_NN`` (the output
of each encoder layer, the residual stream) and ``final_norm`` (the RMS-normalised
encoder output, i.e. what the distribution head reads).

**Input rate and patch size (defaults: 100 Hz, patch 64).** uni2ts chooses patch sizes
from the data's frequency (``uni2ts.transform.patch.DefaultPatchSizeConstraints``): 64-128
for second-level data, 32-128 for minutes, 32-64 hours, 16-32 days; 32 belongs to the
minute/hour range. Its table ends at seconds (the finest frequency it knows; LOTSA, the
pretraining data, runs from yearly to second-level series), so physiological signals
(10-1000 Hz) fall beyond it and we apply its finest row: patch 64
(:func:`uni2ts_patch_sizes`), the smallest it allows there. That is an extrapolation, not
a uni2ts rule: uni2ts's own lookup raises ``KeyError`` for sub-second frequencies. The
input rate then sets the token duration and count: at 100 Hz a token is 0.64 s (about one
heartbeat at 94 bpm; a breath at 15/min spans 6 tokens) and a 32-s window is 50 tokens per
channel, so the five-channel scenario windows (250 tokens) fit Moirai's 512-token context
in one piece; 100 Hz keeps the ECG monitoring band (0.5-40 Hz: the resampler's passband
ends at 40 Hz) where 50 Hz with patch 32 (the same token duration and count) would cut the
spectrum at 20 Hz and use a patch size of uni2ts's minute/hour range. The sensitivity
study (``sensitivity:`` in the config) measures the effect of both choices.

**Version.** ``version`` is read from the hub id or checkpoint path
(``moirai-1.0-R-small`` -> ``1.0-R``); a ``version`` option that contradicts it is an
error. Without ``weights`` the default hub id is ``Salesforce/moirai-{version}-{size}``
(version default 1.1-R). Random weights have no version unless one is given (1.0-R and
1.1-R share the architecture); a local checkpoint whose path names none reports
``unknown`` unless ``version`` is given.

Options: ``size`` (small|base|large), ``version`` (1.0-R|1.1-R), ``weights`` (random | hub
id | directory), ``patch_size`` (8|16|32|64|128), ``batch_size`` (windows per forward
pass, default 32),
``device`` (auto|cpu|cuda), ``dtype`` (float32|bfloat16|float16; reduced precision on CUDA
only, see :func:`physio_bench.models.torch_utils.resolve_placement`), ``progress``
(a progress bar on stderr when a call needs several batches), ``d_model`` and
``num_layers`` (a narrower or shallower architecture than ``size``'s: built from random
weights with the same seeded initialisation as the finetune stage's random start, or
checked against a loaded checkpoint; the positive control of docs/finetune.md uses
d_model 128, 2 layers). The Moirai-1.x weights are licensed CC-BY-NC-4.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.errors import ModelError
from physio_bench.models.adapter import TokenBudgetAdapter
from physio_bench.models.lazy_import import lazy_package
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import check_choice, check_options, layer_names, to_numpy
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE
from physio_bench_kit import batches, channel_major, left_pad_spans

if TYPE_CHECKING:
    import torch

PLUGIN = "moirai"
SIZES = {"small": (384, 6), "base": (768, 12), "large": (1024, 24)}  # d_model, layers
VERSIONS = ("1.0-R", "1.1-R")
DEFAULT_VERSION = "1.1-R"
PATCH_SIZES = (8, 16, 32, 64, 128)
DEFAULT_PATCH_SIZE = 64  # = uni2ts_patch_sizes(DEFAULT_INPUT_HZ)[0] (see the module docstring)
DEFAULT_INPUT_HZ = 100.0
MAX_SEQ_LEN = 512
NAMED_CHECKPOINT = re.compile(r"moirai-(1\.0-R|1\.1-R)-(small|base|large)(?![\w.-])")
#: sampling period (s) up to which each row of uni2ts's DefaultPatchSizeConstraints applies
UNI2TS_ROWS = (("S", 60.0), ("T", 3600.0), ("H", 86400.0), ("D", 7 * 86400.0),
               ("W", 28 * 86400.0), ("M", 90 * 86400.0), ("Q", 365 * 86400.0), ("Y", np.inf))
OPTIONS = ("size", "version", "weights", "patch_size", "batch_size", "device", "dtype",
           "progress", "d_model", "num_layers")


def uni2ts_patch_sizes(input_hz: float) -> tuple[int, ...]:
    """Moirai patch sizes uni2ts allows for data sampled at ``input_hz``.

    Reads the ranges of ``uni2ts.transform.patch.DefaultPatchSizeConstraints`` (its own
    lookup fails on the lower-case pandas aliases of pandas >= 2.2); periods of a second
    or less use its finest row, seconds (``S``: 64-128).
    """
    from uni2ts.transform.patch import DefaultPatchSizeConstraints

    period_s = 1.0 / float(input_hz)
    row = next(name for name, limit in UNI2TS_ROWS if period_s < limit)
    low, high = DefaultPatchSizeConstraints.DEFAULT_RANGES[row]
    return tuple(p for p in PATCH_SIZES if low <= p <= high)


def checkpoint_version(weights: str) -> tuple[str, str] | None:
    """``(version, size)`` named by a hub id or checkpoint path, e.g.
    ``Salesforce/moirai-1.0-R-small`` or ``.../models--Salesforce--moirai-1.0-R-small/...``."""
    found = NAMED_CHECKPOINT.findall(str(weights))
    if len(set(found)) > 1:
        return None
    return found[-1] if found else None


def resolve_version(options: dict[str, Any], name: str) -> tuple[str | None, str]:
    """``(version, weights)`` of a config entry: the version named by the weights wins;
    a ``version`` option that contradicts it is a ModelError."""
    given = options.get("version")
    if given is not None:
        check_choice(given, VERSIONS, "version", name)
    size = options.get("size", "small")
    weights = options.get("weights")
    if weights is None:
        version = given or DEFAULT_VERSION
        return version, f"Salesforce/moirai-{version}-{size}"
    named = checkpoint_version(weights) if weights != "random" else None
    if named is not None and given is not None and named[0] != given:
        raise ModelError(f"model {name!r}: weights {weights} are Moirai {named[0]}, but option "
                         f"version is {given}; remove version: or fix it")
    if named is not None:
        return named[0], weights
    return given, weights


def build_module(size: str, d_model: int | None = None, num_layers: int | None = None) -> Any:
    """A freshly initialised ``MoiraiModule`` with the Moirai-1.x configuration of ``size``.

    Same hyper-parameters as the published ``config.json`` files: a mixture of Student-t,
    fixed-scale normal, negative binomial and log-normal outputs, patch sizes 8-128,
    ``max_seq_len`` 512, no dropout, standard scaling. ``d_model`` / ``num_layers``
    override the size's width and depth (a narrower architecture for training on CPU:
    the finetune stage and the untrained twin of its checkpoint both build it here, so
    the same seed gives the same initial weights).
    """
    from uni2ts.distribution import (
        LogNormalOutput,
        MixtureOutput,
        NegativeBinomialOutput,
        NormalFixedScaleOutput,
        StudentTOutput,
    )
    lazy_package("uni2ts.model.moirai")  # MoiraiModule without Lightning's imports
    from uni2ts.model.moirai.module import MoiraiModule

    d_model = d_model or SIZES[size][0]
    num_layers = num_layers or SIZES[size][1]
    distr_output = MixtureOutput(components=[
        StudentTOutput(), NormalFixedScaleOutput(), NegativeBinomialOutput(), LogNormalOutput(),
    ])
    return MoiraiModule(distr_output=distr_output, d_model=d_model, num_layers=num_layers,
                        patch_sizes=PATCH_SIZES, max_seq_len=MAX_SEQ_LEN, attn_dropout_p=0.0,
                        dropout_p=0.0, scaling=True)


def _positive_int(value: Any, key: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"model {name!r}: {key} must be a positive integer, not {value!r}")
    return value


def load_module(directory: Path) -> Any:
    """Load a ``MoiraiModule`` checkpoint directory (``config.json`` + safetensors), strictly."""
    lazy_package("uni2ts.model.moirai")  # MoiraiModule without Lightning's imports
    from uni2ts.model.moirai.module import MoiraiModule

    return MoiraiModule.from_pretrained(str(directory), strict=True, map_location="cpu")


def size_of(module: Any) -> str | None:
    """The size name whose (d_model, layers) a module has, or None."""
    for size, shape in SIZES.items():
        if shape == (module.d_model, module.num_layers):
            return size
    return None


@dataclass
class PackedBatch:
    """Moirai's packed inputs for a batch of windows (batch x tokens [x max_patch])."""

    target: torch.Tensor
    observed_mask: torch.Tensor
    sample_id: torch.Tensor
    time_id: torch.Tensor
    variate_id: torch.Tensor
    prediction_mask: torch.Tensor
    patch_size: torch.Tensor

    def as_kwargs(self) -> dict[str, torch.Tensor]:
        return dict(target=self.target, observed_mask=self.observed_mask,
                    sample_id=self.sample_id, time_id=self.time_id,
                    variate_id=self.variate_id, prediction_mask=self.prediction_mask,
                    patch_size=self.patch_size)


def pack_windows(windows: np.ndarray, patch_size: int, max_patch: int,
                 device: str = "cpu") -> PackedBatch:
    """Pack float32 windows (batch x channels x samples) as Moirai context tokens.

    Left-pads each window to a multiple of ``patch_size`` (padded samples unobserved),
    cuts it into patches, zero-pads every patch to ``max_patch`` and orders tokens
    channel-major. No prediction tokens.
    """
    import torch

    batch, channels, n_samples = windows.shape
    pad = (-n_samples) % patch_size
    n_patches = (n_samples + pad) // patch_size
    values = torch.zeros((batch, channels, pad + n_samples), dtype=torch.float32)
    values[..., pad:] = torch.as_tensor(np.asarray(windows, dtype=np.float32).copy())
    observed = torch.zeros((batch, channels, pad + n_samples), dtype=torch.bool)
    observed[..., pad:] = True
    extra = (0, max_patch - patch_size)
    target = torch.nn.functional.pad(
        values.reshape(batch, channels * n_patches, patch_size), extra)
    observed_mask = torch.nn.functional.pad(
        observed.reshape(batch, channels * n_patches, patch_size), extra)
    n_tokens = channels * n_patches
    time_id = torch.arange(n_patches).repeat(channels).expand(batch, n_tokens)
    variate_id = torch.arange(channels).repeat_interleave(n_patches).expand(batch, n_tokens)
    packed = PackedBatch(
        target=target,
        observed_mask=observed_mask,
        sample_id=torch.ones((batch, n_tokens), dtype=torch.long),
        time_id=time_id.contiguous(),
        variate_id=variate_id.contiguous(),
        prediction_mask=torch.zeros((batch, n_tokens), dtype=torch.bool),
        patch_size=torch.full((batch, n_tokens), patch_size, dtype=torch.long),
    )
    if device != "cpu":
        packed = PackedBatch(**{k: v.to(device) for k, v in packed.as_kwargs().items()})
    return packed


def encoder_hidden_states(module: Any, packed: PackedBatch) -> list[torch.Tensor]:
    """Every encoder layer's output and the final norm, replicating ``MoiraiModule.forward``.

    Same operations in the same order as the module's forward pass up to (and including)
    ``self.encoder``; the distribution head is not computed.
    """
    from uni2ts.common.torch_util import mask_fill, packed_attention_mask

    loc, scale = module.scaler(
        packed.target,
        packed.observed_mask * ~packed.prediction_mask.unsqueeze(-1),
        packed.sample_id,
        packed.variate_id,
    )
    scaled_target = (packed.target - loc) / scale
    reprs = module.in_proj(scaled_target, packed.patch_size)
    x = mask_fill(reprs, packed.prediction_mask, module.mask_encoding.weight)
    encoder = module.encoder
    if encoder.use_moe:
        raise ModelError("Moirai-MoE checkpoints are not supported by the moirai plug-in")
    attn_mask = packed_attention_mask(packed.sample_id)
    states = []
    for layer in encoder.layers:
        x = layer(x, attn_mask, var_id=packed.variate_id, time_id=packed.time_id)
        states.append(x)
    states.append(encoder.norm(x))
    return states


class MoiraiModel(TokenBudgetAdapter):
    """Moirai-1.x encoder hidden states for every layer (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("uni2ts",)
    display_name = "Moirai's"
    context_hint = "use shorter windows, fewer channels or a larger patch_size"
    default_input_hz = DEFAULT_INPUT_HZ

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        # device and dtype are explicit so that the embed stage passes embed.device/dtype
        check_options(options, OPTIONS, PLUGIN, name)
        self.size = check_choice(options.get("size", "small"), tuple(SIZES), "size", name)
        self.version, weights = resolve_version(options, name)
        self.patch_size = check_choice(options.get("patch_size", DEFAULT_PATCH_SIZE),
                                       PATCH_SIZES, "patch_size", name)
        self.shape = {key: _positive_int(options[key], key, name)
                      for key in ("d_model", "num_layers") if options.get(key) is not None}
        loaded = self.setup_adapter(name, seed, device, dtype, options, default_weights=weights,
                                    files=(CONFIG_FILE, WEIGHTS_FILE),
                                    init_random=lambda: build_module(self.size, **self.shape),
                                    load_dir=load_module)
        if self.version is None and loaded.pretrained:
            self.version = "unknown"
        self._check_architecture(loaded.model, loaded.source, "size" in options)
        self.module = loaded.model.eval().to(self.placement.device)
        self.layer_names = layer_names(self.module.num_layers, final_norm=True)

    @staticmethod
    def weights_files(options: dict[str, Any], name: str = "moirai"
                      ) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to (default hub id included) and the files
        the loader reads (for the pre-flight; no torch, no uni2ts). A ``version`` that
        contradicts the weights is a ModelError here already."""
        _, weights = resolve_version(options, name)
        return weights, (CONFIG_FILE, WEIGHTS_FILE)

    def _check_architecture(self, module: Any, source: str, size_given: bool) -> None:
        actual = size_of(module)
        for key, wanted in self.shape.items():
            if getattr(module, key) != wanted:
                raise ModelError(f"model {self.name!r}: weights {source} hold a Moirai with "
                                 f"{key} {getattr(module, key)}, not {wanted}; fix {key}: "
                                 "or weights:")
        if size_given and actual != self.size:
            raise ModelError(
                f"model {self.name!r}: weights {source} hold a Moirai with d_model "
                f"{module.d_model} and {module.num_layers} layers ({actual or 'unknown size'}),"
                f" not size {self.size}; fix size: or weights:")
        self.size = actual or f"d_model={module.d_model}"
        if self.patch_size not in tuple(module.patch_sizes):
            raise ModelError(f"model {self.name!r}: patch_size {self.patch_size} is not one "
                             f"of the checkpoint's {tuple(module.patch_sizes)}")

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        module = self.module
        extra: dict[str, Any] = {
            "size": self.size,
            "version": self.version,
            "patch_size": self.patch_size,
            "max_tokens": self.max_tokens,
            "token_order": "channel-major; window left-padded to a multiple of patch_size",
            "uni2ts_patch_sizes_at_default_input_hz": list(uni2ts_patch_sizes(
                DEFAULT_INPUT_HZ)),
            "patch_duration_s_at_default_input_hz": self.patch_size / DEFAULT_INPUT_HZ,
        }
        return self.model_info(
            f"Moirai-1.x {self.size} (uni2ts MoiraiModule): d_model {module.d_model}, "
            f"{module.num_layers} encoder layers, patch_size {self.patch_size}, max_seq_len "
            f"{module.max_seq_len}", self.max_tokens * self.patch_size, extra)

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every encoder layer for windows x channels x samples."""
        import torch

        array = self.check_input(windows, sampling_rate_hz)
        n_windows, channels, n_samples = array.shape
        spans, token_channels = channel_major(left_pad_spans(n_samples, self.patch_size),
                                              channels)
        max_patch = max(self.module.patch_sizes)
        outputs = {name: np.empty((n_windows, spans.shape[0], self.module.d_model),
                                  dtype=np.float32) for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(n_windows, self.batch_size, self.progress, self.name):
                packed = pack_windows(array[part], self.patch_size, max_patch,
                                      self.placement.device)
                states = encoder_hidden_states(self.module, packed)
                for name, state in zip(self.layer_names, states, strict=True):
                    outputs[name][part] = to_numpy(state)
        return TokenEmbeddings(layers=outputs, token_spans=spans, token_channels=token_channels)
