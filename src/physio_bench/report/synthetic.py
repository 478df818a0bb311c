"""Synthetic stage outputs in the layout the report reads (for tests and demonstrations).

:func:`write_synthetic_results` fills a results folder with small suites, model.json
files, probe and downstream JSON/CSV files and prediction tables for the enabled models
of a config, and the comparisons the compare stage computes from them. The numbers
are random (seeded) but shaped like real results; this is the executable specification
of the keys the report reads (see the modules in :mod:`physio_bench.report.inputs`).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.config import enabled_models, model_entry
from physio_bench.io import (
    PREDICTION_COLUMNS,
    save_npy,
    save_predictions,
    write_json,
    write_leaderboard_rows,
)
from physio_bench.metrics import chance_of, direction_of

FACTORS = {
    "ecg": ["heart_rate_bpm", "heart_rate_std_bpm", "noise_amplitude_au"],
    "ppg": ["heart_rate_bpm", "noise_amplitude_au"],
    "rsp": ["resp_rate_bpm", "noise_amplitude_au"],
    "eda": ["scr_rate_per_min", "noise_amplitude_au"],
    "emg": ["burst_rate_per_min", "noise_amplitude_au"],
}
CHANNELS = ["ecg", "ppg", "rsp", "eda", "emg"]
SAMPLING_RATE_HZ = 64.0


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32("/".join(names).encode())])


def _write_suite(folder: Path, signals: np.ndarray, labels: pd.DataFrame,
                 channels: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_npy(folder / "signals.npy", signals.astype(np.float32))
    labels.to_parquet(folder / "labels.parquet", index=False)
    write_json(folder / "meta.json", {
        "suite": folder.name, "sampling_rate_hz": SAMPLING_RATE_HZ,
        "window_samples": signals.shape[-1], "n_windows": signals.shape[0],
        "channel_names": channels,
    })


def write_suites(results: Path, config: dict[str, Any], seed: int, samples: int) -> None:
    """``simulated/factors`` (4 windows per kind) and ``simulated/scenarios`` (2 per class)."""
    time_s = np.arange(samples) / SAMPLING_RATE_HZ
    kinds = list(config["simulate"]["signal_kinds"])
    rng = _rng(seed, "factors")
    rows, traces = [], []
    for kind in kinds:
        for _ in range(4):
            values = {f: float(rng.uniform(0.5, 2.0)) for f in FACTORS[kind]}
            rows.append({"window_id": len(rows), "subject_id": f"s{len(rows)}",
                         "signal_kind": kind, "scenario": "factors", "dynamics": "steady",
                         **values})
            traces.append(np.sin(2 * np.pi * next(iter(values.values())) * time_s)
                          + 0.1 * rng.standard_normal(samples))
    _write_suite(results / "simulated" / "factors", np.stack(traces)[:, None, :],
                 pd.DataFrame(rows), ["signal"])
    classes = list(config["simulate"]["scenarios"]["classes"])
    rng = _rng(seed, "scenarios")
    rows, windows = [], []
    for c, scenario in enumerate(classes):
        for _ in range(2):
            rows.append({"window_id": len(rows), "subject_id": f"{scenario}{len(rows)}",
                         "signal_kind": "multi", "scenario": scenario, "dynamics": "steady"})
            windows.append(np.stack([np.sin(2 * np.pi * (1 + c + k) * time_s / 4)
                                     + 0.1 * rng.standard_normal(samples)
                                     for k in range(len(CHANNELS))]))
    _write_suite(results / "simulated" / "scenarios", np.stack(windows), pd.DataFrame(rows),
                 CHANNELS)
    window_s = samples / SAMPLING_RATE_HZ
    events = [(w, event, float(t), float(t), label) for w in range(len(rows))
              for event, period, label in (("beat", 0.8, "N"), ("breath", 4.0, ""))
              for t in np.arange(0.3, window_s, period)]
    pd.DataFrame(events, columns=["window_id", "event", "start_s", "stop_s", "label"]).to_parquet(
        results / "simulated" / "scenarios" / "events.parquet", index=False)
    for dataset in _datasets(config):
        write_real_suite(results / "real" / dataset, seed, samples)


def write_real_suite(folder: Path, seed: int, samples: int) -> None:
    """A real suite (``results/real/{dataset}``, the format of ``physio-bench
    real-windows``): two records, two windows each, ECG, PPG and RSP at the same starts,
    annotated beats (two V beats per window) and breaths."""
    time_s = np.arange(samples) / SAMPLING_RATE_HZ
    window_s = samples / SAMPLING_RATE_HZ
    rng = _rng(seed, "real", folder.name)
    rows, traces, events = [], [], []
    for record in ("r1", "r2"):
        for start in (0.0, window_s):
            for kind, hz in (("ecg", 1.2), ("ppg", 1.2), ("rsp", 0.25)):
                window_id = len(rows)
                rows.append({"window_id": window_id, "subject_id": record, "record": record,
                             "dataset": folder.name, "signal_kind": kind, "scenario": "real",
                             "dynamics": "steady", "channel": kind.upper(), "start_s": start,
                             "heart_rate_bpm": 72.0 if kind != "rsp" else np.nan,
                             "resp_rate_bpm": 15.0})
                traces.append(np.sin(2 * np.pi * hz * time_s) + 0.1 * rng.standard_normal(samples))
                beats = np.arange(0.3, window_s, 0.8)
                events += [(window_id, "beat", float(t), float(t), "V" if k in (1, 4) else "N")
                           for k, t in enumerate(beats)]
                events += [(window_id, "breath", float(t), float(t), "")
                           for t in np.arange(0.5, window_s, 4.0)]
    _write_suite(folder, np.stack(traces)[:, None, :], pd.DataFrame(rows), ["signal"])
    pd.DataFrame(events, columns=["window_id", "event", "start_s", "stop_s", "label"]).to_parquet(
        folder / "events.parquet", index=False)


def _row(model: str, pretrained: bool, stage: str, task: str, metric: str, layer: str,
         value: float, n: int, chance: float | None = None,
         n_subjects: int = 40) -> dict[str, Any]:
    return {"model": model, "pretrained": pretrained, "stage": stage, "task": task,
            "metric": metric, "layer": layer, "value": value, "ci_low": value - 0.05,
            "ci_high": value + 0.05, "n": n, "n_subjects": n_subjects,
            "chance": chance_of(metric) if chance is None else chance,
            "direction": direction_of(metric), "note": ""}


def _pair(rng: np.random.Generator, n: int, quality: float) -> dict[str, list[float]]:
    true = rng.uniform(50, 120, n)
    return {"true": true.tolist(),
            "predicted": (true + (1 - quality) * 20 * rng.standard_normal(n)).tolist()}


def write_model(results: Path, config: dict[str, Any], model: str, seed: int) -> None:
    """model.json, probe JSON/CSV and downstream JSON/CSV of one model."""
    options = model_entry(config, model)
    pretrained = options.get("weights", "random") not in ("random",) and "weights" in options
    n_layers = 4 if options["plugin"] in ("moirai", "chronos", "mantis") else 1
    layers = [f"layer_{i}" for i in range(n_layers)]
    rng = _rng(seed, model)
    quality = float(rng.uniform(0.3, 0.95))
    info = {"name": model, "plugin": options["plugin"], "pretrained": pretrained,
            "weights_source": options.get("weights", "none"), "weights_sha256": "ab" * 32,
            "n_parameters": 1000 * n_layers, "layer_names": layers, "token_layers": layers[-1:],
            "versions": {"numpy": np.__version__}, "device": "cpu", "dtype": "float32",
            "wall_time_s": 1.5, "windows_per_second": 100.0, "description": "synthetic"}
    for suite in ("factors", "sweeps", "scenarios", "real"):
        write_json(results / "embeddings" / model / suite / "model.json", info)
    probes = results / "probes" / model
    kinds = list(config["simulate"]["signal_kinds"])
    curve = lambda top: np.linspace(top / 3, top, n_layers).tolist()  # noqa: E731
    write_leaderboard_rows(probes / "feature_independence.csv",
                           _fi_rows(model, pretrained, kinds, quality))
    write_json(probes / "feature_independence.json", {
        "layer_names": layers,
        "kinds": {kind: _fi_kind(rng, kind, quality, curve) for kind in kinds},
        "calibration": {"d": 384 if n_layers > 1 else 32, "n": 4},
    })

    td = "temporal_dynamics"
    td_rows = [_row(model, pretrained, td, f"factors:{k}", "reconstruction_r2",
                    "last", quality, 40) for k in [*kinds, "all"]]
    td_rows += [_row(model, pretrained, td, task, "tracking_r2", "last", quality, 40)
                for task in ("factors:heart_rate_bpm", "scenarios:ramp_step:heart_rate_bpm")]
    td_rows += [_row(model, pretrained, td, "scenarios:ramp_step:heart_rate_bpm",
                     "tracking_within_r2", "last", quality - 0.2, 256, n_subjects=16),
                _row(model, pretrained, td, "factors:all", "autocorrelation_agreement", "last",
                     quality / 2, 40)]
    write_leaderboard_rows(probes / "temporal_dynamics.csv", td_rows)
    write_json(probes / "temporal_dynamics.json", _td_detail(rng, kinds, layers, quality, curve))

    classes = sorted(config["simulate"]["scenarios"]["classes"])
    chance = {"balanced_accuracy": 1 / len(classes), "macro_f1": 1 / len(classes),
              "fisher_ratio": 0.3}
    ss_rows = [_row(model, pretrained, "scenario_separation", "scenarios", m, layer,
                    quality * (5 if m == "fisher_ratio" else 1), 20, chance.get(m))
               for m in ("balanced_accuracy", "macro_f1", "silhouette", "fisher_ratio")
               for layer in ("last", "best")]
    write_leaderboard_rows(probes / "scenario_separation.csv", ss_rows)
    counts = rng.integers(0, 3, (len(classes), len(classes))) + np.eye(len(classes), dtype=int) * 6
    labels = [c for c in classes for _ in range(5)]
    write_json(probes / "scenario_separation.json", {
        "layer_names": layers, "classes": classes,
        "per_layer": {"balanced_accuracy": curve(quality), "macro_f1": curve(quality)},
        "last": {"confusion_matrix": counts.tolist(),
                 "map_2d": {"method": "PCA of standardised pooled embeddings",
                            "x": rng.standard_normal(len(labels)).tolist(),
                            "y": rng.standard_normal(len(labels)).tolist(), "label": labels}},
    })

    write_downstream(results, config, model, pretrained, rng, quality)
    write_predictions(results, config, model, seed, quality)


def _datasets(config: dict[str, Any]) -> list[str]:
    return [name for name, entry in config["downstream"]["datasets"].items()
            if entry.get("enabled", True)]


def write_downstream(results: Path, config: dict[str, Any], model: str, pretrained: bool,
                     rng: np.random.Generator, quality: float) -> None:
    """Downstream JSON/CSV of one model on the first configured dataset: heart and
    respiratory rate (real and sim2real) and beat classes."""
    dataset = (_datasets(config) or ["real"])[0]
    rows, tasks = [], {}
    for source in ("real", "sim2real"):
        for kind, target in (("ecg", "heart_rate_bpm"), ("rsp", "resp_rate_bpm")):
            task = f"{source}:{dataset}:{kind}:{target}"
            rows.append(_row(model, pretrained, "downstream", task, "mae", "last",
                             float(rng.uniform(2, 15)), 50))
            pair = _pair(rng, 25, quality)
            tasks[task] = {"metric": "mae", "target": target,
                           "predictions": {"reference": pair["true"], "last": pair["predicted"],
                                           "best": pair["predicted"]}}
    task = f"real:{dataset}:ecg:beat_class"
    rows.append(_row(model, pretrained, "downstream", task, "balanced_accuracy", "last",
                     quality, 500))
    confusion = rng.integers(0, 20, (4, 4)) + np.eye(4, dtype=int) * 100
    tasks[task] = {"metric": "balanced_accuracy", "classes": ["N", "S", "V", "F"],
                   "confusion": confusion.tolist()}
    written = {row["task"] for row in rows}
    rows += [_row(model, pretrained, "downstream", task, metric, "last",
                  quality if metric == "balanced_accuracy" else float(rng.uniform(1, 8)), 200)
             for task, metric in HEADLINE_DOWNSTREAM if task not in written]
    write_leaderboard_rows(results / "downstream" / f"{model}.csv", rows)
    write_json(results / "downstream" / f"{model}.json", {"tasks": tasks})


def write_reference_method(results: Path, config: dict[str, Any], seed: int) -> None:
    """``reference-method.json``/``.csv``: the classical methods' rows and predictions."""
    from physio_bench.report.inputs.downstream import reference_method_name

    name = reference_method_name()
    rng = _rng(seed, name)
    rows, tasks = [], {}
    for dataset in (_datasets(config) or ["real"])[:1]:
        for kind, target in (("ecg", "heart_rate_bpm"), ("rsp", "resp_rate_bpm")):
            task = f"real:{dataset}:{kind}:{target}"
            rows.append(_row(name, False, "downstream", task, "mae", "last",
                             float(rng.uniform(0.5, 3)), 50))
            pair = _pair(rng, 25, 0.9)
            tasks[task] = {"metric": "mae", "target": target,
                           "predictions": {"reference": pair["true"],
                                           "last": pair["predicted"]}}
    write_leaderboard_rows(results / "downstream" / f"{name}.csv", rows)
    write_json(results / "downstream" / f"{name}.json", {"tasks": tasks})
