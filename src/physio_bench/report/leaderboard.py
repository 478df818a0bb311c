"""Leaderboard tables: the long, tidy table and the one-row-per-model headline table.

- ``results/leaderboard.csv``: every row of every probe and downstream CSV of the enabled
  models (columns :data:`physio_bench.io.LEADERBOARD_COLUMNS`), sorted by model (config
  order), stage, task, metric, layer.
- ``results/leaderboard_wide.csv``, ``results/leaderboard.md``, ``results/leaderboard.html``:
  models as rows, the :data:`HEADLINES` as columns (value and 95% CI), each model marked
  ``pretrained``, ``untrained control`` or ``baseline``.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.config import enabled_models
from physio_bench.errors import InputError
from physio_bench.io import LEADERBOARD_COLUMNS, STAGES, atomic_write_bytes
from physio_bench.report.inputs.downstream import reference_method_name
from physio_bench.report.inputs.models import model_kind, parse_bool

LOG = logging.getLogger("physio_bench.report")

PROBES = tuple(s for s in STAGES if s != "downstream")
FI, TD, SS, DS = STAGES
# Task globs tried in order for summary columns; "*" averages every task left.
AGGREGATE = ("all", "*:all", "mean", "overall", "*")


@dataclass(frozen=True)
class Headline:
    """One column of the wide table: the rows of ``stage``/``metric``/``layer`` whose task
    matches the first glob in ``tasks`` that matches any row; several rows are averaged
    (then without CI)."""

    key: str
    label: str
    stage: str
    metric: str
    tasks: tuple[str, ...]
    layer: str = "last"
    higher_is_better: bool = True


HEADLINES: tuple[Headline, ...] = (
    Headline("hr_r2_ecg", "HR R² (ECG)", FI, "r2", ("ecg:heart_rate_bpm",)),
    Headline("mean_r2", "mean R²", FI, "r2", AGGREGATE),
    Headline("mean_r2_best", "mean R² (best layer)", FI, "r2", AGGREGATE, layer="best"),
    Headline("dci_disentanglement", "DCI D", FI, "dci_disentanglement", AGGREGATE),
    Headline("dci_completeness", "DCI C", FI, "dci_completeness", AGGREGATE),
    Headline("dci_informativeness", "DCI I", FI, "dci_informativeness", AGGREGATE),
    Headline("spurious_coupling", "spurious coupling", FI, "spurious_coupling", AGGREGATE,
             higher_is_better=False),
    Headline("reconstruction_r2", "reconstruction R²", TD, "reconstruction_r2", AGGREGATE),
    Headline("tracking_r2", "HR tracking R² (ramps, steps)", TD, "tracking_r2",
             ("scenarios:ramp_step:heart_rate_bpm",)),
    Headline("balanced_accuracy", "scenario bal. acc.", SS, "balanced_accuracy", AGGREGATE),
    Headline("macro_f1", "scenario macro-F1", SS, "macro_f1", AGGREGATE),
    Headline("real_hr_mae", "real HR MAE (bpm)", DS, "mae", ("real*:ecg:heart_rate_bpm",),
             higher_is_better=False),
    Headline("sim2real_hr_mae", "sim2real HR MAE (bpm)", DS, "mae",
             ("sim2real*:ecg:heart_rate_bpm",), higher_is_better=False),
    Headline("real_rr_mae", "real RR MAE (/min)", DS, "mae", ("real*:rsp:resp_rate_bpm",),
             higher_is_better=False),
    Headline("sim2real_rr_mae", "sim2real RR MAE (/min)", DS, "mae",
             ("sim2real*:rsp:resp_rate_bpm",), higher_is_better=False),
    Headline("beat_class_balanced_accuracy", "beat classes bal. acc.", DS, "balanced_accuracy",
             ("real*:ecg:beat_class",)),
)
ID_COLUMNS = ["model", "type", "pretrained"]


def result_csvs(config: dict[str, Any], results: str | Path) -> list[Path]:
    """The probe and downstream CSVs of every enabled model, in config order, then the
    downstream stage's classical reference methods (``reference-method.csv``)."""
    results = Path(results)
    paths = []
    for model in enabled_models(config):
        paths += [results / "probes" / model / f"{probe}.csv" for probe in PROBES]
        paths.append(results / "downstream" / f"{model}.csv")
    paths.append(results / "downstream" / f"{reference_method_name()}.csv")
    return paths


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=True)
    missing = [c for c in LEADERBOARD_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} lacks leaderboard columns {', '.join(missing)}: rerun the stage that wrote it"
        )
    return frame[LEADERBOARD_COLUMNS]


