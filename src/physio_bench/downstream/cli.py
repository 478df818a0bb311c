"""CLI subcommands of the downstream stage: ``real-windows``, ``downstream``,
``download-physionet``."""

from __future__ import annotations

import argparse
import time

from physio_bench.cli import add_config_argument, config_from_args


def _real_windows(args: argparse.Namespace) -> int:
    from physio_bench.downstream.windows import make_real_suite

    meta = make_real_suite(config_from_args(args), args.out)
    for record, kinds in meta["records"].items():
        for kind, info in kinds.items():
            dropped = ", ".join(f"{k} {v}" for k, v in info["dropped"].items() if v) or "none"
            print(f"{record} {kind} ({info['channel']}, {info['fs_hz']:g} Hz): "
                  f"{info['kept']}/{info['windows_total']} windows kept, dropped: {dropped}; "
                  f"unlabelled {info['unlabelled']}; reference {info['reference']}")
    print(f"wrote {meta['n_windows']} windows to {args.out} in {meta['wall_time_s']:.1f} s")
    return 0


def _downstream(args: argparse.Namespace) -> int:
    from physio_bench.downstream.tasks import run_downstream
    from physio_bench.io import write_json, write_leaderboard_rows

    began = time.perf_counter()
    detail, rows = run_downstream(config_from_args(args), args.model, args.results)
    detail["wall_time_s"] = round(time.perf_counter() - began, 3)
    write_json(args.out_json, detail)
    write_leaderboard_rows(args.out_csv, rows)
    for row in rows:
        print(f"{row['task']} {row['layer']}: {row['metric']} {row['value']:.3f} "
              f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] n={row['n']}")
    for task, info in detail["tasks"].items():
        if "skipped" in info:
            print(f"{task}: skipped ({info['skipped']})")
    return 0


def _download(args: argparse.Namespace) -> int:
    from physio_bench.downstream.download import describe_plan, download, plan_download

    plan = plan_download(args.database, args.out, args.records, args.annotators)
    print(describe_plan(plan))
    if args.dry_run:
        print("dry run: nothing downloaded")
        return 0
    headers = download(plan)
    print(f"downloaded {len(headers)} record headers into {plan.out_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    real = subparsers.add_parser(
        "real-windows", help="cut the configured WFDB records into a real-data suite")
    add_config_argument(real)
    real.add_argument("--out", required=True, help="suite directory to write (results/real)")
    real.set_defaults(func=_real_windows)

    down = subparsers.add_parser(
        "downstream", help="real-data tasks and simulation-to-real transfer for one model")
    add_config_argument(down)
    down.add_argument("--model", required=True, help="model name in the config")
    down.add_argument("--results", default="results", help="results folder (default: results)")
    down.add_argument("--out-json", required=True, help="full detail (JSON)")
    down.add_argument("--out-csv", required=True, help="leaderboard rows (CSV)")
    down.set_defaults(func=_downstream)

    dl = subparsers.add_parser(
        "download-physionet", help="download PhysioNet databases (needs network)")
    dl.add_argument("--database", required=True, help="PhysioNet short name, e.g. mitdb")
    dl.add_argument("--out", required=True, help="folder to download into")
    dl.add_argument("--records", nargs="+", default=None, metavar="RECORD",
                    help="records to download (default: all in the database)")
    dl.add_argument("--annotators", nargs="+", default=None, metavar="EXT",
                    help="annotation extensions (default: all the database lists)")
    dl.add_argument("--dry-run", action="store_true",
                    help="print what would be downloaded; use no network")
    dl.set_defaults(func=_download)
