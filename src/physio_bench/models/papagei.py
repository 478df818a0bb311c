"""PaPaGei-S (Pillai et al., ICLR 2025), a PPG foundation model, as an embedding model.

PaPaGei-S is a 1-D ResNet with mixture-of-experts regression heads (``ResNet1DMoE`` of
the reference code, github.com/Nokia-Bell-Labs/papagei-foundation-model,
``models/resnet.py``, BSD-3-Clause-Clear), pretrained on 20 million 10-s PPG segments at
125 Hz, each z-scored. There is no installable package, so the architecture is rewritten
here with the reference's parameter names (the published state dict loads strictly):

* stem: ``first_block_conv`` ("same"-padded convolution, kernel 3, 1 -> 32 channels),
  ``first_block_bn``, ReLU;
* 18 residual blocks (``basicblock_list``): BN-ReLU-conv, BN-ReLU-conv (the first block
  skips its first BN-ReLU); every odd block halves the time axis (stride-2 convolution,
  the shortcut max-pooled with "same" zero padding); channels double every fourth block
  (32 -> 512), the shortcut padded with zero channels on both sides;
* ``final_bn``, ReLU, mean over time, ``dense`` (512 -> 512): the published embedding;
  the MoE heads (``expert_layers_*``, ``gating_network_*``) are loaded but not used.

**Input** (as the reference's feature extraction, ``compute_signal_embeddings``): PPG at
125 Hz (``default_input_hz``), segments of 10 s (``max_window_samples`` 1,250: the
embed stage cuts a 32-s window into chunks), each z-scored over its samples (population
standard deviation; a flat segment stays 0). The reference's data pipeline also
band-passes PPG at 0.5-12 Hz (pyPPG) before segmenting; that filter is data
preparation, not part of the model, and is not applied here.

**Tokens.** The time axis shrinks by 2 nine times (1,250 samples -> 3 positions), so the
blocks have different lengths and widths. Every layer is exported on the grid of the last
block: ``T = ceil(n / 512)`` tokens, token ``i`` covering samples ``[i n / T, (i+1) n / T)``
(floor/ceiling), each layer's feature map averaged over the same share of its own time
axis (``adaptive_avg_pool1d``) and its channels padded with zeros to 512 (the model's own
shortcut pads channels with zeros too; constant features carry nothing for a linear
probe). Layers: ``stem``, ``block_00`` .. ``block_17``, ``final`` (after ``final_bn`` and
ReLU) and ``embedding``: ``dense`` applied to each token of ``final``; as ``dense`` is
affine, the mean of a segment's ``embedding`` tokens is exactly PaPaGei's published
embedding. PPG only: ``signal_kinds = ["ppg"]`` (tasks of other kinds are reported as
``n/a: model is PPG-only``).

**Weights.** Published on Zenodo (record 13983110) as a pickled state dict
``papagei_s.pt``; convert it once with ``physio-bench convert-papagei papagei_s.pt DIR``
(:func:`convert_checkpoint`: ``torch.load(weights_only=True)``, the ``module.`` prefix of
a DataParallel save removed, loaded strictly, written as ``config.json`` +
``model.safetensors`` + ``conversion.json``) and set ``weights: DIR``.

Options: ``weights`` (``random`` or a converted directory; no default: the pre-flight
names the download and the conversion), ``batch_size``, ``device``, ``dtype``,
``progress``.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.errors import ModelError
from physio_bench.models.convert import convert_state_dict
from physio_bench.models.protocol import ModelInfo
from physio_bench.models.univariate import UnivariateModel, proportional_spans, standardise
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE

if TYPE_CHECKING:
    import torch

PLUGIN = "papagei"
FILES = (CONFIG_FILE, WEIGHTS_FILE)
SOURCE_URL = "https://zenodo.org/records/13983110/files/papagei_s.pt"
CONVERT_COMMAND = "physio-bench convert-papagei"
INPUT_HZ = 125.0  # the reference resamples every segment to 125 Hz
SEGMENT_SAMPLES = 1250  # 10 s at 125 Hz
STD_FLOOR = 1e-8
#: PaPaGei-S as published (the README's model_config; the rest are ResNet1DMoE defaults)
PUBLISHED_CONFIG: dict[str, Any] = {
    "in_channels": 1, "base_filters": 32, "kernel_size": 3, "stride": 2, "groups": 1,
    "n_block": 18, "n_classes": 512, "n_experts": 3, "downsample_gap": 2,
    "increasefilter_gap": 4, "use_bn": True, "use_projection": False,
}


def fetch_hint(name: str) -> str:
    return (f"model {name!r}: PaPaGei's weights are a pickled state dict on Zenodo: download "
            f"{SOURCE_URL} on a connected machine, run `{CONVERT_COMMAND} papagei_s.pt DIR` "
            f"and set weights: DIR")


def block_channels(config: dict[str, Any]) -> list[tuple[int, int, bool]]:
    """``(in_channels, out_channels, downsample)`` of every residual block."""
    base, gap, grow = config["base_filters"], config["downsample_gap"], config[
        "increasefilter_gap"]
    out = []
    for i in range(config["n_block"]):
        cin = base if i == 0 else int(base * 2 ** ((i - 1) // grow))
        cout = cin * 2 if (i % grow == 0 and i != 0) else cin
        out.append((cin, cout, i % gap == 1))
    return out


def build_network(config: dict[str, Any]) -> torch.nn.Module:
    """A freshly initialised ResNet1DMoE of ``config`` (reference parameter names)."""
    import torch
    from torch import nn

    def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        n = x.shape[-1]
        total = max(0, (-(-n // stride) - 1) * stride + kernel - n)
        return torch.nn.functional.pad(x, (total // 2, total - total // 2))

    class SameConv(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int) -> None:
            super().__init__()
            self.kernel, self.stride = kernel, stride
            self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, groups=groups)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(same_pad(x, self.kernel, self.stride))

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, downsample: bool, first: bool) -> None:
            super().__init__()
            self.cin, self.cout, self.downsample, self.first = cin, cout, downsample, first
            self.stride = config["stride"] if downsample else 1
            kernel, groups = config["kernel_size"], config["groups"]
            self.bn1 = nn.BatchNorm1d(cin)
            self.conv1 = SameConv(cin, cout, kernel, self.stride, groups)
            self.bn2 = nn.BatchNorm1d(cout)
            self.conv2 = SameConv(cout, cout, kernel, 1, groups)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            relu = torch.relu
            out = x if self.first else relu(self.bn1(x))
            out = self.conv2(relu(self.bn2(self.conv1(out))))
            identity = x
            if self.downsample:  # max pool, kernel = stride, "same" zero padding (stride 1)
                k = self.stride
                identity = torch.nn.functional.max_pool1d(
                    torch.nn.functional.pad(identity, ((k - 1) // 2, k - 1 - (k - 1) // 2)), k)
            if self.cout != self.cin:
                low = (self.cout - self.cin) // 2
                identity = torch.nn.functional.pad(
                    identity, (0, 0, low, self.cout - self.cin - low))
            return out + identity

    class ResNet1DMoE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            base, experts = config["base_filters"], config["n_experts"]
            self.first_block_conv = SameConv(config["in_channels"], base, config["kernel_size"],
                                             1, 1)
            self.first_block_bn = nn.BatchNorm1d(base)
            self.basicblock_list = nn.ModuleList(
                Block(cin, cout, down, i == 0)
                for i, (cin, cout, down) in enumerate(block_channels(config)))
            width = block_channels(config)[-1][1]
            self.final_bn = nn.BatchNorm1d(width)
            self.dense = nn.Linear(width, config["n_classes"])
            self.expert_layers_1 = nn.ModuleList(
                nn.Sequential(nn.Linear(width, width // 2), nn.ReLU(), nn.Linear(width // 2, 1))
                for _ in range(experts))
            self.gating_network_1 = nn.Sequential(nn.Linear(width, experts), nn.Softmax(dim=1))
            self.expert_layers_2 = nn.ModuleList(
                nn.Sequential(nn.Linear(width, width // 2), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(width // 2, 1))
                for _ in range(experts))
            self.gating_network_2 = nn.Sequential(nn.Linear(width, experts), nn.Softmax(dim=1))

    return ResNet1DMoE()


def read_config(directory: Path) -> dict[str, Any]:
    """The architecture of a converted checkpoint (``config.json``), checked."""
    config = {**PUBLISHED_CONFIG, **json.loads((Path(directory) / CONFIG_FILE).read_text())}
    if config["in_channels"] != 1 or config["use_projection"]:
        raise ValueError("only the single-channel PaPaGei-S layout (in_channels 1, no "
                         "projector) is supported")
    return config


def load_network(directory: Path) -> torch.nn.Module:
    """A converted checkpoint directory, loaded strictly (every tensor must be there)."""
    from safetensors.torch import load_file

    network = build_network(read_config(directory))
    network.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)), strict=True)
    network.config = read_config(directory)
    return network


def convert_checkpoint(source: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Convert the published ``papagei_s.pt`` into ``config.json`` + ``model.safetensors``.

    The state dict (optionally under a ``module.`` prefix) must load strictly into
    ResNet1DMoE with :data:`PUBLISHED_CONFIG`; see :func:`physio_bench.models.convert.
    convert_state_dict` for the files written and the guarantees.
    """
    def check(state: dict[str, Any]) -> None:
        build_network(PUBLISHED_CONFIG).load_state_dict(state, strict=True)

    return convert_state_dict(source, out_dir, command=CONVERT_COMMAND,
                              config=PUBLISHED_CONFIG, check=check, strip_prefix="module.",
                              packages=("torch", "safetensors"))


