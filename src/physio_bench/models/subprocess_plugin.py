"""``subprocess``: run a plug-in installed in another Python environment.

Config entry::

    moment-large: {plugin: subprocess, python: plugins/physio-bench-moment/.venv/bin/python,
                   plugin_name: moment, weights: AutonLab/MOMENT-1-large}

``python`` is that environment's interpreter (absolute, or relative to the working
directory or else to the repository root), ``plugin_name`` the entry point (group
``physio_bench.models``) installed *there*; all other options go to that plug-in's
factory. The child runs :mod:`physio_bench.models.worker` by file path (it needs only
numpy, not physio_bench) and stays up for the model's lifetime; requests and replies are
JSON lines, arrays ``.npy`` files in a private temp dir. The argv is a list (no shell).

Optional protocol members are forwarded when the model in the child has them: the proxy
then has ``forecast(context, horizon_samples, sampling_rate_hz, targets=None)``
(:mod:`physio_bench.models.protocol`), and lacks it otherwise, so
``callable(getattr(model, "forecast", None))`` tells the same in both processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import IO, Any

import numpy as np

from physio_bench.errors import InputError, ModelError
from physio_bench.models.protocol import ModelInfo, TokenEmbeddings

WORKER_PATH = Path(__file__).with_name("worker.py")
REPO_ROOT = Path(__file__).resolve().parents[3]


def resolve_python(model_name: str, python: Any) -> Path:
    """The interpreter named by a ``subprocess`` model's ``python`` option (not resolved
    through symlinks, so a virtual environment's ``bin/python`` stays that environment's).

    Raises:
        ModelError: the option is missing, or the file does not exist or is not executable.
    """
    if not isinstance(python, str) or not python:
        raise ModelError(
            f"model {model_name!r} (plugin: subprocess) needs option python: the path of the "
            "interpreter of the environment where its plug-in is installed"
        )
    path = Path(python).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPO_ROOT / path]
    for candidate in candidates:
        if candidate.is_file():
            if not os.access(candidate, os.X_OK):
                raise ModelError(f"model {model_name!r}: interpreter {candidate} is not "
                                 "executable: fix its permissions or the python option")
            return candidate
    raise ModelError(
        f"model {model_name!r}: interpreter {python} does not exist: build the plug-in's "
        f"environment (see its README) or fix models.{model_name}.python"
    )


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else "(no output on stderr)"


def _shutdown(process: subprocess.Popen, workdir: Path, stderr: IO[bytes]) -> None:
    """Ask the worker to exit, kill it if it does not, and remove the work dir."""
    try:
        if process.poll() is None:
            try:
                process.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                process.stdin.flush()
            except (OSError, ValueError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    finally:
        stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


class SubprocessModel:
    """A plug-in running in another interpreter, behind the same protocol."""

    def __init__(self, name: str, seed: int = 0, python: str | None = None,
                 plugin_name: str | None = None, **options: Any) -> None:
        self.name = name
        self.python = resolve_python(name, python)
        if not isinstance(plugin_name, str) or not plugin_name:
            raise ModelError(
                f"model {name!r} (plugin: subprocess) needs option plugin_name: the plug-in's "
                f"entry-point name in the environment of {self.python}"
            )
        self.plugin_name = plugin_name
        self._calls = 0
        self._workdir = Path(tempfile.mkdtemp(prefix="physio-bench-worker-"))
        self._stderr_path = self._workdir / "stderr.log"
        stderr = open(self._stderr_path, "wb")  # noqa: SIM115 (closed by _shutdown)
        try:
            self._process = subprocess.Popen(
                [str(self.python), "-I", str(WORKER_PATH), str(self._workdir)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                text=True, bufsize=1,
            )
        except OSError as exc:
            stderr.close()
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise ModelError(f"model {name!r}: cannot start {self.python}: {exc}") from exc
        self._finalizer = weakref.finalize(
            self, _shutdown, self._process, self._workdir, stderr)
        try:
            reply = self._request({"cmd": "load", "plugin": plugin_name, "name": name,
                                   "seed": int(seed), "options": options})
        except BaseException:
            self.close()
            raise
        self._info, self._environment = reply["info"], reply["environment"]
        self.members = tuple(reply.get("members", ()))
        if "forecast" in self.members:
            self.forecast = self._forecast

    def _died(self) -> ModelError:
        code = self._process.wait()
        return ModelError(
            f"model {self.name!r}: plug-in worker in {self.python} exited with code {code}: "
            f"{_last_line(self._stderr_path)}"
        )

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        if not self._finalizer.alive:
            raise ModelError(f"model {self.name!r}: its worker was closed")
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        line = self._process.stdout.readline()
        if not line:
            raise self._died()
        reply = json.loads(line)
        if not reply.get("ok"):
            kind = InputError if reply.get("error_type") == "InputError" else ModelError
            raise kind(
                f"model {self.name!r}: plug-in {self.plugin_name!r} in {self.python} failed: "
                f"{reply.get('error_type')}: {reply.get('message')}"
            )
        return reply

    def describe(self) -> ModelInfo:
        info = ModelInfo.from_any(self._info)
        info.name, info.plugin = self.name, "subprocess"
        info.versions = {**info.versions, **{
            f"worker:{k}": v for k, v in self._environment["versions"].items()}}
        info.versions["worker:python"] = self._environment["python_version"]
        info.extra = {**info.extra, "python": str(self.python), "plugin_name": self.plugin_name,
                      "worker_prefix": self._environment["prefix"],
                      "worker_distribution": self._environment["distribution"]}
        return info

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        self._calls += 1
        tag = str(self._calls)
        name = f"in-{tag}.npy"
        np.save(self._workdir / name, np.ascontiguousarray(windows, dtype=np.float32),
                allow_pickle=False)
        reply = self._request({"cmd": "embed", "windows": name,
                               "sampling_rate_hz": float(sampling_rate_hz), "tag": tag})
        files = [name, reply["token_spans"], reply["token_channels"]]
        try:
            layers = {}
            for layer, file in reply["layers"]:
                layers[layer] = np.load(self._workdir / file, allow_pickle=False)
                files.append(file)
            spans = np.load(self._workdir / reply["token_spans"], allow_pickle=False)
            channels = np.load(self._workdir / reply["token_channels"], allow_pickle=False)
        finally:
            for file in files:
                (self._workdir / file).unlink(missing_ok=True)
        return TokenEmbeddings(layers, spans, channels)

    def _forecast(self, context: np.ndarray, horizon_samples: int, sampling_rate_hz: float,
                  targets: np.ndarray | None = None) -> dict[str, Any]:
        """The child model's ``forecast`` (arrays as ``.npy`` files both ways)."""
        self._calls += 1
        tag = str(self._calls)
        files = [f"ctx-{tag}.npy"]
        np.save(self._workdir / files[0], np.ascontiguousarray(context, dtype=np.float32),
                allow_pickle=False)
        if targets is not None:
            files.append(f"tgt-{tag}.npy")
            np.save(self._workdir / files[1], np.ascontiguousarray(targets, dtype=np.float32),
                    allow_pickle=False)
        try:
            reply = self._request({
                "cmd": "forecast", "context": files[0], "horizon_samples": int(horizon_samples),
                "sampling_rate_hz": float(sampling_rate_hz),
                "targets": files[1] if targets is not None else None, "tag": tag})
            files += [f for f in (reply["quantiles"], reply.get("nll")) if f]
            out: dict[str, Any] = {
                "quantile_levels": [float(q) for q in reply["quantile_levels"]],
                "quantiles": np.load(self._workdir / reply["quantiles"], allow_pickle=False)}
            if reply.get("nll"):
                out["nll"] = np.load(self._workdir / reply["nll"], allow_pickle=False)
        finally:
            for file in files:
                (self._workdir / file).unlink(missing_ok=True)
        return out

    def close(self) -> None:
        """Stop the worker and remove its work dir (also done at garbage collection)."""
        self._finalizer()

    def __enter__(self) -> SubprocessModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
