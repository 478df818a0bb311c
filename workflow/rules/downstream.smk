checkpoint real_windows:
    """Cut the real WFDB records into windows at the benchmark's rate and length."""
    input:
        records=[
            f for r in config["downstream"]["records"]
            for f in [str(REPO / (r["path"] + ".hea"))]
        ],
    output:
        signals="results/real/signals.npy",
        labels="results/real/labels.parquet",
        targets="results/real/targets.npz",
        meta="results/real/meta.json",
    params:
        settings=settings_digest(WINDOW_SETTINGS, config["downstream"]),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "results/logs/real_windows.log",
    shell:
        "{PB} real-windows {CFG} --out results/real 2> {log}"


rule downstream:
    """Real-data tasks and simulation-to-real transfer for one model."""
    input:
        real="results/embeddings/{model}/real/model.json",
        factors="results/embeddings/{model}/factors/model.json",
        labels="results/real/labels.parquet",
    output:
        detail="results/downstream/{model}.json",
        rows="results/downstream/{model}.csv",
    params:
        settings=settings_digest(config["probes"], config["downstream"]),
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "results/logs/downstream/{model}.log",
    shell:
        "{PB} downstream {CFG} --model {wildcards.model:q} --results results "
        "--out-json {output.detail:q} --out-csv {output.rows:q} 2> {log}"
