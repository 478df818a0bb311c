"""Forecast skill of Moirai-family checkpoints on a held-out suite (see the package docstring)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.errors import InputError, ModelError
from physio_bench.forecast import forecast_models
from physio_bench.forecast.scores import (
    MarginalT,
    fair_crps,
    gaussian_crps,
    gaussian_nll,
    median_corr,
    seasonal_naive,
    window_gaussian,
)
from physio_bench.io import read_suite
from physio_bench.resampling import rate_ratio, resample
from physio_bench.statistics import (
    NOT_ESTIMABLE,
    bootstrap_estimate,
    estimability_note,
    estimate_from_samples,
    group_index,
    group_sums,
    resample_weights,
    stream_seed,
)

TASKS = ("next_patch", "masked_patch")
BASELINES = ("marginal", "window_gaussian", "seasonal_naive")
CONTROLS = ("marginal", "seasonal_naive")  # the plain verdict columns
METRICS = ("nll_nats", "crps", "median_corr")
COLUMNS = ("model", "predictor", "kind", "task", "metric", "reference", "value", "ci_low",
           "ci_high", "n", "n_subjects", "verdict", "note")
BATCH = 32  # sequences per forward pass


@dataclass
class Items:
    """Per-item scores of one predictor: (items,) arrays, plus the item's subject."""

    nll: np.ndarray
    crps: np.ndarray
    corr: np.ndarray


# --------------------------------------------------------------------------- windows

def _kinds(channel_names: list[str], config: dict[str, Any]) -> list[tuple[int, str]]:
    kinds = config["simulate"]["signal_kinds"]
    return [(c, name) for c, name in enumerate(channel_names) if name in kinds]


