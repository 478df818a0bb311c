"""Paired comparisons of each model with its untrained twin and with the best baseline.

For every enabled model that is not itself a baseline, and every headline metric
(:data:`physio_bench.headlines.HEADLINES`, the family of decision 11), the difference
``model - reference`` of the pooled out-of-fold values, with a 95% interval and a
p-value from the test named in the ``test`` column, Holm-adjusted over the headline
family of each (model, comparison) (the family is the rows with a p-value: a NaN p
shrinks it):

- ``corrected resampled paired t`` for cross-validated predictions (the outer folds,
  saved in the prediction tables, are shared by the models): the corrected resampled
  paired t-test of the per-fold differences
  (:func:`physio_bench.statistics.paired_cv_difference`; interval and p of the mean
  per-fold difference, ``n_splits`` folds), which includes training variability;
- ``permutation, conditional on the fitted decoder`` for decoders fitted elsewhere
  (sim2real, DS1 -> DS2 beats): paired subject bootstrap and within-subject permutation
  (:func:`physio_bench.statistics.paired_difference`); it holds the decoder fixed.

References:

- ``untrained twin``: the untrained control of the same architecture and size
  (:func:`physio_bench.model_types.untrained_twin`), for pretrained, fine-tuned and
  trained-on-synthetic models; a replicated control enters as the mean over its seeds,
  and every seed's predictions are used;
- ``best baseline``: of the baselines (and reference methods) with predictions for the
  headline, the one whose recomputed value is best (direction from the metric registry);
- ``marginal ablation``: for a model trained on synthetic data or fine-tuned, the model of
  the same architecture trained to the same loss on shuffled patches
  (:func:`physio_bench.model_types.ablation_twin`; issue 20): what training changes
  without any dynamics to learn.

**Per factor** (issue 20: the positive control factor by factor): for a trained model
(and its marginal ablation), one row per feature-independence factor (``r2`` of
``{kind}:{factor}``) and per temporal-dynamics tracking task (``tracking_r2``,
``tracking_within_r2``), at the
last layer, against the untrained twin (comparison ``untrained twin, per factor``) and
against the marginal ablation (``marginal ablation, per factor``); each is its own Holm
family. A factor's gain counts as learned physiology only where the trained model beats
both the untrained twin and the ablation.

Predictions are read from ``results/probes/{model}/{probe}.predictions.parquet`` and
``results/downstream/{model}.predictions.parquet``; items are paired on (repeat, item,
subject, target) and must agree on ``y_true``. The real-data tasks repeat their split
(``downstream.cv_repeats``): two cross-validated models pair repeat by repeat (``J = R K``
splits, ``K`` folds each), and a method fitted elsewhere (one prediction set, no folds)
is paired with every repeat, so a model's value is always the mean over its repeats. A
comparison that cannot be computed is still a row, with empty numbers and the reason in
``note`` (no predictions, unpaired items, fewer than ``statistics.min_groups``
subjects). Differences are signed as
``model - reference``: for metrics where lower is better (MAE, entanglement) a negative
difference favours the model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.compare.metrics import (
    RELIABLE_R2,
    Block,
    block_statistic,
    blocks,
    class_codes,
    decoded_factors,
)
from physio_bench.headlines import HEADLINES, Headline
from physio_bench.io import atomic_write_bytes, read_predictions
from physio_bench.metrics import direction_of
from physio_bench.model_types import (
    ABLATION,
    BASELINE_KINDS,
    FINETUNED,
    MEAN,
    SYNTHETIC,
    ModelType,
    ablation_twin,
    group_types,
    result_groups,
    untrained_twin,
)
from physio_bench.statistics import (
    TEST_CORRECTED_T,
    TEST_PERMUTATION,
    estimability_note,
    group_sums,
    holm,
    min_groups_of,
    paired_cv_difference,
    paired_difference,
    stream_seed,
)

LOG = logging.getLogger("physio_bench.compare")

COLUMNS = ["model", "type", "reference", "reference_type", "stage", "task", "metric", "layer",
           "difference", "ci_low", "ci_high", "p", "p_holm", "test", "n_splits", "n_subjects",
           "comparison", "model_value", "reference_value", "note"]
TWIN, BASELINE = "untrained twin", "best baseline"
ABLATION_REF = "marginal ablation"
PER_FACTOR = ", per factor"
#: per-factor comparisons: the stage and metrics of each factor's held-out score
FACTOR_STAGES = {"feature_independence": ("r2",),
                 "temporal_dynamics": ("tracking_r2", "tracking_within_r2")}


def prediction_path(results: str | Path, instance: str, stage: str) -> Path:
    """Where the prediction table of one instance and stage lives."""
    if stage == "downstream":
        return Path(results) / "downstream" / f"{instance}.predictions.parquet"
    return Path(results) / "probes" / instance / f"{stage}.predictions.parquet"


class Tables:
    """Prediction tables read once per (instance, stage)."""

    def __init__(self, results: str | Path) -> None:
        self.results = Path(results)
        self._cache: dict[tuple[str, str], pd.DataFrame | None] = {}
        self._blocks: dict[tuple[str, Headline], list[Block]] = {}
        self.best: dict[Headline, str | None] = {}

    def get(self, instance: str, stage: str) -> pd.DataFrame | None:
        key = (instance, stage)
        if key not in self._cache:
            path = prediction_path(self.results, instance, stage)
            self._cache[key] = read_predictions(path) if path.exists() else None
        return self._cache[key]

    def blocks(self, instance: str, h: Headline) -> list[Block] | None:
        """The blocks of headline ``h`` for ``instance`` (None: no prediction table)."""
        table = self.get(instance, h.stage)
        if table is None:
            return None
        if (instance, h) not in self._blocks:
            self._blocks[(instance, h)] = blocks(table, h.metric, h.task, h.layer)
        return self._blocks[(instance, h)]


@dataclass
class Prepared:
    """Per-subject sums of each instance (same subjects, same columns) and the value."""

    sums: dict[str, np.ndarray]
    value: Any  # (... x m) -> (...)
    n_subjects: int
    #: per instance, sums of each (repeat, outer fold) test split (splits x m); None when
    #: the predictions are not cross-validated on folds shared by every model
    split_sums: dict[str, np.ndarray] | None = None
    n_folds: int = 0
    split_note: str = ""

    def point(self, instances: list[str]) -> float:
        return float(np.mean([self.value(self.sums[i].sum(axis=0)) for i in instances]))


def _broadcast_fixed(found: dict[str, Block]) -> dict[str, Block]:
    """A block with one prediction set and no outer folds (a method fitted elsewhere, such
    as a reference method), paired with models cross-validated on repeated splits: its
    predictions stand for every repeat, so that the models' value is the mean over all
    their repeats, as in the leaderboard, and not repeat 0 alone."""
    repeats = np.unique(np.concatenate([b.keys >> 32 for b in found.values()]))
    if repeats.size < 2:
        return found
    out = {}
    for instance, block in found.items():
        fixed = not (block.keys >> 32).any() and (
            block.folds is None or (block.folds < 0).all())
        if not fixed:
            out[instance] = block
            continue
        n = len(block.keys)
        keys = (np.repeat(repeats, n) << 32) + np.tile(block.keys, repeats.size)
        out[instance] = Block(block.name, keys, np.tile(block.subjects, repeats.size),
                              block.targets, np.tile(block.y_true, (repeats.size, 1)),
                              np.tile(block.y_pred, (repeats.size, 1)),
                              np.full(keys.size, -1, dtype=np.int64))
    return out


def _align(found: dict[str, Block]) -> tuple[np.ndarray, dict[str, np.ndarray],
                                             np.ndarray, np.ndarray | None] | str:
    """Subjects of the items common to every instance's block (paired by repeat and item;
    subjects and y_true must agree), their y_true and each instance's predictions; or why
    they do not pair. The last element: each common item's split id ``repeat * 2**16 +
    fold`` when every model was cross-validated on the same folds, else None."""
    found = _broadcast_fixed(found)
    blocks_ = list(found.values())
    name = blocks_[0].name
    if any(b.targets != blocks_[0].targets for b in blocks_):
        return f"targets of task {name} differ between models"
    common = blocks_[0].keys
    for block in blocks_[1:]:
        common = np.intersect1d(common, block.keys, assume_unique=True)
    if len(common) == 0:
        return f"no item of task {name} is shared by the models"
    preds, truth, subjects, splits = {}, None, None, None
    shared_folds = True
    for instance, block in found.items():
        rows = np.searchsorted(block.keys, common)
        y_true = block.y_true[rows]
        folds = (block.folds[rows] if block.folds is not None
                 else np.full(len(rows), -1, dtype=np.int64))
        if splits is None:
            splits = folds
        elif not np.array_equal(splits, folds):
            shared_folds = False
        if truth is None:
            truth, subjects = y_true, block.subjects[rows]
        elif not np.allclose(truth, y_true, equal_nan=True) \
                or not np.array_equal(subjects, block.subjects[rows]):
            return f"y_true or subjects of task {name} differ between models: not paired"
        preds[instance] = block.y_pred[rows]
    if not shared_folds or splits is None or (splits < 0).any():
        return subjects, preds, truth, None
    return subjects, preds, truth, (common >> 32) * (1 << 16) + splits


def prepare(tables: Tables, instances: list[str], h: Headline) -> Prepared | str:
    """Per-subject statistic sums of ``instances`` on headline ``h``, paired item by item
    (or the reason why not)."""
    per_instance: dict[str, dict[str, Block]] = {}
    for instance in instances:
        found = tables.blocks(instance, h)
        if found is None:
            return (f"no predictions: {prediction_path(tables.results, instance, h.stage)} "
                    "does not exist")
        if not found:
            return f"no predictions of {h.metric} on {h.task} ({h.layer}) for {instance}"
        per_instance[instance] = {b.name: b for b in found}
    names = [set(b) for b in per_instance.values()]
    if any(n != names[0] for n in names):
        return f"models have predictions for different tasks of {h.task}"
    parts = []
    for block_name in sorted(names[0]):
        aligned = _align({i: per_instance[i][block_name] for i in instances})
        if isinstance(aligned, str):
            return aligned
        parts.append((block_name, *aligned))
    subjects = np.unique(np.concatenate([own for _, own, _, _, _ in parts]))
    cross_validated = all(p[4] is not None for p in parts)
    split_ids = (np.unique(np.concatenate([p[4] for p in parts])) if cross_validated
                 else np.zeros(0, dtype=np.int64))
    n_folds = int(np.unique(split_ids % (1 << 16)).size)
    split_sums: dict[str, list[np.ndarray]] = {i: [] for i in instances}
    sums: dict[str, list[np.ndarray]] = {i: [] for i in instances}
    slices, stats = [], []
    start = 0
    for block_name, own_subjects, preds, truth, own_splits in parts:
        classes = decoded = None
        if h.metric in ("balanced_accuracy", "macro_f1"):
            classes = class_codes([truth, *preds.values()])
        if h.metric == "entanglement":
            decoded = np.logical_and.reduce([decoded_factors(truth, p) for p in preds.values()])
            if not decoded.any():
                return (f"not estimable: no factor of {block_name} is decoded with R² >= "
                        f"{RELIABLE_R2} by every model compared")
        stat, out = block_statistic(h.metric, truth.shape[1], classes, decoded)
        subject_index = np.searchsorted(subjects, own_subjects)
        width = 0
        for instance in instances:
            y, p = truth, preds[instance]
            if classes is not None:
                y, p = np.searchsorted(classes, y), np.searchsorted(classes, p)
            item_stats = stat.item_stats(y, p)
            part = group_sums(item_stats, subject_index, len(subjects))
            sums[instance].append(part)
            if cross_validated:
                split_sums[instance].append(group_sums(
                    item_stats, np.searchsorted(split_ids, own_splits), len(split_ids)))
            width = part.shape[1]
        slices.append(slice(start, start + width))
        stats.append((stat, out))
        start += width

    def value(s: np.ndarray) -> np.ndarray:
        return np.mean([stat.from_sums(s[..., sl])[..., out]
                        for sl, (stat, out) in zip(slices, stats, strict=True)], axis=0)

    if cross_validated and n_folds >= 2:
        return Prepared({i: np.hstack(v) for i, v in sums.items()}, value, len(subjects),
                        {i: np.hstack(v) for i, v in split_sums.items()}, n_folds)
    why = ("predictions of a decoder fitted elsewhere (no outer folds)" if not cross_validated
           else "fewer than 2 outer folds")
    return Prepared({i: np.hstack(v) for i, v in sums.items()}, value, len(subjects),
                    split_note=why)


def _planned_test(h: Headline) -> str:
    """The test a headline's comparison uses (named even on rows without a number)."""
    fitted_elsewhere = h.task.startswith("sim2real") or h.key == "beat_accuracy"
    return TEST_PERMUTATION if fitted_elsewhere else TEST_CORRECTED_T


