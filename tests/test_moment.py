"""MOMENT (momentfm 0.1.4) for real, in its own interpreter (``make plugin-envs`` builds
``plugins/physio-bench-moment/.venv``): a tiny checkpoint written there with the library's
save_pretrained, loaded through physio_bench's ``moment`` plug-in, hidden states equal to
momentfm's own encoder pass, fully observed patches only, safetensors only."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import noisy_sine_windows
from own_env import assert_refusals, child_run, own_env_python, plugin_fixtures, run_reference

from physio_bench.errors import ModelError
from physio_bench.models.external import MomentModel

PYTHON = own_env_python("moment")
pytestmark = pytest.mark.usefixtures("offline_hub")

TINY = {
    "task_name": "reconstruction", "model_name": "MOMENT", "transformer_type": "encoder_only",
    "d_model": None, "seq_len": 512, "patch_len": 8, "patch_stride_len": 8,
    "transformer_backbone": "google/flan-t5-small",
    "t5_config": {"d_model": 32, "d_ff": 64, "d_kv": 8, "num_heads": 4, "num_layers": 2,
                  "feed_forward_proj": "gated-gelu", "vocab_size": 32,
                  "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
                  "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6, "is_encoder_decoder": True,
                  "model_type": "t5"},
    "revin_affine": False, "add_positional_embedding": True, "value_embedding_bias": False,
    "orth_gain": 1.41, "mask_ratio": 0.3, "freeze_embedder": True, "freeze_encoder": True,
    "freeze_head": False, "enable_gradient_checkpointing": True,
    "randomly_initialize_backbone": False,
}
WRITE = """
import json, sys, torch
from momentfm import MOMENTPipeline
torch.manual_seed(0)
MOMENTPipeline(json.loads(sys.argv[2]), model_kwargs={"task_name": "reconstruction"}
               ).save_pretrained(sys.argv[1])
"""
# momentfm's own path, written out: RevIN, patching, patch embedding (the masked patch gets
# the mask embedding), and the T5 encoder with its own hidden-state output.
REFERENCE = """
import sys, numpy as np, torch
from momentfm import MOMENTPipeline
from momentfm.utils.masking import Masking
out = sys.argv[2]
model = MOMENTPipeline.from_pretrained(sys.argv[1], model_kwargs={"task_name": "embedding"})
model.init(); model.eval()
x = torch.from_numpy(np.load(out + "/x.npy")); m = torch.from_numpy(np.load(out + "/m.npy"))
with torch.inference_mode():
    b, c, _ = x.shape
    z = torch.nan_to_num(model.normalizer(x=x, mask=m, mode="norm"), nan=0, posinf=0, neginf=0)
    e = model.patch_embedding(model.tokenizer(x=z), mask=m).reshape(b * c, 64, -1)
    view = Masking.convert_seq_to_patch_view(m, 8)
    o = model.encoder(inputs_embeds=e, attention_mask=view.repeat_interleave(c, dim=0),
                      output_hidden_states=True)
    api = model.embed(x_enc=x, input_mask=m, reduction="none").embeddings
for i, h in enumerate(o.hidden_states[1:-1]):
    np.save(out + f"/h{i}.npy", h.reshape(b, c, 64, -1).numpy())
np.save(out + "/last.npy", o.last_hidden_state.reshape(b, c, 64, -1).numpy())
np.save(out + "/api.npy", api.numpy()); np.save(out + "/view.npy", view.numpy())
"""
N_SAMPLES = 500  # 12 samples of padding: patch 1 is half padded, patches 2..63 are tokens


def padded_inputs(windows: np.ndarray) -> dict[str, np.ndarray]:
    """momentfm's inputs for windows of 500 samples: ``x`` left-padded with 12 zeros to
    512 samples, the mask ``m`` 0 on the padding."""
    values = np.zeros((len(windows), 2, 512), np.float32)
    values[:, :, 12:] = windows
    mask = np.zeros((len(windows), 512), np.float32)
    mask[:, 12:] = 1.0
    return {"x": values, "m": mask}


checkpoint, windows, model, embedded = plugin_fixtures(
    MomentModel, PYTHON, WRITE, (json.dumps(TINY),), "moment-tiny", (3, 2, N_SAMPLES, 0.7, 9), 16.0)


def test_tokens_are_fully_observed_patches_only(model, embedded, checkpoint):
    assert list(embedded.layers) == ["layer_00", "layer_01", "final_norm"]
    for array in embedded.layers.values():
        assert array.shape == (3, 2 * 62, 32)
    spans = embedded.token_spans
    assert spans[0].tolist() == [4, 12] and spans[61].tolist() == [492, 500]
    assert (spans[:, 1] - spans[:, 0] == 8).all() and spans.min() >= 4
    assert embedded.token_channels.tolist() == [0] * 62 + [1] * 62
    info = model.describe()
    assert (info.plugin, info.max_window_samples, info.pretrained) == ("moment", 512, True)
    assert info.default_input_hz == MomentModel.default_input_hz == 16.0
    assert info.versions["worker:numpy"] == "1.25.2"
    assert info.versions["transformers"] == "4.33.3"


def test_layers_equal_momentfm_forward(embedded, windows, checkpoint, tmp_path):
    run_reference(PYTHON, REFERENCE, checkpoint, tmp_path, **padded_inputs(windows))
    view = np.load(tmp_path / "view.npy")
    assert view[0, :3].tolist() == [0, 0, 1]  # momentfm masks the half-padded patch 1
    for name, file in (("layer_00", "h0"), ("final_norm", "last"), ("final_norm", "api")):
        reference = np.load(tmp_path / f"{file}.npy")[:, :, 2:].reshape(3, 124, 32)
        np.testing.assert_array_equal(embedded.layers[name], reference)


def test_deterministic_across_workers(embedded, windows, checkpoint):
    with MomentModel(name="again", weights=str(checkpoint), python=str(PYTHON)) as again:
        for name, array in again.embed(windows, 16.0).layers.items():
            np.testing.assert_array_equal(array, embedded.layers[name])


def test_default_hub_id_from_the_cache(embedded, windows, checkpoint):
    """The hub id is resolved in the worker from the same Hugging Face cache (HF_HOME is
    inherited), offline; the revision is recorded."""
    import os
    from pathlib import Path

    from physio_bench.models.weights import install_into_hf_cache

    snapshot = install_into_hf_cache(checkpoint, "AutonLab/MOMENT-1-large",
                                     Path(os.environ["HF_HOME"]) / "hub")
    with MomentModel(name="hub", python=str(PYTHON)) as hub:
        info = hub.describe()
        assert info.weights_source == "AutonLab/MOMENT-1-large"
        assert info.extra["weights_revision"] == snapshot.name
        np.testing.assert_array_equal(hub.embed(windows, 16.0).layers["final_norm"],
                                      embedded.layers["final_norm"])


def test_safetensors_only_and_complete(checkpoint, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((checkpoint / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelError, match=r"has only pytorch_model\.bin \(a pickle"):
        MomentModel(name="m", weights=str(pickled), python=str(PYTHON))
    partial = tmp_path / "partial"
    child_run(PYTHON, """
