# physio_bench: simulate -> (finetune) -> embed -> probe -> downstream -> report.
#   snakemake --cores 2 all                  the full default benchmark (offline)
#   snakemake --cores 2 all --configfile workflow/presets/quick.yaml
#   snakemake --cores 2 figures              redraw figures and tables from results
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

REPO = Path(workflow.basedir)
configfile: str(REPO / "config.yaml")
report: "workflow/report/workflow.rst"

# Check the configuration before any job runs: one clear line, then stop.
from physio_bench.config import enabled_models, model_entry, model_seed, write_resolved_config
from physio_bench.errors import PhysioBenchError
from physio_bench.preflight import check_before_run, validate_config

try:
    _checked = validate_config(config)
    check_before_run(_checked)
except PhysioBenchError as exc:
    sys.exit(f"physio_bench: config error: {exc}")
validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
config.update(_checked)

# Every CLI call reads the same merged configuration (rewritten only when it changes).
RESOLVED_CONFIG = write_resolved_config(config, "results/config.resolved.yaml")
# The interpreter running Snakemake runs every stage, whether or not .venv/bin is on PATH.
PB = f"{shlex.quote(sys.executable)} -m physio_bench"
CFG = f"--configfile {RESOLVED_CONFIG}"
MODELS = list(enabled_models(config))
SIM_SUITES = ["factors", "sweeps", "scenarios"]


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/finetune.smk"
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
        "results/comparisons.csv",
        REPORT_TARGETS,
