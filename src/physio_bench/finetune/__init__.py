"""The finetune stage: train Moirai on simulated physiology with uni2ts's own objective.

The benchmark's positive control: a model known to have learned physiology must beat
its untrained twin on the probes that claim to measure physiology. A run
(``finetune.runs.<name>``, :mod:`physio_bench.finetune.settings`) starts from the
seeded random initialisation of the untrained control ("trained on synthetic") or from
published weights ("fine-tuned from <weights>"), trains for a fixed number of steps on a
training suite (:mod:`~physio_bench.finetune.data`) with ``MoiraiPretrain``'s masked
prediction objective (:mod:`~physio_bench.finetune.objective`,
:mod:`~physio_bench.finetune.train`) and writes ``results/finetune/<name>/checkpoint``,
a local checkpoint directory that a model entry evaluates like any other
(``weights: results/finetune/<name>/checkpoint``).

Importing this package is cheap (no torch): the workflow and the config checks call
the functions below while planning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from physio_bench.errors import ConfigError
from physio_bench.finetune.settings import (
    RunSettings,
    checkpoint_dir,
    enabled_runs,
    run_dir,
    run_settings,
)

__all__ = [
    "TrainedModel", "check_finetune_config", "checkpoint_dir", "enabled_runs",
    "produced_weights", "run_dir", "run_outputs", "run_settings", "trained_models",
]

CHECKPOINT_FILES = ("config.json", "model.safetensors", "training.json")


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def run_outputs(name: str) -> dict[str, str]:
    """The files a run writes (the workflow's declared outputs)."""
    directory = checkpoint_dir(name)
    return {
        **{f.split(".")[0]: str(directory / f) for f in CHECKPOINT_FILES},
        "provenance": str(run_dir(name) / "provenance.json"),
        "loss": str(run_dir(name) / "loss.csv"),
    }


def produced_weights(config: dict[str, Any]) -> dict[str, str]:
    """Checkpoint directory -> run name, for every enabled run."""
    return {str(checkpoint_dir(name)): name for name in enabled_runs(config)}


def run_of_model(config: dict[str, Any], options: dict[str, Any]) -> str | None:
    """The run (any, enabled or not) whose checkpoint a model entry's ``weights`` names."""
    weights = options.get("weights")
    if not isinstance(weights, str):
        return None
    for name in config.get("finetune", {}).get("runs", {}):
        if _same_path(weights, str(checkpoint_dir(name))):
            return name
    return None


@dataclass(frozen=True)
class TrainedModel:
    """A model entry that evaluates a run's checkpoint, and what it is compared against.

    ``twin`` is the enabled model of the same architecture before training: for a
    random start, a Moirai entry with ``weights: random`` and the run's size; for a
    published start, the entry with the run's start weights. None when none is enabled.
    """

    run: str
    model: str
    twin: str | None


def _shape(size: str, d_model: int | None, num_layers: int | None) -> tuple[int, int]:
    """(d_model, layers) of a Moirai ``size`` with optional overrides."""
    from physio_bench.models import MOIRAI_SIZES

    return (d_model or MOIRAI_SIZES[size][0], num_layers or MOIRAI_SIZES[size][1])


def _twin(config: dict[str, Any], settings: RunSettings) -> str | None:
    """The configured untrained control (a ``models:`` name; a replicated control is named
    as configured, not by its seed instances) the run's model is compared with: for a
    random start, the untrained Moirai of the same size, width and depth (the same
    seeded initialisation); else the model of the run's start weights."""
    for name, options in config["models"].items():
        if not options.get("enabled", True):
            continue
        if options.get("plugin") != "moirai" or run_of_model(config, options):
            continue
        weights = options.get("weights")
        if settings.from_random and weights == "random" and _shape(
                options.get("size", "small"), options.get("d_model"),
                options.get("num_layers")) == _shape(settings.size, settings.d_model,
                                                     settings.num_layers):
            return name
        if not settings.from_random and isinstance(weights, str) and \
                _same_path(weights, settings.weights):
            return name
    return None


def trained_models(config: dict[str, Any]) -> list[TrainedModel]:
    """Every enabled model that evaluates an enabled run's checkpoint (config order)."""
    from physio_bench.config import enabled_models

    found = []
    runs = set(enabled_runs(config))
    for model, options in enabled_models(config).items():
        run = run_of_model(config, options)
        if run in runs:
            found.append(TrainedModel(run, model, _twin(config, run_settings(config, run))))
    return found


def check_finetune_config(config: dict[str, Any]) -> None:
    """Cross-key checks of the finetune section and of the models evaluating its runs.

    Every run's settings must be consistent; a model entry whose ``weights`` names a
    run's checkpoint must use the moirai plug-in, the run must be enabled, and the entry
    must set ``patch_size`` and ``input_hz`` to the run's values (the evaluation must see
    windows at the rate and patch size the model was trained on); the untrained twin, if
    it sets them, must use the same values (a fair comparison).

    Raises:
        ConfigError: one line naming the key.
    """
    from physio_bench.config import enabled_models, model_entry

    runs = config.get("finetune", {}).get("runs", {})
    settings = {name: run_settings(config, name) for name in runs}
    active = set(enabled_runs(config))
    for model, options in enabled_models(config).items():
        run = run_of_model(config, options)
        if run is None:
            continue
        key = f"models.{model}"
        if run not in active:
            raise ConfigError(f"config key '{key}' evaluates finetune run {run!r}, which is "
                              f"disabled: enable finetune.runs.{run} or disable the model")
        if options.get("plugin") != "moirai":
            raise ConfigError(f"config key '{key}.plugin' must be moirai to evaluate the Moirai"
                              f" checkpoint of finetune run {run!r}")
        trained = settings[run]
        twin = _twin(config, trained)
        for option, value in (("patch_size", trained.patch_size),
                              ("input_hz", trained.input_hz)):
            if option not in options or float(options[option]) != float(value):
                raise ConfigError(
                    f"config key '{key}.{option}' must be {value:g}, the value finetune run "
                    f"{run!r} trained with (got {options.get(option, 'nothing')})")
            twin_value = model_entry(config, twin).get(option) if twin else None
            if twin_value is not None and float(twin_value) != float(value):
                raise ConfigError(
                    f"config key 'models.{twin}.{option}' is {twin_value:g} but {model} "
                    f"(its trained twin) uses {value:g}: compare both at the same {option}")
