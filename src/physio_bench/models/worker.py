"""Run a physio_bench model plug-in inside another Python environment.

This file is standalone: it needs only the standard library and numpy, so it runs in an
environment where physio_bench is not installed (e.g. one with MOMENT's old pins). It
provides the adapter kit (``physio_bench_kit``, numpy only, shipped beside the core) to
plug-ins there (:func:`provide_kit`), so they share its batching, spans and checkpoint
reading. The
``subprocess`` plug-in starts it by path, in isolated mode (``-I``: no script folder,
user site or ``PYTHON*`` variables on ``sys.path``)::

    <python> -I worker.py <work dir>

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout; arrays
travel as ``.npy`` files in the work dir (written and read with ``allow_pickle=False``).
Nothing is ever pickled. Requests:

- ``{"cmd": "load", "plugin": P, "name": N, "seed": S, "options": {...}}``: build the
  model from the entry point ``P`` in the group ``physio_bench.models`` of *this*
  environment; reply ``{"ok": true, "info": {...}, "environment": {...}, "members":
  [...]}`` (``members``: the optional protocol members the model has, e.g.
  ``["forecast"]``);
- ``{"cmd": "embed", "windows": FILE, "sampling_rate_hz": F, "tag": T}``: embed the
  float32 array in ``FILE``; reply ``{"ok": true, "layers": [[name, file], ...],
  "token_spans": file, "token_channels": file}``;
- ``{"cmd": "forecast", "context": FILE, "horizon_samples": H, "sampling_rate_hz": F,
  "targets": FILE or null, "tag": T}``: the model's zero-shot forecast of the float32
  context (windows x channels x samples); reply ``{"ok": true, "quantile_levels": [...],
  "quantiles": file, "nll": file or null}`` (quantiles: float32 windows x channels x
  levels x H; nll: float32 windows x channels x H, when the model gives it);
- ``{"cmd": "exit"}``.

A failure replies ``{"ok": false, "error_type": ..., "message": ...}`` (traceback on stderr).
Anything else written to stdout (by the plug-in or a C library) goes to stderr, so
stdout carries replies only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import Any

import numpy as np

GROUP = "physio_bench.models"
#: optional protocol members a proxy can forward (physio_bench.models.protocol)
OPTIONAL_MEMBERS = ("forecast",)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _info_dict(info: Any) -> dict[str, Any]:
    """A plug-in's ``describe()`` result as a plain dict (dataclass, to_dict() or mapping)."""
    if hasattr(info, "to_dict"):
        return dict(info.to_dict())
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        return dataclasses.asdict(info)
    return dict(info)


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


class Worker:
    """Holds the model between requests."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.model: Any = None

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        plugins = {ep.name: ep for ep in entry_points(group=GROUP)}
        plugin = request["plugin"]
        if plugin not in plugins:
            raise LookupError(
                f"plug-in {plugin!r} is not installed in {sys.prefix}: installed plug-ins are "
                f"{', '.join(sorted(plugins)) or 'none'}; pip install it with this interpreter"
            )
        entry_point = plugins[plugin]
        factory = entry_point.load()
        self.model = factory(name=request["name"], seed=request["seed"], **request["options"])
        dist = getattr(entry_point, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        environment = {
            "python": sys.executable,
            "prefix": sys.prefix,
            "python_version": sys.version.split()[0],
            "distribution": dist_name,
            "versions": {k: v for k, v in {
                "numpy": np.__version__, "torch": _version("torch"),
                dist_name: dist.version if dist is not None else None,
            }.items() if v is not None},
        }
        members = [m for m in OPTIONAL_MEMBERS if callable(getattr(self.model, m, None))]
        return {"info": _info_dict(self.model.describe()), "environment": environment,
                "members": members}

    def embed(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.model is None:
            raise RuntimeError("embed before load")
        windows = np.load(self.workdir / request["windows"], allow_pickle=False)
        result = self.model.embed(windows, float(request["sampling_rate_hz"]))
        get = result.get if isinstance(result, dict) else lambda key: getattr(result, key)
        tag = str(request.get("tag", "0"))
        layers = []
        for index, (layer, array) in enumerate(get("layers").items()):
            file = f"out-{tag}-layer{index}.npy"
            np.save(self.workdir / file, np.asarray(array, dtype=np.float32), allow_pickle=False)
            layers.append([str(layer), file])
        spans, channels = f"out-{tag}-spans.npy", f"out-{tag}-channels.npy"
        np.save(self.workdir / spans, np.asarray(get("token_spans"), dtype=np.int64),
                allow_pickle=False)
        np.save(self.workdir / channels, np.asarray(get("token_channels"), dtype=np.int64),
                allow_pickle=False)
        return {"layers": layers, "token_spans": spans, "token_channels": channels}


    def forecast(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.model is None:
            raise RuntimeError("forecast before load")
        if not callable(getattr(self.model, "forecast", None)):
            raise RuntimeError("this model has no forecast()")
        context = np.load(self.workdir / request["context"], allow_pickle=False)
        targets = (np.load(self.workdir / request["targets"], allow_pickle=False)
                   if request.get("targets") else None)
        result = self.model.forecast(context, int(request["horizon_samples"]),
                                     float(request["sampling_rate_hz"]), targets)
        tag = str(request.get("tag", "0"))
        quantiles = f"out-{tag}-quantiles.npy"
        np.save(self.workdir / quantiles, np.asarray(result["quantiles"], dtype=np.float32),
                allow_pickle=False)
        reply: dict[str, Any] = {
            "quantile_levels": [float(q) for q in result["quantile_levels"]],
            "quantiles": quantiles, "nll": None}
        if result.get("nll") is not None:
            reply["nll"] = f"out-{tag}-nll.npy"
            np.save(self.workdir / reply["nll"], np.asarray(result["nll"], dtype=np.float32),
                    allow_pickle=False)
        return reply


KIT = "physio_bench_kit"
#: the adapter kit shipped beside this file (src/physio_bench_kit/__init__.py)
KIT_PATH = Path(__file__).resolve().parents[2] / KIT / "__init__.py"


def provide_kit() -> None:
    """Make the adapter kit importable as ``physio_bench_kit`` in this interpreter: the
    installed one if there is one, else the file shipped with the core (numpy only), loaded
    by path so that nothing else of the core's environment reaches the plug-in's."""
    import importlib.util

    if importlib.util.find_spec(KIT) is not None or not KIT_PATH.is_file():
        return
    spec = importlib.util.spec_from_file_location(KIT, KIT_PATH)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[KIT] = module
    spec.loader.exec_module(module)


def main(argv: list[str]) -> int:
    provide_kit()
    workdir = Path(argv[1])
    sys.stdout.flush()
    replies = os.fdopen(os.dup(1), "w")  # replies only; anything else written to
    os.dup2(2, 1)  # stdout (by Python or by C libraries) now goes to stderr
    worker = Worker(workdir)
    for line in sys.stdin:
        request = json.loads(line)
        command = request.get("cmd")
        try:
            if command == "exit":
                reply: dict[str, Any] = {}
            elif command == "load":
                reply = worker.load(request)
            elif command == "embed":
                reply = worker.embed(request)
            elif command == "forecast":
                reply = worker.forecast(request)
            else:
                raise ValueError(f"unknown command {command!r}")
            reply["ok"] = True
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            message = str(exc).splitlines()[0] if str(exc) else ""
            reply = {"ok": False, "error_type": type(exc).__name__, "message": message}
        replies.write(json.dumps(reply, default=_jsonable) + "\n")
        replies.flush()
        if command == "exit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
