"""The finetune stage with real uni2ts on tiny configs (a 2-layer, 64-wide Moirai).

Training, checkpoints through ``save_pretrained`` and the moirai plug-in's weights code,
provenance, resume after an interruption (a real SIGKILL), determinism, config errors.
The Snakemake rule is exercised in ``test_finetune_workflow.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import RUNS_OFF, TRAINED_OFF, write_suite

from physio_bench.config import deep_update
from physio_bench.errors import ConfigError, InputError, ModelError
from physio_bench.preflight import load_config, validate_config

pytestmark = pytest.mark.usefixtures("offline_hub")

RUN = "tiny"
CHECKPOINT_FILES = ("config.json", "model.safetensors", "training.json")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 single-channel neurokit2 windows of 10 s at 100 Hz (500 samples at 50 Hz)."""
    return write_suite(tmp_path_factory.mktemp("training") / "suite", n_windows=10,
                       n_samples=1000, sampling_rate_hz=100.0, seed=11, suite="training")


def tiny_run(suite: Path, /, **overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "suite": str(suite), "d_model": 64, "num_layers": 2,
            "input_hz": 50, "patch_size": 16, "steps": 4, "batch_size": 4,
            "warmup_steps": 0, "min_patches": 4, "checkpoint_every": 2, "threads": 1,
            **overrides}


#: the default config's own run and its model, switched off so that each test sees its own
DEFAULT_RUN_OFF: dict[str, Any] = {"finetune": RUNS_OFF, "models": TRAINED_OFF}


def without_default_run() -> dict[str, Any]:
    """The default config with its own finetune run and trained model disabled."""
    return validate_config(deep_update(load_config(), DEFAULT_RUN_OFF))


def tiny_config(suite: Path, /, models: dict[str, Any] | None = None,
                **overrides: Any) -> dict[str, Any]:
    update: dict[str, Any] = {"finetune": {"runs": {RUN: tiny_run(suite, **overrides)}}}
    if models:
        update["models"] = models
    return validate_config(deep_update(deep_update(load_config(), DEFAULT_RUN_OFF), update))


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in CHECKPOINT_FILES}


# ------------------------------------------------------------------------- objective

def test_one_step_reduces_the_loss_on_a_fixed_batch(suite: Path) -> None:
    import torch

    from physio_bench.finetune.checkpoint import start_module
    from physio_bench.finetune.data import load_training_windows
    from physio_bench.finetune.objective import Objective
    from physio_bench.finetune.settings import run_settings

    settings = run_settings(tiny_config(suite, schedule="constant", lr=0.003), RUN)
    windows = load_training_windows(settings)
    objective = Objective(start_module(settings).module, settings, 1, windows.n_samples)
    batch = objective.batch(windows.signals[:4], seed=5)
    with torch.no_grad():
        before = float(objective.loss(batch))
    loss, learning_rate = objective.step(batch, 0)
    with torch.no_grad():
        after = float(objective.loss(batch))
    assert loss == pytest.approx(before, rel=1e-5)
    assert learning_rate == pytest.approx(0.003)
    assert np.isfinite(before) and after < before


def test_batches_follow_the_uni2ts_masked_prediction_settings(suite: Path) -> None:
    from physio_bench.finetune.checkpoint import start_module
    from physio_bench.finetune.data import load_training_windows
    from physio_bench.finetune.objective import Objective
    from physio_bench.finetune.settings import run_settings

    settings = run_settings(tiny_config(suite, mask_ratio=[0.2, 0.4], min_patches=10), RUN)
    windows = load_training_windows(settings)
    objective = Objective(start_module(settings).module, settings, 1, windows.n_samples)
    batch = objective.batch(windows.signals, seed=3)
    same = objective.batch(windows.signals, seed=3)
    assert all(np.array_equal(batch[k].numpy(), same[k].numpy()) for k in batch)
    real = batch["sample_id"] > 0
    assert set(batch["patch_size"][real].unique().tolist()) == {16}
    n_samples = 0
    for row in range(batch["sample_id"].shape[0]):
        for sample in batch["sample_id"][row].unique().tolist():
            if sample == 0:
                continue
            tokens = batch["sample_id"][row] == sample
            n = int(tokens.sum())
            masked = batch["prediction_mask"][row][tokens]
            assert 10 <= n <= 500 // 16  # a crop of at least min_patches patches
            assert masked[-1] and not masked[0]  # the end of the crop is forecast
            assert 0.2 * n - 1 <= int(masked.sum()) <= 0.4 * n + 1
            n_samples += 1
    assert n_samples == windows.n_windows


