"""Bar panels of probe metrics across models, with their chance (null) level drawn.

One panel per metric: a bar per model (its colour) with the 95% interval, the row's
``chance`` drawn as a black dash across the bar (a permutation null may differ per model),
and ``n/e`` with the note's reason in the data where the metric could not be estimated.
The panel title says which direction is better (from :mod:`physio_bench.metrics`).
Rows come straight from the leaderboard rows (``ctx.rows``), never through the headline
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from physio_bench.metrics import METRICS
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import new_grid, placeholder, title
from physio_bench.report.style import note_missing


@dataclass(frozen=True)
class BarPanel:
    """One panel: the rows of ``stage``/``metric``/``task``/``layer``."""

    stage: str
    metric: str
    task: str
    label: str
    layer: str = "last"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def bars_data(ctx: FigureContext, panels: tuple[BarPanel, ...]) -> dict[str, Any]:
    """Per panel and model: value, ci_low, ci_high, chance and note (NaN/"" if absent)."""
    rows = ctx.rows
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for panel in panels:
        own = rows[(rows["stage"] == panel.stage) & (rows["metric"] == panel.metric)
                   & (rows["task"] == panel.task) & (rows["layer"] == panel.layer)]
        entries = {}
        for _, row in own.iterrows():
            entries[str(row["model"])] = {
                "value": _number(row["value"]), "ci_low": _number(row["ci_low"]),
                "ci_high": _number(row["ci_high"]), "chance": _number(row["chance"]),
                "note": str(row["note"] or ""),
            }
        found[f"{panel.metric}:{panel.task}"] = entries
    models = [m for m in ctx.models if any(m in e for e in found.values())]
    missing = {} if models else {"all": "no rows for these metrics in the leaderboard"}
    return {"models": models, "panels": found, "missing": missing}


def _direction(metric: str) -> str:
    spec = METRICS.get(metric)
    if spec is None:
        return ""
    return " (\u2191 better)" if spec.higher_is_better else " (\u2193 better)"


def draw_bars(data: dict[str, Any], ctx: FigureContext, panels: tuple[BarPanel, ...],
              heading: str) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    models = data["models"]
    fig, axes = new_grid(len(panels), 3, (1.4 + 0.42 * len(models), 2.3))
    for ax, panel in zip(axes, panels, strict=True):
        entries = data["panels"].get(f"{panel.metric}:{panel.task}", {})
        if not entries:
            note_missing(ax, f"no {panel.metric} rows for {panel.task}")
            continue
        x = np.arange(len(models))
        drawn_chance = False
        for i, model in enumerate(models):
            entry = entries.get(model)
            if entry is None or not np.isfinite(entry["value"]):
                ax.text(i, 0, "n/e", ha="center", va="bottom", fontsize=6, rotation=90,
                        color="0.3")
                continue
            low = entry["value"] - entry["ci_low"]
            high = entry["ci_high"] - entry["value"]
            err = np.array([[low], [high]]) if np.isfinite([low, high]).all() else None
            ax.bar(i, entry["value"], 0.7, color=ctx.colors.color(model), yerr=err,
                   capsize=1.5, error_kw={"lw": 0.6, "ecolor": "0.2"})
            if np.isfinite(entry["chance"]):
                ax.hlines(entry["chance"], i - 0.45, i + 0.45, colors="black",
                          linestyles="--", lw=0.9, label=None if drawn_chance else "chance / null")
                drawn_chance = True
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_xticks(x, models, rotation=60, ha="right", fontsize=5)
        ax.set_title(f"{panel.label}{_direction(panel.metric)}", fontsize="x-small")
        if drawn_chance:
            ax.legend(loc="best", fontsize="xx-small")
    title(fig, ctx, heading)
    return fig


def bar_kind(name: str, section: str, label: str, panels: tuple[BarPanel, ...],
             heading: str) -> FigureKind:
    """The figure kind of a bar chart of ``panels`` (:func:`bars_data`, :func:`draw_bars`
    under ``heading``)."""
    return FigureKind(name, section, label, lambda ctx: bars_data(ctx, panels),
                      lambda data, ctx: draw_bars(data, ctx, panels, heading))
