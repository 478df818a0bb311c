rule embed_shard:
    """Embed one shard of a suite's windows with one model."""
    input:
        meta=lambda w: f"{suite_dir(w.suite)}/meta.json",
        signals=lambda w: f"{suite_dir(w.suite)}/signals.npy",
        weights=trained_weights,
    output:
        shard=temp("results/embeddings/{model}/{suite}/shards/{shard}.npz"),
        info=temp("results/embeddings/{model}/{suite}/shards/{shard}.json"),
    params:
        versions=VERSIONS,
        suite_dir=lambda w: suite_dir(w.suite),
        settings=lambda w: settings_digest(config["embed"], model_entry(config, w.model),
                                           model_seed(config, w.model)),
    wildcard_constraints:
        suite=SUITE_PATTERN,
        shard=r"\d+",
    threads: lambda w: int(model_entry(config, w.model).get("threads", 1))
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=lambda w: 1 if config["embed"]["device"] == "cuda" else 0,
    benchmark:
        "results/benchmarks/embed/{model}/{suite}/{shard}.tsv"
    log:
        "results/logs/embed/{model}/{suite}/{shard}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench embed '
        "--configfile results/config.resolved.yaml --model {wildcards.model:q} "
        "--suite-dir {params.suite_dir:q} --shard {wildcards.shard} --out {output.shard:q} "
        "2> {log}"


rule merge_embeddings:
    """Concatenate a model's shards of one suite into memory-mappable arrays."""
    input:
        shards=lambda w: expand(
            "results/embeddings/{model}/{suite}/shards/{shard}.npz",
            model=w.model, suite=w.suite, shard=shard_ids(w),
        ),
        sidecars=lambda w: expand(
            "results/embeddings/{model}/{suite}/shards/{shard}.json",
            model=w.model, suite=w.suite, shard=shard_ids(w),
        ),
    output:
        pooled="results/embeddings/{model}/{suite}/pooled.npy",
        info="results/embeddings/{model}/{suite}/model.json",
    params:
        versions=VERSIONS,
    wildcard_constraints:
        suite=SUITE_PATTERN,
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    benchmark:
        "results/benchmarks/embed/{model}/{suite}/merge.tsv"
    log:
        "results/logs/embed/{model}/{suite}/merge.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench merge-embeddings '
        "--configfile results/config.resolved.yaml --model {wildcards.model:q} "
        "--out-dir results/embeddings/{wildcards.model}/{wildcards.suite} {input.shards:q} "
        "2> {log}"
