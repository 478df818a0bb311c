"""CLI subcommands of the forecast-skill stage, as run by ``workflow/rules/forecast.smk``
and ``workflow/rules/report.smk``::

    physio-bench forecast-skill --configfile C --results results
    physio-bench forecast-table --csv results/forecast_skill.csv --out T.html
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from physio_bench.cli import config_from_args, stage_command


def _forecast_skill(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from physio_bench.forecast.run import forecast_skill, verdicts
    from physio_bench.io import atomic_write_bytes, write_json

    table, summary = forecast_skill(config_from_args(args), args.results)
    out = Path(args.results)
    atomic_write_bytes(out / "forecast_skill.csv", table.to_csv(index=False).encode())
    write_json(out / "forecast_skill.json", summary)
    print(verdicts(table).to_string(index=False), file=sys.stderr)
    print(f"forecast-skill: {len(summary['models'])} models, {summary['windows']} windows, "
          f"{summary['cpu_s']} CPU-s", file=sys.stderr)
    return 0


def _forecast_table(args: argparse.Namespace) -> int:
    import pandas as pd

    from physio_bench.errors import InputError
    from physio_bench.forecast.table import skill_html
    from physio_bench.io import atomic_write_bytes

    if not Path(args.csv).is_file():
        raise InputError(f"forecast-table: {args.csv} not found: run forecast-skill first")
    atomic_write_bytes(Path(args.out), skill_html(pd.read_csv(args.csv)).encode())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    parser = stage_command(
        subparsers, _forecast_skill,
        "forecast-skill",
        help="masked- and next-patch forecast skill of Moirai checkpoints vs baselines",
        description="Write RESULTS/forecast_skill.csv and forecast_skill.json: NLL, CRPS and "
        "median correlation of each forecast.models instance and of three baselines on a "
        "held-out suite, with subject-bootstrap intervals and skill scores.",
    )
    parser.add_argument("--results", default="results", metavar="DIR",
                        help="results folder holding simulated/ (default: results)")
    table = subparsers.add_parser(
        "forecast-table", help="the report's forecast-skill table (HTML) from its CSV",
        description="Write one HTML table: per model, signal kind and task, the median "
        "correlation and the CRPS skill against each baseline, with 95% intervals.")
    table.add_argument("--csv", required=True, help="results/forecast_skill.csv")
    table.add_argument("--out", required=True, help="HTML file to write")
    table.set_defaults(func=_forecast_table)
