"""Weights resolution (random / local directory / hub id via the HF cache) and helpers."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from physio_bench.errors import InputError, ModelError
from physio_bench.models.torch_utils import (
    capture_outputs,
    channel_spans,
    check_options,
    check_windows,
    left_pad_spans,
    resolve_placement,
    seeded,
)
from physio_bench.models.weights import (
    WeightsSpec,
    check_checkpoint_covers,
    file_sha256,
    hf_hub_cache,
    install_into_hf_cache,
    load_weights,
    parse_weights,
    resolve_checkpoint,
    state_dict_sha256,
)

pytestmark = pytest.mark.usefixtures("offline_empty_cache")


def checkpoint(directory, payload=b"weights"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text('{"d": 1}')
    (directory / "model.safetensors").write_bytes(payload)
    return directory


def test_parse_weights_kinds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "name").mkdir(parents=True)
    (tmp_path / "afile").write_text("x")
    assert parse_weights("random", "m") == WeightsSpec("random", "random")
    assert parse_weights("Salesforce/moirai-1.1-R-small", "m") == WeightsSpec(
        "hub", "Salesforce/moirai-1.1-R-small")
    # an existing directory wins over a hub id of the same spelling
    assert parse_weights("org/name", "m") == WeightsSpec("local", "org/name")
    assert parse_weights(str(tmp_path), "m") == WeightsSpec("local", str(tmp_path))
    with pytest.raises(ModelError, match=r"^model 'm': weights directory ./nope does not "
                                         r"exist; set weights: to random"):
        parse_weights("./nope", "m")
    with pytest.raises(ModelError, match="weights path afile is a file"):
        parse_weights("afile", "m")
    with pytest.raises(ModelError, match="option weights must be"):
        parse_weights(3, "m")


def test_hf_hub_cache_follows_environment(monkeypatch, tmp_path):
    assert hf_hub_cache() == tmp_path / "hf_home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "c"))
    assert hf_hub_cache() == tmp_path / "c"


def test_local_directory_missing_file_names_it(tmp_path):
    directory = tmp_path / "ck"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    with pytest.raises(ModelError) as error:
        resolve_checkpoint(WeightsSpec("local", str(directory)),
                           ("config.json", "model.safetensors"), "m")
    assert str(error.value) == (f"model 'm': weights directory {directory} lacks "
                                f"model.safetensors (a checkpoint needs config.json, "
                                f"model.safetensors)")


def test_hub_id_not_cached_offline_is_one_line(tmp_path):
    with pytest.raises(ModelError) as error:
        resolve_checkpoint(WeightsSpec("hub", "org/model-x"),
                           ("config.json", "model.safetensors"), "my-model")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("model 'my-model': weights org/model-x are not in the Hugging "
                              f"Face cache {tmp_path / 'hf_home' / 'hub'} and HF_HUB_OFFLINE")
    assert "`hf download org/model-x`" in message
    assert "`huggingface-cli download org/model-x`" in message
    assert "HF_HOME" in message


def test_fake_cache_round_trip_and_revision(tmp_path):
    source = checkpoint(tmp_path / "ck")
    snapshot = install_into_hf_cache(source, "org/model-x", hf_hub_cache())
    found = resolve_checkpoint(WeightsSpec("hub", "org/model-x"),
                               ("config.json", "model.safetensors"), "m")
    assert found == snapshot
    assert (found / "model.safetensors").read_bytes() == b"weights"
    repo = hf_hub_cache() / "models--org--model-x"
    assert (repo / "refs" / "main").read_text() == snapshot.name
    assert (repo / "blobs" / hashlib.sha256(b"weights").hexdigest()).is_file()
    # a cached snapshot without the weights file is not a hit
    with pytest.raises(ModelError, match="not in the Hugging Face cache"):
        resolve_checkpoint(WeightsSpec("hub", "org/model-x"), ("pytorch_model.safetensors",),
                           "m")


def test_file_sha256_known_answer(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert file_sha256(path, chunk_bytes=2) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_load_weights_random_is_seeded_and_untrained():
    def init():
        return torch.nn.Linear(3, 2)

    state = torch.random.get_rng_state()
    first = load_weights(WeightsSpec("random", "random"), name="m", seed=7, files=(),
                         init_random=init, load_dir=None)
    assert torch.equal(torch.random.get_rng_state(), state)  # caller's RNG untouched
    again = load_weights(WeightsSpec("random", "random"), name="m", seed=7, files=(),
                         init_random=init, load_dir=None)
    other = load_weights(WeightsSpec("random", "random"), name="m", seed=8, files=(),
                         init_random=init, load_dir=None)
    assert (first.pretrained, first.source) == (False, "random (seed=7)")
    assert torch.equal(first.model.weight, again.model.weight)
    assert first.sha256 == again.sha256 == state_dict_sha256(again.model)
    assert other.sha256 != first.sha256


def test_load_weights_wraps_loader_failures_in_one_line(tmp_path):
    directory = checkpoint(tmp_path / "ck")

    def broken(_directory):
        raise RuntimeError("size mismatch for w\nsecond line")

    with pytest.raises(ModelError) as error:
        load_weights(WeightsSpec("local", str(directory)), name="m", seed=0,
                     files=("model.safetensors",), init_random=None, load_dir=broken)
    assert str(error.value) == (f"model 'm': cannot load weights from {directory} "
                                f"(RuntimeError: size mismatch for w); check that it is a "
                                f"checkpoint of this plug-in's architecture")


def test_checkpoint_must_cover_every_tensor(tmp_path):
    from safetensors.torch import save_file

    with seeded(0):
        module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    save_file({"0.weight": module[0].weight.detach(), "0.bias": module[0].bias.detach()},
              str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"lacks 2 tensor\(s\), e.g. 1.weight"):
        check_checkpoint_covers(module, tmp_path)


def test_left_pad_spans_known_answers():
    assert left_pad_spans(64, 32).tolist() == [[0, 32], [32, 64]]
    assert left_pad_spans(70, 32).tolist() == [[0, 6], [6, 38], [38, 70]]
    spans, channels = channel_spans(left_pad_spans(40, 16), 2)
    assert spans.tolist() == [[0, 8], [8, 24], [24, 40]] * 2
    assert channels.tolist() == [0, 0, 0, 1, 1, 1]
    assert spans.dtype == channels.dtype == np.int64


def test_placement_rules():
    if torch.cuda.is_available():
        pytest.skip("CPU fallback rules need a machine without CUDA")
    with pytest.raises(ModelError, match="dtype bfloat16 runs only on a GPU here"):
        resolve_placement("cpu", "bfloat16", "m")
    with pytest.raises(ModelError, match="device cuda requested but torch sees no CUDA"):
        resolve_placement("cuda", "float32", "m")
    fallback = resolve_placement("auto", "float16", "m")
    assert (fallback.device, fallback.dtype) == ("cpu", "float32")
    assert fallback.note == "dtype float16 requested but no CUDA device: ran in float32 on cpu"
    with pytest.raises(ModelError, match="option dtype='float64' is not one of"):
        resolve_placement("auto", "float64", "m")


def test_check_windows_and_options():
    windows = np.zeros((2, 1, 8), dtype=np.float64)
    assert check_windows(windows, "m").dtype == np.float32
    windows[1, 0, 3] = np.nan
    with pytest.raises(InputError, match=r"^model 'm': 1 window\(s\) contain NaN"):
        check_windows(windows, "m")
    with pytest.raises(InputError, match="3-D"):
        check_windows(np.zeros((2, 8)), "m")
    with pytest.raises(ModelError) as error:
        check_options({"size": 1, "colour": 2}, ["size"], "moirai", "m")
    assert str(error.value) == ("model 'm' (plugin moirai): unknown option(s) colour; "
                                "known options: size")


def test_capture_outputs_removes_hooks():
    layer = torch.nn.Linear(2, 2)
    with capture_outputs({"a": layer}) as captured:
        out = layer(torch.ones(1, 2))
    assert torch.equal(captured["a"], out)
    assert not layer._forward_hooks


def test_tf32_recorded_as_not_applicable_on_cpu():
    placement = resolve_placement("cpu", "float32", "m")
    assert placement.tf32() == "not applicable (cpu)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tf32_is_off_and_recorded_on_gpu():
    torch.backends.cuda.matmul.allow_tf32 = True  # as some libraries set it on import
    torch.backends.cudnn.allow_tf32 = True
    placement = resolve_placement("cuda", "float32", "m")
    with placement.autocast():
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
        a = torch.randn(512, 512, device="cuda", dtype=torch.float32)
        exact = (a.double() @ a.double()).float()
        assert torch.allclose(a @ a, exact, rtol=1e-5, atol=1e-4)  # TF32 would miss this
    assert placement.tf32() == ("off (torch.backends.cuda.matmul.allow_tf32=False, "
                                "torch.backends.cudnn.allow_tf32=False)")
