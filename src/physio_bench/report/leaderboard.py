"""Leaderboard tables: the long, tidy table, the headline table and one table per stage.

- ``results/leaderboard.csv``: every row of every probe and downstream CSV of the enabled
  model instances (columns :data:`physio_bench.io.LEADERBOARD_COLUMNS`; one row per seed of
  a replicated model, plus its seed-mean row named after the configured model), sorted by
  model (config order), stage, task, metric, layer. ``direction`` and ``chance`` come from
  the metric registry (:mod:`physio_bench.metrics`) where a producer left them empty.
- ``results/leaderboard_wide.csv``, ``results/leaderboard.md``, ``results/leaderboard.html``:
  the headline table (:data:`physio_bench.headlines.HEADLINES`, one question per column,
  with direction arrows and chance levels), one row per configured model with its type
  (:mod:`physio_bench.model_types`). The Markdown file also holds the per-stage tables.
- ``results/tables/{stage}.csv|.md|.html``: every other row, one table per stage (rows:
  task, metric, layer; columns: models).
- In ``leaderboard.md``, when ``results/forecast_skill.csv`` exists (issue 20), a section
  "Forecast skill" (:func:`forecast_lines`): per Moirai checkpoint, on which signal kinds
  its next-patch forecast beats the context-free marginal and seasonal naive (the
  verdicts of the forecast stage), its median correlation on ECG, PPG and RSP, and one
  plain sentence: whether it has learned dynamics.

Rules that keep absurd numbers out: a missing headline row is shown as missing (no
average over another set of tasks); a row with a ``note`` saying ``not estimable`` is
shown as ``n.e.``; a row of a domain model on a task outside its signal kinds shows its
note, ``n/a: model is ECG-only`` (:mod:`physio_bench.applicability`); a mean absolute
error larger than the range of the task's reference labels (read from the task's
predictions) is turned into a not-estimable row; an interval from fewer than 30 subjects
or records is flagged with a dagger. A replicated model (``replicates: k``) is shown as
the mean over its seeds, with the seeds' range; its interval is the envelope of the seeds'
intervals (lowest low, highest high).
"""

from __future__ import annotations

import html
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.applicability import is_not_applicable
from physio_bench.config import enabled_models
from physio_bench.errors import InputError
from physio_bench.headlines import HEADLINES, Headline
from physio_bench.io import LEADERBOARD_COLUMNS, STAGES, atomic_write_bytes, read_json
from physio_bench.metrics import METRICS
from physio_bench.model_types import (
    BASELINE as BASELINE_KIND,
)
from physio_bench.model_types import (
    MEAN_PREDICTOR,
    PRETRAINED,
    REFERENCE_METHOD,
    ModelType,
    group_types,
    result_groups,
)
from physio_bench.report.inputs.models import parse_bool
from physio_bench.statistics import FEW_CLUSTERS, NOT_ESTIMABLE

LOG = logging.getLogger("physio_bench.report")

PROBES = tuple(s for s in STAGES if s != "downstream")
#: ``type``: the model's kind (physio_bench.model_types: pretrained, untrained control,
#: trained on synthetic, fine-tuned, marginal ablation, baseline, reference method, mean
#: predictor);
#: ``from_checkpoint``: its embeddings were computed from loaded weights (the producers'
#: ``pretrained`` flag, renamed so that one word has one meaning, issue 24)
ID_COLUMNS = ["model", "type", "from_checkpoint", "n_seeds"]
#: per-headline columns of leaderboard_wide.csv
CELL_COLUMNS = ("", "_ci_low", "_ci_high", "_n_subjects", "_seed_min", "_seed_max", "_note")
#: metrics left out of the per-stage tables because another row already shows them
DUPLICATES = {"dci_informativeness": "r2 (task all): DCI informativeness is the mean R²"}
DAGGER = "†"
NOT_ESTIMABLE_CELL = "n.e."
STAGE_TITLES = {
    "feature_independence": "Feature independence", "temporal_dynamics": "Temporal dynamics",
    "scenario_separation": "Scenario separation", "downstream": "Downstream (real recordings)",
}


# ---------------------------------------------------------------------------- reading

