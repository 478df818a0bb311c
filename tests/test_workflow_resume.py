"""Interrupted and grown runs: the workflow resumes cleanly and reruns only what changed.

A small configuration (the quick preset shrunk further, see ``SMALL_CONFIG``) runs once
uninterrupted (:func:`reference_run`, shared with tests/test_slurm.py). Then:

- a second run is killed (SIGKILL to Snakemake and its jobs) while an embedding shard
  runs; ``snakemake --unlock`` and ``snakemake --rerun-incomplete`` complete it, and every
  array, table and leaderboard equals the uninterrupted run's;
- adding one model to the configuration makes ``snakemake -n`` list only that model's
  jobs plus the summaries (leaderboard, figures, provenance).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import RUNS_OFF, SHIPPED_OFF, TRAINED_OFF

from physio_bench.config import REPO_ROOT

pytestmark = pytest.mark.slow

QUICK = REPO_ROOT / "workflow" / "presets" / "quick.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO_ROOT / "Snakefile")]

# Merged over config.yaml and the quick preset: every stage on few windows, one model.
SMALL_CONFIG = {
    "sampling_rate_hz": 32,  # 32-s windows (>= 3 breaths at 6 /min) of 1024 samples
    "window_samples": 1024,
    "simulate": {
        "factors": {"windows_per_kind": 6},
        "sweeps": {"steps": 2},
        "scenarios": {"subjects_per_scenario": 6, "windows_per_subject": 1,
                      "classes": ["normal_sinus", "sinus_tachycardia", "apnea"]},
    },
    "embed": {"shard_size": 128, "batch_size": 32},
    "models": {**{name: {"plugin": plugin, "enabled": False} for name, plugin in (
        ("spectral", "spectral"), ("handcrafted", "handcrafted"),
        ("moirai-small-untrained", "moirai"))}, **TRAINED_OFF},
    # training is resumed byte for byte in tests/test_finetune.py
    "finetune": RUNS_OFF,
    "probes": {"cv_folds": 3, "inner_folds": 2, "bootstrap": 20, "max_tokens_per_window": 8},
    "downstream": {"max_windows_per_record": 2, "datasets": {
        **SHIPPED_OFF,
        "bidmc": {"records": ["bidmc_01", "bidmc_02", "bidmc_03", "bidmc_04", "bidmc_05"]}}},
}
# Every job type (simulate, real_windows, embed_shard, merge_embeddings, probe, downstream,
# leaderboard) lies upstream of the leaderboard; figures and provenance are left out.
TARGET = "results/leaderboard.csv"
# Rules that summarise every model or dataset: the only jobs besides the new model's that
# may run (the reference run made only the leaderboard, so the other summaries appear too).
SUMMARY_RULES = re.compile(
    r"^(all|compare|leaderboard|provenance|dataset_summaries|figures\w*|report\w*)$")

_REFERENCE: dict[str, Path] = {}


def write_small_config(directory: Path, extra: dict | None = None) -> list[str]:
    """``--configfile`` arguments: the quick preset, then ``SMALL_CONFIG`` (+ ``extra``)."""
    path = directory / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL_CONFIG))
    files = [str(QUICK), str(path)]
    if extra is not None:
        extra_path = directory / "extra.yaml"
        extra_path.write_text(yaml.safe_dump(extra))
        files.append(str(extra_path))
    return ["--configfile", *files]


def snakemake(workdir: Path, *args: str, timeout_s: float = 900) -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's Snakefile in ``workdir`` (targets go first in
    ``args``: ``--configfile`` takes every following word)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    try:
        return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args],
                              capture_output=True, text=True, env=env, check=False,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"snakemake {' '.join(args)} did not finish within {timeout_s} s:\n"
                    f"{(exc.stderr or b'')[-4000:]!r}")


def logs_tail(workdir: Path, limit: int = 6000) -> str:
    logs = sorted(workdir.glob("results/logs/**/*.log"))
    text = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-1500:]}" for p in logs)
    return text[-limit:]


def check_success(result: subprocess.CompletedProcess, workdir: Path) -> None:
    if result.returncode != 0:
        pytest.fail(f"snakemake failed in {workdir}:\n{result.stderr[-6000:]}\n"
                    f"{logs_tail(workdir)}")


def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small configuration run once, locally and uninterrupted (cached per session)."""
    if "local" not in _REFERENCE:
        workdir = tmp_path_factory.mktemp("reference")
        result = snakemake(workdir, TARGET, "--cores", "2", *write_small_config(workdir))
        check_success(result, workdir)
        _REFERENCE["local"] = workdir
    return _REFERENCE["local"]


