# The forecast-skill stage (physio_bench.forecast): the Moirai-family models of
# forecast.models predict held-out patches of forecast.suite; baselines fitted on
# forecast.reference_suite. One job: results/forecast_skill.csv.
from types import SimpleNamespace

from physio_bench.forecast import forecast_models

FORECAST = config["forecast"]
FORECAST_MODELS = forecast_models(config)
FORECAST_TARGETS = ["results/forecast_skill.csv"] if FORECAST_MODELS else []
SUITE_FILES = ("signals.npy", "labels.parquet", "meta.json")


def forecast_weights(wildcards):
    """Checkpoint files of the trained models among forecast.models."""
    files = []
    for name in FORECAST_MODELS:
        files += trained_weights(SimpleNamespace(model=name))
    return sorted(set(files))


rule forecast_skill:
    """Forecast skill of every forecast.models instance and of three baselines."""
    input:
        heldout=[f"results/simulated/{FORECAST['suite']}/{f}" for f in SUITE_FILES],
        reference=[f"results/simulated/{FORECAST['reference_suite']}/{f}" for f in SUITE_FILES],
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
