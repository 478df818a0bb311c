import hashlib
import json
import re

# Helpers shared by the rules: how many windows a suite has, hence how many shards.
from physio_bench.downstream import dataset_specs
from physio_bench.finetune import enabled_runs, run_of_model, run_outputs, run_settings
from physio_bench.simulate import count_windows, suite_settings

# Real datasets (downstream.datasets): suite "real-{name}" lives in results/real/{name}.
DATASETS = {spec.name: spec for spec in dataset_specs(config)}
REAL_SUITES = [f"real-{name}" for name in DATASETS]
EMBED_SUITES = SIM_SUITES + REAL_SUITES
SUITE_PATTERN = "|".join(SIM_SUITES + [re.escape(s) for s in REAL_SUITES])


def dataset_files(wildcards):
    """Every file in the dataset's folder: a changed recording reruns its suite."""
    folder = DATASETS[wildcards.dataset].path
    return sorted(str(p) for p in folder.iterdir() if p.is_file())


def suite_dir(suite):
    if suite.startswith("real-"):
        return f"results/real/{suite[len('real-'):]}"
    return f"results/simulated/{suite}"


def shard_ids(wildcards):
    """Shard indices of one (model, suite) embedding, from the suite size."""
    if wildcards.suite.startswith("real-"):
        dataset = wildcards.suite[len("real-"):]
        meta = checkpoints.real_windows.get(dataset=dataset).output.meta
        n = json.loads(Path(meta).read_text())["n_windows"]
    else:
        n = count_windows(config, wildcards.suite)
    # a model entry's shard_size wins (fewer jobs: each own-interpreter worker start costs)
    size = int(model_entry(config, wildcards.model).get("shard_size",
                                                        config["embed"]["shard_size"]))
    return [f"{i:04d}" for i in range(max(1, -(-n // size)))]


def settings_digest(*parts):
    """Short hash of the config parts a rule depends on, passed as a param so that
    Snakemake reruns exactly the jobs whose settings changed (rerun trigger 'params')."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


WINDOW_SETTINGS = (config["seed"], config["sampling_rate_hz"], config["window_samples"])


# Finetune runs: which are enabled, their training suites, and the checkpoint a model's
# weights name (the embed jobs of a trained model wait for its run).
FINETUNE_RUNS = enabled_runs(config)
FINETUNE_TARGETS = [run_outputs(run)["provenance"] for run in FINETUNE_RUNS]
CHECKPOINT_KEYS = ("config", "model", "training")
FINETUNE_RUN_PATTERN = "|".join(re.escape(r) for r in FINETUNE_RUNS) or "(?!)"


def finetune_suite_files(wildcards):
    suite = run_settings(config, wildcards.run).suite
    return [f"{suite}/{name}" for name in ("signals.npy", "labels.parquet", "meta.json")]


def trained_weights(wildcards):
    """The checkpoint files of the finetune run a model's weights name (none otherwise)."""
    run = run_of_model(config, model_entry(config, wildcards.model))
    if run not in FINETUNE_RUNS:
        return []
    return [run_outputs(run)[key] for key in CHECKPOINT_KEYS]
