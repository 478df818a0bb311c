"""The forecast-skill stage: its scores' known answers, the baselines as controls, and the
stage end to end with a real (tiny, randomly initialised) uni2ts Moirai on neurokit2 windows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import RUNS_OFF, TRAINED_OFF, write_suite

from physio_bench.config import deep_update
from physio_bench.errors import InputError
from physio_bench.forecast.scores import (
    MarginalT,
    fair_crps,
    gaussian_crps,
    gaussian_nll,
    seasonal_lag,
)
from physio_bench.preflight import load_config, validate_config

pytestmark = pytest.mark.usefixtures("offline_hub")


# ----------------------------------------------------------------- scores, known answers

def test_true_distribution_beats_wrong_ones_on_nll_and_crps() -> None:
    """Model-free positive control: draws of N(0, 1) score best under N(0, 1); a shifted
    or a too-wide normal loses on both scores, and the sample CRPS matches the closed form."""
    y = np.random.default_rng(0).normal(size=20000)
    true = (gaussian_nll(0.0, 1.0, y).mean(), gaussian_crps(0.0, 1.0, y).mean())
    for mean, sd in ((1.0, 1.0), (0.0, 3.0), (0.0, 0.3)):
        assert gaussian_nll(mean, sd, y).mean() > true[0] + 0.03
        assert gaussian_crps(mean, sd, y).mean() > true[1] + 0.01
    draws = np.random.default_rng(1).normal(size=(400, 2000))
    sample = fair_crps(draws, y[:2000]).mean()
    assert sample == pytest.approx(gaussian_crps(0.0, 1.0, y[:2000]).mean(), rel=0.02)
    marginal = MarginalT(y)
    assert abs(marginal.loc) < 0.05 and marginal.nll(y).mean() == pytest.approx(true[0], abs=0.01)


def test_seasonal_naive_wins_on_a_periodic_signal_and_not_on_noise() -> None:
    """A perfectly periodic pulse train (period 0.83 s, not a multiple of the patch):
    seasonal naive finds the period and beats the context-free and per-window Gaussians
    by far; on white noise it finds no period worth having and does not beat them."""
    from physio_bench.forecast.run import baseline_scores

    rate, patch = 100.0, 16
    t = np.arange(640) / rate
    rng = np.random.default_rng(3)
    periodic = np.stack([np.sin(2 * np.pi * t / 0.83 + phase) ** 7
                         for phase in rng.uniform(0, 2 * np.pi, 12)])
    assert seasonal_lag(periodic[0, :600], rate) == 83
    noise = rng.normal(size=(12, 640))
    for series, periodic_case in ((periodic, True), (noise, False)):
        marginal = MarginalT(series.ravel())
        scores = {name: baseline_scores(name, series, "next_patch", patch, rate, marginal, 200,
                                        np.random.default_rng(0))
                  for name in ("marginal", "window_gaussian", "seasonal_naive")}
        naive, flat = scores["seasonal_naive"], scores["window_gaussian"]
        if periodic_case:
            assert naive.crps.mean() < 0.05 * scores["marginal"].crps.mean()
            assert naive.nll.mean() < flat.nll.mean() - 2
            assert np.nanmean(naive.corr) > 0.99
            assert np.isnan(scores["marginal"].corr).all()  # constant median: no number
        else:
            assert naive.crps.mean() > flat.crps.mean()


# ------------------------------------------------------------------------- the stage

def _suites(results: Path) -> None:
    """Held-out and training suites: 5-channel neurokit2 windows, disjoint subjects."""
    for name, seed, prefix in (("scenarios", 5, "scenarios"), ("training", 50, "training")):
        path = write_suite(results / "simulated" / name, n_windows=12, n_channels=5,
                           n_samples=1600, sampling_rate_hz=100.0, seed=seed, suite=name)
        labels = pd.read_parquet(path / "labels.parquet")
        labels["subject_id"] = [f"{prefix}-{w // 2:04d}" for w in range(len(labels))]
        labels.to_parquet(path / "labels.parquet", index=False)


def _config(**forecast: Any) -> dict[str, Any]:
    update = {
        "finetune": RUNS_OFF,
        "models": {**TRAINED_OFF,
                   "tiny-moirai": {"plugin": "moirai", "size": "small", "weights": "random",
                                   "input_hz": 50, "patch_size": 16, "replicates": 2}},
        "forecast": {"models": ["tiny-moirai"], "windows": 12, "reference_windows": 12,
                     "samples": 20, **forecast},
        "statistics": {"comparison_resamples": 200},
    }
    return validate_config(deep_update(load_config(), update))


def test_forecast_skill_table_covers_every_kind_model_and_baseline(tmp_path: Path) -> None:
    from physio_bench.forecast.run import BASELINES, COLUMNS, forecast_skill, verdicts

    _suites(tmp_path)
    config = _config()
    table, summary = forecast_skill(config, tmp_path)
    assert list(table.columns) == list(COLUMNS)
    assert summary["models"] == ["tiny-moirai-seed0", "tiny-moirai-seed1"]
    assert set(table["kind"]) == {"ecg", "ppg", "rsp", "eda", "emg"}
    assert set(table["task"]) == {"next_patch", "masked_patch"}
    predictors = set(table["predictor"])
    assert predictors == {"tiny-moirai-seed0", "tiny-moirai-seed1",
                          *(f"baseline:{b}" for b in BASELINES)}
    gains = table[table["metric"] == "crps_gain"]
    assert set(gains["reference"]) == set(BASELINES)
    assert set(gains["verdict"]) <= {"better", "worse", "tie"}
    finite = table[table["metric"].isin(["nll_nats", "crps"])]
    assert np.isfinite(finite[["value", "ci_low", "ci_high"]].to_numpy(float)).all()
    assert (finite["ci_low"] <= finite["value"]).all()
    # an untrained model has no skill: seasonal naive forecasts a 100-bpm ECG better
    ecg = table[(table["model"] == "tiny-moirai-seed0") & (table["kind"] == "ecg")
                & (table["task"] == "next_patch") & (table["metric"] == "crps_gain")
                & (table["reference"] == "seasonal_naive")]
    assert ecg["value"].iloc[0] < 0
    # a context-free median has no correlation to report
    flat = table[(table["predictor"] == "baseline:marginal") & (table["metric"] == "median_corr")]
    assert flat["value"].isna().all() and flat["note"].str.startswith("not estimable").all()
    wide = verdicts(table)
    assert {"vs_marginal", "vs_seasonal_naive"} <= set(wide.columns) and len(wide) == 20
    again, _ = forecast_skill(config, tmp_path)
    assert again.to_csv(index=False) == table.to_csv(index=False)  # deterministic


def test_forecast_skill_refuses_a_suite_that_is_not_held_out(tmp_path: Path) -> None:
    from physio_bench.forecast.run import forecast_skill

    _suites(tmp_path)
    with pytest.raises(InputError, match="shares subject 'training-0000'"):
        forecast_skill(_config(suite="training"), tmp_path)


def test_forecast_skill_cli_writes_the_csv(tmp_path: Path) -> None:
    import yaml

    _suites(tmp_path)
    overrides = {
        "finetune": RUNS_OFF,
        "models": {**TRAINED_OFF,
                   "tiny-moirai": {"plugin": "moirai", "size": "small", "weights": "random",
                                   "input_hz": 50, "patch_size": 16}},
        "forecast": {"models": ["tiny-moirai"], "windows": 12, "reference_windows": 12,
                     "samples": 10},
        "statistics": {"comparison_resamples": 100},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(overrides))
    done = subprocess.run([sys.executable, "-m", "physio_bench", "forecast-skill",
                           "--configfile", "c.yaml", "--results", "."], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(tmp_path / "forecast_skill.csv")
    assert set(table["model"]) == {"tiny-moirai"} and "vs_marginal" in done.stderr
    # the report's table of the same CSV: one row per kind and task, a cell per baseline
    done = subprocess.run([sys.executable, "-m", "physio_bench", "forecast-table", "--csv",
                           "forecast_skill.csv", "--out", "t.html"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    page = (tmp_path / "t.html").read_text()
    kinds = table.loc[table["predictor"] == "tiny-moirai", "kind"].nunique()
    assert page.count("<tr") == 1 + 2 * kinds  # the header, then each kind and task
    for column in ("median corr", "CRPS skill vs marginal", "CRPS skill vs window Gaussian",
                   "CRPS skill vs seasonal naive"):
        assert f"<th>{column}</th>" in page


def test_forecast_table_cells_show_intervals_verdicts_and_reasons() -> None:
    from physio_bench.forecast.table import skill_table

    base = {"model": "m", "kind": "ecg", "task": "next_patch", "n": 40, "n_subjects": 8}
    rows = [
        {**base, "predictor": "m", "metric": "median_corr", "reference": None, "value": 0.5,
         "ci_low": 0.25, "ci_high": 0.75, "verdict": None, "note": None},
        {**base, "predictor": "m", "metric": "crps_skill", "reference": "marginal",
         "value": 0.2, "ci_low": 0.1, "ci_high": 0.3, "verdict": "better", "note": None},
        {**base, "predictor": "m", "metric": "crps_skill", "reference": "seasonal_naive",
         "value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
         "verdict": "not estimable", "note": "not estimable: 4 groups (need 5)"},
        {**base, "predictor": "baseline:marginal", "metric": "median_corr",
         "reference": None, "value": 0.9, "ci_low": 0.8, "ci_high": 1.0, "verdict": None,
         "note": None},
    ]
    wide = skill_table(pd.DataFrame(rows))
    assert len(wide) == 1  # baseline rows are references, not rows of their own
    row = wide.iloc[0]
    assert row["median corr"] == "0.500 [0.250, 0.750]"
    assert row["CRPS skill vs marginal"] == "0.200 [0.100, 0.300] better"
    assert row["CRPS skill vs seasonal naive"] == "not estimable: 4 groups (need 5)"
    assert row["CRPS skill vs window Gaussian"] == "not computed"


def test_target_token_distribution_is_the_modules_own() -> None:
    """The stage builds the predictive distribution for the target token only; it must
    equal ``MoiraiModule.forward``'s at that token (uni2ts, random Moirai-small)."""
    import torch

    from physio_bench.forecast.run import _target_distribution
    from physio_bench.models import build_moirai

    torch.manual_seed(0)
    module = build_moirai("small").eval()
    b, n, p = 3, 10, 16
    target = torch.nn.functional.pad(torch.randn(b, n, p).cumsum(-1), (0, 128 - p))
    observed = torch.zeros_like(target, dtype=torch.bool)
    observed[..., :p] = True
    prediction = torch.zeros(b, n, dtype=torch.bool)
    prediction[:, 5] = True
    packed = dict(target=target, observed_mask=observed,
                  sample_id=torch.ones(b, n, dtype=torch.long),
                  time_id=torch.arange(n).expand(b, n),
                  variate_id=torch.zeros(b, n, dtype=torch.long), prediction_mask=prediction,
                  patch_size=torch.full((b, n), p, dtype=torch.long))
    with torch.no_grad():
        full = module(**packed).log_prob(target)[:, 5]
        part = _target_distribution(module, 5, **packed).log_prob(target[:, 5:6])[:, 0]
    assert torch.allclose(full, part, atol=1e-5)
    assert not torch.allclose(full, module(**packed).log_prob(target)[:, 4], atol=1e-3)
