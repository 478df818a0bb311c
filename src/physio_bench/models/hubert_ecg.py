"""HuBERT-ECG (Coppola et al. 2024), an ECG foundation model, as an embedding model.

HuBERT-ECG is transformers' HuBERT (``HubertModel``: a convolutional feature encoder, a
feature projection, a convolutional positional embedding and a post-norm transformer
encoder) pretrained with masked prediction of k-means cluster labels on 9.1 million
12-lead ECGs. The published checkpoints (``Edoardo-BS/hubert-ecg-small``, ``-base``,
``-large``; CC-BY-NC-4.0) are ``config.json`` + ``model.safetensors`` of the reference
class ``HuBERTECG(HubertModel)`` (github.com/Edoar-do/HuBERT-ECG, ``code/hubert_ecg.py``),
which adds only pretraining heads (``final_proj``, ``label_embedding``) and a masking
override that is inactive in eval mode. The plug-in therefore loads the checkpoint into
transformers' ``HubertModel`` (the library's public path; the heads are left out, every
encoder tensor must be in the file) and reads every layer's hidden states from its forward.

**Input** (the reference's preprocessing, ``code/utils.py`` and ``code/dataset.py``):
ECG at 100 Hz (``default_input_hz``); each lead rescaled to [-1, 1] over its samples
(``2 (x - min) / (max - min + 1e-8) - 1``); in pretraining the 12 leads of a 5-s ECG are
concatenated into one 6,000-sample sequence. Here every channel is one such sequence: a
32-s window is 3,200 samples (``max_window_samples`` 6,000, the pretraining length,
so it is not cut). The reference's 0.05-47 Hz band-pass is data preparation and is not
applied (the core's anti-aliasing filter already ends the band at 40-50 Hz).

**Tokens**: the feature encoder's frames (strides 4, 2, 2, 2, 2: one token per 64
samples = 0.64 s; frame ``t`` covers samples ``[64 t, 64 t + 82)``, the receptive field,
clipped to the window). **Layers**: ``embedding`` (projected features plus the
positional convolution, after the encoder's layer norm: the input of the first layer),
then ``layer_00`` .. ``layer_{L-1}`` (the last is the model's output). ECG only:
``signal_kinds = ["ecg"]``.

Options: ``weights`` (hub id, default ``Edoardo-BS/hubert-ecg-small``; a local
directory; or ``random``: the published small configuration), ``batch_size``, ``device``,
``dtype``, ``progress``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_bench.models.protocol import ModelInfo
from physio_bench.models.torch_utils import layer_names
from physio_bench.models.univariate import UnivariateModel
from physio_bench.models.weights import CONFIG_FILE, WEIGHTS_FILE

if TYPE_CHECKING:
    import torch

PLUGIN = "hubert_ecg"
DEFAULT_HUB_ID = "Edoardo-BS/hubert-ecg-small"
FILES = (CONFIG_FILE, WEIGHTS_FILE)
INPUT_HZ = 100.0
CONTEXT_SAMPLES = 6000  # 12 leads x 5 s x 100 Hz, concatenated, in pretraining
SCALE_SMOOTH = 1e-8
#: the pretraining-only parts of HuBERTECG, not used for embeddings
HEAD_PREFIXES = ("final_proj.", "label_embedding.")
#: Edoardo-BS/hubert-ecg-small's config.json (the HubertConfig part; for weights: random)
SMALL_CONFIG: dict[str, Any] = {
    "hidden_size": 512, "num_hidden_layers": 8, "num_attention_heads": 8,
    "intermediate_size": 2048, "conv_dim": [512] * 5, "conv_kernel": [10, 3, 3, 2, 2],
    "conv_stride": [4, 2, 2, 2, 2], "conv_bias": False, "feat_extract_norm": "group",
    "feat_extract_activation": "gelu", "feat_proj_layer_norm": True,
    "do_stable_layer_norm": False, "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16, "hidden_act": "gelu", "layer_norm_eps": 1e-5,
    "classifier_proj_size": 256,
}


def hubert_config(values: dict[str, Any]) -> Any:
    """A ``HubertConfig`` from a HuBERT-ECG ``config.json`` (its own keys, such as
    ``ensemble_length``, ``vocab_sizes``, ``auto_map`` and ``model_type``, dropped)."""
    from transformers import HubertConfig

    known = set(HubertConfig().to_dict())
    drop = {"model_type", "architectures", "auto_map", "transformers_version", "torch_dtype",
            "dtype"}
    return HubertConfig(**{k: v for k, v in values.items() if k in known and k not in drop})


def build_network() -> Any:
    """A freshly initialised HubertModel with the small published configuration."""
    from transformers import HubertModel

    return HubertModel(hubert_config(SMALL_CONFIG))


def load_network(directory: Path) -> Any:
    """``HubertModel.from_pretrained`` on a HuBERT-ECG checkpoint: every tensor of the
    encoder must be in the file; only the pretraining heads may be left over."""
    from transformers import HubertModel

    config = hubert_config(json.loads((Path(directory) / CONFIG_FILE).read_text()))
    network, info = HubertModel.from_pretrained(str(directory), config=config,
                                                local_files_only=True,
                                                output_loading_info=True)
    extra = [k for k in info.get("unexpected_keys", []) if not k.startswith(HEAD_PREFIXES)]
    if info.get("missing_keys") or extra or info.get("mismatched_keys"):
        problems = (list(info.get("missing_keys") or []) + extra
                    + [str(m) for m in info.get("mismatched_keys") or []])
        raise ValueError(f"{len(problems)} tensor(s) missing, unexpected or of the wrong "
                         f"shape in {WEIGHTS_FILE}, e.g. {problems[0]}")
    return network


def receptive_field(kernels: list[int], strides: list[int]) -> tuple[int, int]:
    """(receptive field, hop) in input samples of the convolutional feature encoder."""
    field, hop = kernels[0], strides[0]
    for kernel, stride in zip(kernels[1:], strides[1:], strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return field, hop


def scale_leads(series: torch.Tensor) -> torch.Tensor:
    """The reference's ``scaling``: each row to [-1, 1] over its samples."""
    low = series.min(dim=-1, keepdim=True).values
    high = series.max(dim=-1, keepdim=True).values
    return 2 * (series - low) / (high - low + SCALE_SMOOTH) - 1