def _row(model: str, reference: str, h: Headline, comparison: str, **values: Any
         ) -> dict[str, Any]:
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update({"model": model, "reference": reference, "stage": h.stage, "task": h.task,
                "metric": h.metric, "layer": h.layer, "comparison": comparison, "note": "",
                "n_subjects": pd.NA, "n_splits": pd.NA, "test": _planned_test(h)})
    row.update(values)
    return row


def compare_pair(tables: Tables, groups: dict[str, list[str]], model: str, reference: str,
                 h: Headline, comparison: str, config: dict[str, Any]) -> dict[str, Any]:
    """One row: ``model - reference`` on headline ``h``."""
    a, b = groups[model], groups[reference]
    prepared = prepare(tables, a + b, h)
    if isinstance(prepared, str):
        return _row(model, reference, h, comparison, note=prepared)
    note = estimability_note(prepared.n_subjects, min_groups_of(config))
    if note:
        return _row(model, reference, h, comparison, n_subjects=prepared.n_subjects, note=note)
    if prepared.split_sums is not None:
        result = paired_cv_difference(
            [prepared.split_sums[i] for i in a], [prepared.split_sums[i] for i in b],
            prepared.value, prepared.n_folds, prepared.point(a), prepared.point(b),
            prepared.n_subjects)
    else:
        resamples = int(config.get("statistics", {}).get("comparison_resamples", 2000))
        result = paired_difference([prepared.sums[i] for i in a],
                                   [prepared.sums[i] for i in b], prepared.value, resamples,
                                   resamples,
                                   stream_seed(int(config["seed"]), model, reference, h.key))
    if not np.isfinite(result.difference):
        return _row(model, reference, h, comparison, n_subjects=prepared.n_subjects,
                    test=result.test, note="the metric is undefined on these predictions")
    return _row(model, reference, h, comparison, difference=result.difference,
                ci_low=result.ci_low, ci_high=result.ci_high, p=result.p,
                n_subjects=result.n_subjects, model_value=result.value_a,
                reference_value=result.value_b, test=result.test,
                n_splits=result.n_splits or pd.NA, note=result.note)


