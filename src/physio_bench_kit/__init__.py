"""The adapter kit: what every physio_bench model adapter shares, in one small module.

A model then needs only two methods (see ``plugins/physio-bench-example`` and "Adding a
model" in docs/models.md, whose code a test runs):

- ``load(**options)``: build or read the model; set ``architecture``, ``n_parameters``,
  ``layer_names`` and, for real weights, ``pretrained``/``weights_source``/
  ``weights_sha256`` (:func:`checkpoint_directory` and :func:`file_sha256` read a
  published checkpoint);
- ``forward(windows)``: hidden states of every layer for a batch of windows (windows x
  channels x samples, float32), each ``windows x channels x tokens x dim`` (per-channel
  tokens) or ``windows x tokens x dim`` (tokens that mix channels, with ``token_channels``
  -1).

:class:`KitModel` does the rest: option and device checks, batching (``batch_size``),
the input checks (3-D, finite, within ``max_window_samples``), token spans
(:func:`left_pad_spans` or the model's ``token_spans``), channel-major stitching, and
``describe()`` with provenance (device, dtype, weights, versions).

The rest of the shared plumbing lives here too: the one context-splitting rule
(:func:`split_context`, used by the embed stage for every model), the batching helper
(:func:`batches`) and the token-span helpers. Resampling and pooling are done by the
core before and after a model runs (``physio_bench.models.resampling`` and
``physio_bench.models.pooling``); :func:`resample` and :func:`pool_layers` reach them for
in-process adapters.

This module needs only the standard library and numpy, so that a plug-in running in its
own interpreter (``plugin: subprocess``, without physio_bench installed) can import it:
the core's worker provides it there under the same name, ``physio_bench_kit``.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np


class InputError(ValueError):
    """A window the model cannot take (the core maps it to its InputError by name)."""


# ------------------------------------------------------------------ context splitting

MIN_CHUNK_FRACTION = 0.5  # shortest chunk / context_samples (windows longer than a context)


@dataclass(frozen=True)
class Chunk:
    """One context of a window, in samples at the model's input rate.

    Attributes:
        start, stop: ``[start, stop)`` samples the model sees in one pass.
        keep_before: tokens whose span starts at or after this sample are dropped (they
            are covered by the next chunk); ``stop`` when every token is kept.
    """

    start: int
    stop: int
    keep_before: int

    @property
    def overlapped(self) -> bool:
        """True for a chunk of which only the first tokens are kept."""
        return self.keep_before < self.stop


def min_chunk_samples(context_samples: int) -> int:
    """The shortest chunk :func:`split_context` makes of a window longer than the context."""
    return max(1, math.ceil(MIN_CHUNK_FRACTION * int(context_samples)))


def split_context(n_samples: int, context_samples: int | None) -> tuple[Chunk, ...]:
    """Chunks of an ``n_samples``-sample window for a context of ``context_samples``
    (None: no limit, one chunk).

    The rule: chunks are aligned to the window's end, each a full context; the remainder
    ``n % context`` is its own first chunk when it holds at least
    :func:`min_chunk_samples` (half the context); a shorter remainder is never embedded or
    standardised alone: the first chunk is then the full context ``[0, context)``,
    overlapping the next, and only its tokens that start before the next chunk are kept.
    """
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"a window needs at least one sample, got {n_samples}")
    if context_samples is None or n_samples <= context_samples:
        return (Chunk(0, n_samples, n_samples),)
    context = int(context_samples)
    if context < 1:
        raise ValueError(f"context_samples must be positive, got {context_samples}")
    remainder = n_samples % context
    full = [Chunk(a, a + context, a + context) for a in range(remainder, n_samples, context)]
    if remainder == 0:
        return tuple(full)
    if remainder >= min_chunk_samples(context):
        return (Chunk(0, remainder, remainder), *full)
    return (Chunk(0, context, remainder), *full)


def kept_tokens(span_starts: np.ndarray, chunk: Chunk) -> np.ndarray:
    """Boolean mask of a chunk's tokens to keep, from their span starts (samples relative
    to the chunk's first sample)."""
    starts = np.asarray(span_starts, dtype=np.int64) + chunk.start
    return starts < chunk.keep_before


# ------------------------------------------------------------------------ token spans

