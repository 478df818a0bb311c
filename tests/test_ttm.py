"""TinyTimeMixer (granite-tsfm 0.3.11) for real, in its own interpreter (``make
plugin-envs``): a tiny checkpoint with adaptive patching written there with the library's
save_pretrained, loaded through physio_bench's ``ttm`` plug-in, block outputs equal to the
library's own hidden states, padding patches dropped, channel independence; the zero-shot
forecast through the subprocess proxy equal to the library's head; the shipped TTM-R2
weights (data/weights/ttm-r2): the published model, continuing a sine where its untrained
twin does not, refused in one line when damaged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_tokens, noisy_sine_windows
from own_env import (
    REPO,
    assert_refusals,
    child_run,
    own_env_python,
    plugin_fixtures,
    run_reference,
)

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


checkpoint, windows, model, embedded = plugin_fixtures(
    TTMModel, PYTHON, WRITE, (), "ttm-tiny", (3, 2, N_SAMPLES, 1.0, 12), 16.0)


def test_shapes_spans_and_description(model, embedded):
    assert_tokens(embedded, ["layer_00", "layer_01"], (3, 14, 32),
                  {0: [0, 4], 1: [4, 20], 6: [84, 100]}, [0] * 7 + [1] * 7)
    info = model.describe()
    assert (info.plugin, info.pretrained, info.max_window_samples) == ("ttm", True, 128)
    assert info.default_input_hz == TTMModel.default_input_hz == 25.0
    assert info.versions["worker:physio-bench-ttm"] == "0.1.0"
    assert info.versions["granite-tsfm"] == "0.3.11"


def test_blocks_equal_the_library_hidden_states(embedded, windows, checkpoint, tmp_path):
    values = np.zeros((3, 128, 2), np.float32)
    values[:, 28:] = windows.transpose(0, 2, 1)
    observed = np.zeros_like(values)
    observed[:, 28:] = 1.0
    run_reference(PYTHON, REFERENCE, checkpoint, tmp_path, x=values, m=observed)
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
    assert_refusals(
        model, TTMModel, PYTHON, 129, 16.0, "TTM's context of 128",
        r"granite-timeseries-ttm-r2")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.safetensors"):
        TTMModel(name="m", weights=str(tmp_path), python=str(PYTHON))


# ------------------------------------------------------------------ the shipped TTM-R2
# data/weights/ttm-r2: the published weights (README there: provenance, SHA256SUMS); the
# default run's ttm-r2 and, with weights: random and config:, its untrained twin.
SHIPPED = REPO / "data" / "weights" / "ttm-r2"
SHIPPED_NAME = "physio_bench:data/weights/ttm-r2"  # as config.yaml names it
PUBLISHED_SHA256 = "a706726a7eb01bbcb42994b7dcb3c06ea9557898dbae8d480eb04fe8ccb89710"
LIBRARY_FORECAST = """
import sys, numpy as np, torch
from tsfm_public.models.tinytimemixer import TinyTimeMixerForPrediction
model = TinyTimeMixerForPrediction.from_pretrained(sys.argv[1], use_safetensors=True).eval()
x = torch.from_numpy(np.load(sys.argv[2] + "/x.npy"))
m = torch.from_numpy(np.load(sys.argv[2] + "/m.npy"))
with torch.inference_mode():
    out = model(past_values=x, past_observed_mask=m)