import sys, shutil
from safetensors.torch import load_file, save_file
shutil.copytree(sys.argv[1], sys.argv[2])
tensors = load_file(sys.argv[1] + "/model.safetensors")
tensors.pop(sorted(tensors)[0])
save_file(tensors, sys.argv[2] + "/model.safetensors")
""", str(checkpoint), str(partial))
    with pytest.raises(ModelError, match=r"model\.safetensors lacks 1 tensor"):
        MomentModel(name="m", weights=str(partial), python=str(PYTHON))


def test_errors(model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    assert_refusals(
        model, MomentModel, PYTHON, 513, 16.0, "MOMENT's input of 512",
        r"AutonLab/MOMENT-1-large")
    with pytest.raises(ModelError, match=r"unexpected keyword argument 'long_windows'"):
        MomentModel(name="m", weights="x/y", python=str(PYTHON), long_windows="downsample")


# MOMENT-1-large's structure (flan-t5-large encoder: 24 gated-GELU layers, 16 heads;
# patch 8, 512 samples), narrowed to 64 dims so that it stays small.
PUBLISHED = {**TINY, "t5_config": {**TINY["t5_config"], "d_model": 64, "d_ff": 128,
                                   "d_kv": 4, "num_heads": 16, "num_layers": 24}}
# The public entry point, MOMENTPipeline.embed (reduction "none"), with forward hooks on
# every encoder block and the final layer norm.
HOOKED_EMBED = """
import sys, numpy as np, torch
from momentfm import MOMENTPipeline
out = sys.argv[2]
model = MOMENTPipeline.from_pretrained(sys.argv[1], model_kwargs={"task_name": "embedding"})
model.init(); model.eval()
x = torch.from_numpy(np.load(out + "/x.npy")); m = torch.from_numpy(np.load(out + "/m.npy"))
modules = list(model.encoder.block) + [model.encoder.final_layer_norm]
captured = {}
def keep(i):
    def hook(_m, _i, o):
        captured.setdefault(i, o[0] if isinstance(o, tuple) else o)
    return hook
for i, module in enumerate(modules):
    module.register_forward_hook(keep(i))
with torch.inference_mode():
    api = model.embed(x_enc=x, input_mask=m, reduction="none").embeddings
b, c = x.shape[:2]
np.save(out + "/layers.npy", np.stack([captured[i].reshape(b, c, 64, -1).numpy()
                                       for i in range(len(modules))]))
np.save(out + "/api.npy", api.numpy())
"""


def test_every_layer_equals_momentfm_embed_at_the_published_structure(tmp_path):
    """All 24 encoder layers and the final norm at MOMENT-1-large's structure equal what
    momentfm's public ``embed`` computes (hooked), at the fully observed patches (RevIN on
    the observed samples, left padding masked). Tolerance: exact (same modules, same float32
    inputs; another padding side, mask or normalisation changes every state)."""
    directory = tmp_path / "ck"
    child_run(PYTHON, WRITE, str(directory), json.dumps(PUBLISHED))
    windows = noisy_sine_windows(2, 2, N_SAMPLES, 0.7, seed=14, sampling_rate_hz=16.0)
    with MomentModel(name="moment-published", weights=str(directory),
                     python=str(PYTHON)) as model:
        ours = model.embed(windows, 16.0)
    names = [f"layer_{i:02d}" for i in range(24)] + ["final_norm"]
    assert list(ours.layers) == names
    run_reference(PYTHON, HOOKED_EMBED, directory, tmp_path, **padded_inputs(windows))
    library = np.load(tmp_path / "layers.npy")  # modules x windows x channels x 64 x dim
    assert library.shape == (25, 2, 2, 64, 64)
    for index, name in enumerate(names):
        np.testing.assert_array_equal(ours.layers[name],
                                      library[index][:, :, 2:].reshape(2, 124, 64),
                                      err_msg=name)
    api = np.load(tmp_path / "api.npy")[:, :, 2:].reshape(2, 124, 64)
    np.testing.assert_array_equal(ours.layers["final_norm"], api)