#: downstream headline tasks of the synthetic results (task, metric)
HEADLINE_DOWNSTREAM = (
    ("real:mitdb:ecg:heart_rate_bpm", "mae"), ("real:bidmc:ppg:resp_rate_bpm", "mae"),
    ("real:mitdb:ecg:beat_class", "balanced_accuracy"),
    ("sim2real:bidmc:ppg:resp_rate_bpm", "mae"),
)


def _table(task: str, metric: str, subjects: np.ndarray, targets: list[str],
           y_true: np.ndarray, y_pred: np.ndarray, n_folds: int = 0) -> pd.DataFrame:
    """Long prediction rows (``physio_bench.io.PREDICTION_COLUMNS``) of items x targets;
    ``n_folds`` > 0: subjects dealt round-robin into that many outer folds (the same for
    every model), else fold -1 (a decoder fitted elsewhere)."""
    n, k = y_true.shape
    index = np.unique(subjects, return_inverse=True)[1].reshape(-1)
    folds = index % n_folds if n_folds > 0 else np.full(n, -1)
    return pd.DataFrame({
        "task": task, "metric": metric, "layer": "last", "repeat": 0,
        "fold": np.repeat(folds, k), "item": np.repeat(np.arange(n), k),
        "subject": np.repeat(subjects, k),
        "target": np.tile(targets, n), "y_true": y_true.ravel(), "y_pred": y_pred.ravel(),
    }, columns=PREDICTION_COLUMNS)


