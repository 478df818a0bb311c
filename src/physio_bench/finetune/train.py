"""The training loop of one run: a fixed number of uni2ts steps, resumable, reproducible.

Why a plain loop around ``MoiraiPretrain`` rather than ``lightning.Trainer.fit``: the
objective, transforms, optimiser and schedule are uni2ts's own (see
:mod:`physio_bench.finetune.objective`); what the Trainer would add (loggers, its own
checkpoint files, device strategies) is not needed on 2 CPU threads, and its resume
does not restore numpy's global generator that uni2ts's transforms draw from, nor a
mid-epoch position. Here step ``s`` trains on a batch that is a pure function of
(seed, s): windows ``[s*B, (s+1)*B)`` of the concatenated per-epoch permutations
(epoch ``e`` permuted with a generator seeded from (seed, e)), with crops and masks from
numpy's generator seeded from (seed, s). An interrupted run therefore resumes from its
last saved state and ends with the same bytes as an uninterrupted one.

Reproducibility: ``torch.use_deterministic_algorithms(True)`` and a fixed number of CPU
threads (``threads``) during training; the same config and seed give a byte-identical
checkpoint directory on the same machine and software (floating-point reductions may
differ across CPUs, thread counts or library builds). ``time_budget_s`` trades that for
a wall-clock cap: a run stopped by it is marked ``reproducible: false``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.finetune.checkpoint import (
    ResumeState,
    clear_resume_state,
    find_resume_state,
    load_resume_state,
    save_resume_state,
    start_module,
    training_type,
    write_checkpoint,
)
from physio_bench.finetune.data import TrainingWindows, load_training_windows
from physio_bench.finetune.settings import RunSettings, run_settings
from physio_bench.io import atomic_write_bytes, write_json

OBJECTIVE = ("uni2ts MoiraiPretrain.training_step: PackedNLLLoss, negative log-likelihood "
             "of the masked (forecast) patches under the mixture distribution")
FINAL_LOSS_FRACTION = 0.1  # final loss: mean over the last 10% of steps


def derive_seed(seed: int, stream: str, index: int) -> int:
    """A 63-bit seed for (seed, stream, index), stable across processes and machines."""
    key = f"physio_bench/finetune/{int(seed)}/{stream}/{int(index)}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


def shuffle_patches(signals: np.ndarray, patch_size: int, seed: int) -> np.ndarray:
    """Each window's whole patches (counted from its end) in a random order, the same for
    all its channels; the leading partial patch stays in place (a copy)."""
    out = np.array(signals, copy=True)
    n = out.shape[-1]
    n_patches = n // patch_size
    start = n - n_patches * patch_size
    rng = np.random.default_rng(seed)
    for w in range(out.shape[0]):
        order = rng.permutation(n_patches)
        tail = out[w, :, start:].reshape(out.shape[1], n_patches, patch_size)
        out[w, :, start:] = tail[:, order].reshape(out.shape[1], -1)
    return out


def batch_indices(step: int, batch_size: int, n_windows: int, seed: int) -> np.ndarray:
    """Window rows of step ``step``: a slice of the per-epoch permutations (pure function)."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size, dtype=np.int64)
    epochs, offsets = np.divmod(positions, n_windows)
    rows = np.empty_like(positions)
    for epoch in np.unique(epochs):
        order = np.random.default_rng(derive_seed(seed, "epoch", int(epoch))).permutation(
            n_windows)
        rows[epochs == epoch] = order[offsets[epochs == epoch]]
    return rows


@contextlib.contextmanager
def reproducible_torch(threads: int) -> Iterator[None]:
    """Deterministic algorithms and a fixed CPU thread count for a block (then restored)."""
    import torch

    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])


def resolve_device(settings: RunSettings) -> str:
    import torch

    from physio_bench.errors import ModelError

    has_cuda = torch.cuda.is_available()
    if settings.device == "cuda" and not has_cuda:
        raise ModelError(f"finetune run {settings.name!r}: device cuda requested but torch sees "
                         f"no CUDA device; use device: auto or cpu")
    device = "cuda" if settings.device == "cuda" or (settings.device == "auto" and has_cuda) \
        else "cpu"
    if device == "cpu" and settings.dtype != "float32":
        raise ModelError(f"finetune run {settings.name!r}: dtype {settings.dtype} needs a GPU "
                         f"and none is available; use dtype: float32")
    return device


def final_loss(losses: list[float]) -> float | None:
    """Mean training loss over the last 10% of steps (at least one)."""
    if not losses:
        return None
    tail = max(1, round(len(losses) * FINAL_LOSS_FRACTION))
    return float(np.mean(losses[-tail:]))


def _suite_record(settings: RunSettings, windows: TrainingWindows) -> dict[str, Any]:
    meta = {k: v for k, v in windows.suite_meta.items() if k != "wall_time_s"}
    return {"path": settings.suite, "sha256": windows.suite_sha256, "meta": meta,
            "n_windows": windows.n_windows, "channels": windows.channel_names,
            "samples_per_window": windows.n_samples}