def result_csvs(config: dict[str, Any], results: str | Path) -> list[Path]:
    """The probe and downstream CSVs of every enabled model instance, in config order, then
    the downstream stage's classical reference methods (``reference-method.csv``)."""
    results = Path(results)
    paths = []
    for model in enabled_models(config):
        paths += [results / "probes" / model / f"{probe}.csv" for probe in PROBES]
        paths.append(results / "downstream" / f"{model}.csv")
    return [*paths, results / "downstream" / f"{REFERENCE_METHOD}.csv"]


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
    """All leaderboard rows of the enabled model instances (missing CSVs are logged at
    ``missing_level`` and skipped)."""
    frames = []
    for path in result_csvs(config, results):
        if not path.exists():
            LOG.log(missing_level, "leaderboard: %s does not exist, skipped", path)
            continue
        frames.append(_read_csv(path))
    if not frames:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    return normalise(pd.concat(frames, ignore_index=True), model_order(config))


def model_order(config: dict[str, Any]) -> list[str]:
    """Configured models, each followed by its seed instances (the table order)."""
    order = []
    for group, instances in result_groups(config).items():
        order += [group] + [i for i in instances if i != group]
    return order


def normalise(frame: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Typed columns, registry directions/chances filled in, sorted by model (``order``),
    stage, task, metric, layer."""
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
    _fill_from_registry(frame)
    rank = {m: i for i, m in enumerate(order)}
    stage_rank = {s: i for i, s in enumerate(STAGES)}
    keys = pd.DataFrame({
        "m": [rank.get(m, len(rank)) for m in frame["model"]],
        "s": [stage_rank.get(s, len(stage_rank)) for s in frame["stage"]],
    })
    ordering = np.lexsort((frame["layer"], frame["metric"], frame["task"], keys["s"],
                           frame["model"], keys["m"]))
    return frame.iloc[ordering].reset_index(drop=True)


def _fill_from_registry(frame: pd.DataFrame) -> None:
    """Empty ``direction``/``chance`` cells from the metric registry (in place)."""
    for i, metric in enumerate(frame["metric"]):
        spec = METRICS.get(metric)
        if spec is None:
            continue
        if not frame.at[i, "direction"]:
            frame.at[i, "direction"] = spec.direction
        if math.isnan(frame.at[i, "chance"]) and spec.chance is not None:
            frame.at[i, "chance"] = float(spec.chance)


# ------------------------------------------------------------------- absurd numbers

def label_ranges(results: str | Path, model: str) -> dict[str, float]:
    """Task -> range (max - min) of its reference labels, from the model's downstream
    predictions (``{model}.predictions.parquet``, else the JSON detail)."""
    folder = Path(results) / "downstream"
    table = folder / f"{model}.predictions.parquet"
    if table.exists():
        frame = pd.read_parquet(table, columns=["task", "y_true"])
        return {str(t): float(np.ptp(g["y_true"].to_numpy(dtype=float)))
                for t, g in frame.groupby("task") if len(g)}
    detail = folder / f"{model}.json"
    out: dict[str, float] = {}
    if detail.exists():
        for task, info in read_json(detail).get("tasks", {}).items():
            reference = (info.get("predictions") or {}).get("reference")
            if reference:
                values = np.asarray([np.nan if v is None else v for v in reference], float)
                if np.isfinite(values).any():
                    out[task] = float(np.nanmax(values) - np.nanmin(values))
    return out


#: note of an MAE row worse than the mean predictor (a result about the model, issue 24)
WORSE_THAN_CONSTANT = "worse than a constant"


def guard_mae(rows: pd.DataFrame, results: str | Path) -> pd.DataFrame:
    """Flag every MAE worse than a constant, keeping its value and interval.

    An MAE row is *worse than a constant* when it exceeds the error of the training-fold
    mean predictor on the same folds (its ``chance`` column,
    :func:`physio_bench.downstream.cv.mean_predictor_error`), or, without one, the range
    of the task's labels (every constant inside the range errs by less). The note starts
    with :data:`WORSE_THAN_CONSTANT`; ``n.e.`` stays reserved for too little data.
    """
    rows = rows.copy()
    ranges: dict[str, dict[str, float]] = {}
    for i in np.flatnonzero((rows["metric"] == "mae").to_numpy()
                            & np.isfinite(rows["value"].to_numpy(dtype=float))):
        model, task = rows.at[i, "model"], rows.at[i, "task"]
        value = float(rows.at[i, "value"])
        constant = float(rows.at[i, "chance"]) if "chance" in rows else math.nan
        if np.isfinite(constant):
            bound, what = constant, "the training-fold mean predictor's"
        else:
            if model not in ranges:
                ranges[model] = label_ranges(results, model)
            span = ranges[model].get(task)
            if span is None:
                LOG.warning("leaderboard: no reference labels for %s %s: MAE not "
                            "range-checked", model, task)
                continue
            bound, what = span, "the labels' range,"
        if value > bound:
            flag = (f"{WORSE_THAN_CONSTANT}: MAE {value:.4g} above {what} "
                    f"{bound:.4g}")
            note = str(rows.at[i, "note"] or "")
            rows.at[i, "note"] = f"{flag}; {note}" if note else flag
            LOG.warning("leaderboard: %s %s: %s", model, task, flag)
    return rows


# -------------------------------------------------------------------------- seeds

KEY = ["stage", "task", "metric", "layer"]


def seed_means(rows: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """One row per replicated model and result key present for all of its seeds: the
    mean over seeds, the envelope of their intervals and the seeds' range in ``note``."""
    out = []
    for group, instances in result_groups(config).items():
        if len(instances) < 2:
            continue
        own = rows[rows["model"].isin(instances)]
        for _, part in own.groupby(KEY, sort=False):
            if set(part["model"]) != set(instances):
                continue
            first = part.iloc[0]
            record = {**first.to_dict(), "model": group}
            values = part["value"].to_numpy(dtype=float)
            notes = [n for n in part["note"] if n.startswith(NOT_ESTIMABLE)]
            flagged = [m for m, n in zip(part["model"], part["note"], strict=True)
                       if str(n).startswith(WORSE_THAN_CONSTANT)]
            if notes or not np.isfinite(values).all():
                record.update(value=math.nan, ci_low=math.nan, ci_high=math.nan,
                              note=notes[0] if notes else f"{NOT_ESTIMABLE}: a seed has no "
                              "value")
            else:
                note = (f"mean of {len(instances)} seeds (seeds {values.min():.4g} "
                        f"to {values.max():.4g}); interval: envelope of the seeds'")
                if flagged:
                    note = (f"{WORSE_THAN_CONSTANT} in seed(s) {', '.join(map(str, flagged))}; "
                            + note)
                record.update(value=float(values.mean()),
                              ci_low=float(part["ci_low"].min()),
                              ci_high=float(part["ci_high"].max()), note=note)
            record["n_subjects"] = part["n_subjects"].min()
            out.append(record)
    return pd.DataFrame(out, columns=LEADERBOARD_COLUMNS)


def board_rows(config: dict[str, Any], results: str | Path,
               missing_level: int = logging.WARNING) -> pd.DataFrame:
    """The long table: instance rows (worse-than-constant MAEs flagged) and the seed-mean
    rows (means of all seeds; a seed's flag shows on the mean's row)."""
    rows = read_rows(config, results, missing_level)
    if rows.empty:
        return rows
    rows = guard_mae(rows, results)
    means = seed_means(rows, config)
    if means.empty:
        return rows
    return normalise(pd.concat([rows, means], ignore_index=True), model_order(config))


# ------------------------------------------------------------------------- formatting

def format_number(value: float) -> str:
    """Three significant figures at most two decimals: 0.91, 4.31, 12.3, 123."""
    if value is None or not np.isfinite(value):
        return "–"
    magnitude = abs(value)
    return f"{value:.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 \
        else f"{value:.2f}"


def format_cell(value: float, low: float, high: float, n_subjects: Any = None,
                note: str = "", seeds: tuple[float, float] | None = None) -> str:
    """``0.91 [0.89, 0.93]``; ``†`` when the interval rests on fewer than 30 groups;
    ``n.e.`` when not estimable; the note (``n/a: model is ECG-only``) for a task that does
    not fit a domain model; ``–`` when missing; the seeds' range for replicates."""
    if is_not_applicable(note):
        return note
    if note.startswith(NOT_ESTIMABLE):
        return NOT_ESTIMABLE_CELL
    if value is None or not np.isfinite(value):
        return "–"
    text = format_number(value)
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{format_number(low)}, {format_number(high)}]"
        if n_subjects is not None and not pd.isna(n_subjects) and int(n_subjects) < FEW_CLUSTERS:
            text += DAGGER
    if seeds is not None:
        text += f" (seeds {format_number(seeds[0])}–{format_number(seeds[1])})"
    if WORSE_THAN_CONSTANT in note:
        text += " ⚠"
    return text


