"""Timer-XL (Liu et al., ICLR 2025; ``thuml/timer-base-84m``, Apache-2.0), a decoder-only
forecasting foundation model, as an embedding model.

The backbone is a causal decoder over patches of 96 samples (:mod:`physio_bench.models.
thuml`, rewritten from the reference ``modeling_timer.py``: a linear patch embedding,
post-norm layers); the forecasting head (``lm_heads``) is not used. **Input**: each series
standardised as the reference's ``revin`` (mean and sample standard deviation, ``std()``
with Bessel's correction; a flat series divides by 1 instead of by 0); the reference cuts
a series into whole patches from its start and drops a remainder at the end, so the
plug-in left-pads the standardised series with zeros (its mean) to a multiple of 96
instead, keeping the newest samples (the padded first token covers fewer real samples).
Context: 2,880 samples (the published lookback, 30 patches); ``default_input_hz`` 90 Hz,
so a 32-s window is exactly 2,880 samples = 30 tokens of 1.07 s. Every channel alone;
layers ``embedding``, ``layer_00`` .. ``layer_07``, ``final_norm``; causal. Any kind.

Options: ``weights`` (default ``thuml/timer-base-84m``; a local directory; ``random``:
the published configuration), ``batch_size``, ``device``, ``dtype``, ``progress``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from physio_bench.models.thuml import DecoderPlugin
from physio_bench.models.univariate import UnivariateModel

if TYPE_CHECKING:
    import torch

#: thuml/timer-base-84m's config.json
PUBLISHED_CONFIG: dict[str, Any] = {
    "input_token_len": 96, "hidden_size": 1024, "intermediate_size": 2048, "num_hidden_layers": 8,
    "num_attention_heads": 8, "hidden_act": "silu", "output_token_lens": [96],
    "max_position_embeddings": 10000, "rope_theta": 10000, "attention_dropout": 0.0,
}


class TimerXLModel(DecoderPlugin, UnivariateModel):
    """Timer-XL's hidden states of every layer for each channel (module docstring)."""

    plugin = "timer_xl"
    default_hub_id = "thuml/timer-base-84m"
    embedding = "timer"
    title = "Timer-XL"
    revin = ("per series: (x - mean) / std (Bessel-corrected; flat -> 1), then zeros "
             "prepended to a multiple of 96")
    pre_norm = False
    default_input_hz = 90.0
    context_samples = 2880
    published_config = PUBLISHED_CONFIG

    def hidden_states(self, series: torch.Tensor) -> list[torch.Tensor]:
        import torch

        mean = series.mean(dim=-1, keepdim=True)
        std = series.std(dim=-1, keepdim=True) if series.shape[-1] > 1 else torch.zeros_like(
            mean)
        std = torch.where(std > 0, std, torch.ones_like(std))
        scaled = (series - mean) / std
        pad = (-series.shape[-1]) % self.patch
        return self.network(torch.nn.functional.pad(scaled, (pad, 0)))
