# Report targets and the report() wrapper of figure files, for report.smk (kept apart from
# its rules, as snakemake --lint asks).
from physio_bench.downstream import REFERENCE_METHOD
from physio_bench.forecast import forecast_models
from physio_bench.report.figures import SECTION_TITLES, SECTIONS, figure_entries, figure_inputs

# Sections with at least one figure under this config (the finetune figures need a run).
SHOWN_SECTIONS = [s for s in SECTIONS if figure_entries(config, sections=[s])]
# One report category per section, in reading order. Snakemake sorts the names as text,
# hence two digits ("01." .. "11."); a section keeps its number whether or not this
# config shows it, as the report's front page (workflow/report/workflow.rst) lists them.
REPORT_CATEGORIES = {
    "leaderboard": "01. Leaderboard",
    **{s: f"{i + 2:02d}. {SECTION_TITLES[s]}" for i, s in enumerate(SECTIONS)},
    "models": f"{len(SECTIONS) + 2:02d}. Models and provenance",
}
LEADERBOARD_LABELS = {"figure": "leaderboard", "model": "all models"}


def _figure_report(entry):
    """report() of one figure file: caption per figure kind, labels figure and model."""
    return report(
        entry.path,
        caption=f"../report/{entry.kind}.rst",
        category=REPORT_CATEGORIES[entry.section],
        subcategory=entry.title,
        labels={"figure": entry.title, "model": entry.model or "all models"},
    )


FIGURE_FILES = [e.path for e in figure_entries(config)]
STAGE_TABLES = ["feature_independence", "temporal_dynamics", "scenario_separation", "downstream"]
REPORT_TARGETS = [
    "results/leaderboard.md",
    "results/leaderboard_wide.csv",
    "results/leaderboard.html",
    "results/models.html",
    "results/configuration.html",
    *FIGURE_FILES,
]
# The forecast-skill table (its rule: report.smk), when the config has forecast models.
FORECAST_TABLES = ["results/tables/forecast_skill.html"] if forecast_models(config) else []
REPORT_TARGETS += FORECAST_TABLES
