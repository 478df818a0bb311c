# The finetune stage: train Moirai on a simulated training suite (physio_bench.finetune).
# A model entry whose `weights` is results/finetune/<run>/checkpoint evaluates the trained
# checkpoint; its embed jobs wait for the run (trained_weights in common.smk).

rule finetune:
    """Train one finetune run (resumes from results/finetune/{run}/resume after a kill)."""
    input:
        finetune_suite_files,
    output:
        config="results/finetune/{run}/checkpoint/config.json",
        model="results/finetune/{run}/checkpoint/model.safetensors",
        training="results/finetune/{run}/checkpoint/training.json",
        provenance="results/finetune/{run}/provenance.json",
        loss="results/finetune/{run}/loss.csv",
    params:
        versions=VERSIONS,
        out_dir=lambda w: f"results/finetune/{w.run}",
        settings=lambda w: run_settings(config, w.run).digest()[:16],
    wildcard_constraints:
        run=FINETUNE_RUN_PATTERN,
    threads: lambda w: run_settings(config, w.run).threads
    # on the critical path (its model's embeddings, probes and comparisons wait for it)
    priority: 50
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda w: 1 if run_settings(config, w.run).device == "cuda" else 0,
    benchmark:
        "results/benchmarks/finetune/{run}.tsv"
    log:
        "results/logs/finetune/{run}.log",
    shell:
        '"$PHYSIO_BENCH_PYTHON" -m physio_bench finetune '
        "--configfile results/config.resolved.yaml --run {wildcards.run:q} "
        "--out-dir {params.out_dir:q} 2> {log}"
