"""Where a model's weights come from: ``random``, a local directory, or a hub id.

The ``weights`` option of the transformer plug-ins takes one of:

* ``random``: a seeded initialisation of the same architecture (an untrained control,
  always flagged ``pretrained: false`` and named ``random (seed=N)``);
* a local directory holding the checkpoint files (``config.json``, ``model.safetensors``);
* a Hugging Face hub id (``org/name``), looked up in the local Hugging Face cache first
  (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``), then, unless
  ``HF_HUB_OFFLINE=1``, downloaded from the hub. When neither works the error is one line
  naming the model, the hub id and the command that pre-downloads it on a connected
  machine.

Checkpoints are data, not code: the adapters load them from safetensors only. Every
library call gets a local directory that holds nothing but the checkpoint's ``.json`` and
``.safetensors`` files (links into the real directory, :func:`safetensors_only_view`), so
no library can fall back to a pickled ``pytorch_model.bin`` beside them, and nothing here
reaches the network except the one explicit download (of ``.json`` and ``.safetensors``
files only). Provenance: the SHA-256 of the weights file (for hub files it equals
the file's LFS object id), or for random weights the SHA-256 of the initial state dict.

Checksums: a checkpoint directory that holds ``SHA256SUMS`` (``sha256sum`` format, as the
weights shipped in ``data/weights/`` do) must list every file the loader reads, and each
must match; a corrupted or truncated file is a one-line ModelError naming it, raised by
the pre-flight (:func:`check_weights_on_disk`) before any job runs and again at load
(:func:`resolve_checkpoint`).
A checkpoint written by the finetune stage also holds ``training.json``; its
``training`` block (``type``: ``trained on synthetic`` or ``fine-tuned from <weights>``,
start weights, steps, loss, input rate, patch size, training suite digest) is copied
into the model's provenance (``model.json`` ``extra.training``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from physio_bench.config import is_package_path, resolve_config_path
from physio_bench.errors import ModelError, PhysioBenchError
from physio_bench.models.protocol import ModelInfo
from physio_bench.models.torch_utils import (
    Placement,
    count_parameters,
    distribution_versions,
    seeded,
    stdout_to_stderr,
)
from physio_bench_kit import state_dict_sha256 as state_dict_sha256

if TYPE_CHECKING:
    import torch

RANDOM = "random"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CHECKPOINT_FILES = (CONFIG_FILE, WEIGHTS_FILE)  # what a transformer checkpoint directory holds
TRAINING_FILE = "training.json"  # a finetune checkpoint's provenance (model.json extra.training)
CHECKSUMS_FILE = "SHA256SUMS"  # optional, sha256sum format: verified before loading
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_TRUE = {"1", "on", "yes", "true"}

M = TypeVar("M")


@dataclass(frozen=True)
class WeightsSpec:
    """A parsed ``weights`` option.

    Attributes:
        kind: ``random``, ``local`` or ``hub``.
        value: ``random``, the directory as given, or the hub id.
    """

    kind: str
    value: str


@dataclass
class LoadedWeights(Generic[M]):
    """A model together with the provenance recorded in ``model.json``."""

    model: M
    pretrained: bool
    source: str  # "random (seed=N)", a directory, or a hub id
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)


def loaded_model_info(
    *,
    name: str,
    plugin: str,
    architecture: str,
    weights: LoadedWeights[Any],
    placement: Placement,
    layer_names: Sequence[str],
    max_window_samples: int | None,
    packages: Sequence[str],
    extra: dict[str, Any],
    default_input_hz: float | None = None,
) -> ModelInfo:
    """``ModelInfo`` of an adapter whose module came from :func:`load_weights`.

    Provenance (pretrained flag, source, SHA-256 and ``weights.extra``), placement
    (device, dtype, the TF32 state and the note when the dtype was changed), the exact
    parameter count of the loaded module and the versions of ``packages`` are filled in
    here, so every adapter reports them the same way; ``extra`` holds the adapter's own
    details.
    """
    extra = {**extra, **weights.extra, "tf32": placement.tf32()}
    if placement.note:
        extra["dtype_note"] = placement.note
    return ModelInfo(
        name=name,
        plugin=plugin,
        architecture=architecture,
        n_parameters=count_parameters(weights.model),
        pretrained=weights.pretrained,
        weights_source=weights.source,
        layer_names=list(layer_names),
        weights_sha256=weights.sha256,
        max_window_samples=max_window_samples,
        default_input_hz=default_input_hz,
        device=placement.device,
        dtype=placement.dtype,
        versions=distribution_versions(*packages),
        extra=extra,
    )


def parse_weights(value: Any, name: str) -> WeightsSpec:
    """Classify a ``weights`` option: ``random``, an existing directory, or a hub id.

    An existing directory wins over a hub id of the same spelling; a value that is
    neither an existing directory nor shaped like ``org/name`` is a local path that must
    exist. A relative directory starts at the working directory of the run; one named
    ``<package>:<path>`` ships inside an installed package and is returned as its
    absolute path (:func:`physio_bench.config.resolve_config_path`).

    Raises:
        ModelError: not a string, or a local path that is missing or not a directory.
    """
    if not isinstance(value, str) or not value.strip():
        raise ModelError(f"model {name!r}: option weights must be 'random', a hub id "
                         f"(org/name) or a local directory, got {value!r}")
    if value == RANDOM:
        return WeightsSpec(RANDOM, RANDOM)
    try:
        path = resolve_config_path(value)
    except PhysioBenchError as exc:
        raise ModelError(f"model {name!r}: weights: {exc}") from exc
    if path.is_dir():
        return WeightsSpec("local", str(path) if is_package_path(value) else value)
    if HUB_ID.fullmatch(value) and not path.exists():
        return WeightsSpec("hub", value)
    if path.exists():
        raise ModelError(f"model {name!r}: weights path {value} is a file; point weights: "
                         f"at the directory that holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    raise ModelError(f"model {name!r}: weights directory {value} does not exist; set "
                     f"weights: to random, a hub id (org/name) or an existing checkpoint "
                     f"directory")


def local_directory(value: str) -> Path | None:
    """The existing directory a local ``weights`` value names, or None: a relative path
    from the working directory of the run, ``<package>:<path>`` inside an installed
    package (``physio_bench:data/weights/ttm-r2``: the weights shipped with physio_bench;
    :func:`physio_bench.config.resolve_config_path`)."""
    try:
        path = resolve_config_path(value)
    except PhysioBenchError:
        return None
    return path if path.is_dir() else None


def read_checksums(path: Path) -> dict[str, str]:
    """``file name -> sha256`` from a ``sha256sum``-format file (``HEX  NAME`` or
    ``HEX *NAME`` per line; blank lines and ``#`` comments ignored).

    Raises:
        ModelError: a line that is not a 64-digit hex digest and a name.
    """
    sums: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.rstrip())
        if match is None:
            raise ModelError(f"{path} line {number} is not '<sha256>  <file>': fix or "
                             f"regenerate it with sha256sum")
        sums[match.group(2)] = match.group(1).lower()
    return sums


def verify_checksums(directory: Path, files: Sequence[str], name: str) -> dict[str, str]:
    """Check ``files`` of ``directory`` against its ``SHA256SUMS``, when it has one.

    Returns:
        ``file -> sha256`` of the verified files ({} when there is no ``SHA256SUMS``).

    Raises:
        ModelError: one line, when a file is not listed or its digest differs (a
            corrupted, truncated or replaced file).
    """
    listing = Path(directory) / CHECKSUMS_FILE
    if not listing.is_file():
        return {}
    expected = read_checksums(listing)
    verified: dict[str, str] = {}
    for file in files:
        if file not in expected:
            raise ModelError(f"model {name!r}: {listing} does not list {file}, which the "
                             f"loader reads: add its sha256 (sha256sum {file})")
        path = Path(directory) / file
        actual = file_sha256(path)
        if actual != expected[file]:
            raise ModelError(
                f"model {name!r}: {path} ({path.stat().st_size:,} bytes) does not match "
                f"{CHECKSUMS_FILE}: sha256 {actual[:16]}..., expected {expected[file][:16]}...; "
                f"the file is corrupted or truncated: restore it (e.g. git checkout -- {path})")
        verified[file] = actual
    return verified


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(xdg) / "huggingface" / "hub"


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(variable, "").strip().lower() in _TRUE
               for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def download_hint(hub_id: str) -> str:
    """How to fetch ``hub_id`` on a connected machine and bring it here."""
    return (f"on a connected machine run `hf download {hub_id}` (older clients: "
            f"`huggingface-cli download {hub_id}`), copy its Hugging Face cache here and "
            f"point HF_HOME at it, or set weights: to a local directory with the files")


def _missing(directory: Path, files: Sequence[str]) -> list[str]:
    return [file for file in files if not (directory / file).is_file()]


def _cached_snapshot(hub_id: str, files: Sequence[str], cache: Path) -> Path | None:
    """The cached snapshot directory holding all ``files`` of ``hub_id`` (``main``), if any."""
    from huggingface_hub import try_to_load_from_cache

    paths = []
    for file in files:
        found = try_to_load_from_cache(hub_id, file, cache_dir=cache)
        if not isinstance(found, str):
            return None
        paths.append(Path(found).parent)
    return paths[0] if len(set(paths)) == 1 else None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def resolve_checkpoint(spec: WeightsSpec, files: Sequence[str], name: str) -> Path:
    """The local directory holding ``files`` for a local or hub ``spec``.

    Hub ids: the cache first (no network); then, unless offline, one download of the
    JSON and safetensors files. Raises a one-line ModelError when the files cannot be had.
    """
    if spec.kind == "local":
        directory = local_directory(spec.value) or Path(spec.value).expanduser()
        missing = _missing(directory, files)
        if missing:
            raise ModelError(f"model {name!r}: weights directory {spec.value} lacks "
                             f"{', '.join(missing)} (a checkpoint needs {', '.join(files)})")
        verify_checksums(directory, files, name)
        return directory
    if spec.kind != "hub":
        raise ValueError(f"not a checkpoint source: {spec}")
    cache = hf_hub_cache()
    snapshot = _cached_snapshot(spec.value, files, cache)
    if snapshot is not None:
        verify_checksums(snapshot, files, name)
        return snapshot
    if hub_offline():
        reason = "HF_HUB_OFFLINE is set"
    else:
        try:
            from huggingface_hub import snapshot_download

            with stdout_to_stderr():
                downloaded = Path(snapshot_download(
                    spec.value, cache_dir=cache, allow_patterns=["*.json", "*.safetensors"]))
        except Exception as error:  # any failure (network, auth, missing repo) -> one line
            reason = f"the hub is unreachable ({_one_line(error)})"
        else:
            missing = _missing(downloaded, files)
            if not missing:
                verify_checksums(downloaded, files, name)
                return downloaded
            raise ModelError(f"model {name!r}: hub repository {spec.value} has no "
                             f"{', '.join(missing)}; point weights: at a checkpoint with "
                             f"{', '.join(files)}")
    raise ModelError(f"model {name!r}: weights {spec.value} are not in the Hugging Face "
                     f"cache {cache} and {reason}; {download_hint(spec.value)}")


def install_into_hf_cache(checkpoint: Path, hub_id: str, cache: Path) -> Path:
    """Place a local checkpoint directory in a Hugging Face cache under ``hub_id``.

    Writes the layout the hub client reads offline (``models--org--name/blobs/<sha256>``,
    ``snapshots/<revision>/<file>`` and ``refs/main``), so that ``weights: org/name``
    finds the files without network: for air-gapped machines that received a checkpoint
    as plain files, and for the tests. The revision is derived from the files' hashes.

    Returns:
        The snapshot directory.
    """
    import shutil

    if not HUB_ID.fullmatch(hub_id):
        raise ValueError(f"not a hub id (org/name): {hub_id}")
    files = sorted(p for p in Path(checkpoint).iterdir() if p.is_file())
    hashes = {p.name: file_sha256(p) for p in files}
    revision = hashlib.sha1("".join(f"{k}:{v}\n" for k, v in hashes.items()).encode())
    repo = Path(cache) / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision.hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in files:
        blob = repo / "blobs" / hashes[path.name]
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("..") / ".." / "blobs" / blob.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision.hexdigest())
    return snapshot


def file_sha256(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file (read in 4 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def random_source(seed: int) -> str:
    """The ``weights_source`` of an untrained model."""
    return f"random (seed={int(seed)})"


def load_weights(spec: WeightsSpec, *, name: str, seed: int, files: Sequence[str],
                 init_random: Callable[[], M], load_dir: Callable[[Path], M],
                 weights_file: str = WEIGHTS_FILE) -> LoadedWeights[M]:
    """Build a model from random weights or load it from a checkpoint directory.

    Args:
        spec: the parsed ``weights`` option.
        name: the model's config name (for messages).
        seed: seed of the random initialisation (``torch.manual_seed``, RNG state of the
            caller left untouched).
        files: files a checkpoint directory must hold (checked before loading).
        init_random: builds the architecture with freshly initialised weights.
        load_dir: loads the model from a local checkpoint directory.
        weights_file: the file whose SHA-256 is the provenance (``model.safetensors``
            unless a plug-in's checkpoint names its weights file otherwise).

    Raises:
        ModelError: one line, for missing files or a checkpoint that does not load.
    """
    if spec.kind == RANDOM:
        with seeded(seed):
            model = init_random()
        return LoadedWeights(model, False, random_source(seed), state_dict_sha256(model))
    directory = resolve_checkpoint(spec, files, name)
    try:
        with stdout_to_stderr(), safetensors_only_view(directory) as view:
            model = load_dir(view)
    except ModelError:
        raise
    except Exception as error:
        raise ModelError(f"model {name!r}: cannot load weights from {directory} "
                         f"({_one_line(error)}); check that it is a checkpoint of this "
                         f"plug-in's architecture") from error
    extra: dict[str, Any] = {}
    if spec.kind == "hub":
        extra["weights_revision"] = directory.name
    if (directory / TRAINING_FILE).is_file():  # written by the finetune stage
        extra["training"] = json.loads((directory / TRAINING_FILE).read_text())["training"]
    return LoadedWeights(model, True, spec.value, file_sha256(directory / weights_file), extra)


SAFE_SUFFIXES = (".json", ".safetensors")


@contextlib.contextmanager
def safetensors_only_view(directory: Path) -> Iterator[Path]:
    """A temporary directory of symbolic links to the ``.json`` and ``.safetensors`` files
    of ``directory`` (nothing else: no pickle a library could fall back to)."""
    with tempfile.TemporaryDirectory(prefix="physio-bench-checkpoint-") as tmp:
        view = Path(tmp) / Path(directory).name
        view.mkdir()
        for path in sorted(Path(directory).iterdir()):
            if path.is_file() and path.suffix in SAFE_SUFFIXES:
                (view / path.name).symlink_to(path.resolve())
        yield view


def check_checkpoint_covers(module: torch.nn.Module, directory: Path) -> None:
    """Raise ValueError if ``model.safetensors`` lacks tensors of ``module``'s state dict.

    Libraries that tolerate missing keys (transformers initialises them at random) would
    otherwise hide a wrong checkpoint. Tied tensors count as present when any of their
    names is in the file.
    """
    from safetensors import safe_open

    with safe_open(str(directory / WEIGHTS_FILE), framework="pt") as handle:
        stored = set(handle.keys())
    groups: dict[int, list[str]] = {}
    for key, tensor in module.state_dict(keep_vars=True).items():
        groups.setdefault(tensor.data_ptr(), []).append(key)
    missing = [keys[0] for keys in groups.values() if not stored.intersection(keys)]
    if missing:
        raise ValueError(f"{WEIGHTS_FILE} lacks {len(missing)} tensor(s), e.g. {missing[0]}")


def weights_requirement(model_name: str, options: dict[str, Any]
                        ) -> tuple[str, tuple[str, ...]] | None:
    """``(weights, files)`` an enabled model needs on disk, or None (no weights).

    Asks the plug-in's factory (``weights_files(options)``, which knows the plug-in's
    default hub id and the files its loader reads); for a plug-in without it, a
    ``weights`` option needs ``model.safetensors``. Imports the plug-in's module, not
    torch.
    """
    import inspect

    from physio_bench.models.registry import load_factory, plugin_options

    factory = load_factory(model_name, options)
    method = getattr(factory, "weights_files", None)
    if callable(method):
        named = "name" in inspect.signature(method).parameters  # for its error messages
        found = method(plugin_options(options), **({"name": model_name} if named else {}))
        return None if found is None else (str(found[0]), tuple(found[1]))
    if "weights" in options:
        return str(options["weights"]), (WEIGHTS_FILE,)
    return None


def check_weights_on_disk(model_name: str, options: dict[str, Any]) -> None:
    """Before any job runs: a model's weights must be usable without network.

    Covers the plug-in's default hub id when the entry names no ``weights``, and every
    file the loader reads (:func:`weights_requirement`). ``random`` always is usable; a
    local directory must hold the files; a hub id must be in the Hugging Face cache with
    all of them, since the workflow never downloads at run time. Files listed in the
    directory's ``SHA256SUMS`` must match it (:func:`verify_checksums`). Cheap: no model
    is built and no torch is imported (hashing a few MB).

    Raises:
        ModelError: one line naming the model, the weights, the missing or corrupted
            files and how to fetch or restore them.
    """
    needed = weights_requirement(model_name, options)
    if needed is None:
        return
    weights, files = needed
    spec = parse_weights(weights, model_name)
    if spec.kind == RANDOM:
        return
    if spec.kind == "local":
        resolve_checkpoint(spec, files, model_name)  # names missing or corrupted files
        return
    cache = hf_hub_cache()
    snapshot = _cached_snapshot(spec.value, files, cache)
    if snapshot is not None:
        verify_checksums(snapshot, files, model_name)
    else:
        from huggingface_hub import try_to_load_from_cache

        missing = [f for f in files if not isinstance(
            try_to_load_from_cache(spec.value, f, cache_dir=cache), str)]
        what = (f"lack {', '.join(missing)}" if missing and len(missing) < len(files)
                else "are not")
        raise ModelError(
            f"model {model_name!r}: pretrained weights {spec.value} {what} in the Hugging "
            f"Face cache ({cache}; the loader needs {', '.join(files)}) and the benchmark "
            f"does not download at run time; {download_hint(spec.value)}"
        )
