"""Speed and memory of physio_bench, printed as tables (never asserted).

    make benchmark                                   # or: .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --pipeline quick     # + the quick preset end to end
    .venv/bin/python benchmarks/run.py --pipeline full      # + the full default benchmark
    .venv/bin/python benchmarks/run.py --models raw,moirai-small-untrained --sizes 16,32,64,128

What it measures, on the default window (``window_samples`` at ``sampling_rate_hz`` of
config.yaml, or ``--sampling-rate-hz`` / ``--window-samples``; the default benchmark
window is 32 s at 125 Hz, 4,000 samples):

1. simulation: windows per second of each simulated suite (neurokit2, one process);
2. for each built-in model (the enabled entries of ``models:``; with
   ``--random-weights`` also every disabled pretrained entry, built with
   ``weights: random``: the same architecture, hence the same speed, without the
   download):
   - ``input``: the model's input rate (Hz) and tokens per channel after the core's input
     adaptation (resampling to ``input_hz``, chunks);
   - ``stage``: :func:`physio_bench.models.embed.embed_shard` on a suite directory, end to end
     (model construction, reading, checks, resampling, forward passes, pooling, writing);
   - ``cpu ms``: CPU milliseconds per window of the stage's embedding loop (all threads;
     much less sensitive than wall time to other processes on a shared machine);
   - ``job``: the same as one Snakemake job runs it (``python -m physio_bench embed``,
     interpreter start and imports included);
   - ``bare``: the model's forward passes alone on the same batches (``embed.batch_size``),
     on windows resampled beforehand (chunks and span mapping included);
   - ``resample ms``: milliseconds per window of the anti-aliased resampling;
   - ``stage/bare``: the stage's windows/s over the bare forward pass's (target >= 0.8);
   - ``batch 1``: one window per ``embed()`` call, for comparison;
3. scaling: the stage's wall time at several shard sizes (linear fit, R^2);
4. with CUDA: the torch models again on the GPU (float32 and bfloat16);
5. ``--pipeline quick|full``: Snakemake on a preset in a temporary working directory (or
   ``--workdir``, kept), wall time, the largest process's peak RSS and the peak RSS of all
   processes together; then the per-stage breakdown from the rules' ``benchmark:`` files
   (``results/benchmarks``): jobs, summed wall and CPU seconds, the largest job's peak
   RSS. ``--pipeline-only`` skips sections 1-4.

Embedding suites hold simulated windows, tiled to the largest size asked for (embedding
speed does not depend on the signal's content).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
TORCH_PLUGINS = ("moirai", "chronos", "mantis")


# ----------------------------------------------------------------------------- helpers

def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of ``func()`` in seconds, and its result."""
    began = time.perf_counter()
    result = func()
    return time.perf_counter() - began, result