def read_rows(config: dict[str, Any], results: str | Path,
              missing_level: int = logging.WARNING) -> pd.DataFrame:
    """All leaderboard rows of the enabled models (missing CSVs are logged at
    ``missing_level`` and skipped)."""
    frames = []
    for path in result_csvs(config, results):
        if not path.exists():
            LOG.log(missing_level, "leaderboard: %s does not exist, skipped", path)
            continue
        frames.append(_read_csv(path))
    if not frames:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    return normalise(pd.concat(frames, ignore_index=True), list(config["models"]))


def normalise(frame: pd.DataFrame, model_order: list[str]) -> pd.DataFrame:
    """Typed columns, sorted by model (``model_order``), stage, task, metric, layer."""
    frame = frame.copy()
    for column in ("model", "stage", "task", "metric", "layer"):
        frame[column] = frame[column].astype(str)
    frame["pretrained"] = [bool(parse_bool(v)) for v in frame["pretrained"]]
    for column in ("value", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in ("n", "n_subjects"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    frame["chance"] = pd.to_numeric(frame["chance"], errors="coerce").astype(float)
    for column in ("direction", "note"):
        frame[column] = frame[column].fillna("").astype(str)
    rank = {m: i for i, m in enumerate(model_order)}
    stage_rank = {s: i for i, s in enumerate(STAGES)}
    keys = pd.DataFrame({
        "m": [rank.get(m, len(rank)) for m in frame["model"]],
        "s": [stage_rank.get(s, len(stage_rank)) for s in frame["stage"]],
    })
    order = np.lexsort((frame["layer"], frame["metric"], frame["task"], keys["s"],
                        frame["model"], keys["m"]))
    return frame.iloc[order].reset_index(drop=True)


def select(rows: pd.DataFrame, headline: Headline) -> tuple[float, float, float, int]:
    """(value, ci_low, ci_high, number of tasks averaged) of one model's headline.

    Rows of ``rows`` must belong to one model. NaNs when nothing matches; CIs are NaN
    when several tasks were averaged.
    """
    candidates = rows[(rows["stage"] == headline.stage) & (rows["metric"] == headline.metric)
                      & (rows["layer"] == headline.layer)]
    for pattern in headline.tasks:
        hits = candidates[[fnmatchcase(t, pattern) for t in candidates["task"]]]
        if len(hits) == 1:
            row = hits.iloc[0]
            return float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), 1
        if len(hits) > 1:
            return float(np.nanmean(hits["value"].to_numpy())), math.nan, math.nan, len(hits)
    return math.nan, math.nan, math.nan, 0


def wide_table(rows: pd.DataFrame, config: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The headline table (value, ``_ci_low``, ``_ci_high`` per headline) and, beside it,
    the number of tasks averaged per cell. Headlines without any value are left out."""
    models = [m for m in [*enabled_models(config), reference_method_name()]
              if m in set(rows["model"])]
    records, counts = [], []
    for model in models:
        own = rows[rows["model"] == model]
        pretrained = bool(own["pretrained"].any())
        record: dict[str, Any] = {"model": model, "type": model_kind(config, model, pretrained),
                                  "pretrained": pretrained}
        count: dict[str, int] = {}
        for h in HEADLINES:
            value, low, high, k = select(own, h)
            record.update({h.key: value, f"{h.key}_ci_low": low, f"{h.key}_ci_high": high})
            count[h.key] = k
        records.append(record)
        counts.append(count)
    columns = ID_COLUMNS + [c for h in HEADLINES
                            for c in (h.key, f"{h.key}_ci_low", f"{h.key}_ci_high")]
    wide = pd.DataFrame(records, columns=columns)
    used = [h for h in HEADLINES if wide[h.key].notna().any()]
    keep = ID_COLUMNS + [c for h in used for c in (h.key, f"{h.key}_ci_low", f"{h.key}_ci_high")]
    return wide[keep], pd.DataFrame(counts, columns=[h.key for h in used], index=wide.index)


def format_number(value: float) -> str:
    """Three significant figures at most two decimals: 0.91, 4.31, 12.3, 123."""
    if value is None or not np.isfinite(value):
        return "–"
    magnitude = abs(value)
    return f"{value:.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 \
        else f"{value:.2f}"


def format_cell(value: float, low: float, high: float, n_tasks: int) -> str:
    """``0.91 [0.89, 0.93]``; ``0.52*`` for a mean over several tasks; ``–`` for none."""
    if not np.isfinite(value):
        return "–"
    if n_tasks > 1:
        return f"{format_number(value)}*"
    if np.isfinite(low) and np.isfinite(high):
        return f"{format_number(value)} [{format_number(low)}, {format_number(high)}]"
    return format_number(value)


def display_table(wide: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Strings for the Markdown and HTML tables (arrows give the better direction)."""
    headlines = [h for h in HEADLINES if h.key in counts.columns]
    out = pd.DataFrame({"Model": wide["model"], "Type": wide["type"]})
    for h in headlines:
        arrow = "↑" if h.higher_is_better else "↓"
        out[f"{h.label} {arrow}"] = [
            format_cell(r[h.key], r[f"{h.key}_ci_low"], r[f"{h.key}_ci_high"], int(k))
            for (_, r), k in zip(wide.iterrows(), counts[h.key], strict=True)
        ]
    return out


NOTES = (
    "Last layer unless noted; 95% bootstrap confidence interval in brackets; "
    "↑ higher is better, ↓ lower is better.",
    "Type: **pretrained** = foundation model with its published weights; "
    "untrained control = the same architecture with random weights; "
    "baseline = no learned weights (raw samples, spectrum, hand-crafted features); "
    "reference method = classical signal processing on the same real windows.",
    "\\* mean over several tasks (no CI); the per-task values are in `leaderboard.csv`.",
)


def markdown(display: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table with the notes below it."""
    header = "| " + " | ".join(display.columns) + " |"
    rule = "|" + "|".join(["---"] * 2 + ["--:"] * (display.shape[1] - 2)) + "|"
    lines = ["# physio_bench leaderboard", "", header, rule]
    for _, row in display.iterrows():
        cells = [str(v).replace("|", "\\|") for v in row]
        if row["Type"] == "pretrained":
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"{note}  " for note in NOTES]
    return "\n".join(lines) + "\n"


HTML_STYLE = (
    "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
    "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}"
    "th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}tr.pretrained td{font-weight:bold}"
    "p{color:#444}"
)


def html_page(display: pd.DataFrame, title: str, notes: tuple[str, ...] = NOTES,
              row_class: str = "Type") -> str:
    """A small self-contained HTML page holding the table (for the Snakemake report)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in display.columns)
    body = []
    for _, row in display.iterrows():
        css = str(row.get(row_class, "")).replace(" ", "-")
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        body.append(f'<tr class="{html.escape(css)}">{cells}</tr>')
    paragraphs = "".join(
        f"<p>{html.escape(n).replace('**pretrained**', '<b>pretrained</b>')}</p>" for n in notes
    )
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{HTML_STYLE}</style></head><body><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>{paragraphs}</body></html>\n")


def write_leaderboard(config: dict[str, Any], results: str | Path) -> dict[str, Path]:
    """Write the long, wide, Markdown and HTML leaderboards into ``results``; return paths."""
    results = Path(results)
    rows = read_rows(config, results)
    if rows.empty:
        raise InputError(
            f"no probe or downstream results under {results}: run `snakemake all` (or the "
            "probe and downstream stages) first"
        )
    wide, counts = wide_table(rows, config)
    display = display_table(wide, counts)
    paths = {
        "long": results / "leaderboard.csv",
        "wide": results / "leaderboard_wide.csv",
        "markdown": results / "leaderboard.md",
        "html": results / "leaderboard.html",
    }
    atomic_write_bytes(paths["long"], rows.to_csv(index=False).encode())
    atomic_write_bytes(paths["wide"], wide.to_csv(index=False).encode())
    atomic_write_bytes(paths["markdown"], markdown(display).encode())
    atomic_write_bytes(paths["html"], html_page(display, "physio_bench leaderboard").encode())
    LOG.info("leaderboard: %d rows, %d models, %d headline columns", len(rows), len(wide),
             counts.shape[1])
    return paths
