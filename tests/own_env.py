"""Helpers for the tests of the own-interpreter plug-ins (MOMENT, Toto, TTM)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def own_env_python(plugin: str) -> Path:
    """The interpreter of ``plugins/physio-bench-<plugin>/.venv``; skips the calling test
    module when that environment is not built (``make test`` builds it first)."""
    python = REPO / "plugins" / f"physio-bench-{plugin}" / ".venv" / "bin" / "python"
    if not (python.parent.parent / ".installed").is_file():
        pytest.skip(f"the {plugin} environment is not built: run `make plugin-envs`",
                    allow_module_level=True)
    return python


def child_run(python: Path, script: str, *args: str) -> str:
    """Run ``script`` with the plug-in environment's interpreter (isolated mode, offline);
    return its stdout, or fail the test with the last lines of its stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([str(python), "-I", "-c", script, *args], capture_output=True,
                          text=True, env=env)
    if done.returncode != 0:
        pytest.fail(f"child script failed: {done.stderr[-2000:]}")
    return done.stdout
