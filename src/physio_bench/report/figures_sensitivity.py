"""Sensitivity study: headline probe metrics against the model's input rate.

Reads ``results/sensitivity/summary.csv`` (:mod:`physio_bench.sensitivity.run`).

- ``sensitivity_input_rate``: one panel per headline metric (layer ``best``, chosen on
  inner folds), the input rate on a log axis, one line per model and patch size, 95%
  intervals as error bars.
- ``sensitivity_cycles_{model}``, one per model of the study (an untrained twin, ``weights:
  random`` with the plug-in of a pretrained model of the study, is drawn in its
  pretrained model's figure instead of its own): the factor R² of heart rate (ECG, PPG)
  against samples per beat and of respiratory rate (RSP, ECG, PPG) against samples per
  breath, i.e. ``input_hz * 60 / median rate`` of the study's windows; each point is
  labelled with its input rate and the share of the model's context the window fills.
- ``sensitivity_context_{model}``, one per model with context variants (twins folded in as
  above): each headline metric against ``context_s``, the seconds of signal per model
  input (the context axis; the model's own rate and patch).

The rate figures read the rate axis only (rows whose ``context_s`` is empty).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import (
    finish,
    interval_line,
    new_grid,
    placeholder,
)
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
# (feature_independence task, panel title, x column) of the samples-per-cycle figure
CYCLE_PANELS = (
    ("ecg:heart_rate_bpm", "heart rate from ECG", "samples_per_beat"),
    ("ppg:heart_rate_bpm", "heart rate from PPG", "samples_per_beat"),
    ("rsp:resp_rate_bpm", "resp. rate from RSP", "samples_per_breath"),
    ("ecg:resp_rate_bpm", "resp. rate from ECG", "samples_per_breath"),
    ("ppg:resp_rate_bpm", "resp. rate from PPG", "samples_per_breath"),
)
X_LABELS = {"samples_per_beat": "samples per beat (median heart rate)",
            "samples_per_breath": "samples per breath (median resp. rate)"}


def applies(config: dict[str, Any]) -> bool:
    """Whether the config runs the study (some enabled model in ``sensitivity.models``)."""
    models = config["models"]
    return any(models.get(m, {}).get("enabled", True) for m in
               config.get("sensitivity", {}).get("models", []) if m in models)


def rate_axis(table: Any) -> Any:
    """The rows of the rate axis (no ``context_s``; older summaries have no such column)."""
    return table[table["context_s"].isna()] if "context_s" in table.columns else table


def context_axis(table: Any) -> Any:
    """The rows of the context axis (``context_s`` set)."""
    return table[table["context_s"].notna()] if "context_s" in table.columns else table[:0]


def sensitivity_data(ctx: FigureContext) -> dict[str, Any]:
    """Per headline panel: (model, patch size) -> rows sorted by input rate."""
    import pandas as pd

    path = ctx.results / SUMMARY
    if not path.exists():
        reason = (f"{path} not found: run the sensitivity rules (snakemake "
                  "results/sensitivity/summary.csv)")
        return {"panels": {}, "missing": {"all": reason}}
    table = rate_axis(pd.read_csv(path))
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
            interval_line(ax, ctx, rate, value, low, high, model, line_label, style)
        ax.set_xscale("log", base=2)
        ticks = sorted(rates)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("input rate (Hz)", fontsize="x-small")
        ax.set_ylabel(label, fontsize="small")
    return finish(fig, axes, ctx,
                  "Probe metrics against the model's input rate (layer chosen on inner folds)")


def _folded(config: dict[str, Any]) -> dict[str, list[str]]:
    """Study model -> the study models drawn in its samples-per-cycle figure: itself and
    the untrained twins (``weights: random``, same plug-in) of a pretrained study model."""
    from physio_bench.sensitivity import study_models

    study = study_models(config)
    entry = {m: config["models"][m] for m in study}
    random = {m for m in study if str(entry[m].get("weights", "")) == "random"}
    out: dict[str, list[str]] = {}
    for model in study:
        host = next((o for o in study if model in random and o not in random
                     and entry[o].get("plugin") == entry[model].get("plugin")), None)
        if host is None:
            out.setdefault(model, []).insert(0, model)
        else:
            out.setdefault(host, []).append(model)
    return out


def _summary(ctx: FigureContext) -> tuple[Path, Any]:
    """The study's summary table (None when it is not written yet) and its path."""
    import pandas as pd

    path = ctx.results / SUMMARY
    return path, pd.read_csv(path) if path.exists() else None


def _no_summary(path: Path) -> dict[str, Any]:
    """The data of a per-model figure without the summary table."""
    return {"panels": {}, "missing": {"all": f"{path} not found: run the sensitivity rules"}}


def cycle_models(config: dict[str, Any]) -> list[str]:
    """The models with a samples-per-cycle figure (study order, twins folded in)."""
    return list(_folded(config)) if applies(config) else []


