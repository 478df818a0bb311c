"""HuBERT-ECG: every layer equals the reference forward (``HuBERTECG.forward`` of
github.com/Edoar-do/HuBERT-ECG, code/hubert_ecg.py, in eval mode: feature encoder,
feature projection, no masking, HuBERT encoder), transcribed here on a ``HubertModel``
the test loads itself, on random weights written in the published layout (``config.json``
of model_type ``hubert_ecg`` with its own keys, ``model.safetensors`` with the pretraining
heads and the positional convolution's weight norm under either naming), including the
published small configuration.

Tolerance: the same float32 operations (transformers' modules) in the same order; only
the attention kernel may differ between the library's forward and the transcription:
rtol 1e-5 with an absolute floor of 1e-5 x the layer's largest magnitude.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import simulate_signal
from safetensors.torch import save_file

from physio_bench.errors import ModelError
from physio_bench.models.hubert_ecg import (
    SMALL_CONFIG,
    HuBERTECGModel,
    hubert_config,
)
from physio_bench.models.weights import check_weights_on_disk, install_into_hf_cache

pytestmark = pytest.mark.usefixtures("offline_hub")

TINY = {**SMALL_CONFIG, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "conv_dim": [16] * 5, "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2, "classifier_proj_size": 8}


def published_files(directory: Path, values: dict, seed: int, legacy_norm: bool) -> dict:
    """config.json and model.safetensors as the hub holds them; returns the tensors."""
    from transformers import HubertModel

    torch.manual_seed(seed)
    module = HubertModel(hubert_config(values))
    state = {k: v.clone() for k, v in module.state_dict().items()}
    for key in [k for k in state if k.startswith(("feature_extractor", "encoder.layer_norm"))
                and k.endswith("bias")]:
        state[key] = 0.1 * torch.randn_like(state[key])  # no identity-like initial values
    if legacy_norm:  # transformers before parametrizations: weight_g / weight_v
        prefix = "encoder.pos_conv_embed.conv."
        state[prefix + "weight_g"] = state.pop(prefix + "parametrizations.weight.original0")
        state[prefix + "weight_v"] = state.pop(prefix + "parametrizations.weight.original1")
    proj = values["classifier_proj_size"]
    state["final_proj.0.weight"] = torch.randn(proj, values["hidden_size"])
    state["final_proj.0.bias"] = torch.randn(proj)
    state["label_embedding.0.weight"] = torch.randn(100, proj)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, directory / "model.safetensors")
    config = {**values, "model_type": "hubert_ecg", "architectures": ["HuBERTECG"],
              "auto_map": {"AutoConfig": "hubert_ecg.HuBERTECGConfig",
                           "AutoModel": "hubert_ecg.HuBERTECG"},
              "ensemble_length": 1, "vocab_sizes": [100], "mask_time_prob": 0.33,
              "layerdrop": 0.1, "apply_spec_augment": True, "transformers_version": "4.38.1"}
    (directory / "config.json").write_text(json.dumps(config))
    return state


def reference_forward(values: dict, state: dict, x: torch.Tensor) -> list[torch.Tensor]:
    """HuBERTECG.forward (eval) with HubertEncoder's loop written out (transformers 4.38):
    features -> projection -> pos_conv + layer norm -> layers; every hidden state."""
    from transformers import HubertModel

    ref = HubertModel(hubert_config(values)).eval()
    mapped = {}
    for key, value in state.items():
        if key.startswith(("final_proj", "label_embedding")):
            continue
        key = key.replace("conv.weight_g", "conv.parametrizations.weight.original0")
        mapped[key.replace("conv.weight_v", "conv.parametrizations.weight.original1")] = value
    ref.load_state_dict(mapped, strict=True)
    with torch.no_grad():
        features = ref.feature_extractor(x).transpose(1, 2)
        hidden = ref.feature_projection(features)
        hidden = ref.encoder.layer_norm(hidden + ref.encoder.pos_conv_embed(hidden))
        states = [hidden]
        for layer in ref.encoder.layers:
            hidden = layer(hidden)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            states.append(hidden)
    return states


def ecg_windows(n_samples: int) -> np.ndarray:
    return np.stack([simulate_signal("ecg", n_samples, 100.0, seed, heart_rate_bpm=hr)
                     for seed, hr in ((0, 58.0), (1, 104.0))])[:, None, :].astype(np.float32)


@pytest.mark.parametrize(("values", "legacy_norm"), [(TINY, False), (TINY, True),
                                                      (SMALL_CONFIG, False)],
                         ids=["tiny", "tiny-weight_g", "published-small"])
def test_every_layer_matches_the_reference_forward(tmp_path, values, legacy_norm):
    state = published_files(tmp_path / "ck", values, 5, legacy_norm)
    model = HuBERTECGModel("hubert-ecg", weights=str(tmp_path / "ck"), progress=False)
    windows = 2.0 * ecg_windows(3200) + 0.3  # the plug-in rescales each lead to [-1, 1]
    embedded = model.embed(windows, 100.0)
    x = torch.from_numpy(windows[:, 0].astype(np.float64))
    low, high = x.min(-1, keepdim=True).values, x.max(-1, keepdim=True).values
    scaled = (2 * (x - low) / (high - low + 1e-8) - 1).float()
    expected = reference_forward(values, state, scaled)
    assert list(embedded.layers) == model.layer_names
    assert len(expected) == len(model.layer_names) == values["num_hidden_layers"] + 1
    for name, want in zip(model.layer_names, expected, strict=True):
        want = want.numpy()
        np.testing.assert_allclose(embedded.layers[name], want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max(), err_msg=name)
    n_tokens = expected[0].shape[1]
    assert embedded.token_spans.shape == (n_tokens, 2) == (49, 2)
    assert embedded.token_spans[:2].tolist() == [[0, 82], [64, 146]]
    if values is SMALL_CONFIG:
        info = model.describe()
        assert info.n_parameters == 30_209_664  # the encoder, without the pretraining heads
        assert (info.default_input_hz, info.max_window_samples) == (100.0, 6000)
        assert info.signal_kinds == ["ecg"] and info.layer_names[-1] == "layer_07"


def test_hub_id_from_the_cache_and_missing_weights(tmp_path, monkeypatch):
    published_files(tmp_path / "ck", TINY, 1, False)
    with pytest.raises(ModelError) as error:
        check_weights_on_disk("hubert-ecg", {"plugin": "hubert_ecg"})
    message = str(error.value)
    assert "\n" not in message and "Edoardo-BS/hubert-ecg-small" in message
    assert "hf download Edoardo-BS/hubert-ecg-small" in message
    cache = Path(str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    install_into_hf_cache(tmp_path / "ck", "Edoardo-BS/hubert-ecg-small", cache)
    check_weights_on_disk("hubert-ecg", {"plugin": "hubert_ecg"})
    model = HuBERTECGModel("hubert-ecg", progress=False)
    assert model.describe().weights_source == "Edoardo-BS/hubert-ecg-small"


def test_a_checkpoint_missing_encoder_tensors_is_refused(tmp_path):
    from safetensors.torch import load_file

    published_files(tmp_path / "ck", TINY, 2, False)
    tensors = load_file(tmp_path / "ck" / "model.safetensors")
    del tensors["encoder.layers.1.feed_forward.output_dense.weight"]
    save_file(tensors, tmp_path / "ck" / "model.safetensors")
    with pytest.raises(ModelError, match="cannot load weights") as error:
        HuBERTECGModel("hubert-ecg", weights=str(tmp_path / "ck"), progress=False)
    assert "\n" not in str(error.value)
