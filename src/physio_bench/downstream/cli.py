"""CLI subcommands of the downstream stage: ``real-windows``, ``downstream``,
``reference-methods``, ``download-physionet``."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from physio_bench.cli import config_from_args, stage_command


def _real_windows(args: argparse.Namespace) -> int:
    from physio_bench.downstream.windows import dataset_summary, make_real_suite

    meta = make_real_suite(config_from_args(args), args.dataset, args.out)
    for line in dataset_summary(meta)[:-1]:
        print(line)
    targets = "; ".join(f"{k}: {', '.join(v)}" for k, v in meta["targets"].items())
    print(f"dataset {args.dataset}: {meta['n_windows']} windows of {meta['n_records']} records "
          f"({meta['n_subjects']} subjects) in {meta['wall_time_s']:.1f} s; targets {targets}; "
          f"{dataset_summary(meta)[-1].split('; ')[-1]}")
    return 0


def _dataset_summary(args: argparse.Namespace) -> int:
    from physio_bench.downstream.windows import dataset_summary, summary_html
    from physio_bench.io import atomic_write_bytes, read_json

    if len(args.meta) != len(args.out):
        raise SystemExit("dataset-summary: give one --out per --meta")
    for meta_path, out in zip(args.meta, args.out, strict=True):
        meta = read_json(meta_path)
        atomic_write_bytes(Path(out), summary_html(meta).encode())
        print(dataset_summary(meta)[-1])
    return 0


def _print_rows(rows: list[dict]) -> None:
    for row in rows:
        value = row["value"]
        text = (f"{value:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
                if isinstance(value, float) and math.isfinite(value) else "-")
        note = f"  ({row['note']})" if row.get("note") else ""
        print(f"{row['task']} {row['layer']}: {row['metric']} {text} n={row['n']} "
              f"subjects={row['n_subjects']}{note}")


def _downstream(args: argparse.Namespace) -> int:
    from physio_bench.downstream.tasks import run_downstream
    from physio_bench.io import (
        atomic_write_bytes,
        save_predictions,
        write_json,
        write_leaderboard_rows,
    )

    began = time.perf_counter()
    detail, rows, predictions, beats = run_downstream(config_from_args(args), args.model,
                                                      args.results)
    detail["wall_time_s"] = round(time.perf_counter() - began, 3)
    write_json(args.out_json, detail)
    write_leaderboard_rows(args.out_csv, rows)
    save_predictions(args.out_predictions, predictions)
    if args.out_beats:
        atomic_write_bytes(Path(args.out_beats), beats.to_csv(index=False).encode())
    _print_rows(rows)
    return 0


def _reference_methods(args: argparse.Namespace) -> int:
    from physio_bench.downstream.reference_methods import run_reference_methods
    from physio_bench.io import save_predictions, write_json, write_leaderboard_rows

    began = time.perf_counter()
    detail, rows, predictions = run_reference_methods(config_from_args(args), args.results)
    detail["wall_time_s"] = round(time.perf_counter() - began, 3)
    write_json(args.out_json, detail)
    write_leaderboard_rows(args.out_csv, rows)
    save_predictions(args.out_predictions, predictions)
    _print_rows(rows)
    return 0


def _download(args: argparse.Namespace) -> int:
    from physio_bench.downstream.download import describe_plan, download, plan_download

    plan = plan_download(args.database, args.out, args.records, args.version, args.base_url)
    print(describe_plan(plan))
    if args.dry_run:
        print("dry run: nothing downloaded")
        return 0
    files = download(plan)
    print(f"downloaded and verified {len(files)} files into {plan.out_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    real = stage_command(
        subparsers, _real_windows,
        "real-windows", help="cut one dataset's records into a real suite")
    real.add_argument("--dataset", required=True, help="dataset name in downstream.datasets")
    real.add_argument("--out", required=True, help="suite directory (results/real/DATASET)")

    summary = subparsers.add_parser(
        "dataset-summary", help="per-record summary pages of real suites (report)")
    summary.add_argument("--meta", nargs="+", default=[], help="results/real/DATASET/meta.json")
    summary.add_argument("--out", nargs="+", default=[], help="HTML page per --meta")
    summary.set_defaults(func=_dataset_summary)

    down = stage_command(
        subparsers, _downstream,
        "downstream", help="real-data tasks and simulation-to-real transfer for one model")
    down.add_argument("--model", required=True, help="model name in the config")
    down.add_argument("--results", default="results", help="results folder (default: results)")
    down.add_argument("--out-json", required=True, help="full detail (JSON)")
    down.add_argument("--out-csv", required=True, help="leaderboard rows (CSV)")
    down.add_argument("--out-predictions", required=True, help="out-of-fold predictions (Parquet)")
    down.add_argument("--out-beats", default=None,
                      help="per-class sensitivity and PPV of the beat-class tasks (CSV)")

    ref = stage_command(
        subparsers, _reference_methods,
        "reference-methods", help="classical signal-processing estimates on the real windows")
    ref.add_argument("--results", default="results", help="results folder (default: results)")
    ref.add_argument("--out-json", required=True, help="full detail (JSON)")
    ref.add_argument("--out-csv", required=True, help="leaderboard rows (CSV)")
    ref.add_argument("--out-predictions", required=True, help="predictions (Parquet)")

    dl = subparsers.add_parser(
        "download-physionet",
        help="download a PhysioNet database with checksum verification (needs network)")
    dl.add_argument("--database", required=True, help="PhysioNet short name: mitdb, bidmc, ...")
    dl.add_argument("--out", required=True, help="folder to download into")
    dl.add_argument("--records", nargs="+", default=None, metavar="RECORD",
                    help="records to download (default: the whole WFDB version)")
    dl.add_argument("--version", default=None, help="release (default: 1.0.0 for mitdb, bidmc)")
    dl.add_argument("--base-url", default="https://physionet.org/files/",
                    help="where releases live (a mirror; default: PhysioNet)")
    dl.add_argument("--dry-run", action="store_true",
                    help="print what would be downloaded; use no network")
    dl.set_defaults(func=_download)
