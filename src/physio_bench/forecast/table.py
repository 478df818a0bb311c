"""The forecast-skill table of the report: one row per model, signal kind and task.

From ``results/forecast_skill.csv`` (:func:`physio_bench.forecast.run.forecast_skill`):

- ``median corr``: Pearson correlation of the model's predictive median with the held-out
  patch, averaged over windows, with its subject-bootstrap 95% interval;
- ``CRPS skill vs X``: ``1 - CRPS_model / CRPS_X`` for each baseline X (context-free
  marginal, per-window Gaussian, seasonal naive), with its interval and verdict
  (``better``: NLL and CRPS gains with 95% intervals above zero; ``worse``: either
  gain's interval below zero; ``tie``: otherwise; ``not estimable``: an interval could not
  be formed).

A cell without a number says why (the ``note`` of its row), never a value.
"""

from __future__ import annotations

import html

import pandas as pd

BASELINE_LABELS = {"marginal": "marginal", "window_gaussian": "window Gaussian",
                   "seasonal_naive": "seasonal naive"}
KEYS = ["model", "kind", "task"]


def _cell(row: pd.Series | None, verdict: bool = False) -> str:
    if row is None:
        return "not computed"
    if pd.isna(row["value"]):
        note = row.get("note")
        return str(note) if isinstance(note, str) and note else "not estimable"
    text = f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
    if verdict and isinstance(row.get("verdict"), str):
        text += f" {row['verdict']}"
    return text


def skill_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, kind, task): subjects, median correlation and the CRPS skill
    against each baseline, formatted with intervals and verdicts."""
    own = table[table["predictor"] == table["model"]]
    out = []
    for (model, kind, task), group in own.groupby(KEYS, sort=False):
        by_metric = {(r["metric"], r["reference"] if isinstance(r["reference"], str) else ""): r
                     for _, r in group.iterrows()}
        row = {"model": model, "kind": kind, "task": task.replace("_", " "),
               "subjects": int(group["n_subjects"].max()),
               "median corr": _cell(by_metric.get(("median_corr", "")))}
        for name, label in BASELINE_LABELS.items():
            row[f"CRPS skill vs {label}"] = _cell(by_metric.get(("crps_skill", name)),
                                                  verdict=True)
        out.append(row)
    return pd.DataFrame(out)


def skill_html(table: pd.DataFrame) -> str:
    """A self-contained HTML page of :func:`skill_table`."""
    wide = skill_table(table)
    body = wide.to_html(index=False, escape=True, border=0) if len(wide) else (
        "<p>no forecast-skill rows</p>")
    title = html.escape("Forecast skill on held-out synthetic windows")
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{title}</title><style>table{{border-collapse:collapse;font:13px "
            "sans-serif}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
            f"</style></head><body><h2>{title}</h2>\n{body}\n</body></html>\n")
