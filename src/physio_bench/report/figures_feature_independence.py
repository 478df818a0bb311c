"""Feature independence: R² heatmap, DCI bars, decoded-versus-true scatter, coupling matrices."""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.headlines import FI
from physio_bench.report.inputs import feature_independence as fi
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.leaderboard import exact_row
from physio_bench.report.plotting import (
    axis_label,
    identity_line,
    new_grid,
    placeholder,
    r2_score,
    subsample,
    title,
)
from physio_bench.report.style import DIVERGING_CMAP, SEQUENTIAL_CMAP, note_missing

MAX_POINTS = 1500
ANNOTATE_MAX_CELLS = 400
DCI_METRICS = (("dci_disentanglement", "disentanglement"), ("dci_completeness", "completeness"),
               ("dci_informativeness", "informativeness"))


def r2_data(ctx: FigureContext) -> dict[str, Any]:
    """Models x tasks matrix of last-layer R² from the leaderboard rows (NaN where absent)."""
    rows = ctx.rows
    rows = rows[(rows["stage"] == FI) & (rows["metric"] == "r2") & (rows["layer"] == "last")]
    if rows.empty:
        return {"missing": {"all": "no feature_independence r2 rows (layer last)"}}
    models = [m for m in ctx.models if m in set(rows["model"])]
    tasks = sorted(set(rows["task"]))
    values = np.full((len(models), len(tasks)), np.nan)
    for _, row in rows.iterrows():
        if row["model"] in models:
            values[models.index(row["model"]), tasks.index(row["task"])] = row["value"]
    return {"models": models, "tasks": tasks, "values": values, "missing": {}}


def draw_r2(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    values, models, tasks = data["values"], data["models"], data["tasks"]
    fig, ax = plt.subplots(figsize=(1.2 + 0.42 * len(tasks), 1.0 + 0.32 * len(models)))
    image = ax.imshow(np.clip(values, 0, 1), cmap=SEQUENTIAL_CMAP, vmin=0, vmax=1,
                      aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(tasks)), tasks, rotation=60, ha="right", fontsize="small")
    ax.set_yticks(range(len(models)), models)
    if values.size <= ANNOTATE_MAX_CELLS:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5,
                        color="black" if v > 0.6 else "white")
    fig.colorbar(image, ax=ax, label="R² (last layer; < 0 shown as 0)", fraction=0.04)
    title(fig, ctx, "Factor informativeness: cross-validated R² per model and factor")
    return fig


def dci_data(ctx: FigureContext) -> dict[str, Any]:
    """Per model: (value, ci_low, ci_high) of DCI disentanglement, completeness, informativeness."""
    rows = ctx.rows
    values: dict[str, list[tuple[float, float, float]]] = {}
    for model in ctx.models:
        own = rows[rows["model"] == model]
        triples = [exact_row(own, FI, key) for key, _ in DCI_METRICS]
        if any(np.isfinite(t[0]) for t in triples):
            values[model] = triples
    if not values:
        return {"missing": {"all": "no dci_* rows (layer last) in the leaderboard"}}
    return {"models": list(values), "values": values, "missing": {}}


