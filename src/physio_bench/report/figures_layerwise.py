"""Layer-wise curves of the main metrics for the models with several layers (transformers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from physio_bench.report.inputs import feature_independence as fi
from physio_bench.report.inputs import scenario_separation as ss
from physio_bench.report.inputs import temporal_dynamics as td
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import new_grid, placeholder, title
from physio_bench.report.style import note_missing

READERS = {"feature_independence": fi, "temporal_dynamics": td, "scenario_separation": ss}
# (probe, key in the probe JSON's layer_metrics, axis label)
PANELS = (
    ("feature_independence", "mean_r2", "mean factor R²"),
    ("feature_independence", "entanglement", "entanglement (excess)"),
    ("temporal_dynamics", "reconstruction_r2", "reconstruction R²"),
    ("temporal_dynamics", "tracking_r2", "tracking R²"),
    ("temporal_dynamics", "autocorrelation_agreement", "autocorrelation agreement"),
    ("scenario_separation", "balanced_accuracy", "scenario balanced accuracy"),
)


def layerwise_data(ctx: FigureContext) -> dict[str, Any]:
    """Per panel: model -> (layer names, values) for models with more than one layer."""
    panels: dict[str, dict[str, tuple[list[str], np.ndarray]]] = {}
    missing: dict[str, str] = {}
    for probe, reader in READERS.items():
        for model in ctx.models:
            try:
                found = reader.curves(reader.load(ctx.results, model))
            except MissingResult as exc:
                missing[f"{probe}:{model}"] = str(exc)
                continue
            if len(found["layers"]) < 2:
                continue
            for p, metric, _ in PANELS:
                if p == probe and metric in found["curves"]:
                    panels.setdefault(f"{probe}:{metric}", {})[model] = (
                        found["layers"], found["curves"][metric])
    if not panels:
        missing["all"] = "no model with per-layer metrics over more than one layer"
    return {"panels": panels, "missing": missing}


def draw_layerwise(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    fig, axes = new_grid(len(PANELS), 3, (2.4, 1.9))
    for ax, (probe, metric, label) in zip(axes, PANELS, strict=True):
        curves = data["panels"].get(f"{probe}:{metric}", {})
        if not curves:
            hint = ("; token probes see only the layers kept by embed.token_layers (set it to "
                    "all)" if probe == "temporal_dynamics" else "")
            note_missing(ax, f"no {metric} over several layers{hint}")
            continue
        for model, (layers, values) in curves.items():
            ax.plot(np.arange(len(layers)), values, lw=1.0, color=ctx.colors.color(model),
                    marker=ctx.colors.marker(model), ms=2.5, label=model)
        ax.set_ylabel(label, fontsize="small")
        ax.set_xlabel("layer (0 = shallowest)", fontsize="x-small")
    handles, labels = {}, []
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            if name not in handles:
                handles[name] = handle
                labels.append(name)
    fig.legend([handles[n] for n in labels], labels, loc="outside lower center",
               ncol=min(4, max(1, len(labels))), fontsize="small")
    title(fig, ctx, "Probe metrics across layers (shallow to deep)")
    return fig


KINDS = [FigureKind("layerwise_curves", "layerwise", "Metrics across layers",
               layerwise_data, draw_layerwise)]