def test_each_epoch_visits_every_window_once() -> None:
    from physio_bench.finetune.train import batch_indices

    rows = np.concatenate([batch_indices(step, 4, 10, seed=1) for step in range(5)])
    assert sorted(rows[:10]) == list(range(10)) and sorted(rows[10:20]) == list(range(10))
    assert not np.array_equal(rows[:10], rows[10:20])
    assert np.array_equal(batch_indices(3, 4, 10, seed=1), rows[12:16])


def test_resampling_is_anti_aliased() -> None:
    """A 3 Hz tone keeps its amplitude from 125 to 50 Hz; a 40 Hz tone (above the new
    25 Hz Nyquist) is removed instead of folding to 10 Hz."""
    from physio_bench.finetune.data import resample_windows

    t = np.arange(4000) / 125.0
    low = resample_windows(np.sin(2 * np.pi * 3.0 * t)[None, None], 125, 50)[0, 0]
    high = resample_windows(np.sin(2 * np.pi * 40.0 * t)[None, None], 125, 50)[0, 0]
    assert low.shape == (1600,)
    core = slice(100, -100)
    assert np.abs(low[core]).max() == pytest.approx(1.0, abs=0.02)
    assert np.abs(high[core]).max() < 0.01


def test_training_and_embedding_share_one_resampler_near_nyquist() -> None:
    """A tone at 1.05 x the new Nyquist frequency (125 -> 50 Hz: 26.25 Hz) is removed
    identically by the training path and the embed path (scipy's default filter, the
    training path before issue 20, let 0.245 of its amplitude fold to 23.75 Hz)."""
    from physio_bench.finetune.data import resample_windows
    from physio_bench.finetune.settings import MAX_RATE_TERMS
    from physio_bench.models.resampling import MAX_FACTOR, InputPlan, resample

    t = np.arange(4000) / 125.0
    tone = np.sin(2 * np.pi * 1.05 * 25.0 * t)[None, None]
    plan = InputPlan.build(125.0, tone.shape[-1], 50.0, "config")
    trained = resample_windows(tone, 125, 50)
    embedded = resample(tone, plan.up, plan.down)
    assert np.array_equal(trained, embedded)
    assert np.abs(trained[0, 0, 100:-100]).max() < 0.01
    assert MAX_RATE_TERMS == MAX_FACTOR


def test_simulated_emg_window_is_identical_through_training_and_embedding() -> None:
    """A neurokit2 EMG window (1000 Hz -> 250 Hz, energy above the new Nyquist frequency)
    gives the same bytes through the training and the embed resampling path (27% RMS
    apart before issue 20)."""
    import neurokit2 as nk

    from physio_bench.finetune.data import resample_windows
    from physio_bench.models.resampling import InputPlan, resample

    emg = nk.emg_simulate(duration=4, sampling_rate=1000, burst_number=2, random_state=3)
    window = np.asarray(emg, dtype=np.float32)[None, None]
    plan = InputPlan.build(1000.0, window.shape[-1], 250.0, "config")
    trained = resample_windows(window, 1000, 250)
    embedded = resample(window, plan.up, plan.down)
    assert trained.shape == (1, 1, 1000)
    assert np.array_equal(trained, embedded)
    assert float(np.std(trained)) > 0.1 * float(np.std(window))  # not silenced


def test_shuffled_patches_keep_the_values_and_lose_the_order() -> None:
    """The marginal ablation's input: every window keeps its patches (as a set, the same
    order for all channels), the leading partial patch stays, the order changes."""
    from physio_bench.finetune.train import shuffle_patches

    signals = np.arange(2 * 3 * 70, dtype=np.float32).reshape(2, 3, 70)
    out = shuffle_patches(signals, 16, seed=4)
    assert np.array_equal(out[:, :, :6], signals[:, :, :6])
    for w in range(2):
        original = signals[w, :, 6:].reshape(3, 4, 16)
        shuffled = out[w, :, 6:].reshape(3, 4, 16)
        order = [int(np.flatnonzero((original[0] == p).all(axis=1))[0]) for p in shuffled[0]]
        assert sorted(order) == [0, 1, 2, 3]
        assert np.array_equal(shuffled, original[:, order])
    assert not np.array_equal(out, signals)
    assert np.array_equal(out, shuffle_patches(signals, 16, seed=4))