def cycles_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Per panel: study model -> rows (x, value, low, high, input_hz, context_fill)."""
    path, table = _summary(ctx)
    if table is None:
        return _no_summary(path)
    table = rate_axis(table)
    needed = {"samples_per_beat", "samples_per_breath", "context_fill"}
    if not needed <= set(table.columns):
        return {"panels": {}, "missing": {"all": f"{path} lacks {sorted(needed)}: rerun the "
                                                 "sensitivity probes"}}
    table = table[(table["layer"] == LAYER) & (table["stage"] == "feature_independence")
                  & (table["metric"] == "r2")]
    panels: dict[str, dict[str, Any]] = {}
    for task, _, column in CYCLE_PANELS:
        lines = {}
        for member in _folded(ctx.config).get(model, [model]):
            rows = table[(table["base_model"] == member) & (table["task"] == task)]
            if rows["patch_size"].notna().any():  # one line per model: its own patch
                rows = rows[rows["patch_size"] == rows["patch_size"].dropna().max()]
            if len(rows):
                lines[member] = rows.sort_values("input_hz")[
                    [column, "value", "ci_low", "ci_high", "input_hz", "context_fill"]
                ].to_numpy(dtype=float)
        if lines:
            panels[task] = lines
    missing = {} if panels else {"all": f"no per-factor R² of {model} in {path}"}
    return {"model": model, "panels": panels, "missing": missing}


def draw_cycles(data: dict[str, Any], ctx: FigureContext) -> Any:
    from matplotlib.ticker import FuncFormatter

    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    shown = [p for p in CYCLE_PANELS if p[0] in data["panels"]]
    fig, axes = new_grid(len(shown), 3, (2.8, 2.2))
    for ax, (task, label, column) in zip(axes, shown, strict=True):
        for k, (member, values) in enumerate(data["panels"][task].items()):
            x, value, low, high, rate, fill = values.T
            interval_line(ax, ctx, x, value, low, high, member, member, LINESTYLES[k % 4])
            if k == 0:
                for xi, yi, hz, share in zip(x, value, rate, fill, strict=True):
                    text = f"{hz:g} Hz" + ("" if np.isnan(share) else f", {share:.0%}")
                    ax.annotate(text, (xi, yi), fontsize=5, xytext=(2, 3),
                                textcoords="offset points")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(X_LABELS[column], fontsize="x-small")
        ax.set_ylabel("factor R² (ridge)", fontsize="small")
        ax.set_title(label, fontsize="small")
    return finish(fig, axes, ctx, f"{data['model']}: heart- and breathing-rate R² against "
                  "samples per cycle (points: input rate, context filled)")


def context_models(config: dict[str, Any]) -> list[str]:
    """The models with a context figure: study models (twins folded in) of which some
    member has context variants."""
    from physio_bench.sensitivity import model_sweep

    return [model for model, members in _folded(config).items()
            if any(model_sweep(config, m)[2] for m in members)] if applies(config) else []


def context_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Per headline panel: study model -> rows (context_s, value, low, high)."""
    path, table = _summary(ctx)
    if table is None:
        return _no_summary(path)
    table = context_axis(table)
    table = table[table["layer"] == LAYER]
    panels: dict[str, dict[str, Any]] = {}
    for stage, task, metric, _ in HEADLINES:
        lines = {}
        for member in _folded(ctx.config).get(model, [model]):
            rows = table[(table["base_model"] == member) & (table["stage"] == stage)
                         & (table["task"] == task) & (table["metric"] == metric)]
            if len(rows):
                lines[member] = rows.sort_values("context_s")[
                    ["context_s", "value", "ci_low", "ci_high"]].to_numpy(dtype=float)
        if lines:
            panels[f"{stage}:{task}:{metric}"] = lines
    missing = {} if panels else {"all": f"no context variant of {model} in {path}"}
    return {"model": model, "panels": panels, "missing": missing}


def draw_context(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    shown = [h for h in HEADLINES if f"{h[0]}:{h[1]}:{h[2]}" in data["panels"]]
    fig, axes = new_grid(len(shown), 3, (2.6, 2.0))
    for ax, (stage, task, metric, label) in zip(axes, shown, strict=True):
        for k, (member, values) in enumerate(data["panels"][f"{stage}:{task}:{metric}"].items()):
            seconds, value, low, high = values.T
            interval_line(ax, ctx, seconds, value, low, high, member, member,
                          LINESTYLES[k % 4])
        ax.set_xlabel("context (s of signal per model input)", fontsize="x-small")
        ax.set_ylabel(label, fontsize="small")
    return finish(fig, axes, ctx, f"{data['model']}: probe metrics against the context "
                  "length (layer chosen on inner folds)")


def figure_inputs(config: dict[str, Any], results: Path) -> list[str]:
    """The files the figure reads (none when the study does not run)."""
    return [str(results / SUMMARY)] if applies(config) else []


KINDS = [FigureKind("sensitivity_input_rate", "sensitivity", "Input-rate sensitivity",
                    sensitivity_data, draw_sensitivity, applies=applies),
         FigureKind("sensitivity_cycles", "sensitivity", "Samples per beat and breath",
                    cycles_data, draw_cycles, per_model=True, applies=applies,
                    models=cycle_models),
         FigureKind("sensitivity_context", "sensitivity", "Context-length sensitivity",
                    context_data, draw_context, per_model=True,
                    applies=lambda config: bool(context_models(config)),
                    models=context_models)]
