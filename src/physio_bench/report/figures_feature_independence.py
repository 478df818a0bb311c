"""Feature independence: R² heatmaps (linear and kernel), metric bars with their nulls, the
probe calibration, decoded-versus-true scatter, and mixing / cross-talk matrices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from physio_bench.report.inputs import feature_independence as fi
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.metric_bars import BarPanel, bar_kind, bars_data, draw_bars
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

FI = "feature_independence"
MAX_POINTS = 1500
ANNOTATE_MAX_CELLS = 400
R2_METRICS = (("r2", "linear (ridge)"), ("r2_nonlinear", "kernel ridge (RBF or linear)"))
METRIC_PANELS = (
    BarPanel(FI, "entanglement", "all", "entanglement (excess leakage)"),
    BarPanel(FI, "residual_correlation", "all", "residual correlation"),
    BarPanel(FI, "cross_talk", "all", "cross-talk (sweeps)"),
    BarPanel(FI, "dci_disentanglement", "all", "DCI disentanglement"),
    BarPanel(FI, "dci_completeness", "all", "DCI completeness"),
)
CALIBRATION_PANELS = (
    BarPanel(FI, "calibration_r2", "calibration", "calibration R²"),
    BarPanel(FI, "r2", "all", "mean factor R², linear"),
    BarPanel(FI, "r2_nonlinear", "all", "mean factor R², kernel"),
)


def r2_data(ctx: FigureContext) -> dict[str, Any]:
    """Per probe (linear, kernel): models x tasks matrix of last-layer R² (NaN where absent)."""
    rows = ctx.rows
    rows = rows[(rows["stage"] == FI) & rows["metric"].isin([m for m, _ in R2_METRICS])
                & (rows["layer"] == "last") & (rows["task"] != "all")]
    if rows.empty:
        return {"missing": {"all": "no feature_independence r2 rows (layer last)"}}
    models = [m for m in ctx.models if m in set(rows["model"])]
    tasks = sorted(set(rows["task"]))
    values = {}
    for metric, _ in R2_METRICS:
        matrix = np.full((len(models), len(tasks)), np.nan)
        for _, row in rows[rows["metric"] == metric].iterrows():
            if row["model"] in models:
                matrix[models.index(row["model"]), tasks.index(row["task"])] = row["value"]
        values[metric] = matrix
    return {"models": models, "tasks": tasks, "values": values, "missing": {}}


def draw_r2(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    models, tasks = data["models"], data["tasks"]
    fig, axes = plt.subplots(len(R2_METRICS), 1, squeeze=False, sharex=True,
                             figsize=(1.6 + 0.42 * len(tasks),
                                      1.6 + 0.64 * len(models) * len(R2_METRICS)))
    image = None
    for c, (metric, label) in enumerate(R2_METRICS):
        ax, values = axes[c, 0], data["values"][metric]
        image = ax.imshow(np.clip(values, 0, 1), cmap=SEQUENTIAL_CMAP, vmin=0, vmax=1,
                          aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(tasks)), tasks, rotation=60, ha="right", fontsize="small")
        ax.set_yticks(range(len(models)), models)
        ax.set_title(label, fontsize="small")
        if values.size <= ANNOTATE_MAX_CELLS:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5,
                            color="black" if v > 0.6 else "white")
    fig.colorbar(image, ax=list(axes[:, 0]), label="R² (last layer; < 0 shown as 0; chance 0)",
                 fraction=0.03)
    title(fig, ctx, "Factor informativeness: cross-validated R² per model and factor")
    return fig



def calibration_data(ctx: FigureContext) -> dict[str, Any]:
    data = bars_data(ctx, CALIBRATION_PANELS)
    dims = {}
    for model in data["models"]:
        try:
            dims[model] = fi.calibration(fi.load(ctx.results, model))
        except MissingResult:
            continue
    data["calibration"] = dims
    return data


def draw_calibration(data: dict[str, Any], ctx: FigureContext) -> Any:
    fig = draw_bars(data, ctx, CALIBRATION_PANELS, "Probe power: a perfect feature hidden "
                    "among d noise dimensions (same n and folds) beside the models' R²")
    if "all" in data["missing"]:
        return fig
    axes = [ax for ax in fig.axes if ax.get_visible()]
    labels = [f"{m}\n(d={data['calibration'][m]['d']}, n={data['calibration'][m]['n']})"
              if m in data["calibration"] else m for m in data["models"]]
    axes[0].set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=4.5)
    axes[0].axhline(0.9, color="0.3", lw=0.6, ls=":")
    return fig


def _read(ctx: FigureContext, model: str, part: Callable[[Any], Any]
          ) -> tuple[Any, dict[str, Any] | None]:
    """``part`` of the model's probe result, or (None, the data of a figure that says why
    it cannot be drawn)."""
    try:
        return part(fi.load(ctx.results, model)), None
    except MissingResult as exc:
        return None, {"model": model, "missing": {"all": str(exc)}}


def scatter_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Decoded-versus-true pairs per task (subsampled with a fixed seed) and their R²."""
    pairs, absent = _read(ctx, model, fi.predictions)
    if absent:
        return absent
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


