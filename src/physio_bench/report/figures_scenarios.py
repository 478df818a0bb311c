"""Scenario separation: metric bars with their chance levels, confusion matrices and a 2-D
map of pooled embeddings per model."""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.report.inputs import scenario_separation as ss
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.metric_bars import BarPanel, bar_kind
from physio_bench.report.plotting import filled_panels, new_grid, placeholder, subsample, title
from physio_bench.report.style import MARKERS, OKABE_ITO, SEQUENTIAL_CMAP

MAX_POINTS = 3000
ANNOTATE_MAX_CLASSES = 8
SS = "scenario_separation"
METRIC_PANELS = (
    BarPanel(SS, "balanced_accuracy", "scenarios", "balanced accuracy"),
    BarPanel(SS, "macro_f1", "scenarios", "macro-F1"),
    BarPanel(SS, "silhouette", "scenarios", "silhouette (subject means)"),
    BarPanel(SS, "fisher_ratio", "scenarios", "Fisher ratio (held out)"),
)



def confusion_data(ctx: FigureContext) -> dict[str, Any]:
    """Per model: class names and the row-normalised confusion matrix (recall per class)."""
    matrices, missing = {}, {}
    for model in ctx.models:
        try:
            found = ss.confusion(ss.load(ctx.results, model))
        except MissingResult as exc:
            missing[model] = str(exc)
            continue
        counts = found["counts"]
        totals = counts.sum(axis=1, keepdims=True)
        matrices[model] = {"classes": found["classes"],
                           "recall": np.divide(counts, totals, out=np.full_like(counts, np.nan),
                                               where=totals > 0)}
    if not matrices:
        missing["all"] = "; ".join(missing.values()) or "no models"
    return {"models": list(ctx.models), "matrices": matrices, "missing": missing}


def draw_confusion(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    n_classes = max(len(m["classes"]) for m in data["matrices"].values())
    size = 1.2 + 0.22 * n_classes
    fig, axes = new_grid(len(data["models"]), 4, (size, size))
    image = None
    for ax, model in filled_panels(axes, data["models"], data["matrices"], data["missing"]):
        classes, recall = data["matrices"][model]["classes"], data["matrices"][model]["recall"]
        image = ax.imshow(recall, cmap=SEQUENTIAL_CMAP, vmin=0, vmax=1, interpolation="nearest")
        names = [c.replace("_", " ") for c in classes]
        ax.set_xticks(range(len(classes)), names, rotation=60, ha="right", fontsize=5)
        ax.set_yticks(range(len(classes)), names, fontsize=5)
        ax.set_title(model, fontsize="small", color=ctx.colors.color(model))
        ax.set_xlabel("predicted", fontsize="x-small")
        ax.set_ylabel("true", fontsize="x-small")
        if len(classes) <= ANNOTATE_MAX_CLASSES:
            for (i, j), v in np.ndenumerate(recall):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=4.5,
                            color="black" if v > 0.6 else "white")
    if image is not None:
        fig.colorbar(image, ax=list(axes), fraction=0.02, label="fraction of true class")
    title(fig, ctx, "Scenario classification: confusion matrices (rows sum to 1)")
    return fig


def map_data(ctx: FigureContext) -> dict[str, Any]:
    """Per model: 2-D coordinates and scenario labels (subsampled with a fixed seed)."""
    maps, missing = {}, {}
    for model in ctx.models:
        try:
            try:
                found = ss.embedding_map(ss.load(ctx.results, model))
            except MissingResult:
                found = ss.pca_map(ctx.results, model)
        except MissingResult as exc:
            missing[model] = str(exc)
            continue
        keep = subsample(len(found["labels"]), MAX_POINTS)
        maps[model] = {"x": found["x"][keep], "y": found["y"][keep],
                       "labels": [found["labels"][i] for i in keep], "method": found["method"]}
    if not maps:
        missing["all"] = "; ".join(missing.values()) or "no models"
    configured = list(ctx.config["simulate"]["scenarios"]["classes"])
    seen = sorted({label for m in maps.values() for label in m["labels"]} - set(configured))
    return {"models": list(ctx.models), "maps": maps, "classes": configured + seen,
            "missing": missing}


def class_style(index: int) -> tuple[str, str]:
    """Colour and marker of the ``index``-th scenario (distinct for 64 classes)."""
    return OKABE_ITO[index % len(OKABE_ITO)], MARKERS[(index // len(OKABE_ITO)) % len(MARKERS)]


def draw_map(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    fig, axes = new_grid(len(data["models"]), 4, (2.4, 2.4))
    handles = {}
    for ax, model in filled_panels(axes, data["models"], data["maps"], data["missing"]):
        found = data["maps"][model]
        labels = np.asarray(found["labels"])
        for index, scenario in enumerate(data["classes"]):
            mask = labels == scenario
            if mask.any():
                color, marker = class_style(index)
                handles[scenario] = ax.scatter(found["x"][mask], found["y"][mask], s=6, lw=0,
                                               color=color, marker=marker, alpha=0.8,
                                               label=scenario.replace("_", " "))
        ax.set_title(model, fontsize="small", color=ctx.colors.color(model))
        ax.set_xticks([])
        ax.set_yticks([])
        method = found["method"].upper() or "map"
        ax.set_xlabel(f"{method} 1", fontsize="x-small")
        ax.set_ylabel(f"{method} 2", fontsize="x-small")
    ordered = [handles[c] for c in data["classes"] if c in handles]
    fig.legend(handles=ordered, loc="outside lower center", ncol=min(5, max(1, len(ordered))),
               fontsize="x-small", markerscale=2)
    title(fig, ctx, "Pooled embeddings of the scenario windows (last layer), coloured by scenario")
    return fig


KINDS = [
    bar_kind("ss_metric_bars", "scenario_separation", "Scenario metrics", METRIC_PANELS,
             "Scenario separation (last layer, 95% CI; "
             "dashes: chance 1/K or the permutation null)"),
    FigureKind("ss_confusion", "scenario_separation", "Confusion matrices",
               confusion_data, draw_confusion),
    FigureKind("ss_embedding_map", "scenario_separation", "Map of pooled embeddings",
               map_data, draw_map),
]
