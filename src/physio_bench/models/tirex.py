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
**bfloat16** whatever the module's dtype (its own choice, in ``sLSTMCell._impl_torch``).
Here the recurrence runs in **float32 by default**, like every other model on CPU: during
each forward pass every ``sLSTMCell`` gets, on the instance, the library's own
``_impl_torch`` with the bfloat16 casts of the input, the state and the recurrent kernel
replaced by the chosen dtype (:func:`recurrence_precision`; the pointwise gate equations
are float32 in both). ``recurrence_dtype: bfloat16`` is the explicit option for the
library's behaviour. ``model.json`` records which ran (``extra.recurrence_dtype``). At the
published size the two differ by 0.4% (mean relative) in the last block
(``benchmarks/tirex_precision.py``; ``tests/test_tirex.py``). The custom CUDA kernels
(``xlstm`` package, backend ``cuda``) are not used, so TiRex runs on CPU without CUDA.

Input assumptions: one channel at a time, at most 2048 samples; default input rate
(``default_input_hz``) **64 Hz**, which makes a 32-s window exactly the 2048-sample training
context (64 tokens of 0.5 s, no padding) and keeps the band below 32 Hz.

Pretraining data: Chronos's training corpus and GIFT-Eval's pretraining split plus
synthetic series (TiRex paper, Auer et al. 2025); no physiological recordings named.
Weights ``NX-AI/TiRex`` (35M parameters) under the NXAI Community License (not an OSI
licence; read it before commercial use).

Checkpoint: safetensors only, like every other adapter. A TiRex checkpoint directory holds
``config.json`` (the hyper-parameters exactly as the Lightning checkpoint stores them under
``hyper_parameters``: ``model_config`` and ``train_ctx_len``) and ``model.safetensors`` (the
state dict); it is loaded through the core's ``load_weights`` (which shows the loader only
``.json`` and ``.safetensors`` files), the way the library's own ``from_pretrained`` does it
with the pickle replaced by safetensors: ``TiRexZero(**hyper_parameters)``, the library's
key renaming (``on_load_checkpoint``), and a strict ``load_state_dict`` (every tensor
present with its shape, none extra). NX-AI publishes only a pickled Lightning ``model.ckpt``,
so it is converted once, explicitly, by the user::

    hf download NX-AI/TiRex model.ckpt        # on a connected machine
    physio-bench convert-tirex NX-AI/TiRex ~/weights/tirex   # or a model.ckpt / its folder

:func:`convert_checkpoint` reads ``model.ckpt`` once with ``torch.load(weights_only=True)``
(tensors and plain containers only, never arbitrary pickled objects), checks that it loads
strictly into ``TiRexZero``, and writes ``config.json``, ``model.safetensors`` and
``conversion.json`` (the source, the SHA-256 of ``model.ckpt``, which equals its hub LFS
object id, and the versions used); then ``weights: ~/weights/tirex``. ``model.json``
records the SHA-256 of ``model.safetensors`` and, from ``conversion.json``, that of the
``model.ckpt`` it came from (``converted_from_sha256``). A ``weights`` directory or hub id
that has only ``model.ckpt`` is refused (pre-flight and constructor) with a one-line hint
to run the conversion. The conversion is deterministic: the same ``model.ckpt`` gives the
same bytes.