def _arrow(metric: str) -> str:
    spec = METRICS.get(metric)
    return "" if spec is None else (" ↑" if spec.higher_is_better else " ↓")


def _chance_text(rows: pd.DataFrame, metric: str) -> str:
    """``chance 0.33`` from the rows' common chance level, else the registry's; or ""."""
    chances = rows["chance"].to_numpy(dtype=float)
    chances = chances[np.isfinite(chances)]
    if chances.size and np.allclose(chances, chances[0]):
        return f"chance {float(chances[0]):.2g}"
    spec = METRICS.get(metric)
    return f"chance {spec.chance:.2g}" if spec and spec.chance is not None else ""


# ---------------------------------------------------------------------- headline table

def exact_row(rows: pd.DataFrame, stage: str, metric: str, task: str = "all",
              layer: str = "last") -> tuple[float, float, float]:
    """(value, ci_low, ci_high) of the one row with exactly these keys (NaNs if absent):
    a missing aggregate stays missing."""
    hit = rows[(rows["stage"] == stage) & (rows["metric"] == metric) & (rows["task"] == task)
               & (rows["layer"] == layer)]
    if hit.empty:
        return math.nan, math.nan, math.nan
    row = hit.iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


def _headline_rows(board: pd.DataFrame, h: Headline) -> pd.DataFrame:
    return board[(board["stage"] == h.stage) & (board["metric"] == h.metric)
                 & (board["task"] == h.task) & (board["layer"] == h.layer)]


