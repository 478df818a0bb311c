"""``snakemake --lint`` on the default workflow: clean apart from the one lint that does
not apply here.

Every rule runs the stage CLI with the interpreter running Snakemake (``$PHYSIO_BENCH_PYTHON``,
declared with ``envvars``) and the merged configuration (results/config.resolved.yaml), so
no shell command reads a global and no param holds a path. Not followed:
"Specify a conda environment or container for each rule". The benchmark installs one
pinned environment (``requirements/lock.txt``, ``make venv``) that every rule shares, the
plug-ins whose pins clash run in their own interpreters (``make plugin-envs``), and
neither conda channels nor container registries are reachable at run time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from physio_bench.config import REPO_ROOT

NOT_APPLICABLE = {"Specify a conda environment or container for each rule."}


def test_lint_reports_nothing_but_the_environment_lint(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO_ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--lint"],
        capture_output=True, text=True, timeout=300,
    )
    out = done.stdout + done.stderr
    assert "Lints for" in out, out[-3000:]  # the linter ran over the rules
    lints = set(re.findall(r"^\s+\* (.+?):$", out, flags=re.MULTILINE))
    assert lints == NOT_APPLICABLE, out[-3000:]
