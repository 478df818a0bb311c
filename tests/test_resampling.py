"""Anti-aliased resampling to a model's input rate, spans mapped back, chunks, aliasing.

The aliasing criterion (issue 14): a 50 Hz tone (the simulator's powerline noise) sent
through a resampling path ends below 1% of its amplitude everywhere in the passband of the
output (0 to 0.8 x its Nyquist frequency), measured on a Hann-tapered amplitude spectrum.
The linear interpolation that Mantis used before (2048 -> 512 samples) fails it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physio_bench.errors import ConfigError
from physio_bench.models.chronos import DEFAULT_INPUT_HZ as CHRONOS_HZ
from physio_bench.models.context import Chunk, split_context
from physio_bench.models.mantis import resample as mantis_resample
from physio_bench.models.moirai import DEFAULT_INPUT_HZ as MOIRAI_HZ
from physio_bench.models.resampling import (
    PASSBAND_FRACTION,
    InputPlan,
    map_spans_back,
    rate_ratio,
    resample,
    resample_to_length,
    resampled_length,
    token_geometry,
)
from physio_bench.preflight import load_config

TONE_HZ = 50.0
SUITE_RATES = (125.0, 250.0)  # the default simulation rate and the previous one


def default_rates_below_100() -> list[float]:
    """Every default input rate below 100 Hz: plug-in defaults and the study's rates."""
    study = load_config()["sensitivity"]["input_hz"]
    return sorted({r for r in (CHRONOS_HZ, MOIRAI_HZ, *study) if r < 100})


def passband_amplitude(x: np.ndarray, rate_hz: float) -> float:
    """Largest sinusoid amplitude in 0 .. 0.8 x Nyquist of ``x`` (Hann-tapered rFFT)."""
    window = np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(x.size, 1 / rate_hz)
    return float(spectrum[freqs <= PASSBAND_FRACTION * rate_hz / 2].max())


def tone(n: int, rate_hz: float, freq_hz: float, phase: float = 0.3) -> np.ndarray:
    return np.sin(2 * np.pi * freq_hz * np.arange(n) / rate_hz + phase)


def test_default_rates_below_100_are_the_ones_we_expect():
    assert default_rates_below_100() == [25.0, 50.0]


@pytest.mark.parametrize("suite_hz", SUITE_RATES)
def test_core_resampler_removes_a_50hz_tone_at_every_default_rate_below_100(suite_hz):
    for input_hz in default_rates_below_100():
        up, down = rate_ratio(suite_hz, input_hz)
        out = resample(tone(4000, suite_hz, TONE_HZ)[None, None], up, down)[0, 0]
        assert passband_amplitude(out, input_hz) < 0.01, (suite_hz, input_hz)
        # the measure sees a tone that is there: the same path keeps a 5 Hz tone
        kept = resample(tone(4000, suite_hz, 5.0)[None, None], up, down)[0, 0]
        assert abs(passband_amplitude(kept, input_hz) - 1.0) < 0.02


def test_mantis_resize_is_anti_aliased_where_linear_interpolation_was_not():
    x = tone(2048, 250.0, TONE_HZ).astype(np.float32)
    out = mantis_resample(x[None, None], 512)[0, 0]  # 2048 -> 512: 62.5 Hz
    assert out.shape == (512,)
    assert passband_amplitude(out, 62.5) < 0.01
    # the former path (linear interpolation) folds the tone to 12.45 Hz at 0.61
    linear = torch.nn.functional.interpolate(torch.from_numpy(x[None, None]), size=512,
                                             mode="linear", align_corners=False)[0, 0].numpy()
    assert passband_amplitude(linear, 62.5) > 0.5
    # and the 4000-sample default window (32 s at 125 Hz) reaches Mantis at 16 Hz
    long = mantis_resample(tone(4000, 125.0, TONE_HZ)[None, None].astype(np.float32), 512)
    assert passband_amplitude(long[0, 0], 16.0) < 0.01


def test_exact_ratios_and_lengths():
    assert rate_ratio(125, 100) == (4, 5)
    assert rate_ratio(125, 50) == (2, 5)
    assert rate_ratio(250, 62.5) == (1, 4)
    assert rate_ratio(360, 100) == (5, 18)
    assert rate_ratio(125, 256) == (256, 125)
    for n, (up, down) in [(4000, (4, 5)), (1001, (2, 5)), (999, (256, 125)), (7, (1, 4))]:
        out = resample(np.ones((2, 3, n)), up, down)
        assert out.shape == (2, 3, resampled_length(n, up, down))
        assert out.shape[-1] == int(np.ceil(n * up / down)) and out.dtype == np.float32
    assert resample_to_length(np.zeros((1, 1000)), 512).shape == (1, 512)
    with pytest.raises(ConfigError, match=r"^models.x.input_hz: 100 Hz from 99.9937 Hz is the "
                                          r"ratio 1000000/999937, beyond 4096/4096"):
        rate_ratio(99.9937, 100, "models.x.input_hz")
    with pytest.raises(ConfigError, match="rates must be positive"):
        rate_ratio(125, 0)


