"""CLI subcommands of the report stage: ``leaderboard``, ``provenance``, ``figures``.

    physio-bench leaderboard --configfile Y --results results
    physio-bench provenance  --configfile Y --results results
    physio-bench figures     --configfile Y --results results [--style publication]
                             [--section feature_independence ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from physio_bench.cli import config_from_args, stage_command


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)


def _leaderboard(args: argparse.Namespace) -> int:
    from physio_bench.report.leaderboard import write_leaderboard

    _logging()
    paths = write_leaderboard(config_from_args(args), args.results)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _provenance(args: argparse.Namespace) -> int:
    from physio_bench.report.provenance import write_provenance

    _logging()
    paths = write_provenance(config_from_args(args), args.results)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _figures(args: argparse.Namespace) -> int:
    from physio_bench.report.figures import draw_figures

    _logging()
    config = config_from_args(args)
    start = time.perf_counter()
    timings = draw_figures(config, args.results, sections=args.section or None, style=args.style)
    for stem, seconds in timings.items():
        logging.getLogger("physio_bench.report").info("figure %s: %.2f s", stem, seconds)
    print(f"drew {len(timings)} figures into {args.results}/figures in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    from physio_bench.report.figures import SECTIONS
    from physio_bench.report.style import STYLES

    board = stage_command(
        subparsers, _leaderboard,
        "leaderboard", help="gather probe and downstream rows into the leaderboard tables")
    board.add_argument("--results", default="results", help="results folder (default: results)")

    prov = stage_command(
        subparsers, _provenance,
        "provenance", help="write the models' weights and versions table (models.md/.html)")
    prov.add_argument("--results", default="results", help="results folder (default: results)")

    figures = stage_command(subparsers, _figures, "figures",
                            help="draw the figures from existing results")
    figures.add_argument("--results", default="results", help="results folder (default: results)")
    figures.add_argument("--style", choices=STYLES, default=None,
                         help="default (PNG) or publication (PDF and SVG); default: config "
                              "report.style")
    figures.add_argument("--section", action="append", choices=SECTIONS, default=[],
                         help="draw only this section's figures (repeatable; default: all)")
