"""CLI subcommand of the compare stage: ``physio-bench compare``.

    physio-bench compare --configfile Y --results results [--out results/comparisons.csv]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from physio_bench.cli import config_from_args, stage_command


def _compare(args: argparse.Namespace) -> int:
    from physio_bench.compare.run import write_comparisons

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    start = time.perf_counter()
    path = write_comparisons(config_from_args(args), args.results, args.out)
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommand to the physio-bench parser."""
    parser = stage_command(
        subparsers, _compare,
        "compare", help="paired differences of each model to its untrained twin and to the "
                        "best baseline on the headline metrics")
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--out", default=None,
                        help="output CSV (default: RESULTS/comparisons.csv)")
