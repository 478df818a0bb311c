"""CLI subcommands of the probes stage: ``physio-bench probe``."""

from __future__ import annotations

import argparse
import sys
import time

from physio_bench.cli import config_from_args, stage_command

PROBES = ("feature_independence", "temporal_dynamics", "scenario_separation")


def _probe(args: argparse.Namespace) -> int:
    from physio_bench.io import save_predictions, write_json, write_leaderboard_rows
    from physio_bench.probes.runner import run_probe_outputs

    config = config_from_args(args)
    start = time.perf_counter()
    output = run_probe_outputs(config, args.probe, args.model, args.results)
    if args.out_predictions:
        save_predictions(args.out_predictions, output.predictions)
    write_json(args.out_json, output.detail)
    write_leaderboard_rows(args.out_csv, output.rows)
    print(f"probe {args.probe} of {args.model}: {len(output.rows)} leaderboard rows, "
          f"{len(output.predictions)} predictions in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    parser = stage_command(
        subparsers, _probe,
        "probe", help="run one linear probe on one model's embeddings (all layers)")
    parser.add_argument("--model", required=True, help="model name in the config")
    parser.add_argument("--probe", required=True, choices=PROBES)
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--out-json", required=True, help="JSON detail output path")
    parser.add_argument("--out-csv", required=True, help="leaderboard rows CSV output path")
    parser.add_argument("--out-predictions", default=None,
                        help="out-of-fold predictions Parquet output path (optional)")
