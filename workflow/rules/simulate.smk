rule simulate:
    """Simulate one suite (factors, sweeps, scenarios; training for the finetune stage)."""
    output:
        signals="results/simulated/{suite}/signals.npy",
        labels="results/simulated/{suite}/labels.parquet",
        targets="results/simulated/{suite}/targets.npz",
        events="results/simulated/{suite}/events.parquet",
        meta="results/simulated/{suite}/meta.json",
    params:
        versions=VERSIONS,
        settings=lambda w: settings_digest(WINDOW_SETTINGS, suite_settings(config, w.suite)),
    wildcard_constraints:
        suite="factors|sweeps|scenarios|training",
    threads: 1
    # cheap, and every other job waits for one of them (the training suite for finetune)
    priority: 50
    resources:
        mem_mb=4000,
        runtime=60,
    benchmark:
        "results/benchmarks/simulate/{suite}.tsv"
    log:
        "results/logs/simulate/{suite}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench simulate '
        "--configfile results/config.resolved.yaml --suite {wildcards.suite} "
        "--out results/simulated/{wildcards.suite} 2> {log}"
