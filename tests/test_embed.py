"""The embed stage: shards, merge, store, input checks and the CLI, on real neurokit2 suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from physio_bench.cli import main
from physio_bench.errors import ConfigError, InputError, ModelError
from physio_bench.io import load_npy, save_npy
from physio_bench.models.baselines import RawModel, SpectralModel
from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.models.store import read_embeddings
from physio_bench.preflight import load_config

MODELS = {
    "raw": {"plugin": "raw"},
    "spectral": {"plugin": "spectral", "context_samples": 128},
    "handcrafted": {"plugin": "handcrafted"},
}


def make_config(shard_size: int = 4, batch_size: int = 3, **embed: Any) -> dict[str, Any]:
    config = load_config()
    config["models"] = {k: dict(v) for k, v in MODELS.items()}
    config["embed"].update(shard_size=shard_size, batch_size=batch_size, **embed)
    return config


def embed_all(config: dict[str, Any], model: str, suite_dir: Path, out: Path) -> dict:
    """Every shard of a suite, then the merge (as the workflow does)."""
    n = load_npy(suite_dir / "signals.npy").shape[0]
    size = config["embed"]["shard_size"]
    shards = [out / "shards" / f"{i:04d}.npz" for i in range(-(-n // size))]
    for index, shard in enumerate(shards):
        embed_shard(config, model, suite_dir, index, shard)
    return merge_embeddings(config, model, shards, out)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_round_trip_equals_direct_embedding(make_suite, tmp_path, model) -> None:
    suite = make_suite("scenarios", n_windows=5, n_channels=5, n_samples=256)
    config = make_config(token_dtype="float32")
    info = embed_all(config, model, suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")

    from physio_bench.models.registry import load_model
    direct = load_model(model, config["models"][model], seed=config["seed"]).embed(
        np.load(suite / "signals.npy"), 100.0)
    tokens = direct.layers["output"]
    assert stored.pooled.shape == (1, 5, tokens.shape[2])
    assert stored.pooled.dtype == np.float32
    np.testing.assert_allclose(stored.pooled_layer("output"), tokens.mean(axis=1), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(stored.tokens("output"), tokens)
    np.testing.assert_array_equal(stored.token_spans, direct.token_spans)
    np.testing.assert_array_equal(stored.token_channels, direct.token_channels)
    assert info["n_windows"] == 5 and info["n_shards"] == 2
    assert stored.info == json.loads((tmp_path / "emb" / "model.json").read_text())
    for key in ("name", "plugin", "layer_names", "token_layers", "pretrained", "weights_source",
                "weights_sha256", "n_parameters", "versions", "device", "dtype", "wall_time_s",
                "windows_per_second", "description"):
        assert key in stored.info
    assert (stored.info["pretrained"], stored.info["weights_source"]) == (False,
                                                                          "none (baseline)")
    assert {"physio-bench", "numpy", "python"} <= set(stored.info["versions"])


def test_raw_and_spectral_spans_on_a_suite(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=3, n_samples=200)
    config = make_config()
    embed_all(config, "raw", suite, tmp_path / "raw")
    raw = read_embeddings(tmp_path / "raw")
    assert raw.tokens().shape == (3, 6, 32) and raw.tokens().dtype == np.float16
    np.testing.assert_array_equal(raw.token_spans, [[32 * k, 32 * k + 32] for k in range(6)])
    np.testing.assert_array_equal(raw.token_channels, [0] * 6)
    embed_all(config, "spectral", suite, tmp_path / "spectral")
    spectral = read_embeddings(tmp_path / "spectral")
    assert spectral.pooled.shape == (1, 3, 6)  # 128-sample context: 6 octave bands
    np.testing.assert_array_equal(spectral.token_spans, raw.token_spans)


def test_shard_split_invariance(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=6, n_samples=300)
    for model in ("spectral", "handcrafted"):
        one = embed_all(make_config(shard_size=6, batch_size=6), model, suite, tmp_path / "one")
        two = embed_all(make_config(shard_size=3, batch_size=2), model, suite, tmp_path / "two")
        assert (one["n_shards"], two["n_shards"]) == (1, 2)
        for name in ("pooled.npy", "token_spans.npy", "token_channels.npy", "tokens/output.npy"):
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_identical_inputs_give_identical_files(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=2, n_samples=256)
    config = make_config()
    for out in ("a", "b"):
        embed_shard(config, "raw", suite, 0, tmp_path / out / "0000.npz")
    assert (tmp_path / "a" / "0000.npz").read_bytes() == (tmp_path / "b" / "0000.npz").read_bytes()


def test_nan_window_is_refused_before_the_model_is_built(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=6, n_samples=128)
    signals = np.load(suite / "signals.npy")
    signals[5, 0, 17] = np.nan
    save_npy(suite / "signals.npy", signals)
    config = make_config(shard_size=3)
    # an interpreter that does not exist: building this model would fail with a ModelError
    config["models"]["ext"] = {"plugin": "subprocess", "python": str(tmp_path / "missing"),
                               "plugin_name": "example"}
    with pytest.raises(InputError, match=(
            r"^suite 'factors': window 5 contains NaN or infinite values: drop or interpolate "
            r"it before embedding")):
        embed_shard(config, "ext", suite, 1, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()
    embed_shard(config, "raw", suite, 0, tmp_path / "first.npz")  # shard 0 is clean


def test_unknown_model_and_missing_shard_are_one_line_errors(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=2, n_samples=128)
    config = make_config()
    with pytest.raises(ModelError, match=(r"^unknown model 'moirai-xl': configured models are "
                                          r"raw, spectral, handcrafted; add it under models:")):
        embed_shard(config, "moirai-xl", suite, 0, tmp_path / "x.npz")
    with pytest.raises(InputError, match=r"has 2 windows, i.e. shards 0..0 of 4: shard 1 does"):
        embed_shard(config, "raw", suite, 1, tmp_path / "x.npz")
    config["embed"]["token_layers"] = ["encoder.layer_03"]
    with pytest.raises(ConfigError, match=r"'embed\.token_layers' names none of the layers "
                                          r"of model 'raw': use last, all, or add some of output"):
        embed_shard(config, "raw", suite, 0, tmp_path / "x.npz")


def test_float16_overflow_is_an_error_not_inf(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=2, n_samples=128)
    save_npy(suite / "signals.npy", np.load(suite / "signals.npy") * 1e6)
    with pytest.raises(ModelError, match=r"^model 'raw': layer 'output' has values up to .*, "
                                         r"beyond float16 storage: set embed.token_dtype: float32"):
        embed_shard(make_config(), "raw", suite, 0, tmp_path / "x.npz")
    embed_shard(make_config(token_dtype="float32"), "raw", suite, 0, tmp_path / "x.npz")


def test_merge_refuses_missing_shards(make_suite, tmp_path) -> None:
    suite = make_suite("factors", n_windows=5, n_samples=128)
    config = make_config(shard_size=2)
    shards = [tmp_path / f"{i}.npz" for i in range(3)]
    for index, shard in enumerate(shards):
        embed_shard(config, "raw", suite, index, shard)
    with pytest.raises(InputError, match="expected a shard starting at window 2, got 4"):
        merge_embeddings(config, "raw", [shards[0], shards[2]], tmp_path / "out")
    merged = merge_embeddings(config, "raw", shards[::-1], tmp_path / "out")  # order-free
    assert merged["n_windows"] == 5


def test_store_errors_name_the_fix(tmp_path, make_suite) -> None:
    with pytest.raises(InputError, match=r"no embeddings at .*: run the embed stage"):
        read_embeddings(tmp_path / "nothing")
    suite = make_suite("factors", n_windows=2, n_samples=128)
    embed_all(make_config(), "raw", suite, tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    with pytest.raises(InputError, match="has no layer 'layer_03': its layers are output"):
        stored.pooled_layer("layer_03")


def test_cli_embed_and_merge_as_the_workflow_calls_them(make_suite, tmp_path, capsys) -> None:
    suite = make_suite("factors", n_windows=3, n_samples=256)
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump({
        "embed": {"shard_size": 2, "batch_size": 2},
        "models": {"raw16": {"plugin": "raw", "patch_samples": 16}}}))
    out = tmp_path / "emb" / "raw16" / "factors"
    for shard in ("0000", "0001"):
        assert main(["embed", "--configfile", str(configfile), "--model", "raw16",
                     "--suite-dir", str(suite), "--shard", shard,
                     "--out", str(out / "shards" / f"{shard}.npz")]) == 0
    sidecar = json.loads((out / "shards" / "0001.json").read_text())
    assert (sidecar["window_start"], sidecar["window_stop"]) == (2, 3)
    assert main(["merge-embeddings", "--configfile", str(configfile), "--model", "raw16",
                 "--out-dir", str(out), str(out / "shards" / "0000.npz"),
                 str(out / "shards" / "0001.npz")]) == 0
    stored = read_embeddings(out)
    expected = RawModel(name="raw16", patch_samples=16).embed(np.load(suite / "signals.npy"), 1)
    np.testing.assert_array_equal(stored.tokens(), expected.layers["output"].astype(np.float16))
    assert main(["embed", "--configfile", str(configfile), "--model", "nope", "--suite-dir",
                 str(suite), "--shard", "0000", "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("physio-bench: error: unknown model 'nope'") and "\n" not in err


def test_spectral_context_is_clipped_to_short_windows() -> None:
    model = SpectralModel(name="s", context_samples=4096)
    assert model.context_starts(256).tolist() == [0] * 8


def test_sim_and_real_suites_share_one_input_normalisation(make_suite, tmp_path) -> None:
    """The same real window (BIDMC lead II, normalised 0-1 by its authors) written into a
    simulated-format and a real-format suite reaches the model identically; robust_z makes
    units and offsets vanish (the window in 'mV' x 0.24 + 5 embeds the same), none keeps
    them (negative control)."""
    import shutil

    import pandas as pd

    from physio_bench.config import REPO_ROOT
    from physio_bench.models.embed import normalise_windows

    frame = pd.read_csv(REPO_ROOT / "data/bidmc/bidmc_01_Signals.csv.gz",
                        skipinitialspace=True, nrows=1000)
    window = frame["II"].to_numpy(np.float32)[500:756]
    sim = make_suite("factors", n_windows=2, n_samples=256)
    save_npy(sim / "signals.npy", np.stack([window, window * 0.24 + 5.0])[:, None, :])
    real = tmp_path / "real-bidmc"
    shutil.copytree(sim, real)
    meta = json.loads((real / "meta.json").read_text())
    meta.update(suite="real-bidmc", dataset="bidmc")
    (real / "meta.json").write_text(json.dumps(meta))

    def tokens(method: str, suite: Path) -> dict[str, np.ndarray]:
        out = tmp_path / method / suite.name / "0000.npz"
        embed_shard(make_config(input_normalisation=method), "raw", suite, 0, out)
        with np.load(out) as found:
            return {k: found[k] for k in found.files}

    for method in ("robust_z", "none"):
        a, b = tokens(method, sim), tokens(method, real)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    z = normalise_windows(np.stack([window, window * 0.24 + 5.0])[:, None, :], "robust_z")
    np.testing.assert_allclose(z[0], z[1], atol=1e-4)
    assert np.median(z[0]) == pytest.approx(0.0, abs=1e-6)
    raw = normalise_windows(np.stack([window, window * 0.24 + 5.0])[:, None, :], "none")
    assert not np.allclose(raw[0], raw[1])
    with pytest.raises(InputError, match="input_normalisation"):
        normalise_windows(raw, "minmax")