def best_of(repeats: int, func: Callable[[], float], min_total_s: float = 1.0,
            max_repeats: int = 5) -> float:
    """The smallest timing returned by ``func``: at least ``repeats`` calls, more (up to
    ``max_repeats``) while all calls together took under ``min_total_s`` seconds."""
    timings = [func()]
    while len(timings) < max(repeats, 1) or (
            sum(timings) < min_total_s and len(timings) < max_repeats):
        timings.append(func())
    return min(timings)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain-text table with right-aligned columns."""
    cells = [[str(h) for h in header]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for k, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def machine_line() -> str:
    import torch

    cpu = os.cpu_count()
    threads = torch.get_num_threads()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    return (f"{platform.node()}: Python {platform.python_version()}, torch {torch.__version__} "
            f"({threads} threads), {cpu} CPUs, {gpu}")


# -------------------------------------------------------------------------- simulation

def small_simulation_config(config: dict[str, Any]) -> dict[str, Any]:
    """The default config with few windows per suite (same window length and rate)."""
    small = copy.deepcopy(config)
    small["simulate"]["factors"]["windows_per_kind"] = 4
    small["simulate"]["sweeps"]["steps"] = 2
    small["simulate"]["sweeps"]["subjects"] = 1
    for suite in ("scenarios", "training"):
        small["simulate"][suite]["subjects_per_scenario"] = 1
        small["simulate"][suite]["windows_per_subject"] = 2
    return small


def bench_simulation(config: dict[str, Any], workdir: Path) -> tuple[list[list[Any]], Path]:
    """Simulate each suite once; rows of (suite, windows, seconds, windows/s)."""
    import neurokit2  # noqa: F401  (import time is not simulation time)

    from physio_bench.config import SIMULATED_SUITES
    from physio_bench.simulate import count_windows, simulate_suite

    small = small_simulation_config(config)
    rows = []
    for suite in SIMULATED_SUITES:
        out = workdir / "simulated" / suite
        seconds, _ = timed(lambda s=suite, o=out: simulate_suite(small, s, o))
        n = count_windows(small, suite)
        rows.append([suite, n, seconds, n / seconds])
    return rows, workdir / "simulated" / "factors"


def tiled_suite(source: Path, n_windows: int, out: Path) -> Path:
    """A suite directory of ``n_windows`` windows: ``source``'s windows repeated."""
    from physio_bench.io import load_npy, read_json, save_npy, write_json

    signals = np.asarray(load_npy(source / "signals.npy"))
    reps = -(-n_windows // signals.shape[0])
    tiled = np.ascontiguousarray(np.concatenate([signals] * reps)[:n_windows])
    out.mkdir(parents=True, exist_ok=True)
    save_npy(out / "signals.npy", tiled)
    meta = read_json(source / "meta.json")
    write_json(out / "meta.json", {**meta, "suite": "bench", "n_windows": n_windows})
    return out


# ---------------------------------------------------------------------------- embedding

def stage_config(config: dict[str, Any], shard_size: int, model: str,
                 options: dict[str, Any] | None = None,
                 batch_size: int | None = None) -> dict[str, Any]:
    """``config`` with one shard of ``shard_size`` windows and ``model``'s options."""
    cfg = copy.deepcopy(config)
    cfg["embed"]["shard_size"] = shard_size
    if batch_size is not None:
        cfg["embed"]["batch_size"] = batch_size
    if options is not None:
        cfg["models"][model] = options
    return cfg


def run_stage(cfg: dict[str, Any], model: str, suite: Path, out: Path) -> dict[str, float]:
    """``embed_shard`` once: wall, model-construction and forward seconds."""
    from physio_bench.models.embed import embed_shard

    wall, sidecar = timed(lambda: embed_shard(cfg, model, suite, 0, out))
    return {"wall_s": wall, "load_s": float(sidecar["load_s"]),
            "embed_s": float(sidecar["embed_s"]), "cpu_s": float(sidecar["embed_cpu_s"]),
            "input_hz": float(sidecar["input"]["input_hz"]),
            "tokens_per_channel": int(sidecar["tokens"]["tokens_per_channel"])}


def run_job(cfg: dict[str, Any], model: str, suite: Path, workdir: Path) -> float:
    """``python -m physio_bench embed`` as one Snakemake job runs it; wall seconds."""
    config_file = workdir / f"job-{model}.yaml"
    config_file.write_text(yaml.safe_dump({"embed": cfg["embed"], "models": cfg["models"]}))
    command = [sys.executable, "-m", "physio_bench", "embed", "--configfile", str(config_file),
               "--model", model, "--suite-dir", str(suite), "--shard", "0",
               "--out", str(workdir / f"job-{model}.npz")]
    wall, result = timed(lambda: subprocess.run(command, capture_output=True, text=True,
                                                check=False))
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return wall


def run_bare(model: Any, info: Any, windows: np.ndarray, plan: Any, batch_size: int) -> float:
    """Seconds for the model's forward passes over ``windows`` (already at the input
    rate) in batches, through the core's chunking and span mapping (``plan``)."""
    from physio_bench.models.embed import embed_batch

    began = time.perf_counter()
    for start in range(0, windows.shape[0], batch_size):
        embed_batch(model, info, windows[start:start + batch_size], plan)
    return time.perf_counter() - began


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench_model(config: dict[str, Any], name: str, options: dict[str, Any], suite: Path,
                n_windows: int, batch_size: int, n_single: int, repeats: int,
                workdir: Path, with_job: bool = True) -> dict[str, float]:
    """Stage, job, bare and batch-1 windows/s of one model on ``n_windows`` windows."""
    from physio_bench.io import load_npy, read_json
    from physio_bench.models.embed import input_plan
    from physio_bench.models.protocol import ModelInfo
    from physio_bench.models.registry import load_model
    from physio_bench.models.resampling import InputPlan, resample

    cfg = stage_config(config, n_windows, name, options, batch_size)
    seed = int(config["seed"])
    rate = float(read_json(suite / "meta.json")["sampling_rate_hz"])
    windows = np.asarray(load_npy(suite / "signals.npy")[:n_windows])
    model = load_model(name, options, seed=seed)  # warm: imports, weights cache
    info = ModelInfo.from_any(model.describe())
    plan = input_plan(options, info, model, windows.shape[1:], rate)
    resample_s = best_of(repeats, lambda: timed(
        lambda: resample(windows, plan.up, plan.down))[0]) if plan.resampled else 0.0
    at_input = resample(windows, plan.up, plan.down) if plan.resampled else windows
    native = InputPlan.build(plan.input_hz, plan.input_samples, None, "suite rate",
                             plan.context_samples)
    run_bare(model, info, at_input[:1], native, 1)
    stage: list[dict[str, float]] = []

    def one_stage() -> float:
        stage.append(run_stage(cfg, name, suite, workdir / f"{name}.npz"))
        return stage[-1]["wall_s"]

    best_of(repeats, one_stage)
    stage_wall = min(s["wall_s"] for s in stage)
    stage_embed = min(s["embed_s"] for s in stage)
    stage_cpu = min(s["cpu_s"] for s in stage)
    load = min(s["load_s"] for s in stage)
    bare = best_of(repeats, lambda: (run_bare(model, info, at_input, native, batch_size),
                                     synchronize())[0])
    single = at_input[:n_single]
    batch1 = best_of(repeats, lambda: run_bare(model, info, single, native, 1))
    close = getattr(model, "close", None)
    if callable(close):
        close()
    job = run_job(cfg, name, suite, workdir) if with_job else float("nan")
    return {
        "windows": n_windows,
        "input_hz": stage[-1]["input_hz"],
        "tokens_per_channel": stage[-1]["tokens_per_channel"],
        "cpu_ms_per_window": 1e3 * stage_cpu / n_windows,
        "resample_ms_per_window": 1e3 * resample_s / n_windows,
        "load_s": load,
        "stage_wps": n_windows / stage_wall,
        "stage_forward_wps": n_windows / stage_embed,
        "job_wps": n_windows / job,
        "bare_wps": n_windows / bare,
        "ratio": bare / stage_wall,
        "ratio_forward": bare / stage_embed,
        "batch1_wps": n_single / batch1,
    }


def bench_scaling(config: dict[str, Any], name: str, options: dict[str, Any], suite: Path,
                  sizes: Sequence[int], repeats: int, workdir: Path) -> dict[str, Any]:
    """Stage wall time at each shard size; least-squares line and its R^2."""
    seconds = []
    for n in sizes:
        cfg = stage_config(config, n, name, options)
        out = workdir / f"scale-{name}-{n}.npz"
        seconds.append(best_of(repeats, lambda c=cfg, o=out: run_stage(c, name, suite, o)[
            "wall_s"]))
    x, y = np.asarray(sizes, dtype=float), np.asarray(seconds)
    slope, intercept = np.polyfit(x, y, 1)
    fitted = slope * x + intercept
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - fitted) ** 2).sum()) / total if total > 0 else 1.0
    return {"sizes": list(sizes), "seconds": seconds, "ms_per_window": 1e3 * slope,
            "intercept_s": intercept, "r2": r2}


