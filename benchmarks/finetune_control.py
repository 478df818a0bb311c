"""The positive control, measured: does Moirai trained on synthetic physiology beat its
untrained twin on the feature-independence probe? (Printed, never asserted.)

    .venv/bin/python benchmarks/finetune_control.py --work /tmp/pc \\
        --train-suite /tmp/pc/training --eval-suites /tmp/pc/eval [--steps 120] \\
        [--set lr=0.0005 --set min_patches=8 ...]

1. trains the run ``control`` (``finetune.runs`` defaults of config.yaml, overridden by
   ``--steps``/``--set``) on ``--train-suite`` into ``WORK/finetune/control`` (kept: a
   second call with the same settings reuses the checkpoint), printing wall time, peak
   memory and the loss curve's end;
2. resamples the evaluation suites ``--eval-suites/{factors,sweeps,real}`` to the run's
   ``input_hz`` with the same function as training (what the embed stage does for a
   model with that ``input_hz``);
3. embeds both suites with the trained checkpoint, its untrained twin (``weights:
   random``, the same seed, i.e. the weights training started from) and the ``raw`` and
   ``spectral`` baselines, through :func:`physio_bench.models.embed.embed_shard`;
4. runs the feature-independence probe on each and prints R² of every factor (layer
   ``last`` and ``best``), and for trained minus untrained a paired bootstrap over
   windows of the held-out predictions (both models share the probe's folds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
RUN = "control"
SUITES = ("factors", "sweeps")
REAL = "real"
BOOTSTRAP = 2000


def parse_value(text: str) -> Any:
    return yaml.safe_load(text)


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    from physio_bench.config import deep_update
    from physio_bench.preflight import load_config

    run = {"enabled": True, "suite": str(args.train_suite), "steps": args.steps}
    run["warmup_steps"] = max(1, args.steps // 10)
    for item in args.set:
        key, _, value = item.partition("=")
        run[key] = parse_value(value)
    base = load_config()
    models = {
        "trained": {"plugin": "moirai", "size": "small", "patch_size": 32,
                    "weights": str(Path(args.work) / "finetune" / RUN / "checkpoint")},
        "untrained": {"plugin": "moirai", "size": "small", "patch_size": 32, "weights": "random"},
        "raw": {"plugin": "raw"},
        "spectral": {"plugin": "spectral"},
    }
    update = {"finetune": {"runs": {RUN: run}}, "embed": {"shard_size": 100000}}
    from physio_bench.preflight import validate_config

    config = validate_config(deep_update({**base, "models": models}, update))
    models["trained"]["patch_size"] = config["finetune"]["runs"][RUN]["patch_size"]
    models["untrained"]["patch_size"] = models["trained"]["patch_size"]
    if config["finetune"]["runs"][RUN].get("seed") is not None:
        models["untrained"]["weights"] = "random"
    return config


def train(config: dict[str, Any], work: Path) -> dict[str, Any]:
    from physio_bench.finetune.train import train_run

    out = work / "finetune" / RUN
    provenance_path = out / "provenance.json"
    from physio_bench.finetune.settings import run_settings

    digest = run_settings(config, RUN).digest()
    if provenance_path.exists():
        provenance = json.loads(provenance_path.read_text())
        if provenance["training"]["settings_sha256"] == digest:
            print(f"reusing {out} (same settings)")
            return provenance
    return train_run(config, RUN, out)


def resample_suites(config: dict[str, Any], eval_dir: Path, results: Path) -> None:
    """``results/simulated/{suite}`` at ``input_hz`` (labels copied as they are)."""
    from physio_bench.finetune.data import resample_windows
    from physio_bench.io import load_npy, read_json, save_npy, write_json

    input_hz = float(config["finetune"]["runs"][RUN]["input_hz"])
    for suite in (*SUITES, REAL):
        source = eval_dir / suite
        target = results / REAL if suite == REAL else results / "simulated" / suite
        if not source.exists():
            continue
        meta = read_json(source / "meta.json")
        if target.exists() and read_json(target / "meta.json")["sampling_rate_hz"] == input_hz:
            continue
        target.mkdir(parents=True, exist_ok=True)
        signals = resample_windows(load_npy(source / "signals.npy"),
                                   meta["sampling_rate_hz"], input_hz)
        save_npy(target / "signals.npy", signals)
        shutil.copyfile(source / "labels.parquet", target / "labels.parquet")
        if (source / "targets.npz").exists():
            shutil.copyfile(source / "targets.npz", target / "targets.npz")
        write_json(target / "meta.json", {**meta, "sampling_rate_hz": input_hz,
                                          "window_samples": int(signals.shape[2])})


def embed(config: dict[str, Any], results: Path, model: str, newer_than: float) -> None:
    """Embed every suite with ``model`` unless its embedding is newer than ``newer_than``."""
    from physio_bench.models.embed import embed_shard, merge_embeddings

    for suite in (*SUITES, REAL):
        source = results / REAL if suite == REAL else results / "simulated" / suite
        out = results / "embeddings" / model / suite
        done = out / "model.json"
        if not source.exists() or (done.exists() and done.stat().st_mtime > newer_than):
            continue
        shard = out / "shards" / "0000.npz"
        began = time.perf_counter()
        embed_shard(config, model, source, 0, shard)
        merge_embeddings(config, model, [shard], out)
        print(f"embedded {suite} with {model} in {time.perf_counter() - began:.1f} s",
              file=sys.stderr)


def held_out(detail: dict[str, Any], kind: str, factor: str, layer: str = "last"
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """(true, predicted) held-out values of one factor from the probe detail's scatter
    (at most 300 windows, the same windows for every model)."""
    found = detail.get("kinds", {}).get(kind, {}).get(layer, {}).get("scatter", {}).get(factor)
    if not found:
        return None
    return np.asarray(found["true"], float), np.asarray(found["pred"], float)


def r2(true: np.ndarray, pred: np.ndarray) -> float:
    return 1.0 - float(np.sum((true - pred) ** 2) / np.sum((true - true.mean()) ** 2))


def paired_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                      seed: int = 0) -> tuple[float, float, float]:
    """R²(a) - R²(b) on the same windows, with a 95% percentile bootstrap over windows."""
    true, pred_a = a
    true_b, pred_b = b
    if not np.allclose(true, true_b):
        raise ValueError("the two models' held-out windows differ")
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, true.size, true.size)
        draws.append(r2(true[idx], pred_a[idx]) - r2(true[idx], pred_b[idx]))
    low, high = np.percentile(draws, [2.5, 97.5])
    return r2(true, pred_a) - r2(true, pred_b), float(low), float(high)


def print_paired(trained: dict[str, Any], untrained: dict[str, Any]) -> None:
    """Trained minus untrained R² of every factor (layer last), paired over windows."""
    differences = []
    for kind, node in trained.get("kinds", {}).items():
        for factor in node.get("last", {}).get("scatter", {}):
            a, b = held_out(trained, kind, factor), held_out(untrained, kind, factor)
            if a is None or b is None:
                continue
            diff, low, high = paired_difference(a, b)
            differences.append(diff)
            flag = "  *" if low > 0 or high < 0 else ""
            print(f"trained - untrained {kind}:{factor:<24} R2 {diff:+.3f} [{low:+.3f}, "
                  f"{high:+.3f}]{flag}")
    if differences:
        print(f"mean over factors: {np.mean(differences):+.3f} (* : paired 95% bootstrap "
              f"interval over windows excludes 0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--train-suite", type=Path, required=True)
    parser.add_argument("--eval-suites", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="finetune run setting (repeatable)")
    parser.add_argument("--models", default="trained,untrained,raw,spectral")
    args = parser.parse_args()
    from physio_bench.probes.runner import run_probe

    config = make_config(args)
    work = args.work
    results = work / "results"
    provenance = train(config, work)
    summary = provenance["training"]
    print(f"training: {summary['steps']} steps, {summary['windows_seen']} windows, final loss "
          f"{summary['final_loss']:.4f}; wall {provenance.get('wall_time_s')} s, train "
          f"{provenance.get('train_time_s')} s ({provenance.get('seconds_per_step')} s/step), "
          f"peak RSS {provenance.get('peak_rss_mib')} MiB")
    curve = np.asarray(provenance["loss_curve"])
    tenth = max(1, curve.size // 10)
    print("loss by tenth of training:", " ".join(f"{curve[i:i + tenth].mean():.3f}"
                                                   for i in range(0, curve.size, tenth)))
    resample_suites(config, args.eval_suites, results)
    details = {}
    for model in args.models.split(","):
        checkpoint = work / "finetune" / RUN / "checkpoint" / "model.safetensors"
        embed(config, results, model, checkpoint.stat().st_mtime if model == "trained" else 0)
        detail, rows = run_probe(config, "feature_independence", model, results)
        details[model] = detail
        (work / f"fi_{model}.json").write_text(json.dumps(detail))
        for row in rows:
            if row["metric"] == "r2":
                print(f"{model:>10} {row['layer']:>5} {row['task']:<32} R2 {row['value']:+.3f} "
                      f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")
    if {"trained", "untrained"} <= set(details):
        print_paired(details["trained"], details["untrained"])
    if (results / REAL).exists():
        from physio_bench.downstream.tasks import run_downstream

        for model in args.models.split(","):
            _, rows = run_downstream(config, model, results)
            for row in rows:
                if row["layer"] == "last" and row["metric"] in ("mae", "r2", "balanced_accuracy"):
                    print(f"{model:>10} downstream {row['task']:<40} {row['metric']:<18} "
                          f"{row['value']:8.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] "
                          f"n={row['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
