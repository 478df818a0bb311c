"""The decoder-only transformers of THUML's Sundial and Timer-XL, rewritten from their
reference code (the ``modeling_sundial.py`` / ``modeling_timer.py`` published with the
checkpoints ``thuml/sundial-base-128m`` and ``thuml/timer-base-84m``, Apache-2.0; they
are transformers "custom code", which this benchmark never executes).

Both: patch tokens of a univariate series, a stack of decoder layers with causal
self-attention (rotary position embedding over each head, base 10,000, positions
0..T-1; q/k/v projections with bias, output projection without), a SwiGLU feed-forward
(``down(act(gate(x)) * up(x))``, no biases) and a final LayerNorm. They differ in:

* patch embedding: Sundial left-pads the series with zeros to a multiple of 16 and feeds
  each patch together with its observation mask (1 = sample, 0 = padding) through a
  two-layer MLP with a linear residual; Timer-XL embeds each 96-sample patch linearly
  (no bias, no padding);
* layer norm placement: Sundial normalises before attention and before the feed-forward
  (pre-norm); Timer-XL after each residual sum (post-norm).

Parameter names follow the reference (``model.embed_layer...``, ``model.layers.{i}.
self_attn.q_proj``, ``...ffn_layer.gate_proj``, ``...norm1``, ``model.norm``), so the
published safetensors load strictly; the forecasting heads (Sundial's ``flow_loss``,
Timer-XL's ``lm_heads``) are not used for embeddings and not loaded.

``hidden_states`` returns what the reference's ``output_hidden_states`` returns (the
embedding, then the input of every further layer, then the final norm's output) plus the
last layer's output before the final norm: ``embedding``, ``layer_00`` ..
``layer_{L-1}``, ``final_norm``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ROPE_BASE = 10000.0


def build_decoder(config: dict[str, Any], embedding: str, pre_norm: bool) -> torch.nn.Module:
    """A freshly initialised decoder (``embedding``: ``sundial`` or ``timer``); the module
    is the reference's ``model`` (keys ``embed_layer...``, ``layers...``, ``norm``)."""
    import torch
    from torch import nn

    hidden, inter = int(config["hidden_size"]), int(config["intermediate_size"])
    heads, patch = int(config["num_attention_heads"]), int(config["input_token_len"])
    act = {"silu": nn.functional.silu, "gelu": nn.functional.gelu}[config["hidden_act"]]

    class SundialPatchEmbedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden_layer = nn.Linear(2 * patch, inter)
            self.output_layer = nn.Linear(inter, hidden)
            self.residual_layer = nn.Linear(2 * patch, hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pad = (-x.shape[-1]) % patch
            mask = nn.functional.pad(torch.ones_like(x), (pad, 0))
            x = nn.functional.pad(x, (pad, 0))
            both = torch.cat([x.unfold(-1, patch, patch), mask.unfold(-1, patch, patch)], -1)
            return self.output_layer(act(self.hidden_layer(both))) + self.residual_layer(both)

    class TimerPatchEmbedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Linear(patch, hidden, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.emb(x.unfold(-1, patch, patch))

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(hidden, hidden)
            self.k_proj = nn.Linear(hidden, hidden)
            self.v_proj = nn.Linear(hidden, hidden)
            self.o_proj = nn.Linear(hidden, hidden, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rows, length, _ = x.shape
            q, k, v = (proj(x).view(rows, length, heads, -1).transpose(1, 2)
                       for proj in (self.q_proj, self.k_proj, self.v_proj))
            cos, sin = rotary(length, q.shape[-1], x.device, x.dtype)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            out = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.o_proj(out.transpose(1, 2).reshape(rows, length, hidden))

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate_proj = nn.Linear(hidden, inter, bias=False)
            self.up_proj = nn.Linear(hidden, inter, bias=False)
            self.down_proj = nn.Linear(inter, hidden, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.down_proj(act(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self_attn, self.ffn_layer = Attention(), MLP()
            self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if pre_norm:
                x = x + self.self_attn(self.norm1(x))
                return x + self.ffn_layer(self.norm2(x))
            x = self.norm1(x + self.self_attn(x))
            return self.norm2(x + self.ffn_layer(x))

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_layer = (SundialPatchEmbedding() if embedding == "sundial"
                                else TimerPatchEmbedding())
            self.layers = nn.ModuleList(Layer() for _ in range(int(config["num_hidden_layers"])))
            self.norm = nn.LayerNorm(hidden)

        def forward(self, series: torch.Tensor) -> list[torch.Tensor]:
            x = self.embed_layer(series)
            states = [x]
            for layer in self.layers:
                x = layer(x)
                states.append(x)
            return [*states, self.norm(x)]

    class Wrapper(nn.Module):  # the reference's ``ForPrediction.model`` prefix
        def __init__(self) -> None:
            super().__init__()
            self.model = Decoder()

        def forward(self, series: torch.Tensor) -> list[torch.Tensor]:
            return self.model(series)

    return Wrapper()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary(length: int, head_dim: int, device: Any, dtype: Any
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (length x head_dim) of the reference's rotary embedding (computed in
    float32 like its cache, then cast)."""
    import torch

    inv_freq = 1.0 / (ROPE_BASE ** (torch.arange(0, head_dim, 2, dtype=torch.int64,
                                                 device=device).float() / head_dim))
    freqs = torch.outer(torch.arange(length, device=device, dtype=torch.int64).float(),
                        inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


HEAD_PREFIXES = ("flow_loss.", "lm_heads.")


def load_decoder(directory: Path, embedding: str, pre_norm: bool) -> torch.nn.Module:
    """A published checkpoint (``config.json`` + ``model.safetensors``), strictly: every
    backbone tensor must be in the file, anything else must be a forecasting head."""
    from safetensors.torch import load_file

    config = json.loads((Path(directory) / "config.json").read_text())
    network = build_decoder(config, embedding, pre_norm)
    tensors = load_file(str(Path(directory) / "model.safetensors"))
    backbone = {k: v for k, v in tensors.items() if not k.startswith(HEAD_PREFIXES)}
    network.load_state_dict(backbone, strict=True)
    network.config = config
    return network


class DecoderPlugin:
    """Plug-in behaviour shared by :mod:`~physio_bench.models.sundial` and
    :mod:`~physio_bench.models.timer_xl` (mixed into :class:`UnivariateModel`); the
    subclass sets the class attributes below.

    Options: ``weights`` (default ``default_hub_id``; a local directory; ``random``: the
    published configuration), ``batch_size``, ``device``, ``dtype``, ``progress``."""

    plugin: str
    packages = ("torch", "safetensors")
    default_hub_id: str
    embedding: str  # "sundial" or "timer"
    pre_norm: bool
    default_input_hz: float
    context_samples: int
    published_config: dict[str, Any]
    title: str
    revin: str  # how each series is normalised (for model.json)
    load: Any  # UnivariateModel.load

    @classmethod
    def weights_files(cls, options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to and the files the loader reads."""
        return str(options.get("weights", cls.default_hub_id)), ("config.json",
                                                                "model.safetensors")

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        self.setup(name, seed, device, dtype, options)

    def setup(self, name: str, seed: int, device: str, dtype: str,
              options: dict[str, Any]) -> None:
        from physio_bench.models.torch_utils import layer_names

        def init_random() -> Any:
            network = build_decoder(self.published_config, self.embedding, self.pre_norm)
            network.config = dict(self.published_config)
            return network

        weights, files = self.weights_files(options)
        self.load(name, seed, device, dtype, options, plugin=self.plugin, weights=weights,
                  files=files, init_random=init_random,
                  load_dir=lambda d: load_decoder(d, self.embedding, self.pre_norm))
        self.config = self.network.config
        self.patch = int(self.config["input_token_len"])
        self.dim = int(self.config["hidden_size"])
        n_layers = int(self.config["num_hidden_layers"])
        self.layer_names = ["embedding", *layer_names(n_layers, final_norm=True)]
        self.min_samples, self.max_samples = 1, self.context_samples

    def token_spans(self, n_samples: int) -> Any:
        from physio_bench.models.torch_utils import left_pad_spans

        return left_pad_spans(n_samples, self.patch)

    def describe(self) -> Any:
        return self.model_info(  # type: ignore[attr-defined]  (UnivariateModel's)
            f"{self.title} (rewritten from the reference modeling code): patches of "
            f"{self.patch}, {len(self.layer_names) - 2} causal decoder layers "
            f"({'pre' if self.pre_norm else 'post'}-norm), {self.dim} dims, univariate",
            self.context_samples,
            {"normalisation": self.revin, "causal": True,
             "token_order": "channel-major; a partial first patch is left-padded"})
