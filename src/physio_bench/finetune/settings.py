"""The settings of one training run (``finetune.runs.<name>``), checked before any work.

The schema (``workflow/schemas/config.schema.yaml``) fills defaults and checks types and
ranges; :func:`run_settings` adds the checks that involve several keys, each a one-line
:class:`~physio_bench.errors.ConfigError` naming the key. Keys (units in the names):

- ``weights``: where training starts: ``random`` (Moirai of ``size`` from the seeded
  initialisation the untrained control uses: "trained on synthetic only"), a hub id or
  a local checkpoint directory ("fine-tuned from <weights>"), resolved by
  :mod:`physio_bench.models.weights` like any model's weights.
- ``size`` (small | base | large), and for experiments and tests ``d_model`` /
  ``num_layers`` (random initialisation only).
- ``suite``: a suite directory (``signals.npy``, ``labels.parquet``, ``meta.json``);
  ``signal_kinds`` / ``scenarios`` / ``channels``: which windows and channels train
  (``null``: all); ``max_windows``: the first N selected windows (``null``: all).
- ``input_hz`` (Hz) and ``patch_size`` (samples): the rate the windows are resampled to
  (:func:`physio_bench.resampling.resample`, the embed stage's resampler) and the patch
  length; the model entry that evaluates the checkpoint must use the same two values
  (checked by
  :func:`physio_bench.finetune.check_finetune_config`).
- ``steps``, ``batch_size`` (windows per step), ``lr``, ``weight_decay``, ``schedule``
  (a uni2ts ``SchedulerType``), ``warmup_steps``, ``mask_ratio`` ([min, max] fraction of
  each sample's patches to forecast, as ``MoiraiPretrain``'s min/max_mask_ratio),
  ``min_patches`` (``PatchCrop``'s shortest crop, in patches), ``max_dim`` (most
  variates per sample, ``SampleDimension``).
- ``shuffle_patches``: the marginal ablation (issue 20): before each step, the patches of
  every training window are put in a random order (the same for its channels), so the
  model trains on the same values and loss but no temporal structure; its probe "gains"
  show what training changes without learning dynamics. Default false.
- ``time_budget_s``: optional wall-clock cap (s) of one training job: training stops
  after the step at which the job has run longer; such a checkpoint depends on the
  machine's speed (not reproducible), and its provenance says so. ``null`` (default):
  exactly ``steps`` steps.
- ``seed`` (``null``: the global seed), ``threads`` (torch CPU threads; fixed, so that
  results are reproducible), ``checkpoint_every`` (steps between resumable states),
  ``device`` (auto | cpu | cuda) and ``dtype`` (float32 | bfloat16; bfloat16 autocast
  on CUDA only).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from physio_bench.errors import ConfigError
from physio_bench.resampling import MAX_FACTOR

FINETUNE_DIR = "results/finetune"
MODEL_SIZES = ("small", "base", "large")
PATCH_SIZES = (8, 16, 32, 64, 128)
MAX_RATE_TERMS = MAX_FACTOR  # the shared resampler's limit (one value for train and embed)


@dataclass(frozen=True)
class RunSettings:
    """One training run, validated (see the module docstring for each field)."""

    name: str
    weights: str
    size: str
    d_model: int | None
    num_layers: int | None
    suite: str
    signal_kinds: tuple[str, ...] | None
    scenarios: tuple[str, ...] | None
    channels: tuple[str, ...] | None
    max_windows: int | None
    input_hz: float
    patch_size: int
    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str
    warmup_steps: int
    mask_ratio: tuple[float, float]
    min_patches: int
    max_dim: int
    time_budget_s: float | None
    shuffle_patches: bool
    seed: int
    threads: int
    checkpoint_every: int
    device: str
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def digest(self) -> str:
        """SHA-256 of every setting that changes the trained weights.

        ``checkpoint_every`` and ``time_budget_s`` are left out: they decide when the
        state is saved or when training stops, not what a given step computes.
        """
        data = {k: v for k, v in self.to_dict().items()
                if k not in ("checkpoint_every", "time_budget_s")}
        if not data["shuffle_patches"]:  # runs from before the ablation keep their digest
            del data["shuffle_patches"]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def out_dir(self) -> Path:
        return run_dir(self.name)

    @property
    def from_random(self) -> bool:
        return self.weights == "random"


def run_dir(name: str) -> Path:
    """``results/finetune/<run>``: the run's checkpoint, provenance and loss curve."""
    return Path(FINETUNE_DIR) / name