def training_record(settings: RunSettings, windows: TrainingWindows, state: ResumeState,
                    stopped_by: str) -> dict[str, Any]:
    """``training.json``: deterministic provenance (the ``training`` block is what
    ``model.json`` shows)."""
    steps_done = len(state.losses)
    summary = {
        "type": state.start["type"], "run": settings.name, "objective": OBJECTIVE,
        "start_weights": state.start["source"], "start_sha256": state.start["sha256"],
        "steps": steps_done, "steps_planned": settings.steps,
        "windows_seen": steps_done * settings.batch_size,
        "final_loss": final_loss(state.losses),
        "last_loss": state.losses[-1] if state.losses else None,
        "input_hz": settings.input_hz, "patch_size": settings.patch_size,
        "suite": settings.suite, "suite_sha256": windows.suite_sha256,
        "settings_sha256": settings.digest(), "seed": settings.seed,
        "stopped_by": stopped_by, "reproducible": stopped_by == "steps",
    }
    return {"training": summary, "settings": settings.to_dict(),
            "suite": _suite_record(settings, windows),
            "loss_curve": state.losses, "learning_rates": state.learning_rates}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("physio-bench", "torch", "numpy", "scipy", "timecopilot-uni2ts", "uni2ts",
                    "lightning"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB; ``ru_maxrss`` is KiB on Linux)."""
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far (s): a load-independent cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_loss_csv(path: Path, state: ResumeState) -> None:
    lines = ["step,loss,learning_rate"]
    lines += [f"{i + 1},{loss!r},{lr!r}" for i, (loss, lr) in
              enumerate(zip(state.losses, state.learning_rates, strict=True))]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def train_run(config: dict[str, Any], name: str, out_dir: str | Path | None = None,
              stop_after: int | None = None,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train run ``name`` into ``out_dir`` (default ``results/finetune/<name>``).

    Resumes from ``out_dir/resume`` when it holds a state of the same settings. With
    ``stop_after``, stops after that many steps in total, saving the resumable state as
    an interruption would (for tests and for splitting a long run across jobs).

    Returns:
        The provenance written to ``out_dir/provenance.json`` (or, when stopped by
        ``stop_after``, the progress so far with ``finished: false``).

    Raises:
        ConfigError, InputError, ModelError: bad settings, training suite or weights, all
            found before the first step.
    """
    settings = run_settings(config, name)
    out = Path(out_dir) if out_dir is not None else settings.out_dir
    log = log or (lambda message: print(message, file=sys.stderr))
    began = time.perf_counter()
    windows = load_training_windows(settings)
    device = resolve_device(settings)
    resume = find_resume_state(out, settings, windows.suite_sha256)
    with reproducible_torch(settings.threads):
        if resume is not None:
            module, optimizer_state, state = load_resume_state(resume)
            state.interruptions += 1
            log(f"finetune {name}: resuming at step {state.step} of {settings.steps}")
        else:
            start = start_module(settings)
            module, optimizer_state = start.module, None
            kind = training_type(start, settings.shuffle_patches)
            state = ResumeState(step=0, start={"source": start.source, "sha256": start.sha256,
                                               "type": kind})
        from physio_bench.finetune.objective import Objective

        objective = Objective(module.to(device), settings, len(windows.channel_names),
                              windows.n_samples, device)
        if optimizer_state is not None:
            objective.load_state_dict(optimizer_state)
        loaded, loaded_cpu = time.perf_counter(), cpu_seconds()
        first_step = state.step
        stopped_by = "steps"
        last = settings.steps if stop_after is None else min(settings.steps, stop_after)
        for step in range(state.step, last):
            rows = batch_indices(step, settings.batch_size, windows.n_windows, settings.seed)
            signals = windows.signals[rows]
            if settings.shuffle_patches:
                signals = shuffle_patches(signals, settings.patch_size,
                                          derive_seed(settings.seed, "shuffle", step))
            batch = objective.batch(signals, derive_seed(settings.seed, "batch", step))
            loss, learning_rate = objective.step(batch, step)
            state.losses.append(loss)
            state.learning_rates.append(learning_rate)
            state.step = step + 1
            if state.step % 10 == 0 or state.step == last:
                log(f"finetune {name}: step {state.step}/{settings.steps} loss {loss:.4f} "
                    f"lr {learning_rate:.2e} ({time.perf_counter() - loaded:.0f} s)")
            over_budget = (settings.time_budget_s is not None
                           and time.perf_counter() - began > settings.time_budget_s)
            if over_budget and state.step < settings.steps:
                stopped_by = "time_budget_s"
                break
            if state.step < last and state.step % settings.checkpoint_every == 0:
                save_resume_state(out, settings, windows.suite_sha256, objective.module,
                                  objective.state_dict(), state)
        if state.step < settings.steps and stopped_by == "steps":
            save_resume_state(out, settings, windows.suite_sha256, objective.module,
                              objective.state_dict(), state)
            return {"finished": False, "step": state.step, "losses": state.losses}
        trained_s, trained_cpu_s = time.perf_counter() - loaded, cpu_seconds() - loaded_cpu
        training = training_record(settings, windows, state, stopped_by)
        write_checkpoint(out / "checkpoint", objective.module.to("cpu"), training)
    write_loss_csv(out / "loss.csv", state)
    provenance = {
        **training,
        "wall_time_s": round(time.perf_counter() - began, 3),
        "train_time_s": round(trained_s, 3),
        "steps_this_job": state.step - first_step,
        "seconds_per_step": round(trained_s / max(1, state.step - first_step), 4),
        "train_cpu_time_s": round(trained_cpu_s, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "interruptions": state.interruptions, "device": device, "threads": settings.threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "versions": _versions(), "platform": platform.platform(),
    }
    write_json(out / "provenance.json", provenance)
    clear_resume_state(out)
    return provenance