def test_ablation_setting_changes_the_digest_only_when_on(suite: Path) -> None:
    from physio_bench.finetune.settings import run_settings

    plain = run_settings(tiny_config(suite), RUN)
    ablation = run_settings(tiny_config(suite, shuffle_patches=True), RUN)
    assert not plain.shuffle_patches and ablation.shuffle_patches
    assert plain.digest() != ablation.digest()
    data = {k: v for k, v in plain.to_dict().items()
            if k not in ("checkpoint_every", "time_budget_s", "shuffle_patches")}
    import hashlib

    assert plain.digest() == hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------ checkpoint, provenance

def test_checkpoint_loads_through_the_moirai_plugin_with_identical_embeddings(
        suite: Path, tmp_path: Path) -> None:
    import torch

    from physio_bench.finetune.checkpoint import start_module, training_type, write_checkpoint
    from physio_bench.finetune.data import load_training_windows
    from physio_bench.finetune.objective import Objective
    from physio_bench.finetune.settings import run_settings
    from physio_bench.models.moirai import MoiraiModel, encoder_hidden_states, pack_windows
    from physio_bench.models.weights import file_sha256, install_into_hf_cache

    settings = run_settings(tiny_config(suite), RUN)
    windows = load_training_windows(settings)
    start = start_module(settings)
    objective = Objective(start.module, settings, 1, windows.n_samples)
    for step in range(2):
        objective.step(objective.batch(windows.signals[:4], seed=step), step)
    trained = objective.module.eval()
    checkpoint = tmp_path / "checkpoint"
    write_checkpoint(checkpoint, trained, {"training": {"type": training_type(start)}})
    x = windows.signals[:3]
    with torch.inference_mode():
        expected = [s.numpy() for s in encoder_hidden_states(trained, pack_windows(x, 16, 128))]
    plugin = MoiraiModel("trained", weights=str(checkpoint), patch_size=16, device="cpu")
    got = plugin.embed(x, 50.0)
    for name, state in zip(plugin.layer_names, expected, strict=True):
        np.testing.assert_array_equal(got.layers[name], state)
    info = plugin.describe()
    assert info.pretrained and info.weights_source == str(checkpoint)
    assert info.weights_sha256 == file_sha256(checkpoint / "model.safetensors")
    assert info.extra["training"] == {"type": "trained on synthetic"}
    # ... and the leaderboard and compare stage read that model.json as its own type
    from physio_bench.model_types import SYNTHETIC, model_type

    assert model_type(tiny_config(suite), "trained", info.to_dict()).kind == SYNTHETIC
    # The same files installed in a Hugging Face cache load by hub id, offline.
    install_into_hf_cache(checkpoint, "physio/tiny-synthetic",
                          Path(os.environ["HF_HOME"]) / "hub")
    by_hub = MoiraiModel("trained", weights="physio/tiny-synthetic", patch_size=16,
                         device="cpu").embed(x, 50.0)
    np.testing.assert_array_equal(by_hub.layers["final_norm"], got.layers["final_norm"])


def test_random_start_is_the_untrained_control(suite: Path) -> None:
    """Size small from random init: the very weights of {plugin: moirai, weights: random}."""
    from physio_bench.finetune.checkpoint import start_module
    from physio_bench.finetune.settings import run_settings
    from physio_bench.models.moirai import MoiraiModel

    config = tiny_config(suite, d_model=None, num_layers=None, seed=7)
    start = start_module(run_settings(config, RUN))
    control = MoiraiModel("moirai-small-untrained", seed=7, size="small", weights="random",
                          device="cpu").describe()
    assert start.source == control.weights_source == "random (seed=7)"
    assert start.sha256 == control.weights_sha256
    assert not start.pretrained
    # a narrower architecture: the untrained plug-in entry with the same d_model and
    # num_layers starts from the very same weights, and is the run's twin
    config = tiny_config(suite, seed=7, models={
        "tiny-trained": trained_entry(),
        "tiny-untrained": {"plugin": "moirai", "weights": "random", "d_model": 64,
                           "num_layers": 2, "patch_size": 16, "input_hz": 50}})
    start = start_module(run_settings(config, RUN))
    control = MoiraiModel("tiny-untrained", seed=7, weights="random", d_model=64,
                          num_layers=2, patch_size=16, device="cpu")
    assert (control.module.d_model, control.module.num_layers) == (64, 2)
    assert start.sha256 == control.describe().weights_sha256
    other = MoiraiModel("other", seed=7, weights="random", d_model=64, num_layers=1,
                        patch_size=16, device="cpu").describe()
    assert other.weights_sha256 != start.sha256
    from physio_bench.finetune import TrainedModel, trained_models
    assert trained_models(config) == [TrainedModel("tiny", "tiny-trained", "tiny-untrained")]


