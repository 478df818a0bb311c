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
