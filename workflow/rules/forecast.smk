# The forecast-skill stage (physio_bench.forecast): the Moirai-family models of
# forecast.models predict held-out patches of forecast.suite; baselines fitted on
# forecast.reference_suite. One job: results/forecast_skill.csv.
# FORECAST, FORECAST_MODELS, FORECAST_TARGETS and forecast_weights: workflow/rules/common.smk
FORECAST_SUITE_FILES = ("signals.npy", "labels.parquet", "meta.json")


rule forecast_skill:
    """Forecast skill of every forecast.models instance and of three baselines."""
    input:
        heldout=[f"results/simulated/{FORECAST['suite']}/{f}" for f in FORECAST_SUITE_FILES],
        reference=[f"results/simulated/{FORECAST['reference_suite']}/{f}" for f in FORECAST_SUITE_FILES],
        weights=forecast_weights,
    output:
        csv="results/forecast_skill.csv",
        summary="results/forecast_skill.json",
    params:
        versions=VERSIONS,
        settings=settings_digest(FORECAST, [model_entry(config, m) for m in FORECAST_MODELS],
                                 FORECAST_MODELS, config["statistics"], WINDOW_SETTINGS),
    threads: FORECAST["threads"]
    resources:
        mem_mb=3000,
        runtime=30,
    benchmark:
        "results/benchmarks/forecast_skill.tsv"
    log:
        "results/logs/forecast_skill.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench forecast-skill '
        "--configfile results/config.resolved.yaml --results results 2> {log}"
