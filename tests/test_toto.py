"""Toto (toto-ts 0.2.0) for real, in its own interpreter (``make plugin-envs``): a tiny
checkpoint written there in the hub layout (config.json + model.safetensors), loaded
through physio_bench's ``toto`` plug-in, layers equal to the library's own forward,
causality along time, channels mixed by the space-wise layers."""

from __future__ import annotations

import json

import numpy as np
import own_env
import pytest
from conftest import assert_tokens, noisy_sine_windows
from own_env import child_run, own_env_python, plugin_fixtures, run_reference

from physio_bench.errors import ModelError
from physio_bench.models.external import TotoModel

PYTHON = own_env_python("toto")
pytestmark = pytest.mark.usefixtures("offline_hub")

TINY = {"patch_size": 16, "stride": 16, "embed_dim": 32, "num_layers": 2, "num_heads": 2,
        "mlp_hidden_dim": 64, "dropout": 0.1, "spacewise_every_n_layers": 2,
        "scaler_cls": "<class 'model.scaler.CausalPatchStdMeanScaler'>",
        "output_distribution_classes": ["<class 'model.distribution.MixtureOfStudentTsOutput'>"],
        "output_distribution_kwargs": {"k_components": 2}, "spacewise_first": True,
        "use_memory_efficient_attention": True}
WRITE = """
import json, sys, torch
from safetensors.torch import save_file
from toto.model.toto import Toto
config = json.loads(sys.argv[2])
torch.manual_seed(0)
model = Toto(**{**config, "use_memory_efficient_attention": False})
import pathlib; pathlib.Path(sys.argv[1]).mkdir(parents=True)
json.dump(config, open(sys.argv[1] + "/config.json", "w"))
save_file(model.state_dict(), sys.argv[1] + "/model.safetensors")
"""
# The library's own inference path: TotoForecaster's left padding (pad_array) and the
# backbone's transformer, whose output feeds the output distribution.
REFERENCE = """
import sys, numpy as np, torch
from toto.data.util.dataset import pad_array
from toto.model.toto import Toto
model = Toto.load_from_checkpoint(sys.argv[1], map_location="cpu", strict=True).model.eval()
x = torch.from_numpy(np.load(sys.argv[2] + "/x.npy"))
valid = pad_array(torch.ones_like(x, dtype=torch.bool), model.patch_embed.stride)
series = pad_array(x, model.patch_embed.stride)
ids = torch.zeros_like(series, dtype=torch.int)
with torch.inference_mode():
    scaled, _, _ = model.scaler(series, weights=torch.ones_like(series),
                                padding_mask=valid, prefix_length=None)
    embedded, reduced = model.patch_embed(scaled, ids)
    out = model.transformer(embedded, reduced, None)
np.save(sys.argv[2] + "/out.npy", out.numpy())
"""
N_SAMPLES = 100  # 7 patches of 16 after 12 samples of padding


checkpoint, windows, model, embedded = plugin_fixtures(
    TotoModel, PYTHON, WRITE, (json.dumps(TINY),), "toto-tiny", (3, 2, N_SAMPLES, 4.0, 10), 128.0)


def test_shapes_spans_and_description(model, embedded):
    assert_tokens(embedded, ["layer_00", "layer_01"], (3, 14, 32),
                  {0: [0, 4], 1: [4, 20], 6: [84, 100]}, [0] * 7 + [1] * 7)
    info = model.describe()
    assert (info.plugin, info.pretrained, info.max_window_samples) == ("toto", True, 4096)
    assert info.architecture.startswith("Toto (toto-ts TotoBackbone): 2 layers (1 space-wise)")
    assert info.versions["worker:numpy"] == "1.26.4"
    assert info.default_input_hz == TotoModel.default_input_hz == 128.0


def test_last_layer_equals_the_library_forward(embedded, windows, checkpoint, tmp_path):
    run_reference(PYTHON, REFERENCE, checkpoint, tmp_path, x=windows)
    reference = np.load(tmp_path / "out.npy")  # windows x channels x patches x dim
    np.testing.assert_array_equal(embedded.layers["layer_01"], reference.reshape(3, 14, 32))


def test_causal_in_time_mixed_across_channels(model, windows, embedded):
    changed = windows.copy()
    changed[:, :, -16:] *= 3.0  # the last patch only: causal scaler and attention
    moved = model.embed(changed, 128.0).layers["layer_01"]
    before = embedded.layers["layer_01"]
    keep = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    np.testing.assert_allclose(moved[:, keep], before[:, keep], rtol=1e-5, atol=1e-5)
    assert not np.allclose(moved[:, 6], before[:, 6])
    other = windows.copy()
    other[:, 1] *= -2.0  # channel 1 only: channel 0's tokens see it (space-wise layer)
    crossed = model.embed(other, 128.0).layers["layer_01"]
    assert not np.allclose(crossed[:, :7], before[:, :7])


