"""Sundial and Timer-XL: every layer equals a transcription of the reference forward
(``SundialForPrediction`` / ``TimerForPrediction`` with ``revin=True`` and
``output_hidden_states=True``: patch embedding, decoder layers with rotary attention under
the additive causal mask of ``_prepare_4d_causal_attention_mask``, final norm), on random
weights written in the published layout (``model.*`` backbone plus the forecasting head,
``config.json`` of the hub), and at the published sizes.

Tolerance: float32; the transcription uses the reference's additive mask (finfo.min above
the diagonal) and cached cos/sin, the plug-in ``is_causal=True`` and cos/sin computed per
call, so attention may round differently: rtol 1e-5 with an absolute floor of 1e-5 x the
layer's largest magnitude (a missing mask, a wrong rotary half or norm placement changes
values by orders of magnitude more).
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
from safetensors.torch import save_file

from physio_bench.errors import ModelError
from physio_bench.models.sundial import PUBLISHED_CONFIG as SUNDIAL_CONFIG
from physio_bench.models.sundial import SundialModel
from physio_bench.models.thuml import build_decoder
from physio_bench.models.timer_xl import PUBLISHED_CONFIG as TIMER_CONFIG
from physio_bench.models.timer_xl import TimerXLModel
from physio_bench.models.weights import check_weights_on_disk

pytestmark = pytest.mark.usefixtures("offline_hub")

CASES = {
    "sundial": (SundialModel, SUNDIAL_CONFIG, "sundial", True),
    "timer_xl": (TimerXLModel, TIMER_CONFIG, "timer", False),
}
TINY = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4}


# ------------------------------------------------- the reference forward, transcribed

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def reference_forward(s: dict, cfg: dict, kind: str, input_ids: torch.Tensor,
                      revin: bool = True) -> list:
    """The reference ``forward(revin=revin, output_hidden_states=True)`` of the backbone,
    plus the last layer's output before the final norm (appended last)."""
    if not revin:
        means, stdev = torch.zeros(()), torch.ones(())
    elif kind == "sundial":
        means = input_ids.mean(1, keepdim=True)
        stdev = input_ids.std(dim=1, keepdim=True, unbiased=False)
        stdev = torch.where(stdev > 1e-2, stdev, torch.tensor(1.0))
    else:
        means, stdev = input_ids.mean(dim=-1, keepdim=True), input_ids.std(dim=-1,
                                                                          keepdim=True)
    x = (input_ids - means) / stdev
    patch, hidden = cfg["input_token_len"], cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    if kind == "sundial":  # SundialPatchEmbedding.forward
        mask = torch.ones_like(x, dtype=torch.float32)
        pad = (patch - (x.shape[-1] % patch)) % patch
        x, mask = F.pad(x, (pad, 0)), F.pad(mask, (pad, 0))
        x = torch.cat([x.unfold(-1, patch, patch), mask.unfold(-1, patch, patch)], dim=-1)
        e = "model.embed_layer."
        hid = F.silu(F.linear(x, s[e + "hidden_layer.weight"], s[e + "hidden_layer.bias"]))
        h = (F.linear(hid, s[e + "output_layer.weight"], s[e + "output_layer.bias"])
             + F.linear(x, s[e + "residual_layer.weight"], s[e + "residual_layer.bias"]))
    else:  # TimerPatchEmbedding.forward (the test feeds whole patches)
        h = F.linear(x.unfold(-1, patch, patch), s["model.embed_layer.emb.weight"])
    bsz, length, _ = h.shape
    head_dim = hidden // heads
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float()
                                / head_dim))
    t = torch.arange(10000, dtype=torch.int64).type_as(inv_freq)
    emb = torch.cat((torch.outer(t, inv_freq),) * 2, dim=-1)
    position_ids = torch.arange(length).view(-1, length)
    cos = emb.cos()[:length][position_ids].unsqueeze(1)
    sin = emb.sin()[:length][position_ids].unsqueeze(1)
    causal = torch.full((length, length), torch.finfo(torch.float32).min).triu(1)
    causal = causal[None, None].expand(bsz, 1, length, length)

    def layer_norm(v, name):
        return F.layer_norm(v, (hidden,), s[name + ".weight"], s[name + ".bias"])

    def attention(v, p):
        q = F.linear(v, s[p + "q_proj.weight"], s[p + "q_proj.bias"])
        k = F.linear(v, s[p + "k_proj.weight"], s[p + "k_proj.bias"])
        w = F.linear(v, s[p + "v_proj.weight"], s[p + "v_proj.bias"])
        q, k, w = (z.view(bsz, length, heads, head_dim).transpose(1, 2) for z in (q, k, w))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        out = F.scaled_dot_product_attention(q, k, w, causal, dropout_p=0.0)
        out = out.transpose(1, 2).contiguous().reshape(bsz, length, hidden)
        return F.linear(out, s[p + "o_proj.weight"])

    def ffn(v, p):
        return F.linear(F.silu(F.linear(v, s[p + "gate_proj.weight"]))
                        * F.linear(v, s[p + "up_proj.weight"]), s[p + "down_proj.weight"])

    states = []
    for i in range(cfg["num_hidden_layers"]):
        states.append(h)
        p = f"model.layers.{i}."
        if kind == "sundial":  # pre-norm
            h = h + attention(layer_norm(h, p + "norm1"), p + "self_attn.")
            h = h + ffn(layer_norm(h, p + "norm2"), p + "ffn_layer.")
        else:  # post-norm
            h = layer_norm(h + attention(h, p + "self_attn."), p + "norm1")
            h = layer_norm(h + ffn(h, p + "ffn_layer."), p + "norm2")
    return [*states, layer_norm(h, "model.norm"), h]


