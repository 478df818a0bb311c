"""PaPaGei-S: every layer equals a transcription of the reference forward
(``ResNet1DMoE.forward`` in github.com/Nokia-Bell-Labs/papagei-foundation-model,
models/resnet.py) on random weights in the published layout (a DataParallel-style
``papagei_s.pt``, converted by ``physio-bench convert-papagei``), at the published size.

Tolerance: float32 with the same operations in the same order (convolutions, batch norm
in eval mode, max pooling); the token grid averages feature maps over time, which the test
does in float64 with numpy. Differences are rounding only: rtol 1e-5 with an absolute floor
of 1e-5 x the layer's largest magnitude (a wrong padding side, stride, pooling or channel
pad changes values by orders of magnitude more).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (the reference's spelling)
from conftest import simulate_signal

from physio_bench.cli import main
from physio_bench.errors import ModelError
from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.models.papagei import PUBLISHED_CONFIG, PaPaGeiModel, build_network
from physio_bench.models.store import read_embeddings
from physio_bench.models.weights import check_weights_on_disk
from physio_bench.preflight import load_config

pytestmark = pytest.mark.usefixtures("offline_hub")


# ------------------------------------------------- the reference forward, transcribed

def ref_conv_same(x, weight, bias, stride):
    """MyConv1dPadSame.forward."""
    in_dim = x.shape[-1]
    out_dim = (in_dim + stride - 1) // stride
    p = max(0, (out_dim - 1) * stride + weight.shape[-1] - in_dim)
    x = F.pad(x, (p // 2, p - p // 2), "constant", 0)
    return F.conv1d(x, weight, bias, stride=stride)


def ref_maxpool_same(x, kernel_size):
    """MyMaxPool1dPadSame.forward (padding computed with stride 1, MaxPool1d(kernel))."""
    in_dim = x.shape[-1]
    out_dim = in_dim
    p = max(0, (out_dim - 1) * 1 + kernel_size - in_dim)
    x = F.pad(x, (p // 2, p - p // 2), "constant", 0)
    return F.max_pool1d(x, kernel_size)


def ref_bn(x, s, prefix):
    return F.batch_norm(x, s[f"{prefix}.running_mean"], s[f"{prefix}.running_var"],
                        s[f"{prefix}.weight"], s[f"{prefix}.bias"], False, 0.0, 1e-5)


def reference_forward(s: dict, x: torch.Tensor, cfg: dict) -> dict:
    """ResNet1DMoE.forward in eval mode; returns every block's output and the heads."""
    out = ref_conv_same(x, s["first_block_conv.conv.weight"], s["first_block_conv.conv.bias"], 1)
    out = F.relu(ref_bn(out, s, "first_block_bn"))
    states = {"stem": out}
    base = cfg["base_filters"]
    for i in range(cfg["n_block"]):
        is_first = i == 0
        downsample = i % cfg["downsample_gap"] == 1
        cin = base if is_first else int(base * 2 ** ((i - 1) // cfg["increasefilter_gap"]))
        cout = cin * 2 if (i % cfg["increasefilter_gap"] == 0 and i != 0) else cin
        stride = cfg["stride"] if downsample else 1
        p = f"basicblock_list.{i}"
        identity, h = out, out
        if not is_first:
            h = F.relu(ref_bn(h, s, f"{p}.bn1"))
        h = ref_conv_same(h, s[f"{p}.conv1.conv.weight"], s[f"{p}.conv1.conv.bias"], stride)
        h = F.relu(ref_bn(h, s, f"{p}.bn2"))
        h = ref_conv_same(h, s[f"{p}.conv2.conv.weight"], s[f"{p}.conv2.conv.bias"], 1)
        if downsample:
            identity = ref_maxpool_same(identity, stride)
        if cout != cin:
            identity = identity.transpose(-1, -2)
            ch1 = (cout - cin) // 2
            identity = F.pad(identity, (ch1, cout - cin - ch1), "constant", 0)
            identity = identity.transpose(-1, -2)
        out = h + identity
        states[f"block_{i:02d}"] = out
    out = F.relu(ref_bn(out, s, "final_bn"))
    states["final"] = out
    pooled = out.mean(-1)
    states["out"] = pooled
    states["out_class"] = F.linear(pooled, s["dense.weight"], s["dense.bias"])
    return states


def on_grid(feature_map: np.ndarray, n_tokens: int, width: int) -> np.ndarray:
    """The documented token rule, in numpy: mean over the time shares
    [floor(i L / T), ceil((i + 1) L / T)), channels zero-padded at the end."""
    rows, channels, length = feature_map.shape
    out = np.zeros((rows, n_tokens, width))
    for i in range(n_tokens):
        a, b = (i * length) // n_tokens, -((-(i + 1) * length) // n_tokens)
        out[:, i, :channels] = feature_map[:, :, a:b].astype(np.float64).mean(axis=2)
    return out


def random_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """Random values for every tensor of the published layout (batch-norm statistics
    included, so that no layer is an identity)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, tensor in build_network(PUBLISHED_CONFIG).state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith(("running_var", "bn.weight", "bn1.weight", "bn2.weight")):
            state[key] = 0.5 + torch.rand(tensor.shape, generator=generator)
        else:
            scale = 1.0 / math.sqrt(max(1, tensor[0].numel())) if tensor.ndim > 1 else 0.1
            state[key] = scale * torch.randn(tensor.shape, generator=generator)
    return state


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A ``papagei_s.pt`` as the reference saves it (DataParallel ``module.`` keys),
    converted with the CLI; returns the converted directory and the state dict."""
    root = tmp_path_factory.mktemp("papagei")
    state = random_state_dict(3)
    torch.save({f"module.{k}": v for k, v in state.items()}, root / "papagei_s.pt")
    assert main(["convert-papagei", str(root / "papagei_s.pt"), str(root / "converted")]) == 0
    return root / "converted", state


@pytest.fixture(scope="module")
def model(published: tuple[Path, dict]) -> PaPaGeiModel:
    return PaPaGeiModel("papagei", weights=str(published[0]), progress=False)


@pytest.mark.parametrize("n_samples", [1250, 701])
def test_every_layer_matches_the_reference_forward(model: PaPaGeiModel, published, n_samples):
    ppg = np.stack([simulate_signal("ppg", n_samples, 125.0, seed, heart_rate_bpm=hr)
                    for seed, hr in ((0, 62.0), (1, 95.0))])[:, None, :]
    ppg = (3.0 * ppg + 1.5).astype(np.float32)  # the plug-in z-scores each segment
    embedded = model.embed(ppg, 125.0)
    x = torch.from_numpy(ppg.astype(np.float64))
    z = ((x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False)).float()
    with torch.no_grad():
        ref = reference_forward(published[1], z, PUBLISHED_CONFIG)
    n_tokens = math.ceil(n_samples / 2 ** 9)
    assert embedded.token_spans.shape == (n_tokens, 2)
    assert embedded.token_spans[0, 0] == 0 and embedded.token_spans[-1, 1] == n_samples
    for layer in [*model.layer_names[:-1]]:
        expected = on_grid(ref[layer].numpy(), n_tokens, 512)
        got = embedded.layers[layer]
        np.testing.assert_allclose(got, expected, rtol=1e-5,
                                   atol=1e-5 * np.abs(expected).max(), err_msg=layer)
    # the mean of the embedding tokens is PaPaGei's published embedding (dense is affine)
    published_embedding = ref["out_class"].numpy()
    np.testing.assert_allclose(embedded.layers["embedding"].mean(axis=1), published_embedding,
                               rtol=1e-5, atol=1e-5 * np.abs(published_embedding).max())
    pooled = ref["out"].numpy()
    np.testing.assert_allclose(embedded.layers["final"].mean(axis=1), pooled, rtol=1e-5,
                               atol=1e-5 * np.abs(pooled).max())


def test_published_size_layers_and_description(model: PaPaGeiModel) -> None:
    info = model.describe()
    assert info.n_parameters == 5_785_612  # the published ResNet1DMoE with its MoE heads
    assert len(info.layer_names) == 21 and info.layer_names[-1] == "embedding"
    assert (info.default_input_hz, info.max_window_samples) == (125.0, 1250)
    assert info.signal_kinds == ["ppg"] and info.extra["signal_kinds"] == ["ppg"]
    assert info.pretrained and len(info.weights_sha256) == 64


def test_conversion_is_deterministic_and_refuses_to_overwrite(published, tmp_path) -> None:
    converted, state = published
    source = converted.parent / "papagei_s.pt"
    again = tmp_path / "again"
    assert main(["convert-papagei", str(source), str(again)]) == 0
    for name in ("config.json", "model.safetensors"):
        assert (again / name).read_bytes() == (converted / name).read_bytes()
    record = json.loads((again / "conversion.json").read_text())
    assert record["n_parameters"] == 5_785_612 + sum(
        v.numel() for k, v in state.items() if "running" in k)
    with pytest.raises(ModelError, match="already holds"):
        from physio_bench.models.papagei import convert_checkpoint
        convert_checkpoint(source, again)
    broken = tmp_path / "broken.pt"
    torch.save({k: v for k, v in state.items() if not k.startswith("dense")}, broken)
    with pytest.raises(ModelError, match="does not load into the architecture"):
        convert_checkpoint(broken, tmp_path / "out")


def test_missing_weights_are_one_line_errors_before_any_job(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"no weights\)$"):
        check_weights_on_disk("papagei-s", {"plugin": "papagei"})
    pickle_only = tmp_path / "papagei_s.pt"
    pickle_only.write_bytes(b"not read")
    for weights in (str(pickle_only), str(tmp_path)):
        with pytest.raises(ModelError) as error:
            check_weights_on_disk("papagei-s", {"plugin": "papagei", "weights": weights})
        message = str(error.value)
        assert "\n" not in message and "convert-papagei" in message
        assert "zenodo.org/records/13983110" in message


def test_through_the_embed_stage_at_125_hz_in_10_s_chunks(make_suite, published, tmp_path):
    suite = make_suite("factors", n_windows=3, n_samples=3000, sampling_rate_hz=250.0)
    config = load_config()
    config["models"] = {"papagei": {"plugin": "papagei", "weights": str(published[0])}}
    config["embed"].update({"shard_size": 3, "batch_size": 3, "token_layers": "all",
                            "token_dtype": "float32"})
    shard = tmp_path / "shards" / "0000.npz"
    embed_shard(config, "papagei", suite, 0, shard)
    info = merge_embeddings(config, "papagei", [shard], tmp_path / "emb")
    stored = read_embeddings(tmp_path / "emb")
    # 12 s at 250 Hz -> 1,500 samples at 125 Hz: the 250-sample remainder is under half a
    # segment, so the first chunk is a full segment kept for its tokens before sample 250
    assert info["input"]["chunks"] == [[0, 1250], [250, 1500]]
    assert info["input"]["chunk_keep_before"] == [250, 1500]
    assert info["extra"]["signal_kinds"] == ["ppg"]
    assert stored.token_spans.tolist() == [[0, 834], [500, 1334], [1332, 2168], [2166, 3000]]
    assert stored.tokens("embedding").shape == (3, 4, 512)
