"""Shared fixtures: tiny suite directories of real neurokit2 signals (written via
physio_bench.io in the on-disk format of docs/architecture.md)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from physio_bench.io import save_npy, write_json

KINDS = ("ecg", "ppg", "rsp", "eda", "emg")


def simulate_signal(kind: str, n_samples: int, sampling_rate_hz: float, seed: int,
                    heart_rate_bpm: float = 70.0, resp_rate_bpm: float = 15.0,
                    ecg_method: str = "simple") -> np.ndarray:
    """One neurokit2 signal of ``kind`` (``n_samples`` at ``sampling_rate_hz``), float32.

    ECG uses neurokit2's fast ``simple`` method by default (``ecgsyn`` is realistic but
    slow, and hangs at some sampling rates such as 100 Hz).
    """
    import neurokit2 as nk

    duration = 2 * int(np.ceil(n_samples / sampling_rate_hz)) + 4  # rsp stops at whole breaths
    common = {"duration": duration, "sampling_rate": int(sampling_rate_hz), "random_state": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "ecg":
            x = nk.ecg_simulate(heart_rate=heart_rate_bpm, method=ecg_method, **common)
        elif kind == "ppg":
            x = nk.ppg_simulate(heart_rate=heart_rate_bpm, **common)
        elif kind == "rsp":
            x = nk.rsp_simulate(respiratory_rate=resp_rate_bpm, **common)
        elif kind == "eda":
            x = nk.eda_simulate(scr_number=2, **common)
        else:
            x = nk.emg_simulate(burst_number=2, **common)
    x = np.asarray(x, dtype=np.float32)[:n_samples]
    assert x.size == n_samples, f"{kind} simulation too short"
    return x


def write_suite(path: Path, n_windows: int = 6, n_channels: int = 1, n_samples: int = 512,
                sampling_rate_hz: float = 100.0, seed: int = 0, suite: str = "factors"
                ) -> Path:
    """Write a suite directory: window ``w`` holds kind ``KINDS[w % 5]`` (one channel) or
    all five kinds as channels (``n_channels=5``); heart rate 60 + 5 w bpm."""
    signals = np.empty((n_windows, n_channels, n_samples), dtype=np.float32)
    rows = []
    for w in range(n_windows):
        kinds = KINDS[:n_channels] if n_channels > 1 else (KINDS[w % len(KINDS)],)
        for c, kind in enumerate(kinds):
            signals[w, c] = simulate_signal(kind, n_samples, sampling_rate_hz, seed + w,
                                            heart_rate_bpm=60.0 + 5 * w)
        rows.append({"window_id": w, "subject_id": f"s{w // 2}",
                     "signal_kind": kinds[0] if n_channels == 1 else "multi",
                     "scenario": suite, "dynamics": "steady",
                     "heart_rate_bpm": 60.0 + 5 * w})
    path.mkdir(parents=True, exist_ok=True)
    save_npy(path / "signals.npy", signals)
    pd.DataFrame(rows).to_parquet(path / "labels.parquet", index=False)
    channel_names = ["signal"] if n_channels == 1 else list(KINDS[:n_channels])
    write_json(path / "meta.json", {
        "suite": suite, "sampling_rate_hz": sampling_rate_hz, "window_samples": n_samples,
        "n_windows": n_windows, "channel_names": channel_names, "seed": seed,
        "factor_columns": {}, "neurokit2_version": "", "wall_time_s": 0.0,
    })
    return path


@pytest.fixture
def make_suite(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_suite(name="factors", **write_suite options) -> suite dir``."""

    def factory(name: str = "factors", **options: object) -> Path:
        return write_suite(tmp_path / "suites" / name, suite=name, **options)

    return factory


@pytest.fixture
def offline_empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No hub and an empty HF cache under this test's ``tmp_path`` (function-scoped; a
    test module opts in with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@pytest.fixture(scope="module")
def offline_hub(tmp_path_factory: pytest.TempPathFactory):
    """No hub, an empty HF cache, and one torch thread (the suite shares 2 busy cores).

    Module-scoped; a test module opts in with
    ``pytestmark = pytest.mark.usefixtures("offline_hub")``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.delenv("HF_HUB_CACHE", raising=False)
        patch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
        yield
    torch.set_num_threads(threads)


def noisy_sine_windows(n_windows: int, n_channels: int, n_samples: int, frequency_hz: float,
                       seed: int, sampling_rate_hz: float = 250.0) -> np.ndarray:
    """float32 windows x channels x samples: one sine (``frequency_hz``) plus 0.1 noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sampling_rate_hz
    base = np.sin(2 * np.pi * frequency_hz * t)[None, None, :]
    noise = 0.1 * rng.standard_normal((n_windows, n_channels, n_samples))
    return (base + noise).astype(np.float32)


