"""Moirai 2.0 adapter: the library's packing and forward, causal attention, spans, weights
round trip (a tiny checkpoint written here, loaded from a directory and from the hub cache)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_read_from, assert_tokens, noisy_sine_windows, sine_fixtures

from physio_bench.errors import InputError, ModelError
from physio_bench.models.moirai import pack_windows
from physio_bench.models.moirai2 import Moirai2Model, build_module, module_kwargs
from physio_bench.models.torch_utils import seeded
from physio_bench.models.weights import install_into_hf_cache

TINY = {"d_model": 64, "d_ff": 128, "num_layers": 2, "patch_size": 16, "max_seq_len": 512}
N_SAMPLES = 200  # 13 patches of 16 after 8 samples of left padding

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny Moirai2Module written with the library's save_pretrained (config.json +
    model.safetensors, the hub layout)."""
    with seeded(3):
        module = build_module(TINY)
    directory = tmp_path_factory.mktemp("moirai2") / "ck"
    module.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model(checkpoint):
    return Moirai2Model(name="m2", weights=str(checkpoint))


windows, embedded = sine_fixtures(3, 2, N_SAMPLES, 1.3, seed=4, sampling_rate_hz=50.0)


def test_shapes_spans_and_description(model, embedded, checkpoint):
    assert_tokens(embedded, ["layer_00", "layer_01", "final_norm"], (3, 26, 64),
                  {0: [0, 8], 1: [8, 24], 12: [184, 200]}, [0] * 13 + [1] * 13, np.float32)
    embedded.validate(3)
    info = model.describe()
    assert_read_from(info, checkpoint)
    assert info.max_window_samples == 512 * 16 and info.default_input_hz == 50.0
    assert info.architecture.startswith("Moirai 2.0 (uni2ts Moirai2Module, decoder-only)")


def test_packing_equals_moirai2forecast_and_context_is_causal(model, windows, embedded):
    """Our context tokens are the ones Moirai2Forecast builds, and the forecast tokens it
    appends do not change them (causal attention; the scaler ignores predicted tokens)."""
    from uni2ts.model.moirai2 import Moirai2Forecast

    forecast = Moirai2Forecast(module=model.module, prediction_length=32, target_dim=2,
                               feat_dynamic_real_dim=0, past_feat_dynamic_real_dim=0,
                               context_length=N_SAMPLES)
    past = torch.from_numpy(windows).transpose(1, 2)  # batch x time x variates
    target, observed, sample_id, time_id, variate_id, prediction = forecast._convert(
        16, past, torch.ones_like(past, dtype=torch.bool),
        torch.zeros(past.shape[:2], dtype=torch.bool))
    ours = pack_windows(windows, 16, 16)
    n = 26
    assert prediction[:, n:].all() and not prediction[:, :n].any()
    assert torch.equal(target[:, :n], ours.target)
    assert torch.equal(observed[:, :n], ours.observed_mask)
    assert torch.equal(time_id[:, :n], ours.time_id)
    assert torch.equal(variate_id[:, :n], ours.variate_id)
    hooked = model.module.encoder.norm
    captured = []
    handle = hooked.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        with torch.inference_mode():
            model.module(target, observed, sample_id, time_id, variate_id, prediction,
                         training_mode=False)
    finally:
        handle.remove()
    np.testing.assert_allclose(captured[0][:, :n].numpy(), embedded.layers["final_norm"],
                               rtol=1e-5, atol=1e-5)


def test_hooks_equal_a_manual_forward(model, windows, embedded):
    """The hooked states are what the module's pieces compute, layer by layer."""
    from uni2ts.common.torch_util import packed_causal_attention_mask

    module = model.module
    packed = pack_windows(windows, 16, 16)
    kwargs = module_kwargs(packed)
    with torch.inference_mode():
        loc, scale = module.scaler(kwargs["target"], kwargs["observed_mask"],
                                   kwargs["sample_id"], kwargs["variate_id"])
        tokens = torch.cat([(kwargs["target"] - loc) / scale,
                            kwargs["observed_mask"].float()], dim=-1)
        x = module.in_proj(tokens)
        mask = packed_causal_attention_mask(kwargs["sample_id"], kwargs["time_id"])
        for index, layer in enumerate(module.encoder.layers):
            x = layer(x, mask, var_id=kwargs["variate_id"], time_id=kwargs["time_id"])
            np.testing.assert_array_equal(x.numpy(), embedded.layers[f"layer_{index:02d}"])
        np.testing.assert_array_equal(module.encoder.norm(x).numpy(),
                                      embedded.layers["final_norm"])


