"""SLURM for real: a single-node cluster on this machine runs the workflow.

The session fixture starts the cluster with ``scripts/slurm/setup.sh`` (installs Debian's
slurm-wlm and munge when missing, starts munged, slurmctld and slurmd; idempotent, so an
already running cluster is reused). Tests are skipped, with the reason, only where these
services cannot run: not root, or neither the packages nor apt-get are there.

Teardown, pass or fail: the fixture registers its finalizer *before* it runs setup.sh, so
a setup that fails half-way, a failing test or an interrupted session (Ctrl-C) still ends
with ``scripts/slurm/teardown.sh``: slurmd and slurmctld are stopped, and munged too unless
it was running before the session (munge may serve other programs). The last test of the
file runs the teardown itself and checks with ``pgrep -x`` that no daemon is left; set
``PHYSIO_BENCH_KEEP_SLURM=1`` to keep the cluster running after the tests.

The workflow test runs the small configuration of tests/test_workflow_resume.py through
``--profile workflow/profiles/slurm-cpu`` (one sbatch job per Snakemake job, job states
from squeue) and checks that every array and table equals the local run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_workflow_resume import (
    TARGET,
    assert_same_results,
    check_success,
    reference_run,
    snakemake,
    write_small_config,
)

from physio_bench.config import REPO_ROOT

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SETUP = REPO_ROOT / "scripts" / "slurm" / "setup.sh"
TEARDOWN = REPO_ROOT / "scripts" / "slurm" / "teardown.sh"
PROFILE = REPO_ROOT / "workflow" / "profiles" / "slurm-cpu"
CANNOT_RUN = 3  # setup.sh's exit code when the services cannot run on this machine
DAEMONS = ("slurmd", "slurmctld", "munged")
KEEP = "PHYSIO_BENCH_KEEP_SLURM"


def slurm(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, check=False,
                          timeout=60)


def running_daemons() -> list[str]:
    """The SLURM daemons (:data:`DAEMONS`) that ``pgrep -x`` finds running."""
    return [name for name in DAEMONS
            if subprocess.run(["pgrep", "-x", name], capture_output=True,
                              check=False).returncode == 0]


@dataclass
class Cluster:
    """The single-node cluster of this session and what its teardown stops."""

    before: list[str]  # daemons running before setup.sh (munged among them is kept)
    node: dict[str, str] = field(default_factory=dict)

    @property
    def to_stop(self) -> list[str]:
        return [name for name in DAEMONS if name != "munged" or name not in self.before]

    def teardown(self) -> subprocess.CompletedProcess | None:
        """Run teardown.sh for :attr:`to_stop` (None when kept by PHYSIO_BENCH_KEEP_SLURM)."""
        if os.environ.get(KEEP):
            return None
        return subprocess.run(["bash", str(TEARDOWN), *self.to_stop], capture_output=True,
                              text=True, check=False, timeout=120)


@pytest.fixture(scope="session")
def slurm_cluster(request: pytest.FixtureRequest) -> Cluster:
    """Start (or reuse) the single-node cluster; stopped at the end of the session."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the single-node SLURM cluster needs Linux (Debian's slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("the single-node SLURM cluster needs root: scripts/slurm/setup.sh starts "
                    "munged, slurmctld and slurmd (run the tests as root or with sudo)")
    cluster = Cluster(before=running_daemons())
    request.addfinalizer(cluster.teardown)  # before setup.sh: a half-started cluster stops too
    result = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True,
                            check=False, timeout=900)
    if result.returncode == CANNOT_RUN:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, f"{SETUP} failed:\n{result.stdout}\n{result.stderr}"
    shown = slurm("scontrol", "show", "node", "-o")
    assert shown.returncode == 0, shown.stderr
    cluster.node = dict(item.split("=", 1) for item in shown.stdout.split() if "=" in item)
    return cluster


@pytest.fixture
def slurm_node(slurm_cluster: Cluster) -> dict[str, str]:
    """The node's ``scontrol show node`` fields."""
    return slurm_cluster.node


