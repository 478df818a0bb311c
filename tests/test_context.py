"""The one context-splitting rule (physio_bench.models.context): no chunk shorter than half
the context, every sample covered by a kept token's chunk, chunks within the context, and
Moirai 2.0 embedding a 5-channel 32-s window at 100 Hz through it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import noisy_sine_windows

from physio_bench.models.context import (
    Chunk,
    kept_tokens,
    min_chunk_samples,
    split_context,
    token_budget_context,
)
from physio_bench.models.embed import embed_batch, input_plan
from physio_bench.models.moirai2 import Moirai2Model, build_module
from physio_bench.models.torch_utils import seeded

pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.mark.parametrize("context", [1, 2, 3, 7, 16, 100, 1024, 1632])
def test_no_chunk_below_the_minimum_and_every_sample_covered(context):
    for n_samples in range(1, 3 * context + 2):
        chunks = split_context(n_samples, context)
        assert chunks[-1].stop == n_samples and chunks[0].start == 0
        assert all(c.stop - c.start <= context for c in chunks)
        if n_samples > context:
            assert all(c.stop - c.start >= min_chunk_samples(context) for c in chunks)
        else:
            assert chunks == (Chunk(0, n_samples, n_samples),)
        # kept parts tile the window: each chunk keeps up to where the next one starts
        kept = [(c.start, c.keep_before) for c in chunks]
        assert kept[0][0] == 0 and kept[-1][1] == n_samples
        assert all(a[1] == b[0] for a, b in itertools.pairwise(kept))
        assert all(c.keep_before == c.stop for c in chunks[1:])  # only the first overlaps


def test_a_one_sample_remainder_is_not_a_chunk():
    """The failure issue 23 names: 2049 samples in a 2048 context made a 1-sample chunk."""
    chunks = split_context(2049, 2048)
    assert chunks == (Chunk(0, 2048, 1), Chunk(1, 2049, 2049))
    assert chunks[0].overlapped and not chunks[1].overlapped
    spans = np.array([[0, 16], [16, 32], [2032, 2048]])
    assert kept_tokens(spans[:, 0], chunks[0]).tolist() == [True, False, False]
    assert min_chunk_samples(2048) == 1024 and min_chunk_samples(1) == 1


def test_token_budget_is_shared_by_channels():
    assert token_budget_context(512, 5, 16, "m") == 102 * 16
    assert token_budget_context(512, 1, 64, "m") == 512 * 64


@pytest.fixture(scope="module")
def published_layout(tmp_path_factory):
    """A Moirai 2.0 checkpoint in the published layout (config.json + model.safetensors,
    the published small architecture but 2 layers, random weights)."""
    with seeded(11):
        module = build_module({"num_layers": 2})
    directory = tmp_path_factory.mktemp("moirai2_ctx") / "ck"
    module.save_pretrained(directory)
    return directory


def test_moirai2_embeds_a_five_channel_32_s_window_at_100_hz(published_layout):
    model = Moirai2Model(name="m2", weights=str(published_layout), progress=False)
    info = model.describe()
    windows = noisy_sine_windows(2, 5, 3200, 1.2, seed=5, sampling_rate_hz=100.0)
    plan = input_plan({"input_hz": 100}, info, model, (5, 3200), 100.0)
    # 5 x 200 patches = 1,000 tokens > 512: 102 patches (1,632 samples) per context
    assert plan.context_samples == 1632
    assert plan.chunk_bounds == [(0, 1568), (1568, 3200)]
    assert min(b - a for a, b in plan.chunk_bounds) >= min_chunk_samples(1632)
    result, at_input = embed_batch(model, info, windows, plan)
    result.validate(2)
    first = model.embed(windows[..., :1568], 100.0)
    second = model.embed(windows[..., 1568:], 100.0)
    for channel in range(5):
        rows = np.flatnonzero(result.token_channels == channel)
        assert rows.size == 98 + 102
        spans = result.token_spans[rows]
        assert spans[0, 0] == 0 and spans[-1, 1] == 3200
        assert (spans[1:, 0] == spans[:-1, 1]).all()
        for name in info.layer_names:
            np.testing.assert_array_equal(
                result.layers[name][:, rows[:98]],
                first.layers[name][:, first.token_channels == channel])
            np.testing.assert_array_equal(
                result.layers[name][:, rows[98:]],
                second.layers[name][:, second.token_channels == channel])
    assert at_input.shape == (1000, 2)
