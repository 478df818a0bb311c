"""TiRex adapter: the library's embedding path, recurrence (causality), spans, channel
independence; the conversion of a Lightning ``model.ckpt`` written here into config.json +
model.safetensors, and loading the converted checkpoint (safetensors only) from a directory
and from the hub cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_read_from, assert_tokens, noisy_sine_windows, sine_fixtures

from physio_bench.cli import main
from physio_bench.errors import InputError, ModelError
from physio_bench.models.tirex import (
    TiRexModel,
    build_model,
    convert_checkpoint,
    recurrence_precision,
)
from physio_bench.models.torch_utils import seeded
from physio_bench.models.weights import (
    check_weights_on_disk,
    file_sha256,
    hf_hub_cache,
    install_into_hf_cache,
)

TINY = {
    "model_config": {
        "input_patch_size": 32, "output_patch_size": 32,
        "quantiles": [0.1, 0.5, 0.9],
        "block_kwargs": {"embedding_dim": 32, "num_blocks": 2, "num_heads": 2},
        "input_ff_dim": 64,
    },
    "train_ctx_len": 256,
}
N_SAMPLES = 200  # 7 patches of 32 after 24 samples of padding

pytestmark = pytest.mark.usefixtures("offline_hub")


def write_lightning_checkpoint(path: Path, hyper_parameters: dict, seed: int = 5) -> None:
    """A tiny TiRex in the published format: a Lightning ``model.ckpt`` with the
    hyper-parameters, the state dict partly under the older ``block_stack.`` names (which
    the library's ``on_load_checkpoint`` renames) and Lightning's bookkeeping."""
    with seeded(seed):
        model = build_model(hyper_parameters)
    renamed = {(f"block_stack.{key}" if key.startswith(("blocks.", "out_norm.")) else key): value
               for key, value in model.state_dict().items()}
    torch.save({"hyper_parameters": hyper_parameters, "state_dict": renamed, "epoch": 3,
                "global_step": 1200, "pytorch-lightning_version": "2.5.0"}, path)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A directory holding only ``model.ckpt``, like NX-AI/TiRex."""
    directory = tmp_path_factory.mktemp("tirex") / "published"
    directory.mkdir()
    write_lightning_checkpoint(directory / "model.ckpt", TINY)
    return directory


@pytest.fixture(scope="module")
def checkpoint(published, tmp_path_factory) -> Path:
    """The converted checkpoint: config.json + model.safetensors (+ conversion.json)."""
    directory = tmp_path_factory.mktemp("tirex") / "converted"
    convert_checkpoint(published, directory)
    return directory


@pytest.fixture(scope="module")
def model(checkpoint):
    return TiRexModel(name="tx", weights=str(checkpoint))


windows, embedded = sine_fixtures(2, 2, N_SAMPLES, 2.0, seed=6, sampling_rate_hz=64.0)


def test_shapes_spans_and_description(model, embedded, checkpoint, published):
    assert_tokens(embedded, ["layer_00", "layer_01", "final_norm"], (2, 14, 32),
                  {0: [0, 8], 1: [8, 40], 6: [168, 200]}, [0] * 7 + [1] * 7, np.float32)
    embedded.validate(2)
    info = model.describe()
    assert_read_from(info, checkpoint)
    assert info.extra["converted_from_file"] == "model.ckpt"
    assert info.extra["converted_from_sha256"] == file_sha256(published / "model.ckpt")
    assert info.max_window_samples == 256 and info.default_input_hz == 64.0
    assert info.extra["recurrence_dtype"] == "float32" and info.dtype == "float32"
    assert "recurrence in float32" in info.extra["backend"]


def test_layers_equal_the_library_forward(model, windows, embedded):
    """The library's own pieces: prepare (NaN padding to the context), every block, the
    output norm; and the forecast head reads the same final state (recurrence in float32,
    the adapter's default; the library's bfloat16 is compared below)."""
    tirex = model.model
    rows = torch.from_numpy(windows.reshape(4, N_SAMPLES))
    with torch.inference_mode(), recurrence_precision(tirex, "float32"):
        inputs, padded = tirex._prepare_context_for_embedding(rows, None)
        assert inputs.shape == (4, 8, 64) and padded == 1  # 56 NaN samples: 1 whole token
        _, blocks = tirex._forward_model(inputs, return_all_hidden=True)
        final = tirex.out_norm(blocks[:, :, -1])
    for index in range(2):
        np.testing.assert_array_equal(
            blocks[:, padded:, index].numpy().reshape(2, 14, 32),
            embedded.layers[f"layer_{index:02d}"])
    np.testing.assert_array_equal(final[:, padded:].numpy().reshape(2, 14, 32),
                                  embedded.layers["final_norm"])


def test_recurrent_tokens_do_not_see_later_patches(model, windows, embedded):
    changed = windows.copy()
    changed[:, :, -32:] = changed[:, :, -32:][:, :, ::-1]  # same mean and scale
    moved = model.embed(changed, 64.0).layers["final_norm"]
    before = embedded.layers["final_norm"]
    # equal up to the rounding of the window's mean and scale (summed in another order)
    np.testing.assert_allclose(moved[:, :6], before[:, :6], rtol=1e-5, atol=1e-5)
    assert not np.allclose(moved[:, 6], before[:, 6], rtol=1e-3, atol=1e-3)
    other = windows.copy()
    other[:, 1] *= -2.0  # channel 1 only: channel 0's tokens are untouched (univariate)
    np.testing.assert_array_equal(model.embed(other, 64.0).layers["final_norm"][:, :7],
                                  before[:, :7])


def test_determinism_and_hub_cache(windows, embedded, checkpoint, published, tmp_path):
    again = TiRexModel(name="again", weights=str(checkpoint)).embed(windows.copy(), 64.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(again.layers[name], array)
    options = {"plugin": "tirex", "weights": "NX-AI/TiRex"}
    with pytest.raises(ModelError) as error:
        check_weights_on_disk("tirex", options)  # the pre-flight before any job runs
    message = str(error.value)
    assert "\n" not in message and "`hf download NX-AI/TiRex model.ckpt`" in message
    assert "`physio-bench convert-tirex NX-AI/TiRex OUT_DIR`" in message
    cache = hf_hub_cache()
    install_into_hf_cache(published, "NX-AI/TiRex", cache)  # what `hf download` brings: the pickle
    pickle_only = r"holds TiRex's pickled model\.ckpt only.*`physio-bench convert-tirex NX-AI/TiRex"
    with pytest.raises(ModelError, match=pickle_only):
        check_weights_on_disk("tirex", options)
    with pytest.raises(ModelError, match=pickle_only):
        TiRexModel(name="hub")
    record = convert_checkpoint("NX-AI/TiRex", tmp_path / "from_hub")  # offline, from the cache
    assert record["source"] == "NX-AI/TiRex" and record["source_revision"]
    for file in ("config.json", "model.safetensors"):  # same bytes whichever way it was named
        assert (tmp_path / "from_hub" / file).read_bytes() == (checkpoint / file).read_bytes()
    install_into_hf_cache(tmp_path / "from_hub", "NX-AI/TiRex", cache)
    check_weights_on_disk("tirex", options)  # config.json + model.safetensors are there
    hub = TiRexModel(name="hub")  # default weights: NX-AI/TiRex
    np.testing.assert_array_equal(hub.embed(windows, 64.0).layers["layer_01"],
                                  embedded.layers["layer_01"])
    info = hub.describe()
    assert info.weights_source == "NX-AI/TiRex" and info.extra["weights_revision"]
    assert info.extra["converted_from_sha256"] == file_sha256(published / "model.ckpt")


def test_conversion_writes_safetensors_config_and_provenance(published, checkpoint, tmp_path,
                                                             capsys):
    from safetensors import safe_open

    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "config.json", "conversion.json", "model.safetensors"]
    assert json.loads((checkpoint / "config.json").read_text()) == TINY
    record = json.loads((checkpoint / "conversion.json").read_text())
    source_sha256 = file_sha256(published / "model.ckpt")
    assert (record["source"], record["source_file"]) == (str(published), "model.ckpt")
    assert record["source_sha256"] == source_sha256
    assert record["files"] == {name: file_sha256(checkpoint / name)
                               for name in ("config.json", "model.safetensors")}
    assert "tirex-ts" in record["versions"]
    with safe_open(str(checkpoint / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())
        assert handle.metadata()["source_sha256"] == source_sha256
    assert keys == set(build_model(TINY).state_dict())  # the library's names (block_stack. gone)
    assert record["n_tensors"] == len(keys)
    # the CLI, from the file itself: the same bytes (deterministic)
    out = tmp_path / "cli"
    assert main(["convert-tirex", str(published / "model.ckpt"), str(out)]) == 0
    assert f"set weights: {out}" in capsys.readouterr().out
    for name in ("config.json", "model.safetensors"):
        assert (out / name).read_bytes() == (checkpoint / name).read_bytes()
    # existing outputs are never overwritten: one line, exit code 2, files untouched
    before = (out / "model.safetensors").read_bytes()
    assert main(["convert-tirex", str(published), str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "already holds config.json, model.safetensors" in error
    assert (out / "model.safetensors").read_bytes() == before


def test_round_trip_equals_the_library_loader(published, checkpoint, model, windows, embedded):
    """Converted safetensors == the library's own torch.load of model.ckpt, tensor by
    tensor, and the adapter gives identical embeddings with either."""
    from tirex.models.tirex import TiRexZero

    library = TiRexZero.from_pretrained(str(published / "model.ckpt"), backend="torch",
                                        device="cpu").eval()
    ours, theirs = model.model.state_dict(), library.state_dict()
    assert list(ours) == list(theirs)
    for key, tensor in theirs.items():
        assert torch.equal(ours[key], tensor), key
    twin = TiRexModel(name="library", weights=str(checkpoint))
    twin.model = library
    direct = twin.embed(windows, 64.0)
    for name, array in embedded.layers.items():
        np.testing.assert_array_equal(direct.layers[name], array)


def test_float32_is_the_default_and_bfloat16_is_the_library_path(checkpoint, published,
                                                                  windows, embedded,
                                                                  make_suite, tmp_path):
    """Issue 23 item 3: float32 recurrence by default; ``recurrence_dtype: bfloat16`` runs
    the library's unpatched ``_impl_torch`` (bit for bit), the two differ, and model.json
    records which ran."""
    from tirex.models.tirex import TiRexZero

    half = TiRexModel(name="bf16", weights=str(checkpoint), recurrence_dtype="bfloat16")
    reduced = half.embed(windows, 64.0)
    library = TiRexZero.from_pretrained(str(published / "model.ckpt"), backend="torch",
                                        device="cpu").eval()
    rows = torch.from_numpy(windows.reshape(4, N_SAMPLES))
    with torch.inference_mode():
        blocks = library._embed_context(rows)  # the library's own bfloat16 recurrence
    np.testing.assert_array_equal(blocks[:, :, -1].numpy().reshape(2, 14, 32),
                                  reduced.layers["layer_01"])
    last = embedded.layers["layer_01"]
    difference = np.abs(reduced.layers["layer_01"] - last).max() / np.abs(last).max()
    assert 1e-4 < difference < 0.1  # bfloat16 rounding, not a different model
    with pytest.raises(ModelError, match=r"recurrence_dtype='float16' is not one of"):
        TiRexModel(name="bad", weights=str(checkpoint), recurrence_dtype="float16")
    # the embed stage stores which precision ran
    from physio_bench.models.embed import embed_shard, merge_embeddings
    from physio_bench.preflight import load_config

    suite = make_suite("factors", n_windows=2, n_samples=200, sampling_rate_hz=64.0)
    for precision in ("float32", "bfloat16"):
        config = load_config()
        config["models"] = {"tx": {"plugin": "tirex", "weights": str(checkpoint),
                                   "recurrence_dtype": precision, "input_hz": 64}}
        config["embed"].update({"shard_size": 2, "batch_size": 2})
        shard = tmp_path / precision / "0000.npz"
        embed_shard(config, "tx", suite, 0, shard)
        info = merge_embeddings(config, "tx", [shard], tmp_path / precision / "emb")
        assert info["extra"]["recurrence_dtype"] == precision
        assert info["dtype"] == "float32"


class NotATensor:
    """An arbitrary object: torch.load(weights_only=True) must refuse to unpickle it."""


def test_conversion_errors(published, checkpoint, tmp_path, monkeypatch):
    unsafe = tmp_path / "unsafe.ckpt"
    torch.save({"hyper_parameters": TINY, "state_dict": {}, "callback": NotATensor()}, unsafe)
    with pytest.raises(ModelError, match=r"cannot read .*unsafe\.ckpt with torch\.load\("
                                         r"weights_only=True\)") as error:
        convert_checkpoint(unsafe, tmp_path / "out")
    assert "\n" not in str(error.value) and not (tmp_path / "out").exists()
    plain = tmp_path / "plain.ckpt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(ModelError, match="is not a TiRex Lightning checkpoint"):
        convert_checkpoint(plain, tmp_path / "out")
    other = tmp_path / "other.ckpt"
    checkpoint_data = torch.load(published / "model.ckpt", weights_only=True)
    del checkpoint_data["state_dict"]["input_patch_embedding.hidden_layer.bias"]
    torch.save(checkpoint_data, other)
    with pytest.raises(ModelError, match=r"does not load into TiRex .*lacks 1 tensor"):
        convert_checkpoint(other, tmp_path / "out")
    with pytest.raises(ModelError, match=r"convert-tirex: directory .* holds no model\.ckpt"):
        convert_checkpoint(checkpoint, tmp_path / "out")
    with pytest.raises(ModelError, match=r"NX-AI/TiRex's model\.ckpt is not in the Hugging "
                                         r"Face cache .*`hf download NX-AI/TiRex model\.ckpt`"):
        monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
        convert_checkpoint("NX-AI/TiRex", tmp_path / "out")


def test_loading_is_safetensors_only_and_strict(published, checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file

    message = (f"weights directory {published} holds TiRex's pickled model.ckpt, not "
               f"config.json and model.safetensors, and the benchmark reads safetensors only; "
               f"run `physio-bench convert-tirex {published} OUT_DIR` once")
    for check in (lambda: TiRexModel(name="m", weights=str(published)),
                  lambda: check_weights_on_disk("m", {"plugin": "tirex",
                                                      "weights": str(published)})):
        with pytest.raises(ModelError) as error:
            check()
        assert message in str(error.value) and "\n" not in str(error.value)
    tensors = load_file(str(checkpoint / "model.safetensors"))
    for change, expected in (("drop", r"lacks 1 tensor\(s\) of TiRex, e\.g\. out_norm\.weight"),
                             ("add", r"holds 1 tensor\(s\) TiRex does not have, e\.g\. extra"),
                             ("reshape", r"1 tensor\(s\) of another shape, e\.g\. "
                                         r"out_norm\.weight \(16,\) instead of \(32,\)")):
        broken = tmp_path / change
        shutil.copytree(checkpoint, broken)
        edited = dict(tensors)
        if change == "drop":
            del edited["out_norm.weight"]
        elif change == "add":
            edited["extra"] = torch.zeros(3)
        else:
            edited["out_norm.weight"] = torch.ones(16)
        save_file(edited, str(broken / "model.safetensors"))
        with pytest.raises(ModelError, match=expected):
            TiRexModel(name="m", weights=str(broken))


def test_random_weights_are_the_published_size_and_seeded():
    first = TiRexModel(name="r", seed=1, weights="random")
    info = first.describe()
    assert (info.pretrained, info.weights_source) == (False, "random (seed=1)")
    assert info.n_parameters == 35_291_200  # TiRex (35M)
    assert len(info.layer_names) == 13 and info.max_window_samples == 2048
    second = TiRexModel(name="r", seed=1, weights="random")
    assert second.describe().weights_sha256 == info.weights_sha256
    assert TiRexModel(name="r", seed=2, weights="random").describe().weights_sha256 != (
        info.weights_sha256)
    window = noisy_sine_windows(1, 1, 64, 3.0, seed=0, sampling_rate_hz=64.0)
    out = first.embed(window, 64.0).layers["final_norm"]
    assert np.isfinite(out).all()  # every tensor initialised (the library leaves some empty)
    np.testing.assert_array_equal(out, second.embed(window, 64.0).layers["final_norm"])


def test_errors(model, tmp_path, monkeypatch):
    with pytest.raises(InputError) as error:
        model.embed(np.zeros((1, 1, 257), dtype=np.float32), 64.0)
    assert str(error.value) == ("model 'tx': windows of 257 samples are longer than TiRex's "
                                "context of 256 samples; use shorter windows or a lower "
                                "input_hz")
    with pytest.raises(ModelError, match=r"unknown option\(s\) backend"):
        TiRexModel(name="m", weights="random", backend="cuda")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as error:
        TiRexModel(name="tirex")
    assert "\n" not in str(error.value)
    assert "`hf download NX-AI/TiRex model.ckpt`, then `physio-bench convert-tirex" in str(
        error.value)
    with pytest.raises(ModelError, match=r"lacks config\.json, model\.safetensors \(a TiRex "
                                         r"checkpoint needs .*`physio-bench convert-tirex"):
        TiRexModel(name="m", weights=str(tmp_path))


def test_every_layer_equals_the_library_forecast_at_the_published_structure(tmp_path):
    """Every block and the output norm equal what the library's public ``forecast`` computes
    (``ForecastModel.forecast``: its own NaN left padding to ``train_ctx_len``, its tokenizer
    scaling, its mask channel), for the published structure (12 sLSTM blocks, 4 heads, patch
    32, 9 quantiles, context 2048) narrowed to 32 dims, written as NX-AI's ``model.ckpt`` and
    converted. One output patch: one forward pass, whose hooked states are compared.

    Tolerance: exact. Both run the same modules in the same dtype on the same padded
    tokens; the adapter's layer_k is block k's output at the real tokens, ``final_norm``
    the ``out_norm`` output the quantile head reads."""
    from physio_bench.models.tirex import PUBLISHED_HYPER_PARAMETERS

    config = json.loads(json.dumps(PUBLISHED_HYPER_PARAMETERS))
    config["model_config"]["block_kwargs"]["embedding_dim"] = 32
    config["model_config"]["input_ff_dim"] = 64
    (tmp_path / "published").mkdir()
    write_lightning_checkpoint(tmp_path / "published" / "model.ckpt", config, seed=11)
    convert_checkpoint(tmp_path / "published", tmp_path / "converted")
    model = TiRexModel(name="tx-published", weights=str(tmp_path / "converted"),
                       recurrence_dtype="bfloat16")  # the library's own sLSTM precision
    windows = noisy_sine_windows(2, 2, 300, 2.0, seed=13, sampling_rate_hz=64.0)
    ours = model.embed(windows, 64.0)
    assert list(ours.layers) == [f"layer_{i:02d}" for i in range(12)] + ["final_norm"]
    tirex = model.model
    hooked = {f"layer_{i:02d}": block for i, block in enumerate(tirex.blocks)}
    hooked["final_norm"] = tirex.out_norm
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in hooked}
    handles = [module.register_forward_hook(
        lambda _m, _i, out, name=name: captured[name].append(out.detach().clone()))
        for name, module in hooked.items()]
    try:
        quantiles, mean = tirex.forecast(torch.from_numpy(windows.reshape(4, 300)),
                                         prediction_length=32)
    finally:
        for handle in handles:
            handle.remove()
    assert quantiles.shape == (4, 32, 9) and torch.isfinite(mean).all()
    n_tokens = 10  # 300 samples: 20 padded, 10 patches of 32 (the rest of 2048 NaN tokens)
    for name, states in captured.items():
        assert len(states) == 1, name  # one pass
        assert states[0].shape == (4, 64, 32)  # 2048 / 32 tokens per series
        library = states[0][:, -n_tokens:].float().numpy().reshape(2, 2 * n_tokens, 32)
        np.testing.assert_array_equal(ours.layers[name], library, err_msg=name)