Options: ``weights`` (random | hub id | directory holding ``config.json`` and
``model.safetensors``; default ``NX-AI/TiRex``, which must have been converted: see
Checkpoint), ``batch_size`` (series per forward pass, default 64), ``device``,
``dtype`` (reduced precision on CUDA only, as for Moirai), ``recurrence_dtype``
(float32, the default, or bfloat16: the library's own choice; see Precision),
``progress``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.errors import ModelError
from physio_bench.models.adapter import TorchAdapter
from physio_bench.models.convert import check_output_dir, write_conversion
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings
from physio_bench.models.torch_utils import capture_outputs, check_choice, layer_names
from physio_bench.models.weights import (
    CONFIG_FILE,
    HUB_ID,
    RANDOM,
    WEIGHTS_FILE,
    file_sha256,
    hf_hub_cache,
    parse_weights,
)

PLUGIN = "tirex"
DEFAULT_HUB_ID = "NX-AI/TiRex"
CHECKPOINT_FILE = "model.ckpt"  # what NX-AI publishes (a pickle): read by the conversion only
CONVERSION_FILE = "conversion.json"  # provenance written by convert_checkpoint
FILES = (CONFIG_FILE, WEIGHTS_FILE)  # what the adapter loads
CONVERT_COMMAND = "physio-bench convert-tirex"
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
OPTIONS = ("weights", "batch_size", "device", "dtype", "recurrence_dtype", "progress")
RECURRENCE_DTYPES = ("float32", "bfloat16")  # float32: default; bfloat16: the library's


def _recurrence_impl(dtype_name: str) -> Any:
    """``sLSTMCell._impl_torch`` of the library (tirex-ts 1.x) with its bfloat16 casts of
    the input, state and recurrent kernel replaced by ``dtype_name``."""
    import torch

    dtype = getattr(torch, dtype_name)

    def impl(cell: Any, input: Any, state: Any) -> Any:
        input = input.to(dtype=dtype)
        state = state.to(dtype=dtype)
        recurrent_kernel = cell._recurrent_kernel_.to(dtype=dtype)
        bias = cell._bias_.to(dtype=torch.float32)
        input = input.view(input.shape[0], input.shape[1], -1)
        config = cell.config
        bias = (bias.reshape(config.num_heads, config.num_gates, config.head_dim)
                .permute(1, 0, 2).reshape(-1))
        return cell._impl_forward_torch(input, state, recurrent_kernel, bias)

    return impl


@contextlib.contextmanager
def recurrence_precision(model: Any, dtype_name: str) -> Iterator[None]:
    """Run every ``sLSTMCell`` of ``model`` with its recurrence in ``dtype_name`` for the
    block (``bfloat16``: the library's own method, untouched); restored on exit."""
    if dtype_name == "bfloat16":
        yield
        return
    from tirex.models.slstm.cell import sLSTMCell

    cells = [m for m in model.modules() if isinstance(m, sLSTMCell)]
    impl = _recurrence_impl(dtype_name)
    try:
        for cell in cells:
            cell._impl_torch = types.MethodType(impl, cell)
        yield
    finally:
        for cell in cells:
            cell.__dict__.pop("_impl_torch", None)


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


def check_state_dict(model: Any, state: dict[str, Any]) -> None:
    """Raise ValueError unless ``state`` holds exactly ``model``'s tensors, shapes included
    (one line: the count and the first offending name)."""
    expected = {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}
    missing = [key for key in expected if key not in state]
    if missing:
        raise ValueError(f"{WEIGHTS_FILE} lacks {len(missing)} tensor(s) of TiRex, "
                         f"e.g. {missing[0]}")
    extra = [key for key in state if key not in expected]
    if extra:
        raise ValueError(f"{WEIGHTS_FILE} holds {len(extra)} tensor(s) TiRex does not have, "
                         f"e.g. {extra[0]}")
    wrong = [key for key in expected if tuple(state[key].shape) != expected[key]]
    if wrong:
        raise ValueError(f"{WEIGHTS_FILE} has {len(wrong)} tensor(s) of another shape, e.g. "
                         f"{wrong[0]} {tuple(state[wrong[0]].shape)} instead of "
                         f"{expected[wrong[0]]}")


def load_state_strictly(hyper_parameters: dict[str, Any], state: dict[str, Any]) -> Any:
    """``TiRexZero`` built from ``hyper_parameters`` with ``state`` loaded as the library's
    ``from_pretrained`` does (its ``on_load_checkpoint`` key renaming, then a strict
    ``load_state_dict``), on CPU, torch backend."""
    from tirex.models.tirex import TiRexZero

    if not isinstance(hyper_parameters, dict):
        raise ValueError(f"the hyper-parameters are a {type(hyper_parameters).__name__}, "
                         f"not a mapping")
    model = TiRexZero(backend="torch", **hyper_parameters)
    checkpoint = {"state_dict": dict(state)}
    model.on_load_checkpoint(checkpoint)  # renames block_stack.* as the library does
    check_state_dict(model, checkpoint["state_dict"])
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return model


def read_provenance(directory: Path) -> dict[str, Any]:
    """``model.json`` extras from a converted directory's ``conversion.json`` (if any)."""
    path = Path(directory) / CONVERSION_FILE
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    found = {"converted_from_file": record.get("source_file"),
             "converted_from_sha256": record.get("source_sha256")}
    return {key: value for key, value in found.items() if value is not None}


def load_model(directory: Path, provenance: dict[str, Any] | None = None) -> Any:
    """Load a TiRex checkpoint directory (``config.json`` + ``model.safetensors``) strictly,
    on CPU, torch backend; ``provenance`` (if given) receives :func:`read_provenance`."""
    from safetensors.torch import load_file

    hyper_parameters = json.loads((Path(directory) / CONFIG_FILE).read_text())
    state = load_file(str(Path(directory) / WEIGHTS_FILE), device="cpu")
    model = load_state_strictly(hyper_parameters, state)
    if provenance is not None:
        provenance.update(read_provenance(directory))
    return model


def _convert_hint(source: str, *, fetch_first: bool = False) -> str:
    fetch = (f"on a connected machine run `hf download {source} {CHECKPOINT_FILE}`, then "
             if fetch_first else "run ")
    return (f"{fetch}`{CONVERT_COMMAND} {source} OUT_DIR` once (it writes {CONFIG_FILE} and "
            f"{WEIGHTS_FILE}) and set weights: OUT_DIR")


def _cached(hub_id: str, file: str, cache: Path) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, file, cache_dir=cache), str)


