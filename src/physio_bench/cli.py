"""``physio-bench``: one subcommand per stage, so every stage runs without Snakemake.

Each stage subpackage registers its subcommands through a ``register(subparsers)``
function in its ``cli`` module; this file only wires them together and turns a
:class:`~physio_bench.errors.PhysioBenchError` into one line on stderr (exit code 2).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from physio_bench import __version__
from physio_bench.errors import PhysioBenchError

STAGE_CLI_MODULES = (
    "physio_bench.simulate.cli",
    "physio_bench.models.cli",
    "physio_bench.finetune.cli",
    "physio_bench.forecast.cli",
    "physio_bench.probes.cli",
    "physio_bench.downstream.cli",
    "physio_bench.compare.cli",
    "physio_bench.report.cli",
    "physio_bench.sensitivity.cli",
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """``--configfile`` (repeatable): merged over the default ``config.yaml`` that ships
    with physio_bench. Relative paths, of the file and inside it, start at the working
    directory (:func:`physio_bench.config.resolve_config_path`)."""
    parser.add_argument(
        "--configfile",
        action="append",
        default=[],
        metavar="YAML",
        help="config file merged over the default config.yaml (repeatable; later files win; "
             "relative paths in it start at the working directory)",
    )


def stage_command(subparsers: argparse._SubParsersAction, func: Callable[..., int],
                  name: str, **options: Any) -> argparse.ArgumentParser:
    """A stage's subcommand ``name`` (``options``: ``help``, ``description``) that takes
    ``--configfile`` (:func:`add_config_argument`) and runs ``func(args)``."""
    parser = subparsers.add_parser(name, **options)
    add_config_argument(parser)
    parser.set_defaults(func=func)
    return parser


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Load and validate the configuration named by ``--configfile``."""
    from physio_bench.preflight import load_config

    return load_config(args.configfile)


def _check_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from physio_bench.config import enabled_models
    from physio_bench.preflight import check_before_run

    check_before_run(config)

    print(f"config OK: {len(enabled_models(config))} enabled models: "
          f"{', '.join(enabled_models(config))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="physio-bench",
        description="Benchmark time-series foundation models on physiological signals.",
    )
    parser.add_argument("--version", action="version", version=f"physio-bench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stage_command(subparsers, _check_config, "check-config",
                  help="validate a configuration and exit")
    for module_name in STAGE_CLI_MODULES:
        module = importlib.import_module(module_name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PhysioBenchError as exc:
        print(f"physio-bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
