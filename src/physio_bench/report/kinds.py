"""What a figure is: its section, how it gathers data and draws, and what it may read.

Figure modules (``figures_*.py``) define ``KINDS``, a list of :class:`FigureKind`;
:mod:`physio_bench.report.figures` collects them. This module imports no figure module,
so the figure modules and the collector do not import each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from physio_bench.report.style import ModelStyle

if TYPE_CHECKING:
    import pandas as pd

SECTIONS = (
    "signals", "feature_independence", "temporal_dynamics", "scenario_separation",
    "layerwise", "downstream", "comparisons", "finetune", "sensitivity",
)
SECTION_TITLES = {
    "signals": "Simulated signals",
    "feature_independence": "Feature independence",
    "temporal_dynamics": "Temporal dynamics",
    "scenario_separation": "Scenario separation",
    "layerwise": "Layer-wise",
    "downstream": "Downstream (real recordings)",
    "sensitivity": "Input-rate sensitivity",
    "finetune": "Trained on synthetic physiology",
    "comparisons": "Paired comparisons",
}


@dataclass
class FigureContext:
    """What every figure may read: config, results folder, style, models (config order)."""

    config: dict[str, Any]
    results: Path
    style: str
    models: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.results = Path(self.results)
        from physio_bench.config import enabled_models

        self.models = self.models or list(enabled_models(self.config))
        self.colors = ModelStyle.from_config(self.config)

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The leaderboard rows of the enabled models (read once): every instance's rows,
        MAE-guarded, plus a seed-mean row per replicated model under its configured name.
        A section's figures use only their own stage's rows, so other stages' CSVs may
        not exist yet."""
        from physio_bench.report.leaderboard import board_rows

        return board_rows(self.config, self.results, missing_level=logging.DEBUG)


@dataclass(frozen=True)
class FigureKind:
    """One kind of figure: ``data(ctx, model)`` gathers numbers, ``draw(data, ctx)`` plots."""

    name: str
    section: str
    title: str
    data: Callable[..., dict[str, Any]]
    draw: Callable[[dict[str, Any], FigureContext], Any]
    per_model: bool = False
    #: whether the config asks for this figure at all (None: always)
    applies: Callable[[dict[str, Any]], bool] | None = None
    #: a per-model kind's models, from the config (None: every enabled model)
    models: Callable[[dict[str, Any]], list[str]] | None = None

    def applies_to(self, config: dict[str, Any]) -> bool:
        return self.applies is None or bool(self.applies(config))

    def models_for(self, config: dict[str, Any], enabled: Iterable[str]) -> list[str]:
        """The models this kind draws one file for (per-model kinds)."""
        return list(enabled) if self.models is None else list(self.models(config))

    def stems(self, models: Iterable[str]) -> list[tuple[str, str | None]]:
        """(file stem, model or None) of every file of this kind."""
        if self.per_model:
            return [(f"{self.name}_{m}", m) for m in models]
        return [(self.name, None)]
