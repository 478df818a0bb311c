"""Mantis adapter: resampling spans, agreement with MantisV1's forward, weights round trip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import error_messages, sine_fixtures

from physio_bench.errors import ModelError
from physio_bench.models.mantis import MantisModel, hidden_states, patch_spans, resample
from physio_bench.models.torch_utils import seeded
from physio_bench.models.weights import file_sha256, install_into_hf_cache

N_SAMPLES = 1000  # resampled to 512; 32 tokens of about 31.25 samples each


pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def model():
    return MantisModel(name="mantis-test", seed=0, weights="random")


windows, embedded = sine_fixtures(2, 2, N_SAMPLES, 1.1, seed=11)


def test_shapes_spans_and_description(model, embedded):
    assert list(embedded.layers) == [f"layer_{i:02d}" for i in range(6)]
    for array in embedded.layers.values():
        assert array.shape == (2, 64, 256) and array.dtype == np.float32
    spans = embedded.token_spans
    assert spans[:3].tolist() == [[0, 32], [31, 63], [62, 94]]
    assert spans[31].tolist() == [968, 1000] and spans[32].tolist() == [0, 32]
    assert embedded.token_channels.tolist() == [0] * 32 + [1] * 32
    assert patch_spans(2048, 32).tolist() == [[64 * i, 64 * i + 64] for i in range(32)]
    embedded.validate(2)
    info = model.describe()
    assert info.n_parameters == 8_103_936  # Mantis-8M
    assert (info.pretrained, info.weights_source) == (False, "random (seed=0)")
    assert info.max_window_samples is None and info.versions["mantis-tsfm"]


def test_layers_agree_with_the_library_forward(model, windows):
    network = model.network
    series = torch.from_numpy(resample(windows.reshape(4, 1, N_SAMPLES), 512))
    assert series.shape == (4, 1, 512)
    with torch.inference_mode():
        states = hidden_states(network, series)
        cls_output = network(series)  # MantisV1's own output: the last layer's CLS token
        mean_output = network.transf_unit(network.tokgen_unit(series), output_token="mean_token")
        third = network.transf_unit(network.tokgen_unit(series), return_layer=2,
                                    output_token="cls_token")
    assert torch.equal(states[-1][:, 0], cls_output)
    assert torch.equal(states[2][:, 0], third)
    torch.testing.assert_close(states[-1][:, 1:].mean(dim=1), mean_output, rtol=0, atol=1e-6)


def test_identical_inputs_and_channel_independence(model, windows, embedded):
    again = MantisModel(name="again", seed=0, weights="random").embed(windows.copy(), 250.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(again.layers[name], array)
    changed = windows.copy()
    changed[:, 1] *= -2.0
    moved = model.embed(changed, 250.0).layers["layer_05"]
    np.testing.assert_array_equal(moved[:, :32], embedded.layers["layer_05"][:, :32])
    assert not np.allclose(moved[:, 32:], embedded.layers["layer_05"][:, 32:])


def test_round_trip_local_and_hub(model, windows, embedded, tmp_path):
    directory = tmp_path / "mantis-ck"
    model.network.save_pretrained(directory)
    local = MantisModel(name="local", weights=str(directory))
    for name, array in local.embed(windows, 250.0).layers.items():
        np.testing.assert_array_equal(array, embedded.layers[name])
    assert local.describe().weights_sha256 == file_sha256(directory / "model.safetensors")
    install_into_hf_cache(directory, "paris-noah/Mantis-8M", Path(os.environ["HF_HOME"]) / "hub")
    hub = MantisModel(name="hub")  # default weights: paris-noah/Mantis-8M
    np.testing.assert_array_equal(hub.embed(windows, 250.0).layers["layer_05"],
                                  embedded.layers["layer_05"])
    assert hub.describe().pretrained


def test_legacy_mantis8m_checkpoint_loads(windows, tmp_path):
    from mantis.architecture import Mantis8M

    with seeded(4):
        legacy = Mantis8M(device="cpu").eval()
    legacy.save_pretrained(tmp_path / "legacy")  # parameter names vit_unit.*
    loaded = MantisModel(name="legacy", weights=str(tmp_path / "legacy"))
    series = torch.from_numpy(resample(windows[:, :1], 512))
    with torch.inference_mode():
        assert torch.equal(loaded.network(series), legacy(series))


def test_errors(model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    refused, message = error_messages(model, 31, 250.0, lambda: MantisModel(name="mantis-8m"))
    assert refused == ("model 'mantis-test': windows of 31 samples are shorter than "
                       "Mantis's 32 patches; use longer windows")
    assert "\n" not in message and "`hf download paris-noah/Mantis-8M`" in message
    with pytest.raises(ModelError, match=r"lacks config\.json, model\.safetensors"):
        MantisModel(name="m", weights=str(tmp_path))
    with pytest.raises(ModelError, match=r"unknown option\(s\) seq_len"):
        MantisModel(name="m", weights="random", seq_len=256)


def test_every_layer_equals_the_library_forward_at_each_return_layer(model, windows, embedded):
    """For each layer k, the library's own ``TransformerUnit.forward(..., return_layer=k)``
    (its CLS token, positional encoding and residual stream; the full token states hooked at
    its transformer's output) equals our layer_k at the 32 patch tokens, on the same
    512-sample input (the resampling to 512 is ours, not the library's: docs/models.md).
    Mantis-8M is the published configuration. Tolerance: exact (the same modules in the same
    order on the same float32 tensor)."""
    network = model.network
    series = torch.from_numpy(resample(windows.reshape(4, 1, N_SAMPLES), 512))
    unit = network.transf_unit
    captured: list[torch.Tensor] = []
    handle = unit.transformer.register_forward_hook(
        lambda _m, _i, out: captured.append(out.detach().clone()))
    try:
        with torch.inference_mode():
            for k in range(6):
                unit(network.tokgen_unit(series), return_layer=k)
    finally:
        handle.remove()
    assert len(captured) == 6
    for k, state in enumerate(captured):
        assert state.shape == (4, 33, 256)  # CLS + 32 patches
        np.testing.assert_array_equal(state[:, 1:].numpy().reshape(2, 64, 256),
                                      embedded.layers[f"layer_{k:02d}"], err_msg=f"layer {k}")