def left_pad_spans(n_samples: int, patch_size: int) -> np.ndarray:
    """``[start, stop)`` of each patch of a window left-padded to a multiple of
    ``patch_size`` (the uni2ts/Chronos/Toto convention: the last patch ends on the last
    sample, the first may cover fewer real samples); int64, patches x 2."""
    pad = (-n_samples) % patch_size
    starts = np.arange((n_samples + pad) // patch_size, dtype=np.int64) * patch_size - pad
    return np.stack([np.maximum(starts, 0), starts + patch_size], axis=1)


def whole_patch_spans(n_samples: int, patch_size: int) -> np.ndarray:
    """``[start, stop)`` of the whole patches from the window's first sample (samples
    after the last whole patch are left out); int64, patches x 2."""
    starts = np.arange(n_samples // patch_size, dtype=np.int64) * patch_size
    return np.stack([starts, starts + patch_size], axis=1)


def channel_major(spans: np.ndarray, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel spans repeated for channel-major tokens: ``(token_spans,
    token_channels)``."""
    n = spans.shape[0]
    return (np.tile(spans, (n_channels, 1)),
            np.repeat(np.arange(n_channels, dtype=np.int64), n))


# ---------------------------------------------------------------------------- batching

def batches(n_items: int, batch_size: int, progress: bool = False,
            label: str = "") -> Iterator[slice]:
    """Slices of ``batch_size`` items; a tqdm bar on stderr when asked and there are
    several (tqdm imported only then)."""
    starts: Any = range(0, n_items, batch_size)
    if progress and len(starts) > 1:
        from tqdm import tqdm

        starts = tqdm(starts, desc=label, unit="batch", file=sys.stderr)
    for start in starts:
        yield slice(start, min(start + batch_size, n_items))


def positive_int(value: Any, option: str, name: str) -> int:
    """``value`` if it is a positive integer, else a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"model {name!r}: option {option} must be a positive integer, "
                         f"got {value!r}")
    return value


# ------------------------------------------------------------------ checkpoint reading

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_directory(weights: str, name: str,
                         files: Sequence[str] = ("config.json", "model.safetensors"),
                         ) -> tuple[Path, str | None]:
    """The local checkpoint directory of ``weights`` (a directory, or a hub id already in
    the Hugging Face cache: never downloads) and its hub revision (None if local).

    Raises:
        ValueError: one line naming what is missing and how to get it.
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
    for file in files:
        if not (directory / file).is_file():
            raise ValueError(f"model {name!r}: {directory} lacks {file}")
    return directory, revision


def state_dict_sha256(module: Any) -> str:
    """SHA-256 over a torch module's state dict (names, dtypes, shapes and raw bytes,
    sorted): the provenance of random weights (torch imported here only)."""
    import torch

    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}|{flat.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_covers(module: Any, path: Path) -> None:
    """ValueError unless the safetensors file ``path`` holds every tensor of ``module``."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        stored = set(handle.keys())
    missing = sorted(set(module.state_dict()) - stored)
    if missing:
        raise ValueError(f"{path.name} lacks {len(missing)} tensor(s), e.g. {missing[0]}")


# ----------------------------------------------------------------------- the base class

def installed_versions(*distributions: str) -> dict[str, str]:
    """Versions of the installed ``distributions`` (missing ones left out)."""
    found = {}
    for dist in distributions:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def embed_in_batches(forward: Callable[[np.ndarray], Sequence[np.ndarray]],
                     windows: np.ndarray, batch_size: int, layer_names: Sequence[str],
                     spans: np.ndarray, keep: np.ndarray | None = None) -> dict[str, Any]:
    """Run ``forward`` batch by batch and stitch the tokens channel-major.

    ``forward`` gives every layer of a batch, each windows x channels x tokens x dim
    (per-channel tokens: ``token_channels`` 0, 1, ...) or windows x tokens x dim (tokens
    that mix channels: ``token_channels`` -1); ``keep`` selects the tokens (of the third
    axis) that ``spans`` describe, e.g. the patches of a window inside a padded context.
    """
    n_windows, n_channels = windows.shape[:2]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in layer_names}
    per_channel = True
    for part in batches(n_windows, batch_size):
        states = list(forward(windows[part]))
        if len(states) != len(layer_names):
            raise ValueError(f"forward gave {len(states)} layers, not {len(layer_names)}")
        for name, state in zip(layer_names, states, strict=True):
            state = np.asarray(state)
            per_channel = state.ndim == 4
            if keep is not None:
                state = state[:, :, keep] if per_channel else state[:, keep]
            parts[name].append(state.reshape(state.shape[0], -1, state.shape[-1]))
    layers = {name: np.concatenate(arrays).astype(np.float32) for name, arrays in parts.items()}
    if per_channel:
        token_spans, token_channels = channel_major(spans, n_channels)
    else:
        token_spans, token_channels = spans, np.full(spans.shape[0], -1, dtype=np.int64)
    return {"layers": layers, "token_spans": token_spans, "token_channels": token_channels}


