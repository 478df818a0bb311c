"""The report rules (workflow/rules/report.smk) under Snakemake, on synthetic results:
every table and figure is built, `--report` makes one self-contained HTML file holding
them, and `snakemake -n figures` afterwards plans only the redraw job."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from physio_bench.config import REPO_ROOT
from physio_bench.preflight import load_config
from physio_bench.report.figures import figure_files
from physio_bench.report.synthetic import write_synthetic_results

pytestmark = pytest.mark.slow

SMALL = {
    "simulate": {"signal_kinds": ["ecg"],
                 "scenarios": {"classes": ["normal_sinus", "apnea"]}},
    "models": {"spectral": {"plugin": "spectral", "enabled": False},
               "handcrafted": {"plugin": "handcrafted", "enabled": False},
               "moirai-small-untrained": {"plugin": "moirai", "enabled": False},
               "moirai-small-synthetic": {"plugin": "moirai", "enabled": False},
               "ttm-r2": {"enabled": False}, "ttm-r2-untrained": {"enabled": False}},
    "finetune": {"runs": {"moirai-small-synthetic": {"enabled": False}}},
}
SNAKEFILE = f"""
import sys
from physio_bench.config import enabled_models
from physio_bench.preflight import validate_config

configfile: "{REPO_ROOT / 'config.yaml'}"
report: "{REPO_ROOT / 'workflow' / 'report' / 'workflow.rst'}"
config.update(validate_config(config))
PB = f"{{sys.executable}} -m physio_bench"
CFG = "--configfile small.yaml"
MODELS = list(enabled_models(config))
PROBES = ["feature_independence", "temporal_dynamics", "scenario_separation"]
EMBED_SUITES = ["factors", "sweeps", "scenarios", "real"]

include: "{REPO_ROOT / 'workflow' / 'rules' / 'compare.smk'}"
include: "{REPO_ROOT / 'workflow' / 'rules' / 'report.smk'}"

rule all:
    input: "results/leaderboard.csv", "results/comparisons.csv", REPORT_TARGETS
"""


def _snakemake(workdir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args, "--configfile", "small.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _planned_jobs(output: str) -> list[str]:
    table = output.split("Job stats:")[1].split("total")[0]
    return [line.split()[0] for line in table.splitlines()[3:] if line.strip()]


def test_report_rules_build_tables_figures_and_html(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SMALL))
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    config = load_config([tmp_path / "small.yaml"])
    write_synthetic_results(tmp_path / "results", config)

    _snakemake(tmp_path, "all")
    tables = ["leaderboard.csv", "leaderboard_wide.csv", "leaderboard.md", "leaderboard.html",
              "models.html", "models.md", "configuration.html", "tables/downstream.html",
              "comparisons.csv"]
    for name in tables:
        assert (tmp_path / "results" / name).stat().st_size > 0, name
    figures = figure_files(config)
    # 18 figure kinds, two of them once per model (one model here), + one per class (2);
    # the finetune and sensitivity sections are off in SMALL
    assert len(figures) == 22
    for path in figures:
        assert (tmp_path / path).stat().st_size > 1000, path

    _snakemake(tmp_path, "all", "--report", "report.html")
    html = (tmp_path / "report.html").read_text()
    for name in [*tables[1:5], "configuration.html", *(Path(p).name for p in figures)]:
        if name not in ("models.md", "comparisons.csv"):
            assert name in html, name
    for category in ("1. Leaderboard", "2. Simulated signals", "3. Feature independence",
                     "4. Temporal dynamics", "5. Scenario separation", "6. Layer-wise",
                     "7. Downstream (real recordings)", "8. Paired comparisons",
                     "9. Models and provenance"):
        assert category in html, category
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)  # self-contained

    assert _planned_jobs(_snakemake(tmp_path, "-n", "figures")) == ["figures"]
    assert "Nothing to be done" in _snakemake(tmp_path, "-n", "all")
