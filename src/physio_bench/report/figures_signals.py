"""Example windows: one of every simulated signal kind, and one of every scenario."""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.report.inputs import suites
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import new_grid, placeholder, title
from physio_bench.report.style import note_missing

TRACE_COLOR = "0.15"


def kinds_data(ctx: FigureContext) -> dict[str, Any]:
    """Kinds (config order), time axis (s) and one trace per kind from the factors suite."""
    kinds = list(ctx.config["simulate"]["signal_kinds"])
    try:
        examples = suites.kind_examples(ctx.results, kinds)
    except MissingResult as exc:
        return {"kinds": kinds, "missing": {"all": str(exc)}}
    missing = {k: f"no {k} window in the factors suite" for k in kinds
               if k not in examples["traces"]}
    return {"kinds": kinds, **examples, "missing": missing}


def draw_kinds(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    kinds = data["kinds"]
    fig, axes = new_grid(len(kinds), 1, (7.0, 1.1), sharex=True)
    for ax, kind in zip(axes, kinds, strict=True):
        if kind not in data["traces"]:
            note_missing(ax, data["missing"][kind])
            continue
        ax.plot(data["time_s"], data["traces"][kind], lw=0.6, color=TRACE_COLOR)
        ax.set_ylabel(kind.upper())
        ax.set_title(data["notes"][kind], loc="left", fontsize="small")
    axes[-1].set_xlabel("time (s)")
    title(fig, ctx, "Simulated windows, one per signal kind (factors suite)")
    fig.align_ylabels(axes)
    return fig


def scenarios_data(ctx: FigureContext) -> dict[str, Any]:
    """Scenarios (config order), channel names, and one window (channels x samples) each."""
    scenarios = list(ctx.config["simulate"]["scenarios"]["classes"])
    try:
        examples = suites.scenario_examples(ctx.results, scenarios)
    except MissingResult as exc:
        return {"scenarios": scenarios, "missing": {"all": str(exc)}}
    missing = {s: f"no {s} window in the scenarios suite" for s in scenarios
               if s not in examples["windows"]}
    return {"scenarios": scenarios, **examples, "missing": missing}


def _standardise(trace: np.ndarray) -> np.ndarray:
    finite = trace[np.isfinite(trace)]
    if finite.size == 0:
        return trace
    spread = float(np.percentile(finite, 99) - np.percentile(finite, 1))
    return (trace - float(np.median(finite))) / (spread if spread > 0 else 1.0)


def draw_scenarios(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    scenarios = data["scenarios"]
    channels = data["channels"]
    fig, axes = new_grid(len(scenarios), 2, (4.2, 0.35 * len(channels) + 0.6), sharex=True)
    offsets = -np.arange(len(channels), dtype=float)
    for ax, scenario in zip(axes, scenarios, strict=True):
        if scenario not in data["windows"]:
            note_missing(ax, data["missing"][scenario])
            continue
        for offset, trace in zip(offsets, data["windows"][scenario], strict=True):
            ax.plot(data["time_s"], _standardise(trace) * 0.9 + offset, lw=0.5, color=TRACE_COLOR)
        ax.set_yticks(offsets, [c.upper() for c in channels])
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(scenario.replace("_", " "), loc="left", fontsize="small")
    for ax in axes[-2:]:
        ax.set_xlabel("time (s)")
        ax.xaxis.set_tick_params(labelbottom=True)
    title(fig, ctx, "Simulated scenarios, one window each (channels scaled to a common range)")
    return fig


KINDS = [
    FigureKind("signals_by_kind", "signals", "Example windows per signal kind",
               kinds_data, draw_kinds),
    FigureKind("signals_by_scenario", "signals", "Example windows per scenario",
               scenarios_data, draw_scenarios),
]
