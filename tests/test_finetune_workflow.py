"""The finetune rule in a real Snakemake run (tiny config), and its place in the DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_suite

from physio_bench.config import REPO_ROOT

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO_ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *args],
                          capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finetune_workflow")
    suite = write_suite(root / "training", n_windows=6, n_samples=1000,
                        sampling_rate_hz=100.0, seed=4, suite="training")
    config = {
        "finetune": {"runs": {"tiny": {
            "enabled": True, "suite": str(suite), "d_model": 64, "num_layers": 2,
            "input_hz": 50, "patch_size": 16, "steps": 3, "batch_size": 3,
            "warmup_steps": 1, "min_patches": 4, "threads": 1}}},
        "models": {"tiny-trained": {"plugin": "moirai",
                                    "weights": "results/finetune/tiny/checkpoint",
                                    "patch_size": 16, "input_hz": 50}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def test_embed_jobs_of_a_trained_model_wait_for_its_run(workdir: Path) -> None:
    target = "results/embeddings/tiny-trained/factors/model.json"
    result = snakemake(workdir, "-n", target, "--configfile", str(workdir / "config.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("Job stats:")[1].split("total")[0]
    planned = {line.split()[0] for line in table.splitlines()[3:] if line.strip()}
    assert {"finetune", "embed_shard", "merge_embeddings"} <= planned
    # The untrained control does not depend on any training.
    control = snakemake(workdir, "-n",
                        "results/embeddings/moirai-small-untrained/factors/model.json",
                        "--configfile", str(workdir / "config.yaml"))
    assert control.returncode == 0 and "rule finetune" not in control.stdout


def test_the_finetune_rule_trains_and_is_then_up_to_date(workdir: Path) -> None:
    target = "results/finetune/tiny/provenance.json"
    result = snakemake(workdir, target, "--configfile", str(workdir / "config.yaml"))
    if result.returncode != 0:
        log = workdir / "results" / "logs" / "finetune" / "tiny.log"
        pytest.fail(f"{result.stderr[-3000:]}\n{log.read_text() if log.exists() else ''}")
    run = workdir / "results" / "finetune" / "tiny"
    for name in ("config.json", "model.safetensors", "training.json"):
        assert (run / "checkpoint" / name).is_file()
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["training"]["steps"] == 3
    assert provenance["omp_wait_policy"] == "PASSIVE"
    assert len((run / "loss.csv").read_text().splitlines()) == 4
    again = snakemake(workdir, "-n", target, "--configfile", str(workdir / "config.yaml"))
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
