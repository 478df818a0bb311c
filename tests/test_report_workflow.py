"""The report rules (workflow/rules/report.smk) under Snakemake, on synthetic results:
every table and figure is built, `--report` makes one self-contained HTML file holding
them, and `snakemake -n figures` afterwards plans only the redraw job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import small_report_config, workflow_snakefile

from physio_bench.config import REPO_ROOT
from physio_bench.preflight import load_config
from physio_bench.report.figures import figure_files
from physio_bench.report.synthetic import write_synthetic_results

pytestmark = pytest.mark.slow

SMALL = small_report_config(("ecg",), ("normal_sinus", "apnea"), {
    "spectral": {"plugin": "spectral", "enabled": False},
    "moirai-small-untrained": {"plugin": "moirai", "enabled": False}})
SNAKEFILE = workflow_snakefile(
    ["compare.smk", "report.smk"], report=True,
    # no real dataset: write_synthetic_results makes no results/real/{dataset}/meta.json
    more='EMBED_SUITES = ["factors", "sweeps", "scenarios", "real"]\nDATASETS = {}\n'
         'FORECAST_TARGETS = []\n',
    target='\nrule all:\n    input: "results/leaderboard.csv", "results/comparisons.csv", '
           'REPORT_TARGETS\n')


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
    # The sidebar lists the categories sorted as text: that must be reading order (the
    # finetune and sensitivity sections, 09 and 10, are off in SMALL), and the front page
    # names them in the same order.
    found = re.search(r'<script id="categories">\s*var categories = (\{.*?\});\s*</script>',
                      html, flags=re.DOTALL)
    assert found, "no category table in the report"
    assert sorted(json.loads(found.group(1))) == [
        "01. Leaderboard", "02. Simulated signals", "03. Feature independence",
        "04. Temporal dynamics", "05. Scenario separation", "06. Layer-wise",
        "07. Downstream (real recordings)", "08. Paired comparisons",
        "11. Models and provenance"]
    front = (REPO_ROOT / "workflow" / "report" / "workflow.rst").read_text()
    places = [front.find(f"**{name}**") for name in sorted(json.loads(found.group(1)))]
    assert -1 not in places and places == sorted(places), places
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)  # self-contained

    assert _planned_jobs(_snakemake(tmp_path, "-n", "figures")) == ["figures"]
    assert "Nothing to be done" in _snakemake(tmp_path, "-n", "all")
