"""Probe calibration: what R² the linear probe reaches on a feature that is perfect.

The embedding is replaced by ``d`` columns: one equal to a factor of the ``factors``
suite (standardised), the others independent standard normal noise (isotropic), where
``d`` is the model's embedding size. The same nested grouped CV as the real probe (same
windows, subjects, folds, alpha grid) decodes the factor. A result near 1 says the
probe has the power to find a factor that the embedding holds in one direction at this
number of windows and this embedding size; well below 1 means the probe is starved (too
few windows for ``d`` dimensions) and the model's R² is bounded by the probe, not the
model. The row ``calibration_r2`` (task ``calibration``) reports it with the corrected
resampled t interval over the outer folds (:func:`physio_bench.statistics.cv_estimate`);
the JSON gives ``d``, ``n``, the factor used and the chosen alphas.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.probes.ridge import nested_ridge
from physio_bench.probes.stats import Estimate, r2_estimates


def calibration_features(y: np.ndarray, d: int, seed: int) -> np.ndarray:
    """``n x d`` float32: the standardised ``y`` in column 0, isotropic noise elsewhere."""
    y = np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((len(y), max(int(d), 1))).astype(np.float32)
    x[:, 0] = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
    return x


def calibrate(y: np.ndarray, groups: np.ndarray, outer: np.ndarray, inner: np.ndarray,
              d: int, n_boot: int, seed: int) -> tuple[Estimate, dict[str, Any]]:
    """Cross-validated R² of a perfect feature among ``d - 1`` noise dimensions."""
    x = calibration_features(y, d, seed)
    result = nested_ridge(lambda _: x, 1, y, outer, inner)
    estimate = r2_estimates(y, result.oof[0], groups, n_boot, seed + 1, folds=outer)[0]
    return estimate, {"d": int(d), "n": len(y), "n_subjects": estimate.n_subjects,
                      "r2": estimate.to_dict(), "alpha_per_fold": result.alpha[0, :, 0]}
