# The finetune stage: train Moirai on a simulated training suite (physio_bench.finetune).
# A model entry whose `weights` is results/finetune/<run>/checkpoint evaluates the trained
# checkpoint; its embed jobs wait for the run (trained_weights below).
import re

from physio_bench.finetune import enabled_runs, run_of_model, run_outputs, run_settings

FINETUNE_RUNS = enabled_runs(config)
FINETUNE_TARGETS = [run_outputs(run)["provenance"] for run in FINETUNE_RUNS]
CHECKPOINT_KEYS = ("config", "model", "training")


def finetune_suite_files(wildcards):
    suite = run_settings(config, wildcards.run).suite
    return [f"{suite}/{name}" for name in ("signals.npy", "labels.parquet", "meta.json")]


def trained_weights(wildcards):
    """The checkpoint files of the finetune run a model's weights name (none otherwise)."""
    run = run_of_model(config, config["models"][wildcards.model])
    if run not in FINETUNE_RUNS:
        return []
    return [run_outputs(run)[key] for key in CHECKPOINT_KEYS]


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
        out_dir=lambda w: f"results/finetune/{w.run}",
        settings=lambda w: settings_digest(run_settings(config, w.run).to_dict()),
    wildcard_constraints:
        run="|".join(re.escape(r) for r in FINETUNE_RUNS) or "(?!)",
    threads: lambda w: run_settings(config, w.run).threads
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda w: 1 if run_settings(config, w.run).device == "cuda" else 0,
    log:
        "results/logs/finetune/{run}.log",
    shell:
        "{PB} finetune {CFG} --run {wildcards.run:q} --out-dir {params.out_dir:q} 2> {log}"