def heldout(config: dict[str, Any], results: Path, input_hz: float, patch: int
            ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(windows x channels x samples at ``input_hz`` cut to whole patches, subject ids,
    (channel, kind) pairs) of the held-out suite's selected windows."""
    settings = config["forecast"]
    path = results / "simulated" / settings["suite"]
    train_path = results / "simulated" / settings["reference_suite"]
    for p in (path, train_path):
        if not (p / "signals.npy").is_file():
            raise InputError(f"forecast-skill: no suite at {p}; simulate it first")
    suite = read_suite(path)
    kinds = _kinds(list(suite.channel_names), config)
    if not kinds:
        raise InputError(f"forecast-skill: suite {path} has no channel named after a signal "
                         f"kind ({', '.join(config['simulate']['signal_kinds'])})")
    train_subjects = set(pd.read_parquet(train_path / "labels.parquet",
                                         columns=["subject_id"])["subject_id"].astype(str))
    subjects = suite.labels["subject_id"].astype(str).to_numpy()
    shared = sorted(set(subjects) & train_subjects)
    if shared:
        raise InputError(f"forecast-skill: suite {settings['suite']} shares subject "
                         f"{shared[0]!r} with the training suite; it is not held out")
    rng = np.random.default_rng(stream_seed(int(config["seed"]), "forecast", "windows"))
    n = len(subjects)
    rows = np.sort(rng.choice(n, size=min(n, int(settings["windows"])), replace=False))
    windows = _at_rate(np.asarray(suite.signals[rows], dtype=np.float32),
                       suite.sampling_rate_hz, input_hz, patch, "forecast-skill")
    return windows, subjects[rows], kinds


def _at_rate(signals: np.ndarray, fs: float, input_hz: float, patch: int, what: str
             ) -> np.ndarray:
    """Resampled by the embed stage's resampler, the last whole patches kept."""
    up, down = rate_ratio(fs, input_hz, what)
    out = resample(signals, up, down)
    n_patches = out.shape[-1] // patch
    if n_patches < 4:
        raise InputError(f"{what}: windows give {n_patches} patches of {patch} samples at "
                         f"{input_hz:g} Hz; need at least 4")
    if not np.isfinite(out).all():
        raise InputError(f"{what}: windows hold NaN or infinite values")
    return out[..., out.shape[-1] - n_patches * patch:]


def marginals(config: dict[str, Any], results: Path, input_hz: float, patch: int,
              kinds: list[tuple[int, str]]) -> dict[str, MarginalT]:
    """Per kind, a Student-t fitted to samples of the reference (training) windows."""
    settings = config["forecast"]
    suite = read_suite(results / "simulated" / settings["reference_suite"])
    names = list(suite.channel_names)
    rng = np.random.default_rng(stream_seed(int(config["seed"]), "forecast", "marginal"))
    n = suite.signals.shape[0]
    rows = np.sort(rng.choice(n, size=min(n, int(settings["reference_windows"])),
                              replace=False))
    windows = _at_rate(np.asarray(suite.signals[rows], dtype=np.float32),
                       suite.sampling_rate_hz, input_hz, patch, "forecast-skill reference")
    out = {}
    for _, kind in kinds:
        if kind in names:
            values = windows[:, names.index(kind)].ravel()
        elif len(names) == 1:  # single-channel reference: its windows of this kind
            labels = suite.labels["signal_kind"].astype(str).to_numpy()[rows]
            values = windows[labels == kind, 0].ravel()
        else:
            values = np.zeros(0)
        if values.size < 100:
            raise InputError(f"forecast-skill: the reference suite has no {kind} samples to "
                             f"fit the context-free baseline to")
        out[kind] = MarginalT(rng.choice(values, size=min(values.size, 20000), replace=False))
    return out


def target_index(task: str, n_patches: int) -> int:
    """The patch predicted: the last (next patch) or the middle one (masked patch)."""
    return n_patches - 1 if task == "next_patch" else n_patches // 2


# ----------------------------------------------------------------------- predictors

def baseline_scores(name: str, series: np.ndarray, task: str, patch: int, rate_hz: float,
                    marginal: MarginalT, n_samples: int, rng: np.random.Generator) -> Items:
    """Scores of one baseline on ``series`` (items x samples)."""
    n_patches = series.shape[1] // patch
    k = target_index(task, n_patches)
    nll, crps, corr = (np.empty(len(series)) for _ in range(3))
    for i, x in enumerate(series):
        y = x[k * patch:(k + 1) * patch]
        past = x[:k * patch]
        context = np.concatenate([past, x[(k + 1) * patch:]])
        if name == "marginal":
            nll[i] = marginal.nll(y).mean()
            crps[i] = fair_crps(marginal.samples(n_samples, rng)[:, None], y).mean()
            corr[i] = median_corr(np.full(patch, marginal.median()), y)
            continue
        if name == "window_gaussian":
            mean, sd = window_gaussian(context)
            point = np.full(patch, mean)
        else:
            point, sd = seasonal_naive(past, patch, rate_hz)
        nll[i] = gaussian_nll(point, sd, y).mean()
        crps[i] = gaussian_crps(point, sd, y).mean()
        corr[i] = median_corr(point, y)
    return Items(nll, crps, corr)


def _target_distribution(module: Any, k: int, **packed: Any) -> Any:
    """``MoiraiModule.forward`` (uni2ts 1.x, the same operations in the same order) with
    the distribution built for token ``k`` only: sampling every token's mixture would cost
    ``n_patches`` times more and is not needed."""
    from uni2ts.common.torch_util import mask_fill, packed_attention_mask

    prediction_mask, patch_size = packed["prediction_mask"], packed["patch_size"]
    loc, scale = module.scaler(packed["target"],
                               packed["observed_mask"] * ~prediction_mask.unsqueeze(-1),
                               packed["sample_id"], packed["variate_id"])
    reprs = module.in_proj((packed["target"] - loc) / scale, patch_size)
    reprs = mask_fill(reprs, prediction_mask, module.mask_encoding.weight)
    reprs = module.encoder(reprs, packed_attention_mask(packed["sample_id"]),
                           time_id=packed["time_id"], var_id=packed["variate_id"])
    token = slice(k, k + 1)
    params = module.param_proj(reprs[:, token], patch_size[:, token])
    return module.distr_output.distribution(params, loc=loc[:, token], scale=scale[:, token])


def model_scores(module: Any, series: np.ndarray, task: str, patch: int, n_samples: int,
                 seed: int) -> Items:
    """Scores of a ``MoiraiModule``'s predictive distribution for the target patch."""
    import torch

    n_items, n = series.shape
    n_patches = n // patch
    k = target_index(task, n_patches)
    max_patch = max(int(p) for p in module.patch_sizes)
    nll, crps, corr = (np.empty(n_items) for _ in range(3))
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for first in range(0, n_items, BATCH):
            part = series[first:first + BATCH]
            b = len(part)
            values = torch.as_tensor(part.reshape(b, n_patches, patch), dtype=torch.float32)
            target = torch.nn.functional.pad(values, (0, max_patch - patch))
            observed = torch.zeros_like(target, dtype=torch.bool)
            observed[..., :patch] = True
            prediction = torch.zeros((b, n_patches), dtype=torch.bool)
            prediction[:, k] = True
            with torch.no_grad():
                distr = _target_distribution(
                    module, k, target=target, observed_mask=observed,
                    sample_id=torch.ones((b, n_patches), dtype=torch.long),
                    time_id=torch.arange(n_patches).expand(b, n_patches),
                    variate_id=torch.zeros((b, n_patches), dtype=torch.long),
                    prediction_mask=prediction,
                    patch_size=torch.full((b, n_patches), patch, dtype=torch.long))
                log_prob = distr.log_prob(target[:, k:k + 1])[:, 0, :patch].double().numpy()
                draws = distr.sample(torch.Size([n_samples]))[:, :, 0, :patch].double().numpy()
            y = part[:, k * patch:(k + 1) * patch].astype(np.float64)
            nll[first:first + b] = -log_prob.mean(axis=1)
            crps[first:first + b] = fair_crps(draws, y).mean(axis=1)
            medians = np.median(draws, axis=0)
            corr[first:first + b] = [median_corr(m, t) for m, t in zip(medians, y, strict=True)]
    finally:
        torch.random.set_rng_state(generator_state)
    if not (np.isfinite(nll).all() and np.isfinite(crps).all()):
        raise ModelError("forecast-skill: the model's predictive distribution gave a "
                         "non-finite NLL or CRPS")
    return Items(nll, crps, corr)


# ------------------------------------------------------------------------- summaries

def _estimate_rows(base: dict[str, Any], items: Items, subjects: np.ndarray, n_boot: int,
                   seed: int, min_groups: int) -> list[dict[str, Any]]:
    rows = []
    for metric, values in zip(METRICS, (items.nll, items.crps, items.corr), strict=True):
        keep = np.isfinite(values)
        if not keep.any():
            rows.append({**base, "metric": metric, "reference": "", "value": np.nan,
                         "ci_low": np.nan, "ci_high": np.nan, "n": int(values.size),
                         "n_subjects": len(set(subjects)), "verdict": "",
                         "note": f"{NOT_ESTIMABLE}: the predictive median is constant"})
            continue
        est = bootstrap_estimate(values[keep], subjects[keep], n_boot,
                                 stream_seed(seed, metric), min_groups=min_groups)
        rows.append({**base, "metric": metric, "reference": "", **_numbers(est)})
    return rows


def _numbers(est: Any) -> dict[str, Any]:
    return {"value": est.value, "ci_low": est.ci_low, "ci_high": est.ci_high, "n": est.n,
            "n_subjects": est.n_subjects, "verdict": "", "note": est.note}


def _ratio_estimate(model: np.ndarray, reference: np.ndarray, subjects: np.ndarray,
                    n_boot: int, seed: int, min_groups: int) -> dict[str, Any]:
    """CRPS skill ``1 - mean(model) / mean(reference)`` with a subject bootstrap."""
    index, n_groups = group_index(subjects)
    note = estimability_note(n_groups, min_groups)
    if note:
        return {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": len(model),
                "n_subjects": n_groups, "verdict": "", "note": note}
    sums = resample_weights(n_groups, n_boot, seed) @ group_sums(
        np.column_stack([model, reference]), index, n_groups)
    skill = 1.0 - sums[:, 0] / sums[:, 1]
    return _numbers(estimate_from_samples(skill[0], skill[1:], len(model),
                                          n_subjects=n_groups))


def _verdict(nll: dict[str, Any], crps: dict[str, Any]) -> str:
    lows = (nll["ci_low"], crps["ci_low"])
    highs = (nll["ci_high"], crps["ci_high"])
    if not np.isfinite([*lows, *highs]).all():
        return NOT_ESTIMABLE
    if min(lows) > 0:
        return "better"
    if min(highs) < 0:
        return "worse"
    return "tie"


def skill_rows(base: dict[str, Any], model: Items, reference: Items, name: str,
               subjects: np.ndarray, n_boot: int, seed: int, min_groups: int
               ) -> list[dict[str, Any]]:
    """Gains over one baseline: NLL and CRPS differences (baseline minus model, positive:
    the model is better), the CRPS skill score, and a verdict on the gains' intervals."""
    out = []
    gains = {}
    for metric, a, b in (("nll_gain_nats", model.nll, reference.nll),
                         ("crps_gain", model.crps, reference.crps)):
        est = bootstrap_estimate(b - a, subjects, n_boot, stream_seed(seed, metric, name),
                                 min_groups=min_groups)
        gains[metric] = _numbers(est)
        out.append({**base, "metric": metric, "reference": name, **gains[metric]})
    verdict = _verdict(gains["nll_gain_nats"], gains["crps_gain"])
    for row in out:
        row["verdict"] = verdict
    out.append({**base, "metric": "crps_skill", "reference": name, **_ratio_estimate(
        model.crps, reference.crps, subjects, n_boot, stream_seed(seed, "skill", name),
        min_groups)})
    out[-1]["verdict"] = verdict
    return out


# ------------------------------------------------------------------------------ run

def _load_module(config: dict[str, Any], name: str) -> tuple[Any, float, int]:
    """(MoiraiModule, input_hz, patch_size) of a model instance, built like the embed
    stage builds it (same weights, same seed)."""
    from physio_bench.config import model_entry, model_seed
    from physio_bench.models import ModelInfo, load_model

    options = dict(model_entry(config, name))
    model = load_model(name, {**options, "device": "cpu", "dtype": "float32"},
                       model_seed(config, name))
    module = getattr(model, "module", None)
    patch = getattr(model, "patch_size", None)
    if module is None or not hasattr(module, "param_proj") or patch is None:
        raise ModelError(f"forecast-skill: model {name!r} has no Moirai distribution head "
                         f"(forecast.models lists Moirai-family models only)")
    # the rate the embed stage feeds it: the config's input_hz, else the plug-in's default
    input_hz = options.get("input_hz") or ModelInfo.from_any(model.describe()).default_input_hz
    if input_hz is None:
        raise ModelError(f"forecast-skill: model {name!r} has no input_hz; set one")
    return module.eval(), float(input_hz), int(patch)


def forecast_skill(config: dict[str, Any], results: str | Path = "results"
                   ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The forecast-skill table (columns :data:`COLUMNS`) and a summary of the run."""
    import torch

    began, cpu_began = time.perf_counter(), time.process_time()
    results = Path(results)
    settings = config["forecast"]
    n_boot = int(config["statistics"]["comparison_resamples"])
    min_groups = int(config["statistics"]["min_groups"])
    n_samples = int(settings["samples"])
    seed = stream_seed(int(config["seed"]), "forecast")
    torch.set_num_threads(int(settings["threads"]))
    names = forecast_models(config)
    if not names:
        raise InputError("forecast-skill: no enabled model is named in forecast.models")
    rows: list[dict[str, Any]] = []
    cache: dict[tuple[float, int], Any] = {}
    for name in names:
        module, input_hz, patch = _load_module(config, name)
        if (input_hz, patch) not in cache:
            windows, subjects, kinds = heldout(config, results, input_hz, patch)
            fitted = marginals(config, results, input_hz, patch, kinds)
            base_scores = {}
            for c, kind in kinds:
                for task in TASKS:
                    rng = np.random.default_rng(stream_seed(seed, kind, task))
                    for baseline in BASELINES:
                        base_scores[kind, task, baseline] = baseline_scores(
                            baseline, windows[:, c].astype(np.float64), task, patch,
                            input_hz, fitted[kind], n_samples, rng)
            cache[input_hz, patch] = (windows, subjects, kinds, base_scores)
        windows, subjects, kinds, base_scores = cache[input_hz, patch]
        for c, kind in kinds:
            for task in TASKS:
                key = stream_seed(seed, kind, task)
                scores = model_scores(module, windows[:, c], task, patch, n_samples, key)
                base = {"model": name, "kind": kind, "task": task}
                rows += _estimate_rows({**base, "predictor": name}, scores, subjects, n_boot,
                                       key, min_groups)
                for baseline in BASELINES:
                    ref = base_scores[kind, task, baseline]
                    rows += _estimate_rows({**base, "predictor": f"baseline:{baseline}"}, ref,
                                           subjects, n_boot, key, min_groups)
                    rows += skill_rows({**base, "predictor": name}, scores, ref, baseline,
                                       subjects, n_boot, key, min_groups)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    summary = {"models": names, "windows": len(cache and next(iter(cache.values()))[0]),
               "wall_s": round(time.perf_counter() - began, 1),
               "cpu_s": round(time.process_time() - cpu_began, 1)}
    return table, summary


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, kind and task: does it beat the context-free and seasonal-naive
    baselines (``better``: NLL and CRPS gains with 95% intervals above zero)?"""
    rows = table[(table["metric"] == "crps_skill") & table["reference"].isin(CONTROLS)]
    wide = rows.pivot_table(index=["model", "kind", "task"], columns="reference",
                            values="verdict", aggfunc="first")
    return wide.rename(columns={r: f"vs_{r}" for r in CONTROLS}).reset_index()
