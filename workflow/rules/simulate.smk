rule simulate:
    """Simulate one suite with neurokit2 (factors, sweeps or scenarios)."""
    output:
        signals="results/simulated/{suite}/signals.npy",
        labels="results/simulated/{suite}/labels.parquet",
        targets="results/simulated/{suite}/targets.npz",
        meta="results/simulated/{suite}/meta.json",
    params:
        settings=settings_digest(WINDOW_SETTINGS, config["simulate"]),
    wildcard_constraints:
        suite="factors|sweeps|scenarios",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        "results/logs/simulate/{suite}.log",
    shell:
        "{PB} simulate {CFG} --suite {wildcards.suite} --out results/simulated/{wildcards.suite} 2> {log}"
