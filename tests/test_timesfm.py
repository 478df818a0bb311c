"""TimesFM 2.5 adapter (the real 200M architecture: the library fixes it in code, so there is
no smaller configuration to write): the library's decode path, causality, spans, and a
checkpoint written with the library's save_pretrained, loaded from a directory and from
the hub cache."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import sine_fixtures

from physio_bench.errors import InputError, ModelError
from physio_bench.models.timesfm import TimesFMModel
from physio_bench.models.weights import file_sha256, install_into_hf_cache

N_SAMPLES = 100  # 4 patches of 32 after 28 samples of left padding

pytestmark = [pytest.mark.usefixtures("offline_hub"), pytest.mark.slow]


windows, embedded = sine_fixtures(2, 2, N_SAMPLES, 1.5, seed=8, sampling_rate_hz=50.0,
                                  model="untrained")


@pytest.fixture(scope="module")
def untrained():
    return TimesFMModel(name="tf", seed=0, weights="random", progress=False)


def test_shapes_spans_and_description(untrained, embedded):
    assert list(embedded.layers) == [f"layer_{i:02d}" for i in range(20)]
    for array in embedded.layers.values():
        assert array.shape == (2, 8, 1280) and array.dtype == np.float32
    assert embedded.token_spans.tolist() == [[0, 4], [4, 36], [36, 68], [68, 100]] * 2
    assert embedded.token_channels.tolist() == [0] * 4 + [1] * 4
    embedded.validate(2)
    info = untrained.describe()
    assert (info.pretrained, info.weights_source) == (False, "random (seed=0)")
    assert info.n_parameters == 231_289_280  # TimesFM 2.5 (200M)
    assert info.max_window_samples == 16384 and info.default_input_hz == 50.0
    assert info.versions["timesfm"] == "3.0.2"


def test_every_layer_equals_the_library_forecast(untrained, windows, embedded):
    """Every layer equals what the library's public ``forecast`` computes in its prefill
    (``compile(ForecastConfig(normalize_inputs=True))``; left padding to ``max_context``
    with masked zeros, as ``forecast`` does; no flip pass; a horizon <= 128 makes the prefill
    the only pass).

    Tolerance 1e-4 (absolute and relative): ``forecast`` standardises each padded row of 128
    (its mean and std include the 28 padded zeros), we standardise the 100 real samples;
    both are affine maps that the running per-patch normalisation undoes, so the tokens
    agree up to float32 rounding carried through 20 layers (measured max |diff| 5e-7 on
    states of order 1-100). A change in padding side, masks, patching or normalisation
    moves them by order 1."""
    from timesfm import ForecastConfig, TimesFM_2p5_200M_torch

    wrapper = TimesFM_2p5_200M_torch(torch_compile=False)
    wrapper.model = untrained.module
    wrapper.compile(ForecastConfig(max_context=128, max_horizon=128, normalize_inputs=True,
                                   force_flip_invariance=False, per_core_batch_size=4))
    captured: dict[int, list[torch.Tensor]] = {i: [] for i in range(20)}
    handles = [layer.register_forward_hook(
        lambda _m, _i, out, i=i: captured[i].append(out[0].detach().clone()))
        for i, layer in enumerate(untrained.module.stacked_xf)]
    try:
        points, _ = wrapper.forecast(16, list(windows.reshape(4, N_SAMPLES)))
    finally:
        for handle in handles:
            handle.remove()
    assert points.shape == (4, 16) and np.isfinite(points).all()
    worst = 0.0
    for i in range(20):
        assert len(captured[i]) == 1  # the prefill only
        library = captured[i][0].numpy().reshape(2, 8, 1280)
        ours = embedded.layers[f"layer_{i:02d}"]
        np.testing.assert_allclose(ours, library, rtol=1e-4, atol=1e-4, err_msg=f"layer {i}")
        worst = max(worst, float(np.abs(ours - library).max()))
    print(f"timesfm every-layer max abs diff {worst:.3g}")


def test_causal_and_channel_independent(untrained, windows, embedded):
    changed = windows.copy()
    changed[:, :, -32:] = changed[:, :, -32:][:, :, ::-1]  # same mean and scale
    moved = untrained.embed(changed, 50.0).layers["layer_19"]
    before = embedded.layers["layer_19"]
    np.testing.assert_allclose(moved[:, [0, 1, 2, 4, 5, 6]], before[:, [0, 1, 2, 4, 5, 6]],
                               rtol=1e-4, atol=1e-4)
    assert not np.allclose(moved[:, 3], before[:, 3], rtol=1e-3, atol=1e-3)
    other = windows.copy()
    other[:, 1] = other[:, 1, ::-1]
    np.testing.assert_array_equal(untrained.embed(other, 50.0).layers["layer_19"][:, :4],
                                  before[:, :4])


def test_checkpoint_round_trip_local_and_hub(untrained, windows, embedded, tmp_path):
    from timesfm import TimesFM_2p5_200M_torch

    wrapper = TimesFM_2p5_200M_torch(torch_compile=False)
    wrapper.model = untrained.module
    directory = tmp_path / "timesfm-ck"
    wrapper.save_pretrained(directory)  # the library's hub layout: model.safetensors
    del wrapper
    gc.collect()
    local = TimesFMModel(name="local", weights=str(directory), progress=False)
    np.testing.assert_array_equal(local.embed(windows, 50.0).layers["layer_19"],
                                  embedded.layers["layer_19"])
    info = local.describe()
    assert info.pretrained and info.weights_sha256 == file_sha256(
        directory / "model.safetensors")
    del local
    gc.collect()
    install_into_hf_cache(directory, "google/timesfm-2.5-200m-pytorch",
                          Path(os.environ["HF_HOME"]) / "hub")
    hub = TimesFMModel(name="hub", progress=False)
    assert hub.describe().weights_source == "google/timesfm-2.5-200m-pytorch"
    np.testing.assert_array_equal(hub.embed(windows, 50.0).layers["layer_00"],
                                  embedded.layers["layer_00"])


def test_errors(untrained, tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"^model 'tf': windows of 16385 samples are longer "
                                         r"than TimesFM's context of 16384 samples"):
        untrained.embed(np.zeros((1, 1, 16385), dtype=np.float32), 50.0)
    with pytest.raises(ModelError, match=r"unknown option\(s\) torch_compile"):
        TimesFMModel(name="m", weights="random", torch_compile=True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as error:
        TimesFMModel(name="timesfm-2.5")
    message = str(error.value)
    assert "\n" not in message and "`hf download google/timesfm-2.5-200m-pytorch`" in message