def test_training_writes_checkpoint_and_provenance(suite: Path, tmp_path: Path) -> None:
    from physio_bench.finetune.data import suite_digest
    from physio_bench.finetune.train import train_run
    from physio_bench.models.weights import file_sha256

    out = tmp_path / "run"
    provenance = train_run(tiny_config(suite, steps=5), RUN, out)
    training = json.loads((out / "checkpoint" / "training.json").read_text())
    summary = training["training"]
    assert summary["type"] == "trained on synthetic"
    assert summary["start_weights"].startswith("random (seed=")
    assert len(summary["start_sha256"]) == 64
    assert summary["start_sha256"] != file_sha256(out / "checkpoint" / "model.safetensors")
    assert (summary["steps"], summary["windows_seen"]) == (5, 20)
    assert (summary["input_hz"], summary["patch_size"]) == (50.0, 16)
    assert summary["suite_sha256"] == suite_digest(suite)
    assert summary["reproducible"] and summary["stopped_by"] == "steps"
    assert len(training["loss_curve"]) == 5 and np.isfinite(training["loss_curve"]).all()
    assert summary["final_loss"] == pytest.approx(training["loss_curve"][-1])
    assert training["suite"]["meta"]["suite"] == "training"
    assert provenance["training"] == summary
    assert provenance["wall_time_s"] > 0 and provenance["peak_rss_mib"] > 0
    saved = json.loads((out / "provenance.json").read_text())
    assert saved["loss_curve"] == training["loss_curve"]
    lines = (out / "loss.csv").read_text().splitlines()
    assert lines[0] == "step,loss,learning_rate" and len(lines) == 6
    assert not (out / "resume").exists()