def synthetic_predictions(config: dict[str, Any], model: str, seed: int,
                          quality: float) -> dict[str, pd.DataFrame]:
    """Out-of-fold prediction tables of the headline tasks, file stem -> table.

    The truth depends on ``seed`` only (the same items for every model, so that models
    pair); the predictions on the model: ``quality`` near 1 decodes well.
    """
    truth = lambda *n: _rng(seed, "truth", *n)  # noqa: E731
    noise = _rng(seed, model, "predictions")
    k = int(config.get("probes", {}).get("cv_folds", 5))
    out: dict[str, list[pd.DataFrame]] = {}
    for kind in config["simulate"]["signal_kinds"]:
        factors = FACTORS[kind]
        n = 60
        y = truth(kind).uniform(0.5, 2.0, (n, len(factors)))
        mixed = np.roll(y, 1, axis=1) * (1 - quality) * 0.3
        pred = quality * y + mixed + (1 - quality) * noise.standard_normal(y.shape) * 0.5
        subjects = np.array([f"{kind}{i}" for i in range(n)])
        for j, factor in enumerate(factors):
            out.setdefault("probes/feature_independence", []).append(_table(
                f"{kind}:{factor}", "r2", subjects, [factor], y[:, j:j + 1], pred[:, j:j + 1],
                k))
    subjects = np.repeat([f"ramp{i}" for i in range(16)], 16)
    y = truth("tracking").normal(0, 5, (len(subjects), 1))
    pred = quality * y + (1 - quality) * 5 * noise.standard_normal(y.shape)
    out["probes/temporal_dynamics"] = [_table("scenarios:ramp_step:heart_rate_bpm",
                                              "tracking_within_r2", subjects, ["heart_rate_bpm"],
                                              y, pred, k)]
    n_classes = len(config["simulate"]["scenarios"]["classes"])
    subjects = np.repeat([f"subject{i}" for i in range(8 * n_classes)], 2)
    y = np.repeat(np.arange(8 * n_classes) % n_classes, 2)[:, None].astype(float)
    right = noise.uniform(size=y.shape) < quality
    pred = np.where(right, y, noise.integers(0, n_classes, y.shape))
    out["probes/scenario_separation"] = [_table("scenarios", "balanced_accuracy", subjects,
                                                ["class"], y, pred, k)]
    for task, metric in HEADLINE_DOWNSTREAM:
        records = np.repeat([f"r{i:02d}" for i in range(40)], 5)
        if metric == "mae":
            y = truth(task).uniform(8, 30, (len(records), 1))
            pred = y + (1 - quality) * 6 * noise.standard_normal(y.shape)
        else:
            y = truth(task).integers(0, 4, (len(records), 1)).astype(float)
            pred = np.where(noise.uniform(size=y.shape) < quality, y,
                            noise.integers(0, 4, y.shape))
        fitted_elsewhere = task.startswith("sim2real") or task.endswith("beat_class")
        out.setdefault("downstream", []).append(_table(
            task, metric, records, ["value"], y, pred, 0 if fitted_elsewhere else k))
    return {stem: pd.concat(parts, ignore_index=True) for stem, parts in out.items()}


