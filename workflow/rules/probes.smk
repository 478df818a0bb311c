# Which embedded suites each probe reads.
PROBE_SUITES = {
    "feature_independence": ["factors", "sweeps"],
    "temporal_dynamics": ["factors", "scenarios"],
    "scenario_separation": ["scenarios"],
}
PROBES = list(PROBE_SUITES)


rule probe:
    """One linear probe of one model's embeddings (all layers)."""
    input:
        embeddings=lambda w: expand(
            "results/embeddings/{model}/{suite}/model.json",
            model=w.model, suite=PROBE_SUITES[w.probe],
        ),
        labels=lambda w: expand(
            "results/simulated/{suite}/labels.parquet", suite=PROBE_SUITES[w.probe]
        ),
    output:
        detail="results/probes/{model}/{probe}.json",
        rows="results/probes/{model}/{probe}.csv",
        predictions="results/probes/{model}/{probe}.predictions.parquet",
    params:
        versions=VERSIONS,
        settings=settings_digest(config["probes"]),
    wildcard_constraints:
        probe="|".join(PROBES),
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    benchmark:
        "results/benchmarks/probes/{model}/{probe}.tsv"
    log:
        "results/logs/probes/{model}/{probe}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench probe '
        "--configfile results/config.resolved.yaml --model {wildcards.model:q} "
        "--probe {wildcards.probe} --results results --out-json {output.detail:q} "
        "--out-csv {output.rows:q} --out-predictions {output.predictions:q} 2> {log}"
