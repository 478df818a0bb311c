"""Cross-talk: when only factor A moves, how far does decoded B move, relative to decoded A?

The ``sweeps`` suite holds, per signal kind, sweep *subjects* (``subject_id``); each has a
sweep of every factor (``scenario = sweep:{factor}``): windows in which that factor steps
across its range while the others stay fixed. One ridge decoder per kind is fitted on the
whole ``factors`` suite (alpha by grouped CV on it) and applied to every sweep window.

With every factor expressed in standard deviations of the ``factors`` suite, the slope of
decoded factor ``B`` on the swept factor ``A`` within subject ``s``'s sweep of ``A`` is
``b_s[A, B]``; the *own response* of ``A`` is ``r[A] = mean_s b_s[A, A]`` (1 for a perfect
decoder, smaller for a shrunk or weak one, 0 for one that does not see ``A``).

- ``matrix[A, B] = |mean_s b_s[A, B]| / r[A]`` off the diagonal: how far decoded ``B`` moves
  per unit that decoded ``A`` moves, when only ``A`` moves. Dividing by the own response
  keeps a representation that decodes nothing from scoring a perfect 0 (it moves nothing,
  including itself). The signed mean over subjects keeps decoding noise, which has no
  consistent sign across subjects, from adding up.
- Only swept factors whose own response is *clearly non-zero* count: ``r[A]`` at least
  :data:`MIN_OWN_RESPONSE` and the lower end of its 95% subject-bootstrap interval above 0.
- The row ``cross_talk`` of a kind is the mean of ``matrix[A, B]`` over those ``A`` and
  every ``B != A``; not estimable when no swept factor qualifies or the kind has one
  factor. Its interval resamples sweep subjects (``n_subjects``), so it needs several
  sweep subjects per kind (fewer than ``statistics.min_groups`` make it not estimable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.io import Suite
from physio_bench.probes.ridge import FittedRidge
from physio_bench.probes.stats import Estimate, bootstrap_counts, estimate_from_samples

#: own response (decoded A per true A, in SDs) below which A's cross-talk is not reported
MIN_OWN_RESPONSE = 0.1


def _sweep_slopes(decoder: FittedRidge, sweeps: Suite, sweep_x: np.ndarray, kind: str,
                  factors: list[str], scale: np.ndarray
                  ) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, Any]]:
    """Subjects, slopes (subjects x swept x decoded; NaN where a sweep is missing), window
    counts (subjects x swept) and per-factor traces (step means of the first subject)."""
    labels = sweeps.labels
    kind_rows = labels["signal_kind"].to_numpy() == kind
    scenario = labels["scenario"].astype(str).to_numpy()
    subject_ids = labels["subject_id"].astype(str).to_numpy()
    wanted = kind_rows & np.isin(scenario, [f"sweep:{f}" for f in factors])
    subjects = sorted(set(subject_ids[wanted]))
    f = len(factors)
    slopes = np.full((len(subjects), f, f), np.nan)
    counts = np.zeros((len(subjects), f), dtype=np.int64)
    traces: dict[str, Any] = {}
    for a, factor in enumerate(factors):
        if factor not in labels.columns:
            continue
        values = labels[factor].to_numpy(dtype=float)
        for s, subject in enumerate(subjects):
            rows = np.flatnonzero(wanted & (scenario == f"sweep:{factor}")
                                  & (subject_ids == subject))
            swept = values[rows]
            if len(rows) < 3 or not np.isfinite(swept).all() or np.ptp(swept) <= 0:
                continue
            decoded = decoder.predict(sweep_x[rows]) / scale[None, :]
            centred = swept / scale[a] - (swept / scale[a]).mean()
            slopes[s, a] = centred @ (decoded - decoded.mean(axis=0)) / (centred @ centred)
            counts[s, a] = len(rows)
            if factor not in traces:
                steps = np.unique(swept)
                traces[factor] = {"subject": subject, "swept_values": steps,
                                  "decoded_step_means": np.array(
                                      [decoded[swept == v].mean(axis=0) for v in steps])
                                  * scale[None, :]}
    return subjects, slopes, counts, traces


def _resampled_means(slopes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted means over subjects ignoring missing sweeps: rows x swept x decoded."""
    present = np.isfinite(slopes)
    filled = np.where(present, slopes, 0.0)
    num = np.einsum("bs,saf->baf", weights, filled)
    den = np.einsum("bs,saf->baf", weights, present.astype(float))
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def cross_talk(decoder: FittedRidge, y_factors: np.ndarray, sweeps: Suite,
               sweep_x: np.ndarray, kind: str, factors: list[str], n_boot: int, seed: int
               ) -> tuple[dict[str, Any], Estimate | None, str]:
    """Cross-talk of one kind: (JSON detail, estimate or None, note when None)."""
    scale = np.asarray(y_factors, dtype=float).std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    subjects, slopes, counts, traces = _sweep_slopes(decoder, sweeps, sweep_x, kind,
                                                     factors, scale)
    f = len(factors)
    detail: dict[str, Any] = {"factors": factors, "decoder_cv_r2": decoder.cv_r2,
                              "n_sweep_subjects": len(subjects), "decoded_traces": traces,
                              "min_own_response": MIN_OWN_RESPONSE}
    if not subjects or not np.isfinite(slopes).any():
        return detail, None, f"not estimable: no sweeps of {kind} factors in the sweeps suite"
    weights = np.vstack([np.ones((1, len(subjects))),
                         bootstrap_counts(len(subjects), n_boot, seed)])
    means = _resampled_means(slopes, weights)  # (1+B) x swept x decoded
    own = np.diagonal(means, axis1=1, axis2=2)  # (1+B) x swept
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.abs(means) / own[:, :, None]
    own_low = np.array([np.percentile(own[1:, a][np.isfinite(own[1:, a])], 2.5)
                        if np.isfinite(own[1:, a]).any() else np.nan for a in range(f)])
    clear = np.isfinite(own[0]) & (own[0] >= MIN_OWN_RESPONSE) & (own_low > 0)
    matrix = ratio[0].copy()
    matrix[np.arange(f), np.arange(f)] = own[0]
    detail.update({
        "matrix": matrix, "own_response": own[0], "own_response_ci_low": own_low,
        "clear_own_response": [factors[a] for a in np.flatnonzero(clear)],
        "mean_slope_matrix": means[0], "per_subject_slopes": slopes,
        "subjects": subjects, "windows_per_subject_sweep": counts,
    })
    if f < 2:
        return detail, None, "not estimable: one factor (nothing to cross-talk with)"
    if not clear.any():
        return detail, None, ("not estimable: no swept factor moves its own decoding clearly "
                              f"(own response >= {MIN_OWN_RESPONSE:g} SD per SD with its "
                              "interval above 0)")
    off = ~np.eye(f, dtype=bool) & clear[:, None]
    finite = np.isfinite(ratio[:, off])
    count = finite.sum(axis=1)
    total = np.where(finite, ratio[:, off], 0.0).sum(axis=1)
    values = np.divide(total, count, out=np.full(len(total), np.nan), where=count > 0)
    n_items = int(counts[:, clear].sum())
    return detail, estimate_from_samples(values[0], values[1:], n_items, (0.0, np.inf),
                                         n_subjects=len(subjects)), ""
