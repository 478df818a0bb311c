"""Shared torch plumbing for the in-process adapters, on top of the adapter kit
(:mod:`physio_bench_kit`: batching, token spans, context splitting, checkpoint reading).

Options, device and dtype choice, input checks, token time spans, forward hooks that
capture per-layer hidden states, seeded initialisation and provenance helpers. torch is
imported lazily inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.errors import InputError, ModelError

# re-exported from the adapter kit (one copy of the shared plumbing)
from physio_bench_kit import batches as batches
from physio_bench_kit import channel_major as channel_spans  # noqa: F401
from physio_bench_kit import left_pad_spans as left_pad_spans

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")


def check_options(options: Mapping[str, Any], allowed: Sequence[str], plugin: str,
                  name: str) -> None:
    """Raise a one-line ModelError if ``options`` has keys the plug-in does not know."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ModelError(
            f"model {name!r} (plugin {plugin}): unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(sorted(allowed))}"
        )


def check_choice(value: Any, choices: Sequence[Any], option: str, name: str) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a one-line ModelError."""
    if value not in choices:
        raise ModelError(
            f"model {name!r}: option {option}={value!r} is not one of "
            f"{', '.join(map(str, choices))}"
        )
    return value


def check_positive_int(value: Any, option: str, name: str) -> int:
    """Return ``value`` as int if it is a positive integer, else raise ModelError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"model {name!r}: option {option} must be a positive integer, "
                         f"got {value!r}")
    return value


@dataclass(frozen=True)
class Placement:
    """Where and in which precision a model runs.

    Attributes:
        device: ``cpu`` or ``cuda``.
        dtype: compute dtype name (``float32``, ``bfloat16``, ``float16``); reduced
            precision runs the forward pass under ``torch.autocast`` on CUDA.
        note: why the requested dtype was changed (empty when it was not).

    On CUDA, float32 means float32: TF32 (on by default for cuDNN convolutions, and
    wherever a library switches it on for matrix products) is switched off before every
    forward pass (:func:`disable_tf32`) and the flags are recorded (:meth:`tf32`).
    """

    device: str
    dtype: str
    note: str = ""

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Context of a forward pass: TF32 off on CUDA; autocast for reduced precision."""
        import torch

        if self.device != "cpu":
            disable_tf32()
        if self.dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device, dtype=getattr(torch, self.dtype))

    def tf32(self) -> str:
        """The TF32 state for ``model.json``: ``off`` (flags read back) on CUDA, else
        ``not applicable (cpu)``."""
        if self.device == "cpu":
            return "not applicable (cpu)"
        import torch

        matmul = bool(torch.backends.cuda.matmul.allow_tf32)
        cudnn = bool(torch.backends.cudnn.allow_tf32)
        state = "off" if not (matmul or cudnn) else "ON"
        return (f"{state} (torch.backends.cuda.matmul.allow_tf32={matmul}, "
                f"torch.backends.cudnn.allow_tf32={cudnn})")


def disable_tf32() -> None:
    """Full float32 precision for CUDA matrix products and cuDNN convolutions."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def resolve_placement(device: str, dtype: str, name: str) -> Placement:
    """Choose the device (``auto``: CUDA when present) and the compute dtype.

    Reduced precision (bfloat16/float16) is a GPU feature here: with ``device: cpu`` it is
    a ModelError; with ``device: auto`` on a machine without CUDA the model falls back to
    float32 and the fallback is recorded in :attr:`Placement.note` (and in ``model.json``),
    so one config runs on a laptop and on a GPU node.
    """
    import torch

    check_choice(device, DEVICES, "device", name)
    check_choice(dtype, DTYPES, "dtype", name)
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise ModelError(f"model {name!r}: device cuda requested but torch sees no CUDA "
                         f"device; use device: auto or device: cpu")
    chosen = "cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu"
    if chosen == "cuda":
        disable_tf32()
    if chosen == "cpu" and dtype != "float32":
        if device == "cpu":
            raise ModelError(f"model {name!r}: dtype {dtype} runs only on a GPU here; "
                             f"use dtype: float32 with device: cpu")
        return Placement("cpu", "float32", f"dtype {dtype} requested but no CUDA device: "
                                           f"ran in float32 on cpu")
    return Placement(chosen, dtype)


