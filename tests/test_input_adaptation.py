"""The core embed stage feeds each model at its own rate: resampling, chunks, spans mapped
back to the original window, model.json records, per-channel pooled array."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import noisy_sine_windows
from test_embed import embed_all, make_config

from physio_bench.errors import ConfigError
from physio_bench.models.chronos import ChronosModel
from physio_bench.models.embed import embed_batch, input_plan
from physio_bench.models.moirai import MoiraiModel
from physio_bench.models.resampling import InputPlan, map_spans_back, resample
from physio_bench.models.store import read_embeddings
from physio_bench.probes.data import load_embeddings

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def bolt():
    return ChronosModel(name="bolt", seed=0, weights="random", variant="bolt-tiny",
                        progress=False)


def test_long_window_is_embedded_in_chunks_like_each_chunk_alone(bolt):
    """3000 samples, context 2048: the 952-sample remainder is under half the context, so
    the first chunk is the full context [0, 2048), kept for its tokens starting before 952;
    the second is [952, 3000), aligned to the end."""
    windows = noisy_sine_windows(2, 2, 3000, 1.3, seed=7, sampling_rate_hz=100.0)
    info = bolt.describe()
    plan = input_plan({}, info, bolt, (2, 3000), 50.0)  # plug-in default: 50 Hz, no resampling
    assert (plan.input_hz, plan.resampled, plan.chunk_bounds) == (50.0, False,
                                                                 [(0, 2048), (952, 3000)])
    result, _ = embed_batch(bolt, info, windows, plan)
    first = bolt.embed(windows[..., :2048], 50.0)
    second = bolt.embed(windows[..., 952:], 50.0)
    n1, n2 = 60, 128  # patches of 16 starting at 0, 16, .., 944 (< 952); 2048 = 128 patches
    for channel in (0, 1):
        rows = np.flatnonzero(result.token_channels == channel)
        assert rows.size == n1 + n2  # channel-major: channel 0's chunks, then channel 1's
        own1 = np.flatnonzero(first.token_channels == channel)[:n1]
        own2 = np.flatnonzero(second.token_channels == channel)
        for name in info.layer_names:
            np.testing.assert_array_equal(result.layers[name][:, rows[:n1]],
                                          first.layers[name][:, own1])
            np.testing.assert_array_equal(result.layers[name][:, rows[n1:]],
                                          second.layers[name][:, own2])
        spans = result.token_spans[rows]
        assert spans[0, 0] == 0 and spans[-1, 1] == 3000
        assert (spans[1:, 0] <= spans[:-1, 1]).all()  # every sample covered
        assert spans[n1 - 1].tolist() == [944, 960] and spans[n1].tolist() == [952, 968]
    assert result.token_channels.tolist() == [0] * (n1 + n2) + [1] * (n1 + n2)


def test_resampled_embedding_equals_embedding_the_resampled_window(bolt):
    windows = noisy_sine_windows(3, 1, 1000, 1.1, seed=2, sampling_rate_hz=125.0)
    info = bolt.describe()
    plan = input_plan({"input_hz": 50}, info, bolt, (1, 1000), 125.0)
    assert (plan.up, plan.down, plan.input_samples, plan.source) == (2, 5, 400, "config")
    result, at_input = embed_batch(bolt, info, windows, plan)
    direct = bolt.embed(resample(windows, 2, 5), 50.0)
    np.testing.assert_array_equal(result.layers["final_norm"], direct.layers["final_norm"])
    np.testing.assert_array_equal(at_input, direct.token_spans)
    np.testing.assert_array_equal(result.token_spans,
                                  map_spans_back(direct.token_spans, 2, 5, 1000))
    assert result.token_spans[:2].tolist() == [[0, 40], [40, 80]]  # 16 samples at 50 Hz
    assert result.token_spans[-1].tolist() == [960, 1000]


def test_moirai_context_depends_on_channels():
    model = MoiraiModel(name="m", weights="random", progress=False)
    info = model.describe()
    assert (model.patch_size, info.default_input_hz) == (64, 100.0)
    assert model.context_samples(1) == 512 * 64 and model.context_samples(5) == 102 * 64
    plan = input_plan({}, info, model, (5, 4000), 125.0)  # 32 s at 125 Hz, five channels
    assert (plan.input_hz, plan.input_samples, plan.chunk_bounds) == (100.0, 3200,
                                                                     [(0, 3200)])
    # at 250 Hz input with patch 16, five channels need 1000 tokens: two chunks
    small = MoiraiModel(name="m16", weights="random", patch_size=16, progress=False)
    plan = input_plan({"input_hz": 250}, small.describe(), small, (5, 4000), 125.0)
    assert plan.context_samples == 1632  # 102 tokens per channel
    assert plan.chunk_bounds == [(0, 1472), (1472, 3104), (3104, 4736), (4736, 6368),
                                 (6368, 8000)]


def test_stage_records_the_input_plan_and_maps_spans(make_suite, tmp_path):
    suite = make_suite("factors", n_windows=4, n_samples=500, sampling_rate_hz=125.0)
    config = make_config()
    config["models"]["raw50"] = {"plugin": "raw", "input_hz": 50}
    info = embed_all(config, "raw50", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    # raw: 32-sample patches at 50 Hz (200 samples, 6 whole patches) -> 80 original samples
    np.testing.assert_array_equal(stored.token_spans, [[80 * k, 80 * k + 80] for k in range(6)])
    assert info["input"]["input_hz"] == 50.0 and info["input"]["input_hz_source"] == "config"
    assert (info["input"]["resampling"]["up"], info["input"]["resampling"]["down"]) == (2, 5)
    assert info["input"]["resampling"]["method"].startswith("scipy.signal.resample_poly")
    assert info["tokens"] == {"tokens_per_channel": 6, "patch_duration_s": 0.64,
                              "token_stride_s": 0.64}
    assert info["tf32"] == "not applicable (no torch model)"
    signals = np.load(suite / "signals.npy")
    expected = resample(signals, 2, 5)[..., :192].reshape(4, 6, 32)
    np.testing.assert_array_equal(stored.tokens(), expected.astype(np.float16))
    # without input_hz a baseline keeps the suite's rate
    plain = embed_all(config, "raw", suite, tmp_path / "plain")
    assert plain["input"]["input_hz_source"] == "suite rate"
    assert plain["input"]["resampling"]["method"] == "none"
    assert plain["tokens"]["patch_duration_s"] == 32 / 125


def test_moirai_stage_records_rate_patch_and_tf32(make_suite, tmp_path):
    suite = make_suite("factors", n_windows=2, n_samples=1000, sampling_rate_hz=125.0)
    config = make_config()
    config["models"]["moirai"] = {"plugin": "moirai", "weights": "random"}
    info = embed_all(config, "moirai", suite, tmp_path / "emb")
    assert info["input"]["input_hz"] == 100.0
    assert info["input"]["input_hz_source"] == "plug-in default"
    assert info["tokens"] == {"tokens_per_channel": 13, "patch_duration_s": 0.64,
                              "token_stride_s": 0.64}  # 800 samples: 12.5 patches of 64
    assert info["default_input_hz"] == 100.0
    assert info["tf32"] == "not applicable (cpu)" or info["tf32"].startswith("off (")
    spans = read_embeddings(tmp_path / "emb").token_spans
    assert spans[0].tolist() == [0, 40] and spans[1].tolist() == [40, 120]


def test_bad_input_rate_is_a_config_error_before_embedding(make_suite, tmp_path):
    suite = make_suite("factors", n_windows=2, n_samples=500, sampling_rate_hz=125.0)
    config = make_config()
    config["models"]["odd"] = {"plugin": "raw", "input_hz": 99.9937}
    with pytest.raises(ConfigError, match=r"^config key 'models.odd.input_hz': 99.9937 Hz from "
                                          r"125 Hz is the ratio"):
        embed_all(config, "odd", suite, tmp_path / "emb")
    assert not (tmp_path / "emb").exists()


def test_resampled_shards_are_byte_identical_to_one_shard(make_suite, tmp_path):
    suite = make_suite("factors", n_windows=6, n_samples=500, sampling_rate_hz=125.0)
    one_config, two_config = make_config(shard_size=6, batch_size=6), make_config(3, 2)
    for config in (one_config, two_config):
        config["models"]["spectral"]["input_hz"] = 62.5
    embed_all(one_config, "spectral", suite, tmp_path / "one")
    embed_all(two_config, "spectral", suite, tmp_path / "two")
    for name in ("pooled.npy", "token_spans.npy", "tokens/output.npy"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_per_channel_pooled_array_and_the_probes_option(make_suite, tmp_path):
    suite = make_suite("scenarios", n_windows=3, n_channels=5, n_samples=256)
    config = make_config(token_dtype="float32")
    info = embed_all(config, "raw", suite, tmp_path / "results" / "embeddings" / "raw" /
                     "scenarios")
    assert info["pooled_by_channel"] is True
    directory = tmp_path / "results" / "embeddings" / "raw" / "scenarios"
    by_channel = np.load(directory / "pooled_by_channel.npy")
    tokens = read_embeddings(directory).tokens().astype(np.float64)  # 5 channels x 8 tokens
    assert by_channel.shape == (1, 3, 5 * 32)
    for c in range(5):
        np.testing.assert_allclose(by_channel[0, :, 32 * c:32 * (c + 1)],
                                   tokens[:, 8 * c:8 * (c + 1)].mean(axis=1), rtol=1e-6)
    mean = load_embeddings(tmp_path / "results", "raw", "scenarios")
    chosen = load_embeddings(tmp_path / "results", "raw", "scenarios", pooling="by_channel")
    assert mean.pooled.shape == (1, 3, 32) and mean.info["pooling"] == "mean"
    np.testing.assert_array_equal(chosen.pooled, by_channel)
    assert chosen.info["pooling"] == "by_channel"
    # single-channel suite or a token for all channels (handcrafted: one per channel is
    # fine; the spectral model too): the file exists only for multichannel suites
    single = make_suite("factors", n_windows=2, n_samples=256)
    info = embed_all(config, "raw", single, tmp_path / "results" / "embeddings" / "raw" /
                     "factors")
    assert info["pooled_by_channel"] is False
    fallback = load_embeddings(tmp_path / "results", "raw", "factors", pooling="by_channel")
    assert fallback.info["pooling"] == "mean" and fallback.pooled.shape == (1, 2, 32)
    model_json = json.loads((directory / "model.json").read_text())
    assert model_json["tokens"]["tokens_per_channel"] == 8


def test_input_plan_rejects_nothing_for_the_suite_rate():
    plan = InputPlan.build(125.0, 4000, None, "config")
    assert (plan.up, plan.down, plan.input_samples) == (1, 1, 4000)


def test_context_s_caps_the_context_in_seconds(bolt):
    """``context_s`` (the sensitivity study's context axis): 32 s at 50 Hz in chunks of 8 s
    (400 samples, under Chronos-Bolt's 2048), at the input rate; never above the model's
    own context; the chunks then go to the model like any other chunks."""
    info = bolt.describe()
    plan = input_plan({"context_s": 8}, info, bolt, (1, 1600), 50.0)
    assert plan.chunk_bounds == [(0, 400), (400, 800), (800, 1200), (1200, 1600)]
    resampled = input_plan({"context_s": 8, "input_hz": 25}, info, bolt, (1, 3200), 100.0)
    assert resampled.input_hz == 25.0 and len(resampled.chunk_bounds) == 4  # 200 at 25 Hz
    assert input_plan({"context_s": 100}, info, bolt, (1, 3000), 50.0).chunk_bounds == [
        (0, 2048), (952, 3000)]  # the model's context (2048) wins; the short remainder overlaps
    windows = noisy_sine_windows(1, 1, 1600, 1.3, seed=8, sampling_rate_hz=50.0)
    result, _ = embed_batch(bolt, info, windows, plan)
    alone = bolt.embed(windows[..., 1200:], 50.0)  # the last chunk, embedded by itself
    np.testing.assert_array_equal(result.layers["final_norm"][:, -25:],
                                  alone.layers["final_norm"])