def write_predictions(results: Path, config: dict[str, Any], model: str, seed: int,
                      quality: float) -> None:
    """``{probe}.predictions.parquet`` and ``downstream/{model}.predictions.parquet``."""
    for stem, table in synthetic_predictions(config, model, seed, quality).items():
        if stem == "downstream":
            path = results / "downstream" / f"{model}.predictions.parquet"
        else:
            path = results / "probes" / model / f"{stem.split('/')[1]}.predictions.parquet"
        save_predictions(path, table)


def _fi_rows(model: str, pretrained: bool, kinds: list[str],
             quality: float) -> list[dict[str, Any]]:
    tasks = [f"{k}:{f}" for k in kinds for f in FACTORS[k]]
    stage = "feature_independence"
    rows = [_row(model, pretrained, stage, t, metric, layer,
                 quality - 0.1 * i / len(tasks) + (0.05 if metric == "r2_nonlinear" else 0), 40)
            for i, t in enumerate(tasks) for layer in ("last", "best")
            for metric in ("r2", "r2_nonlinear")]
    rows += [_row(model, pretrained, stage, "all", metric, "last", quality, 40)
             for metric in ("r2", "r2_nonlinear")]
    for task in [*kinds, "all"]:
        rows += [_row(model, pretrained, stage, task, m, "last", quality, 40)
                 for m in ("dci_disentanglement", "dci_completeness")]
        rows += [_row(model, pretrained, stage, task, m, "last", (1 - quality) / 3, 40,
                      0.05 if m == "residual_correlation" else None)
                 for m in ("entanglement", "residual_correlation", "cross_talk")]
    rows.append(_row(model, pretrained, stage, "calibration", "calibration_r2", "last",
                     0.95, 40))
    return rows


