# physio_bench: simulate -> (finetune) -> embed -> probe -> downstream -> report.
#   snakemake --cores 2 all                  the full default benchmark (offline)
#   snakemake --cores 2 all --configfile workflow/presets/quick.yaml
#   snakemake --cores 2 figures              redraw figures and tables from results
#
# Where things are found (docs/datasets.md, "Paths"): relative paths in the configuration
# start at the working directory (--directory); the default config.yaml and the schema are
# the ones the installed physio_bench ships (in a clone: this folder's, linked from
# src/physio_bench), so Snakemake and every `physio-bench` call read the same defaults.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

from physio_bench.config import (
    DEFAULT_CONFIG_PATH,
    SCHEMA_PATH,
    enabled_models,
    model_entry,
    model_seed,
    write_resolved_config,
)
from physio_bench.errors import PhysioBenchError
from physio_bench.preflight import check_before_run, validate_config

configfile: str(DEFAULT_CONFIG_PATH)
report: "workflow/report/workflow.rst"

# Every rule runs its stage as `"$PHYSIO_BENCH_PYTHON" -m physio_bench ...`: the
# interpreter running Snakemake (whether or not .venv/bin is on PATH), found at run time
# (a cluster job's Snakemake sets it again), so no param or command holds its path and a
# moved project folder reruns nothing.
os.environ["PHYSIO_BENCH_PYTHON"] = sys.executable


envvars:
    "PHYSIO_BENCH_PYTHON",


# Check the configuration before any job runs: one clear line, then stop.
try:
    _checked = validate_config(config)
    check_before_run(_checked)
except PhysioBenchError as exc:
    sys.exit(f"physio_bench: config error: {exc}")
validate(config, str(SCHEMA_PATH))
config.update(_checked)

# Every CLI call reads the same merged configuration, results/config.resolved.yaml (named
# in each rule's command; rewritten only when it changes).
write_resolved_config(config, "results/config.resolved.yaml")
MODELS = list(enabled_models(config))
SIM_SUITES = ["factors", "sweeps", "scenarios"]


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/forecast.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/probes.smk"
include: "workflow/rules/downstream.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/leaderboard.csv",
        FINETUNE_TARGETS,
        FORECAST_TARGETS,
        "results/comparisons.csv",
        REPORT_TARGETS,