def headline_table(board: pd.DataFrame, config: dict[str, Any],
                   types: dict[str, ModelType]) -> pd.DataFrame:
    """One row per configured model with rows; per headline the value, interval,
    ``n_subjects``, seeds' range and note (NaN/empty when the exact row is missing)."""
    groups = {g: i for g, i in result_groups(config).items()
              if set(i) & set(board["model"]) or g in set(board["model"])}
    records = []
    for group, instances in groups.items():
        kind = types.get(group, ModelType("baseline", "baseline"))
        own_rows = board[board["model"].isin([group, *instances])]
        record: dict[str, Any] = {"model": group, "type": kind.label,
                                  "from_checkpoint": bool(own_rows["pretrained"].any()),
                                  "n_seeds": len(instances)}
        for h in HEADLINES:
            found = _headline_rows(board, h)
            own = found[found["model"] == group]
            seeds = found[found["model"].isin(instances) & (found["model"] != group)]
            cell = dict.fromkeys((f"{h.key}{c}" for c in CELL_COLUMNS), math.nan)
            cell[f"{h.key}_note"] = ""
            if len(own):
                row = own.iloc[0]
                cell.update({h.key: row["value"], f"{h.key}_ci_low": row["ci_low"],
                             f"{h.key}_ci_high": row["ci_high"],
                             f"{h.key}_n_subjects": row["n_subjects"],
                             f"{h.key}_note": row["note"]})
            values = seeds["value"].to_numpy(dtype=float)
            if len(instances) > 1 and len(values) == len(instances) and np.isfinite(values).all():
                cell[f"{h.key}_seed_min"], cell[f"{h.key}_seed_max"] = values.min(), values.max()
            record.update(cell)
        records.append(record)
    columns = ID_COLUMNS + [f"{h.key}{c}" for h in HEADLINES for c in CELL_COLUMNS]
    wide = pd.DataFrame(records, columns=columns)
    for h in HEADLINES:
        wide[f"{h.key}_n_subjects"] = wide[f"{h.key}_n_subjects"].astype("Int64")
    return wide


def headline_header(board: pd.DataFrame, h: Headline) -> str:
    """Column title: label, direction arrow and chance level."""
    chance = _chance_text(_headline_rows(board, h), h.metric)
    return f"{h.label}{_arrow(h.metric)}" + (f" ({chance})" if chance else "")


def display_headlines(wide: pd.DataFrame, board: pd.DataFrame) -> pd.DataFrame:
    """Strings of the headline table (Model, Type, one column per headline)."""
    out = pd.DataFrame({"Model": wide["model"], "Type": wide["type"]})
    for h in HEADLINES:
        cells = []
        for _, r in wide.iterrows():
            seeds = (r[f"{h.key}_seed_min"], r[f"{h.key}_seed_max"]) \
                if np.isfinite(r[f"{h.key}_seed_min"]) else None
            cells.append(format_cell(r[h.key], r[f"{h.key}_ci_low"], r[f"{h.key}_ci_high"],
                                     r[f"{h.key}_n_subjects"], str(r[f"{h.key}_note"] or ""),
                                     seeds))
        out[headline_header(board, h)] = cells
    return out


# ------------------------------------------------------------------------ stage tables

