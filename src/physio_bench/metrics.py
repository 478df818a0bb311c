"""Every metric the benchmark reports: direction, chance (null) level, bounds, definition.

One registry read by the probes and downstream stages (to fill the ``direction`` and
``chance`` columns of their leaderboard rows) and by the report (arrows, chance lines,
the one-sentence explanation of each metric). This module imports no stage.

``chance`` is the value a representation that encodes nothing is expected to score, when
that value does not depend on the task (``None`` otherwise: a row then carries its own
chance level, e.g. 1/K for a K-class balanced accuracy, or none at all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class MetricSpec:
    """How to read one metric.

    Attributes:
        name: the ``metric`` column of leaderboard rows.
        direction: ``higher`` or ``lower`` is better.
        definition: one sentence, with units.
        chance: expected value for a representation that encodes nothing (None: task
            dependent or undefined; rows may carry their own).
        bounds: the metric's range (closed), ``(-inf, inf)`` when unbounded.
        null: how the chance level is obtained (e.g. ``1/K``, ``permutation``).
    """

    name: str
    direction: str
    definition: str
    chance: float | None = None
    bounds: tuple[float, float] = (-math.inf, math.inf)
    null: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.direction == HIGHER


_SPECS = (
    # feature_independence
    MetricSpec("r2", HIGHER, "Cross-validated coefficient of determination of a factor "
               "decoded linearly (ridge) from the pooled embedding (1 - SS_res / SS_tot).",
               0.0, (-math.inf, 1.0), "a decoder of noise predicts the training mean: 0"),
    MetricSpec("r2_nonlinear", HIGHER, "Cross-validated R² of a factor decoded by kernel "
               "ridge (RBF or linear kernel, chosen on inner folds) from the pooled embedding, "
               "same nested grouped folds: a ceiling beside the linear R².", 0.0,
               (-math.inf, 1.0), "a decoder of noise: 0"),
    MetricSpec("calibration_r2", HIGHER, "Cross-validated R² of the linear probe on one "
               "feature that equals a factor hidden among isotropic noise dimensions (same "
               "n, folds and embedding size d as the model): the probe's ceiling at this "
               "(n, d), a property of the probe rather than of the model (not to be "
               "ranked).", 0.0, (-math.inf, 1.0), "ideal 1; 0 for a probe starved by d"),
    MetricSpec("entanglement", LOWER, "Mean over reliably decoded factors of the share of a "
               "decoded factor's linear content that comes from the other true factors "
               "(mixing matrix of held-out predictions on standardised true factors), minus "
               "its permutation-null share.", 0.0, (-1.0, 1.0),
               "permutation of the other factors (excess over it: 0)"),
    MetricSpec("residual_correlation", LOWER, "Mean |correlation| between the decoding "
               "errors of pairs of reliably decoded factors (what is left after the mixing "
               "matrix).", None, (0.0, 1.0), "about sqrt(2 / (pi n)) for independent errors"),
    MetricSpec("dci_disentanglement", HIGHER, "DCI disentanglement (Eastwood & Williams "
               "2018): 1 - entropy in base F (every factor; a zero column for one failing "
               "the inner-fold R² gate) of each dimension's sparse (lasso at the universal "
               "threshold) importances, weighted by the dimension's share.",
               None, (0.0, 1.0), "undefined for noise (no decodable factor)"),
    MetricSpec("dci_completeness", HIGHER, "DCI completeness (Eastwood & Williams 2018): "
               "mean over factors of 1 - entropy in base d (embedding dimensions) of the "
               "factor's sparse importances (0 for a factor failing the gate); depends on d, "
               "compare models of equal width.", None, (0.0, 1.0),
               "undefined for noise (no decodable factor)"),
    MetricSpec("cross_talk", LOWER, "When only factor A is swept, how far decoded B moves "
               "relative to how far decoded A moves (both in standard deviations of the "
               "factors suite), over sweep subjects; only where A's own response is clearly "
               "non-zero.", 0.0, (0.0, math.inf), "no movement of the other factors: 0"),
    # temporal_dynamics
    MetricSpec("reconstruction_r2", HIGHER, "R² of the z-scored signal over a fixed 0.25 s "
               "span centred on a token (32 points) reconstructed linearly from the token.",
               0.0, (-math.inf, 1.0)),
    MetricSpec("tracking_r2", HIGHER, "R² of the time-varying ground truth (rate or phase) "
               "over each token's span, decoded linearly from the token.", 0.0,
               (-math.inf, 1.0)),
    MetricSpec("tracking_within_r2", HIGHER, "R² of the change of a rate within a window "
               "(window means removed), decoded linearly from the tokens.", 0.0,
               (-math.inf, 1.0)),
    MetricSpec("autocorrelation_agreement", HIGHER, "Correlation across lags between a "
               "window's signal autocorrelation and the similarity of its token embeddings, "
               "minus the same correlation with other windows of the same kind.", 0.0,
               (-2.0, 2.0), "other windows of the same kind (excess over them: 0)"),
    # scenario_separation
    MetricSpec("balanced_accuracy", HIGHER, "Mean per-class recall of a linear classifier "
               "on held-out subjects.", None, (0.0, 1.0), "1/K for K classes"),
    MetricSpec("macro_f1", HIGHER, "Mean per-class F1 of a linear classifier on held-out "
               "subjects.", None, (0.0, 1.0), "about 1/K for K balanced classes"),
    MetricSpec("silhouette", HIGHER, "Silhouette of the scenario labels over subject-by-"
               "scenario mean embeddings (standardised), pairs of the same subject left out.",
               0.0, (-1.0, 1.0)),
    MetricSpec("fisher_ratio", HIGHER, "Between- over within-class scatter of held-out "
               "windows projected on the training folds' Fisher directions.", None,
               (0.0, math.inf), "mean over permutations of the (subject, scenario) labels"),
    # downstream
    MetricSpec("jkappa", HIGHER, "jκ index of beat classification (Mondéjar-Guerra et al. "
               "2019): Cohen's κ / 2 + (Se_S + Se_V + +P_S + +P_V) / 8 over N/S/V/F beats.",
               None, (-0.5, 1.0), "κ = 0 for chance; j depends on the class mix"),
    MetricSpec("mae", LOWER, "Mean absolute error of a linear decoder on held-out records, "
               "in the target's unit (bpm, breaths/min).", None, (0.0, math.inf),
               "the training mean's MAE (reported beside it)"),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}


def register(spec: MetricSpec) -> MetricSpec:
    """Add ``spec`` to the registry (``ValueError`` if its name is taken by another spec)."""
    existing = METRICS.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"metric {spec.name!r} is already registered differently")
    METRICS[spec.name] = spec
    return spec


def metric_spec(name: str) -> MetricSpec:
    """The spec of ``name`` (``KeyError`` naming the known metrics)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}: known metrics are "
                       f"{', '.join(sorted(METRICS))}") from None


def direction_of(name: str) -> str:
    """``higher`` or ``lower`` (better) for a registered metric."""
    return metric_spec(name).direction


def chance_of(name: str) -> float:
    """The task-independent chance level of ``name``, NaN when it has none."""
    chance = metric_spec(name).chance
    return math.nan if chance is None else float(chance)
