# Sensitivity study (models issue 14): the models of `sensitivity.models` re-embedded at
# every `sensitivity.input_hz` (and `sensitivity.patch_size`) on a subset of the suites,
# probed, and gathered into results/sensitivity/summary.csv (figure sensitivity_input_rate).
from physio_bench.sensitivity import variants as _sensitivity_variants

SENSITIVITY = config["sensitivity"]
SENSITIVITY_VARIANTS = [v.name for v in _sensitivity_variants(config)]
SENSITIVITY_SUITES = list(SENSITIVITY["suites"])


rule sensitivity_subset:
    """The study's subset of one suite (whole subjects, windows_per_group per group)."""
    input:
        signals="results/simulated/{suite}/signals.npy",
        labels="results/simulated/{suite}/labels.parquet",
        meta="results/simulated/{suite}/meta.json",
    output:
        signals="results/sensitivity/simulated/{suite}/signals.npy",
        labels="results/sensitivity/simulated/{suite}/labels.parquet",
        meta="results/sensitivity/simulated/{suite}/meta.json",
    params:
        versions=VERSIONS,
        settings=settings_digest(SENSITIVITY["windows_per_group"]),
    wildcard_constraints:
        suite="factors|scenarios",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    benchmark:
        "results/benchmarks/sensitivity/subset_{suite}.tsv"
    log:
        "results/logs/sensitivity/subset_{suite}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench sensitivity-subset '
        "--configfile results/config.resolved.yaml --suite {wildcards.suite} --results results "
        "2> {log}"


rule sensitivity_embed:
    """One variant (a model at one input rate and patch size) on one subset."""
    input:
        signals="results/sensitivity/simulated/{suite}/signals.npy",
        meta="results/sensitivity/simulated/{suite}/meta.json",
    output:
        pooled="results/sensitivity/embeddings/{variant}/{suite}/pooled.npy",
        info="results/sensitivity/embeddings/{variant}/{suite}/model.json",
    params:
        versions=VERSIONS,
        # what a variant's embedding depends on: its model's entry, the study, embed:
        settings=lambda w: settings_digest(
            config["models"][w.variant.split("@", 1)[0]], SENSITIVITY, config["embed"]),
    wildcard_constraints:
        suite="factors|scenarios",
        variant="[^/]+@[^/]+",
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    benchmark:
        "results/benchmarks/sensitivity/embed_{variant}_{suite}.tsv"
    log:
        "results/logs/sensitivity/embed_{variant}_{suite}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench sensitivity-embed '
        "--configfile results/config.resolved.yaml --variant {wildcards.variant:q} "
        "--suite {wildcards.suite} --results results 2> {log}"


rule sensitivity_probe:
    """The study's probes on one variant's embeddings."""
    input:
        embeddings=lambda w: expand(
            "results/sensitivity/embeddings/{variant}/{suite}/model.json",
            variant=w.variant, suite=SENSITIVITY_SUITES,
        ),
        labels=expand("results/sensitivity/simulated/{suite}/labels.parquet",
                      suite=SENSITIVITY_SUITES),
    output:
        rows="results/sensitivity/probes/{variant}.csv",
        detail="results/sensitivity/probes/{variant}.json",
    params:
        versions=VERSIONS,
        settings=settings_digest(config["probes"]),
    wildcard_constraints:
        variant="[^/]+@[^/]+",
    threads: 1
    resources:
        mem_mb=6000,
        runtime=30,
    benchmark:
        "results/benchmarks/sensitivity/probe_{variant}.tsv"
    log:
        "results/logs/sensitivity/probe_{variant}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench sensitivity-probe '
        "--configfile results/config.resolved.yaml --variant {wildcards.variant:q} "
        "--results results 2> {log}"


rule sensitivity_summary:
    """Every variant's probe rows in one table (drawn against the input rate)."""
    input:
        expand("results/sensitivity/probes/{variant}.csv", variant=SENSITIVITY_VARIANTS),
    output:
        "results/sensitivity/summary.csv",
    params:
        versions=VERSIONS,
        settings=settings_digest(SENSITIVITY),
    threads: 1
    benchmark:
        "results/benchmarks/sensitivity/summary.tsv"
    log:
        "results/logs/sensitivity/summary.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench sensitivity-summary '
        "--configfile results/config.resolved.yaml --results results 2> {log}"
