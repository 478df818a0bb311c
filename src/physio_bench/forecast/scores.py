"""Proper scores of a predictive distribution, and the three model-free baselines.

Every predictive distribution is judged on a *target patch* ``y`` (``P`` samples, in the
units and at the rate the model sees) by three numbers, each averaged over the patch's
samples:

* ``nll_nats``: ``-log f(y_t)``, the negative log predictive density (nats per sample).
* ``crps``: the continuous ranked probability score, in the signal's units, estimated
  from ``S`` predictive samples ``x_1..x_S`` with the fair (unbiased) ensemble estimator
  ``mean_s |x_s - y| - sum_{s,s'} |x_s - x_s'| / (2 S (S - 1))`` (Ferro 2014); for a
  Gaussian the closed form ``sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]`` is
  used instead (:func:`gaussian_crps`).
* ``median_corr``: Pearson correlation, across the patch's samples, of the predictive
  median with ``y``; NaN (not estimable) when either is constant, e.g. for the
  context-free baselines whose median does not change within a patch.

Baselines (negative controls, no learning from the window's dynamics beyond what each
names):

* **marginal**: a Student-t fitted (``scipy.stats.t.fit``) per signal kind to samples of
  the *training* windows; the same distribution for every target sample (context-free).
* **window_gaussian**: a normal distribution with the context's mean and SD.
* **seasonal_naive**: ``y_hat[t] = x[t - L]`` (repeated for ``t - L`` inside the patch),
  ``L`` the first autocorrelation peak of the context (within 0.9 of the highest) between
  :data:`MIN_LAG_S` and :data:`MAX_LAG_S` (the beat or breath length); a normal
  distribution around it whose SD is the RMS of the context's own lag-``L`` differences.
"""

from __future__ import annotations

import math

import numpy as np

MIN_LAG_S = 0.25  # shortest season searched (s): above any physiological beat length
MAX_LAG_S = 12.0  # longest (s): a breath at 5 /min
PEAK_SHARE = 0.9  # a multiple of the period ties with it; the shortest such lag wins
SD_FLOOR = 1e-6  # relative floor on a predictive SD (a flat context has SD 0)


def fair_crps(samples: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Fair ensemble CRPS of ``samples`` (S x ...) for ``target`` (...), elementwise."""
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=0)
    y = np.asarray(target, dtype=np.float64)
    s = x.shape[0]
    if s < 2:
        raise ValueError("the fair CRPS needs at least 2 samples")
    spread_weights = (2 * np.arange(s) - s + 1).reshape((s,) + (1,) * (x.ndim - 1))
    pair_sum = 2 * np.sum(spread_weights * x, axis=0)  # sum_{s,s'} |x_s - x_s'|
    return np.mean(np.abs(x - y), axis=0) - pair_sum / (2 * s * (s - 1))


def gaussian_nll(mean: np.ndarray, sd: np.ndarray, target: np.ndarray) -> np.ndarray:
    z = (np.asarray(target, float) - mean) / sd
    return 0.5 * z * z + np.log(sd) + 0.5 * math.log(2 * math.pi)


def gaussian_crps(mean: np.ndarray, sd: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of N(mean, sd^2) (Gneiting & Raftery 2007)."""
    from scipy.stats import norm

    z = (np.asarray(target, float) - mean) / sd
    return sd * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))


def median_corr(median: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation of two patches; NaN when either is constant."""
    a = np.asarray(median, float) - np.mean(median)
    b = np.asarray(target, float) - np.mean(target)
    den = math.sqrt(float(a @ a) * float(b @ b))
    if den <= 1e-12 * max(1.0, float(np.abs(target).max()) ** 2 * a.size):
        return float("nan")
    return float(a @ b) / den


def seasonal_lag(context: np.ndarray, rate_hz: float) -> int | None:
    """The lag (samples) of the first autocorrelation peak of ``context`` between
    :data:`MIN_LAG_S` and :data:`MAX_LAG_S` (at most half the context) that reaches
    :data:`PEAK_SHARE` of the highest one; None if there is no peak."""
    from scipy.signal import find_peaks

    x = np.asarray(context, float) - float(np.mean(context))
    n = x.size
    lo = max(1, round(MIN_LAG_S * rate_hz))
    hi = min(round(MAX_LAG_S * rate_hz), n // 2)
    if hi <= lo + 1 or not np.any(x):
        return None
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: hi + 1]
    acf = acf / acf[0] * n / (n - np.arange(hi + 1))  # unbiased: lags see fewer pairs
    peaks, _ = find_peaks(acf[lo:hi + 1])
    if peaks.size == 0:
        return None
    heights = acf[lo:hi + 1][peaks]
    # the first peak within PEAK_SHARE of the highest: the period, not one of its multiples
    top = float(heights.max())
    return int(lo + peaks[np.flatnonzero(heights >= top - (1 - PEAK_SHARE) * abs(top))[0]])


def seasonal_naive(context: np.ndarray, horizon: int, rate_hz: float
                   ) -> tuple[np.ndarray, float]:
    """(point forecast of ``horizon`` samples after ``context``, residual SD).

    Without a seasonal lag the forecast is the last value (lag 1, a random walk).
    """
    x = np.asarray(context, float)
    lag = seasonal_lag(x, rate_hz) or 1
    series = np.concatenate([x, np.empty(horizon)])
    n = x.size
    for t in range(n, n + horizon):
        series[t] = series[t - lag]
    residual = x[lag:] - x[:-lag]
    sd = float(np.sqrt(np.mean(residual ** 2))) if residual.size else float(np.std(x))
    return series[n:], max(sd, SD_FLOOR * (float(np.std(x)) + 1e-12), 1e-12)


def window_gaussian(context: np.ndarray) -> tuple[float, float]:
    x = np.asarray(context, float)
    sd = float(np.std(x))
    return float(np.mean(x)), max(sd, SD_FLOOR * (abs(float(np.mean(x))) + 1.0))


class MarginalT:
    """A Student-t fitted to values (the context-free baseline)."""

    def __init__(self, values: np.ndarray) -> None:
        from scipy.stats import t

        values = np.asarray(values, float)
        df, loc, scale = t.fit(values)
        self.df, self.loc, self.scale = float(df), float(loc), max(float(scale), 1e-12)

    def nll(self, target: np.ndarray) -> np.ndarray:
        from scipy.stats import t

        return -t.logpdf(np.asarray(target, float), self.df, self.loc, self.scale)

    def samples(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.loc + self.scale * rng.standard_t(self.df, size=n)

    def median(self) -> float:
        return self.loc