def test_resume_after_a_kill_gives_the_same_bytes(suite: Path, tmp_path: Path) -> None:
    """An uninterrupted run and a run killed (SIGKILL) mid-training then resumed end with
    byte-identical checkpoints: same config and seed, same bytes."""
    from physio_bench.finetune.train import train_run

    run = {"steps": 30, "checkpoint_every": 1, "batch_size": 2}
    whole = tmp_path / "whole"
    train_run(tiny_config(suite, **run), RUN, whole)

    configfile = tmp_path / "config.yaml"
    configfile.write_text(json.dumps({"finetune": {"runs": {RUN: tiny_run(suite, **run)}}}))
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "physio_bench", "finetune", "--configfile", str(configfile),
               "--run", RUN, "--out-dir", str(killed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = killed / "resume" / "state.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and json.loads(state.read_text())["step"] >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "checkpoint").exists()
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    stopped_at = int(resumed.stderr.split("resuming at step ")[1].split()[0])
    assert 3 <= stopped_at < 30
    assert file_bytes(killed / "checkpoint") == file_bytes(whole / "checkpoint")
    provenance = json.loads((killed / "provenance.json").read_text())
    assert provenance["interruptions"] == 1
    assert provenance["steps_this_job"] == 30 - stopped_at


def test_stop_after_then_resume_equals_an_uninterrupted_run(suite: Path, tmp_path: Path
                                                             ) -> None:
    from physio_bench.finetune.train import train_run

    config = tiny_config(suite, steps=5)
    train_run(config, RUN, tmp_path / "whole")
    partial = train_run(config, RUN, tmp_path / "split", stop_after=3)
    assert partial == {"finished": False, "step": 3, "losses": partial["losses"]}
    assert (tmp_path / "split" / "resume" / "state.json").exists()
    assert not (tmp_path / "split" / "checkpoint").exists()
    provenance = train_run(config, RUN, tmp_path / "split")
    assert provenance["steps_this_job"] == 2 and provenance["interruptions"] == 1
    assert file_bytes(tmp_path / "split" / "checkpoint") == file_bytes(
        tmp_path / "whole" / "checkpoint")
    # A resumable state of other settings is ignored: training starts over.
    train_run(config, RUN, tmp_path / "other", stop_after=3)
    changed = train_run(tiny_config(suite, steps=5, lr=0.002), RUN, tmp_path / "other")
    assert changed["interruptions"] == 0 and changed["steps_this_job"] == 5


def test_a_time_budget_stops_early_and_says_it_is_not_reproducible(suite: Path,
                                                                   tmp_path: Path) -> None:
    from physio_bench.finetune.train import train_run

    provenance = train_run(tiny_config(suite, steps=50, time_budget_s=1e-6), RUN, tmp_path)
    summary = provenance["training"]
    assert (summary["steps"], summary["steps_planned"]) == (1, 50)
    assert summary["stopped_by"] == "time_budget_s" and not summary["reproducible"]
    assert (tmp_path / "checkpoint" / "model.safetensors").is_file()


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize(("overrides", "message"), [
    ({"mask_ratio": [0.6, 0.2]}, "mask_ratio' has min 0.6 > max 0.2"),
    ({"warmup_steps": 9}, "warmup_steps' (9) exceeds steps (4)"),
    ({"weights": "Salesforce/moirai-1.1-R-small"}, "only a random start allows"),
    ({"d_model": 100}, "multiple of 64"),
    ({"dtype": "bfloat16", "device": "cpu"}, "runs only on a GPU"),
    ({"patch_size": 12}, "finetune.tiny.patch_size"),
    ({"learning_rate": 0.1}, "unknown config key 'finetune.runs.tiny.learning_rate'"),
    ({"steps": 0}, "finetune.runs.tiny.steps"),
])
def test_config_errors_name_the_key(suite: Path, overrides: dict[str, Any], message: str
                                    ) -> None:
    with pytest.raises(ConfigError) as error:
        tiny_config(suite, **overrides)
    text = str(error.value)
    assert "\n" not in text
    assert message.replace("finetune.tiny", "finetune.runs.tiny") in text or message in text


def trained_entry(**overrides: Any) -> dict[str, Any]:
    return {"plugin": "moirai", "weights": "results/finetune/tiny/checkpoint",
            "patch_size": 16, "input_hz": 50, **overrides}


@pytest.mark.parametrize(("entry", "run", "message"), [
    (trained_entry(input_hz=125), {}, "'models.tiny-trained.input_hz' must be 50"),
    (trained_entry(patch_size=32), {}, "'models.tiny-trained.patch_size' must be 16"),
    ({k: v for k, v in trained_entry().items() if k != "input_hz"}, {},
     "'models.tiny-trained.input_hz' must be 50"),
    (trained_entry(), {"enabled": False}, "evaluates finetune run 'tiny', which is disabled"),
    (trained_entry(plugin="chronos"), {}, "'models.tiny-trained.plugin' must be moirai"),
])
def test_models_evaluating_a_run_must_match_it(suite: Path, entry: dict[str, Any],
                                               run: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        tiny_config(suite, models={"tiny-trained": entry}, **run)
    assert message in str(error.value)


def test_the_twin_is_compared_at_the_same_patch_size(suite: Path) -> None:
    with pytest.raises(ConfigError) as error:
        tiny_config(suite, d_model=None, num_layers=None, models={
            "tiny-trained": trained_entry(),
            "moirai-small-untrained": {"patch_size": 32}})
    assert "'models.moirai-small-untrained.patch_size' is 32 but tiny-trained" in str(
        error.value)


def test_a_model_of_a_run_is_checked_and_paired_with_its_twin(suite: Path) -> None:
    from physio_bench.finetune import TrainedModel, trained_models
    from physio_bench.preflight import check_before_run

    config = tiny_config(suite, d_model=None, num_layers=None,
                         models={"tiny-trained": trained_entry()})
    # The checkpoint does not exist yet: the finetune run writes it before the embed jobs.
    check_before_run(config)
    # Random start: the twin is the untrained control of the same size.
    assert trained_models(config) == [
        TrainedModel("tiny", "tiny-trained", "moirai-small-untrained")]
    # Published start: the twin is the model with the run's start weights.
    published = tiny_config(suite, d_model=None, num_layers=None,
                            weights="Salesforce/moirai-1.1-R-small",
                            models={"tiny-trained": trained_entry(),
                                    "moirai-1.1-R-small": {"enabled": True}})
    assert trained_models(published) == [
        TrainedModel("tiny", "tiny-trained", "moirai-1.1-R-small")]
    # An architecture override has no twin among the configured models.
    assert trained_models(tiny_config(suite, models={"tiny-trained": trained_entry()})) == [
        TrainedModel("tiny", "tiny-trained", None)]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"suite": "/nonexistent/suite"}, "no training suite at /nonexistent/suite"),
    ({"signal_kinds": ["ecg", "abp"]}, "signal_kind 'abp' is not in the training suite"),
    ({"channels": ["ecg"]}, "channel 'ecg' is not in the training suite"),
    ({"min_patches": 40}, "fewer than min_patches 40"),
    ({"input_hz": 33.3333}, "33.3333 Hz from 100 Hz is the ratio 333333/1000000, beyond"),
])
def test_bad_training_input_fails_before_any_training(suite: Path, tmp_path: Path,
                                                      overrides: dict[str, Any],
                                                      message: str) -> None:
    from physio_bench.finetune.train import train_run

    with pytest.raises((InputError, ConfigError)) as error:
        train_run(tiny_config(suite, **overrides), RUN, tmp_path / "out")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_start_weights_must_be_on_disk(suite: Path, tmp_path: Path) -> None:
    from physio_bench.preflight import check_before_run

    config = tiny_config(suite, weights="Salesforce/moirai-1.1-R-small", d_model=None,
                         num_layers=None)
    with pytest.raises(ModelError, match="not in the Hugging Face cache"):
        check_before_run(config)


