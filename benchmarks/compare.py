"""Cost of the compare stage at the default benchmark's sizes (printed, never asserted).

Writes prediction tables shaped like the default run's (factors suite: 300 windows per
kind; within-window tracking: 16 subjects x 4 windows x 64 tokens; scenarios: 104 subjects
x 4 windows; BIDMC: 40 records x 15 windows; MIT-BIH heart rate: 48 records x 56 windows;
DS2 beats: 22 records, 50,000 beats) for three baselines, an untrained control with three
seeds and one trained model, then times ``compare_models`` and reports its peak memory.

    .venv/bin/python benchmarks/compare.py [--beats 50000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from physio_bench.compare import compare_models
from physio_bench.compare.run import prediction_path
from physio_bench.io import PREDICTION_COLUMNS, save_predictions, write_json
from physio_bench.preflight import load_config

FACTORS = {"ecg": ["heart_rate_bpm", "heart_rate_std_bpm", "noise_amplitude_au"],
           "ppg": ["heart_rate_bpm", "noise_amplitude_au"], "rsp": ["resp_rate_bpm",
                                                                   "noise_amplitude_au"],
           "eda": ["scr_rate_per_min", "noise_amplitude_au"],
           "emg": ["burst_rate_per_min", "noise_amplitude_au"]}
MODELS = {"raw": 0.5, "spectral": 0.6, "handcrafted": 0.7,
          "moirai-small-untrained-seed0": 0.4, "moirai-small-untrained-seed1": 0.42,
          "moirai-small-untrained-seed2": 0.38, "moirai-small-synthetic": 0.8}


def _rows(task: str, metric: str, subjects: np.ndarray, y: np.ndarray, pred: np.ndarray,
          targets: list[str]) -> pd.DataFrame:
    n, k = y.shape
    return pd.DataFrame({"task": task, "metric": metric, "layer": "last", "repeat": 0,
                         "item": np.repeat(np.arange(n), k), "subject": np.repeat(subjects, k),
                         "target": np.tile(targets, n), "y_true": y.ravel(),
                         "y_pred": pred.ravel()}, columns=PREDICTION_COLUMNS)


def write_tables(results: Path, beats: int) -> None:
    truth = np.random.default_rng(0)
    data = {}
    for kind, factors in FACTORS.items():
        data[("feature_independence", f"{kind}", "r2")] = (
            np.array([f"{kind}{i}" for i in range(300)]), truth.normal(size=(300, len(factors))),
            [f"{kind}:{f}" for f in factors])
    data[("temporal_dynamics", "scenarios:ramp_step:heart_rate_bpm", "tracking_within_r2")] = (
        np.repeat([f"s{i}" for i in range(16)], 256), truth.normal(size=(4096, 1)), ["hr"])
    data[("scenario_separation", "scenarios", "balanced_accuracy")] = (
        np.repeat([f"s{i}" for i in range(104)], 4),
        np.repeat(np.arange(104) % 13, 4)[:, None].astype(float), ["class"])
    for task, records, windows in (("real:bidmc:ppg:resp_rate_bpm", 40, 15),
                                   ("sim2real:bidmc:ppg:resp_rate_bpm", 40, 15),
                                   ("real:mitdb:ecg:heart_rate_bpm", 48, 56)):
        data[("downstream", task, "mae")] = (np.repeat([f"r{i}" for i in range(records)],
                                                       windows),
                                             truth.uniform(8, 30, (records * windows, 1)),
                                             ["value"])
    data[("downstream", "real:mitdb:ecg:beat_class", "balanced_accuracy")] = (
        np.array([f"r{i % 22}" for i in range(beats)]),
        truth.integers(0, 4, (beats, 1)).astype(float), ["class"])
    for model, quality in MODELS.items():
        noise = np.random.default_rng(abs(hash(model)) % 2**32)
        tables: dict[str, list[pd.DataFrame]] = {}
        for (stage, task, metric), (subjects, y, targets) in data.items():
            if metric == "balanced_accuracy":
                k = int(y.max()) + 1
                pred = np.where(noise.uniform(size=y.shape) < quality, y,
                                noise.integers(0, k, y.shape))
            else:
                pred = quality * y + (1 - quality) * noise.normal(size=y.shape) * y.std()
            if stage == "feature_independence":
                for j, target in enumerate(targets):
                    tables.setdefault(stage, []).append(_rows(
                        target, "r2", subjects, y[:, j:j + 1], pred[:, j:j + 1], [target]))
            else:
                tables.setdefault(stage, []).append(_rows(task, metric, subjects, y, pred,
                                                          targets))
        for stage, parts in tables.items():
            save_predictions(prediction_path(results, model, stage), pd.concat(parts))
        info = {"name": model, "plugin": "moirai" if "moirai" in model else model,
                "pretrained": False}
        if model == "moirai-small-synthetic":
            info["training"] = {"initial_weights": "random"}
        write_json(results / "embeddings" / model / "factors" / "model.json", info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=50_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "c.yaml"
        config_path.write_text(yaml.safe_dump({"models": {
            "moirai-small-untrained": {"replicates": 3},
            "moirai-small-synthetic": {"plugin": "moirai", "size": "small", "enabled": True,
                                       "weights": "results/finetune/moirai-small"},
            **{name: {"enabled": False} for name in (
                "moirai-tiny-untrained", "moirai-tiny-synthetic", "moirai-tiny-shuffled")}},
            "finetune": {"runs": {"moirai-tiny-synthetic": {"enabled": False},
                                  "moirai-tiny-shuffled": {"enabled": False}}}}))
        config = load_config([config_path])
        results = Path(tmp) / "results"
        write_tables(results, args.beats)
        start = time.perf_counter()
        table = compare_models(config, results)
        wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"compare: {len(table)} comparisons ({table['difference'].notna().sum()} with a "
          f"value) in {wall:.1f} s; peak RSS of this process {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
