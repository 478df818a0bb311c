"""CLI subcommand of the finetune stage: ``physio-bench finetune``.

As run by ``workflow/rules/finetune.smk``::

    physio-bench finetune --configfile C --run moirai-tiny-synthetic \\
        --out-dir results/finetune/moirai-tiny-synthetic
"""

from __future__ import annotations

import argparse
import os

from physio_bench.cli import config_from_args, stage_command


def _finetune(args: argparse.Namespace) -> int:
    # Before torch loads: idle OpenMP threads sleep instead of spinning, which keeps two
    # threads fast on a machine whose cores other jobs also use (measured: 3.5 s instead
    # of 20-40 s per step of Moirai-small at a load of 8 on 2 cores).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    config = config_from_args(args)
    from physio_bench.finetune.train import train_run

    result = train_run(config, args.run, args.out_dir, stop_after=args.stop_after)
    if not result.get("finished", True):
        print(f"finetune {args.run}: stopped after step {result['step']} (--stop-after); "
              f"run again to resume")
        return 0
    summary = result["training"]
    print(f"finetune {args.run}: {summary['type']}, {summary['steps']} steps "
          f"({summary['windows_seen']} windows), final loss {summary['final_loss']:.4f}, "
          f"{result['train_time_s']:.0f} s training, peak {result['peak_rss_mib']:.0f} MiB")
    return 0


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    parser = stage_command(
        subparsers, _finetune,
        "finetune",
        help="train Moirai on a simulated training suite (uni2ts objective)",
        description="Train one finetune run into --out-dir: checkpoint/ (config.json, "
        "model.safetensors, training.json), provenance.json, loss.csv. Resumes from "
        "--out-dir/resume after an interruption.",
    )
    parser.add_argument("--run", required=True, help="run name (a key of finetune.runs)")
    parser.add_argument("--out-dir", default=None, metavar="DIR",
                        help="output folder (default: results/finetune/RUN)")
    parser.add_argument("--stop-after", type=_positive_int, default=None, metavar="STEPS",
                        help="stop after this many steps in total and save the resumable "
                        "state (as an interruption would)")