def check_converted(weights: Any, name: str) -> None:
    """Refuse, in one line with the conversion command, weights that are TiRex's pickled
    ``model.ckpt`` rather than a converted checkpoint (no torch imported).

    A local directory must hold ``config.json`` and ``model.safetensors``; a hub id is
    refused when the Hugging Face cache lacks them and it is ``NX-AI/TiRex`` (which
    publishes only ``model.ckpt``) or its cached snapshot holds ``model.ckpt``. Other
    cases are left to the core's checks (``random``; a hub id that may hold safetensors).
    """
    spec = parse_weights(weights, name)
    if spec.kind == RANDOM:
        return
    if spec.kind == "local":
        directory = Path(spec.value).expanduser()
        missing = [file for file in FILES if not (directory / file).is_file()]
        if not missing:
            return
        if (directory / CHECKPOINT_FILE).is_file():
            raise ModelError(f"model {name!r}: weights directory {spec.value} holds TiRex's "
                             f"pickled {CHECKPOINT_FILE}, not {' and '.join(FILES)}, and the "
                             f"benchmark reads safetensors only; "
                             f"{_convert_hint(spec.value)}")
        raise ModelError(f"model {name!r}: weights directory {spec.value} lacks "
                         f"{', '.join(missing)} (a TiRex checkpoint needs {' and '.join(FILES)}"
                         f"); {_convert_hint('MODEL_CKPT')}")
    cache = hf_hub_cache()
    if all(_cached(spec.value, file, cache) for file in FILES):
        return
    if _cached(spec.value, CHECKPOINT_FILE, cache):
        raise ModelError(f"model {name!r}: {spec.value} in the Hugging Face cache {cache} "
                         f"holds TiRex's pickled {CHECKPOINT_FILE} only, and the benchmark "
                         f"reads safetensors only; {_convert_hint(spec.value)}")
    if spec.value == DEFAULT_HUB_ID:
        raise ModelError(f"model {name!r}: {spec.value} publishes TiRex as a pickled "
                         f"{CHECKPOINT_FILE} only (not in the Hugging Face cache {cache} "
                         f"either), and the benchmark reads safetensors only; "
                         f"{_convert_hint(spec.value, fetch_first=True)}")


