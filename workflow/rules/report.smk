# Leaderboard tables, model provenance and figures (owned by the report stage).
# The figure files follow from the config alone (physio_bench.report.figures.figure_entries),
# so they are declared outputs; each is wrapped in report() with a caption and one report
# category per stage.  `snakemake figures` redraws every figure and table from existing
# results (always runs; no simulation, embedding or probe job).
include: "report_common.smk"


rule leaderboard:
    """Gather every probe's and downstream task's rows into the leaderboard tables."""
    input:
        probes=expand("results/probes/{model}/{probe}.csv", model=MODELS, probe=PROBES),
        downstream=expand("results/downstream/{model}.csv", model=[*MODELS, REFERENCE_METHOD]),
        # its verdicts are a section of leaderboard.md (none without forecast models)
        forecast=FORECAST_TARGETS,
    output:
        long=report("results/leaderboard.csv", caption="../report/leaderboard_long.rst",
                    category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                    | {"figure": "long table (CSV)"}),
        wide=report("results/leaderboard_wide.csv", caption="../report/leaderboard.rst",
                    category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                    | {"figure": "headline table (CSV)"}),
        markdown=report("results/leaderboard.md", caption="../report/leaderboard.rst",
                        category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                        | {"figure": "headline table (Markdown)"}),
        html=report("results/leaderboard.html", caption="../report/leaderboard.rst",
                    category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                    | {"figure": "headline table"}),
        stage_tables=[
            report(f"results/tables/{stage}.html", caption="../report/leaderboard_stage.rst",
                   category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                   | {"figure": f"table: {stage.replace('_', ' ')}"})
            for stage in STAGE_TABLES
        ],
        stage_files=expand("results/tables/{stage}.{ext}", stage=STAGE_TABLES,
                           ext=["csv", "md"]),
    threads: 1
    params:
        versions=VERSIONS,
    benchmark:
        "results/benchmarks/leaderboard.tsv"
    log:
        "results/logs/leaderboard.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench leaderboard '
        "--configfile results/config.resolved.yaml --results results 2> {log}"


rule provenance:
    """Weights provenance, versions and speed of every model in the report."""
    input:
        expand("results/embeddings/{model}/{suite}/model.json", model=MODELS, suite=EMBED_SUITES),
    output:
        html=report("results/models.html", caption="../report/models.rst",
                    category=REPORT_CATEGORIES["models"],
                    labels={"figure": "models", "model": "all models"}),
        configuration=report("results/configuration.html",
                             caption="../report/configuration.rst",
                             category=REPORT_CATEGORIES["models"],
                             labels={"figure": "configuration", "model": "all models"}),
        markdown="results/models.md",
    threads: 1
    params:
        versions=VERSIONS,
    benchmark:
        "results/benchmarks/provenance.tsv"
    log:
        "results/logs/provenance.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench provenance '
        "--configfile results/config.resolved.yaml --results results 2> {log}"


for _section in SHOWN_SECTIONS:

    rule:
        name:
            f"figures_{_section}"
        input:
            figure_inputs(config, _section),
        output:
            [_figure_report(e) for e in figure_entries(config, sections=[_section])],
        params:
            versions=VERSIONS,
            section=_section,
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        benchmark:
            f"results/benchmarks/figures/{_section}.tsv"
        log:
            f"results/logs/figures/{_section}.log",
        shell:
            '"$PHYSIO_BENCH_PYTHON" -m physio_bench figures '
            "--configfile results/config.resolved.yaml --results results "
            "--section {params.section} 2> {log}"


rule figures:
    """Redraw every figure and table from existing results (always runs when targeted)."""
    input:
        probes=expand("results/probes/{model}/{probe}.json", model=MODELS, probe=PROBES),
        downstream=expand("results/downstream/{model}.json", model=MODELS),
    threads: 1
    params:
        versions=VERSIONS,
    log:
        "results/logs/figures/all.log",
    shell:
        '("$PHYSIO_BENCH_PYTHON" -m physio_bench leaderboard '
        "--configfile results/config.resolved.yaml --results results && "
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench provenance '
        "--configfile results/config.resolved.yaml --results results && "
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench figures '
        "--configfile results/config.resolved.yaml --results results) 2> {log}"


rule dataset_summaries:
    """Per real dataset and record: windows kept, dropped by cause, labels per task and
    the records skipped as bad, by cause (issue 27)."""
    input:
        meta=expand("results/real/{dataset}/meta.json", dataset=DATASETS),
    output:
        tables=[
            report(f"results/tables/dataset_{dataset}.html",
                   caption="../report/dataset_summary.rst",
                   category=REPORT_CATEGORIES["leaderboard"], labels=LEADERBOARD_LABELS
                   | {"figure": f"dataset summary: {dataset}"})
            for dataset in DATASETS
        ],
    threads: 1
    params:
        versions=VERSIONS,
    log:
        "results/logs/dataset_summaries.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench dataset-summary '
        "--meta {input.meta:q} --out {output.tables:q} 2> {log}"


REPORT_TARGETS += [f"results/tables/dataset_{dataset}.html" for dataset in DATASETS]


rule forecast_table:
    """The forecast-skill table: median correlation and CRPS skill against each baseline
    (issue 20), from results/forecast_skill.csv."""
    input:
        "results/forecast_skill.csv",
    output:
        report("results/tables/forecast_skill.html", caption="../report/forecast_skill.rst",
               category=REPORT_CATEGORIES["finetune"], labels={
                   "figure": "forecast skill (table)", "model": "Moirai family"}),
    threads: 1
    params:
        versions=VERSIONS,
    log:
        "results/logs/forecast_table.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench forecast-table '
        "--csv {input:q} --out {output:q} 2> {log}"