def stage_table(board: pd.DataFrame, stage: str, models: list[str]) -> tuple[pd.DataFrame,
                                                                             pd.DataFrame]:
    """(machine-readable, display) table of one stage: rows task/metric/layer, a column
    per model (value, interval, n_subjects and note per model in the CSV)."""
    rows = board[(board["stage"] == stage) & ~board["metric"].isin(list(DUPLICATES))]
    models = [m for m in models if m in set(rows["model"])]
    keys = rows[["task", "metric", "layer"]].drop_duplicates().to_numpy().tolist()
    machine, display = [], []
    for task, metric, layer in keys:
        part = rows[(rows["task"] == task) & (rows["metric"] == metric) & (rows["layer"] == layer)]
        chance = _chance_text(part, metric).removeprefix("chance ")
        m_row: dict[str, Any] = {"task": task, "metric": metric, "layer": layer,
                                 "direction": part["direction"].iloc[0],
                                 "chance": part["chance"].iloc[0]}
        d_row = {"task": task, "metric": f"{metric}{_arrow(metric)}", "layer": layer,
                 "chance": chance or "–"}
        for model in models:
            own = part[part["model"] == model]
            if own.empty:
                m_row.update({model: math.nan, f"{model}_ci_low": math.nan,
                              f"{model}_ci_high": math.nan, f"{model}_n_subjects": pd.NA,
                              f"{model}_note": ""})
                d_row[model] = "–"
                continue
            r = own.iloc[0]
            m_row.update({model: r["value"], f"{model}_ci_low": r["ci_low"],
                          f"{model}_ci_high": r["ci_high"],
                          f"{model}_n_subjects": r["n_subjects"], f"{model}_note": r["note"]})
            d_row[model] = format_cell(r["value"], r["ci_low"], r["ci_high"], r["n_subjects"],
                                       r["note"])
        if stage == "downstream":
            informative, reason = task_informative(rows, task, metric, layer)
            m_row["informative"], m_row["uninformative_reason"] = informative, reason
            d_row["informative"] = "yes" if informative else f"no: {reason}" if reason else "–"
        machine.append(m_row)
        display.append(d_row)
    extra = ["informative"] if stage == "downstream" else []
    return pd.DataFrame(machine), pd.DataFrame(display, columns=["task", "metric", "layer",
                                                                   "chance", *models, *extra])


def task_informative(rows: pd.DataFrame, task: str, metric: str, layer: str,
                     ) -> tuple[bool | None, str]:
    """Whether a real task is informative: some row (model or reference method) beats
    the mean predictor beyond its interval (MAE tasks: its interval's upper end below the
    mean predictor's error), or chance (balanced-accuracy tasks: its interval's lower end
    above the chance level, e.g. 0.5 for a window class, the majority class's 0.25 for AAMI
    beat classes). ``(None, "")`` for other rows, when there is no such level, or when no
    row has a number (a task too small to estimate says so in its rows' notes)."""
    if not task.startswith("real:") or layer == "within-subject" or metric not in (
            "mae", "balanced_accuracy"):
        return None, ""
    part = rows[(rows["task"] == task) & (rows["metric"] == metric)]
    others = part[(part["model"] != MEAN_PREDICTOR) & part["layer"].isin(["last", "best"])]
    if metric == "balanced_accuracy":
        chance = others["chance"].dropna()
        if chance.empty or others["value"].isna().all():
            return None, ""  # no level, or no row has a number (its note says why)
        level = float(chance.iloc[0])
        if (others["ci_low"] > level).any():
            return True, ""
        return False, f"no row beats chance ({level:.2f}) beyond its interval"
    trivial = part[(part["model"] == MEAN_PREDICTOR) & (part["layer"] == "last")]
    if trivial.empty or not np.isfinite(trivial["value"].iloc[0]):
        return None, ""
    level = float(trivial["value"].iloc[0])
    if (others["ci_high"] < level).any():
        return True, ""
    return False, (f"no row beats the mean predictor ({level:.2f}) beyond its interval")


# ---------------------------------------------------------------------------- writers

