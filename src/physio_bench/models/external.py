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


class _OwnEnvironmentModel(SubprocessModel):
    plugin: ClassVar[str]
    default_input_hz: ClassVar[float]
    checkpoint_files: ClassVar[tuple[str, ...]] = ("config.json", "model.safetensors")

    @classmethod
    def weights_files(cls, options: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
        """Weights named in the entry and the files the worker's loader reads; None when
        the entry names none (the plug-in's default hub id is resolved in its own
        environment, which the pre-flight does not import)."""
        if "weights" not in options:
            return None
        return str(options["weights"]), cls.checkpoint_files

    def __init__(self, name: str, seed: int = 0, python: str | None = None,
                 **options: Any) -> None:
        if python is None:
            python = f"plugins/physio-bench-{self.plugin}/.venv/bin/python"
            try:
                resolve_python(name, python)
            except ModelError:
                raise ModelError(
                    f"model {name!r}: the {self.plugin} environment ({python}) is not built: "
                    f"run `make plugin-envs` (needs PyPI once), or set python: to an "
                    f"interpreter where physio-bench-{self.plugin} is installed") from None
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
    """TinyTimeMixer (granite-tsfm 0.3.11) in ``plugins/physio-bench-ttm/.venv``."""

    plugin = "ttm"
    default_input_hz = 16.0
