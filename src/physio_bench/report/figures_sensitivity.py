"""Sensitivity study: headline probe metrics against the model's input rate.

Reads ``results/sensitivity/summary.csv`` (:mod:`physio_bench.sensitivity.run`). One panel
per headline metric (layer ``best``, chosen on inner folds), the input rate on a log axis,
one line per model and patch size, 95% intervals as error bars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import new_grid, placeholder, title
from physio_bench.report.style import note_missing

SUMMARY = Path("sensitivity") / "summary.csv"
LAYER = "best"
# (stage, task, metric, axis label)
HEADLINES = (
    ("feature_independence", "all", "r2", "mean factor R² (ridge)"),
    ("temporal_dynamics", "factors:all", "reconstruction_r2", "reconstruction R²"),
    ("temporal_dynamics", "factors:heart_rate_bpm", "tracking_r2", "heart-rate tracking R²"),
    ("temporal_dynamics", "factors:resp_rate_bpm", "tracking_r2", "resp-rate tracking R²"),
    ("scenario_separation", "scenarios", "balanced_accuracy", "scenario balanced accuracy"),
)
LINESTYLES = ("-", "--", ":", "-.")


def applies(config: dict[str, Any]) -> bool:
    """Whether the config runs the study (some enabled model in ``sensitivity.models``)."""
    models = config["models"]
    return any(models.get(m, {}).get("enabled", True) for m in
               config.get("sensitivity", {}).get("models", []) if m in models)


def sensitivity_data(ctx: FigureContext) -> dict[str, Any]:
    """Per headline panel: (model, patch size) -> rows sorted by input rate."""
    import pandas as pd

    path = ctx.results / SUMMARY
    if not path.exists():
        reason = (f"{path} not found: run the sensitivity rules (snakemake "
                  "results/sensitivity/summary.csv)")
        return {"panels": {}, "missing": {"all": reason}}
    table = pd.read_csv(path)
    table = table[table["layer"] == LAYER]
    panels: dict[str, dict[tuple[str, str], Any]] = {}
    for stage, task, metric, _ in HEADLINES:
        rows = table[(table["stage"] == stage) & (table["task"] == task)
                     & (table["metric"] == metric)]
        lines = {}
        for (model, patch), group in rows.groupby(
                ["base_model", rows["patch_size"].fillna(-1)], sort=False):
            group = group.sort_values("input_hz")
            label = model if patch < 0 else f"{model}, patch {int(patch)}"
            lines[(model, label)] = group[["input_hz", "value", "ci_low", "ci_high"]].to_numpy(
                dtype=float)
        panels[f"{stage}:{task}:{metric}"] = lines
    missing = {} if any(panels.values()) else {"all": f"no headline metric in {path}"}
    return {"panels": panels, "missing": missing}


def draw_sensitivity(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    shown = [h for h in HEADLINES if data["panels"].get(f"{h[0]}:{h[1]}:{h[2]}")]
    fig, axes = new_grid(len(shown), 3, (2.6, 2.0))
    styles: dict[str, int] = {}
    for ax, (stage, task, metric, label) in zip(axes, shown, strict=True):
        lines = data["panels"][f"{stage}:{task}:{metric}"]
        if not lines:
            note_missing(ax, f"no {metric} for {task}")
            continue
        rates = set()
        for (model, line_label), values in lines.items():
            style = LINESTYLES[styles.setdefault(line_label, len(styles)) % len(LINESTYLES)]
            rate, value, low, high = values.T
            rates.update(rate.tolist())
            below = np.nan_to_num(np.clip(value - low, 0, None))
            above = np.nan_to_num(np.clip(high - value, 0, None))
            ax.errorbar(rate, value, yerr=[below, above], lw=1.0, ls=style,
                        color=ctx.colors.color(model), marker=ctx.colors.marker(model), ms=3,
                        capsize=2, label=line_label)
        ax.set_xscale("log", base=2)
        ticks = sorted(rates)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("input rate (Hz)", fontsize="x-small")
        ax.set_ylabel(label, fontsize="small")
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(name, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                   ncol=min(3, len(handles)), fontsize="small")
    title(fig, ctx, "Probe metrics against the model's input rate (layer chosen on inner "
                    "folds)")
    return fig


def figure_inputs(config: dict[str, Any], results: Path) -> list[str]:
    """The files the figure reads (none when the study does not run)."""
    return [str(results / SUMMARY)] if applies(config) else []


KINDS = [FigureKind("sensitivity_input_rate", "sensitivity", "Input-rate sensitivity",
                    sensitivity_data, draw_sensitivity, applies=applies)]
