"""A folder of BIDMC-layout records the project has never seen, added by one config
entry, runs end to end through the real Snakemake workflow (tiny config): its suite is
cut and embedded, its tasks and reference methods reach the leaderboard; a wrong entry
stops before any job with one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import RUNS_OFF, SHIPPED_OFF, TRAINED_OFF

from physio_bench.config import REPO_ROOT

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO_ROOT / "Snakefile")]
QUICK = REPO_ROOT / "workflow" / "presets" / "quick.yaml"
RECORDS = ["bidmc_03", "bidmc_07", "bidmc_11", "bidmc_18", "bidmc_25"]  # 3 column orders


def _tiny(new_folder: Path) -> dict:
    """The quick preset shrunk to one model and the new dataset alone (one entry)."""
    return {
        "simulate": {"signal_kinds": ["ecg", "ppg", "rsp"],
                     "factors": {"windows_per_kind": 6}, "sweeps": {"steps": 2},
                     "scenarios": {"subjects_per_scenario": 6, "windows_per_subject": 1,
                                   "classes": ["normal_sinus", "apnea"]}},
        "models": {**{name: {"plugin": plugin, "enabled": False} for name, plugin in (
            ("spectral", "spectral"), ("handcrafted", "handcrafted"),
            ("moirai-small-untrained", "moirai"))}, **TRAINED_OFF},
        "finetune": RUNS_OFF,
        "probes": {"cv_folds": 3, "inner_folds": 2, "bootstrap": 20,
                   "max_tokens_per_window": 4},
        "downstream": {"max_windows_per_record": 3, "datasets": {
            **SHIPPED_OFF,
            # The one entry a user adds:
            "icu": {"reader": "bidmc-csv", "path": str(new_folder),
                    "channels": {"ecg": "II", "ppg": "PLETH", "rsp": "RESP"}},
        }},
    }


def _snakemake(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *args,
                           "--configfile", str(QUICK), str(config)],
                          capture_output=True, text=True, env=env, check=False, timeout=900)


def test_a_new_bidmc_layout_folder_runs_end_to_end(tmp_path: Path) -> None:
    new_folder = tmp_path / "never-seen"
    new_folder.mkdir()
    for record in RECORDS:
        for path in (REPO_ROOT / "data" / "bidmc").glob(f"{record}_*"):
            shutil.copy(path, new_folder / path.name)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(_tiny(new_folder)))
    workdir = tmp_path / "run"
    workdir.mkdir()
    done = _snakemake(workdir, config, "results/leaderboard.csv", "figures_downstream")
    if done.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}"
                         for p in sorted(workdir.glob("results/logs/**/*.log")))
        pytest.fail(f"snakemake failed:\n{done.stderr[-4000:]}\n{logs[-6000:]}")
    suite = workdir / "results" / "real" / "icu"
    labels = pd.read_parquet(suite / "labels.parquet")
    assert sorted(labels["record"].unique()) == RECORDS
    assert len(labels) == 5 * 3 * 3  # records x windows x channels
    assert (workdir / "results" / "embeddings" / "raw" / "real-icu" / "pooled.npy").exists()
    board = pd.read_csv(workdir / "results" / "leaderboard.csv")
    rows = board[board["stage"] == "downstream"]
    for task in ("real:icu:ecg:heart_rate_bpm", "real:icu:ppg:heart_rate_bpm",
                 "real:icu:rsp:resp_rate_bpm", "real:icu:ppg:resp_rate_bpm"):
        for model in ("raw", "reference-method"):
            found = rows[(rows["task"] == task) & (rows["model"] == model)
                         & (rows["layer"] == "last")]
            assert len(found) == 1, (task, model)
            row = found.iloc[0]
            # A number over the 5 subjects, or the reason there is none (16-s windows are
            # short for the spectral respiratory-rate method).
            assert (pd.notna(row["value"]) and row["n_subjects"] == 5) or (
                "not estimable" in row["note"]), (task, model, row.to_dict())
    raw_hr = rows[(rows["task"] == "real:icu:ecg:heart_rate_bpm") & (rows["model"] == "raw")
                  & (rows["layer"] == "last")]
    assert raw_hr["value"].notna().all()
    for name in ("ds_bland_altman_hr.png", "ds_bland_altman_rr.png", "ds_beat_confusion.png"):
        assert (workdir / "results" / "figures" / name).stat().st_size > 1000


def test_a_wrong_entry_stops_before_any_job(tmp_path: Path) -> None:
    tiny = _tiny(tmp_path / "missing-folder")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny))
    done = _snakemake(tmp_path, config, "-n", "all")
    assert done.returncode != 0
    assert "config error: downstream.datasets.icu.path: folder" in done.stderr
    tiny["downstream"]["datasets"]["icu"].update(path=str(REPO_ROOT / "data" / "bidmc"),
                                                 reader="edf")
    config.write_text(yaml.safe_dump(tiny))
    done = _snakemake(tmp_path, config, "-n", "all")
    assert "config error: downstream.datasets.icu.reader: unknown reader 'edf'" in done.stderr
    assert not (tmp_path / "results" / "real").exists()
