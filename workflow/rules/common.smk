# How a rule runs its stage, so that a copied or moved project folder reruns nothing and a
# change reruns exactly the jobs it affects:
#
#     params:
#         versions=VERSIONS,                             # physio_bench's and its packages' versions
#         settings=settings_digest(config["probes"]),    # the config parts the job reads
#     ...
#     shell:
#         '"$PHYSIO_BENCH_PYTHON" -m physio_bench probe '
#         "--configfile results/config.resolved.yaml --model {wildcards.model:q} ... 2> {log}"
#
# - params hold only what changes results: the digest of the settings the job reads
#   (settings_digest), VERSIONS, and plain relative names (a section, a results/ folder).
#   Never a path that depends on where the project or the interpreter lives: Snakemake
#   compares params (and input file names, and the command text) to decide a rerun.
# - "$PHYSIO_BENCH_PYTHON" is the interpreter running Snakemake, set by the Snakefile and
#   expanded by the shell at run time; results/config.resolved.yaml is the merged config.
# - input files are named relative to the working directory (results/..., a dataset's
#   own folder); a folder shipped inside a package (physio_bench:data/...) is no input,
#   its listing is part of the settings (dataset_listing).
# A rule written the old way (params pb=PB, cfg=CFG; shell "{params.pb} X {params.cfg} ...")
# stops at parse (PB and CFG are gone): drop both params, add versions=VERSIONS, and start
# its command as above.
import hashlib
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

# Helpers shared by the rules: how many windows a suite has, hence how many shards.
from physio_bench.config import is_package_path
from physio_bench.downstream import dataset_specs
from physio_bench.finetune import enabled_runs, run_of_model, run_outputs, run_settings
from physio_bench.forecast import forecast_models
from physio_bench.simulate import count_windows, suite_settings

# Real datasets (downstream.datasets): suite "real-{name}" lives in results/real/{name}.
DATASETS = {spec.name: spec for spec in dataset_specs(config)}
REAL_SUITES = [f"real-{name}" for name in DATASETS]
EMBED_SUITES = SIM_SUITES + REAL_SUITES
SUITE_PATTERN = "|".join(SIM_SUITES + [re.escape(s) for s in REAL_SUITES])


def dataset_files(wildcards):
    """Every file in the dataset's folder, relative to the working directory when the
    config gives a relative path: a changed recording reruns its suite. None for a folder
    shipped inside a package: its place depends on the installation (dataset_listing)."""
    if is_package_path(config["downstream"]["datasets"][wildcards.dataset]["path"]):
        return []
    folder = DATASETS[wildcards.dataset].path
    return sorted(str(p) for p in folder.iterdir() if p.is_file())


def dataset_listing(dataset):
    """Names and sizes of the files of a folder shipped inside a package (None for the
    user's own folders, whose files are inputs): what the settings of its suite hold."""
    if not is_package_path(config["downstream"]["datasets"][dataset]["path"]):
        return None
    folder = DATASETS[dataset].path
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file())


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


def _package_versions():
    """Python's version and the installed version of physio_bench and of every package it
    requires (extras left out)."""
    names = ["physio-bench"]
    for requirement in importlib.metadata.requires("physio-bench") or []:
        if "extra ==" not in requirement:
            names.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return [list(sys.version_info[:2]), versions]


# A param of every rule: an upgrade of physio_bench or of a package it requires reruns
# the jobs (a change of the code alone does not: --forcerun, or bump the version).
VERSIONS = settings_digest(_package_versions())


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


# The forecast-skill stage (forecast.smk): its models, and the checkpoints it waits for.
FORECAST = config["forecast"]
FORECAST_MODELS = forecast_models(config)
FORECAST_TARGETS = ["results/forecast_skill.csv"] if FORECAST_MODELS else []


def forecast_weights(wildcards):
    """Checkpoint files of the trained models among forecast.models."""
    files = []
    for name in FORECAST_MODELS:
        files += trained_weights(SimpleNamespace(model=name))
    return sorted(set(files))