def sine_fixtures(n_windows: int, n_channels: int, n_samples: int, frequency_hz: float,
                  seed: int, sampling_rate_hz: float = 250.0, model: str = "model"
                  ) -> tuple[Any, Any]:
    """A model test's module fixtures ``windows`` (:func:`noisy_sine_windows`) and
    ``embedded`` (the fixture named ``model`` embeds them at ``sampling_rate_hz``)."""

    @pytest.fixture(scope="module", name="windows")
    def windows_fixture() -> np.ndarray:
        return noisy_sine_windows(n_windows, n_channels, n_samples, frequency_hz, seed=seed,
                                  sampling_rate_hz=sampling_rate_hz)

    @pytest.fixture(scope="module", name="embedded")
    def embedded_fixture(request: pytest.FixtureRequest, windows: np.ndarray) -> Any:
        return request.getfixturevalue(model).embed(windows, sampling_rate_hz)

    return windows_fixture, embedded_fixture


def error_messages(model: Any, n_samples: int, sampling_rate_hz: float,
                   build: Callable[[], Any]) -> tuple[str, str]:
    """The InputError message of ``model`` for one window of ``n_samples`` and the
    ModelError message of ``build()`` (e.g. a default hub id that is not cached)."""
    from physio_bench.errors import InputError, ModelError

    with pytest.raises(InputError) as refused:
        model.embed(np.zeros((1, 1, n_samples), dtype=np.float32), sampling_rate_hz)
    with pytest.raises(ModelError) as failed:
        build()
    return str(refused.value), str(failed.value)


def assert_tokens(embedded: Any, layer_names: list[str], shape: tuple[int, ...],
                  spans: dict[int, list[int]], token_channels: list[int],
                  dtype: Any = None) -> None:
    """The embedding's layers (names, each of ``shape`` and, when given, ``dtype``), the
    token ``spans`` at the given token indices and the tokens' channels."""
    assert list(embedded.layers) == layer_names
    for array in embedded.layers.values():
        assert array.shape == shape and (dtype is None or array.dtype == dtype)
    for index, span in spans.items():
        assert embedded.token_spans[index].tolist() == span
    assert embedded.token_channels.tolist() == token_channels


def assert_read_from(info: Any, directory: Path) -> None:
    """``describe()`` of a model read from ``directory``: pretrained, that source, the
    SHA-256 of its ``model.safetensors``."""
    from physio_bench.models.weights import file_sha256

    assert (info.pretrained, info.weights_source) == (True, str(directory))
    assert info.weights_sha256 == file_sha256(directory / "model.safetensors")


def workflow_snakefile(rules: Sequence[str], report: bool = False, more: str = "",
                   target: str = "") -> str:
    """A Snakefile for workflow tests, set up as workflow/Snakefile is (the project's
    config.yaml validated and resolved, ``VERSIONS``, ``MODELS``, ``PROBES``; ``report``:
    the report's workflow.rst; ``more``: further lines), then the ``rules`` of
    workflow/rules included and ``target``."""
    from physio_bench.config import REPO_ROOT

    text = ("\nimport os\nimport sys\n"
            "from physio_bench.config import enabled_models, write_resolved_config\n"
            "from physio_bench.preflight import validate_config\n\n"
            f'configfile: "{REPO_ROOT / "config.yaml"}"\n')
    if report:
        text += f'report: "{REPO_ROOT / "workflow" / "report" / "workflow.rst"}"\n'
    text += ("config.update(validate_config(config))\n"
             'os.environ["PHYSIO_BENCH_PYTHON"] = sys.executable  # as the Snakefile does\n'
             'write_resolved_config(config, "results/config.resolved.yaml")\n'
             'VERSIONS = "test"\nMODELS = list(enabled_models(config))\n'
             'PROBES = ["feature_independence", "temporal_dynamics", "scenario_separation"]\n'
             f"{more}\n")
    text += "".join(f'include: "{REPO_ROOT / "workflow" / "rules" / rule}"\n' for rule in rules)
    return text + target


#: the default config's trained Moirai models and the positive control's twin (tests that
#: train their own, or none, switch them off)
TRAINED_MODELS = ("moirai-small-synthetic", "moirai-tiny-synthetic", "moirai-tiny-shuffled",
                  "moirai-tiny-untrained")
