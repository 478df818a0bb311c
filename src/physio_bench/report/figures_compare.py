"""Paired comparisons: a forest plot of ``model - reference`` on the headline metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from physio_bench.headlines import HEADLINES
from physio_bench.metrics import direction_of
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import new_grid, placeholder, title
from physio_bench.report.style import note_missing

SIGNIFICANT = 0.05


def forest_data(ctx: FigureContext) -> dict[str, Any]:
    """Per headline key: rows (label, model, difference, low, high, p_holm, note)."""
    path = ctx.results / "comparisons.csv"
    if not path.exists():
        return {"missing": {"all": f"{path} does not exist: run the compare stage"}}
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    panels: dict[str, list[dict[str, Any]]] = {}
    for h in HEADLINES:
        own = table[(table["metric"] == h.metric) & (table["task"] == h.task)
                    & (table["layer"] == h.layer)]
        panels[h.key] = [{
            "label": f"{r['model']} − {r['reference'] or '?'}", "model": r["model"],
            "difference": float(r["difference"]), "low": float(r["ci_low"]),
            "high": float(r["ci_high"]), "p_holm": float(r["p_holm"]),
            "note": str(r["note"] or ""),
        } for _, r in own.iterrows()]
    if not any(panels.values()):
        return {"missing": {"all": f"{path} holds no comparison"}}
    return {"panels": panels, "missing": {}}


def draw_forest(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    n_rows = max(len(rows) for rows in data["panels"].values())
    fig, axes = new_grid(len(HEADLINES), 2, (4.6, 0.9 + 0.32 * n_rows))
    for ax, h in zip(axes, HEADLINES, strict=True):
        rows = data["panels"][h.key]
        better = "better →" if direction_of(h.metric) == "higher" else "← better"
        ax.set_title(f"{h.label} ({better})", fontsize="small")
        finite = [r for r in rows if np.isfinite(r["difference"])]
        if not finite:
            reason = rows[0]["note"] if rows else "no comparison"
            note_missing(ax, reason)
            continue
        for y, r in enumerate(reversed(rows)):
            if not np.isfinite(r["difference"]):
                ax.text(0, y, "n.e.", ha="center", va="center", fontsize="x-small",
                        color="0.4")
                continue
            color = ctx.colors.color(r["model"])
            filled = np.isfinite(r["p_holm"]) and r["p_holm"] < SIGNIFICANT
            # the interval is drawn as its own segment: it may miss the point estimate
            # (corrected paired t: centred on the mean per-fold difference, issue 24)
            if np.isfinite(r["low"]) and np.isfinite(r["high"]):
                ax.plot([r["low"], r["high"]], [y, y], color=color, lw=0.8)
                ax.plot([r["low"], r["high"]], [y, y], "|", color=color, ms=4)
            ax.plot(r["difference"], y, "o", color=color, mfc=color if filled else "white",
                    ms=4)
        ax.axvline(0, color="0.5", lw=0.7, ls="--", zorder=0)
        ax.set_yticks(range(len(rows)), [r["label"] for r in reversed(rows)],
                      fontsize="x-small")
        ax.tick_params(axis="x", labelsize="x-small")
    title(fig, ctx, "Paired differences (model − reference) with 95% CI; filled: Holm-adjusted "
                    f"p < {SIGNIFICANT}")
    return fig


KINDS = [
    FigureKind("comparisons_forest", "comparisons", "Paired differences on the headline metrics",
               forest_data, draw_forest),
]
