"""Reader of ``results/downstream/{model}.json``.

Keys read (everything else is ignored)::

    tasks: {task: {predictions: {reference: [...], last: [...]}}}
           one entry per real window; task as in the leaderboard, e.g.
           "sim2real:ecg:heart_rate_bpm" (decoder trained on simulated windows) and
           "real:ecg:heart_rate_bpm" (decoder trained on real windows, out-of-fold);
           a task with a "skipped" key has no predictions

The MAE bars are drawn from the leaderboard rows (``results/downstream/{model}.csv``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.inputs.common import MissingResult, as_array, get_key, load_json

TASKS = "tasks"
PREDICTIONS = "predictions"
REFERENCE, PREDICTED = "reference", "last"
SIM2REAL_HR_TASK = "sim2real*:ecg:heart_rate_bpm"
REAL_HR_TASK = "real*:ecg:heart_rate_bpm"


def json_path(results: str | Path, model: str) -> Path:
    return Path(results) / "downstream" / f"{model}.json"


def load(results: str | Path, model: str) -> dict[str, Any]:
    return load_json(json_path(results, model))


def task_predictions(data: dict[str, Any], pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(reference, predicted) of the first task (sorted) matching the glob ``pattern``."""
    tasks = get_key(data, [TASKS])
    names = sorted(t for t in tasks if fnmatchcase(t, pattern))
    usable = [t for t in names if isinstance(tasks[t], dict) and PREDICTIONS in tasks[t]]
    if not usable:
        reasons = "; ".join(str(tasks[t].get("skipped")) for t in names
                            if isinstance(tasks[t], dict) and "skipped" in tasks[t])
        raise MissingResult(f"{data.get('__path__')} has no predictions for a task like "
                            f"{pattern}" + (f" ({reasons})" if reasons else ""))
    task = usable[0]
    reference = as_array(get_key(data, [TASKS, task, PREDICTIONS, REFERENCE]), task)
    predicted = as_array(get_key(data, [TASKS, task, PREDICTIONS, PREDICTED]), task)
    if reference.shape != predicted.shape or reference.ndim != 1:
        raise MissingResult(f"{data.get('__path__')} task {task}: reference/predicted differ")
    return reference, predicted


def reference_method_name() -> str:
    """The model name of the classical reference methods' rows (``reference-method``)."""
    from physio_bench.model_types import REFERENCE_METHOD

    return REFERENCE_METHOD


def regression_pairs(data: dict[str, Any], pattern: str) -> dict[str, Any]:
    """Task -> (reference, predicted last layer) for the tasks matching ``pattern``, or the
    task's ``note`` (str) when it has no number."""
    tasks = get_key(data, [TASKS])
    found: dict[str, Any] = {}
    for task in sorted(t for t in tasks if fnmatchcase(t, pattern)):
        entry = tasks[task]
        if not isinstance(entry, dict):
            continue
        if PREDICTIONS not in entry:
            found[task] = str(entry.get("note") or entry.get("skipped") or "no predictions")
            continue
        reference = as_array(get_key(data, [TASKS, task, PREDICTIONS, REFERENCE]), task)
        predicted = as_array(get_key(data, [TASKS, task, PREDICTIONS, PREDICTED]), task)
        found[task] = (reference, predicted)
    return found


def beat_confusion(data: dict[str, Any], pattern: str) -> dict[str, Any]:
    """``{"task", "classes", "confusion", "per_class"}`` of the first beat-class task
    matching ``pattern`` with numbers, or :class:`MissingResult` with its note."""
    tasks = get_key(data, [TASKS])
    names = sorted(t for t in tasks if fnmatchcase(t, pattern))
    notes = []
    for task in names:
        entry = tasks[task]
        if isinstance(entry, dict) and "confusion" in entry:
            return {"task": task, "classes": list(entry["classes"]),
                    "confusion": as_array(entry["confusion"], task),
                    "per_class": entry.get("per_class", {})}
        if isinstance(entry, dict):
            notes.append(str(entry.get("note", "no confusion matrix")))
    raise MissingResult("; ".join(notes) or f"{data.get('__path__')} has no task like {pattern}")