def locate_checkpoint(source: str | Path) -> tuple[Path, dict[str, Any]]:
    """The ``model.ckpt`` a conversion reads and how it was named.

    ``source`` is the file, a directory holding it, or a hub id whose ``model.ckpt`` is
    in the Hugging Face cache (nothing is downloaded). Raises a one-line ModelError.
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.is_file():
        return path, {"source": text}
    if path.is_dir():
        if not (path / CHECKPOINT_FILE).is_file():
            raise ModelError(f"convert-tirex: directory {text} holds no {CHECKPOINT_FILE}")
        return path / CHECKPOINT_FILE, {"source": text}
    if HUB_ID.fullmatch(text):
        from huggingface_hub import try_to_load_from_cache

        cache = hf_hub_cache()
        found = try_to_load_from_cache(text, CHECKPOINT_FILE, cache_dir=cache)
        if isinstance(found, str):
            return Path(found), {"source": text, "source_revision": Path(found).parent.name}
        raise ModelError(f"convert-tirex: {text}'s {CHECKPOINT_FILE} is not in the Hugging "
                         f"Face cache {cache}; on a connected machine run `hf download {text}"
                         f" {CHECKPOINT_FILE}` and copy the cache here (HF_HOME), or give the "
                         f"file's path")
    raise ModelError(f"convert-tirex: {text} is neither a {CHECKPOINT_FILE} file, a directory "
                     f"holding one, nor a hub id (org/name)")


def convert_checkpoint(source: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Convert TiRex's Lightning ``model.ckpt`` into a safetensors checkpoint directory.

    Reads the checkpoint once with ``torch.load(weights_only=True)`` (tensors and plain
    containers only), loads it strictly into ``TiRexZero`` as the library's loader would
    (so a wrong or truncated file fails here), and writes to ``out_dir``: ``config.json``
    (``hyper_parameters``, keys sorted), ``model.safetensors`` (the state dict with the
    library's key renaming, tensors as stored, the source SHA-256 its only metadata) and
    ``conversion.json`` (provenance: source, source file and its SHA-256, output SHA-256s,
    versions). Deterministic bytes for the same ``model.ckpt``. Existing output files are
    never overwritten.

    Args:
        source: ``model.ckpt``, a directory holding it, or a hub id in the local Hugging
            Face cache (:func:`locate_checkpoint`).
        out_dir: directory to write (created; may be the source directory).

    Returns:
        The provenance record written to ``conversion.json``.

    Raises:
        ModelError: one line, for a missing or unreadable checkpoint or existing outputs.
    """
    import torch
    from safetensors.torch import save

    from physio_bench import __version__
    from physio_bench.models.torch_utils import distribution_versions

    checkpoint_path, record = locate_checkpoint(source)
    out = check_output_dir(out_dir, "convert-tirex")
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ModelError(f"convert-tirex: cannot read {checkpoint_path} with torch.load("
                         f"weights_only=True) ({type(error).__name__}: {first})") from error
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict)
            and "hyper_parameters" in checkpoint):
        raise ModelError(f"convert-tirex: {checkpoint_path} is not a TiRex Lightning "
                         f"checkpoint (no hyper_parameters and state_dict)")
    hyper_parameters = checkpoint["hyper_parameters"]
    try:
        config_bytes = (json.dumps(hyper_parameters, indent=2, sort_keys=True) + "\n").encode()
        model = load_state_strictly(hyper_parameters, checkpoint["state_dict"])
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ModelError(f"convert-tirex: {checkpoint_path} does not load into TiRex "
                         f"({type(error).__name__}: {first})") from error
    renamed = {"state_dict": dict(checkpoint["state_dict"])}
    model.on_load_checkpoint(renamed)
    tensors = {key: tensor.detach().to("cpu").clone(memory_format=torch.contiguous_format)
               for key, tensor in renamed["state_dict"].items()}
    source_sha256 = file_sha256(checkpoint_path)
    # one metadata key only: safetensors writes its metadata map in hash order, so two
    # keys would make the bytes differ from run to run
    weights_bytes = save(tensors, metadata={"source_sha256": source_sha256})
    record.update({
        "source_file": CHECKPOINT_FILE,
        "source_sha256": source_sha256,
        "converted_by": f"{CONVERT_COMMAND} (physio-bench {__version__})",
        "files": {CONFIG_FILE: hashlib.sha256(config_bytes).hexdigest(),
                  WEIGHTS_FILE: hashlib.sha256(weights_bytes).hexdigest()},
        "n_tensors": len(tensors),
        "n_parameters": int(sum(tensor.numel() for tensor in tensors.values())),
        "versions": distribution_versions("tirex", "safetensors"),
    })
    write_conversion(out, weights_bytes, config_bytes, record)
    return record