def check_windows(windows: Any, name: str) -> np.ndarray:
    """Validate a batch of windows (windows x channels x samples) before any compute.

    Returns:
        The windows as a C-contiguous float32 array.

    Raises:
        InputError: wrong number of dimensions, an empty axis, or non-finite values.
    """
    array = np.asarray(windows)
    if array.ndim != 3:
        raise InputError(f"model {name!r}: windows must be windows x channels x samples "
                         f"(3-D), got shape {array.shape}")
    if 0 in array.shape:
        raise InputError(f"model {name!r}: windows array has an empty axis {array.shape}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=(1, 2)).sum())
        raise InputError(f"model {name!r}: {bad} window(s) contain NaN or infinite values; "
                         f"interpolate or drop them before embedding")
    return array


def check_sampling_rate(sampling_rate_hz: float, name: str) -> float:
    """Raise InputError unless the sampling rate (Hz) is a positive finite number."""
    rate = float(sampling_rate_hz)
    if not np.isfinite(rate) or rate <= 0:
        raise InputError(f"model {name!r}: sampling_rate_hz must be positive, got {rate}")
    return rate


def check_windows_in_context(windows: Any, sampling_rate_hz: float, name: str,
                             context_samples: int, owner: str = "this model's",
                             hint: str = "use shorter windows") -> np.ndarray:
    """:func:`check_windows` and :func:`check_sampling_rate`, then ``InputError`` for windows
    longer than the model's context of ``context_samples`` (``owner``: whose context the
    message names; ``hint``: what to do)."""
    array = check_windows(windows, name)
    check_sampling_rate(sampling_rate_hz, name)
    if array.shape[2] > context_samples:
        raise InputError(f"model {name!r}: windows of {array.shape[2]} samples are longer "
                         f"than {owner} context of {context_samples} samples; {hint}")
    return array


def layer_names(n_layers: int, final_norm: bool) -> list[str]:
    """``layer_00`` .. ``layer_{n-1}`` (and ``final_norm``), shallow to deep."""
    names = [f"layer_{i:02d}" for i in range(n_layers)]
    return [*names, "final_norm"] if final_norm else names


def _first_tensor(output: Any) -> torch.Tensor:
    """The hidden states in a module's output (a tensor, a tuple or a ModelOutput)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        return next(iter(output.values()))
    return output[0]


@contextlib.contextmanager
def capture_outputs(modules: Mapping[str, torch.nn.Module]) -> Iterator[dict[str, Any]]:
    """Forward hooks that store each named module's output (hidden states) in a dict.

    Used inside ``with``: every forward pass overwrites the entries; hooks are removed on
    exit, also when the forward pass fails.
    """
    captured: dict[str, Any] = {}
    handles = []

    def hook_for(key: str) -> Callable[..., None]:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            captured[key] = _first_tensor(output)
        return hook

    try:
        for key, module in modules.items():
            handles.append(module.register_forward_hook(hook_for(key)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator for a block without touching the caller's RNG state."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send library prints (``Loading weights from local directory``) to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def count_parameters(module: torch.nn.Module) -> int:
    """Exact number of parameters (shared tensors counted once)."""
    seen: set[int] = set()
    total = 0
    for parameter in module.parameters():
        if id(parameter) not in seen:
            seen.add(id(parameter))
            total += parameter.numel()
    return total


def distribution_versions(*packages: str) -> dict[str, str]:
    """Versions of ``torch``, ``numpy`` and the distributions providing ``packages``.

    ``packages`` are import names (``uni2ts``); each maps to the installed distribution
    that provides it (e.g. ``timecopilot-uni2ts``), so model.json says which fork ran.
    """
    versions: dict[str, str] = {}
    providers = importlib.metadata.packages_distributions()
    for package in ("torch", "numpy", *packages):
        for dist in providers.get(package, [package]):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a (possibly reduced-precision, on-GPU) tensor."""
    import torch

    return tensor.detach().to(device="cpu", dtype=torch.float32).numpy()
