"""Replicated models (``replicates: k``): seed instances everywhere the workflow lists
models, each built with its own seed; name clashes and bad values stop at the config."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from physio_bench.config import (
    enabled_models,
    instance_groups,
    model_entry,
    model_seed,
    replicate_of,
)
from physio_bench.errors import ConfigError
from physio_bench.models.embed import embed_shard, model_options
from physio_bench.models.registry import plugin_options
from physio_bench.preflight import load_config

SEEDS = [f"moirai-tiny-untrained-seed{k}" for k in range(3)]


def test_the_default_untrained_controls_run_with_three_seeds() -> None:
    config = load_config()
    instances = list(enabled_models(config))
    ttm_seeds = [f"ttm-r2-untrained-seed{k}" for k in range(3)]
    assert instances == ["raw", "spectral", "handcrafted", "moirai-small-untrained", "ttm-r2",
                         *ttm_seeds, *SEEDS, "moirai-tiny-synthetic", "moirai-tiny-shuffled"]
    assert instance_groups(config)["moirai-tiny-untrained"] == SEEDS
    assert instance_groups(config)["moirai-small-untrained"] == ["moirai-small-untrained"]
    assert instance_groups(config)["ttm-r2-untrained"] == ttm_seeds
    assert [model_seed(config, s) for s in SEEDS] == [config["seed"] + k for k in range(3)]
    assert model_seed(config, "raw") == config["seed"]
    entry = model_entry(config, SEEDS[2])
    assert entry == {"plugin": "moirai", "d_model": 128, "num_layers": 2, "weights": "random",
                     "patch_size": 64, "input_hz": 100, "enabled": True}
    assert model_options(config, SEEDS[1])["plugin"] == "moirai"
    assert replicate_of(config, SEEDS[1]) == ("moirai-tiny-untrained", 1)
    assert replicate_of(config, "raw") == ("raw", None)
    with pytest.raises(KeyError):
        replicate_of(config, "moirai-tiny-untrained-seed3")
    assert "replicates" not in plugin_options({"plugin": "moirai", "replicates": 3})


def _load(tmp_path, models: dict) -> dict:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return load_config([path])


def test_clashes_and_bad_values_stop_at_the_config(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"'models.moirai-tiny-untrained-seed1' clashes with "
                                          r"seed instance 1 of the replicated model"):
        _load(tmp_path, {"moirai-tiny-untrained-seed1": {"plugin": "raw"}})
    with pytest.raises(ConfigError, match=r"config key 'models.raw.replicates' is invalid"):
        _load(tmp_path, {"raw": {"plugin": "raw", "replicates": 0}})
    single = _load(tmp_path, {"moirai-tiny-untrained": {"replicates": 1}})
    assert "moirai-tiny-untrained" in enabled_models(single)


def test_seed_instances_get_different_random_weights(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=2, n_channels=1, n_samples=256)
    config = load_config()
    config["models"]["moirai-tiny-untrained"]["replicates"] = 2
    config["embed"].update(shard_size=2, batch_size=2, device="cpu")
    pooled, sources = [], []
    for instance in ("moirai-tiny-untrained-seed0", "moirai-tiny-untrained-seed1"):
        out = tmp_path / instance / "0000.npz"
        sidecar = embed_shard(config, instance, suite, 0, out)
        with np.load(out) as npz:
            pooled.append(np.asarray(npz["pooled"]))
        sources.append(sidecar["info"]["weights_source"])
    assert sources == [f"random (seed={config['seed']})", f"random (seed={config['seed'] + 1})"]
    assert not np.allclose(pooled[0], pooled[1])