def best_baseline(tables: Tables, groups: dict[str, list[str]], baselines: list[str],
                  h: Headline) -> str | None:
    """The baseline with the best recomputed value on ``h`` (None if none has one)."""
    if h in tables.best:
        return tables.best[h]
    higher = direction_of(h.metric) == "higher"
    best, best_value = None, -math.inf
    for name in baselines:
        prepared = prepare(tables, groups[name], h)
        if isinstance(prepared, str):
            continue
        value = prepared.point(groups[name])
        if np.isfinite(value) and (value if higher else -value) > best_value:
            best, best_value = name, (value if higher else -value)
    tables.best[h] = best
    return best


def factor_headlines(tables: Tables, instance: str, layer: str = "last") -> list[Headline]:
    """One headline per factor task (``{kind}:{factor}``, tracking tasks) that
    ``instance`` has predictions for, at ``layer``."""
    found = []
    for stage, metrics in FACTOR_STAGES.items():
        table = tables.get(instance, stage)
        if table is None:
            continue
        for metric in metrics:
            rows = table[(table["metric"] == metric) & (table["layer"].astype(str) == layer)]
            found += [Headline(f"{metric}:{task}", task, "", stage, metric, task, layer)
                      for task in sorted(rows["task"].astype(str).unique()) if ":" in task]
    return found


