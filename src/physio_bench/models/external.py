"""Models whose libraries pin versions that conflict with physio_bench's environment:
MOMENT (``momentfm``), Toto (``toto-ts``) and TTM (``granite-tsfm``).

Each runs in its own virtual environment, ``plugins/physio-bench-<name>/.venv``, built by
``make plugin-envs`` (``plugins/build-env.sh``: exact versions from the plug-in's
``requirements.lock``, the CPU torch 2.13.0 wheel included), through the ``subprocess``
plug-in (:mod:`physio_bench.models.subprocess_plugin`: a worker process, arrays as
``.npy``, nothing pickled). These entry points only name that environment and the
plug-in inside it, so a config entry reads like any other::

    moment-large: {plugin: moment, weights: AutonLab/MOMENT-1-large, input_hz: 16}

``python`` may point at another interpreter; every other option goes to the plug-in in
that environment (see ``plugins/physio-bench-<name>/README.md``). Each class carries the
input rate its plug-in recommends (``default_input_hz``), so that the core can resample
windows without starting the worker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from physio_bench.errors import ModelError
from physio_bench.models.protocol import ModelInfo
from physio_bench.models.subprocess_plugin import SubprocessModel, resolve_python
from physio_bench.models.weights import CONFIG_FILE, RANDOM, local_directory


class _OwnEnvironmentModel(SubprocessModel):
    plugin: ClassVar[str]
    default_input_hz: ClassVar[float]
    checkpoint_files: ClassVar[tuple[str, ...]] = ("config.json", "model.safetensors")

    @classmethod
    def weights_files(cls, options: dict[str, Any], name: str = "model"
                      ) -> tuple[str, tuple[str, ...]] | None:
        """Weights named in the entry and the files the worker's loader reads; None when
        the entry names none (the plug-in's default hub id is resolved in its own
        environment, which the pre-flight does not import). The pre-flight calls this
        for every enabled model, so it also checks that the environment is built."""
        cls.interpreter(name, options.get("python"))
        if "weights" not in options:
            return None
        return str(options["weights"]), cls.checkpoint_files

    @classmethod
    def interpreter(cls, name: str, python: str | None = None) -> str:
        """The interpreter the worker runs in: ``python``, else the plug-in's own
        environment (ModelError in one line when it is not built)."""
        if python is not None:
            resolve_python(name, python)
            return python
        python = f"plugins/physio-bench-{cls.plugin}/.venv/bin/python"
        try:
            resolve_python(name, python)
        except ModelError:
            raise ModelError(
                f"model {name!r}: the {cls.plugin} environment ({python}) is not built: "
                f"run `make plugin-envs` (needs PyPI once), or set python: to an "
                f"interpreter where physio-bench-{cls.plugin} is installed") from None
        return python

    def __init__(self, name: str, seed: int = 0, python: str | None = None,
                 **options: Any) -> None:
        python = self.interpreter(name, python)
        super().__init__(name, seed, python=python, plugin_name=self.plugin, **options)

    def describe(self) -> ModelInfo:
        info = super().describe()
        info.plugin = self.plugin
        return info


class MomentModel(_OwnEnvironmentModel):
    """MOMENT (momentfm 0.1.4) in ``plugins/physio-bench-moment/.venv``."""

    plugin = "moment"
    default_input_hz = 16.0


class TotoModel(_OwnEnvironmentModel):
    """Toto (toto-ts 0.2.0) in ``plugins/physio-bench-toto/.venv``."""

    plugin = "toto"
    default_input_hz = 128.0


class TTMModel(_OwnEnvironmentModel):
    """TinyTimeMixer (granite-tsfm 0.3.11) in ``plugins/physio-bench-ttm/.venv``.

    ``weights``: a checkpoint directory (e.g. the shipped
    ``physio_bench:data/weights/ttm-r2``), a hub
    id in the local cache, or ``random`` with ``config``: the directory whose
    ``config.json`` gives the architecture (the untrained twin of that checkpoint).
    Relative directories are found in the working directory, else the repository root,
    and reach the worker as absolute paths; ``model.json`` keeps the configured value.
    The pre-flight checks the files (and their ``SHA256SUMS``) before any job runs.
    """

    plugin = "ttm"
    default_input_hz = 25.0  # the sensitivity study's choice (docs/models.md)

    @classmethod
    def weights_files(cls, options: dict[str, Any], name: str = "ttm"
                      ) -> tuple[str, tuple[str, ...]] | None:
        """The checkpoint's config and weights; for ``random``, the ``config`` directory's
        ``config.json`` (ModelError when ``config`` is missing)."""
        cls.interpreter(name, options.get("python"))
        if options.get("weights") == RANDOM:
            if not isinstance(options.get("config"), str) or not options["config"]:
                raise ModelError(
                    f"model {name!r}: weights: random needs option config: the checkpoint "
                    f"directory whose config.json gives the architecture (e.g. "
                    f"config: physio_bench:data/weights/ttm-r2)")
            return str(options["config"]), (CONFIG_FILE,)
        if "config" in options:
            raise ModelError(f"model {name!r}: option config is for weights: random only; "
                             f"a checkpoint brings its own config.json")
        return super().weights_files(options, name)

    def __init__(self, name: str, seed: int = 0, python: str | None = None,
                 **options: Any) -> None:
        self._configured = {k: options[k] for k in ("weights", "config") if k in options}
        for key, value in self._configured.items():
            found = local_directory(value) if isinstance(value, str) and value != RANDOM \
                else None
            if found is not None:
                options[key] = str(found.resolve())
        super().__init__(name, seed, python=python, **options)

    def describe(self) -> ModelInfo:
        info = super().describe()
        if "weights" in self._configured and self._configured["weights"] != RANDOM:
            info.weights_source = str(self._configured["weights"])
        if "config" in self._configured:
            info.extra["config_source"] = str(self._configured["config"])
        return info
