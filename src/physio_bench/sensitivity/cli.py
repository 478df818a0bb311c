"""CLI subcommands of the sensitivity study, as run by ``workflow/rules/sensitivity.smk``::

    physio-bench sensitivity-subset --configfile C --suite factors --results results
    physio-bench sensitivity-embed --configfile C --variant moirai-small-untrained@50hz-p32 \\
        --suite factors --results results
    physio-bench sensitivity-probe --configfile C --variant V --results results
    physio-bench sensitivity-summary --configfile C --results results
    physio-bench sensitivity-variants --configfile C      # list the variants
"""

from __future__ import annotations

import argparse
import sys
import time

from physio_bench.cli import config_from_args, stage_command

SUITES = ("factors", "scenarios")


def _subset(args: argparse.Namespace) -> int:
    from physio_bench.sensitivity.run import write_subset

    n = write_subset(config_from_args(args), args.suite, args.results)
    print(f"sensitivity subset of {args.suite}: {n} windows", file=sys.stderr)
    return 0


def _embed(args: argparse.Namespace) -> int:
    from physio_bench.sensitivity.run import embed_variant

    info = embed_variant(config_from_args(args), args.variant, args.suite, args.results)
    print(f"{args.variant} {args.suite}: {info['n_windows']} windows at "
          f"{info['input']['input_hz']:g} Hz, {info['tokens']['tokens_per_channel']} tokens per "
          f"channel, {info['windows_per_second']:.1f} windows/s", file=sys.stderr)
    return 0


def _probe(args: argparse.Namespace) -> int:
    from physio_bench.io import atomic_write_bytes, write_json
    from physio_bench.sensitivity.run import probe_variant, study_dir

    began = time.perf_counter()
    detail, table = probe_variant(config_from_args(args), args.variant, args.results)
    out = study_dir(args.results) / "probes"
    write_json(out / f"{args.variant}.json", detail)
    atomic_write_bytes(out / f"{args.variant}.csv", table.to_csv(index=False).encode())
    print(f"{args.variant}: {len(table)} rows in {time.perf_counter() - began:.1f} s",
          file=sys.stderr)
    return 0


def _summary(args: argparse.Namespace) -> int:
    from physio_bench.io import atomic_write_bytes
    from physio_bench.sensitivity.run import study_dir, summarise

    table = summarise(config_from_args(args), args.results)
    atomic_write_bytes(study_dir(args.results) / "summary.csv",
                       table.to_csv(index=False).encode())
    print(f"sensitivity summary: {len(table)} rows", file=sys.stderr)
    return 0


def _variants(args: argparse.Namespace) -> int:
    from physio_bench.sensitivity.plan import variants

    for variant in variants(config_from_args(args)):
        print(variant.name)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    def add(name: str, help_text: str, func, *, suite: bool = False,
            variant: bool = False) -> None:
        parser = stage_command(subparsers, func, name, help=help_text)
        if variant:
            parser.add_argument("--variant", required=True,
                                help="variant name, e.g. moirai-small-untrained@50hz-p32")
        if suite:
            parser.add_argument("--suite", required=True, choices=SUITES)
        if name != "sensitivity-variants":
            parser.add_argument("--results", default="results",
                                help="results folder (default: results)")

    add("sensitivity-subset", "write the sensitivity study's subset of a suite", _subset,
        suite=True)
    add("sensitivity-embed", "embed a subset with one variant (model at one input rate)",
        _embed, suite=True, variant=True)
    add("sensitivity-probe", "probe one variant's embeddings of the subsets", _probe,
        variant=True)
    add("sensitivity-summary", "gather every variant's probe rows into summary.csv", _summary)
    add("sensitivity-variants", "list the variants the config's study runs", _variants)
