"""TiRex adapter: the library's embedding path, recurrence (causality), spans, channel
independence, and loading a model.ckpt written here from a directory and from the hub
cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import noisy_sine_windows

from physio_bench.errors import InputError, ModelError
from physio_bench.models.tirex import TiRexModel, build_model
from physio_bench.models.torch_utils import seeded
from physio_bench.models.weights import (
    check_weights_on_disk,
    file_sha256,
    install_into_hf_cache,
)

TINY = {
    "model_config": {
        "input_patch_size": 32, "output_patch_size": 32,
        "quantiles": [0.1, 0.5, 0.9],
        "block_kwargs": {"embedding_dim": 32, "num_blocks": 2, "num_heads": 2},
        "input_ff_dim": 64,
    },
    "train_ctx_len": 256,
}
N_SAMPLES = 200  # 7 patches of 32 after 24 samples of padding

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny TiRex in the hub layout: ``model.ckpt`` holding the hyper-parameters and the
    state dict, as the library's loader reads it."""
    with seeded(5):
        model = build_model(TINY)
    directory = tmp_path_factory.mktemp("tirex") / "ck"
    directory.mkdir()
    torch.save({"hyper_parameters": TINY, "state_dict": model.state_dict()},
               directory / "model.ckpt")
    return directory


@pytest.fixture(scope="module")
def model(checkpoint):
    return TiRexModel(name="tx", weights=str(checkpoint))


@pytest.fixture(scope="module")
def windows():
    return noisy_sine_windows(2, 2, N_SAMPLES, 2.0, seed=6, sampling_rate_hz=64.0)


@pytest.fixture(scope="module")
def embedded(model, windows):
    return model.embed(windows, 64.0)


def test_shapes_spans_and_description(model, embedded, checkpoint):
    assert list(embedded.layers) == ["layer_00", "layer_01", "final_norm"]
    for array in embedded.layers.values():
        assert array.shape == (2, 14, 32) and array.dtype == np.float32
    assert embedded.token_spans[:2].tolist() == [[0, 8], [8, 40]]
    assert embedded.token_spans[6].tolist() == [168, 200]
    assert embedded.token_channels.tolist() == [0] * 7 + [1] * 7
    embedded.validate(2)
    info = model.describe()
    assert (info.pretrained, info.weights_source) == (True, str(checkpoint))
    assert info.weights_sha256 == file_sha256(checkpoint / "model.ckpt")
    assert info.max_window_samples == 256 and info.default_input_hz == 64.0
    assert "bfloat16" in info.extra["backend"]


def test_layers_equal_the_library_forward(model, windows, embedded):
    """The library's own pieces: prepare (NaN padding to the context), every block, the
    output norm; and the forecast head reads the same final state."""
    tirex = model.model
    rows = torch.from_numpy(windows.reshape(4, N_SAMPLES))
    with torch.inference_mode():
        inputs, padded = tirex._prepare_context_for_embedding(rows, None)
        assert inputs.shape == (4, 8, 64) and padded == 1  # 56 NaN samples: 1 whole token
        _, blocks = tirex._forward_model(inputs, return_all_hidden=True)
        final = tirex.out_norm(blocks[:, :, -1])
    for index in range(2):
        np.testing.assert_array_equal(
            blocks[:, padded:, index].numpy().reshape(2, 14, 32),
            embedded.layers[f"layer_{index:02d}"])
    np.testing.assert_array_equal(final[:, padded:].numpy().reshape(2, 14, 32),
                                  embedded.layers["final_norm"])


def test_recurrent_tokens_do_not_see_later_patches(model, windows, embedded):
    changed = windows.copy()
    changed[:, :, -32:] = changed[:, :, -32:][:, :, ::-1]  # same mean and scale
    moved = model.embed(changed, 64.0).layers["final_norm"]
    before = embedded.layers["final_norm"]
    # equal up to the rounding of the window's mean and scale (summed in another order)
    np.testing.assert_allclose(moved[:, :6], before[:, :6], rtol=1e-5, atol=1e-5)
    assert not np.allclose(moved[:, 6], before[:, 6], rtol=1e-3, atol=1e-3)
    other = windows.copy()
    other[:, 1] *= -2.0  # channel 1 only: channel 0's tokens are untouched (univariate)
    np.testing.assert_array_equal(model.embed(other, 64.0).layers["final_norm"][:, :7],
                                  before[:, :7])


def test_determinism_and_hub_cache(windows, embedded, checkpoint):
    again = TiRexModel(name="again", weights=str(checkpoint)).embed(windows.copy(), 64.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(again.layers[name], array)
    options = {"plugin": "tirex", "weights": "NX-AI/TiRex"}
    with pytest.raises(ModelError, match="are not in the Hugging Face cache"):
        check_weights_on_disk("tirex", options)  # the pre-flight before any job runs
    install_into_hf_cache(checkpoint, "NX-AI/TiRex", Path(os.environ["HF_HOME"]) / "hub")
    check_weights_on_disk("tirex", options)  # model.ckpt is what TiRex needs, and is there
    hub = TiRexModel(name="hub")  # default weights: NX-AI/TiRex
    np.testing.assert_array_equal(hub.embed(windows, 64.0).layers["layer_01"],
                                  embedded.layers["layer_01"])
    assert hub.describe().weights_source == "NX-AI/TiRex"


def test_random_weights_are_the_published_size_and_seeded():
    first = TiRexModel(name="r", seed=1, weights="random")
    info = first.describe()
    assert (info.pretrained, info.weights_source) == (False, "random (seed=1)")
    assert info.n_parameters == 35_291_200  # TiRex (35M)
    assert len(info.layer_names) == 13 and info.max_window_samples == 2048
    second = TiRexModel(name="r", seed=1, weights="random")
    assert second.describe().weights_sha256 == info.weights_sha256
    assert TiRexModel(name="r", seed=2, weights="random").describe().weights_sha256 != (
        info.weights_sha256)
    window = noisy_sine_windows(1, 1, 64, 3.0, seed=0, sampling_rate_hz=64.0)
    out = first.embed(window, 64.0).layers["final_norm"]
    assert np.isfinite(out).all()  # every tensor initialised (the library leaves some empty)
    np.testing.assert_array_equal(out, second.embed(window, 64.0).layers["final_norm"])


def test_errors(model, tmp_path, monkeypatch):
    with pytest.raises(InputError) as error:
        model.embed(np.zeros((1, 1, 257), dtype=np.float32), 64.0)
    assert str(error.value) == ("model 'tx': windows of 257 samples are longer than TiRex's "
                                "context of 256 samples; use shorter windows or a lower "
                                "input_hz")
    with pytest.raises(ModelError, match=r"unknown option\(s\) backend"):
        TiRexModel(name="m", weights="random", backend="cuda")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as error:
        TiRexModel(name="tirex")
    assert "\n" not in str(error.value) and "`hf download NX-AI/TiRex`" in str(error.value)
    with pytest.raises(ModelError, match=r"lacks model\.ckpt"):
        TiRexModel(name="m", weights=str(tmp_path))
