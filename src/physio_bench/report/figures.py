"""The figure set: which files exist (from the config alone), and drawing them from results.

Every figure kind is one file (``results/figures/<name>.png``, or ``.pdf`` and ``.svg``
in the publication style), multi-panel across models; the two per-model kinds add the
model's name. :func:`figure_files` lists them before any result exists, so Snakemake
rules can declare them as outputs. A figure whose inputs are missing is still written,
with a "no data" panel, and the reason is logged: the report never fails on a figure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physio_bench.errors import ConfigError
from physio_bench.model_types import REFERENCE_METHOD
from physio_bench.report import (
    figures_compare,
    figures_downstream,
    figures_feature_independence,
    figures_finetune,
    figures_layerwise,
    figures_scenarios,
    figures_sensitivity,
    figures_signals,
    figures_temporal,
)
from physio_bench.report.kinds import SECTION_TITLES, SECTIONS, FigureContext, FigureKind
from physio_bench.report.style import check_style, output_paths

__all__ = ["SECTIONS", "SECTION_TITLES", "FigureContext", "FigureKind", "draw_figures",
           "figure_entries", "figure_files", "figure_inputs", "figure_kinds"]

LOG = logging.getLogger("physio_bench.report")

#: Figure modules in report order; each defines ``KINDS``.
FIGURE_MODULES = (
    figures_signals, figures_feature_independence, figures_temporal, figures_scenarios,
    figures_layerwise, figures_downstream, figures_compare, figures_finetune,
    figures_sensitivity,
)


def figure_kinds() -> list[FigureKind]:
    """All figure kinds, in report order."""
    return [kind for module in FIGURE_MODULES for kind in module.KINDS]


def _check_sections(sections: Iterable[str] | None) -> list[str]:
    chosen = list(SECTIONS if sections is None else sections)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise ConfigError(f"figure section {unknown[0]!r} is unknown: use one of "
                          f"{', '.join(SECTIONS)}")
    return chosen


@dataclass(frozen=True)
class FigureEntry:
    """One figure file: its path, kind, section and model (None: all models)."""

    path: str
    kind: str
    section: str
    title: str
    model: str | None


def figure_entries(config: dict[str, Any], results: str | Path = "results",
                   sections: Iterable[str] | None = None,
                   style: str | None = None) -> list[FigureEntry]:
    """Every figure file the config yields, with what it shows (from the config alone)."""
    from physio_bench.config import enabled_models

    style = check_style(style or config["report"]["style"])
    chosen = _check_sections(sections)
    models = list(enabled_models(config))
    entries = []
    for kind in figure_kinds():
        if kind.section in chosen and kind.applies_to(config):
            for stem, model in kind.stems(kind.models_for(config, models)):
                for path in output_paths(Path(results) / "figures" / stem, style):
                    entries.append(FigureEntry(str(path), kind.name, kind.section, kind.title,
                                               model))
    return entries


def figure_files(config: dict[str, Any], results: str | Path = "results",
                 sections: Iterable[str] | None = None, style: str | None = None) -> list[str]:
    """Every figure file the config yields (from the config alone: models, style)."""
    return [e.path for e in figure_entries(config, results, sections, style)]


def figure_inputs(config: dict[str, Any], section: str,
                  results: str | Path = "results") -> list[str]:
    """The result files a section's figures read (for the Snakemake rules' inputs)."""
    from physio_bench.config import enabled_models

    _check_sections([section])
    r = Path(results)
    models = list(enabled_models(config))
    probe = {"feature_independence": ["json", "csv"], "temporal_dynamics": ["json", "csv"],
             "scenario_separation": ["json"]}
    if section == "signals":
        return figures_signals.signals_inputs(config, r)
    if section in probe:
        return [str(r / "probes" / m / f"{section}.{ext}")
                for m in models for ext in probe[section]]
    if section == "finetune":
        return figures_finetune.finetune_inputs(config, r)
    if section == "layerwise":
        return [str(r / "probes" / m / f"{p}.json") for m in models for p in probe]
    if section == "sensitivity":
        return figures_sensitivity.figure_inputs(config, r)
    if section == "comparisons":
        return [str(r / "comparisons.csv")]
    return [str(r / "downstream" / f"{m}.{ext}") for m in [*models, REFERENCE_METHOD]
            for ext in ("json", "csv")]


def draw_figures(config: dict[str, Any], results: str | Path = "results",
                 sections: Iterable[str] | None = None,
                 style: str | None = None) -> dict[str, float]:
    """Draw the figures of ``sections`` into ``results/figures``; return seconds per file stem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from physio_bench.report.style import rc_params, save_figure

    style = check_style(style or config["report"]["style"])
    chosen = _check_sections(sections)
    ctx = FigureContext(config=config, results=Path(results), style=style)
    timings = {}
    for kind in figure_kinds():
        if kind.section not in chosen or not kind.applies_to(config):
            continue
        for stem, model in kind.stems(kind.models_for(config, ctx.models)):
            start = time.perf_counter()
            with matplotlib.rc_context(rc_params(style)):
                data = kind.data(ctx, model) if kind.per_model else kind.data(ctx)
                for reason in data.get("missing", {}).values():
                    LOG.warning("figure %s: %s", stem, reason)
                fig = kind.draw(data, ctx)
            save_figure(fig, output_paths(ctx.results / "figures" / stem, style), style)
            plt.close(fig)
            timings[stem] = time.perf_counter() - start
    return timings
