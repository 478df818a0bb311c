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

from physio_bench.config import enabled_models, read_config, validate_schema


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Schema and semantic checks of ``config``; return it with defaults filled.

    Raises:
        ConfigError: one line naming the key and the fix.
    """
    from physio_bench.simulate import check_simulate_config

    config = validate_schema(config)
    check_simulate_config(config)
    return config


def load_config(paths: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Load ``config.yaml`` merged with each file in ``paths`` (later wins), then validate.

    ``paths=None`` loads the default ``config.yaml`` alone.
    """
    return validate_config(read_config(paths))


def check_before_run(config: dict[str, Any]) -> None:
    """Cheap checks of what the config points to, before any job runs.

    Every enabled model's plug-in must be installed, its pretrained weights already on
    disk (hub cache or local folder), and every dataset of real recordings must have a
    known reader, an existing folder, and records with the named channels that are longer
    than a window (headers only).
    """
    from physio_bench.downstream import check_datasets
    from physio_bench.models.registry import check_models
    from physio_bench.models.weights import check_weights_on_disk

    check_models(config)
    for name, options in enabled_models(config).items():
        if options["plugin"] != "subprocess":  # another interpreter resolves its own weights
            check_weights_on_disk(name, options)
    check_datasets(config)
