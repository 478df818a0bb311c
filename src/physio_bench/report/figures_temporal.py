"""Temporal dynamics: metric bars with their chance levels, token reconstruction examples
and tracking traces (ramps, steps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from physio_bench.report.inputs import temporal_dynamics as td
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.metric_bars import BarPanel, bar_kind
from physio_bench.report.plotting import axis_label, new_grid, placeholder, title
from physio_bench.report.style import note_missing

MAX_RECONSTRUCTIONS = 5
MAX_TRACES = 4
TRUE_COLOR = "0.2"
TD = "temporal_dynamics"
METRIC_PANELS = (
    BarPanel(TD, "reconstruction_r2", "factors:all", "reconstruction R² (0.25 s)"),
    BarPanel(TD, "tracking_r2", "factors:heart_rate_bpm", "heart-rate tracking R²"),
    BarPanel(TD, "tracking_within_r2", "scenarios:ramp_step:heart_rate_bpm",
             "within-window HR tracking R²"),
    BarPanel(TD, "autocorrelation_agreement", "factors:all",
             "autocorrelation agreement (excess)"),
)



def _per_model(ctx: FigureContext,
               read: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> dict[str, Any]:
    """Examples per model, the union of their labels (reader order) as columns, missing
    reasons."""
    examples, missing = {}, {}
    for model in ctx.models:
        try:
            found = read(td.load(ctx.results, model))
        except MissingResult as exc:
            missing[model] = str(exc)
            continue
        if found:
            examples[model] = {ex["label"]: ex for ex in found}
        else:
            missing[model] = f"{model}: no usable examples"
    columns = list(dict.fromkeys(label for found in examples.values() for label in found))
    if not examples:
        missing["all"] = "; ".join(missing.values()) or "no models"
    return {"models": list(ctx.models), "columns": columns, "examples": examples,
            "missing": missing}


def reconstruction_data(ctx: FigureContext) -> dict[str, Any]:
    rate = float(ctx.config["sampling_rate_hz"])
    return _per_model(ctx, lambda d: td.reconstruction_examples(d, MAX_RECONSTRUCTIONS, rate))


def tracking_data(ctx: FigureContext) -> dict[str, Any]:
    return _per_model(ctx, lambda d: td.tracking_examples(d, MAX_TRACES))


def _draw(data: dict[str, Any], ctx: FigureContext, estimate: str, estimate_label: str,
          column_title: Callable[[str], str], heading: str) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    models, columns = data["models"], data["columns"]
    fig, axes = new_grid(len(models) * len(columns), len(columns), (2.3, 1.3), sharex="col")
    axes = axes.reshape(len(models), len(columns))
    for r, model in enumerate(models):
        for c, label in enumerate(columns):
            ax = axes[r, c]
            example = data["examples"].get(model, {}).get(label)
            if example is None:
                note_missing(ax, data["missing"].get(model, f"no {label} example"))
                continue
            ax.plot(example["time_s"], example["true"], lw=0.8, color=TRUE_COLOR, label="true")
            ax.plot(example["time_s"], example[estimate], lw=0.8, color=ctx.colors.color(model),
                    label=estimate_label)
            if r == 0:
                ax.set_title(column_title(label), fontsize="small")
            if c == 0:
                ax.set_ylabel(model, fontsize="x-small", color=ctx.colors.color(model))
            if r == len(models) - 1:
                ax.set_xlabel("time (s)")
    first = next(ax for ax in axes.ravel() if ax.lines)
    first.legend(loc="upper right", fontsize="x-small")
    title(fig, ctx, heading)
    return fig


def draw_reconstruction(data: dict[str, Any], ctx: FigureContext) -> Any:
    return _draw(data, ctx, "reconstructed", "reconstructed",
                 lambda kind: f"{kind.upper()} samples (a.u.)",
                 "The signal over 0.25 s centred on one token (z-scored) and its linear "
                 "reconstruction from that token (last layer, out-of-fold)")


def _tracking_title(label: str) -> str:
    """``heart_rate (bpm) in heart rate ramp`` from ``heart_rate_bpm (heart_rate_ramp)``;
    a phase is tracked through its sine."""
    target, _, scenario = label.partition(" ")
    name = f"sin({target})" if target.endswith("phase") else axis_label(target)
    return f"{name} in {scenario.strip('()').replace('_', ' ')}"


def draw_tracking(data: dict[str, Any], ctx: FigureContext) -> Any:
    return _draw(data, ctx, "decoded", "decoded", _tracking_title,
                 "Tracking time-varying targets through ramps and steps (last layer, out-of-fold)")


KINDS = [
    bar_kind("td_metric_bars", "temporal_dynamics", "Temporal metrics", METRIC_PANELS,
             "Temporal dynamics of the tokens (last token "
             "layer, 95% CI; dashes: chance / null; n/e: not estimable)"),
    FigureKind("td_reconstruction", "temporal_dynamics", "Token reconstruction examples",
               reconstruction_data, draw_reconstruction),
    FigureKind("td_tracking", "temporal_dynamics", "Tracking ramps and steps",
               tracking_data, draw_tracking),
]
