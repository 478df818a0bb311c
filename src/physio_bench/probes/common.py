"""Settings, result records and out-of-fold prediction tables shared by the probes.

Estimability (HELPERS decision 12, until ``physio_bench.statistics`` provides it): a
metric whose interval resamples fewer than ``min_groups`` independent groups (subjects,
sweep subjects; config ``statistics.min_groups``, default 5) is reported as
``not estimable: k groups (need 5)`` in the row's ``note``, with value and interval empty.
A row that cannot be computed for another reason carries that reason in ``note``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import inf
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.io import PREDICTION_COLUMNS
from physio_bench.metrics import METRICS, chance_of, direction_of
from physio_bench.probes.stats import Estimate

#: points per scatter plot / map written to the JSON detail (a seeded subsample)
MAX_SCATTER_POINTS = 300
#: default of ``statistics.min_groups``: fewer independent groups make a metric not estimable
MIN_GROUPS = 5


@dataclass(frozen=True)
class ProbeSettings:
    """The ``probes`` config section and the global seed."""

    cv_folds: int = 5
    inner_folds: int = 3
    bootstrap: int = 1000
    max_tokens_per_window: int = 64
    seed: int = 0
    min_groups: int = MIN_GROUPS

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ProbeSettings:
        section = config.get("probes", {})
        statistics = config.get("statistics") or {}
        return cls(
            cv_folds=int(section.get("cv_folds", 5)),
            inner_folds=int(section.get("inner_folds", 3)),
            bootstrap=int(section.get("bootstrap", 1000)),
            max_tokens_per_window=int(section.get("max_tokens_per_window", 64)),
            seed=int(config.get("seed", 0)),
            min_groups=int(statistics.get("min_groups", MIN_GROUPS)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def missing_estimate(n: int = 0, n_subjects: int | None = None) -> Estimate:
    """An :class:`Estimate` without a value (for a row that says why in its note)."""
    nan = float("nan")
    return Estimate(nan, nan, nan, int(n), None, None if n_subjects is None else int(n_subjects))


def groups_note(n_groups: int, min_groups: int, what: str = "groups") -> str:
    """``not estimable: k groups (need m)``."""
    return f"not estimable: {int(n_groups)} {what} (need {int(min_groups)})"


@dataclass
class MetricRow:
    """One leaderboard entry before the model columns are added.

    A row with a ``note`` and a non-finite estimate is a result that cannot be estimated
    (value and interval are written empty, the note says why).
    """

    task: str
    metric: str
    layer: str  # "last" | "best"
    estimate: Estimate
    chance: float | None = None  # overrides the metric's registered chance level (e.g. 1/K)
    note: str = ""

    @classmethod
    def missing(cls, task: str, metric: str, layer: str, note: str, n: int = 0,
                n_subjects: int | None = None, chance: float | None = None) -> MetricRow:
        """A row that says why ``metric`` has no value."""
        if not note:
            raise ValueError("a row without a value needs a note that says why")
        return cls(task, metric, layer, missing_estimate(n, n_subjects), chance, note)

    def checked(self, min_groups: int) -> MetricRow:
        """This row, or a not-estimable one when its estimate has too few groups or no
        finite value."""
        e = self.estimate
        if self.note and not e.finite:
            return self  # already says why it has no value
        if e.n_subjects is not None and e.n_subjects < min_groups:
            return MetricRow.missing(self.task, self.metric, self.layer,
                                     groups_note(e.n_subjects, min_groups), e.n,
                                     e.n_subjects, self.chance)
        if not np.isfinite(e.value) and not self.note:
            return MetricRow.missing(self.task, self.metric, self.layer,
                                     e.note or "not estimable: no finite value (constant "
                                     "target or empty subset)", e.n, e.n_subjects, self.chance)
        return self

    def to_row(self, model: str, pretrained: bool, stage: str) -> dict[str, Any]:
        """The leaderboard row; the interval is clipped to the metric's registered range,
        and a row without a finite number carries the reason (its note, or the
        estimate's)."""
        e = self.estimate
        # a value without an interval (the bootstrap could not form one, issue 24) keeps
        # its value; its note says why the interval is empty
        finite = e.finite
        nan = float("nan")
        low, high = METRICS[self.metric].bounds if self.metric in METRICS else (-inf, inf)
        return {
            "model": model, "pretrained": bool(pretrained), "stage": stage, "task": self.task,
            "metric": self.metric, "layer": self.layer,
            "value": e.value if np.isfinite(e.value) else nan,
            "ci_low": min(max(e.ci_low, low), high) if finite else nan,
            "ci_high": max(min(e.ci_high, high), low) if finite else nan, "n": e.n,
            "n_subjects": e.n_subjects,
            "chance": chance_of(self.metric) if self.chance is None else float(self.chance),
            "direction": direction_of(self.metric), "note": self.note or e.note,
        }


def aggregate_rows(task: str, metric: str, layer: str, parts: dict[str, MetricRow | None],
                   combine: Any, min_groups: int, n: int | None = None,
                   n_subjects: int | None = None) -> MetricRow:
    """The ``task`` (e.g. ``all``) row of ``metric`` combining one row per component.

    Present only when every component (``parts``: component name -> row) has a value that
    can be estimated (:meth:`MetricRow.checked` with ``min_groups``); otherwise a row whose
    note names the components without one (a missing aggregate is missing, never an
    average over a different set of components). ``combine`` maps the list of component
    estimates to the aggregate estimate; its ``n`` and ``n_subjects`` are those given, or
    the sums over the components (components with distinct items and subjects).
    """
    if not parts:
        return MetricRow.missing(task, metric, layer, "not estimable: no component")
    checked = {name: None if row is None else row.checked(min_groups)
               for name, row in parts.items()}
    def has_value(row: MetricRow) -> bool:  # a value without an interval still counts
        return bool(np.isfinite(row.estimate.value)) and (
            not row.note or row.note.startswith("no interval"))

    absent = sorted(name for name, row in checked.items()
                    if row is None or not has_value(row))
    if absent:
        return MetricRow.missing(task, metric, layer,
                                 f"not estimable: no value for {', '.join(absent)}")
    estimates = [row.estimate for row in checked.values() if row is not None]
    estimate = combine(estimates)
    estimate.n = int(sum(e.n for e in estimates) if n is None else n)
    subjects = [e.n_subjects for e in estimates]
    estimate.n_subjects = (int(n_subjects) if n_subjects is not None else
                           None if None in subjects else int(sum(subjects)))
    return MetricRow(task, metric, layer, estimate)


def predictions_frame(task: str, metric: str, layer: str, items: np.ndarray,
                      subjects: np.ndarray, targets: list[str] | str, y_true: np.ndarray,
                      y_pred: np.ndarray, repeat: int = 0,
                      folds: np.ndarray | None = None) -> pd.DataFrame:
    """Out-of-fold predictions in the tidy layout of :data:`physio_bench.io.PREDICTION_COLUMNS`.

    ``y_true``/``y_pred`` are items x targets (or items, with one target name); ``folds``
    the outer fold that held each item out (None: -1, a decoder fitted elsewhere).
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    names = [targets] if isinstance(targets, str) else list(targets)
    n, k = y_true.shape
    if len(names) != k or y_pred.shape != (n, k):
        raise ValueError("predictions_frame: targets and arrays disagree")
    return pd.DataFrame({
        "task": task, "metric": metric, "layer": layer, "repeat": int(repeat),
        "fold": np.repeat(np.full(n, -1, dtype=np.int64) if folds is None
                          else np.asarray(folds, dtype=np.int64), k),
        "item": np.repeat(np.asarray(items, dtype=np.int64), k),
        "subject": np.repeat(np.asarray(subjects).astype(str), k),
        "target": np.tile(np.asarray(names, dtype=object), n),
        "y_true": y_true.reshape(-1), "y_pred": y_pred.reshape(-1),
    }, columns=PREDICTION_COLUMNS)


def concat_predictions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One prediction table (empty, with the columns, when there is none)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def subsample(n: int, k: int, seed: int) -> np.ndarray:
    """Sorted seeded choice of ``min(n, k)`` indices out of ``n``."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def mode_layer(chosen: np.ndarray) -> int:
    """Most frequently chosen layer index (ties: the deeper layer)."""
    counts = Counter(int(c) for c in chosen)
    return max(counts, key=lambda layer: (counts[layer], layer))


def selection_detail(chosen: np.ndarray, inner_score: np.ndarray,
                     layer_names: list[str]) -> dict[str, Any]:
    """JSON record of a per-fold best-layer choice (inner_score: layers x folds)."""
    return {
        "chosen_layer_per_fold": [layer_names[int(c)] for c in chosen],
        "inner_score_per_layer_fold": inner_score,
        "mode_layer": layer_names[mode_layer(chosen)],
        "rule": "per outer fold, the layer with the best inner-CV score on that fold's "
                "training subjects; evaluated on the fold's test subjects",
    }
