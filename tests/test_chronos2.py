"""Chronos-2 adapter (the real 120M architecture, random weights): group attention across
channels, agreement with the library's embed(), and the save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sine_fixtures

from physio_bench.models.chronos import ChronosModel
from physio_bench.models.weights import file_sha256

N_SAMPLES = 200  # 13 patches of 16 after 8 samples of left padding (short: 120M parameters)


pytestmark = pytest.mark.usefixtures("offline_hub")


windows, embedded = sine_fixtures(2, 2, N_SAMPLES, 0.3, seed=5, model="chronos2")


@pytest.fixture(scope="module")
def chronos2():
    return ChronosModel(name="c2", seed=0, weights="random", variant="chronos-2")


def test_chronos2_groups_channels_and_matches_library(chronos2, windows, embedded):
    from chronos import Chronos2Pipeline

    out = embedded
    assert list(out.layers) == [f"layer_{i:02d}" for i in range(12)] + ["final_norm"]
    assert out.layers["final_norm"].shape == (2, 26, 768)
    assert out.token_spans[:2].tolist() == [[0, 8], [8, 24]]
    assert out.token_channels.tolist() == [0] * 13 + [1] * 13
    out.validate(2)
    # Chronos2Pipeline.embed returns (variates, patches + [REG] + future token, dim)
    library, _ = Chronos2Pipeline(chronos2.model).embed(windows)
    assert library[0].shape == (2, 15, 768)
    np.testing.assert_array_equal(
        np.stack([item[:, :13].numpy() for item in library]).reshape(2, 26, 768),
        out.layers["final_norm"])
    changed = windows.copy()
    changed[:, 1] *= -2.0
    moved = chronos2.embed(changed, 250.0).layers["final_norm"]
    assert not np.allclose(moved[:, :13], out.layers["final_norm"][:, :13])  # group attention
    info = chronos2.describe()
    assert info.n_parameters == 119_477_664 and info.max_window_samples == 8192
    assert (info.pretrained, info.extra["variant"]) == (False, "chronos-2")


def test_chronos2_round_trip_local(chronos2, windows, embedded, tmp_path):
    directory = tmp_path / "c2-ck"
    chronos2.model.save_pretrained(directory)
    local = ChronosModel(name="local", weights=str(directory))  # variant read from config
    assert local.variant == "chronos-2"
    assert local.describe().weights_sha256 == file_sha256(directory / "model.safetensors")
    for name, array in local.embed(windows, 250.0).layers.items():
        np.testing.assert_array_equal(array, embedded.layers[name])


def test_chronos2_every_layer_equals_the_library_embed(chronos2, windows, embedded):
    """Every encoder block and the final norm, hooked while the library's public
    ``Chronos2Pipeline.embed`` runs on the windows (each window one group of variates; its
    own scaling, [REG] and future tokens), equal ours at the 13 context tokens of each
    variate. Published Chronos-2 (120M) configuration. Tolerance: exact (the same modules
    on the same float32 tokens; another grouping or token order changes every state)."""
    from chronos import Chronos2Pipeline

    from physio_bench.models.torch_utils import capture_outputs

    encoder = chronos2.model.encoder
    hooked = {f"layer_{i:02d}": block for i, block in enumerate(encoder.block)}
    hooked["final_norm"] = encoder.final_layer_norm
    with capture_outputs(hooked) as captured:
        Chronos2Pipeline(chronos2.model).embed(windows)
    assert list(captured) == list(embedded.layers)
    for name, state in captured.items():
        assert state.shape == (4, 15, 768), name  # 13 patches + [REG] + 1 future token
        np.testing.assert_array_equal(state[:, :13].numpy().reshape(2, 26, 768),
                                      embedded.layers[name], err_msg=name)
