"""The sensitivity study: variants, subsets, and a real Snakemake run of its rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHIPPED_OFF

from physio_bench.config import REPO_ROOT
from physio_bench.errors import ConfigError
from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.sensitivity import find_variant, variant_entries, variants
from physio_bench.sensitivity.plan import subset_rows
from physio_bench.sensitivity.run import context_fill

TINY = {
    "sampling_rate_hz": 50,
    "window_samples": 1600,  # 32 s: three breaths at the slowest simulated rate
    "simulate": {"signal_kinds": ["ecg", "rsp"], "factors": {"windows_per_kind": 10},
                 "sweeps": {"steps": 2},
                 "scenarios": {"subjects_per_scenario": 2, "windows_per_subject": 1,
                               "classes": ["normal_sinus", "apnea"]}},
    "embed": {"shard_size": 64, "batch_size": 16},
    "probes": {"cv_folds": 2, "inner_folds": 2, "bootstrap": 20, "max_tokens_per_window": 8},
    "downstream": {"datasets": {**SHIPPED_OFF}},
    "sensitivity": {"models": ["moirai-small-untrained", "ttm-r2"], "input_hz": [25, 50],
                    "patch_size": [], "context_s": [], "suites": ["factors"],
                    "windows_per_group": 6,
                    "per_model": {"moirai-small-untrained": {"patch_size": [32]},
                                  "ttm-r2": {"input_hz": [8, 16], "patch_size": [],
                                             "context_s": [8]}}},
}
TTM_RATES = (4, 8, 16, 32)


def test_default_study_and_variant_names():
    config = load_config()
    names = [v.name for v in variants(config)]
    assert names == [f"moirai-small-untrained@{hz}hz-p{p}" for hz in (25, 50, 100)
                     for p in (16, 64)] + ["moirai-small-untrained@c8s"] + [
        name for m in ("ttm-r2", "ttm-r2-untrained")
        for name in [f"{m}@{hz}hz" for hz in TTM_RATES] + [f"{m}@25hz-c8s"]]
    # the context axis: the model's own rate (its entry's input_hz, else the plug-in's) and
    # patch, context_s set; the core then feeds chunks of at most 8 s
    moirai = find_variant(config, "moirai-small-untrained@c8s").options(config)
    assert moirai["context_s"] == 8.0 and "input_hz" not in moirai
    assert "patch_size" not in moirai and "replicates" not in moirai
    ttm = find_variant(config, "ttm-r2@25hz-c8s").options(config)
    assert (ttm["context_s"], ttm["input_hz"]) == (8.0, 25)
    variant = find_variant(config, "moirai-small-untrained@50hz-p16")
    options = variant.options(config)
    assert (options["input_hz"], options["patch_size"], options["weights"]) == (
        50.0, 16, "random")
    twin = find_variant(config, "ttm-r2-untrained@4hz").options(config)  # TTM: no patch_size
    assert "patch_size" not in twin and "replicates" not in twin
    assert (twin["input_hz"], twin["weights"], twin["config"]) == (4.0, "random",
                                                                   "physio_bench:data/weights/ttm-r2")
    entries = variant_entries(config)  # what a per-rate stage loads: the same entries
    assert list(entries) == names and entries["ttm-r2@32hz"]["input_hz"] == 32.0
    config["sensitivity"]["per_model"]["moirai-small-untrained"]["patch_size"] = []
    assert next(v.name for v in variants(config)) == "moirai-small-untrained@25hz"
    for name in ("moirai-small-untrained", "ttm-r2", "ttm-r2-untrained"):
        config["models"][name]["enabled"] = False
    assert variants(config) == []  # disabled models are skipped
    config["sensitivity"]["per_model"]["ghost"] = {"input_hz": [8]}
    with pytest.raises(ConfigError, match=r"'sensitivity.per_model.ghost' names a model"):
        variants(config)
    config["sensitivity"]["models"] = ["nope"]
    with pytest.raises(ConfigError, match=r"'sensitivity.models' names 'nope', which is not"):
        variants(config)
    with pytest.raises(ConfigError, match="is not in this config's study"):
        find_variant(load_config(), "raw@50hz")


def test_subset_keeps_whole_subjects_per_group():
    labels = pd.DataFrame({
        "signal_kind": ["ecg"] * 6 + ["rsp"] * 4,
        "subject_id": ["a", "a", "b", "b", "c", "c", "d", "e", "f", "g"],
    })
    assert subset_rows(labels, "factors", 3).tolist() == [0, 1, 2, 3, 6, 7, 8]
    assert subset_rows(labels, "factors", 100).tolist() == list(range(10))
    with pytest.raises(ConfigError, match="has no column 'scenario'"):
        subset_rows(labels, "scenarios", 2)


def test_context_fill_of_a_window_in_the_context():
    def block(chunks, context=512):
        return {"context_samples": context, "chunks": chunks}

    assert context_fill(block([[0, 128]])) == 0.25  # 32 s at 4 Hz: left-padded
    assert context_fill(block([[0, 512]])) == 1.0  # 16 Hz: exactly the context
    assert context_fill(block([[0, 288], [288, 800]])) == pytest.approx((288 / 512 + 1) / 2)
    assert np.isnan(context_fill(block([[0, 4000]], context=None)))


def _snakemake(workdir: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(REPO_ROOT / "Snakefile"),
         "--directory", str(workdir), "--cores", "2", "--configfile", str(workdir / "tiny.yaml")],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=900)


@pytest.mark.slow
def test_sensitivity_rules_under_snakemake(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    figure = "results/figures/sensitivity_input_rate.png"
    cycles = "results/figures/sensitivity_cycles_ttm-r2.png"
    context = "results/figures/sensitivity_context_ttm-r2.png"
    done = _snakemake(tmp_path, figure, cycles, context)
    logs = "\n".join(p.read_text()[-1500:] for p in tmp_path.glob("results/logs/sensitivity/*"))
    assert done.returncode == 0, done.stderr[-4000:] + logs
    results = tmp_path / "results"
    subset = read_suite(results / "sensitivity" / "simulated" / "factors")
    assert len(subset.labels) == 12 and subset.meta["n_windows"] == 12  # 6 per kind
    assert subset.labels["window_id"].tolist() == list(range(12))
    full = read_suite(results / "simulated" / "factors")
    np.testing.assert_array_equal(
        subset.signals, np.asarray(full.signals)[subset.labels["source_window_id"]])

    summary = pd.read_csv(results / "sensitivity" / "summary.csv")
    assert summary["model"].unique().tolist() == ["moirai-small-untrained@25hz-p32",
                                                   "moirai-small-untrained@50hz-p32",
                                                   "ttm-r2@8hz", "ttm-r2@16hz",
                                                   "ttm-r2@25hz-c8s"]
    # the context axis: TTM-R2 at its own 25 Hz, 32 s fed as four 8-s (200-sample) chunks,
    # each right-aligned in its 512-sample context: 4 tokens of 64 per chunk
    short = summary[summary["model"] == "ttm-r2@25hz-c8s"]
    assert (short["context_s"] == 8).all() and (short["input_hz"] == 25).all()
    assert (short["tokens_per_channel"] == 16).all()
    assert short["context_fill"].iloc[0] == pytest.approx(200 / 512)
    info = json.loads((results / "sensitivity" / "embeddings" / "ttm-r2@25hz-c8s" /
                       "factors" / "model.json").read_text())
    assert [stop - start for start, stop in info["input"]["chunks"]] == [200] * 4
    ttm = summary[summary["base_model"] == "ttm-r2"]
    assert ttm["patch_size"].isna().all()
    ttm = ttm[ttm["context_s"].isna()]
    for hz, fill, tokens in ((8, 0.5, 4), (16, 1.0, 8)):  # 256 or 512 samples of 512
        rows = ttm[ttm["input_hz"] == hz]
        assert (rows["context_fill"] == fill).all() and (rows["tokens_per_channel"] == tokens
                                                         ).all()
        median_hr = subset.labels["heart_rate_bpm"].median()
        assert rows["samples_per_beat"].iloc[0] == pytest.approx(hz * 60 / median_hr)
    summary = summary[summary["base_model"] == "moirai-small-untrained"]
    assert set(summary["stage"]) == {"feature_independence", "temporal_dynamics"}
    headline = summary[(summary["task"] == "all") & (summary["metric"] == "r2")]
    assert len(headline) == 4 and headline["value"].notna().all()  # 2 rates x last/best
    for hz, tokens in ((25, 25), (50, 50)):  # 32 s: 800 or 1600 samples in patches of 32
        info = json.loads((results / "sensitivity" / "embeddings" /
                           f"moirai-small-untrained@{hz}hz-p32" / "factors" /
                           "model.json").read_text())
        assert info["input"]["input_hz"] == hz and info["n_windows"] == 12
        assert info["tokens"]["tokens_per_channel"] == tokens
        assert info["tokens"]["patch_duration_s"] == pytest.approx(32 / hz)
        rows = summary[summary["input_hz"] == hz]
        assert (rows["tokens_per_channel"] == tokens).all() and (rows["patch_size"] == 32).all()
    assert (tmp_path / figure).stat().st_size > 5000
    assert (tmp_path / cycles).stat().st_size > 5000
    assert (tmp_path / context).stat().st_size > 5000
    assert not (tmp_path / "results/figures/sensitivity_cycles_raw.png").exists()
    assert not (tmp_path / "results/figures/sensitivity_context_moirai-small-untrained.png"
                ).exists()  # no context variant of its own
    again = _snakemake(tmp_path, figure, cycles, context, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


PRETRAINED_LINE = ("sensitivity: {models: [moirai-small-untrained, ttm-r2, ttm-r2-untrained, "
                   "moirai-2.0-R-small, timesfm-2.5-200m, tirex, toto-base, moment-large, "
                   "chronos-bolt-small, chronos-2, mantis-8m, sundial-base, timer-xl-base]}")


def test_the_pretrained_models_join_the_study_in_one_config_line(tmp_path):
    """docs/models.md's one line, with the pretrained preset: every listed model gets the
    rate axis (25/50/100 Hz, its own patch: no plug-in but Moirai receives patch_size) and
    the context axis (8 s at its own rate); without the preset they are skipped."""
    line = tmp_path / "study.yaml"
    line.write_text(PRETRAINED_LINE + "\n")
    assert PRETRAINED_LINE in (REPO_ROOT / "docs" / "models.md").read_text()
    preset = REPO_ROOT / "workflow" / "presets" / "pretrained.yaml"
    config = load_config([preset, line])
    entries = variant_entries(config)
    pretrained = yaml.safe_load(PRETRAINED_LINE)["sensitivity"]["models"][3:]
    for model in pretrained:
        assert [n for n in entries if n.split("@")[0] == model] == [
            f"{model}@25hz", f"{model}@50hz", f"{model}@100hz", f"{model}@c8s"]
        assert all("patch_size" not in entries[f"{model}@{hz}hz"] for hz in (25, 50, 100))
        assert entries[f"{model}@c8s"]["context_s"] == 8.0
        assert entries[f"{model}@c8s"]["plugin"] == config["models"][model]["plugin"]
    assert {n.split("@")[0] for n in variant_entries(load_config([line]))} == {
        "moirai-small-untrained", "ttm-r2", "ttm-r2-untrained"}  # disabled: skipped