def result_files(workdir: Path) -> dict[str, Path]:
    """Arrays and tables under ``results/`` (not logs, figures, HTML or timing JSON)."""
    root = workdir / "results"
    keep = (".npy", ".npz", ".parquet", ".csv")
    return {str(p.relative_to(root)): p for p in root.rglob("*")
            if p.is_file() and p.suffix in keep and "logs" not in p.parts}


def assert_same_results(actual: Path, expected: Path) -> None:
    """Every array and table of two runs is identical (``.npy``/``.csv`` byte for byte)."""
    got, want = result_files(actual), result_files(expected)
    assert sorted(got) == sorted(want)
    assert "leaderboard.csv" in want
    assert any(name.startswith("embeddings/") for name in want)
    for name, path in want.items():
        other = got[name]
        if path.suffix in (".npy", ".csv"):
            assert other.read_bytes() == path.read_bytes(), f"{name} differs"
        elif path.suffix == ".npz":
            with np.load(path) as a, np.load(other) as b:
                assert sorted(a.files) == sorted(b.files), name
                for key in a.files:
                    np.testing.assert_array_equal(b[key], a[key], err_msg=f"{name}:{key}")
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(other), pd.read_parquet(path))


def planned_jobs(dry_run_output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job in ``snakemake -n`` output."""
    jobs = []
    for match in re.finditer(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n?)*)",
                             dry_run_output, flags=re.MULTILINE):
        wildcards: dict[str, str] = {}
        found = re.search(r"^\s+wildcards: (.*)$", match.group(2), flags=re.MULTILINE)
        if found:
            for item in found.group(1).split(", "):
                key, _, value = item.partition("=")
                wildcards[key] = value
        jobs.append((match.group(1), wildcards))
    return jobs


def test_killed_run_resumes_to_identical_results(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    reference = reference_run(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("interrupted")
    configs = write_small_config(workdir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [*SNAKEMAKE, "--directory", str(workdir), TARGET, "--cores", "1", *configs],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True)
    shard_logs = workdir / "results" / "logs" / "embed" / "raw"
    incomplete = workdir / ".snakemake" / "incomplete"
    try:
        deadline = time.monotonic() + 300
        while not any(shard_logs.glob("*/0000.log")):
            assert process.poll() is None, "snakemake ended before any embedding shard ran"
            assert time.monotonic() < deadline, "no embedding shard started within 300 s"
            time.sleep(0.05)
        time.sleep(0.3)  # inside a shard: interpreter start, model, forward passes
        # a raw shard takes under a second: kill while a job is marked running, not in the
        # gap between two jobs
        while not (incomplete.is_dir() and any(incomplete.iterdir())):
            assert process.poll() is None, "snakemake ended before it could be killed in a job"
            assert time.monotonic() < deadline, "no job was running within 300 s"
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert incomplete.is_dir() and any(incomplete.iterdir()), (
        "the kill should leave a job marked incomplete")
    assert not (workdir / "results" / "leaderboard.csv").exists()

    check_success(snakemake(workdir, "--unlock", *configs), workdir)
    check_success(snakemake(workdir, TARGET, "--cores", "2", "--rerun-incomplete", *configs),
                  workdir)
    # A kill between a merge's end and Snakemake's deletion of its temporary shards leaves
    # them behind (nothing consumes them again); the documented clean-up removes them.
    check_success(snakemake(workdir, TARGET, "--delete-temp-output", "--cores", "1", *configs),
                  workdir)
    assert_same_results(workdir, reference)


def test_adding_a_model_reruns_only_its_jobs_and_the_summaries(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    reference = reference_run(tmp_path_factory)
    # Nothing to do before the change ...
    unchanged = snakemake(reference, TARGET, "-n", *write_small_config(reference))
    check_success(unchanged, reference)
    assert planned_jobs(unchanged.stdout + unchanged.stderr) == []

    # ... and after it, only the new model's jobs and the summaries (for every target;
    # the reference run made no figures, which therefore appear too).
    new_model = {"models": {"spectral-16": {"plugin": "spectral", "patch_samples": 16}}}
    result = snakemake(reference, "all", "-n", *write_small_config(reference, new_model))
    check_success(result, reference)
    jobs = planned_jobs(result.stdout + result.stderr)
    rules = {rule for rule, _ in jobs}
    assert {"embed_shard", "merge_embeddings", "probe", "downstream", "leaderboard"} <= rules
    for rule, wildcards in jobs:
        if "model" in wildcards:
            assert wildcards["model"] == "spectral-16", (rule, wildcards)
        else:
            assert SUMMARY_RULES.match(rule), f"unexpected rerun of {rule} {wildcards}"
    assert not {"simulate", "real_windows"} & rules