def _cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device (torch imported only here)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class KitModel:
    """A physio_bench model from ``load`` and ``forward`` (see the module docstring).

    Class attributes a subclass sets: ``plugin`` (its entry-point name), ``devices``
    (accepted ``device`` values; numpy models: ``("auto", "cpu")``), ``distributions``
    (whose versions ``describe()`` records), ``default_input_hz`` (None: the suite's rate).
    Attributes ``load`` sets: ``architecture``, ``n_parameters``, ``layer_names``;
    optionally ``patch_size`` (token spans by :func:`left_pad_spans`; else override
    :meth:`token_spans`), ``max_window_samples``, ``pretrained``, ``weights_source``,
    ``weights_sha256``, ``extra``.
    """

    plugin = "kit"
    display_name = "its"  # whose context an error names: "Toto" -> "Toto's context"
    devices: tuple[str, ...] = ("auto", "cpu")
    distributions: tuple[str, ...] = ("numpy",)
    default_input_hz: float | None = None
    patch_size: int | None = None
    max_window_samples: int | None = None
    pretrained = False
    weights_source = "random (fixed seed)"
    weights_sha256: str | None = None
    architecture = ""
    n_parameters = 0
    layer_names: Sequence[str]

    def __init__(self, name: str, seed: int = 0, *, device: str = "cpu",
                 batch_size: int = 32, **options: Any) -> None:
        if device not in self.devices and self.devices == ("auto", "cpu"):
            raise ValueError(f"model {name!r} runs on cpu only, not on device {device!r}")
        if device not in self.devices:
            raise ValueError(f"model {name!r}: device must be {', '.join(self.devices)}, "
                             f"got {device!r}")
        self.name, self.seed = name, int(seed)
        self.device = device
        if device == "auto":
            self.device = "cuda" if "cuda" in self.devices and _cuda_available() else "cpu"
        self.batch_size = positive_int(batch_size, "batch_size", name)
        self.extra: dict[str, Any] = {}
        try:
            self.load(**options)
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise
            raise ValueError(f"model {name!r} (plugin {self.plugin}): {exc}") from None

    def load(self, **options: Any) -> None:
        """Build or read the model (subclasses)."""
        raise NotImplementedError

    def forward(self, windows: np.ndarray) -> Sequence[np.ndarray]:
        """Hidden states of every layer for a batch (subclasses; see the module docstring)."""
        raise NotImplementedError

    def token_spans(self, n_samples: int) -> np.ndarray:
        """``[start, stop)`` of each token of one channel (default: left-padded patches)."""
        if self.patch_size is None:
            raise NotImplementedError("set patch_size or override token_spans")
        return left_pad_spans(n_samples, self.patch_size)

    def check_input(self, windows: Any) -> np.ndarray:
        """Windows as C-contiguous float32, or a one-line ValueError (shape, NaN, length)."""
        array = np.ascontiguousarray(windows, dtype=np.float32)
        if array.ndim != 3 or 0 in array.shape:
            raise InputError(f"model {self.name!r}: windows must be windows x channels x "
                             f"samples, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise InputError(f"model {self.name!r}: windows contain NaN or infinite values")
        if self.max_window_samples is not None and array.shape[2] > self.max_window_samples:
            owner = "its" if self.display_name == "its" else f"{self.display_name}'s"
            raise InputError(f"model {self.name!r}: windows of {array.shape[2]} samples are "
                             f"longer than {owner} context of {self.max_window_samples}; set "
                             f"input_hz so that a window fits, or let the core feed chunks")
        return array

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> dict[str, Any]:
        """Every layer's tokens for windows x channels x samples, channel-major."""
        array = self.check_input(windows)
        return embed_in_batches(self.forward, array, self.batch_size, self.layer_names,
                                self.token_spans(array.shape[2]))

    def describe(self) -> dict[str, Any]:
        """The ``ModelInfo`` fields, provenance included (a dict: no physio_bench import)."""
        return info_dict(
            name=self.name, plugin=self.plugin, architecture=self.architecture,
            n_parameters=self.n_parameters, pretrained=self.pretrained,
            weights_source=self.weights_source, weights_sha256=self.weights_sha256,
            layer_names=self.layer_names, max_window_samples=self.max_window_samples,
            default_input_hz=self.default_input_hz, device=self.device,
            distributions=self.distributions, extra=self.extra)


def info_dict(*, name: str, plugin: str, architecture: str, n_parameters: int,
              pretrained: bool, weights_source: str, weights_sha256: str | None,
              layer_names: Sequence[str], max_window_samples: int | None,
              default_input_hz: float | None, device: str, distributions: Sequence[str],
              extra: Mapping[str, Any], weights_revision: str | None = None,
              ) -> dict[str, Any]:
    """A plug-in's ``describe()``: the ``ModelInfo`` fields as a dict (float32; the
    versions of ``distributions``; ``weights_revision`` goes into ``extra`` when known)."""
    more = dict(extra)
    if weights_revision is not None:
        more["weights_revision"] = weights_revision
    return {
        "name": name, "plugin": plugin, "architecture": architecture,
        "n_parameters": int(n_parameters), "pretrained": bool(pretrained),
        "weights_source": weights_source, "weights_sha256": weights_sha256,
        "layer_names": list(layer_names), "max_window_samples": max_window_samples,
        "default_input_hz": default_input_hz, "device": device, "dtype": "float32",
        "versions": installed_versions(*distributions), "extra": more,
    }


# --------------------------------------------------- core stages (in-process adapters)

def resample(windows: np.ndarray, up: int, down: int) -> np.ndarray:
    """The core's anti-aliased resampling (``physio_bench.models.resampling.resample``;
    in-process only: the embed stage resamples before any model runs)."""
    from physio_bench.models.resampling import resample as core_resample

    return core_resample(windows, up, down)


def pool_layers(layers: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The core's mean pooling over tokens (``physio_bench.models.pooling.pool_layers``;
    in-process only: the embed stage pools every model's tokens centrally)."""
    from physio_bench.models.pooling import pool_layers as core_pool

    return core_pool(layers, names)