def published_checkpoint(directory: Path, cfg: dict, kind: str, seed: int) -> dict:
    """config.json and model.safetensors as the hub holds them (backbone and head)."""
    torch.manual_seed(seed)
    network = build_decoder(cfg, kind, kind == "sundial")
    state = {}
    for key, value in network.state_dict().items():  # random norms and biases too
        state[key] = value + 0.1 * torch.randn_like(value) if key.endswith("bias") or (
            "norm" in key) else value.clone()
    head = "flow_loss.net.input_proj.weight" if kind == "sundial" else "lm_heads.0.weight"
    state[head] = torch.randn(cfg["hidden_size"], 4)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(state, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps({**cfg, "model_type": kind}))
    return state


def series(n_samples: int, rate: float) -> np.ndarray:
    rows = [simulate_signal("ppg", n_samples, rate, 0, heart_rate_bpm=70.0),
            simulate_signal("rsp", n_samples, rate, 1, resp_rate_bpm=12.0)]
    return (5.0 * np.stack(rows)[:, None, :] + 2.0).astype(np.float32)


def compare(model, embedded, expected) -> None:
    order = [*model.layer_names[:-2], model.layer_names[-1], model.layer_names[-2]]
    for name, want in zip(order, expected, strict=True):
        want = want.detach().numpy()
        np.testing.assert_allclose(embedded.layers[name], want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max(), err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_every_layer_matches_the_reference_on_the_published_layout(case, tmp_path):
    cls, published, kind, _ = CASES[case]
    cfg = {**published, **TINY}
    state = published_checkpoint(tmp_path / "ck", cfg, kind, 4)
    model = cls(case, weights=str(tmp_path / "ck"), progress=False)
    n = 5 * cfg["input_token_len"] + (3 if kind == "sundial" else 0)  # Sundial pads itself
    windows = series(n, 50.0)
    embedded = model.embed(windows, 50.0)
    with torch.no_grad():
        expected = reference_forward(state, cfg, kind, torch.from_numpy(windows[:, 0]))
    compare(model, embedded, expected)
    assert embedded.token_spans.shape == (expected[0].shape[1], 2)
    assert embedded.token_spans[-1, 1] == n


@pytest.mark.parametrize("case", CASES)
def test_published_size_matches_the_reference(case):
    cls, published, kind, _ = CASES[case]
    model = cls(case, weights="random", progress=False)
    info = model.describe()
    patch = published["input_token_len"]
    # backbone sizes: sundial-base-128m without its flow head; timer-base-84m without lm_head
    assert info.n_parameters == {"sundial": 115_799_040, "timer_xl": 84_043_776}[case]
    assert info.max_window_samples == 2880 and info.signal_kinds is None
    n = {"sundial": 1600, "timer_xl": 2880}[case]  # a 32-s window at the default rate
    assert n == 32 * info.default_input_hz
    windows = series(n, info.default_input_hz)[:1]
    embedded = model.embed(windows, info.default_input_hz)
    state = {k: v for k, v in model.network.state_dict().items()}
    with torch.no_grad():
        expected = reference_forward(state, published, kind, torch.from_numpy(windows[:, 0]))
    compare(model, embedded, expected)
    assert embedded.layers["final_norm"].shape == (1, math.ceil(n / patch),
                                                   published["hidden_size"])


def test_timer_xl_left_pads_a_partial_patch_with_zeros(tmp_path):
    cfg = {**TIMER_CONFIG, **TINY}
    state = published_checkpoint(tmp_path / "ck", cfg, "timer", 6)
    model = TimerXLModel("timer", weights=str(tmp_path / "ck"), progress=False)
    windows = series(3 * 96 - 40, 90.0)
    embedded = model.embed(windows, 90.0)
    x = torch.from_numpy(windows[:, 0].astype(np.float64))
    scaled = ((x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)).float()
    # the documented rule: standardise, then zeros (the mean) before the first sample
    padded = F.pad(scaled, (40, 0))
    with torch.no_grad():
        expected = reference_forward(state, cfg, "timer", padded, revin=False)
    compare(model, embedded, expected)
    assert embedded.token_spans[:2].tolist() == [[0, 56], [56, 152]]


def test_missing_weights_are_one_line_errors(tmp_path):
    for case, hub_id in (("sundial", "thuml/sundial-base-128m"),
                         ("timer_xl", "thuml/timer-base-84m")):
        with pytest.raises(ModelError) as error:
            check_weights_on_disk(case, {"plugin": case})
        assert "\n" not in str(error.value) and f"hf download {hub_id}" in str(error.value)
    published_checkpoint(tmp_path / "ck", {**SUNDIAL_CONFIG, **TINY}, "sundial", 1)
    from safetensors.torch import load_file
    tensors = load_file(tmp_path / "ck" / "model.safetensors")
    del tensors["model.layers.1.norm2.weight"]
    save_file(tensors, tmp_path / "ck" / "model.safetensors")
    with pytest.raises(ModelError, match="cannot load weights"):
        SundialModel("sundial", weights=str(tmp_path / "ck"), progress=False)