np.save(sys.argv[2] + "/y.npy", out.prediction_outputs.numpy())
print(len(model.state_dict()), sum(p.numel() for p in model.parameters()))
"""


def sine(period: float, n: int, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(n) / period + phase).astype(np.float32)


@pytest.fixture(scope="module")
def ttm_r2():
    with TTMModel(name="ttm-r2", weights=SHIPPED_NAME, python=str(PYTHON)) as built:
        yield built


@pytest.fixture(scope="module")
def twins():
    models = [TTMModel(name=f"ttm-r2-untrained-seed{k}", seed=k, weights="random",
                       config=SHIPPED_NAME, python=str(PYTHON)) for k in range(3)]
    yield models
    for model in models:
        model.close()


def test_shipped_weights_are_the_published_model(ttm_r2, tmp_path):
    info = ttm_r2.describe()
    assert (info.pretrained, info.weights_source) == (True, SHIPPED_NAME)
    assert info.weights_sha256 == PUBLISHED_SHA256
    assert info.extra["n_parameters_with_head"] == 805_280
    assert (info.extra["forecast_horizon_samples"], info.extra["forecast_context_samples"]) == (
        96, 512)
    assert (info.max_window_samples, info.layer_names) == (512, ["layer_00", "layer_01",
                                                                  "layer_02"])
    np.save(tmp_path / "x.npy", np.zeros((1, 512, 1), np.float32))
    np.save(tmp_path / "m.npy", np.ones((1, 512, 1), np.float32))
    # the library loads every tensor of the model from the file (none initialised at random)
    assert child_run(PYTHON, LIBRARY_FORECAST, str(SHIPPED), str(tmp_path)).split() == [
        "134", "805280"]


def test_forecast_continues_a_sine_and_the_twin_does_not(ttm_r2, twins):
    assert ttm_r2.members == ("forecast",) and callable(ttm_r2.forecast)
    context = np.stack([sine(24, 608)[None], sine(96, 608)[None], sine(24, 608, 1.0)[None]])
    result = ttm_r2.forecast(context[:, :, :512], 96, 16.0)
    assert result["quantile_levels"] == [0.5] and "nll" not in result
    assert result["quantiles"].shape == (3, 1, 1, 96)
    assert result["quantiles"].dtype == np.float32
    for window in range(3):
        forecast, truth = result["quantiles"][window, 0, 0], context[window, 0, 512:]
        assert np.corrcoef(forecast, truth)[0, 1] > 0.99
    for twin in twins:
        forecast = twin.forecast(context[:1, :, :512], 96, 16.0)["quantiles"][0, 0, 0]
        assert abs(np.corrcoef(forecast, context[0, 0, 512:])[0, 1]) < 0.5


def test_forecast_equals_the_library_head(model, checkpoint, tmp_path):
    rng = np.random.default_rng(3)
    long = rng.standard_normal((2, 2, 150)).astype(np.float32)  # > context 128: last 128 used
    short = rng.standard_normal((2, 2, 100)).astype(np.float32)  # left-padded, unobserved
    for name, context, used in (("long", long, long[:, :, -128:]), ("short", short, short)):
        values = np.zeros((2, 128, 2), np.float32)
        values[:, 128 - used.shape[2]:] = used.transpose(0, 2, 1)
        observed = np.zeros_like(values)
        observed[:, 128 - used.shape[2]:] = 1.0
        folder = tmp_path / name
        folder.mkdir()
        np.save(folder / "x.npy", values)
        np.save(folder / "m.npy", observed)
        child_run(PYTHON, LIBRARY_FORECAST, str(checkpoint), str(folder))
        library = np.load(folder / "y.npy").transpose(0, 2, 1)  # windows x channels x 16
        got = model.forecast(context, 10, 16.0)
        np.testing.assert_array_equal(got["quantiles"][:, :, 0], library[:, :, :10])
    assert model.describe().extra["forecast_horizon_samples"] == 16


def test_forecast_errors(model):
    with pytest.raises(InputError, match="horizon of 17 samples: TTM's head forecasts 1 to 16"):
        model.forecast(np.zeros((1, 1, 64), np.float32), 17, 16.0)
    with pytest.raises(InputError, match="context contains NaN"):
        model.forecast(np.full((1, 1, 64), np.nan, np.float32), 4, 16.0)


def test_a_proxy_has_forecast_only_when_its_model_has_it(model):
    import sys

    from physio_bench.models.subprocess_plugin import SubprocessModel

    assert model.members == ("forecast",)
    with SubprocessModel(name="raw-elsewhere", python=sys.executable, plugin_name="raw") as raw:
        assert raw.members == () and not hasattr(raw, "forecast")


def test_untrained_twin_same_architecture_random_seeded(ttm_r2, twins):
    infos = [twin.describe() for twin in twins]
    pretrained = ttm_r2.describe()
    for seed, info in enumerate(infos):
        assert (info.pretrained, info.weights_source) == (False, f"random (seed={seed})")
        assert info.architecture == pretrained.architecture
        assert info.n_parameters == pretrained.n_parameters
        assert info.extra["config_source"] == SHIPPED_NAME
        assert info.extra["config_sha256"] == pretrained.extra["config_sha256"]
    assert len({info.weights_sha256 for info in infos} | {pretrained.weights_sha256}) == 4
    with TTMModel(name="again", seed=1, weights="random", config=str(SHIPPED),
                  python=str(PYTHON)) as again:
        assert again.describe().weights_sha256 == infos[1].weights_sha256
        windows = noisy_sine_windows(2, 1, 512, 0.5, seed=1, sampling_rate_hz=16.0)
        np.testing.assert_array_equal(again.embed(windows, 16.0).layers["layer_02"],
                                      twins[1].embed(windows, 16.0).layers["layer_02"])
    with pytest.raises(ModelError, match=r"^model 'bad': weights: random needs option config"):
        TTMModel.weights_files({"weights": "random"}, name="bad")
    with pytest.raises(ModelError, match=r"option config is for weights: random only"):
        TTMModel.weights_files({"weights": str(SHIPPED), "config": str(SHIPPED)}, name="bad")


@pytest.mark.parametrize("damage", ["truncated", "corrupted", "unlisted"])
def test_damaged_weights_are_refused_in_one_line(damage, tmp_path):
    import shutil

    from physio_bench.models.weights import check_weights_on_disk

    copy = tmp_path / "ttm-r2"
    shutil.copytree(SHIPPED, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "truncated":
        weights.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "corrupted":
        data[len(data) // 2] ^= 0x01  # one bit: the file still parses as safetensors
        weights.write_bytes(bytes(data))
    else:
        sums = (copy / "SHA256SUMS").read_text().splitlines()
        (copy / "SHA256SUMS").write_text("\n".join(s for s in sums if "safetensors" not in s))
    expected = (r"does not list model\.safetensors" if damage == "unlisted"
                else r"model\.safetensors \([\d,]+ bytes\) does not match SHA256SUMS")
    options = {"plugin": "ttm", "weights": str(copy)}
    with pytest.raises(ModelError, match=expected) as caught:  # the pre-flight
        check_weights_on_disk("ttm-r2", options)
    assert "\n" not in str(caught.value)
    twin = {"plugin": "ttm", "weights": "random", "config": str(copy)}
    check_weights_on_disk("twin", twin)  # its config.json is intact
    if damage != "unlisted":  # the worker checks again when it loads
        with pytest.raises(ModelError, match="does not match SHA256SUMS"):
            TTMModel(name="ttm-r2", weights=str(copy), python=str(PYTHON))


def test_the_default_run_types_ttm_r2_and_finds_its_twin(make_suite, tmp_path):
    from physio_bench.config import enabled_models
    from physio_bench.model_types import PRETRAINED, UNTRAINED, group_types, untrained_twin
    from physio_bench.models.embed import embed_shard, merge_embeddings
    from physio_bench.preflight import load_config

    config = load_config()  # the default run: ttm-r2 and its three untrained seeds
    assert {"ttm-r2", "ttm-r2-untrained-seed0", "ttm-r2-untrained-seed2"} <= set(
        enabled_models(config))
    assert config["models"]["ttm-r2"]["input_hz"] == config["models"]["ttm-r2-untrained"][
        "input_hz"]
    config["embed"].update({"shard_size": 2, "batch_size": 2})
    suite = make_suite("factors", n_windows=2, n_samples=4000, sampling_rate_hz=125.0)
    results = tmp_path / "results"
    for instance in ("ttm-r2", "ttm-r2-untrained-seed0"):
        out = results / "embeddings" / instance / "factors"
        shard = out / "shards" / "0000.npz"
        embed_shard(config, instance, suite, 0, shard)
        info = merge_embeddings(config, instance, [shard], out)
        assert info["input"]["input_hz"] == config["models"]["ttm-r2"]["input_hz"]
    types = group_types(config, results)
    assert types["ttm-r2"].kind == PRETRAINED
    assert types["ttm-r2-untrained"].kind == UNTRAINED
    assert untrained_twin(config, results, "ttm-r2", types) == "ttm-r2-untrained"
    info = json.loads((results / "embeddings" / "ttm-r2" / "factors" / "model.json").read_text())
    assert info["weights_sha256"] == PUBLISHED_SHA256 and info["pretrained"] is True


def test_a_damaged_weights_file_stops_the_workflow_before_any_job(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    copy = tmp_path / "ttm-r2"
    shutil.copytree(SHIPPED, copy)
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100_000])  # truncated
    (tmp_path / "damaged.yaml").write_text(yaml.safe_dump(
        {"models": {"ttm-r2": {"weights": str(copy)}}}))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "all", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(tmp_path), "--cores", "1", "--configfile",
         str(tmp_path / "damaged.yaml")],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "SHA256SUMS" in line]
    assert len(errors) == 1 and "config error: model 'ttm-r2'" in errors[0], done.stderr[-2000:]
    assert "(100,000 bytes) does not match SHA256SUMS" in errors[0]
    assert not (tmp_path / "results").exists()  # nothing written, no job started



def test_shipped_ttm_r2_every_block_equals_the_library_forward(ttm_r2, tmp_path):
    """The real published TTM-R2 weights: each of its 3 adaptive-patching blocks equals the
    library's own forward (``TinyTimeMixerForPrediction(..., output_hidden_states=True)``,
    the forecasting path) on a 300-sample window right-aligned in the 512 context with the
    padding unobserved, at the 5 patches that hold real samples. Tolerance: exact (same
    modules, same float32 inputs; a different alignment, mask or scaling changes them)."""
    windows = noisy_sine_windows(2, 1, 300, 1.0, seed=15, sampling_rate_hz=25.0)
    ours = ttm_r2.embed(windows, 25.0)
    values = np.zeros((2, 512, 1), np.float32)
    values[:, 212:] = windows.transpose(0, 2, 1)
    observed = np.zeros_like(values)
    observed[:, 212:] = 1.0
    run_reference(PYTHON, REFERENCE, SHIPPED, tmp_path, x=values, m=observed)
    assert list(ours.layers) == ["layer_00", "layer_01", "layer_02"]
    for index in range(3):
        library = np.load(tmp_path / f"b{index}.npy")  # windows x channels x 8 x 192
        assert library.shape == (2, 1, 8, 192)
        np.testing.assert_array_equal(ours.layers[f"layer_{index:02d}"],
                                      library[:, :, 3:].reshape(2, 5, 192))
