"""Moirai adapter: shapes, spans, the forward path, no forecast tokens, weights round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import sine_fixtures

from physio_bench.errors import InputError, ModelError
from physio_bench.models.moirai import (
    MoiraiModel,
    encoder_hidden_states,
    pack_windows,
)
from physio_bench.models.torch_utils import capture_outputs
from physio_bench.models.weights import file_sha256, install_into_hf_cache

N_SAMPLES = 1000  # not a multiple of the patch size: the first patch is left-padded
PATCH = 32  # not the default (64): 32 tokens per channel


pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def model():
    return MoiraiModel(name="moirai-test", seed=0, weights="random", patch_size=PATCH)


windows, embedded = sine_fixtures(3, 2, N_SAMPLES, 1.2, seed=3)


def test_shapes_spans_and_description(model, embedded):
    names = [f"layer_{i:02d}" for i in range(6)] + ["final_norm"]
    assert list(embedded.layers) == names
    for array in embedded.layers.values():
        assert array.shape == (3, 64, 384) and array.dtype == np.float32
    spans = embedded.token_spans
    assert spans.shape == (64, 2) and spans.dtype == np.int64
    assert spans[:3].tolist() == [[0, 8], [8, 40], [40, 72]]  # 24 samples of left padding
    assert spans[31].tolist() == [968, 1000] and spans[32].tolist() == [0, 8]
    assert embedded.token_channels.tolist() == [0] * 32 + [1] * 32
    embedded.validate(3)
    info = model.describe()
    assert info.n_parameters == 13_827_528  # Moirai-1.x small (13.8M)
    assert (info.pretrained, info.weights_source) == (False, "random (seed=0)")
    assert info.layer_names == names and info.max_window_samples == 512 * 32
    assert (info.device, info.dtype) == ("cpu", "float32")
    assert "uni2ts" in "".join(info.versions) and "torch" in info.versions
    assert info.architecture.startswith("Moirai-1.x small (uni2ts MoiraiModule): d_model 384")


def test_identical_inputs_identical_embeddings(model, windows, embedded):
    again = model.embed(windows.copy(), 250.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(again.layers[name], array)
    same_seed = MoiraiModel(name="other", seed=0, weights="random", patch_size=PATCH)
    assert same_seed.describe().weights_sha256 == model.describe().weights_sha256
    np.testing.assert_array_equal(same_seed.embed(windows, 250.0).layers["final_norm"],
                                  embedded.layers["final_norm"])
    other_seed = MoiraiModel(name="other", seed=1, weights="random", patch_size=PATCH)
    assert other_seed.describe().weights_sha256 != model.describe().weights_sha256


def test_manual_path_equals_hooks_on_real_forward(model, windows):
    module = model.module
    packed = pack_windows(windows, 32, 128)
    hooked = {f"layer_{i}": layer for i, layer in enumerate(module.encoder.layers)}
    hooked["norm"] = module.encoder.norm
    with torch.inference_mode(), capture_outputs(hooked) as captured:
        distribution = module(**packed.as_kwargs())  # the module's own forward pass
        manual = encoder_hidden_states(module, packed)
    assert distribution is not None
    assert len(manual) == 7
    for key, state in zip(hooked, manual, strict=True):
        assert torch.equal(captured[key], state), key


def test_packing_has_no_prediction_tokens_and_uni2ts_ids(windows):
    packed = pack_windows(windows[:1], 32, 128)
    assert not packed.prediction_mask.any()
    assert packed.target.shape == (1, 64, 128)
    assert packed.sample_id.unique().tolist() == [1]
    assert packed.time_id[0].tolist() == list(range(32)) * 2
    assert packed.variate_id[0].tolist() == [0] * 32 + [1] * 32
    assert packed.patch_size.unique().tolist() == [32]
    # left padding: the first patch has 24 unobserved samples, then the window
    assert packed.observed_mask[0, 0, :32].tolist() == [False] * 24 + [True] * 8
    assert not packed.observed_mask[0, :, 32:].any()
    assert torch.equal(packed.target[0, 0, 24:32], torch.from_numpy(windows[0, 0, :8]))


def test_forecast_tokens_would_change_the_context(model, windows):
    """Why there are none: masked forecast tokens (as MoiraiForecast appends) alter every
    context token through bidirectional attention, so embeddings would depend on them."""
    import dataclasses

    module = model.module
    packed = pack_windows(windows[:1, :1], 32, 128)
    horizon = 4
    grown = {}
    for field in dataclasses.fields(packed):
        value = getattr(packed, field.name)
        tail = value[:, -horizon:].clone()
        if field.name == "time_id":
            tail = tail + horizon
        grown[field.name] = torch.cat([value, tail], dim=1)
    grown["prediction_mask"][:, -horizon:] = True
    with torch.inference_mode():
        plain = encoder_hidden_states(module, packed)[-1]
        with_forecast = encoder_hidden_states(module, type(packed)(**grown))[-1][:, :-horizon]
    assert not torch.allclose(plain, with_forecast)


def test_windows_are_independent_and_channels_are_packed(model, windows, embedded):
    alone = model.embed(windows[1:2], 250.0)
    np.testing.assert_allclose(alone.layers["final_norm"][0], embedded.layers["final_norm"][1],
                               rtol=1e-5, atol=1e-5)
    changed = windows.copy()
    changed[:, 1] *= -3.0
    moved = model.embed(changed, 250.0).layers["final_norm"]
    # channel 0's tokens see channel 1 through Moirai's any-variate attention
    assert not np.allclose(moved[:, :32], embedded.layers["final_norm"][:, :32])


def test_save_load_round_trip_local_and_hub_cache(model, windows, embedded, tmp_path):
    directory = tmp_path / "moirai-ck"
    model.module.save_pretrained(directory)
    local = MoiraiModel(name="local", seed=99, weights=str(directory), size="small",
                        patch_size=PATCH)
    np.testing.assert_array_equal(local.embed(windows, 250.0).layers["final_norm"],
                                  embedded.layers["final_norm"])
    info = local.describe()
    assert info.pretrained and info.weights_source == str(directory)
    assert info.weights_sha256 == file_sha256(directory / "model.safetensors")

    import os
    from pathlib import Path

    install_into_hf_cache(directory, "Salesforce/moirai-1.1-R-small",
                          Path(os.environ["HF_HOME"]) / "hub")
    hub = MoiraiModel(name="hub", seed=5, patch_size=PATCH)  # Salesforce/moirai-1.1-R-small
    hub_layers = hub.embed(windows, 250.0).layers
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(hub_layers[name], array)
    info = hub.describe()
    assert info.weights_source == "Salesforce/moirai-1.1-R-small" and info.pretrained
    assert len(info.extra["weights_revision"]) == 40
    with pytest.raises(ModelError, match=r"hold a Moirai with d_model 384 and 6 layers "
                                         r"\(small\), not size base; fix size: or weights:"):
        MoiraiModel(name="m", weights=str(directory), size="base")


def test_missing_hub_weights_error_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    with pytest.raises(ModelError) as error:
        MoiraiModel(name="moirai-1.0-R-small", version="1.0-R")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("model 'moirai-1.0-R-small': weights "
                              "Salesforce/moirai-1.0-R-small are not in the Hugging Face cache")
    assert "`hf download Salesforce/moirai-1.0-R-small`" in message and "HF_HOME" in message


def test_bad_options_and_paths(tmp_path):
    with pytest.raises(ModelError, match=r"^model 'm' \(plugin moirai\): unknown option\(s\) "
                                         r"context_length; known options: batch_size"):
        MoiraiModel(name="m", weights="random", context_length=10)
    with pytest.raises(ModelError, match=r"option size='huge' is not one of small, base, large"):
        MoiraiModel(name="m", weights="random", size="huge")
    with pytest.raises(ModelError, match="option patch_size=20 is not one of 8, 16, 32"):
        MoiraiModel(name="m", weights="random", patch_size=20)
    with pytest.raises(ModelError, match=r"weights directory /nonexistent/ck does not exist"):
        MoiraiModel(name="m", weights="/nonexistent/ck")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.safetensors"):
        MoiraiModel(name="m", weights=str(tmp_path))


def test_bad_windows_fail_before_compute(model):
    with pytest.raises(InputError) as error:
        model.embed(np.zeros((1, 1, 512 * 32 + 1), dtype=np.float32), 250.0)
    assert str(error.value) == (
        "model 'moirai-test': a window of 16385 samples x 1 channel(s) makes 513 tokens at "
        "patch_size 32, more than Moirai's 512; use shorter windows, fewer channels or a "
        "larger patch_size")
    with pytest.raises(InputError, match="makes 520 tokens"):
        model.embed(np.zeros((1, 5, 3300), dtype=np.float32), 250.0)
    nan = np.zeros((2, 1, 64), dtype=np.float32)
    nan[1, 0, 5] = np.nan
    with pytest.raises(InputError, match=r"1 window\(s\) contain NaN"):
        model.embed(nan, 250.0)


def test_version_comes_from_the_weights(model, tmp_path):
    from physio_bench.models.moirai import checkpoint_version, resolve_version

    assert checkpoint_version("Salesforce/moirai-1.0-R-small") == ("1.0-R", "small")
    assert checkpoint_version("/hub/models--Salesforce--moirai-1.1-R-base/snapshots/ab12"
                              ) == ("1.1-R", "base")
    assert checkpoint_version("/ckpt/my-moirai") is None
    assert resolve_version({"weights": "Salesforce/moirai-1.0-R-small"}, "m") == (
        "1.0-R", "Salesforce/moirai-1.0-R-small")
    assert resolve_version({"size": "base"}, "m") == ("1.1-R", "Salesforce/moirai-1.1-R-base")
    assert resolve_version({"version": "1.0-R"}, "m") == ("1.0-R",
                                                          "Salesforce/moirai-1.0-R-small")
    assert resolve_version({"weights": "random"}, "m") == (None, "random")
    with pytest.raises(ModelError, match=r"^model 'm': weights Salesforce/moirai-1.0-R-small "
                                         r"are Moirai 1.0-R, but option version is 1.1-R; "
                                         r"remove version: or fix it$"):
        resolve_version({"weights": "Salesforce/moirai-1.0-R-small", "version": "1.1-R"}, "m")
    assert model.describe().extra["version"] is None  # random weights: no version

    import os
    from pathlib import Path

    directory = tmp_path / "ck"
    model.module.save_pretrained(directory)
    install_into_hf_cache(directory, "Salesforce/moirai-1.0-R-small",
                          Path(os.environ["HF_HOME"]) / "hub")
    old = MoiraiModel(name="moirai-1.0-R-small", weights="Salesforce/moirai-1.0-R-small",
                      size="small", patch_size=PATCH)
    assert old.describe().extra["version"] == "1.0-R"  # not the default 1.1-R
    assert MoiraiModel(name="local", weights=str(directory), patch_size=PATCH
                       ).describe().extra["version"] == "unknown"


def test_default_patch_extrapolates_uni2ts_seconds_row_to_the_default_rate():
    """uni2ts's table stops at seconds (a sub-second rate raises KeyError there); our
    default patch applies its finest row (64-128) to 100 Hz: an extrapolation, see docs."""
    from physio_bench.models.moirai import (
        DEFAULT_INPUT_HZ,
        DEFAULT_PATCH_SIZE,
        uni2ts_patch_sizes,
    )

    assert uni2ts_patch_sizes(DEFAULT_INPUT_HZ) == (64, 128)  # finest row: seconds, 64-128
    assert uni2ts_patch_sizes(DEFAULT_INPUT_HZ)[0] == DEFAULT_PATCH_SIZE
    assert uni2ts_patch_sizes(1 / 300) == (32, 64, 128)  # 5-minute data: 32-128
    assert uni2ts_patch_sizes(1 / 86400) == (16, 32)  # daily data
    # 32 tokens-per-second budget: a 32-s window at 100 Hz is 50 tokens per channel
    assert -(-32 * int(DEFAULT_INPUT_HZ) // DEFAULT_PATCH_SIZE) == 50


def test_packing_and_every_layer_equal_moiraiforecast_convert(model, windows, embedded):
    """Our tokens are the context tokens ``MoiraiForecast._convert`` builds (its own left
    padding, channel-major ``(dim seq)`` order, time and variate ids, sample ids, masks), and
    every layer equals ``MoiraiModule.forward`` on ``_convert``'s output.

    ``prediction_length=0``: ``_convert`` then appends no forecast tokens (with them every
    context token would change: bidirectional attention; see the test above). Tolerance:
    exact for the packed tensors; 1e-5 for the states (the same float32 modules on equal
    inputs; the library's batch carries the same tokens, so only kernel rounding could
    differ; measured 0)."""
    from uni2ts.model.moirai import MoiraiForecast

    forecast = MoiraiForecast(module=model.module, prediction_length=0, target_dim=2,
                              feat_dynamic_real_dim=0, past_feat_dynamic_real_dim=0,
                              context_length=N_SAMPLES, patch_size=PATCH)
    past = torch.from_numpy(windows).transpose(1, 2)  # batch x time x variates
    converted = forecast._convert(PATCH, past, torch.ones_like(past, dtype=torch.bool),
                                  torch.zeros(past.shape[:2], dtype=torch.long))
    target, observed, sample_id, time_id, variate_id, prediction = converted
    ours = pack_windows(windows, PATCH, forecast.max_patch_size)
    assert target.shape == ours.target.shape == (3, 64, 128)
    assert not prediction.any()
    assert torch.equal(target, ours.target)
    assert torch.equal(observed, ours.observed_mask)
    assert torch.equal(sample_id.long(), ours.sample_id)
    assert torch.equal(time_id.long(), ours.time_id)
    assert torch.equal(variate_id.long(), ours.variate_id)
    module = model.module
    hooked = {f"layer_{i:02d}": layer for i, layer in enumerate(module.encoder.layers)}
    hooked["final_norm"] = module.encoder.norm
    with torch.inference_mode(), capture_outputs(hooked) as captured:
        module(target, observed, sample_id, time_id, variate_id, prediction,
               torch.full_like(time_id, PATCH))
    assert list(captured) == list(embedded.layers)
    worst = 0.0
    for name, state in captured.items():
        np.testing.assert_allclose(embedded.layers[name], state.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=name)
        worst = max(worst, float(np.abs(embedded.layers[name] - state.numpy()).max()))
    print(f"moirai every-layer max abs diff {worst:.3g}")


def test_uni2ts_has_no_sub_second_row():
    """Patch 64 at 100 Hz is our extrapolation (docs/models.md): uni2ts's own lookup has no
    row for sub-second data and raises KeyError (and, with pandas >= 2.2, even for "1s")."""
    import warnings

    from uni2ts.transform.patch import DefaultPatchSizeConstraints

    assert "ms" not in DefaultPatchSizeConstraints.DEFAULT_RANGES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(KeyError):
            DefaultPatchSizeConstraints()("10ms")