def test_cli_reports_a_missing_suite_in_one_line(tmp_path: Path) -> None:
    configfile = tmp_path / "config.yaml"
    configfile.write_text(json.dumps({"finetune": {"runs": {RUN: tiny_run(tmp_path / "none")}}}))
    result = subprocess.run(
        [sys.executable, "-m", "physio_bench", "finetune", "--configfile", str(configfile),
         "--run", RUN, "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("physio-bench: error: finetune run 'tiny'")


def test_gpu_preset_fine_tunes_published_weights_next_to_its_twin() -> None:
    from physio_bench.config import REPO_ROOT
    from physio_bench.finetune import TrainedModel, run_settings, trained_models

    config = load_config([REPO_ROOT / "workflow" / "presets" / "finetune-gpu.yaml"])
    settings = run_settings(config, "moirai-1.1-R-small-physio")
    assert (settings.weights, settings.device, settings.dtype) == (
        "Salesforce/moirai-1.1-R-small", "cuda", "bfloat16")
    assert TrainedModel("moirai-1.1-R-small-physio", "moirai-1.1-R-small-physio",
                        "moirai-1.1-R-small") in trained_models(config)


def test_finetune_figures_exist_only_with_runs_and_draw_from_results(suite: Path,
                                                                    tmp_path: Path) -> None:
    from PIL import Image

    from physio_bench.report.figures import FigureContext, draw_figures, figure_files
    from physio_bench.report.figures_finetune import comparison_data, loss_data
    from physio_bench.report.synthetic import write_synthetic_results

    assert [f for f in figure_files(load_config()) if "/ft_" in f]  # the default trains one
    assert not [f for f in figure_files(without_default_run()) if "/ft_" in f]
    config = tiny_config(suite, d_model=None, num_layers=None,
                         models={"tiny-trained": trained_entry()})
    assert figure_files(config, sections=["finetune"]) == [
        "results/figures/ft_loss_curve.png", "results/figures/ft_trained_vs_untrained.png"]
    results = write_synthetic_results(tmp_path / "results", config)
    losses = "\n".join(["step,loss,learning_rate"] + [f"{s},{2.0 / s},0.001"
                                                       for s in range(1, 31)])
    (results / "finetune" / RUN).mkdir(parents=True)
    (results / "finetune" / RUN / "loss.csv").write_text(losses + "\n")
    ctx = FigureContext(config=config, results=results, style="default")
    curve = loss_data(ctx)
    assert not curve["missing"] and curve["curves"][RUN][1][-1] == pytest.approx(2.0 / 30)
    compared = comparison_data(ctx)
    assert not compared["missing"]
    assert compared["pairs"] == {"tiny-trained": "moirai-small-untrained"}
    r2 = compared["panels"]["tiny-trained"][("feature_independence", "r2")]
    rows = ctx.rows[(ctx.rows["metric"] == "r2") & (ctx.rows["layer"] == "last")]
    task, ((mine, _, _), (twin, _, _)) = next(iter(r2.items()))
    assert mine == rows[(rows["model"] == "tiny-trained") & (rows["task"] == task)]["value"].item()
    assert twin == rows[(rows["model"] == "moirai-small-untrained")
                        & (rows["task"] == task)]["value"].item()
    draw_figures(config, results, sections=["finetune"])
    for name in ("ft_loss_curve.png", "ft_trained_vs_untrained.png"):
        with Image.open(results / "figures" / name) as image:
            assert image.format == "PNG" and min(image.size) > 100
