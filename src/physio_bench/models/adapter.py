"""The in-process torch adapters' share of the adapter kit: one ``__init__`` preamble,
one ``describe()``, one channel-by-channel embedding loop.

:class:`TorchAdapter` holds what Moirai 2.0, TimesFM, TiRex, Mantis and Chronos did alike:
option checks, ``batch_size``/``progress``, device and dtype placement
(:func:`physio_bench.models.torch_utils.resolve_placement`: float32 on CPU unless reduced
precision is asked for explicitly, recorded in ``model.json``), reading the weights
(:func:`physio_bench.models.weights.load_weights`) and the provenance of ``describe()``
(:func:`physio_bench.models.weights.loaded_model_info`). An adapter then writes its
loader, its forward pass to hidden states and its architecture line. Batching, token spans
and context splitting come from :mod:`physio_bench_kit`, shared with the plug-ins that run
in their own interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from physio_bench.models.context import check_token_budget, token_budget_context
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import (
    batches,
    channel_spans,
    check_options,
    check_positive_int,
    check_windows_in_context,
    left_pad_spans,
    resolve_placement,
    to_numpy,
)
from physio_bench.models.weights import (
    LoadedWeights,
    load_weights,
    loaded_model_info,
    parse_weights,
)


class TorchAdapter:
    """Base of an in-process torch adapter (class attributes: ``plugin``, ``options``,
    ``packages``, ``default_input_hz``, ``default_batch_size``, ``default_weights`` and
    ``weights_file_names`` for :meth:`weights_files`)."""

    plugin = ""
    options: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    default_input_hz: float | None = None
    default_batch_size = 32
    display_name = "this model's"  # whose context an InputError names ("TiRex's")
    context_hint = "use shorter windows or a lower input_hz"
    default_weights = ""  # the hub id a config entry without ``weights`` reads
    weights_file_names: tuple[str, ...] = ()  # the files the loader reads
    name: str
    layer_names: list[str]

    @classmethod
    def weights_files(cls, options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to (default hub id included) and the files
        its loader reads (for the pre-flight; imports no model library)."""
        return options.get("weights", cls.default_weights), cls.weights_file_names
    patch_size: int
    context_length: int

    def setup_adapter(self, name: str, seed: int, device: str, dtype: str,
                      options: dict[str, Any], *, default_weights: str,
                      files: Sequence[str], init_random: Callable[[], Any],
                      load_dir: Callable[[Any], Any], check: Callable[[], Any] | None = None,
                      ) -> LoadedWeights[Any]:
        """Check the options, place the model, read its weights; ``check`` runs after the
        option checks and before any weights are read (e.g. a variant or conversion
        check)."""
        check_options(options, self.options, self.plugin, name)
        self.name = name
        self.seed = int(seed)
        self.batch_size = check_positive_int(options.get("batch_size", self.default_batch_size),
                                             "batch_size", name)
        self.progress = bool(options.get("progress", True))
        if check is not None:
            check()
        self.placement = resolve_placement(device, dtype, name)
        spec = parse_weights(options.get("weights", default_weights), name)
        self.weights = load_weights(spec, name=name, seed=self.seed, files=files,
                                    init_random=init_random, load_dir=load_dir)
        return self.weights

    def model_info(self, architecture: str, max_window_samples: int | None,
                   extra: dict[str, Any]) -> ModelInfo:
        """``describe()``: architecture, exact parameter count, weights provenance,
        placement and layer names."""
        return loaded_model_info(
            name=self.name, plugin=self.plugin, architecture=architecture,
            weights=self.weights, placement=self.placement, layer_names=self.layer_names,
            max_window_samples=max_window_samples, packages=self.packages,
            default_input_hz=self.default_input_hz, extra=extra)

    def check_input(self, windows: Any, sampling_rate_hz: float) -> np.ndarray:
        """Validate windows before any compute (shape, NaN, ``context_length``)."""
        return check_windows_in_context(windows, sampling_rate_hz, self.name,
                                        self.context_length, self.display_name,
                                        self.context_hint)

    def patch_model_info(self, head: str, tail: str = "", **more: Any) -> ModelInfo:
        """``describe()`` of a patch model whose context is ``context_length`` samples: the
        architecture line is ``head``, patch size and context, ``tail``; ``extra`` holds
        ``patch_size``, ``context_length`` and ``more``."""
        extra = {"patch_size": self.patch_size, "context_length": self.context_length, **more}
        return self.model_info(f"{head}, patch_size {self.patch_size}, context "
                               f"{self.context_length}{tail}", self.context_length, extra)

    def embed_channels_alone(self, array: np.ndarray, patch_size: int, dim: int,
                             hidden_states: Callable[[Any], list[Any]]) -> TokenEmbeddings:
        """Every layer for univariate models: each channel of each window is one series
        (``hidden_states``: series x tokens x dim per layer, real tokens only), tokens
        channel-major, spans of left-padded patches."""
        import torch

        n_windows, channels, n_samples = array.shape
        spans, token_channels = channel_spans(left_pad_spans(n_samples, patch_size), channels)
        n_patches = spans.shape[0] // channels
        rows_all = array.reshape(n_windows * channels, n_samples)
        outputs = {name: np.empty((rows_all.shape[0], n_patches, dim), dtype=np.float32)
                   for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(rows_all.shape[0], self.batch_size, self.progress, self.name):
                rows = torch.from_numpy(rows_all[part]).to(self.placement.device)
                for name, state in zip(self.layer_names, hidden_states(rows), strict=True):
                    outputs[name][part] = to_numpy(state)
        layers = {name: value.reshape(n_windows, channels * n_patches, dim)
                  for name, value in outputs.items()}
        return TokenEmbeddings(layers=layers, token_spans=spans, token_channels=token_channels)

    def embed_channel_rows(self, array: np.ndarray, one: np.ndarray, dim: int,
                           forward: Callable[[np.ndarray], Sequence[Any]]) -> TokenEmbeddings:
        """Every layer for models that see each channel alone, batched by window: ``one``
        holds one channel's token spans, ``forward`` maps the rows of a batch (windows x
        channels rows of samples) to every layer's states (rows x ``len(one)`` x dim)."""
        import torch

        n_windows, channels, n_samples = array.shape
        spans, token_channels = channel_spans(one, channels)
        n_tokens = channels * len(one)
        outputs = {name: np.empty((n_windows, n_tokens, dim), dtype=np.float32)
                   for name in self.layer_names}
        with torch.inference_mode(), self.placement.autocast():
            for part in batches(n_windows, self.batch_size, self.progress, self.name):
                batch = array[part]
                states = forward(batch.reshape(-1, n_samples))
                for name, state in zip(self.layer_names, states, strict=True):
                    outputs[name][part] = to_numpy(state).reshape(batch.shape[0], n_tokens, dim)
        return TokenEmbeddings(layers=outputs, token_spans=spans, token_channels=token_channels)


class TokenBudgetAdapter(TorchAdapter):
    """An adapter whose windows share one token budget across channels (Moirai 1.x and
    2.0): ``max_tokens`` is the module's ``max_seq_len``; ``display_name`` and
    ``context_hint`` word the error of a window over it."""

    module: Any

    @property
    def max_tokens(self) -> int:
        """Tokens one window may have (all channels together): the module's max_seq_len."""
        return int(self.module.max_seq_len)

    def context_samples(self, n_channels: int) -> int:
        """Longest window (samples) whose ``n_channels`` channels fit ``max_tokens``; the
        embed stage splits longer windows by the shared rule
        (:mod:`physio_bench.models.context`)."""
        return token_budget_context(self.max_tokens, n_channels, self.patch_size, self.name)

    def check_input(self, windows: Any, sampling_rate_hz: float) -> np.ndarray:
        """Validate windows before any compute (shape, NaN, token budget)."""
        return check_token_budget(windows, sampling_rate_hz, self.name, self.patch_size,
                                  self.max_tokens, self.display_name, self.context_hint)
