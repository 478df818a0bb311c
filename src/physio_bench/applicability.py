"""Which leaderboard tasks fit a model that accepts only some signal kinds.

A general time-series model accepts any signal; a domain model is trained on one kind
(PaPaGei on PPG, HuBERT-ECG on ECG). Its plug-in declares the kinds in
``ModelInfo.signal_kinds`` (``model.json``: top level, or ``extra.signal_kinds``); absent
or empty means every kind. A number for a task that feeds the model other kinds (an ECG
model's embedding of a PPG window, a mean over five channels) would be meaningless, so:

- the downstream stage does not run such a task (its rows say why, no number);
- the probe stage replaces the value of such a row by an empty one with the note
  ``n/a: model is ECG-only`` and drops its out-of-fold predictions (so the compare stage
  has nothing to pair);
- the leaderboard shows ``n/a: model is ECG-only`` in the cell instead of a number.

**Which kinds a task uses** (:func:`task_kinds`): the task name's ``:``-separated parts
that are signal kinds (``ecg:heart_rate_bpm``, ``factors:ppg``,
``real:bidmc:ppg:resp_rate_bpm``, ``sim2real:mitdb:ecg:beat_class``). A task naming no
kind (``all``, ``scenarios``, ``factors:heart_rate_bpm``, ``calibration``) uses windows of
several kinds or all five channels of a scenario window, so it fits only a model that
accepts every kind. Foundation level: reads names only, imports no stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: every signal kind of the simulator and the real datasets
SIGNAL_KINDS = ("ecg", "ppg", "rsp", "eda", "emg")
#: how a kind is written in the note
DISPLAY = {"ecg": "ECG", "ppg": "PPG", "rsp": "RSP", "eda": "EDA", "emg": "EMG"}
#: the note of a row that does not apply to the model (the leaderboard shows it as is)
NOT_APPLICABLE = "n/a"


def check_kinds(kinds: Iterable[str] | None, what: str) -> tuple[str, ...] | None:
    """``kinds`` as a sorted tuple of known kinds (None or empty: every kind).

    Raises:
        ValueError: an unknown kind (the message starts with ``what``).
    """
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = [kinds]
    found = tuple(sorted({str(k) for k in kinds}))
    unknown = [k for k in found if k not in SIGNAL_KINDS]
    if unknown:
        raise ValueError(f"{what}: unknown signal kind(s) {', '.join(unknown)}; use "
                         f"{', '.join(SIGNAL_KINDS)}")
    if not found or set(found) == set(SIGNAL_KINDS):
        return None
    return found


def accepted_kinds(info: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The kinds a ``model.json`` (or ``ModelInfo.to_dict()``) says the model accepts
    (None: every kind)."""
    kinds = info.get("signal_kinds")
    if kinds is None:
        kinds = (info.get("extra") or {}).get("signal_kinds")
    return check_kinds(kinds, f"model {info.get('name', '?')!r} signal_kinds")


def task_kinds(task: str) -> tuple[str, ...] | None:
    """The signal kinds a leaderboard task uses (None: several kinds or every channel)."""
    named = tuple(sorted({part for part in str(task).split(":") if part in SIGNAL_KINDS}))
    return named or None


def applies(task: str, accepted: Iterable[str] | None) -> bool:
    """Whether a task fits a model accepting ``accepted`` kinds (None: every kind)."""
    if accepted is None:
        return True
    used = task_kinds(task)
    return used is not None and set(used) <= set(accepted)


def note(accepted: Iterable[str]) -> str:
    """``n/a: model is ECG-only`` (``ECG- and PPG-only`` for two kinds, and so on)."""
    names = [DISPLAY[k] for k in sorted(accepted)]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{NOT_APPLICABLE}: model is {joined}-only"


def is_not_applicable(text: Any) -> bool:
    """Whether a row's note marks it as not applicable to the model."""
    return str(text or "").startswith(f"{NOT_APPLICABLE}:")


def mask_rows(rows: list[dict[str, Any]], accepted: Iterable[str] | None
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows whose task does not fit the model lose their numbers and get the note.

    Returns the new rows (copies; the others unchanged) and the sorted masked task names.
    """
    if accepted is None:
        return rows, []
    accepted = tuple(accepted)
    text = note(accepted)
    out, masked = [], set()
    for row in rows:
        if applies(row["task"], accepted):
            out.append(row)
            continue
        masked.add(str(row["task"]))
        out.append({**row, "value": float("nan"), "ci_low": float("nan"),
                    "ci_high": float("nan"), "note": text})
    return out, sorted(masked)