def mixing_data(ctx: FigureContext, model: str) -> dict[str, Any]:
    """Per kind: the mixing matrix of the held-out predictions and the cross-talk matrix."""
    blocks, absent = _read(ctx, model, fi.mixing)
    if absent:
        return absent
    missing = {f"cross_talk:{g}": block.get("cross_talk_note") or
               f"no cross-talk matrix for {g} (sweeps)"
               for g, block in blocks.items() if "cross_talk" not in block}
    return {"model": model, "groups": list(blocks), "blocks": blocks, "missing": missing}


MIXING_COLUMNS = (("mixing", "mixing: share of decoded (column)\nfrom each true factor (row)"),
                  ("cross_talk", "cross-talk (sweeps): decoded column\nper own response of "
                                 "the swept row"))


def _matrix(ax: Any, matrix: np.ndarray, factors: list[str], show_labels: bool,
            limits: tuple[float, float]) -> Any:
    cmap = SEQUENTIAL_CMAP if limits[0] >= 0 else DIVERGING_CMAP
    image = ax.imshow(matrix, cmap=cmap, vmin=limits[0], vmax=limits[1],
                      interpolation="nearest")
    ticks = range(len(factors))
    short = [f.rsplit(":", 1)[-1] for f in factors]
    ax.set_xticks(ticks, short, rotation=60, ha="right", fontsize=5)
    ax.set_yticks(ticks, short if show_labels else [], fontsize=5)
    if len(factors) <= 6:
        for (i, j), v in np.ndenumerate(matrix):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=4.5,
                        color="white" if v < 0.5 * limits[1] else "black")
    return image


def draw_mixing(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    groups = data["groups"]
    fig, axes = plt.subplots(len(groups), len(MIXING_COLUMNS), squeeze=False,
                             figsize=(2.3 * len(MIXING_COLUMNS), 1.9 * len(groups)))
    image = None
    for r, group in enumerate(groups):
        block = data["blocks"][group]
        for c, (key, label) in enumerate(MIXING_COLUMNS):
            ax = axes[r, c]
            if key not in block:
                note_missing(ax, data["missing"].get(f"{key}:{group}", f"no {key} for {group}"))
                continue
            image = _matrix(ax, block[key], block["factors"], show_labels=c == 0,
                            limits=(0.0, 1.0))
            if r == 0:
                ax.set_title(label, fontsize="x-small")
        axes[r, 0].set_ylabel(group, fontsize="small")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.02,
                     label="share / relative movement (ideal: identity)")
    title(fig, ctx, f"{data['model']}: how the decoded factors mix (held-out) and move "
                    "in the sweeps")
    return fig


KINDS = [
    FigureKind("fi_r2_heatmap", "feature_independence", "R² per model and factor",
               r2_data, draw_r2),
    bar_kind("fi_metric_bars", "feature_independence", "Entanglement, cross-talk and DCI",
             METRIC_PANELS, "Independence of the decoded factors (all kinds, last layer, "
             "95% CI; dashes: chance / null)"),
    FigureKind("fi_calibration", "feature_independence", "Probe calibration",
               calibration_data, draw_calibration),
    FigureKind("fi_decoded_vs_true", "feature_independence", "Decoded versus true factors",
               scatter_data, draw_scatter,
               per_model=True),
    FigureKind("fi_mixing", "feature_independence", "Mixing and cross-talk matrices",
               mixing_data, draw_mixing,
               per_model=True),
]
