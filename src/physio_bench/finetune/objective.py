"""uni2ts's own Moirai training objective, used as published.

``MoiraiPretrain`` (uni2ts's LightningModule) wraps the module being trained. Its
``train_transform_map`` chain turns each window into one training sample exactly as in
Moirai's pre-training: ``SampleDimension`` (a random subset of at most ``max_dim``
variates), ``GetPatchSize``, ``PatchCrop`` (a random crop of at least ``min_patches``
patches, random offset), ``Patchify``, ``AddVariateIndex`` (random variate ids),
``AddTimeIndex``, ``MaskedPrediction`` (the last ``r`` of the crop's patches, ``r``
uniform in ``mask_ratio``, become prediction tokens, replaced by the learned mask
embedding) and the packing transforms; uni2ts's ``PackCollate`` packs the samples of a
step into rows (first-fit decreasing, ``sample_id`` keeps them apart in attention).

One deviation, needed to match evaluation: ``GetPatchSize`` normally draws the patch size
from ``DefaultPatchSizeConstraints`` keyed by the data's frequency, which has no entry
for sub-second sampling; here its constraint is ``FixedPatchSizeConstraints(patch_size)``
so training uses the patch size the embeddings are computed with.

The loss is ``MoiraiPretrain.training_step``: ``PackedNLLLoss``, the negative
log-likelihood of the masked patches under the predicted mixture distribution
(Student-t, normal, negative binomial, log-normal), averaged per sample and variate the
way uni2ts does. The optimiser is ``MoiraiPretrain.configure_optimizers``'s AdamW with
its weight-decay groups; the learning-rate schedule comes from uni2ts's
``get_scheduler`` (``schedule`` and ``warmup_steps`` from the run settings). Gradients
are clipped to norm 1 (as Lightning's ``gradient_clip_val`` in uni2ts's training configs).

uni2ts's transforms draw from numpy's global generator; :meth:`Objective.batch` seeds it
for each step from ``(seed, step)`` (and restores the caller's state), so a step's batch
depends only on the settings and the step number.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.errors import ModelError
from physio_bench.finetune.settings import RunSettings

if TYPE_CHECKING:
    import torch

GRAD_CLIP_NORM = 1.0
LOSS_FIELDS = ("target", "prediction_mask", "observed_mask", "sample_id", "variate_id")


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for a block, then restore the caller's state."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def frequency_string(input_hz: float) -> str:
    """A pandas offset string for one sample at ``input_hz`` (``20000us`` at 50 Hz)."""
    return f"{max(1, round(1e6 / input_hz))}us"


class Objective:
    """uni2ts's training step for a ``MoiraiModule`` on windows at one rate and patch size.

    Args:
        module: the ``MoiraiModule`` to train (trained in place).
        settings: the run's settings.
        n_channels: channels of each training window.
        n_samples: samples of each training window at ``settings.input_hz``.
        device: ``cpu`` or ``cuda``.
    """

    def __init__(self, module: Any, settings: RunSettings, n_channels: int, n_samples: int,
                 device: str = "cpu") -> None:
        from uni2ts.data.loader import PackCollate
        from uni2ts.model.moirai.pretrain import MoiraiPretrain
        from uni2ts.transform import FixedPatchSizeConstraints, GetPatchSize

        self.settings = settings
        self.device = device
        self.pretrain = MoiraiPretrain(
            min_patches=settings.min_patches,
            min_mask_ratio=settings.mask_ratio[0],
            max_mask_ratio=settings.mask_ratio[1],
            max_dim=settings.max_dim,
            num_training_steps=settings.steps,
            num_warmup_steps=settings.warmup_steps,
            module=module,
            lr=settings.lr,
            weight_decay=settings.weight_decay,
        ).to(device)
        self.transform = self.pretrain.train_transform_map[None]()
        for step in self.transform.transformations:
            if isinstance(step, GetPatchSize):
                step.patch_size_constraints = FixedPatchSizeConstraints(settings.patch_size)
        self.max_length = min(int(module.max_seq_len),
                              n_channels * (n_samples // settings.patch_size))
        self.collate = PackCollate(max_length=self.max_length,
                                   seq_fields=self.pretrain.seq_fields,
                                   pad_func_map=self.pretrain.pad_func_map)
        self.freq = frequency_string(settings.input_hz)
        self.optimizer, self.scheduler = self._optimizer()

    @property
    def module(self) -> Any:
        return self.pretrain.module

    def _optimizer(self) -> tuple[torch.optim.Optimizer, Any]:
        from uni2ts.optim import get_scheduler

        optimizer = self.pretrain.configure_optimizers()["optimizer"]
        scheduler = get_scheduler(self.settings.schedule, optimizer,
                                  num_warmup_steps=self.settings.warmup_steps,
                                  num_training_steps=self.settings.steps)
        return optimizer, scheduler

    def batch(self, windows: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
        """Packed training batch of ``windows`` (windows x channels x samples, float32).

        Crops, variate subsets and masks are drawn from numpy's global generator seeded
        with ``seed`` for this call only.
        """
        with numpy_global_seed(seed):
            samples = [self.transform({"target": [np.array(channel) for channel in window],
                                       "freq": self.freq}) for window in windows]
        batch = self.collate(samples)
        return {key: value.to(self.device) for key, value in batch.items()}

    def loss(self, batch: dict[str, torch.Tensor], step: int = 0) -> torch.Tensor:
        """``MoiraiPretrain.training_step`` (its ``self.log`` is a no-op without a Trainer)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*self\.log\(\)")
            with self._autocast():
                return self.pretrain.training_step(batch, step)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        if self.settings.dtype == "float32" or self.device != "cuda":
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=getattr(torch, self.settings.dtype))

    def step(self, batch: dict[str, torch.Tensor], step: int) -> tuple[float, float]:
        """One optimisation step; returns (loss before the update, learning rate used)."""
        import torch

        self.pretrain.train()
        learning_rate = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(batch, step)
        if not torch.isfinite(loss):
            raise ModelError(f"finetune run {self.settings.name!r}: the training loss is "
                             f"{float(loss)} at step {step}; lower lr or use float32")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.pretrain.parameters(), GRAD_CLIP_NORM)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach()), learning_rate

    def state_dict(self) -> dict[str, Any]:
        """Optimizer and scheduler state (for resuming)."""
        return {"optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