def _fi_kind(rng: np.random.Generator, kind: str, quality: float, curve: Any) -> dict[str, Any]:
    factors = FACTORS[kind]
    k = len(factors)
    noise = rng.uniform(-0.2, 0.2, (k, k))
    mixing = np.eye(k) + noise * (1 - np.eye(k))
    scatter = {}
    for f in factors:
        pair = _pair(rng, 30, quality)
        scatter[f] = {"true": pair["true"], "pred": pair["predicted"]}
    last: dict[str, Any] = {"scatter": scatter, "entanglement": {"mixing_matrix": mixing.tolist()}}
    if k > 1:
        last["cross_talk"] = {"factors": factors, "note": "",
                              "matrix": (np.eye(k) + np.abs(noise) * (1 - np.eye(k))).tolist()}
    return {"factors": factors, "last": last,
            "per_layer": {"mean_r2": curve(quality), "entanglement": curve(1 - quality)}}


def _td_detail(rng: np.random.Generator, kinds: list[str], layers: list[str], quality: float,
               curve: Any) -> dict[str, Any]:
    span = 32
    wave = np.sin(2 * np.pi * np.arange(span) / 16)
    examples = [{"window": i, "kind": k, "span": [span * i, span * (i + 1)],
                 "target_samples": [span * i, span * (i + 1) - 1],
                 "true": wave.tolist(), "pred_last": (quality * wave).tolist()}
                for i, k in enumerate(kinds)]
    time_s = np.linspace(0, 8, 16)
    traces = []
    for target in ("heart_rate_bpm", "resp_rate_bpm"):
        for dynamics, shape in (("ramp", np.linspace(60, 90, 16)),
                                ("step", np.where(time_s < 4, 60.0, 90.0))):
            scenario = f"{target.removesuffix('_bpm')}_{dynamics}"
            traces.append({"window": len(traces), "scenario": scenario, "target": target,
                           "time_s": time_s.tolist(), "channel": ["ecg"] * 16,
                           "true": shape[:, None].tolist(),
                           "pred_last": (shape + rng.normal(0, 2, 16))[:, None].tolist()})
    return {
        "layer_names": layers, "token_layers": layers,
        "reconstruction": {"per_layer": {"all": curve(quality)}, "examples": examples},
        "autocorrelation": {"per_layer": {"all": curve(quality / 2)}},
        "tracking": {
            "factors:heart_rate_bpm": {"per_layer": {"factors:heart_rate_bpm": curve(quality)}},
            "scenarios:heart_rate_bpm": {"traces": traces[:2]},
            "scenarios:resp_rate_bpm": {"traces": traces[2:]},
        },
    }


