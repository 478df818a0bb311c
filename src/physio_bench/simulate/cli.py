"""CLI subcommands of the simulate stage: ``physio-bench simulate``."""

from __future__ import annotations

import argparse
import resource

from physio_bench.cli import config_from_args, stage_command
from physio_bench.config import SIMULATED_SUITES


def _simulate(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from physio_bench.simulate import count_windows, simulate_suite

    simulate_suite(config, args.suite, args.out)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"simulated {count_windows(config, args.suite)} {args.suite} windows into {args.out} "
          f"(peak memory {peak_mib:.0f} MiB)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    parser = stage_command(
        subparsers, _simulate,
        "simulate",
        help="simulate one suite of physiological windows with known events",
        description="Simulate one suite (factors, sweeps, scenarios or training) into --out: "
        "signals.npy, labels.parquet, targets.npz, events.parquet, meta.json.",
    )
    parser.add_argument("--suite", required=True, choices=SIMULATED_SUITES,
                        help="which suite to simulate")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