#: the default config's finetune runs
FINETUNE_RUNS = ("moirai-small-synthetic", "moirai-tiny-synthetic", "moirai-tiny-shuffled")
#: ``finetune:`` with every default run off
RUNS_OFF: dict[str, Any] = {"runs": {run: {"enabled": False} for run in FINETUNE_RUNS}}
#: ``models:`` entries switching the trained models and the twin off
TRAINED_OFF: dict[str, dict[str, Any]] = {
    name: {"plugin": "moirai", "enabled": False} for name in TRAINED_MODELS}


def small_report_config(kinds: Sequence[str], classes: Sequence[str],
                        models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A small config for the report, leaderboard and comparison tests: ``kinds`` of
    signal, the scenario ``classes``, the synthetic fine-tune and TTM off, then ``models``
    (entries added or replaced)."""
    return {
        "simulate": {"signal_kinds": list(kinds), "scenarios": {"classes": list(classes)}},
        "models": {"handcrafted": {"plugin": "handcrafted", "enabled": False},
                   # three seeds, as before the default went to one (the tests' design)
                   "moirai-small-untrained": {"replicates": 3},
                   **TRAINED_OFF,
                   "ttm-r2": {"enabled": False}, "ttm-r2-untrained": {"enabled": False},
                   **models},
        "finetune": RUNS_OFF,
    }


#: The scenario classes of the small report configs.
REPORT_CLASSES = ("normal_sinus", "apnea", "heart_rate_ramp")
#: The baselines off and the pretrained Moirai on (the report tests' models).
REPORT_MODELS = {"spectral": {"plugin": "spectral", "enabled": False},
                 "moirai-1.1-R-small": {"plugin": "moirai", "enabled": True}}


#: The probes section and synthetic suites of the small probe tests (runner, applicability).
SMALL_PROBES = {"cv_folds": 3, "inner_folds": 2, "bootstrap": 50, "max_tokens_per_window": 4}
SMALL_PROBE_SUITES = dict(windows_per_kind=24, subjects_per_scenario=3,
                          windows_per_scenario_subject=2, sweep_steps=4)


def reference_results(tmp_path_factory: pytest.TempPathFactory, name: str, spec: Any
                      ) -> Path:
    """A fresh results folder ``name`` with the synthetic suites of ``spec`` and the
    reference embeddings (:mod:`physio_bench.probes.synthetic`)."""
    from physio_bench.probes.synthetic import write_reference_embeddings, write_synthetic_suites

    root = tmp_path_factory.mktemp(name)
    write_synthetic_suites(root, spec)
    write_reference_embeddings(root, spec)
    return root


def probe_rows(config: dict[str, Any], probe: str, models: Sequence[str], results: Path
               ) -> dict[str, tuple[dict, dict]]:
    """``run_probe`` of each of ``models``: its detail and its leaderboard rows keyed by
    (task, metric, layer)."""
    from physio_bench.probes.runner import run_probe

    out = {}
    for model in models:
        detail, rows = run_probe(config, probe, model, results)
        out[model] = (detail, {(r["task"], r["metric"], r["layer"]): r for r in rows})
    return out


def small_config(tmp_path_factory: pytest.TempPathFactory, override: dict[str, Any]
                 ) -> dict[str, Any]:
    """The validated config of ``override`` (written as ``small.yaml`` in a fresh folder)
    over the default config."""
    from physio_bench.preflight import load_config

    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(yaml.safe_dump(override))
    return load_config([path])


def synthetic_results(tmp_path_factory: pytest.TempPathFactory, name: str,
                      config: dict[str, Any], then: Callable[[dict, Path], Any]) -> Path:
    """Synthetic results of ``config`` in a fresh folder ``name``
    (:func:`physio_bench.report.synthetic.write_synthetic_results`), then
    ``then(config, results)`` (e.g. the leaderboard or the figures)."""
    from physio_bench.report.synthetic import write_synthetic_results

    results = write_synthetic_results(tmp_path_factory.mktemp(name) / "results", config)
    then(config, results)
    return results


def _shipped_datasets_off() -> dict:
    """``{name: {"enabled": False}}`` for every dataset of the default config: a test config
    that brings its own records merges this so no shipped dataset runs."""
    import yaml

    from physio_bench.config import REPO_ROOT

    shipped = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())["downstream"]["datasets"]
    return {name: {"enabled": False} for name in shipped}


SHIPPED_OFF = _shipped_datasets_off()