NOTES = (
    "Last layer; 95% confidence interval in brackets (cross-validated metrics: corrected "
    "resampled t interval over the outer folds, which includes fold-to-fold variation; "
    "real-data tasks: mean and interval over the repeats of the split (downstream.cv_repeats); "
    "metrics without fitting: bootstrap over subjects); ↑ higher is better, ↓ lower is "
    "better; chance: what a representation that encodes nothing scores.",
    f"{DAGGER} interval from fewer than {FEW_CLUSTERS} subjects or records: read it with "
    "caution. n.e. = not estimable (too few subject or record groups; the reason is in the "
    "note column of leaderboard.csv). ⚠ = worse than a constant: an MAE above the "
    "training-fold mean predictor's on the same folds (the chance column); the value and "
    "interval are shown. "
    "– = no result. n/a: model is ECG-only (PPG-only, ...) = a domain model that accepts "
    "only that signal kind, on a task that feeds it other kinds or several channels: no "
    "number, by design (physio_bench.applicability).",
    "Type: **pretrained** = published weights; untrained control = the same architecture "
    "with random weights (mean over seeds, their range in parentheses, interval = envelope "
    "of the seeds' intervals); trained on synthetic / fine-tuned = trained by the finetune "
    "stage; marginal ablation = trained like it on shuffled patches (no dynamics to learn: "
    "what training changes besides physiology); baseline = no learned weights (raw "
    "samples, spectrum, hand-crafted features); "
    "reference method = classical signal processing.",
)