def test_earlier_tokens_do_not_see_later_patches(model, windows, embedded):
    """Changing the last patch while keeping each channel's mean and scale leaves every
    earlier token unchanged; channel 0's last token sees channel 1."""
    changed = windows.copy()
    changed[:, :, -16:] = changed[:, :, -16:][:, :, ::-1]  # same values, reordered
    moved = model.embed(changed, 50.0).layers["final_norm"]
    before = embedded.layers["final_norm"]
    np.testing.assert_allclose(moved[:, :12], before[:, :12], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(moved[:, 13:25], before[:, 13:25], rtol=1e-5, atol=1e-5)
    assert not np.allclose(moved[:, 12], before[:, 12])
    other = windows.copy()
    other[:, 1] = other[:, 1, ::-1]  # channel 1 reversed: same scale, other history
    crossed = model.embed(other, 50.0).layers["final_norm"]
    assert not np.allclose(crossed[:, 12], before[:, 12])


def test_determinism_and_hub_cache(model, windows, embedded, checkpoint):
    again = Moirai2Model(name="again", weights=str(checkpoint)).embed(windows.copy(), 50.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(again.layers[name], array)
    install_into_hf_cache(checkpoint, "Salesforce/moirai-2.0-R-small",
                          Path(os.environ["HF_HOME"]) / "hub")
    hub = Moirai2Model(name="hub")  # default weights: Salesforce/moirai-2.0-R-small
    np.testing.assert_array_equal(hub.embed(windows, 50.0).layers["final_norm"],
                                  embedded.layers["final_norm"])
    info = hub.describe()
    assert info.pretrained and info.weights_source == "Salesforce/moirai-2.0-R-small"
    assert len(info.extra["weights_revision"]) == 40


def test_random_weights_are_the_published_size_and_seeded():
    first = Moirai2Model(name="r", seed=1, weights="random")
    info = first.describe()
    assert (info.pretrained, info.weights_source) == (False, "random (seed=1)")
    assert info.n_parameters == 11_387_208  # Moirai-2.0-R-small (11.4M)
    assert info.layer_names == [f"layer_{i:02d}" for i in range(6)] + ["final_norm"]
    assert Moirai2Model(name="r", seed=1, weights="random").describe().weights_sha256 == (
        info.weights_sha256)
    assert Moirai2Model(name="r", seed=2, weights="random").describe().weights_sha256 != (
        info.weights_sha256)


def test_errors(model, tmp_path, monkeypatch):
    with pytest.raises(InputError) as error:
        model.embed(np.zeros((1, 5, 1700), dtype=np.float32), 50.0)
    assert str(error.value) == (
        "model 'm2': a window of 1700 samples x 5 channel(s) makes 535 tokens at patch_size "
        "16, more than Moirai 2.0's 512; use shorter windows, fewer channels or a lower "
        "input_hz")
    with pytest.raises(ModelError, match=r"^model 'm' \(plugin moirai2\): unknown option\(s\) "
                                         r"patch_size; known options: batch_size"):
        Moirai2Model(name="m", weights="random", patch_size=32)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as error:
        Moirai2Model(name="moirai-2.0-R-small")
    message = str(error.value)
    assert "\n" not in message and "`hf download Salesforce/moirai-2.0-R-small`" in message
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.safetensors"):
        Moirai2Model(name="m", weights=str(tmp_path))


def test_every_layer_equals_moirai2forecast_at_the_published_structure(tmp_path):
    """Moirai-2.0-R-small's structure (6 layers, patch 16, 512 tokens; narrowed to 64 dims),
    written with save_pretrained: every layer and the final norm equal
    ``Moirai2Module.forward`` on ``Moirai2Forecast._convert``'s tokens (forecast tokens
    appended; causal attention leaves the context tokens as they are). Tolerance 1e-5: the
    library's batch has 4 more (forecast) tokens per channel, so the attention kernels
    reduce over differently shaped (masked) rows; float32 rounding only (measured 0)."""
    from uni2ts.model.moirai2 import Moirai2Forecast

    from physio_bench.models.moirai2 import SMALL_CONFIG
    from physio_bench.models.torch_utils import capture_outputs

    with seeded(5):
        module = build_module({**SMALL_CONFIG, "d_model": 64, "d_ff": 128})
    module.save_pretrained(tmp_path / "ck")
    model = Moirai2Model(name="m2-published", weights=str(tmp_path / "ck"))
    windows = noisy_sine_windows(2, 3, 300, 1.1, seed=16, sampling_rate_hz=50.0)
    ours = model.embed(windows, 50.0)
    assert list(ours.layers) == [f"layer_{i:02d}" for i in range(6)] + ["final_norm"]
    forecast = Moirai2Forecast(module=model.module, prediction_length=64, target_dim=3,
                               feat_dynamic_real_dim=0, past_feat_dynamic_real_dim=0,
                               context_length=300)
    past = torch.from_numpy(windows).transpose(1, 2)
    target, observed, sample_id, time_id, variate_id, prediction = forecast._convert(
        16, past, torch.ones_like(past, dtype=torch.bool),
        torch.zeros(past.shape[:2], dtype=torch.bool))
    n = 3 * 19  # 300 samples: 4 padded, 19 patches of 16 per channel; then forecast tokens
    assert prediction[:, n:].all() and not prediction[:, :n].any()
    hooked = {f"layer_{i:02d}": layer for i, layer in enumerate(model.module.encoder.layers)}
    hooked["final_norm"] = model.module.encoder.norm
    with torch.inference_mode(), capture_outputs(hooked) as captured:
        model.module(target, observed, sample_id, time_id, variate_id, prediction,
                     training_mode=False)
    worst = 0.0
    for name, state in captured.items():
        np.testing.assert_allclose(ours.layers[name], state[:, :n].numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=name)
        worst = max(worst, float(np.abs(ours.layers[name] - state[:, :n].numpy()).max()))
    print(f"moirai2 every-layer max abs diff {worst:.3g}")