def write_synthetic_results(results: str | Path, config: dict[str, Any], seed: int = 0,
                            samples: int = 256) -> Path:
    """Fill ``results`` with synthetic outputs of every stage for the enabled models."""
    from physio_bench.compare import write_comparisons

    results = Path(results)
    write_suites(results, config, seed, samples)
    for model in enabled_models(config):
        write_model(results, config, model, seed)
    write_sensitivity_summary(results, config, seed)
    quick = {**config, "statistics": {**config.get("statistics", {}),
                                      "comparison_resamples": 200}}
    write_comparisons(quick, results)
    write_reference_method(results, config, seed)
    return results


def write_sensitivity_summary(results: Path, config: dict[str, Any], seed: int) -> None:
    """``sensitivity/summary.csv`` of the config's study (models issue 14), when it runs:
    the headline rows of every variant, in the columns of physio_bench.sensitivity.run."""
    from physio_bench.io import atomic_write_bytes
    from physio_bench.sensitivity import variants

    headlines = [("feature_independence", "all", "r2"),
                 ("feature_independence", "ecg:heart_rate_bpm", "r2"),
                 ("feature_independence", "rsp:resp_rate_bpm", "r2"),
                 ("temporal_dynamics", "factors:all", "reconstruction_r2"),
                 ("temporal_dynamics", "factors:heart_rate_bpm", "tracking_r2"),
                 ("temporal_dynamics", "factors:resp_rate_bpm", "tracking_r2")]
    rows = []
    for variant in variants(config):
        rng = _rng(seed, "sensitivity", variant.name)
        hz = variant.input_hz if variant.input_hz is not None else 100.0
        for stage, task, metric in headlines:
            for layer in ("last", "best"):
                value = float(rng.uniform(0.2, 0.8))
                rows.append({**_row(variant.name, False, stage, task, metric, layer, value,
                                    100),
                             "base_model": variant.model, "input_hz": hz,
                             "patch_size": variant.patch_size, "context_s": variant.context_s,
                             "tokens_per_channel": 50, "patch_duration_s": 0.64,
                             "context_fill": 1.0, "samples_per_beat": hz * 60 / 90,
                             "samples_per_breath": hz * 60 / 18})
    if rows:
        atomic_write_bytes(results / "sensitivity" / "summary.csv",
                           pd.DataFrame(rows).to_csv(index=False).encode())
