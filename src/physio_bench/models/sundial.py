"""Sundial (Liu et al., ICML 2025; ``thuml/sundial-base-128m``, Apache-2.0), a generative
time-series foundation model, as an embedding model.

The backbone is a causal decoder over patches of 16 samples (:mod:`physio_bench.models.
thuml`, rewritten from the reference ``modeling_sundial.py``: pre-norm layers, a patch
MLP fed with the observation mask); the flow-matching forecasting head (``flow_loss``)
is not used. **Input**: each series standardised as the reference's ``revin``
(mean and population standard deviation over the series; a standard deviation of at most
0.01 divides by 1), left-padded with zeros to a multiple of 16 by the patch embedding
(the padding is masked). Context: 2,880 samples (the published lookback);
``default_input_hz`` 50 Hz, so a 32-s window is 1,600 samples = 100 tokens of 0.32 s
(the same token duration as Chronos and Moirai 2.0 here). Every channel alone; layers
``embedding``, ``layer_00`` .. ``layer_11``, ``final_norm``; causal: token *t* sees
patches 0..*t*. Any signal kind.

Options: ``weights`` (default ``thuml/sundial-base-128m``; a local directory; ``random``:
the published configuration), ``batch_size``, ``device``, ``dtype``, ``progress``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from physio_bench.models.thuml import DecoderPlugin
from physio_bench.models.univariate import UnivariateModel

if TYPE_CHECKING:
    import torch

#: thuml/sundial-base-128m's config.json (the keys the backbone reads, and its head's)
PUBLISHED_CONFIG: dict[str, Any] = {
    "input_token_len": 16, "hidden_size": 768, "intermediate_size": 3072,
    "num_hidden_layers": 12, "num_attention_heads": 12, "hidden_act": "silu",
    "output_token_lens": [720], "max_position_embeddings": 10000, "rope_theta": 10000,
    "dropout_rate": 0.1, "flow_loss_depth": 3, "num_sampling_steps": 50,
    "diffusion_batch_mul": 4,
}


class SundialModel(DecoderPlugin, UnivariateModel):
    """Sundial's hidden states of every layer for each channel (module docstring)."""

    plugin = "sundial"
    default_hub_id = "thuml/sundial-base-128m"
    embedding = "sundial"
    pre_norm = True
    default_input_hz = 50.0
    context_samples = 2880
    published_config = PUBLISHED_CONFIG
    title = "Sundial"
    revin = "per series: (x - mean) / std (population; std <= 0.01 -> 1)"

    def hidden_states(self, series: torch.Tensor) -> list[torch.Tensor]:
        import torch

        mean = series.mean(dim=-1, keepdim=True)
        std = series.std(dim=-1, keepdim=True, unbiased=False)
        std = torch.where(std > 1e-2, std, torch.ones_like(std))
        return self.network((series - mean) / std)



