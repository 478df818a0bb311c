"""End to end: the real Snakemake workflow on the quick preset, then its report.

One run (module fixture) feeds every test here; it is the same command a user runs as
`make quick`, in a temporary working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from physio_bench.compare import COLUMNS as COMPARISON_COLUMNS
from physio_bench.config import REPO_ROOT
from physio_bench.io import LEADERBOARD_COLUMNS

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO_ROOT / "Snakefile")]
QUICK = REPO_ROOT / "workflow" / "presets" / "quick.yaml"


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *args],
        capture_output=True, text=True, env=env, check=check,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("quick")
    result = snakemake(workdir, "all", "--configfile", str(QUICK), check=False)
    if result.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}"
            for p in sorted(workdir.glob("results/logs/**/*.log"))
        )
        pytest.fail(f"snakemake failed:\n{result.stderr[-6000:]}\n{logs[-6000:]}")
    return workdir


def test_quick_preset_produces_the_leaderboard(quick_run: Path) -> None:
    board = pd.read_csv(quick_run / "results" / "leaderboard.csv")
    expected = ["from_checkpoint" if c == "pretrained" else c for c in LEADERBOARD_COLUMNS]
    assert list(board.columns) == [expected[0], "type", *expected[1:]]  # issue 24
    assert set(board["stage"]) >= {
        "feature_independence", "temporal_dynamics", "scenario_separation", "downstream",
    }
    assert set(board["model"]) == {"raw", "spectral", "handcrafted",
                                   "moirai-tiny-untrained", "moirai-tiny-synthetic",
                                   "moirai-tiny-shuffled", "reference-method",
                                   "mean-predictor"}
    # The untrained control is never reported as loaded from a checkpoint, and its type
    # says what it is; the model trained on synthetic data is its own type (issue 24).
    untrained = board["model"] == "moirai-tiny-untrained"
    assert not board.loc[untrained, "from_checkpoint"].any()
    assert set(board.loc[untrained, "type"]) == {"untrained control"}
    assert set(board.loc[board["model"] == "moirai-tiny-synthetic", "type"]) == {
        "trained on synthetic"}
    assert set(board.loc[board["model"] == "moirai-tiny-shuffled", "type"]) == {
        "marginal ablation"}
    # every number comes with its subject count (a "not estimable" row may have none)
    assert board.loc[board["value"].notna(), "n_subjects"].notna().all()
    # A row without a number says why (not estimable, no counterpart, ...).
    assert (board["value"].notna() | board["note"].fillna("").ne("")).all()
    # An interval may miss its estimate (issue 24), but it is ordered when formed, and a
    # number without one says why ("no interval: ..."); most numbers have one.
    numbered = board[board["value"].notna()]
    formed = numbered["ci_low"].notna() & numbered["ci_high"].notna()
    assert (numbered.loc[formed, "ci_low"] <= numbered.loc[formed, "ci_high"]).all()
    unformed = numbered.loc[~formed, "note"].fillna("")
    assert unformed.str.contains("no interval").all(), unformed.tolist()
    assert formed.mean() > 0.9
    # Every dataset's tasks reach the leaderboard, with subject counts.
    real = board[board["task"].str.startswith("real:") & board["value"].notna()]
    assert {"real:mitdb:ecg:heart_rate_bpm", "real:mitdb:ecg:beat_class",
            "real:bidmc:ppg:resp_rate_bpm", "real:bidmc:ppg:heart_rate_bpm"} <= set(real["task"])
    assert (real["n_subjects"] >= 5).all()
    assert (quick_run / "results" / "leaderboard.md").read_text().strip()
    comparisons = pd.read_csv(quick_run / "results" / "comparisons.csv")
    assert list(comparisons.columns) == COMPARISON_COLUMNS
    # the positive control meets its twin and its marginal ablation, factor by factor
    trained = comparisons[comparisons["model"] == "moirai-tiny-synthetic"]
    assert {"untrained twin", "marginal ablation", "untrained twin, per factor",
            "marginal ablation, per factor"} <= set(trained["comparison"])
    assert set(trained.loc[trained["comparison"] == "marginal ablation, per factor",
                           "reference"]) == {"moirai-tiny-shuffled"}
    # the forecast-skill stage: every enabled Moirai model, every kind, all three baselines
    skill = pd.read_csv(quick_run / "results" / "forecast_skill.csv")
    assert set(skill["model"]) == {"moirai-tiny-untrained", "moirai-tiny-synthetic",
                                   "moirai-tiny-shuffled"}
    assert set(skill["kind"]) == {"ecg", "ppg", "rsp", "eda", "emg"}
    assert {"baseline:marginal", "baseline:window_gaussian",
            "baseline:seasonal_naive"} < set(skill["predictor"])


def test_report_builds_with_every_figure(quick_run: Path) -> None:
    report = quick_run / "results" / "report.html"
    snakemake(quick_run, "all", "--report", str(report), "--configfile", str(QUICK))
    assert report.stat().st_size > 10_000
    figures = sorted((quick_run / "results" / "figures").glob("*.png"))
    assert figures, "no figures were drawn"
    html = report.read_text(errors="replace")
    for figure in figures:
        assert figure.name in html, f"{figure.name} missing from the report"
    assert "forecast_skill.html" in html  # the forecast-skill table (issue 20)


def planned_jobs(dry_run_output: str) -> set[str]:
    """Rule names in the 'Job stats' table of a dry run."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {line.split()[0] for line in table.splitlines()[3:] if line.strip()}


def test_figures_target_reruns_only_figure_and_table_jobs(quick_run: Path) -> None:
    dry = snakemake(quick_run, "figures", "-n", "--configfile", str(QUICK))
    jobs = planned_jobs(dry.stdout)
    assert "figures" in jobs
    heavy = {"simulate", "embed_shard", "merge_embeddings", "probe", "downstream", "real_windows"}
    assert not (jobs & heavy), dry.stdout


def test_second_run_has_nothing_to_do(quick_run: Path) -> None:
    dry = snakemake(quick_run, "all", "-n", "--configfile", str(QUICK))
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_bad_config_stops_before_any_job(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("simulate:\n  signal_kinds: [ecg, eeg]\n")
    result = snakemake(tmp_path, "all", "-n", "--configfile", str(bad), check=False)
    assert result.returncode != 0
    assert "'simulate.signal_kinds.1' has value 'eeg'" in result.stderr
    assert not (tmp_path / "results" / "simulated").exists()


def test_default_config_lists_the_jobs(tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "results", ignore_errors=True)
    dry = snakemake(tmp_path, "all", "-n")
    out = dry.stdout
    rules = ("simulate", "embed_shard", "merge_embeddings", "probe", "downstream", "compare",
             "leaderboard", "forecast_skill")
    for rule in rules:
        assert rule in out, f"rule {rule} not planned"
    # the untrained twin's three seeds are planned as models of their own
    for k in range(3):
        assert f"results/probes/moirai-tiny-untrained-seed{k}/feature_independence.csv" in out
        assert f"results/downstream/moirai-tiny-untrained-seed{k}.csv" in out
    assert "results/probes/moirai-tiny-untrained/" not in out
    # the positive control and its ablation are trained first
    for run in ("moirai-tiny-synthetic", "moirai-tiny-shuffled"):
        assert f"results/finetune/{run}/checkpoint" in out
