"""Everything checked before any job runs: schema, stage rules, plug-ins, weights, records.

:mod:`physio_bench.config` checks a configuration against the schema alone and imports no
stage. This module sits above the stages and adds the checks that need their knowledge;
the CLI and the Snakefile load configurations through it, so a wrong key, range, plug-in,
missing weights or record stops the run with one line before any expensive work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from physio_bench.config import (
    EVALUATION_SUITES,
    enabled_models,
    read_config,
    validate_schema,
)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Schema and semantic checks of ``config``; return it with defaults filled.

    Raises:
        ConfigError: one line naming the key and the fix.
    """
    from physio_bench.finetune import check_finetune_config
    from physio_bench.simulate import check_simulate_config

    config = validate_schema(config)
    check_simulate_config(config)
    check_finetune_config(config)
    return config


def load_config(paths: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Load ``config.yaml`` merged with each file in ``paths`` (later wins), then validate.

    ``paths=None`` loads the default ``config.yaml`` alone.
    """
    return validate_config(read_config(paths))


def check_before_run(config: dict[str, Any]) -> None:
    """Cheap checks of what the config points to, before any job runs.

    The evaluation suites must fit the window (breaths, SCRs and bursts per window);
    every enabled model's plug-in must be installed, its pretrained weights already on
    disk (hub cache or local folder, every file its loader reads, default hub ids
    included) unless a finetune run writes them, every enabled finetune run's start
    weights on disk, each model's ``input_hz`` an exact small ratio of the simulation
    rate; the models of ``sensitivity.models`` must be configured; every dataset of real
    recordings must have a known reader, an existing folder, and records with the named
    channels that are longer than a window (headers only).
    """
    from physio_bench.downstream import check_datasets
    from physio_bench.finetune import enabled_runs, produced_weights, run_settings
    from physio_bench.models.registry import check_models
    from physio_bench.models.resampling import rate_ratio
    from physio_bench.models.weights import check_weights_on_disk
    from physio_bench.sensitivity import variants
    from physio_bench.simulate import check_simulation

    check_datasets(config)  # the real recordings first: a config may be about them alone
    suites = [*EVALUATION_SUITES, *(["training"] if enabled_runs(config) else [])]
    check_simulation(config, suites)
    check_models(config)
    produced = {str(Path(p)) for p in produced_weights(config)}
    for name, options in enabled_models(config).items():
        written = str(Path(str(options.get("weights", "")))) in produced
        if options["plugin"] != "subprocess" and not written:
            # a subprocess plug-in's interpreter resolves its own weights; a finetune run
            # writes its model's weights before the model's embed jobs
            check_weights_on_disk(name, options)
        if options.get("input_hz") is not None:
            rate_ratio(config["sampling_rate_hz"], options["input_hz"],
                       f"config key 'models.{name}.input_hz'")
    for variant in variants(config):  # names under models:, rates with a small exact ratio
        if variant.input_hz is not None:  # a context variant keeps its model's own rate
            rate_ratio(config["sampling_rate_hz"], variant.input_hz,
                       "config key 'sensitivity.input_hz'")
    for run in enabled_runs(config):
        check_weights_on_disk(f"finetune run {run}",
                              {"plugin": "moirai", "weights": run_settings(config, run).weights})