def test_round_trip_of_a_slow_sine():
    """125 -> 50 -> 125 Hz leaves a 0.7 Hz sine on an offset and a drift as it was."""
    n, fs = 4000, 125.0
    t = np.arange(n) / fs
    x = 0.5 + 0.02 * t + np.sin(2 * np.pi * 0.7 * t + 0.3)
    down = resample(x[None], 2, 5)[0]
    back = resample(down[None], 5, 2)[0][:n]
    t50 = np.arange(down.size) / 50.0
    expected = 0.5 + 0.02 * t50 + np.sin(2 * np.pi * 0.7 * t50 + 0.3)
    # edges (line padding: no step, only the filter's ringing), then the interior
    np.testing.assert_allclose(down, expected, atol=1e-2)
    np.testing.assert_allclose(back, x, atol=5e-2)
    assert np.abs(down - expected)[10:-10].max() < 1e-3
    assert np.abs(back - x)[50:-50].max() < 1e-3


def test_spans_map_back_outward_and_cover_the_window():
    # 125 -> 50 Hz (up 2, down 5): input sample k lies at original sample 2.5 k
    spans = np.array([[0, 32], [32, 64], [1, 2], [398, 400]])
    assert map_spans_back(spans, 2, 5, 1000).tolist() == [[0, 80], [80, 160], [2, 5],
                                                          [995, 1000]]
    # 125 -> 100 Hz: 1.25 samples per input sample, rounded outward
    assert map_spans_back(np.array([[3, 7]]), 4, 5, 4000).tolist() == [[3, 9]]
    # clipped: the last input sample of a non-integer length maps inside the window
    assert map_spans_back(np.array([[400, 401]]), 2, 5, 1001).tolist() == [[1000, 1001]]
    # upsampling: every token keeps at least one original sample
    up = map_spans_back(np.array([[k, k + 1] for k in range(0, 20)]), 256, 125, 10)
    assert (up[:, 1] > up[:, 0]).all() and up[0, 0] == 0 and up[-1, 1] <= 10
    # consecutive tokens of a 3200-sample input tile the 4000-sample window
    tiles = map_spans_back(np.stack([np.arange(0, 3200, 64), np.arange(64, 3264, 64)], 1),
                           4, 5, 4000)
    assert tiles[0, 0] == 0 and tiles[-1, 1] == 4000 and (tiles[1:, 0] == tiles[:-1, 1]).all()
    assert map_spans_back(spans, 3, 3, 10).tolist() == [[0, 10], [10, 10], [1, 2], [10, 10]]


def test_chunks_are_aligned_to_the_end():
    # a remainder of at least half the context is its own first chunk
    assert split_context(3200, 2048) == (Chunk(0, 1152, 1152), Chunk(1152, 3200, 3200))
    # a shorter one is an overlapped full context, kept up to the next chunk
    assert split_context(3000, 2048) == (Chunk(0, 2048, 952), Chunk(952, 3000, 3000))
    assert split_context(4096, 2048) == (Chunk(0, 2048, 2048), Chunk(2048, 4096, 4096))
    assert split_context(2048, 2048) == (Chunk(0, 2048, 2048),)
    assert split_context(5000, None) == (Chunk(0, 5000, 5000),)
    assert [(c.start, c.stop) for c in split_context(10, 3)] == [(0, 3), (1, 4), (4, 7),
                                                                 (7, 10)]
    plan = InputPlan.build(125.0, 4000, 100.0, "config", context_samples=1024)
    assert plan.input_samples == 3200 and (plan.up, plan.down) == (4, 5)
    assert plan.chunk_bounds == [(0, 1024), (128, 1152), (1152, 2176), (2176, 3200)]
    assert plan.describe()["chunk_keep_before"] == [128, 1152, 2176, 3200]
    assert plan.describe()["input_hz_source"] == "config"
    native = InputPlan.build(125.0, 4000, None, "plug-in default")
    assert (native.resampled, native.source, native.input_hz) == (False, "suite rate", 125.0)
    assert native.describe()["resampling"]["method"] == "none"


def test_token_geometry_from_spans():
    spans = np.array([[0, 8], [8, 72], [72, 136], [0, 8], [8, 72], [72, 136]])
    geometry = token_geometry(spans, np.array([0, 0, 0, 1, 1, 1]), 100.0)
    assert geometry == {"tokens_per_channel": 3, "patch_duration_s": 0.64,
                        "token_stride_s": 0.64}
    one = token_geometry(np.array([[0, 400]]), np.array([-1]), 50.0)
    assert one == {"tokens_per_channel": 1, "patch_duration_s": 8.0, "token_stride_s": None}
