"""Helpers for the tests of the own-interpreter plug-ins (MOMENT, Toto, TTM)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
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


def plugin_fixtures(factory: Any, python: Path, write: str, write_args: Sequence[str],
                        model_name: str, windows_args: tuple[int, int, int, float, int],
                        sampling_rate_hz: float) -> tuple[Any, Any, Any, Any]:
    """The module fixtures an own-interpreter plug-in's test shares: ``checkpoint`` (a
    tiny checkpoint that ``write`` saves with the plug-in's interpreter), ``windows``
    (:func:`conftest.noisy_sine_windows` of ``windows_args``: windows, channels, samples,
    frequency, seed), ``model`` (``factory`` on that checkpoint) and ``embedded``."""
    from conftest import noisy_sine_windows

    @pytest.fixture(scope="module", name="checkpoint")
    def checkpoint_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
        directory = tmp_path_factory.mktemp(model_name.split("-")[0]) / "ck"
        child_run(python, write, str(directory), *write_args)
        return directory

    @pytest.fixture(scope="module", name="windows")
    def windows_fixture() -> np.ndarray:
        return noisy_sine_windows(*windows_args, sampling_rate_hz=sampling_rate_hz)

    @pytest.fixture(scope="module", name="model")
    def model_fixture(checkpoint: Path) -> Iterator[Any]:
        with factory(name=model_name, weights=str(checkpoint), python=str(python)) as built:
            yield built

    @pytest.fixture(scope="module", name="embedded")
    def embedded_fixture(model: Any, windows: np.ndarray) -> Any:
        return model.embed(windows, sampling_rate_hz)

    return checkpoint_fixture, windows_fixture, model_fixture, embedded_fixture


def assert_refusals(
        model: Any, factory: Any, python: Path, n_samples: int, sampling_rate_hz: float,
        context: str, hub_id: str) -> None:
    """A window of ``n_samples`` (one more than the model takes) is an InputError naming
    ``context`` (a regex); a factory without ``weights`` whose default hub id
    (``hub_id``, a regex) is not cached is a ModelError."""
    from physio_bench.errors import InputError, ModelError

    with pytest.raises(InputError, match=f"windows of {n_samples} samples are longer than "
                                         f"{context}"):
        model.embed(np.zeros((1, 1, n_samples), np.float32), sampling_rate_hz)
    with pytest.raises(ModelError, match=f"{hub_id} are not in the Hugging Face cache"):
        factory(name="m", python=str(python))


def run_reference(python: Path, script: str, checkpoint: Path, directory: Path,
                  **arrays: np.ndarray) -> str:
    """Save each of ``arrays`` as ``<name>.npy`` in ``directory``, then run ``script`` (the
    library's own path; argv: ``checkpoint``, ``directory``) in the plug-in's interpreter."""
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)
    return child_run(python, script, str(checkpoint), str(directory))
