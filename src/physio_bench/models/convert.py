"""One-time conversion of a published pickled state dict into the files the benchmark loads.

Some models are published only as a pickled PyTorch file (PaPaGei's ``papagei_s.pt``).
The benchmark reads safetensors only, so the user converts such a file once, explicitly:
:func:`convert_state_dict` reads it with ``torch.load(weights_only=True)`` (tensors and
plain containers, no arbitrary objects), optionally strips a key prefix (``module.`` of a
``DataParallel`` save), lets the plug-in check that it loads strictly into its
architecture, and writes to the output directory:

- ``config.json``: the architecture the plug-in builds (keys sorted);
- ``model.safetensors``: the state dict, tensors as stored (contiguous), the source's
  SHA-256 its only metadata (safetensors writes a metadata map in hash order, so one key
  keeps the bytes deterministic);
- ``conversion.json``: the source path, its SHA-256, the output files' SHA-256, the
  tensor and parameter counts, the command and the versions used.

The same source file always gives the same bytes; existing outputs are never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from physio_bench.errors import ModelError
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE, file_sha256

CONVERSION_FILE = "conversion.json"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def check_output_dir(out_dir: str | Path, command: str) -> Path:
    """The conversion's output directory, refused (one line) when it is a file or already
    holds a converted checkpoint."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ModelError(f"{command}: output {out} is a file, not a directory")
    existing = [f for f in (CONFIG_FILE, WEIGHTS_FILE, CONVERSION_FILE) if (out / f).exists()]
    if existing:
        raise ModelError(f"{command}: {out} already holds {', '.join(existing)}; remove them "
                         f"or choose another output directory")
    return out


def write_conversion(out: Path, weights_bytes: bytes, config_bytes: bytes,
                     record: dict[str, Any]) -> None:
    """Write ``model.safetensors``, ``config.json`` and ``conversion.json`` (each atomically:
    a partial file is renamed into place)."""
    out.mkdir(parents=True, exist_ok=True)
    _write_atomically(out / WEIGHTS_FILE, weights_bytes)
    _write_atomically(out / CONFIG_FILE, config_bytes)
    _write_atomically(out / CONVERSION_FILE,
                      (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def read_state_dict(path: Path, command: str, strip_prefix: str = "") -> dict[str, Any]:
    """A pickled state dict read with ``weights_only=True`` (one-line ModelError)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelError(f"{command}: cannot read {path} with torch.load(weights_only=True) "
                         f"({type(error).__name__}: {_first_line(error)})") from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ModelError(f"{command}: {path} is not a state dict (a mapping of names to "
                         f"tensors)")
    if strip_prefix and all(str(k).startswith(strip_prefix) for k in state):
        state = {str(k)[len(strip_prefix):]: v for k, v in state.items()}
    return dict(state)


def convert_state_dict(source: str | Path, out_dir: str | Path, *, command: str,
                       config: dict[str, Any], check: Callable[[dict[str, Any]], None],
                       strip_prefix: str = "", packages: Sequence[str] = ("torch",)
                       ) -> dict[str, Any]:
    """Convert a pickled state dict ``source`` into ``out_dir`` (see the module docstring).

    Args:
        source: the ``.pt`` file.
        out_dir: directory to write (created).
        command: the CLI command, for messages and provenance.
        config: the architecture, written as ``config.json``.
        check: raises when the state dict does not load strictly into the architecture.
        strip_prefix: removed from every key when every key has it.
        packages: whose versions the provenance records.

    Returns:
        The provenance record written to ``conversion.json``.

    Raises:
        ModelError: one line: a missing, unreadable or mismatched file, or existing outputs.
    """
    import torch
    from safetensors.torch import save

    from physio_bench import __version__
    from physio_bench.models.torch_utils import distribution_versions

    path = Path(source).expanduser()
    if not path.is_file():
        raise ModelError(f"{command}: {source} is not a file; give the downloaded .pt file")
    out = check_output_dir(out_dir, command)
    state = read_state_dict(path, command, strip_prefix)
    try:
        check(state)
    except Exception as error:
        raise ModelError(f"{command}: {path} does not load into the architecture "
                         f"({type(error).__name__}: {_first_line(error)})") from error
    tensors = {key: tensor.detach().to("cpu").clone(memory_format=torch.contiguous_format)
               for key, tensor in sorted(state.items())}
    source_sha256 = file_sha256(path)
    weights_bytes = save(tensors, metadata={"source_sha256": source_sha256})
    config_bytes = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    record = {
        "source": str(source), "source_file": path.name, "source_sha256": source_sha256,
        "converted_by": f"{command} (physio-bench {__version__})",
        "files": {CONFIG_FILE: hashlib.sha256(config_bytes).hexdigest(),
                  WEIGHTS_FILE: hashlib.sha256(weights_bytes).hexdigest()},
        "n_tensors": len(tensors),
        "n_parameters": int(sum(t.numel() for t in tensors.values() if t.is_floating_point())),
        "versions": distribution_versions(*packages),
    }
    write_conversion(out, weights_bytes, config_bytes, record)
    return record
