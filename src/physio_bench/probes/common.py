"""Settings and result records shared by the three probes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import inf
from typing import Any

import numpy as np

from physio_bench.metrics import METRICS, chance_of, direction_of
from physio_bench.probes.stats import Estimate

#: points per scatter plot / map written to the JSON detail (a seeded subsample)
MAX_SCATTER_POINTS = 300


@dataclass(frozen=True)
class ProbeSettings:
    """The ``probes`` config section and the global seed."""

    cv_folds: int = 5
    inner_folds: int = 3
    bootstrap: int = 1000
    max_tokens_per_window: int = 64
    seed: int = 0
    min_groups: int = 5  # statistics.min_groups: fewer subjects -> not estimable

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ProbeSettings:
        section = config.get("probes", {})
        return cls(
            cv_folds=int(section.get("cv_folds", 5)),
            inner_folds=int(section.get("inner_folds", 3)),
            bootstrap=int(section.get("bootstrap", 1000)),
            max_tokens_per_window=int(section.get("max_tokens_per_window", 64)),
            seed=int(config.get("seed", 0)),
            min_groups=int(config.get("statistics", {}).get("min_groups", 5)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class MetricRow:
    """One leaderboard entry before the model columns are added."""

    task: str
    metric: str
    layer: str  # "last" | "best"
    estimate: Estimate
    chance: float | None = None  # overrides the metric's registered chance level (e.g. 1/K)
    note: str = ""

    def to_row(self, model: str, pretrained: bool, stage: str) -> dict[str, Any]:
        """The leaderboard row; the interval is clipped to the metric's registered range."""
        e = self.estimate
        low, high = METRICS[self.metric].bounds if self.metric in METRICS else (-inf, inf)
        return {
            "model": model, "pretrained": bool(pretrained), "stage": stage, "task": self.task,
            "metric": self.metric, "layer": self.layer, "value": e.value,
            "ci_low": min(max(e.ci_low, low), high), "ci_high": max(min(e.ci_high, high), low),
            "n": e.n,
            "n_subjects": e.n_subjects,
            "chance": chance_of(self.metric) if self.chance is None else float(self.chance),
            "direction": direction_of(self.metric), "note": self.note or e.note,
        }


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