def draw_dci(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    models = data["models"]
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(DCI_METRICS) * max(1, len(models)) / 3, 2.6))
    for i, model in enumerate(models):
        triples = np.asarray(data["values"][model], dtype=float)
        x = np.arange(len(DCI_METRICS)) - 0.4 + width * (i + 0.5)
        err = np.abs(np.vstack([triples[:, 0] - triples[:, 1], triples[:, 2] - triples[:, 0]]))
        ax.bar(x, triples[:, 0], width, color=ctx.colors.color(model), label=model,
               yerr=np.where(np.isfinite(err), err, 0), capsize=1.5,
               error_kw={"lw": 0.6, "ecolor": "0.2"})
    ax.set_xticks(range(len(DCI_METRICS)), [label for _, label in DCI_METRICS])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("DCI score (last layer)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    title(fig, ctx, "Disentanglement, completeness and informativeness (95% CI)")
    return fig


def scatter_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Decoded-versus-true pairs per task (subsampled with a fixed seed) and their R²."""
    try:
        pairs = fi.predictions(fi.load(ctx.results, model))
    except MissingResult as exc:
        return {"model": model, "missing": {"all": str(exc)}}
    if not pairs:
        return {"model": model, "missing": {"all": f"no predictions for {model}"}}
    tasks, points, r2 = [], {}, {}
    for task, (true, pred) in pairs.items():
        keep = subsample(true.size, MAX_POINTS)
        tasks.append(task)
        points[task] = (true[keep], pred[keep])
        r2[task] = r2_score(true, pred)
    return {"model": model, "tasks": tasks, "points": points, "r2": r2, "missing": {}}


def draw_scatter(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    model = data["model"]
    fig, axes = new_grid(len(data["tasks"]), 5, (1.9, 1.9))
    for ax, task in zip(axes, data["tasks"], strict=True):
        true, pred = data["points"][task]
        ax.scatter(true, pred, s=3, alpha=0.5, lw=0, color=ctx.colors.color(model),
                   marker=ctx.colors.marker(model), rasterized=true.size > 500)
        identity_line(ax, true, pred)
        ax.set_title(task, fontsize="small")
        ax.set_xlabel(axis_label(task, "true"), fontsize="x-small")
        ax.set_ylabel(axis_label(task, "decoded"), fontsize="x-small")
        ax.text(0.03, 0.97, f"R² = {data['r2'][task]:.2f}", transform=ax.transAxes,
                va="top", fontsize="x-small")
    title(fig, ctx, f"{model}: decoded versus true factor values (out-of-fold, last layer)")
    return fig


def coupling_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Per group: true and decoded correlation, spurious coupling, and cross-talk matrices."""
    try:
        blocks = fi.coupling(fi.load(ctx.results, model))
    except MissingResult as exc:
        return {"model": model, "missing": {"all": str(exc)}}
    missing = {f"cross_talk:{g}": f"no cross-talk matrix for {g} (sweeps)"
               for g, block in blocks.items() if "cross_talk" not in block}
    return {"model": model, "groups": list(blocks), "blocks": blocks, "missing": missing}


COUPLING_COLUMNS = (("true", "true correlation"), ("decoded", "decoded correlation"),
                    ("spurious", "spurious coupling\n(decoded − true)"),
                    ("cross_talk", "cross-talk (sweeps)"))


def _matrix(ax: Any, matrix: np.ndarray, factors: list[str], show_labels: bool) -> Any:
    image = ax.imshow(matrix, cmap=DIVERGING_CMAP, vmin=-1, vmax=1, interpolation="nearest")
    ticks = range(len(factors))
    short = [f.rsplit(":", 1)[-1] for f in factors]
    ax.set_xticks(ticks, short, rotation=60, ha="right", fontsize=5)
    ax.set_yticks(ticks, short if show_labels else [], fontsize=5)
    if len(factors) <= 6:
        for (i, j), v in np.ndenumerate(matrix):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=4.5,
                        color="white" if abs(v) > 0.6 else "black")
    return image


def draw_coupling(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    groups = data["groups"]
    fig, axes = plt.subplots(len(groups), len(COUPLING_COLUMNS), squeeze=False,
                             figsize=(2.0 * len(COUPLING_COLUMNS), 1.9 * len(groups)))
    image = None
    for r, group in enumerate(groups):
        block = data["blocks"][group]
        for c, (key, label) in enumerate(COUPLING_COLUMNS):
            ax = axes[r, c]
            if key not in block:
                note_missing(ax, data["missing"].get(f"{key}:{group}", f"no {key} for {group}"))
                continue
            image = _matrix(ax, block[key], block["factors"], show_labels=c == 0)
            if r == 0:
                ax.set_title(label, fontsize="small")
        axes[r, 0].set_ylabel(group, fontsize="small")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.02, label="correlation / "
                     "normalised movement")
    title(fig, ctx, f"{data['model']}: coupling of decoded factors beside the true matrix")
    return fig


KINDS = [
    FigureKind("fi_r2_heatmap", "feature_independence", "R² per model and factor",
               r2_data, draw_r2),
    FigureKind("fi_dci_bars", "feature_independence", "DCI scores",
               dci_data, draw_dci),
    FigureKind("fi_decoded_vs_true", "feature_independence", "Decoded versus true factors",
               scatter_data, draw_scatter,
               per_model=True),
    FigureKind("fi_coupling", "feature_independence", "Spurious coupling and cross-talk",
               coupling_data, draw_coupling,
               per_model=True),
]
