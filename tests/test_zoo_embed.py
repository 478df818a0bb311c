"""The model-zoo plug-ins through the embed stage: entry points, protocol checks, stored
embeddings equal to the adapter's own output (main environment and own interpreter)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_moment import TINY as MOMENT_TINY
from test_moment import WRITE as MOMENT_WRITE

from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.models.moirai2 import Moirai2Model
from physio_bench.models.registry import available_plugins
from physio_bench.models.store import read_embeddings
from physio_bench.preflight import load_config

pytestmark = pytest.mark.usefixtures("offline_hub")
ZOO = ("moirai2", "timesfm", "tirex", "toto", "ttm", "moment")


def make_config(models: dict) -> dict:
    config = load_config()
    config["models"] = models
    config["embed"].update({"shard_size": 3, "batch_size": 2, "token_layers": "all",
                            "token_dtype": "float32"})
    return config


def embed_suite(config: dict, model: str, suite, out) -> dict:
    shards = [out / "shards" / f"{i:04d}.npz" for i in range(2)]
    for index, shard in enumerate(shards):
        embed_shard(config, model, suite, index, shard)
    return merge_embeddings(config, model, shards, out)


def test_every_zoo_model_is_an_installed_entry_point():
    plugins = available_plugins()
    assert set(ZOO) <= set(plugins)
    for name in ZOO:
        assert plugins[name].value.startswith("physio_bench.models.")
        assert plugins[name].load().default_input_hz > 0


def test_moirai2_through_the_embed_stage(make_suite, tmp_path):
    suite = make_suite("scenarios", n_windows=5, n_channels=2, n_samples=96,
                       sampling_rate_hz=50.0)
    config = make_config({"m2": {"plugin": "moirai2", "weights": "random"}})
    info = embed_suite(config, "m2", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    direct = Moirai2Model(name="m2", seed=config["seed"], weights="random", progress=False)
    expected = direct.embed(np.load(suite / "signals.npy"), 50.0)
    for layer in stored.layer_names:  # other batches (2 windows, not 5): float rounding only
        np.testing.assert_allclose(stored.tokens(layer), expected.layers[layer], rtol=1e-5,
                                   atol=1e-5)
    np.testing.assert_array_equal(stored.token_spans, expected.token_spans)
    assert (info["plugin"], info["pretrained"]) == ("moirai2", False)


def test_moment_through_the_embed_stage(make_suite, tmp_path):
    from own_env import child_run, own_env_python

    python = own_env_python("moment")
    checkpoint = tmp_path / "ck"
    child_run(python, MOMENT_WRITE, str(checkpoint), json.dumps(MOMENT_TINY))
    suite = make_suite("factors", n_windows=5, n_samples=300, sampling_rate_hz=16.0)
    config = make_config({"moment": {"plugin": "moment", "weights": str(checkpoint),
                                     "python": str(python)}})
    info = embed_suite(config, "moment", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    assert info["plugin"] == "moment" and info["pretrained"]
    assert stored.layer_names == ["layer_00", "layer_01", "final_norm"]
    assert stored.token_spans[0].tolist() == [4, 12]  # 300 = 4 + 37 x 8: no half patch
    assert stored.tokens("final_norm").shape == (5, 37, 32)
