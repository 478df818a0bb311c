"""Small synthetic suites and embeddings with known answers, for tests and timing.

The suites follow the on-disk contract of docs/architecture.md but are generated with
sinusoids (no neurokit2), so the probes can be checked on their own: an *oracle*
embedding holds the true factors, a *patch* embedding holds the raw samples of each
token's span, and a *noise* embedding holds nothing. The ``sweeps`` suite has
``sweep_subjects`` subjects per kind, each sweeping every factor of its kind in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from physio_bench.io import Suite, read_suite, save_npy, write_json

#: factors (column, low, high) per kind of the synthetic factors suite
SYNTHETIC_FACTORS: dict[str, list[tuple[str, float, float]]] = {
    "ecg": [("heart_rate_bpm", 45, 150), ("heart_rate_std_bpm", 0, 6),
            ("noise_amplitude_au", 0, 0.2)],
    "rsp": [("resp_rate_bpm", 6, 35), ("noise_amplitude_au", 0, 0.2)],
}
SCENARIO_CHANNELS = ["ecg", "ppg", "rsp", "eda", "emg"]
#: scenario -> (heart rate start, end in bpm, resp rate in bpm, dynamics)
SYNTHETIC_SCENARIOS = {
    "normal_sinus": (70, 70, 14, "steady"),
    "sinus_tachycardia": (120, 120, 16, "steady"),
    "sinus_bradycardia": (48, 48, 12, "steady"),
    "tachypnea": (80, 80, 30, "steady"),
    "heart_rate_ramp": (60, 120, 14, "ramp"),
    "heart_rate_step": (60, 110, 14, "step"),
}


@dataclass
class SyntheticSpec:
    """Sizes of the synthetic suites."""

    seed: int = 0
    sampling_rate_hz: float = 50.0
    window_samples: int = 256
    windows_per_kind: int = 60
    windows_per_subject: int = 1
    sweep_steps: int = 6
    sweep_subjects: int = 6
    subjects_per_scenario: int = 6
    windows_per_scenario_subject: int = 2
    shared_subjects: bool = False
    kinds: dict[str, list[tuple[str, float, float]]] = field(
        default_factory=lambda: dict(SYNTHETIC_FACTORS))
    scenarios: dict[str, tuple[float, float, float, str]] = field(
        default_factory=lambda: dict(SYNTHETIC_SCENARIOS))


def write_suite(path: Path, signals: np.ndarray, labels: pd.DataFrame,
                targets: dict[str, np.ndarray], meta: dict) -> None:
    """Write a suite directory (signals.npy, labels.parquet, targets.npz, meta.json)."""
    path.mkdir(parents=True, exist_ok=True)
    save_npy(path / "signals.npy", signals.astype(np.float32))
    labels.to_parquet(path / "labels.parquet", index=False)
    np.savez(path / "targets.npz", **{k: v.astype(np.float32) for k, v in targets.items()})
    write_json(path / "meta.json", meta)


def _rates_signal(hr_bpm: np.ndarray, rr_bpm: np.ndarray, rate: float, rng: np.random.Generator,
                  noise: float) -> dict[str, np.ndarray]:
    """Pulse- and breath-like sinusoids following per-sample rates (bpm)."""
    beat_phase = 2 * np.pi * np.cumsum(hr_bpm / 60.0) / rate + rng.uniform(0, 2 * np.pi)
    resp_phase = 2 * np.pi * np.cumsum(rr_bpm / 60.0) / rate + rng.uniform(0, 2 * np.pi)
    n = len(hr_bpm)
    return {
        "ecg": np.sin(beat_phase) ** 15 + noise * rng.normal(size=n),
        "ppg": np.sin(beat_phase) + 0.3 * np.sin(2 * beat_phase) + noise * rng.normal(size=n),
        "rsp": np.sin(resp_phase) + noise * rng.normal(size=n),
        "eda": np.cumsum(rng.normal(size=n)) / np.sqrt(n),
        "emg": rng.normal(size=n) * (0.2 + noise),
        "resp_phase_rad": np.mod(resp_phase, 2 * np.pi),
    }


def _factor_window(kind: str, values: dict[str, float], spec: SyntheticSpec,
                   rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = spec.window_samples
    nan = np.full(n, np.nan)
    noise = values.get("noise_amplitude_au", 0.05)
    hr = np.full(n, values.get("heart_rate_bpm", 70.0))
    hr = hr + values.get("heart_rate_std_bpm", 0.0) * np.sin(np.linspace(0, 3, n))
    rr = np.full(n, values.get("resp_rate_bpm", 15.0))
    waves = _rates_signal(hr, rr, spec.sampling_rate_hz, rng, noise)
    targets = {"heart_rate_bpm": hr if kind == "ecg" else nan,
               "resp_rate_bpm": rr if kind == "rsp" else nan,
               "resp_phase_rad": waves["resp_phase_rad"] if kind == "rsp" else nan}
    return waves[kind][None], targets


def _meta(suite: str, spec: SyntheticSpec, n_windows: int, channels: list[str]) -> dict:
    return {"suite": suite, "sampling_rate_hz": spec.sampling_rate_hz,
            "window_samples": spec.window_samples, "n_windows": n_windows,
            "channel_names": channels, "seed": spec.seed,
            "factor_columns": {k: [c for c, _, _ in f] for k, f in spec.kinds.items()},
            "neurokit2_version": "none (synthetic)", "wall_time_s": 0.0}


def _stack(windows: list, records: list[dict], spec: SyntheticSpec, suite: str,
           channels: list[str], path: Path) -> None:
    signals = np.stack([w[0] for w in windows])
    targets = {k: np.stack([w[1][k] for w in windows]) for k in windows[0][1]}
    labels = pd.DataFrame(records)
    labels.insert(0, "window_id", np.arange(len(labels)))
    write_suite(path, signals, labels, targets, _meta(suite, spec, len(labels), channels))


def write_factors_suite(path: Path, spec: SyntheticSpec) -> None:
    rng = np.random.default_rng(spec.seed)
    all_columns = sorted({c for f in spec.kinds.values() for c, _, _ in f})
    windows, records = [], []
    for kind, factors in spec.kinds.items():
        for i in range(spec.windows_per_kind):
            values = {c: float(rng.uniform(lo, hi)) for c, lo, hi in factors}
            windows.append(_factor_window(kind, values, spec, rng))
            record = {"subject_id": f"{kind}-{i // spec.windows_per_subject:04d}",
                      "signal_kind": kind, "scenario": "factors", "dynamics": "steady"}
            record.update({c: values.get(c, np.nan) for c in all_columns})
            records.append(record)
    _stack(windows, records, spec, "factors", ["signal"], path)


def write_sweeps_suite(path: Path, spec: SyntheticSpec) -> None:
    """Per kind, ``sweep_subjects`` subjects; each sweeps every factor across its range
    while the others stay at the subject's own values (the middle of their range, moved
    by up to 10% of it)."""
    rng = np.random.default_rng(spec.seed + 1)
    all_columns = sorted({c for f in spec.kinds.values() for c, _, _ in f})
    windows, records = [], []
    for kind, factors in spec.kinds.items():
        for subject in range(spec.sweep_subjects):
            middle = {c: (lo + hi) / 2 + 0.1 * (hi - lo) * rng.uniform(-1, 1)
                      for c, lo, hi in factors}
            for column, lo, hi in factors:
                for value in np.linspace(lo, hi, spec.sweep_steps):
                    values = dict(middle, **{column: float(value)})
                    windows.append(_factor_window(kind, values, spec, rng))
                    record = {"subject_id": f"sweep-{kind}-{subject:02d}", "signal_kind": kind,
                              "scenario": f"sweep:{column}", "dynamics": "steady"}
                    record.update({c: values.get(c, np.nan) for c in all_columns})
                    records.append(record)
    _stack(windows, records, spec, "sweeps", ["signal"], path)


def write_scenarios_suite(path: Path, spec: SyntheticSpec) -> None:
    """Scenario windows; ramps and steps go up or down (seeded) and steps happen between
    35% and 65% of the window. With ``shared_subjects`` subject ``k`` of every scenario is
    the same person (same id and rate offset), so subjects span classes."""
    rng = np.random.default_rng(spec.seed + 2)
    n = spec.window_samples
    windows, records = [], []
    shared = rng.normal(0, 3, size=spec.subjects_per_scenario)
    for name, (hr0, hr1, rr, dynamics) in spec.scenarios.items():
        for subject in range(spec.subjects_per_scenario):
            offset = shared[subject] if spec.shared_subjects else rng.normal(0, 3)
            subject_id = (f"subject-{subject:02d}" if spec.shared_subjects
                          else f"{name}-{subject:02d}")
            for _ in range(spec.windows_per_scenario_subject):
                start, end = (hr0, hr1) if rng.uniform() < 0.5 else (hr1, hr0)
                if dynamics == "ramp":
                    hr = np.linspace(start, end, n)
                elif dynamics == "step":
                    change = int(rng.uniform(0.35, 0.65) * n)
                    hr = np.where(np.arange(n) < change, start, end).astype(float)
                else:
                    hr = np.full(n, float(hr0))
                hr = hr + offset
                rrs = np.full(n, rr + offset / 3)
                waves = _rates_signal(hr, rrs, spec.sampling_rate_hz, rng, 0.05)
                signals = np.stack([waves[c] for c in SCENARIO_CHANNELS])
                windows.append((signals, {"heart_rate_bpm": hr, "resp_rate_bpm": rrs,
                                          "resp_phase_rad": waves["resp_phase_rad"]}))
                records.append({"subject_id": subject_id, "signal_kind": "multi",
                                "scenario": name, "dynamics": dynamics})
    _stack(windows, records, spec, "scenarios", SCENARIO_CHANNELS, path)


def write_synthetic_suites(results_dir: Path, spec: SyntheticSpec) -> None:
    """The three simulated suites under ``results_dir/simulated``."""
    write_factors_suite(results_dir / "simulated" / "factors", spec)
    write_sweeps_suite(results_dir / "simulated" / "sweeps", spec)
    write_scenarios_suite(results_dir / "simulated" / "scenarios", spec)


def write_embeddings(
    results_dir: Path, model: str, suite: str, pooled: np.ndarray, layer_names: list[str],
    tokens: dict[str, np.ndarray] | None = None, spans: np.ndarray | None = None,
    channels: np.ndarray | None = None, pretrained: bool = False,
) -> Path:
    """An embedding directory as the embed stage writes it (tokens stored as float16)."""
    path = results_dir / "embeddings" / model / suite
    path.mkdir(parents=True, exist_ok=True)
    save_npy(path / "pooled.npy", np.asarray(pooled, dtype=np.float32))
    tokens = tokens or {}
    for name, array in tokens.items():
        save_npy(path / "tokens" / f"{name}.npy", np.asarray(array, dtype=np.float16))
    if spans is not None:
        save_npy(path / "token_spans.npy", np.asarray(spans, dtype=np.int64))
        save_npy(path / "token_channels.npy", np.asarray(channels, dtype=np.int64))
    write_json(path / "model.json", {
        "name": model, "plugin": "synthetic", "layer_names": layer_names,
        "token_layers": list(tokens), "pretrained": pretrained, "weights_source": "none",
        "weights_sha256": None, "n_parameters": 0, "versions": {}, "device": "cpu",
        "dtype": "float32", "wall_time_s": 0.0, "windows_per_second": 0.0,
        "description": "synthetic test embedding",
    })
    return path


def oracle_features(labels: pd.DataFrame, columns: list[str],
                    reference: pd.DataFrame | None = None) -> np.ndarray:
    """The factor columns standardised with ``reference``'s mean and std (default:
    ``labels``'), NaN -> 0: windows x len(columns)."""
    ref = (labels if reference is None else reference)[columns].to_numpy(dtype=float)
    scale = np.nanstd(ref, axis=0)
    values = (labels[columns].to_numpy(dtype=float) - np.nanmean(ref, axis=0))
    return np.nan_to_num(values / np.where(scale > 0, scale, 1.0), nan=0.0)