def _holm_family(rows: list[dict[str, Any]]) -> None:
    """Holm-adjust ``p`` over ``rows`` (one family) into ``p_holm``."""
    adjusted = holm(np.array([r["p"] for r in rows], dtype=float))
    for r, p in zip(rows, adjusted, strict=True):
        r["p_holm"] = p


def per_factor_rows(tables: Tables, groups: dict[str, list[str]], model: str,
                    references: dict[str, str | None], config: dict[str, Any]
                    ) -> list[dict[str, Any]]:
    """Rows of ``model`` minus each reference (comparison -> reference) on every factor
    headline of its first instance; one Holm family per comparison."""
    factors = factor_headlines(tables, groups[model][0])
    rows = []
    for comparison, reference in references.items():
        if reference is None or not factors:
            continue
        family = [compare_pair(tables, groups, model, reference, h, comparison + PER_FACTOR,
                               config) for h in factors]
        _holm_family(family)
        rows += family
    return rows


def compare_models(config: dict[str, Any], results: str | Path) -> pd.DataFrame:
    """Every comparison row (columns :data:`COLUMNS`), Holm-adjusted per family."""
    tables = Tables(results)
    groups = result_groups(config)
    types: dict[str, ModelType] = group_types(config, results)
    baselines = [g for g in groups if types[g].kind in BASELINE_KINDS]
    rows = []
    for model in groups:
        if types[model].kind in (*BASELINE_KINDS, MEAN):
            continue  # the mean predictor is the leaderboard's constant to beat, not a model
        twin = None if types[model].kind == "untrained control" else untrained_twin(
            config, results, model, types)
        trained = types[model].kind in (SYNTHETIC, FINETUNED)
        ablation = ablation_twin(config, results, model, types) if trained else None
        family = []
        if twin is not None:
            family += [compare_pair(tables, groups, model, twin, h, TWIN, config)
                       for h in HEADLINES]
        if ablation is not None:
            family += [compare_pair(tables, groups, model, ablation, h, ABLATION_REF, config)
                       for h in HEADLINES]
        for h in HEADLINES:
            best = best_baseline(tables, groups, baselines, h)
            if best is None:
                family.append(_row(model, "", h, BASELINE,
                                   note="no baseline has predictions for this headline"))
            else:
                family.append(compare_pair(tables, groups, model, best, h, BASELINE, config))
        for comparison in (TWIN, BASELINE, ABLATION_REF):
            _holm_family([r for r in family if r["comparison"] == comparison])
        rows += family
        if trained or types[model].kind == ABLATION:
            rows += per_factor_rows(tables, groups, model,
                                    {TWIN: twin, ABLATION_REF: ablation}, config)
    for r in rows:  # one meaning per column: the model_types kind (issue 24)
        r["type"] = types[r["model"]].kind
        r["reference_type"] = types[r["reference"]].kind if r["reference"] in types else ""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["n_subjects"] = frame["n_subjects"].astype("Int64")
    frame["n_splits"] = frame["n_splits"].astype("Int64")
    return frame


def write_comparisons(config: dict[str, Any], results: str | Path,
                      out: str | Path | None = None) -> Path:
    """Write ``comparisons.csv`` (default ``results/comparisons.csv``); return its path."""
    path = Path(out) if out is not None else Path(results) / "comparisons.csv"
    frame = compare_models(config, results)
    for row in frame.itertuples():
        if row.note:
            LOG.warning("compare %s vs %s on %s %s: %s", row.model, row.reference or "-",
                        row.metric, row.task, row.note)
    text = frame.to_csv(index=False, float_format="%.7g")
    atomic_write_bytes(path, text.encode())
    return path
