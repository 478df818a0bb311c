"""Downstream: MAE bars with CIs per real task (models and the reference method),
predicted-versus-reference heart rate, Bland-Altman plots of heart and respiratory rate,
and the confusion matrix of the AAMI beat classes."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from physio_bench.report.inputs import downstream as ds
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import (
    filled_panels,
    identity_line,
    new_grid,
    placeholder,
    title,
    unit_of,
)
from physio_bench.report.style import note_missing

HATCHES = ("", "////", "xx", "..")
REAL_COLOR = "0.6"


def mae_data(ctx: FigureContext) -> dict[str, Any]:
    """Per target (task without its record-set prefix): prefix -> model -> (value, lo, hi)."""
    rows = ctx.rows
    rows = rows[(rows["stage"] == "downstream") & (rows["metric"] == "mae")
                & (rows["layer"] == "last")]
    if rows.empty:
        return {"missing": {"all": "no downstream mae rows (layer last)"}}
    targets: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {}
    for _, row in rows.iterrows():
        prefix, _, target = row["task"].partition(":")
        targets.setdefault(target or prefix, {}).setdefault(prefix, {})[row["model"]] = (
            row["value"], row["ci_low"], row["ci_high"])
    shown = [*ctx.models, ds.reference_method_name()]
    models = [m for m in shown if m in set(rows["model"])]
    return {"models": models, "targets": dict(sorted(targets.items())), "missing": {}}


def draw_mae(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.patches as mpatches

    models = data["models"]
    prefixes = sorted({p for by_prefix in data["targets"].values() for p in by_prefix})
    hatch = {p: HATCHES[i % len(HATCHES)] for i, p in enumerate(prefixes)}
    fig, axes = new_grid(len(data["targets"]), 3, (0.5 + 0.45 * len(models), 2.4))
    for ax, (target, by_prefix) in zip(axes, data["targets"].items(), strict=True):
        width = 0.8 / len(by_prefix)
        for p, prefix in enumerate(sorted(by_prefix)):
            for m, model in enumerate(models):
                if model not in by_prefix[prefix]:
                    continue
                value, low, high = by_prefix[prefix][model]
                err = [[max(0.0, value - low)], [max(0.0, high - value)]] \
                    if np.isfinite(low) and np.isfinite(high) else None
                ax.bar(m - 0.4 + width * (p + 0.5), value, width, color=ctx.colors.color(model),
                       hatch=hatch[prefix], edgecolor="white", lw=0, yerr=err, capsize=1.5,
                       error_kw={"lw": 0.6, "ecolor": "0.2"})
        ax.set_xticks(range(len(models)), models, rotation=45, ha="right", fontsize="x-small")
        ax.set_title(target, fontsize="small")
        unit = unit_of(target)
        ax.set_ylabel(f"MAE ({unit})" if unit else "MAE")
    legend = [mpatches.Patch(facecolor="0.5", hatch=hatch[p], label=p, edgecolor="white")
              for p in prefixes]
    fig.legend(handles=legend, loc="outside lower center", ncol=len(legend), fontsize="small")
    title(fig, ctx, "Real recordings: mean absolute error with 95% CI (lower is better)")
    return fig


def sim2real_data(ctx: FigureContext) -> dict[str, Any]:
    """Per model: reference and predicted heart rate (bpm), sim2real and real-trained."""
    pairs, missing = {}, {}
    for model in ctx.models:
        try:
            data = ds.load(ctx.results, model)
            found = {"sim2real": ds.task_predictions(data, ds.SIM2REAL_HR_TASK)}
        except MissingResult as exc:
            missing[model] = str(exc)
            continue
        with contextlib.suppress(MissingResult):  # the real-trained points are optional
            found["real"] = ds.task_predictions(data, ds.REAL_HR_TASK)
        pairs[model] = found
    if not pairs:
        missing["all"] = "; ".join(missing.values()) or "no models"
    return {"models": list(ctx.models), "pairs": pairs, "missing": missing}


def draw_sim2real(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    fig, axes = new_grid(len(data["models"]), 4, (2.2, 2.2))
    for ax, model in filled_panels(axes, data["models"], data["pairs"], data["missing"]):
        found = data["pairs"][model]
        if "real" in found:
            ref, pred = found["real"]
            ax.scatter(ref, pred, s=5, lw=0, color=REAL_COLOR, alpha=0.6, label="trained on real")
        ref, pred = found["sim2real"]
        ax.scatter(ref, pred, s=5, lw=0, color=ctx.colors.color(model),
                   marker=ctx.colors.marker(model), alpha=0.8, label="trained on simulated")
        identity_line(ax, *(np.concatenate(v) for v in zip(*found.values(), strict=True)))
        mae = float(np.nanmean(np.abs(pred - ref)))
        ax.text(0.03, 0.97, f"sim2real MAE = {mae:.1f} bpm", transform=ax.transAxes, va="top",
                fontsize="x-small", bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})
        ax.set_title(model, fontsize="small")
        ax.set_xlabel("reference heart rate (bpm)", fontsize="x-small")
        ax.set_ylabel("predicted heart rate (bpm)", fontsize="x-small")
    first = next((ax for ax in axes if ax.collections), None)
    if first is not None:
        first.legend(loc="lower right", fontsize="x-small")
    title(fig, ctx, "Heart rate on real ECG: decoders trained on simulated windows (sim2real)")
    return fig


BLAND_ALTMAN_TARGETS = {"heart_rate_bpm": "heart rate", "resp_rate_bpm": "respiratory rate"}


def bland_altman_data(ctx: FigureContext, target: str) -> dict[str, Any]:
    """Per real task of ``target`` and per model (and the reference method): the pairs
    (reference, prediction) of every window, or the reason there are none."""
    columns = [*ctx.models, ds.reference_method_name()]
    pairs: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    for model in columns:
        try:
            found = ds.regression_pairs(ds.load(ctx.results, model), f"real:*:{target}")
        except MissingResult as exc:
            missing[model] = str(exc)
            continue
        for task, value in found.items():
            pairs.setdefault(task, {})[model] = value
    if not pairs:
        missing["all"] = "; ".join(missing.values()) or f"no real {target} task"
    shown = [m for m in columns if any(m in by_model for by_model in pairs.values())]
    return {"target": target, "tasks": sorted(pairs), "columns": shown, "pairs": pairs,
            "missing": missing}


def _bland_altman_panel(ax: Any, reference: np.ndarray, predicted: np.ndarray, color: str,
                        unit: str) -> None:
    ok = np.isfinite(reference) & np.isfinite(predicted)
    mean, diff = (reference[ok] + predicted[ok]) / 2.0, predicted[ok] - reference[ok]
    ax.scatter(mean, diff, s=3, lw=0, color=color, alpha=0.5)
    if diff.size > 1:
        bias, spread = float(diff.mean()), 1.96 * float(diff.std(ddof=1))
        for level, style in ((bias, "-"), (bias - spread, "--"), (bias + spread, "--")):
            ax.axhline(level, color="0.3", lw=0.6, ls=style)
        ax.text(0.02, 0.97, f"bias {bias:+.1f}, LoA ±{spread:.1f} {unit}\n"
                f"MAE {np.abs(diff).mean():.1f}, n={diff.size}", transform=ax.transAxes,
                va="top", fontsize="xx-small",
                bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})


def draw_bland_altman(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    tasks, columns = data["tasks"], data["columns"]
    unit = unit_of(data["target"])
    fig, axes = plt.subplots(len(tasks), len(columns), squeeze=False,
                             figsize=(1.9 * len(columns) + 0.6, 1.7 * len(tasks) + 0.6),
                             layout="constrained")
    reference_name = ds.reference_method_name()
    for r, task in enumerate(tasks):
        for c, model in enumerate(columns):
            ax = axes[r, c]
            value = data["pairs"][task].get(model, "not run")
            if isinstance(value, str):
                note_missing(ax, value)
            else:
                color = REAL_COLOR if model == reference_name else ctx.colors.color(model)
                _bland_altman_panel(ax, *value, color, unit)
            if r == 0:
                ax.set_title(model, fontsize="small")
            if c == 0:
                ax.set_ylabel(f"{task.split(':', 1)[1]}\npredicted − reference ({unit})",
                              fontsize="xx-small")
            if r == len(tasks) - 1:
                ax.set_xlabel(f"mean of the two ({unit})", fontsize="xx-small")
            ax.tick_params(labelsize="xx-small")
    title(fig, ctx, f"Bland-Altman: {BLAND_ALTMAN_TARGETS[data['target']]} on real windows "
                    "(last layer, out-of-fold)")
    return fig


def beat_confusion_data(ctx: FigureContext) -> dict[str, Any]:
    """Per model: the row-normalised confusion matrix of the AAMI beat classes (DS2)."""
    found, missing = {}, {}
    for model in ctx.models:
        try:
            found[model] = ds.beat_confusion(ds.load(ctx.results, model), "real:*:beat_class")
        except MissingResult as exc:
            missing[model] = str(exc)
    if not found and not missing:
        missing["all"] = "no models"
    elif not found:
        missing["all"] = "; ".join(sorted(set(missing.values())))
    return {"models": list(ctx.models), "found": found, "missing": missing}


def draw_beat_confusion(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    fig, axes = new_grid(len(data["models"]), 4, (2.3, 2.3))
    for ax, model in filled_panels(axes, data["models"], data["found"], data["missing"]):
        entry = data["found"][model]
        counts = entry["confusion"]
        totals = counts.sum(axis=1, keepdims=True)
        share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        classes = entry["classes"]
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, f"{share[i, j]:.2f}\n({int(counts[i, j])})", ha="center",
                        va="center", fontsize=4.5,
                        color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(classes)), classes, fontsize="x-small")
        ax.set_yticks(range(len(classes)), classes, fontsize="x-small")
        ax.set_xlabel("predicted", fontsize="x-small")
        ax.set_ylabel("annotated", fontsize="x-small")
        ax.set_title(f"{model}\n{entry['task']}", fontsize="x-small")
    title(fig, ctx, "AAMI beat classes, trained on DS1, tested on DS2 (row-normalised; counts)")
    return fig


KINDS = [
    FigureKind("ds_mae_bars", "downstream", "Mean absolute error on real recordings",
               mae_data, draw_mae),
    FigureKind("ds_sim2real_scatter", "downstream", "Simulation-to-real heart rate",
               sim2real_data, draw_sim2real),
    FigureKind("ds_bland_altman_hr", "downstream", "Bland-Altman: heart rate",
               lambda ctx: bland_altman_data(ctx, "heart_rate_bpm"), draw_bland_altman),
    FigureKind("ds_bland_altman_rr", "downstream", "Bland-Altman: respiratory rate",
               lambda ctx: bland_altman_data(ctx, "resp_rate_bpm"), draw_bland_altman),
    FigureKind("ds_beat_confusion", "downstream", "Beat classes (AAMI, DS1 to DS2)",
               beat_confusion_data, draw_beat_confusion),
]
