"""A project folder that can move: relative config paths start at the working directory,
an installed physio_bench finds its own files through the package, and a copied project
folder reruns nothing.

Both tests use one regular (non-editable) install: the wheel of this checkout, installed
with ``pip install --no-deps --no-index`` into a fresh virtual environment whose
dependencies come from the test interpreter's site-packages (one ``.pth`` line: nothing
is downloaded, and the editable checkout is not on its path).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import RUNS_OFF, SHIPPED_OFF

from physio_bench.config import REPO_ROOT

pytestmark = pytest.mark.slow

#: the shipped default configuration (the study extends it)
SHIPPED = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
CHANNELS = {"ecg": "II", "ppg": "PLETH", "rsp": "RESP"}
#: the study's own recordings (BIDMC layout), in folders beside its config
RECORDS = {"recs": ["bidmc_03", "bidmc_07"], "recs2": ["bidmc_11"]}
#: the run of the copy test: a real suite cut and embedded, and the job reading every suite
TARGETS = ["results/embeddings/raw/real-icu/model.json",
           "results/downstream/reference-method.csv"]


def _run(command: list[str], cwd: Path | None = None, check: bool = True,
         ) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PHYSIO_BENCH_PYTHON", None)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _study(folder: Path, datasets: dict[str, str]) -> Path:
    """A study folder: its recordings (name -> folder, relative) and ``study.yaml``: one
    model (raw), tiny simulated suites, the shipped datasets off."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in datasets.values():
        (folder / sub).mkdir(exist_ok=True)
        for record in RECORDS[sub]:
            for path in (REPO_ROOT / "data" / "bidmc").glob(f"{record}_*"):
                shutil.copy2(path, folder / sub / path.name)
    config = {
        "simulate": {"signal_kinds": ["ecg", "ppg", "rsp"], "factors": {"windows_per_kind": 6},
                     "sweeps": {"steps": 2},
                     "scenarios": {"subjects_per_scenario": 6, "windows_per_subject": 1,
                                   "classes": ["normal_sinus", "apnea"]}},
        # every shipped model but raw off: a regular install has no plug-in environment
        "models": {name: {**entry, "enabled": False}
                   for name, entry in SHIPPED["models"].items() if name != "raw"},
        "finetune": RUNS_OFF,
        "downstream": {"max_windows_per_record": 2, "datasets": {
            **SHIPPED_OFF,
            **{name: {"reader": "bidmc-csv", "path": sub, "channels": CHANNELS}
               for name, sub in datasets.items()}}},
    }
    (folder / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "study.yaml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a fresh virtual environment holding a regular install of this
    checkout's wheel."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"  # what the wheel is built from, links kept as in a clone
    (source / "workflow" / "schemas").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE", "config.yaml",
                 "workflow/schemas/config.schema.yaml"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "src", source / "src", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (source / "data").symlink_to(REPO_ROOT / "data")  # src/physio_bench/data resolves
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "--wheel-dir", str(root / "dist"), str(source)])
    wheel = next((root / "dist").glob("physio_bench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"physio_bench/config.yaml", "physio_bench/config.schema.yaml"} <= set(names)
    assert not [n for n in names if n.startswith("physio_bench/data/")]  # 95 MB stay out
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; "
                    "print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(purelib) / "test_dependencies.pth").write_text("\n".join(site.getsitepackages()))
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)])
    return python


def test_a_regular_install_checks_a_config_in_another_folder(installed: Path,
                                                              tmp_path: Path) -> None:
    study = _study(tmp_path / "study", {"icu": "recs"})
    where = _run([str(installed), "-c", "import physio_bench.config as c; "
                  "print(c.__file__, c.DEFAULT_CONFIG_PATH, c.SCHEMA_PATH, sep='\\n')"],
                 cwd=study.parent).stdout.split()
    venv = installed.parent.parent
    assert all(Path(p).is_relative_to(venv) and Path(p).is_file() for p in where), where

    physio_bench = str(installed.parent / "physio-bench")
    done = _run([physio_bench, "check-config", "--configfile", "study.yaml"], cwd=study.parent)
    assert done.stdout.strip() == "config OK: 1 enabled models: raw"

    # From another working directory the same entry names another folder (relative paths
    # start where the run is, not at the config file), in one line.
    done = _run([physio_bench, "check-config", "--configfile", str(study)], cwd=tmp_path,
                check=False)
    assert done.returncode == 2, done.stdout
    assert done.stderr == (f"physio-bench: error: downstream.datasets.icu.path: folder "
                           f"{tmp_path / 'recs'} not found (relative paths start at the "
                           "working directory): fix the path or download the data "
                           "(physio-bench download-physionet)\n")

    # The recordings of the repository's data/ are not in a wheel: one line says so.
    (tmp_path / "mitdb.yaml").write_text("downstream: {datasets: {mitdb: {enabled: true}}}\n")
    done = _run([physio_bench, "check-config", "--configfile", str(study), "--configfile",
                 "mitdb.yaml"], cwd=tmp_path, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "downstream.datasets.mitdb.path: folder " in done.stderr
    assert "data/ ships with its source repository, not in a wheel" in done.stderr


def _snakemake(python: Path, project: Path, *args: str) -> str:
    done = _run([str(python), "-m", "snakemake", *args, "--cores", "2",
                 "--configfile", "study.yaml"], cwd=project)
    return done.stdout + done.stderr


def _job_stats(dry_run: str) -> dict[str, int]:
    table = dry_run.split("Job stats:")[1].split("total")[0]
    rows = [line.split() for line in table.splitlines()[3:] if line.strip()]
    return {name: int(count) for name, count in rows}


def test_a_copied_project_finds_its_data_and_reruns_nothing(installed: Path,
                                                            tmp_path: Path) -> None:
    # A small project: the workflow beside a config whose dataset path is relative.
    project = tmp_path / "project"
    _study(project, {"icu": "recs"})
    shutil.copy2(REPO_ROOT / "Snakefile", project / "Snakefile")
    shutil.copytree(REPO_ROOT / "workflow", project / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _snakemake(Path(sys.executable), project, *TARGETS)
    meta = json.loads((project / "results" / "real" / "icu" / "meta.json").read_text())
    assert meta["n_windows"] == 2 * 2 * 3  # records x windows x channels

    # Copied elsewhere (times kept, as cp -a does) and run by another interpreter, a regular
    # install under another path: nothing to do.
    moved = tmp_path / "moved"
    shutil.copytree(project, moved, symlinks=True)
    assert "Nothing to be done" in _snakemake(installed, moved, *TARGETS, "-n")

    # One dataset entry more: its own jobs and the job that reads every dataset, no other.
    _study(moved, {"icu": "recs", "icu2": "recs2"})
    targets = [*TARGETS, "results/embeddings/raw/real-icu2/model.json"]
    dry = _snakemake(installed, moved, *targets, "-n")
    assert _job_stats(dry) == {"real_windows": 1, "merge_embeddings": 1,
                               "reference_methods": 1}, dry[-3000:]
    outputs = re.findall(r"^\s+output: (.+)$", dry, flags=re.MULTILINE)
    assert outputs and all("icu2" in o or "reference-method" in o for o in outputs), outputs
    _snakemake(installed, moved, *targets)
    meta = json.loads((moved / "results" / "real" / "icu2" / "meta.json").read_text())
    assert meta["n_windows"] == 1 * 2 * 3
    assert "Nothing to be done" in _snakemake(installed, moved, *targets, "-n")
