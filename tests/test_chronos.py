"""Chronos-Bolt and Chronos-2 adapters: shapes, spans, library agreement, weights round trip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import error_messages, sine_fixtures

from physio_bench.errors import ModelError
from physio_bench.models.chronos import ChronosModel
from physio_bench.models.weights import file_sha256, install_into_hf_cache

N_SAMPLES = 1000  # 63 patches of 16 after 8 samples of left padding


pytestmark = pytest.mark.usefixtures("offline_hub")


windows = sine_fixtures(2, 2, N_SAMPLES, 0.3, seed=5, model="bolt")[0]


@pytest.fixture(scope="module")
def bolt():
    return ChronosModel(name="bolt", seed=0, weights="random", variant="bolt-tiny")


def test_bolt_shapes_spans_and_library_agreement(bolt, windows):
    from chronos import ChronosBoltPipeline

    out = bolt.embed(windows, 250.0)
    assert list(out.layers) == ["layer_00", "layer_01", "layer_02", "layer_03", "final_norm"]
    for array in out.layers.values():
        assert array.shape == (2, 126, 256) and array.dtype == np.float32
    assert out.token_spans[:2].tolist() == [[0, 8], [8, 24]]
    assert out.token_spans[62].tolist() == [984, 1000] and out.token_spans[63].tolist() == [0, 8]
    assert out.token_channels.tolist() == [0] * 63 + [1] * 63
    out.validate(2)
    # the library's own embed() (63 patch tokens + [REG] per series) gives the same output
    library, _ = ChronosBoltPipeline(bolt.model).embed(torch.from_numpy(windows.reshape(4, -1)))
    assert library.shape == (4, 64, 256)
    np.testing.assert_array_equal(library[:, :63].numpy().reshape(2, 126, 256),
                                  out.layers["final_norm"])
    # univariate: channel 1 does not influence channel 0
    changed = windows.copy()
    changed[:, 1] *= -2.0
    np.testing.assert_array_equal(bolt.embed(changed, 250.0).layers["layer_03"][:, :63],
                                  out.layers["layer_03"][:, :63])
    info = bolt.describe()
    assert info.n_parameters == 8_652_672  # Chronos-Bolt tiny (9M)
    assert (info.pretrained, info.weights_source) == (False, "random (seed=0)")
    assert info.max_window_samples == 2048 and info.extra["variant"] == "bolt-tiny"
    assert info.versions["chronos-forecasting"]


def test_bolt_identical_inputs_identical_embeddings(bolt, windows):
    first = bolt.embed(windows, 250.0)
    second = ChronosModel(name="bolt2", seed=0, weights="random", variant="bolt-tiny").embed(
        windows.copy(), 250.0)
    for name, array in first.layers.items():
        np.testing.assert_array_equal(second.layers[name], array)


def test_bolt_round_trip_local_and_hub(bolt, windows, tmp_path):
    expected = bolt.embed(windows, 250.0).layers
    directory = tmp_path / "bolt-ck"
    bolt.model.save_pretrained(directory)
    local = ChronosModel(name="local", weights=str(directory))  # variant read from config
    assert local.variant == "bolt-tiny"
    for name, array in local.embed(windows, 250.0).layers.items():
        np.testing.assert_array_equal(array, expected[name])
    assert local.describe().weights_sha256 == file_sha256(directory / "model.safetensors")
    install_into_hf_cache(directory, "amazon/chronos-bolt-tiny",
                          Path(os.environ["HF_HOME"]) / "hub")
    hub = ChronosModel(name="hub", variant="bolt-tiny")  # default weights: the hub id
    np.testing.assert_array_equal(hub.embed(windows, 250.0).layers["final_norm"],
                                  expected["final_norm"])
    assert hub.describe().pretrained and hub.describe().weights_source == (
        "amazon/chronos-bolt-tiny")
    with pytest.raises(ModelError, match=r"hold a bolt-tiny, not variant bolt-small; "
                                         r"fix variant: or weights:"):
        ChronosModel(name="m", weights=str(directory), variant="bolt-small")


def test_errors_are_one_line(bolt, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    refused, message = error_messages(bolt, 2049, 250.0,
                                      lambda: ChronosModel(name="chronos-bolt-small"))
    assert refused == ("model 'bolt': windows of 2049 samples are longer than this "
                       "model's context of 2048 samples; use shorter windows")
    assert "\n" not in message and "weights amazon/chronos-bolt-small are not in" in message
    assert "`hf download amazon/chronos-bolt-small`" in message
    with pytest.raises(ModelError, match="option variant='bolt-huge' is not one of"):
        ChronosModel(name="m", variant="bolt-huge", weights="random")
    with pytest.raises(ModelError, match=r"unknown option\(s\) prediction_length"):
        ChronosModel(name="m", weights="random", prediction_length=64)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "t5", "d_model": 8}')
    (broken / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match=r"^model 'm': cannot load weights from .*broken \("):
        ChronosModel(name="m", weights=str(broken))


def test_bolt_every_layer_equals_the_library_embed(bolt, windows):
    """Every encoder block and the final norm, hooked while the library's public
    ``ChronosBoltPipeline.embed`` runs (its own context handling, scaling and [REG] token),
    equal ours at the 63 patch tokens of each series. Bolt-tiny is a published
    configuration (amazon/chronos-bolt-tiny). Tolerance: exact (same modules, same float32
    inputs; a different padding side, scaling or token order changes every state)."""
    from chronos import ChronosBoltPipeline

    from physio_bench.models.torch_utils import capture_outputs

    out = bolt.embed(windows, 250.0)
    encoder = bolt.model.encoder
    hooked = {f"layer_{i:02d}": block for i, block in enumerate(encoder.block)}
    hooked["final_norm"] = encoder.final_layer_norm
    with capture_outputs(hooked) as captured:
        ChronosBoltPipeline(bolt.model).embed(torch.from_numpy(windows.reshape(4, -1)))
    assert list(captured) == list(out.layers)
    for name, state in captured.items():
        assert state.shape == (4, 64, 256), name  # 63 patches + [REG]
        np.testing.assert_array_equal(state[:, :63].numpy().reshape(2, 126, 256),
                                      out.layers[name], err_msg=name)