def wait_for_state(job_id: str, states: set[str], timeout_s: float = 60) -> str:
    """Poll ``squeue`` (as the executor plugin does) until the job reaches ``states``."""
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        shown = slurm("squeue", "--states=all", "--noheader", "--format=%i|%T", "-j", job_id)
        line = shown.stdout.strip()
        state = line.split("|", 1)[1] if "|" in line else ""
        if state in states:
            return state
        time.sleep(0.2)
    pytest.fail(f"SLURM job {job_id} still {state or 'unknown'} after {timeout_s} s")


def test_node_is_this_machine_and_idle(slurm_node: dict[str, str]) -> None:
    assert slurm_node["NodeName"] == os.uname().nodename.split(".")[0]
    assert int(slurm_node["CPUTot"]) == os.cpu_count()
    sinfo = slurm("sinfo", "--noheader", "--format=%P|%a|%D")
    assert sinfo.stdout.split() == ["cpu*|up|1"]


def test_sbatch_runs_a_job_and_squeue_reports_it(slurm_node: dict[str, str],
                                                 tmp_path: Path) -> None:
    submitted = slurm("sbatch", "--parsable", "--job-name", "physio-bench-test",
                      "--output", str(tmp_path / "job.log"), "-D", str(tmp_path),
                      "--wrap", "echo $((6 * 7)) > answer.txt")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]
    assert wait_for_state(job_id, {"COMPLETED", "FAILED", "CANCELLED"}) == "COMPLETED"
    assert (tmp_path / "answer.txt").read_text() == "42\n"
    # No slurmdbd: sacct cannot answer, which is why the profiles poll squeue instead.
    sacct = slurm("sacct", "-X", "--parsable2", "--noheader", "-j", job_id)
    assert sacct.returncode != 0
    assert "accounting storage is disabled" in sacct.stderr + sacct.stdout


def memory_caps(workdir: Path, node_mb: int, largest_request_mb: int = 8000) -> list[str]:
    """``--set-resources`` that fit every rule's ``mem_mb`` on a small node (none when the
    node holds the largest request twice)."""
    if node_mb >= 2 * largest_request_mb:
        return []
    listed = snakemake(workdir, "--list-rules", *write_small_config(workdir))
    check_success(listed, workdir)
    rules = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    return ["--set-resources", *(f"{rule}:mem_mb={node_mb // 2}" for rule in rules)]


def test_slurm_run_equals_local_run(slurm_node: dict[str, str],
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("slurm")
    caps = memory_caps(workdir, int(slurm_node["RealMemory"]))
    result = snakemake(workdir, TARGET, "--profile", str(PROFILE),
                       "--slurm-init-seconds-before-status-checks", "1",
                       "--slurm-keep-successful-logs", *caps, *write_small_config(workdir))
    check_success(result, workdir)
    # Every heavy job went through sbatch (one SLURM log per job, kept on success).
    slurm_logs = workdir / ".snakemake" / "slurm_logs"
    ran = {p.name.removeprefix("rule_") for p in slurm_logs.iterdir()}
    assert {"simulate", "real_windows", "embed_shard", "merge_embeddings", "probe",
            "downstream", "leaderboard"} <= ran
    shard_logs = list((slurm_logs / "rule_embed_shard").rglob("*.log"))
    assert len(shard_logs) == len(list(workdir.glob("results/logs/embed/*/*/[0-9]*.log")))
    assert_same_results(workdir, reference_run(tmp_path_factory))


def test_teardown_leaves_no_daemon_running(slurm_cluster: Cluster) -> None:
    """Runs last in this file (pytest keeps file order; --dist loadfile keeps the file on one
    worker): the session's teardown stops every daemon it started, as ``pgrep`` sees."""
    if os.environ.get(KEEP):
        pytest.skip(f"{KEEP} is set: the cluster is kept running")
    assert set(running_daemons()) >= {"slurmd", "slurmctld"}, "the cluster is not running"
    result = slurm_cluster.teardown()
    assert result is not None and result.returncode == 0, result and result.stderr
    left = running_daemons()
    expected = ["munged"] if "munged" in slurm_cluster.before else []
    assert left == expected, f"still running after teardown: {left}"
    # a second teardown (the session finalizer) finds nothing to stop and succeeds
    again = slurm_cluster.teardown()
    assert again is not None and again.returncode == 0, again.stderr
    assert running_daemons() == expected
