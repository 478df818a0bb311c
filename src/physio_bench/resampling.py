"""The one anti-aliased resampler of the project: training windows and embedded windows
pass through exactly this code.

Both the finetune stage (``finetune.data.resample_windows``, the windows a model is
trained on) and the embed stage (``models.resampling``, the windows a model is evaluated
on) call :func:`resample`, so a checkpoint is trained on the inputs it sees at
evaluation. One limit, :data:`MAX_FACTOR`, bounds the exact rate ratio for both.

**Ratio.** ``to_hz / from_hz`` must be an exact ratio of small integers ``up / down``
(reduced, each at most :data:`MAX_FACTOR`); both rates are read as decimals
(``Fraction(str(rate))``), so ``62.5`` is ``125/2``. The output has
``ceil(n * up / down)`` samples.

**Filter.** ``scipy.signal.resample_poly`` (polyphase, linear phase, zero delay) with our
own Kaiser-windowed sinc FIR instead of scipy's default (whose cutoff sits *at* the new
Nyquist frequency, so components just above it alias at up to half their amplitude): the
passband ends at ``PASSBAND_FRACTION`` (0.8) of the lower Nyquist frequency
``min(from_hz, to_hz) / 2`` and the stopband starts at that Nyquist frequency, with
``STOPBAND_DB`` (60 dB) attenuation (``scipy.signal.kaiserord``). Windows are extended
with ``padtype="line"`` so a drifting signal (EDA) shows no step at the edges.

Light: imports only numpy and errors (scipy on first use), so config-free stages may use it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from physio_bench.errors import ConfigError

PASSBAND_FRACTION = 0.8  # passband edge / Nyquist frequency of the lower rate
STOPBAND_DB = 60.0  # attenuation from that Nyquist frequency on (dB)
MAX_FACTOR = 4096  # largest up or down factor of an exact rate ratio
METHOD = (f"scipy.signal.resample_poly, Kaiser-windowed FIR: passband to "
          f"{PASSBAND_FRACTION:g} x and stopband ({STOPBAND_DB:g} dB) from 1 x the lower "
          f"Nyquist frequency; padtype line")


def exact_rate(rate_hz: float) -> Fraction:
    """A rate as an exact fraction of its decimal spelling (``62.5`` -> ``125/2``)."""
    return Fraction(str(float(rate_hz)))


def rate_ratio(from_hz: float, to_hz: float, what: str = "input_hz") -> tuple[int, int]:
    """``(up, down)``: the reduced integer ratio ``to_hz / from_hz``.

    Raises:
        ConfigError: a rate that is not positive, or a ratio that needs a factor above
            :data:`MAX_FACTOR` (e.g. 100 Hz from 99.9937 Hz).
    """
    if not (math.isfinite(from_hz) and math.isfinite(to_hz)) or from_hz <= 0 or to_hz <= 0:
        raise ConfigError(f"{what}: rates must be positive, got {from_hz} -> {to_hz} Hz")
    ratio = exact_rate(to_hz) / exact_rate(from_hz)
    up, down = ratio.numerator, ratio.denominator
    if max(up, down) > MAX_FACTOR:
        raise ConfigError(
            f"{what}: {to_hz:g} Hz from {from_hz:g} Hz is the ratio {up}/{down}, beyond "
            f"{MAX_FACTOR}/{MAX_FACTOR}: choose an input rate with a simpler ratio to "
            f"{from_hz:g} Hz")
    return up, down


def resampled_length(n_samples: int, up: int, down: int) -> int:
    """Samples after resampling by ``up / down``: ``ceil(n * up / down)``."""
    return -(-n_samples * up // down)


@lru_cache(maxsize=64)
def _design(up: int, down: int) -> np.ndarray:
    """The anti-aliasing FIR at the upsampled rate (``up`` x the input rate)."""
    from scipy.signal import firwin, kaiserord

    nyquist = min(1.0, up / down) / 2  # lower Nyquist frequency, in units of the input rate
    half_rate = up / 2  # Nyquist frequency of the upsampled rate
    width = (1.0 - PASSBAND_FRACTION) * nyquist / half_rate
    numtaps, beta = kaiserord(STOPBAND_DB, width)
    numtaps |= 1  # odd: a symmetric, zero-delay filter
    cutoff = (1.0 + PASSBAND_FRACTION) / 2 * nyquist / half_rate
    taps = firwin(numtaps, cutoff, window=("kaiser", beta))
    taps.setflags(write=False)
    return taps


def filter_taps(up: int, down: int) -> int:
    """Length of the FIR used for ``up / down`` (recorded in ``model.json``)."""
    return 0 if up == down else int(_design(up, down).size)


def resample(windows: np.ndarray, up: int, down: int) -> np.ndarray:
    """Resample float windows (... x samples) by ``up / down`` along the last axis.

    Returns float32 (computed in float64); a copy even when ``up == down``.
    """
    array = np.asarray(windows, dtype=np.float64)
    if up == down:
        return array.astype(np.float32)
    from scipy.signal import resample_poly

    out = resample_poly(array, up, down, axis=-1, window=_design(up, down), padtype="line")
    return out.astype(np.float32)




def resample_rates(windows: np.ndarray, from_hz: float, to_hz: float,
                   what: str = "input_hz") -> np.ndarray:
    """Windows (... x samples) at ``from_hz`` resampled to ``to_hz`` by :func:`resample`."""
    up, down = rate_ratio(from_hz, to_hz, what)
    return resample(windows, up, down)