def checkpoint_dir(name: str) -> Path:
    """``results/finetune/<run>/checkpoint``: the directory a model entry's ``weights``
    names to evaluate the trained model (``config.json``, ``model.safetensors``,
    ``training.json``)."""
    return run_dir(name) / "checkpoint"


def _names(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def run_settings(config: dict[str, Any], name: str) -> RunSettings:
    """The validated settings of run ``name`` (defaults already filled by the schema).

    Raises:
        ConfigError: unknown run, or keys that contradict each other (one line).
    """
    runs = config.get("finetune", {}).get("runs", {})
    if name not in runs:
        known = ", ".join(runs) or "none"
        raise ConfigError(f"unknown finetune run {name!r}: configured runs are {known}; "
                          f"add it under finetune.runs")
    run = runs[name]
    key = f"finetune.runs.{name}"
    low, high = (float(v) for v in run["mask_ratio"])
    if low > high:
        raise ConfigError(f"config key '{key}.mask_ratio' has min {low} > max {high}: give "
                          f"it as [min, max]")
    if run["warmup_steps"] > run["steps"]:
        raise ConfigError(f"config key '{key}.warmup_steps' ({run['warmup_steps']}) exceeds "
                          f"steps ({run['steps']}): lower it")
    overrides = [k for k in ("d_model", "num_layers") if run.get(k) is not None]
    if overrides and run["weights"] != "random":
        raise ConfigError(f"config key '{key}.{overrides[0]}' changes the architecture, which "
                          f"only a random start allows: remove it or set weights: random")
    if run.get("d_model") is not None and run["d_model"] % 64:
        raise ConfigError(f"config key '{key}.d_model' must be a multiple of 64 (Moirai's "
                          f"head size), got {run['d_model']}")
    if run["dtype"] != "float32" and run["device"] == "cpu":
        raise ConfigError(f"config key '{key}.dtype' {run['dtype']} runs only on a GPU here: "
                          f"use dtype: float32 with device: cpu")
    seed = config["seed"] if run.get("seed") is None else run["seed"]
    return RunSettings(
        name=name, weights=str(run["weights"]), size=str(run["size"]),
        d_model=run.get("d_model"), num_layers=run.get("num_layers"),
        suite=str(run["suite"]), signal_kinds=_names(run.get("signal_kinds")),
        scenarios=_names(run.get("scenarios")), channels=_names(run.get("channels")),
        max_windows=run.get("max_windows"), input_hz=float(run["input_hz"]),
        patch_size=int(run["patch_size"]), steps=int(run["steps"]),
        batch_size=int(run["batch_size"]), lr=float(run["lr"]),
        weight_decay=float(run["weight_decay"]), schedule=str(run["schedule"]),
        warmup_steps=int(run["warmup_steps"]), mask_ratio=(low, high),
        min_patches=int(run["min_patches"]), max_dim=int(run["max_dim"]),
        time_budget_s=None if run.get("time_budget_s") is None else float(run["time_budget_s"]),
        shuffle_patches=bool(run.get("shuffle_patches", False)),
        seed=int(seed), threads=int(run["threads"]),
        checkpoint_every=int(run["checkpoint_every"]), device=str(run["device"]),
        dtype=str(run["dtype"]),
    )


def enabled_runs(config: dict[str, Any]) -> list[str]:
    """Names of the runs whose ``enabled`` flag is true (the default)."""
    runs = config.get("finetune", {}).get("runs", {})
    return [name for name, run in runs.items() if run.get("enabled", True)]
