"""TinyTimeMixer (granite-tsfm 0.3.11) for real, in its own interpreter (``make
plugin-envs``): a tiny checkpoint with adaptive patching written there with the library's
save_pretrained, loaded through physio_bench's ``ttm`` plug-in, block outputs equal to the
library's own hidden states, padding patches dropped, channel independence."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import noisy_sine_windows
from own_env import child_run, own_env_python

from physio_bench.errors import InputError, ModelError
from physio_bench.models.external import TTMModel

PYTHON = own_env_python("ttm")
pytestmark = pytest.mark.usefixtures("offline_hub")

CONFIG = """
from tsfm_public.models.tinytimemixer import TinyTimeMixerConfig
config = TinyTimeMixerConfig(
    context_length=128, patch_length=16, patch_stride=16, prediction_length=16, d_model=32,
    num_layers=2, adaptive_patching_levels=2, decoder_d_model=16, decoder_num_layers=1,
    num_input_channels=2, scaling="std", dropout=0.1, head_dropout=0.1)
"""
WRITE = CONFIG + """
import sys, torch
from tsfm_public.models.tinytimemixer import TinyTimeMixerForPrediction
torch.manual_seed(0)
TinyTimeMixerForPrediction(config).save_pretrained(sys.argv[1])
"""
# The library's own forward with output_hidden_states: each adaptive-patching block appends
# its input, its reshaped input, every mixer layer's output and its reshaped-back output.
REFERENCE = """
import sys, numpy as np, torch
from tsfm_public.models.tinytimemixer import TinyTimeMixerForPrediction
model = TinyTimeMixerForPrediction.from_pretrained(sys.argv[1], use_safetensors=True).eval()
x = torch.from_numpy(np.load(sys.argv[2] + "/x.npy"))
m = torch.from_numpy(np.load(sys.argv[2] + "/m.npy"))
with torch.inference_mode():
    out = model(past_values=x, past_observed_mask=m, output_hidden_states=True)
group = 2 + model.config.num_layers + 1
for block in range(model.config.adaptive_patching_levels):
    np.save(sys.argv[2] + f"/b{block}.npy", out.hidden_states[(block + 1) * group - 1].numpy())
np.save(sys.argv[2] + "/backbone.npy", out.backbone_hidden_state.numpy())
"""
N_SAMPLES = 100  # right-aligned in 128: patch 0 holds only padding, patch 1 samples 0..3


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ttm") / "ck"
    child_run(PYTHON, WRITE, str(directory))
    return directory


@pytest.fixture(scope="module")
def windows():
    return noisy_sine_windows(3, 2, N_SAMPLES, 1.0, seed=12, sampling_rate_hz=16.0)


@pytest.fixture(scope="module")
def model(checkpoint):
    with TTMModel(name="ttm-tiny", weights=str(checkpoint), python=str(PYTHON)) as built:
        yield built


@pytest.fixture(scope="module")
def embedded(model, windows):
    return model.embed(windows, 16.0)


def test_shapes_spans_and_description(model, embedded):
    assert list(embedded.layers) == ["layer_00", "layer_01"]
    for array in embedded.layers.values():
        assert array.shape == (3, 14, 32)
    assert embedded.token_spans[:2].tolist() == [[0, 4], [4, 20]]
    assert embedded.token_spans[6].tolist() == [84, 100]
    assert embedded.token_channels.tolist() == [0] * 7 + [1] * 7
    info = model.describe()
    assert (info.plugin, info.pretrained, info.max_window_samples) == ("ttm", True, 128)
    assert info.default_input_hz == TTMModel.default_input_hz == 16.0
    assert info.versions["worker:physio-bench-ttm"] == "0.1.0"
    assert info.versions["granite-tsfm"] == "0.3.11"


def test_blocks_equal_the_library_hidden_states(embedded, windows, checkpoint, tmp_path):
    values = np.zeros((3, 128, 2), np.float32)
    values[:, 28:] = windows.transpose(0, 2, 1)
    observed = np.zeros_like(values)
    observed[:, 28:] = 1.0
    np.save(tmp_path / "x.npy", values)
    np.save(tmp_path / "m.npy", observed)
    child_run(PYTHON, REFERENCE, str(checkpoint), str(tmp_path))
    for index, file in ((0, "b0"), (1, "b1"), (1, "backbone")):
        reference = np.load(tmp_path / f"{file}.npy")[:, :, 1:].reshape(3, 14, 32)
        np.testing.assert_array_equal(embedded.layers[f"layer_{index:02d}"], reference)


def test_channel_independent_and_deterministic(model, windows, embedded, checkpoint):
    other = windows.copy()
    other[:, 1] *= -2.0
    np.testing.assert_array_equal(model.embed(other, 16.0).layers["layer_01"][:, :7],
                                  embedded.layers["layer_01"][:, :7])
    with TTMModel(name="again", weights=str(checkpoint), python=str(PYTHON)) as again:
        np.testing.assert_array_equal(again.embed(windows, 16.0).layers["layer_01"],
                                      embedded.layers["layer_01"])


def test_errors(model, tmp_path):
    with pytest.raises(InputError, match="windows of 129 samples are longer than TTM's "
                                         "context of 128"):
        model.embed(np.zeros((1, 1, 129), np.float32), 16.0)
    with pytest.raises(ModelError, match=r"granite-timeseries-ttm-r2 are not in the Hugging "
                                         r"Face cache"):
        TTMModel(name="m", python=str(PYTHON))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.safetensors"):
        TTMModel(name="m", weights=str(tmp_path), python=str(PYTHON))