# ----------------------------------------------------------------------------- pipeline

MEASURE_CHILD = r"""
import json, os, resource, subprocess, sys, threading, time

def tree_rss_mb(root):
    # Resident memory of root and all its descendants (MB), from /proc.
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 2**20

began = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
peak = 0.0
while proc.poll() is None:
    peak = max(peak, tree_rss_mb(proc.pid))
    time.sleep(0.2)
wall = time.perf_counter() - began
largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"returncode": proc.returncode, "wall_s": wall,
                  "largest_process_peak_mb": largest, "all_processes_peak_mb": peak}))
"""


def bench_pipeline(preset: str, cores: int, workdir: Path) -> dict[str, Any]:
    """Snakemake ``all`` on ``preset`` (quick|full) in ``workdir``: time and memory."""
    # The target comes first: --configfile takes every word after it.
    command = [sys.executable, "-m", "snakemake", "all", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--cores", str(cores), "--quiet"]
    if preset == "quick":
        command += ["--configfile", str(REPO / "workflow" / "presets" / "quick.yaml")]
    result = subprocess.run([sys.executable, "-c", MEASURE_CHILD, *command],
                            capture_output=True, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"pipeline measurement failed: {result.stderr[-2000:]}")
    measured = json.loads(lines[-1])
    if measured["returncode"] != 0:
        measured["error"] = result.stderr.strip().splitlines()[-5:]
    return measured


def stage_of(path: Path, root: Path) -> str:
    """Stage label of one Snakemake benchmark file: its rule folder, split further for the
    embed (by model, merges apart), probe (by probe) and sensitivity (by step) rules."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[0] == "embed":
        return "embed merge" if parts[-1] == "merge" else f"embed {parts[1]}"
    if parts[0] == "probes":
        return f"probe {parts[-1]}"
    if parts[0] == "sensitivity":
        return f"sensitivity {parts[1].split('_', 1)[0]}"
    return parts[0]


def stage_breakdown(benchmarks: Path) -> list[list[Any]]:
    """Rows (stage, jobs, wall s, CPU s, largest job's peak RSS MB), by summed wall time."""
    totals: dict[str, list[float]] = {}
    for path in sorted(benchmarks.rglob("*.tsv")):
        row = pd.read_csv(path, sep="\t").iloc[0]
        rss = pd.to_numeric(row.get("max_rss"), errors="coerce")
        cpu = pd.to_numeric(row.get("cpu_time"), errors="coerce")
        total = totals.setdefault(stage_of(path, benchmarks), [0, 0.0, 0.0, 0.0])
        total[0] += 1
        total[1] += float(row["s"])
        total[2] += 0.0 if pd.isna(cpu) else float(cpu)
        total[3] = max(total[3], 0.0 if pd.isna(rss) else float(rss))
    rows = [[stage, int(n), wall, cpu, rss] for stage, (n, wall, cpu, rss) in totals.items()]
    return sorted(rows, key=lambda r: -r[2])


# ---------------------------------------------------------------------------------- main

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated model names (default: the enabled "
                        "entries of models: in config.yaml)")
    parser.add_argument("--windows", type=int, default=0,
                        help="windows per stage/bare measurement (default: 128 for torch "
                        "models, 256 for the others)")
    parser.add_argument("--sizes", default="16,32,64,128",
                        help="shard sizes (windows) for the scaling table")
    parser.add_argument("--single", type=int, default=16,
                        help="windows for the batch-size-1 loop")
    parser.add_argument("--repeats", type=int, default=1, help="repeats (best is kept)")
    parser.add_argument("--no-job", action="store_true",
                        help="skip the physio-bench embed subprocess measurement")
    parser.add_argument("--gpu-batch-sizes", default="32,128",
                        help="batch sizes for the CUDA table")
    parser.add_argument("--pipeline", choices=["none", "quick", "full"], default="none",
                        help="also run Snakemake on a preset and report time and memory")
    parser.add_argument("--pipeline-only", action="store_true",
                        help="skip the simulation, embedding and scaling figures")
    parser.add_argument("--workdir", type=Path,
                        help="run the pipeline here and keep it (default: a temporary folder)")
    parser.add_argument("--cores", type=int, default=2, help="Snakemake --cores for --pipeline")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--sampling-rate-hz", type=float,
                        help="simulation rate (default: config.yaml's sampling_rate_hz)")
    parser.add_argument("--window-samples", type=int,
                        help="samples per window (default: config.yaml's window_samples)")
    parser.add_argument("--random-weights", action="store_true",
                        help="also time every disabled pretrained model, built with "
                        "weights: random (same architecture and speed, no download)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from physio_bench.config import enabled_models
    from physio_bench.preflight import load_config

    config = load_config()
    if args.sampling_rate_hz or args.window_samples:
        from physio_bench.preflight import validate_config

        config["sampling_rate_hz"] = args.sampling_rate_hz or config["sampling_rate_hz"]
        config["window_samples"] = args.window_samples or config["window_samples"]
        config = validate_config(config)
    models = dict(enabled_models(config))
    if args.random_weights:
        for name, options in list(config["models"].items()):
            if name not in models and "weights" in options:
                extra = {}
                if options["plugin"] == "chronos" and "variant" not in options:
                    # the variant is read from a checkpoint; random weights need it named
                    extra["variant"] = options["weights"].split("/")[-1].replace(
                        "chronos-bolt-", "bolt-")
                models[f"{name}-random"] = {**options, **extra, "weights": "random",
                                            "enabled": True}
                config["models"][f"{name}-random"] = models[f"{name}-random"]
    if args.models:
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        unknown = sorted(set(wanted) - set(config["models"]))
        if unknown:
            print(f"benchmark: unknown model(s) {', '.join(unknown)}: use names under models: "
                  f"in config.yaml ({', '.join(config['models'])})", file=sys.stderr)
            return 2
        models = {m: config["models"][m] for m in wanted}
    sizes = [int(s) for s in args.sizes.split(",")]
    figures: dict[str, Any] = {"machine": machine_line(),
                               "window_samples": config["window_samples"],
                               "sampling_rate_hz": config["sampling_rate_hz"]}
    print(f"physio_bench benchmark on {figures['machine']}")
    print(f"window: {config['window_samples']} samples at {config['sampling_rate_hz']} Hz; "
          f"embed.batch_size {config['embed']['batch_size']}")

    with tempfile.TemporaryDirectory(prefix="physio-bench-benchmark-") as tmp:
        workdir = Path(tmp)
        if not args.pipeline_only:
            sim_rows, factors_dir = bench_simulation(config, workdir)
            figures["simulation"] = sim_rows
            print_table("simulation (neurokit2, one process)",
                        ["suite", "windows", "seconds", "windows/s"], sim_rows)

            largest = max([*sizes, args.windows or 256])
            suite = tiled_suite(factors_dir, largest, workdir / "bench")
            batch = int(config["embed"]["batch_size"])
            rows, results = [], {}
            for name, options in models.items():
                is_torch = options["plugin"] in TORCH_PLUGINS
                n = args.windows or (128 if is_torch else 256)
                try:
                    r = bench_model(config, name, dict(options), suite, n, batch, args.single,
                                    args.repeats, workdir, with_job=not args.no_job)
                except Exception as exc:  # a model that cannot run here is reported, not fatal
                    print(f"  {name}: skipped ({type(exc).__name__}: {exc})")
                    continue
                results[name] = r
                rows.append([name, r["input_hz"], r["tokens_per_channel"], r["windows"],
                             r["load_s"], r["stage_wps"], r["cpu_ms_per_window"], r["job_wps"],
                             r["bare_wps"], r["resample_ms_per_window"], r["ratio"],
                             r["stage_forward_wps"], r["ratio_forward"], r["batch1_wps"]])
            figures["embedding"] = results
            print_table(
                f"embedding, windows/s (batch {batch}; stage = embed_shard end to end incl. model "
                "construction; job = python -m physio_bench embed; -random = pretrained "
                "architecture with random weights)",
                ["model", "input Hz", "tokens/ch", "windows", "load s", "stage", "cpu ms/win",
                 "job", "bare", "resample ms/win", "stage/bare", "stage fwd", "fwd/bare",
                 "batch 1"], rows)

            scale_rows, scaling = [], {}
            for name, options in models.items():
                if name not in results:
                    continue
                s = bench_scaling(config, name, dict(options), suite, sizes, args.repeats,
                                  workdir)
                scaling[name] = s
                scale_rows.append([name, *s["seconds"], s["ms_per_window"], s["intercept_s"],
                                   s["r2"]])
            figures["scaling"] = scaling
            print_table("scaling: embed_shard wall seconds by shard size (windows)",
                        ["model", *map(str, sizes), "ms/window", "intercept s", "R^2"], scale_rows)

            if torch.cuda.is_available():
                gpu_rows, gpu = [], {}
                for name, options in models.items():
                    if options["plugin"] not in TORCH_PLUGINS or name not in results:
                        continue
                    for dtype in ("float32", "bfloat16"):
                        for b in (int(x) for x in args.gpu_batch_sizes.split(",")):
                            opts = {**options, "device": "cuda", "dtype": dtype, "batch_size": b}
                            r = bench_model(config, name, opts, suite, largest, b, args.single,
                                            args.repeats, workdir, with_job=False)
                            gpu[f"{name}/{dtype}/{b}"] = r
                            gpu_rows.append([name, dtype, b, r["load_s"], r["stage_wps"],
                                             r["bare_wps"], r["ratio"], r["batch1_wps"]])
                figures["cuda"] = gpu
                print_table(f"CUDA ({torch.cuda.get_device_name(0)}), windows/s on {largest} "
                            "windows",
                            ["model", "dtype", "batch", "load s", "stage", "bare", "stage/bare",
                             "batch 1"], gpu_rows)

        if args.pipeline != "none":
            run_dir = args.workdir or workdir / f"pipeline-{args.pipeline}"
            run_dir.mkdir(parents=True, exist_ok=True)
            p = bench_pipeline(args.pipeline, args.cores, run_dir)
            figures["pipeline"] = {args.pipeline: p}
            print_table(f"pipeline: snakemake --cores {args.cores} all ({args.pipeline})",
                        ["preset", "exit", "wall s", "largest process MB", "all processes MB"],
                        [[args.pipeline, p["returncode"], p["wall_s"],
                          p["largest_process_peak_mb"], p["all_processes_peak_mb"]]])
            if p.get("error"):
                print("  " + "\n  ".join(p["error"]))
            stages = stage_breakdown(run_dir / "results" / "benchmarks")
            figures["pipeline"]["stages"] = stages
            print_table("pipeline stages (Snakemake benchmark files; jobs run 2 at a time, so "
                        "summed wall exceeds the pipeline's)",
                        ["stage", "jobs", "wall s", "CPU s", "largest job MB"], stages)

    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["benchmark_peak_rss_mb"] = own_peak
    print(f"\nbenchmark process peak RSS: {own_peak:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