class TiRexModel(TorchAdapter):
    """TiRex sLSTM block outputs for every layer (see the module docstring)."""

    plugin, options, packages = PLUGIN, OPTIONS, ("tirex",)
    display_name = "TiRex's"
    default_input_hz = 64.0
    default_batch_size = 64
    @staticmethod
    def weights_files(options: dict[str, Any], name: str = PLUGIN
                      ) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to (default hub id included) and the files
        its loader reads (for the pre-flight; imports no model library). Weights that are
        only the published ``model.ckpt`` are a ModelError here already, naming the
        conversion command (:func:`check_converted`)."""
        weights = options.get("weights", DEFAULT_HUB_ID)
        check_converted(weights, name)
        return weights, FILES

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        self.recurrence_dtype = check_choice(options.get("recurrence_dtype", "float32"),
                                             RECURRENCE_DTYPES, "recurrence_dtype", name)
        provenance: dict[str, Any] = {}
        loaded = self.setup_adapter(
            name, seed, device, dtype, options, default_weights=DEFAULT_HUB_ID, files=FILES,
            init_random=build_model,
            load_dir=lambda directory: load_model(directory, provenance),
            check=lambda: check_converted(options.get("weights", DEFAULT_HUB_ID), name))
        loaded.extra.update(provenance)
        self.model = loaded.model.eval().to(self.placement.device)
        self.patch_size = int(self.model.config.input_patch_size)
        self.context_length = int(self.model.config.train_ctx_len)
        self.dim = int(self.model.out_norm.weight.shape[0])
        self.layer_names = layer_names(len(self.model.blocks), final_norm=True)

    def describe(self) -> ModelInfo:
        """Architecture, exact parameter count, weights provenance and layer names."""
        return self.patch_model_info(
            f"TiRex (tirex-ts TiRexZero, xLSTM): {len(self.model.blocks)} sLSTM blocks, "
            f"{self.dim} dims", ", univariate",
            backend=(f"torch (sLSTM recurrence in {self.recurrence_dtype}"
                     + (", the library's choice)" if self.recurrence_dtype == "bfloat16"
                        else "; the library's default bfloat16 is recurrence_dtype: "
                             "bfloat16)")),
            recurrence_dtype=self.recurrence_dtype,
            token_order=("channel-major; each channel alone; window left-padded with NaN "
                         "to the training context, padding tokens dropped"),
        )

    def hidden_states(self, rows: Any) -> list[Any]:
        """Every block's output and the final norm (series x tokens x dim), real tokens only."""
        with capture_outputs({"final_norm": self.model.out_norm}) as captured, \
                recurrence_precision(self.model, self.recurrence_dtype):
            blocks = self.model._embed_context(rows)  # series x tokens x blocks x dim
        n_tokens = blocks.shape[1]
        final = captured["final_norm"][:, -n_tokens:]
        return [*blocks.unbind(dim=2), final]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Hidden states of every layer for windows x channels x samples."""
        return self.embed_channels_alone(self.check_input(windows, sampling_rate_hz),
                                         self.patch_size, self.dim, self.hidden_states)