def feature_tokens(x: torch.Tensor, n_tokens: int, width: int) -> torch.Tensor:
    """rows x channels x time -> rows x n_tokens x width (time shares averaged, zero
    channels appended)."""
    import torch

    pooled = torch.nn.functional.adaptive_avg_pool1d(x, n_tokens).transpose(1, 2)
    return torch.nn.functional.pad(pooled, (0, width - pooled.shape[-1]))


class PaPaGeiModel(UnivariateModel):
    """PaPaGei-S feature maps of every block, on a common token grid (module docstring)."""

    packages = ("torch", "safetensors")
    default_input_hz = INPUT_HZ

    @staticmethod
    def weights_files(options: dict[str, Any], name: str = PLUGIN
                      ) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry names and the files its loader reads; no weights, or
        a path that holds the pickle only, is a one-line ModelError naming the fix."""
        weights = options.get("weights")
        if weights is None:
            raise ModelError(f"{fetch_hint(name)} (the entry names no weights)")
        path = Path(str(weights)).expanduser()
        if weights != "random" and (path.suffix == ".pt" or not (path / WEIGHTS_FILE).exists()):
            raise ModelError(f"{fetch_hint(name)} ({weights} holds no converted "
                             f"{WEIGHTS_FILE})")
        return str(weights), FILES

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        self.load(name, seed, device, dtype, options, plugin=PLUGIN,
                  weights=self.weights_files(options, name)[0], files=FILES,
                  init_random=lambda: build_network(PUBLISHED_CONFIG), load_dir=load_network,
                  batch_size=64)
        self.config = getattr(self.network, "config", PUBLISHED_CONFIG)
        self.n_blocks = int(self.config["n_block"])
        self.n_downsamples = sum(down for _, _, down in block_channels(self.config))
        self.dim = max(block_channels(self.config)[-1][1], int(self.config["n_classes"]))
        self.layer_names = ["stem", *(f"block_{i:02d}" for i in range(self.n_blocks)),
                            "final", "embedding"]
        self.min_samples = 1
        self.max_samples = None

    def n_tokens(self, n_samples: int) -> int:
        """Length of the last block's time axis: ``ceil(n / stride ** downsamples)``."""
        return max(1, math.ceil(n_samples / int(self.config["stride"]) ** self.n_downsamples))

    def token_spans(self, n_samples: int) -> np.ndarray:
        return proportional_spans(n_samples, self.n_tokens(n_samples))

    def hidden_states(self, series: torch.Tensor) -> list[torch.Tensor]:
        """Every layer on the last block's grid (rows x tokens x dim), for raw series."""
        import torch

        net = self.network
        n_tokens = self.n_tokens(series.shape[-1])
        x = standardise(series, STD_FLOOR)[:, None, :]
        x = torch.relu(net.first_block_bn(net.first_block_conv(x)))
        states = [feature_tokens(x, n_tokens, self.dim)]
        for block in net.basicblock_list:
            x = block(x)
            states.append(feature_tokens(x, n_tokens, self.dim))
        x = torch.relu(net.final_bn(x))
        final = x.transpose(1, 2)  # rows x tokens x width: already on the grid
        states.append(feature_tokens(x, n_tokens, self.dim))
        embedding = net.dense(final)
        states.append(torch.nn.functional.pad(embedding, (0, self.dim - embedding.shape[-1])))
        return states

    def describe(self) -> ModelInfo:
        """Architecture, parameter count, weights provenance, layers, PPG only."""
        return replace(self.model_info(
            (f"PaPaGei-S (ResNet1DMoE rewritten from the reference code): "
                f"{self.n_blocks} residual blocks, {self.config['base_filters']}"
                f"-{block_channels(self.config)[-1][1]} channels, "
                f"{self.config['n_classes']}-dim embedding; z-scored 10-s PPG "
                f"segments at 125 Hz"),
            SEGMENT_SAMPLES,
            {"token_grid": "the last block's time axis, ceil(n / 512) tokens per "
                "segment; earlier layers averaged over the same shares",
                "padding": f"channels zero-padded to {self.dim}",
                "normalisation": "z-score per segment (population std)",
                "source": SOURCE_URL}), signal_kinds=["ppg"])