def pad_with_noise(features: np.ndarray, n_noise: int, noise: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Add ``noise``-std Gaussian noise and append ``n_noise`` unit-noise dimensions."""
    signal = features + noise * rng.normal(size=features.shape)
    return np.concatenate([signal, rng.normal(size=(*features.shape[:-1], n_noise))], axis=-1)


def random_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal dim x dim matrix (Haar measure)."""
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))[None, :]


def patch_tokens(signals: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens = each channel's per-window z-scored samples cut into patches.

    Returns (windows x tokens x patch, spans tokens x 2, channels tokens): tokens are
    ordered channel by channel, then in time.
    """
    x = np.asarray(signals, dtype=np.float64)
    z = (x - x.mean(axis=2, keepdims=True)) / np.where(
        x.std(axis=2, keepdims=True) > 0, x.std(axis=2, keepdims=True), 1.0)
    n_windows, n_channels, n_samples = z.shape
    n_patches = n_samples // patch
    cut = z[:, :, :n_patches * patch].reshape(n_windows, n_channels * n_patches, patch)
    starts = np.tile(np.arange(n_patches) * patch, n_channels)
    spans = np.stack([starts, starts + patch], axis=1)
    channels = np.repeat(np.arange(n_channels), n_patches)
    return cut, spans, channels


def _tracking_features(suite: Suite, spans: np.ndarray) -> np.ndarray:
    """windows x tokens x 4: span means of heart rate, resp rate (scaled), sin/cos phase."""
    from physio_bench.probes.tokens import span_means

    t = suite.targets
    feats = [span_means(t["heart_rate_bpm"], spans) / 30.0,
             span_means(t["resp_rate_bpm"], spans) / 10.0,
             span_means(np.sin(t["resp_phase_rad"]), spans),
             span_means(np.cos(t["resp_phase_rad"]), spans)]
    return np.nan_to_num(np.stack(feats, axis=2), nan=0.0)


def write_reference_embeddings(results_dir: Path, spec: SyntheticSpec, noise: float = 0.01,
                               n_noise_dims: int = 8, patch: int = 16) -> list[str]:
    """Embeddings with known answers for the synthetic suites; returns the model names.

    - ``oracle``: layers ``noise`` (pure noise), ``middle`` and ``last`` (true factors or
      scenario one-hot, plus ``noise``-std noise, padded with unit-noise dims). Tokens of
      layer ``last``: the token's z-scored patch, the span means of heart rate,
      respiratory rate and phase (sin, cos), and noise dims.
    - ``rotated``: the oracle's pooled layers under one random rotation; no tokens.
    - ``noise``: pure noise everywhere, tokens included.
    - ``summary``: noise, with one token per channel spanning the whole window.
    """
    rng = np.random.default_rng(spec.seed + 100)
    suites = {name: read_suite(results_dir / "simulated" / name)
              for name in ("factors", "sweeps", "scenarios")}
    columns = sorted({c for f in spec.kinds.values() for c, _, _ in f})
    classes = sorted(suites["scenarios"].labels["scenario"].unique())
    dim = max(len(columns), len(classes)) + n_noise_dims
    rotation = random_rotation(dim, rng)
    for name, suite in suites.items():
        labels = suite.labels
        if name == "scenarios":
            truth = 3.0 * np.eye(len(classes))[np.searchsorted(classes, labels["scenario"])]
        else:
            truth = oracle_features(labels, columns, suites["factors"].labels)
        truth = np.pad(truth, ((0, 0), (0, dim - n_noise_dims - truth.shape[1])))
        oracle = pad_with_noise(truth, n_noise_dims, noise, rng)
        pure = rng.normal(size=oracle.shape)
        layers = np.stack([pure, pad_with_noise(truth, n_noise_dims, noise, rng), oracle])
        names = ["noise", "middle", "last"]
        raw, spans, channels = patch_tokens(suite.signals, patch)
        tracking = _tracking_features(suite, spans)
        tokens = np.concatenate([raw, tracking, rng.normal(size=(*raw.shape[:2], 4))], axis=2)
        write_embeddings(results_dir, "oracle", name, layers, names, {"last": tokens},
                         spans, channels)
        write_embeddings(results_dir, "rotated", name, layers @ rotation, names)
        write_embeddings(results_dir, "noise", name, rng.normal(size=layers.shape), names,
                         {"last": rng.normal(size=tokens.shape)}, spans, channels)
        n_channels = suite.signals.shape[1]
        whole = np.tile([[0, suite.signals.shape[2]]], (n_channels, 1))
        write_embeddings(results_dir, "summary", name, rng.normal(size=layers.shape), names,
                         {"last": rng.normal(size=(len(labels), n_channels, 6))}, whole,
                         np.arange(n_channels))
    return ["oracle", "rotated", "noise", "summary"]


def position_tokens(n_windows: int, spans: np.ndarray, n_samples: int, dim: int = 16
                    ) -> np.ndarray:
    """windows x tokens x ``dim`` tokens that carry only their position in the window
    (sinusoids of the span centre, the same in every window)."""
    centre = spans.mean(axis=1) / max(n_samples, 1)
    freqs = np.arange(1, dim // 2 + 1)
    code = np.concatenate([np.sin(np.pi * centre[:, None] * freqs[None]),
                           np.cos(np.pi * centre[:, None] * freqs[None])], axis=1)
    return np.broadcast_to(code, (n_windows, *code.shape)).copy()


def write_control_embeddings(results_dir: Path, spec: SyntheticSpec, patch: int = 16,
                             noise: float = 0.01) -> list[str]:
    """Further known-answer embeddings for the synthetic suites; returns the model names.

    - ``entangled``: the oracle's factors, except that per kind the first factor's
      dimension holds ``A + 0.7 B`` (A, B: the kind's first two factors) and B has no
      dimension of its own, so no linear read-out can separate them.
    - ``position``: tokens that carry only their position in the window (the same in every
      window, plus ``noise``); pooled embeddings are noise.
    """
    rng = np.random.default_rng(spec.seed + 200)
    suites = {name: read_suite(results_dir / "simulated" / name)
              for name in ("factors", "sweeps", "scenarios")}
    columns = sorted({c for f in spec.kinds.values() for c, _, _ in f})
    n_noise_dims = 8
    for name, suite in suites.items():
        labels = suite.labels
        n = len(labels)
        if name == "scenarios":
            truth = np.zeros((n, len(columns)))
        else:
            truth = oracle_features(labels, columns, suites["factors"].labels)
            for kind, factors in spec.kinds.items():
                if len(factors) < 2:
                    continue
                rows = labels["signal_kind"].to_numpy() == kind
                a, b = columns.index(factors[0][0]), columns.index(factors[1][0])
                truth[rows, a] += 0.7 * truth[rows, b]
                truth[rows, b] = 0.0
        layer = pad_with_noise(truth, n_noise_dims, noise, rng)
        write_embeddings(results_dir, "entangled", name, layer[None], ["last"])
        _, spans, channels = patch_tokens(suite.signals, patch)
        tokens = position_tokens(n, spans, suite.signals.shape[2])
        tokens = tokens + noise * rng.normal(size=tokens.shape)
        write_embeddings(results_dir, "position", name, rng.normal(size=(1, n, 16)), ["last"],
                         {"last": tokens}, spans, channels)
    return ["entangled", "position"]
