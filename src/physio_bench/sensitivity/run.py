"""The sensitivity study's steps: subset a suite, embed a variant, probe it, summarise.

Files under ``results/sensitivity/`` (a results tree of its own, so the probes read it
as they read ``results/``):

- ``simulated/{suite}/``: the subset (same format as the suite; ``labels.parquet`` adds
  ``source_window_id``, ``meta.json`` adds ``subset_of`` and ``windows_per_group``);
- ``embeddings/{variant}/{suite}/``: the variant's embeddings (``model.json`` records its
  input rate, resampling, patch duration and cost);
- ``probes/{variant}.csv``: the probes' leaderboard rows (model = the variant), with the
  columns ``base_model``, ``input_hz``, ``patch_size``, ``context_s`` (NaN on the rate
  axis), ``tokens_per_channel``,
  ``patch_duration_s``, ``context_fill``, ``samples_per_beat`` and ``samples_per_breath``
  added (byte-reproducible: no timings);
- ``probes/{variant}.json``: the variant, its embeddings' ``model.json`` and the cost:
  ``embed_windows_per_second`` (wall clock), ``embed_cpu_ms_per_window`` (CPU time of
  the embedding process, less sensitive to a busy machine) and each probe's wall and CPU
  seconds;
- ``summary.csv``: every variant's rows, in study order (drawn by the report's
  ``sensitivity_input_rate`` figure).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.errors import InputError
from physio_bench.io import read_json, read_suite, save_npy, save_npz, save_parquet, write_json
from physio_bench.sensitivity.plan import (
    find_variant,
    probes_for,
    subset_rows,
    variant_config,
    variants,
)

STUDY_DIR = "sensitivity"
VARIANT_COLUMNS = ["base_model", "input_hz", "patch_size", "context_s", "tokens_per_channel",
                   "patch_duration_s", "context_fill", "samples_per_beat", "samples_per_breath"]


def context_fill(input_block: dict[str, Any]) -> float:
    """Mean share of the model's context that holds window samples, over the chunks a
    window is cut into (``model.json`` ``input``): 1 when every chunk fills the context,
    0.25 for a 128-sample window in a 512-sample context; NaN for a model without a
    context limit."""
    context = input_block.get("context_samples")
    if not context:
        return float("nan")
    lengths = [stop - start for start, stop in input_block["chunks"]]
    return float(np.mean([min(length / float(context), 1.0) for length in lengths]))


def samples_per_cycle(suite_dir: Path, input_hz: float) -> tuple[float, float]:
    """``(samples per beat, samples per breath)`` at ``input_hz`` for the subset's median
    heart rate and median respiratory rate (labels measured on the windows' events);
    NaN when the subset has no such label."""
    labels = pd.read_parquet(suite_dir / "labels.parquet")
    out = []
    for column in ("heart_rate_bpm", "resp_rate_bpm"):
        values = labels[column].dropna().to_numpy(float) if column in labels else np.zeros(0)
        values = values[values > 0]
        out.append(float(input_hz) * 60.0 / float(np.median(values)) if values.size
                   else float("nan"))
    return out[0], out[1]


def study_dir(results: str | Path) -> Path:
    return Path(results) / STUDY_DIR


def write_subset(config: dict[str, Any], suite: str, results: str | Path) -> int:
    """Write the subset of ``results/simulated/{suite}`` into the study; return its size."""
    source = Path(results) / "simulated" / suite
    if not (source / "labels.parquet").exists():
        raise InputError(f"suite {suite!r} not found at {source}: run the simulate stage first")
    data = read_suite(source)
    per_group = int(config["sensitivity"]["windows_per_group"])
    rows = subset_rows(data.labels, suite, per_group)
    out = study_dir(results) / "simulated" / suite
    out.mkdir(parents=True, exist_ok=True)
    labels = data.labels.iloc[rows].reset_index(drop=True)
    labels.insert(1, "source_window_id", labels["window_id"].to_numpy())
    labels["window_id"] = np.arange(len(rows), dtype=labels["window_id"].dtype)
    if (source / "events.parquet").exists():
        events = pd.read_parquet(source / "events.parquet")
        new_id = pd.Series(np.arange(len(rows)), index=data.labels["window_id"].to_numpy()[rows])
        events = events[events["window_id"].isin(new_id.index)].copy()
        events["window_id"] = new_id.loc[events["window_id"].to_numpy()].to_numpy()
        save_parquet(out / "events.parquet", events.reset_index(drop=True))
    if data.targets:
        save_npz(out / "targets.npz", {k: np.asarray(v)[rows] for k, v in data.targets.items()})
    save_parquet(out / "labels.parquet", labels)
    save_npy(out / "signals.npy", np.ascontiguousarray(np.asarray(data.signals)[rows]))
    meta = {**data.meta, "n_windows": len(rows), "subset_of": str(source),
            "windows_per_group": per_group}
    write_json(out / "meta.json", meta)  # last: the rule's marker output
    return len(rows)


def embed_variant(config: dict[str, Any], name: str, suite: str, results: str | Path
                  ) -> dict[str, Any]:
    """Embed the study's subset of ``suite`` with variant ``name``; return ``model.json``."""
    from physio_bench.models import embed_shard, merge_embeddings

    variant = find_variant(config, name)
    suite_dir = study_dir(results) / "simulated" / suite
    if not (suite_dir / "meta.json").exists():
        raise InputError(f"no sensitivity subset at {suite_dir}: run physio-bench "
                         f"sensitivity-subset --suite {suite} first")
    n_windows = int(read_json(suite_dir / "meta.json")["n_windows"])
    cfg = variant_config(config, variant, n_windows)
    out = study_dir(results) / "embeddings" / variant.name / suite
    shard = out / "shards" / "0000.npz"
    embed_shard(cfg, variant.name, suite_dir, 0, shard)
    info = merge_embeddings(cfg, variant.name, [shard], out)
    shutil.rmtree(out / "shards")
    return info


def probe_variant(config: dict[str, Any], name: str, results: str | Path
                  ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the study's probes on variant ``name``; return (detail, rows with the variant
    columns)."""
    from physio_bench.probes import run_probe

    variant = find_variant(config, name)
    suites = list(config["sensitivity"]["suites"])
    root = study_dir(results)
    frames, seconds = [], {}
    for probe, reads in probes_for(suites):
        began, cpu = time.perf_counter(), time.process_time()
        _, rows = run_probe(config, probe, variant.name, root, suites=reads)
        seconds[probe] = {"wall_s": time.perf_counter() - began,
                          "cpu_s": time.process_time() - cpu}
        frames.append(pd.DataFrame(rows))
    info = read_json(root / "embeddings" / variant.name / suites[0] / "model.json")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    input_hz = float(info["input"]["input_hz"])  # the rate it ran at (plug-in default too)
    per_beat, per_breath = samples_per_cycle(root / "simulated" / suites[0], input_hz)
    extra = {
        "base_model": variant.model, "input_hz": input_hz,
        "patch_size": variant.patch_size if variant.patch_size is not None else np.nan,
        "context_s": variant.context_s if variant.context_s is not None else np.nan,
        "tokens_per_channel": info["tokens"]["tokens_per_channel"],
        "patch_duration_s": info["tokens"]["patch_duration_s"],
        # a context variant: the share of the model's own context (not of the capped one)
        "context_fill": context_fill(info["input"] if variant.context_s is None else {
            **info["input"], "context_samples": info.get("max_window_samples")}),
        "samples_per_beat": per_beat, "samples_per_breath": per_breath,
    }
    for column in VARIANT_COLUMNS:
        table[column] = extra[column]
    cost = {
        "embed_windows_per_second": info["windows_per_second"],
        "embed_cpu_ms_per_window": 1e3 * float(info.get("embed_cpu_s", np.nan)) / max(
            info["n_windows"], 1),
        "probe_seconds": seconds,
    }
    detail = {"variant": variant.name, **extra, "cost": cost,
              "embeddings": {s: read_json(root / "embeddings" / variant.name / s / "model.json")
                             for s in suites}}
    return detail, table


def summarise(config: dict[str, Any], results: str | Path) -> pd.DataFrame:
    """Every variant's probe rows (``probes/{variant}.csv``) in study order."""
    root = study_dir(results)
    frames = []
    for variant in variants(config):
        path = root / "probes" / f"{variant.name}.csv"
        if not path.exists():
            raise InputError(f"no probe rows for sensitivity variant {variant.name} at {path}:"
                             " run physio-bench sensitivity-probe for it")
        frames.append(pd.read_csv(path))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