def test_deterministic_and_errors(model, embedded, windows, checkpoint, tmp_path):
    with TotoModel(name="again", weights=str(checkpoint), python=str(PYTHON)) as again:
        np.testing.assert_array_equal(again.embed(windows, 128.0).layers["layer_00"],
                                      embedded.layers["layer_00"])
    own_env.assert_refusals(
        model, TotoModel, PYTHON, 4097, 128.0, "Toto's context of 4096",
        r"Datadog/Toto-Open-Base-1.0")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.safetensors"):
        TotoModel(name="m", weights=str(tmp_path), python=str(PYTHON))
    with pytest.raises(ModelError, match=r"unexpected keyword argument 'context'"):
        TotoModel(name="m", weights=str(tmp_path), python=str(PYTHON), context=3)


# The published Toto-Open-Base-1.0 structure (patch 64, 12 layers, the last one space-wise,
# 24 mixture components, causal patch scaler), narrowed (64 dims, 4 heads) to stay small.
PUBLISHED = {**TINY, "patch_size": 64, "stride": 64, "embed_dim": 64, "num_layers": 12,
             "num_heads": 4, "mlp_hidden_dim": 128, "spacewise_every_n_layers": 12,
             "spacewise_first": False, "output_distribution_kwargs": {"k_components": 24},
             "use_memory_efficient_attention": False}
# The library's public forecasting entry point: TotoForecaster.forecast on a
# MaskedTimeseries (its own pad_array, scaler prefix and id mask); a horizon of one patch
# without the key/value cache is a single backbone pass over the context (plus one patch
# the forecaster appends later, which it never feeds back here).
FORECAST = """
import sys, numpy as np, torch
from toto.data.util.dataset import MaskedTimeseries
from toto.inference.forecaster import TotoForecaster
from toto.model.toto import Toto
backbone = Toto.load_from_checkpoint(sys.argv[1], map_location="cpu", strict=True).model.eval()
x = torch.from_numpy(np.load(sys.argv[2] + "/x.npy"))
captured = {}
for i, layer in enumerate(backbone.transformer.layers):
    layer.register_forward_hook(lambda _m, _i, out, i=i: captured.setdefault(i, []).append(out))
inputs = MaskedTimeseries(series=x, padding_mask=torch.ones_like(x, dtype=torch.bool),
    id_mask=torch.zeros_like(x, dtype=torch.int),
    timestamp_seconds=torch.zeros_like(x, dtype=torch.int),
    time_interval_seconds=torch.full(x.shape[:2], 1, dtype=torch.int))
with torch.inference_mode():
    forecast = TotoForecaster(backbone).forecast(inputs, prediction_length=64, num_samples=None,
                                                 use_kv_cache=False)
assert np.isfinite(forecast.mean.numpy()).all()
assert all(len(v) == 1 for v in captured.values()), {k: len(v) for k, v in captured.items()}
np.save(sys.argv[2] + "/out.npy", np.stack([captured[i][0].numpy() for i in sorted(captured)]))
"""


def test_every_layer_equals_the_library_forecaster_at_the_published_structure(tmp_path):
    """All 12 layers at the published structure equal ``TotoForecaster.forecast``'s pass.

    Tolerance: exact (``assert_array_equal``). Both sides run the same float32 modules on
    the same padded tensors in the same order, so any difference means a different padding
    side, mask, scaler prefix or channel grouping."""
    directory = tmp_path / "ck"
    child_run(PYTHON, WRITE, str(directory), json.dumps(PUBLISHED))
    windows = noisy_sine_windows(2, 3, 300, 4.0, seed=12, sampling_rate_hz=128.0)
    with TotoModel(name="toto-published", weights=str(directory), python=str(PYTHON)) as model:
        ours = model.embed(windows, 128.0)
    assert model.describe().architecture.startswith(
        "Toto (toto-ts TotoBackbone): 12 layers (1 space-wise), 64 dims, patch 64")
    np.save(tmp_path / "x.npy", windows)
    child_run(PYTHON, FORECAST, str(directory), str(tmp_path))
    library = np.load(tmp_path / "out.npy")  # layers x windows x channels x patches x dim
    assert library.shape == (12, 2, 3, 5, 64)  # 300 samples: 20 padded, 5 patches of 64
    assert list(ours.layers) == [f"layer_{i:02d}" for i in range(12)]
    for i in range(12):
        np.testing.assert_array_equal(ours.layers[f"layer_{i:02d}"],
                                      library[i].reshape(2, 15, 64), err_msg=f"layer {i}")
