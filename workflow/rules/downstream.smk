# Real recordings: one suite per dataset (downstream.datasets), the downstream tasks of
# every model, and the classical reference methods on the same windows.
from physio_bench.downstream import REFERENCE_METHOD

REFERENCE_OUTPUTS = [f"results/downstream/{REFERENCE_METHOD}.{ext}"
                     for ext in ("json", "csv", "predictions.parquet")]


checkpoint real_windows:
    """Cut one dataset's records into windows at the benchmark's rate and length."""
    input:
        dataset_files,
    output:
        signals="results/real/{dataset}/signals.npy",
        labels="results/real/{dataset}/labels.parquet",
        targets="results/real/{dataset}/targets.npz",
        events="results/real/{dataset}/events.parquet",
        meta="results/real/{dataset}/meta.json",
    params:
        versions=VERSIONS,
        settings=lambda w: settings_digest(
            WINDOW_SETTINGS, config["downstream"]["datasets"][w.dataset],
            {k: v for k, v in config["downstream"].items()
             if k not in ("datasets", "cv_repeats")},  # cv_repeats: only the tasks
            dataset_listing(w.dataset)),
    wildcard_constraints:
        dataset="|".join(re.escape(d) for d in DATASETS) or "no-dataset",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    benchmark:
        "results/benchmarks/real_windows/{dataset}.tsv"
    log:
        "results/logs/real_windows/{dataset}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench real-windows '
        "--configfile results/config.resolved.yaml --dataset {wildcards.dataset:q} "
        "--out results/real/{wildcards.dataset} > {log} 2>&1"


rule downstream:
    """Real-data tasks and simulation-to-real transfer for one model."""
    input:
        real=expand("results/embeddings/{{model}}/{suite}/model.json", suite=REAL_SUITES),
        factors="results/embeddings/{model}/factors/model.json",
        scenarios="results/embeddings/{model}/scenarios/model.json",
        labels=expand("results/real/{dataset}/labels.parquet", dataset=DATASETS),
    output:
        detail="results/downstream/{model}.json",
        rows="results/downstream/{model}.csv",
        predictions="results/downstream/{model}.predictions.parquet",
        beats="results/downstream/{model}.beat_classes.csv",
    params:
        versions=VERSIONS,
        settings=settings_digest(config["probes"], config["downstream"],
                                 config["statistics"]),
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    benchmark:
        "results/benchmarks/downstream/{model}.tsv"
    log:
        "results/logs/downstream/{model}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench downstream '
        "--configfile results/config.resolved.yaml --model {wildcards.model:q} --results results "
        "--out-json {output.detail:q} --out-csv {output.rows:q} "
        "--out-predictions {output.predictions:q} --out-beats {output.beats:q} 2> {log}"


rule reference_methods:
    """Classical signal-processing estimates on the real windows (no model, no training)."""
    input:
        signals=expand("results/real/{dataset}/signals.npy", dataset=DATASETS),
        labels=expand("results/real/{dataset}/labels.parquet", dataset=DATASETS),
    output:
        detail=REFERENCE_OUTPUTS[0],
        rows=REFERENCE_OUTPUTS[1],
        predictions=REFERENCE_OUTPUTS[2],
    params:
        versions=VERSIONS,
        settings=settings_digest(config["probes"]["bootstrap"], config["statistics"]),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    benchmark:
        "results/benchmarks/downstream/reference_methods.tsv"
    log:
        "results/logs/downstream/reference_methods.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench reference-methods '
        "--configfile results/config.resolved.yaml --results results --out-json {output.detail:q} "
        "--out-csv {output.rows:q} --out-predictions {output.predictions:q} 2> {log}"
