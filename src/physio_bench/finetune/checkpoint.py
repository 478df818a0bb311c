"""Where a run's weights start, its resumable state, and the finished checkpoint.

Start: :func:`start_module` resolves the run's ``weights`` through
:func:`physio_bench.models.weights.parse_weights` / ``load_weights``, the code every
model uses: ``random`` builds the Moirai of ``size`` under ``seeded(seed)`` exactly as the
untrained control ``{plugin: moirai, weights: random}`` does (same SHA-256 for the same
seed), a hub id or a directory loads a ``MoiraiModule`` checkpoint strictly.

Resumable state (``<run>/resume/``, not a declared output, so Snakemake leaves it after a
failed or killed job): ``model/`` (``save_pretrained``), ``optimizer.pt`` (AdamW and
scheduler state, loaded with ``weights_only=True``) and ``state.json`` (step, losses,
the digests of the settings and of the training suite), written into ``resume.new/`` and
renamed: a kill at any moment leaves either the previous state or the new one. Batches
are a function of (seed, step), so no generator state needs saving. A state of other
settings or another training suite is ignored (training starts over).

Finished checkpoint (``<run>/checkpoint/``): ``config.json`` and ``model.safetensors``
(``MoiraiModule.save_pretrained``), plus ``training.json``, the provenance that is a
pure function of the settings and the training suite (type, start weights and their
SHA-256, steps, loss curve, input rate, patch size, suite digest): the whole directory
is byte-identical for the same config and seed. Wall time, peak memory and versions go
to ``<run>/provenance.json`` next to it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physio_bench.errors import ModelError
from physio_bench.finetune.settings import RunSettings
from physio_bench.io import read_json, write_json

TRAINING_FILE = "training.json"
MODEL_CARD = "README.md"  # the hub mixin's generic "pushed to the Hub" card: not kept
STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.pt"


@dataclass
class StartWeights:
    """The module training starts from, with its provenance."""

    module: Any
    source: str  # "random (seed=N)", a hub id or a directory
    sha256: str
    pretrained: bool


def start_module(settings: RunSettings) -> StartWeights:
    """Build or load the module training starts from (see the module docstring).

    Raises:
        ModelError: weights that cannot be found offline or do not load (one line).
    """
    from physio_bench.models import (
        CHECKPOINT_FILES,
        build_moirai,
        load_moirai,
        load_weights,
        moirai_size_of,
        parse_weights,
    )

    def init_random() -> Any:  # as the untrained twin (moirai plug-in, same options)
        return build_moirai(settings.size, settings.d_model, settings.num_layers)

    label = f"finetune run {settings.name}"
    spec = parse_weights(settings.weights, label)
    loaded = load_weights(spec, name=label, seed=settings.seed, files=CHECKPOINT_FILES,
                          init_random=init_random, load_dir=load_moirai)
    module = loaded.model
    if spec.kind != "random" and moirai_size_of(module) not in (None, settings.size):
        raise ModelError(f"finetune run {settings.name!r}: weights {settings.weights} hold a "
                         f"Moirai-{moirai_size_of(module)}, not size {settings.size}; fix size:")
    if settings.patch_size not in tuple(module.patch_sizes):
        raise ModelError(f"finetune run {settings.name!r}: patch_size {settings.patch_size} is "
                         f"not one of the checkpoint's {tuple(module.patch_sizes)}")
    return StartWeights(module, loaded.source, loaded.sha256, loaded.pretrained)


#: the training type of a run with ``shuffle_patches`` (model_types' "marginal ablation")
ABLATION_TYPE = "marginal ablation (shuffled patches)"


def training_type(start: StartWeights, shuffled: bool = False) -> str:
    """``trained on synthetic`` (random start), ``fine-tuned from <weights>``, or for a
    run on shuffled patches :data:`ABLATION_TYPE` (whatever the start)."""
    if shuffled:
        return ABLATION_TYPE
    return f"fine-tuned from {start.source}" if start.pretrained else "trained on synthetic"


@dataclass
class ResumeState:
    """Progress of an interrupted run."""

    step: int
    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    start: dict[str, Any] = field(default_factory=dict)
    interruptions: int = 0


def resume_dir(out_dir: Path) -> Path:
    return Path(out_dir) / "resume"


def save_resume_state(out_dir: Path, settings: RunSettings, suite_sha256: str, module: Any,
                      optimizer_state: dict[str, Any], state: ResumeState) -> None:
    """Write the resumable state atomically (``resume.new`` renamed to ``resume``)."""
    import torch

    final = resume_dir(out_dir)
    fresh = final.with_name("resume.new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    module.save_pretrained(str(fresh / "model"))
    torch.save(optimizer_state, fresh / OPTIMIZER_FILE)
    write_json(fresh / STATE_FILE, {
        "step": state.step, "losses": state.losses, "learning_rates": state.learning_rates,
        "start": state.start, "interruptions": state.interruptions,
        "settings_sha256": settings.digest(), "suite_sha256": suite_sha256,
    })
    shutil.rmtree(final, ignore_errors=True)
    fresh.rename(final)


def find_resume_state(out_dir: Path, settings: RunSettings, suite_sha256: str) -> Path | None:
    """The complete resumable state of these settings and this training suite, if any
    (``resume`` or ``resume.new``)."""
    for candidate in (resume_dir(out_dir), resume_dir(out_dir).with_name("resume.new")):
        state_file = candidate / STATE_FILE
        if not state_file.is_file():
            continue
        state = read_json(state_file)
        same = (state.get("settings_sha256"), state.get("suite_sha256")) == (
            settings.digest(), suite_sha256)
        if same and 0 < state["step"] <= settings.steps:
            return candidate
    return None


def load_resume_state(directory: Path) -> tuple[Any, dict[str, Any], ResumeState]:
    """(module, optimizer state, progress) of a state written by :func:`save_resume_state`."""
    import torch

    from physio_bench.models import load_moirai

    module = load_moirai(directory / "model")
    optimizer_state = torch.load(directory / OPTIMIZER_FILE, weights_only=True,
                                 map_location="cpu")
    data = read_json(directory / STATE_FILE)
    state = ResumeState(step=int(data["step"]), losses=list(data["losses"]),
                        learning_rates=list(data["learning_rates"]), start=dict(data["start"]),
                        interruptions=int(data["interruptions"]))
    return module, optimizer_state, state


def clear_resume_state(out_dir: Path) -> None:
    for directory in (resume_dir(out_dir), resume_dir(out_dir).with_name("resume.new")):
        shutil.rmtree(directory, ignore_errors=True)


def write_checkpoint(directory: Path, module: Any, training: dict[str, Any]) -> None:
    """``save_pretrained`` + ``training.json`` into ``directory`` (replaced as a whole)."""
    directory = Path(directory)
    fresh = directory.with_name(directory.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    module.save_pretrained(str(fresh))
    (fresh / MODEL_CARD).unlink(missing_ok=True)
    write_json(fresh / TRAINING_FILE, training)
    shutil.rmtree(directory, ignore_errors=True)
    fresh.rename(directory)