class HuBERTECGModel(UnivariateModel):
    """HuBERT-ECG hidden states of every layer for each channel (module docstring)."""

    packages = ("transformers", "torch")
    default_input_hz = INPUT_HZ

    @staticmethod
    def weights_files(options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """The weights a config entry resolves to and the files the loader reads."""
        return str(options.get("weights", DEFAULT_HUB_ID)), FILES

    def __init__(self, name: str, seed: int = 0, *, device: str = "auto",
                 dtype: str = "float32", **options: Any) -> None:
        self.load(name, seed, device, dtype, options, plugin=PLUGIN,
                  weights=self.weights_files(options)[0], files=FILES,
                  init_random=build_network, load_dir=load_network)
        config = self.network.config
        self.dim = int(config.hidden_size)
        self.field, self.hop = receptive_field(list(config.conv_kernel),
                                               list(config.conv_stride))
        self.layer_names = ["embedding", *layer_names(int(config.num_hidden_layers), False)]
        self.min_samples = self.field
        self.max_samples = CONTEXT_SAMPLES

    def token_spans(self, n_samples: int) -> np.ndarray:
        n_frames = (n_samples - self.field) // self.hop + 1
        starts = np.arange(n_frames, dtype=np.int64) * self.hop
        return np.stack([starts, np.minimum(starts + self.field, n_samples)], axis=1)

    def hidden_states(self, series: torch.Tensor) -> list[torch.Tensor]:
        """``HubertModel(input, output_hidden_states=True).hidden_states`` of scaled rows."""
        output = self.network(scale_leads(series), output_hidden_states=True)
        return list(output.hidden_states)

    def describe(self) -> ModelInfo:
        """Architecture, parameter count, weights provenance, layers, ECG only."""
        config = self.network.config
        return replace(self.model_info(
            (f"HuBERT-ECG (transformers HubertModel): {len(config.conv_dim)} "
                f"convolutional layers (one token per {self.hop} samples), "
                f"{config.num_hidden_layers} transformer layers, {self.dim} dims; "
                f"leads rescaled to [-1, 1] at 100 Hz"),
            CONTEXT_SAMPLES,
            {"receptive_field_samples": self.field, "token_hop_samples": self.hop,
                "scaling": "2 (x - min) / (max - min + 1e-8) - 1 per channel",
                "token_order": "channel-major"}), signal_kinds=["ecg"])
