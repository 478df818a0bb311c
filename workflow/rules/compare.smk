# Paired comparisons between models on the headline metrics (the compare stage).
# Reads the out-of-fold prediction tables the probe and downstream jobs write beside their
# CSVs (results/probes/{model}/{probe}.predictions.parquet,
# results/downstream/{model}.predictions.parquet); a missing table becomes a row with a note.


rule compare:
    """Each model minus its untrained twin and minus the best baseline, with paired CIs."""
    input:
        probes=expand("results/probes/{model}/{probe}.csv", model=MODELS, probe=PROBES),
        downstream=expand("results/downstream/{model}.csv", model=MODELS),
    output:
        table="results/comparisons.csv",
    params:
        versions=VERSIONS,
        statistics=str(sorted(config["statistics"].items())),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    benchmark:
        "results/benchmarks/compare.tsv"
    log:
        "results/logs/compare.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench compare '
        "--configfile results/config.resolved.yaml --results results --out {output.table:q} "
        "2> {log}"