def markdown_table(display: pd.DataFrame, bold_rows: list[bool] | None = None) -> list[str]:
    """Lines of a GitHub-flavoured Markdown table."""
    header = "| " + " | ".join(map(str, display.columns)) + " |"
    rule = "|" + "|".join("---" if i < 2 else "--:" for i in range(display.shape[1])) + "|"
    lines = [header, rule]
    for i, (_, row) in enumerate(display.iterrows()):
        cells = [str(v).replace("|", "\\|") for v in row]
        if bold_rows is not None and bold_rows[i]:
            cells[0] = f"**{cells[0]}**"
        if _uninformative(row):  # greyed: no row beats the mean predictor
            cells = [f'<span style="color:gray">{c}</span>' for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(display: pd.DataFrame, stages: dict[str, pd.DataFrame] | None = None) -> str:
    """The headline table with its notes, then the per-stage tables."""
    lines = ["# physio_bench leaderboard", ""]
    lines += markdown_table(display, [t == PRETRAINED for t in display["Type"]])
    lines += [""] + [f"{note}  " for note in NOTES]
    for stage, table in (stages or {}).items():
        if not table.empty:
            lines += ["", f"## {STAGE_TITLES.get(stage, stage)}", "", *markdown_table(table)]
    return "\n".join(lines) + "\n"


HTML_STYLE = (
    "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
    "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}"
    "th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}tr.pretrained td{font-weight:bold}"
    "p{color:#444}tr.uninformative td{color:#999}"
)


def _uninformative(row: pd.Series) -> bool:
    """A display row of a task that no row beats beyond the mean predictor's error."""
    return str(row.get("informative", "")).startswith("no:")


def html_page(display: pd.DataFrame, title: str, notes: tuple[str, ...] = NOTES,
              row_class: str = "Type") -> str:
    """A small self-contained HTML page holding the table (for the Snakemake report)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in display.columns)
    body = []
    for _, row in display.iterrows():
        css = str(row.get(row_class, "")).split(" (")[0].replace(" ", "-")
        css += " uninformative" if _uninformative(row) else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        body.append(f'<tr class="{html.escape(css)}">{cells}</tr>')
    paragraphs = "".join(
        f"<p>{html.escape(n).replace('**pretrained**', '<b>pretrained</b>')}</p>" for n in notes
    )
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{HTML_STYLE}</style></head><body><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>{paragraphs}</body></html>\n")


BEAT_SCORES = ("Se_N", "+P_N", "Se_S", "+P_S", "Se_V", "+P_V", "Se_F", "+P_F",
               "balanced_accuracy", "jkappa")


def _beat_cell(scores: dict[str, float], intervals: dict[str, list[float]], key: str) -> str:
    value = scores.get(key, math.nan)
    if value is None or not np.isfinite(value):
        return "–"
    scale, digits = (100.0, 1) if key[:2] in ("Se", "+P") else (1.0, 3)
    low, high = intervals.get(key, (math.nan, math.nan))
    text = f"{value * scale:.{digits}f}"
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        text += f" [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
    return text


def beat_class_lines(results: str | Path, models: list[str]) -> list[str]:
    """Markdown: per real beat task, per model instance (each seed of a replicated model)
    and baseline, per-class Se/+P (%), balanced accuracy and jκ with record-bootstrap
    intervals, the published anchors beside them and the beat counts
    (:mod:`physio_bench.downstream.beats`). Empty when no JSON has a beat task."""
    folder = Path(results) / "downstream"
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for model in dict.fromkeys([*models, REFERENCE_METHOD]):  # each file once
        path = folder / f"{model}.json"
        if not path.exists():
            continue
        detail = read_json(path)
        for task, entry in detail.get("tasks", {}).items():
            if task.startswith("real:") and entry.get("target") == "beat_class":
                found.setdefault(task, []).append((model, entry))
        for task, variants in detail.get("beat_baselines", {}).items():
            for variant, entry in variants.items():
                found.setdefault(task, []).append((f"baseline: {variant}", entry))
    lines: list[str] = []
    for task, entries in sorted(found.items()):
        lines += ["", f"## Beat classes: {task}", "",
                  "| row | " + " | ".join(BEAT_SCORES) + " |",
                  "|---|" + "--:|" * len(BEAT_SCORES)]
        anchors: dict[str, dict[str, float]] = {}
        counts: dict[str, Any] = {}
        for name, entry in entries:
            anchors = entry.get("anchors", anchors)
            counts = entry.get("beat_accounting", counts)
            if entry.get("note"):
                cells = [f"n.e.: {entry['note']}"] + [""] * (len(BEAT_SCORES) - 1)
            else:
                cells = [_beat_cell(entry.get("scores", {}), entry.get("score_intervals", {}),
                                    k) for k in BEAT_SCORES]
            lines.append(f"| {name} | " + " | ".join(c.replace("|", "\\|") for c in cells)
                         + " |")
        for source, values in anchors.items():
            cells = [(f"{values[k]:.3f}" if k == "jkappa" else f"{values[k]:.0f}")
                     if k in values else "" for k in BEAT_SCORES]
            lines.append(f"| published: {source} | " + " | ".join(cells) + " |")
        lines += ["", "Se/+P in %, 95% percentile bootstrap over test records in brackets. "
                  f"Beats counted: {json.dumps(counts, sort_keys=True)}"]
    return lines


def stage_paths(results: str | Path) -> dict[str, dict[str, Path]]:
    """``results/tables/{stage}.{csv,md,html}`` of every stage."""
    folder = Path(results) / "tables"
    return {stage: {ext: folder / f"{stage}.{ext}" for ext in ("csv", "md", "html")}
            for stage in STAGES}


def long_table(board: pd.DataFrame, config: dict[str, Any],
               types: dict[str, ModelType]) -> pd.DataFrame:
    """leaderboard.csv: the long rows with the model's ``type`` (its group's kind; a seed
    instance has its group's) and the producers' ``pretrained`` flag as
    ``from_checkpoint``."""
    group_of = {i: g for g, instances in result_groups(config).items() for i in instances}
    group_of.update({g: g for g in result_groups(config)})
    kinds = [types.get(group_of.get(m, m), ModelType(BASELINE_KIND, BASELINE_KIND)).kind
             for m in board["model"]]
    out = board.rename(columns={"pretrained": "from_checkpoint"})
    out.insert(1, "type", kinds)
    return out


#: the forecast verdicts shown (forecast_skill.csv ``reference``): context-free, seasonal
FORECAST_CONTROLS = ("marginal", "seasonal_naive")
#: kinds with a period to repeat (seasonal naive is a negative control on EDA and EMG)
PERIODIC_KINDS = ("ecg", "ppg", "rsp")


def _kinds_where(verdicts: dict[str, str], wanted: tuple[str, ...]) -> list[str]:
    return [kind for kind, verdict in verdicts.items() if verdict in wanted]


def forecast_sentence(vs: dict[str, dict[str, str]]) -> str:
    """The plain verdict of one model from its next-patch verdicts per baseline and kind
    (``better`` / ``tie`` / ``worse`` / other)."""
    marginal, seasonal = vs.get("marginal", {}), vs.get("seasonal_naive", {})
    if not marginal:
        return "no forecast verdict"
    unknown = [k for k, v in marginal.items() if v not in ("better", "tie", "worse")]
    if unknown:
        return ("not estimable on " + ", ".join(unknown)
                + " (too few held-out subjects: see the forecast table's notes)")
    not_better = [k for k, v in marginal.items() if v != "better"]
    if not_better:
        return ("has not learned dynamics: no better than the context-free baseline on "
                + ", ".join(not_better))
    losing = [k for k in PERIODIC_KINDS if seasonal.get(k) not in ("better", "tie")]
    if losing:
        return ("beats the context-free baseline on every kind, but loses to seasonal "
                "naive (repeat the last period) on " + ", ".join(losing))
    return ("forecasts better than the context-free baseline on every kind and at least "
            "as well as seasonal naive on " + ", ".join(PERIODIC_KINDS))


def forecast_lines(results: str | Path, models: list[str]) -> list[str]:
    """Markdown: the forecast verdicts of ``models`` (next patch) from
    ``results/forecast_skill.csv``; empty when it does not exist."""
    path = Path(results) / "forecast_skill.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    skill = table[(table["task"] == "next_patch") & (table["metric"] == "crps_skill")
                  & table["reference"].isin(list(FORECAST_CONTROLS))]
    corr = table[(table["task"] == "next_patch") & (table["metric"] == "median_corr")
                 & table["reference"].isna() & (table["predictor"] == table["model"])]
    order = [m for m in dict.fromkeys([*models, *skill["model"]]) if m in set(skill["model"])]
    lines = ["", "## Forecast skill (next patch, held-out windows)", "",
             "| model | better than the context-free marginal | better than / tie with "
             "seasonal naive | median corr ECG, PPG, RSP | verdict |", "|---|---|---|---|---|"]
    for model in order:
        own = skill[skill["model"] == model]
        vs = {ref: dict(zip(rows["kind"], rows["verdict"].fillna("not estimable"),
                            strict=True)) for ref, rows in own.groupby("reference")}
        n_kinds = len(vs.get("marginal", {}))
        better = _kinds_where(vs.get("marginal", {}), ("better",))
        seasonal = vs.get("seasonal_naive", {})
        wins = _kinds_where(seasonal, ("better",))
        ties = _kinds_where(seasonal, ("tie",))
        mine = corr[corr["model"] == model].set_index("kind")["value"]
        corrs = ", ".join(f"{mine[k]:.2f}" if k in mine.index and pd.notna(mine[k]) else "–"
                          for k in PERIODIC_KINDS)
        lines.append(f"| {model} | {len(better)}/{n_kinds} ({', '.join(better) or 'none'}) "
                     f"| {', '.join(wins) or 'none'} / {', '.join(ties) or 'none'} | {corrs} "
                     f"| {forecast_sentence(vs)} |")
    lines += ["", "Verdicts of `results/forecast_skill.csv` (better: NLL and CRPS gains with "
              "95% subject-bootstrap intervals above zero); the full table is in the report."]
    return lines


def write_leaderboard(config: dict[str, Any], results: str | Path) -> dict[str, Path]:
    """Write the long, headline and per-stage tables into ``results``; return paths."""
    results = Path(results)
    board = board_rows(config, results)
    if board.empty:
        raise InputError(
            f"no probe or downstream results under {results}: run `snakemake all` (or the "
            "probe and downstream stages) first"
        )
    types = group_types(config, results)
    wide = headline_table(board, config, types)
    display = display_headlines(wide, board)
    order = [m for m in model_order(config) if m in set(board["model"])]
    groups = result_groups(config)
    shown = [m for m in order if m in groups]  # seed means, not seeds
    stages = {}
    paths = {
        "long": results / "leaderboard.csv",
        "wide": results / "leaderboard_wide.csv",
        "markdown": results / "leaderboard.md",
        "html": results / "leaderboard.html",
    }
    for stage, files in stage_paths(results).items():
        machine, table = stage_table(board, stage, shown)
        stages[stage] = table
        title = f"physio_bench: {STAGE_TITLES[stage]}"
        atomic_write_bytes(files["csv"], machine.to_csv(index=False).encode())
        atomic_write_bytes(files["md"], "\n".join(
            [f"# {STAGE_TITLES[stage]}", "", *markdown_table(table), "", *NOTES[:2]]).encode())
        atomic_write_bytes(files["html"], html_page(table, title, NOTES[:2], "task").encode())
        paths[f"table_{stage}"] = files["html"]
    atomic_write_bytes(paths["long"], long_table(board, config, types).to_csv(
        index=False).encode())
    atomic_write_bytes(paths["wide"], wide.to_csv(index=False).encode())
    # the beat table: a replicated model's rows, one per seed
    instances = [i for m in shown for i in groups.get(m, [m])]
    beats = beat_class_lines(results, instances) + forecast_lines(results, instances)
    atomic_write_bytes(paths["markdown"], (markdown(display, stages)
                                           + "\n".join(beats) + ("\n" if beats else "")
                                           ).encode())
    atomic_write_bytes(paths["html"], html_page(display, "physio_bench leaderboard").encode())
    LOG.info("leaderboard: %d rows, %d models, %d headline columns", len(board), len(wide),
             len(HEADLINES))
    return paths
