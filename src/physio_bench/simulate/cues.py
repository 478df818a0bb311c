"""Cue-leak audit: can one trivial number per window tell a scenario class from sinus rhythm?

A class should be recognisable by its physiology (rates, rhythm, waveform shapes,
their coupling across channels), not by a number that needs no physiology. For every
class and every **trivial cue** of a window, a shallow classifier (a depth-2 decision
tree on that one cue: at most three thresholds) is trained to tell the class's windows
from the ``normal_sinus`` windows of the same suite, with subject-grouped 5-fold
cross-validation (:func:`subject_folds`: a subject's windows are never split across
training and test, so the tree must generalise to new people), and its **balanced accuracy** on the
held-out windows is the cue's leak (0.5: no leak; 1: the cue alone separates the class).

Trivial cues (:data:`CUES`), per channel ``c`` of the suite:

- ``{c}_mean``: the window's mean (channel unit);
- ``{c}_sd``: its standard deviation (the square root of the variance);
- ``{c}_amplitude``: its robust peak-to-peak amplitude, 99th minus 1st percentile;

and per window ``window_length_samples`` (samples of the window) and
``channels_present_count`` (channels with at least one finite sample). The last two are
constant in a simulated suite, so their leak is 0.5 by construction; they are audited
so that a change that makes them vary is caught.

The bound (:data:`LEAK_BOUND`, 0.75) holds for every class and cue except the
documented pairs in :data:`DEFINING_CUES`, where the cue is a direct reading of the
physiology the class is defined by (the phasic skin conductance of arousal, the muscle
activity that moves the body, the paradoxical efforts of an obstructed airway); those
have their own, higher bound, still below perfect separation. With 40 subjects per
class the largest leak among the about 350 (class, cue) pairs of a suite without any
leak is about 0.66 (the balanced accuracy of 80 windows has an SD near 0.055), so the
bound leaves room for chance. The cue table of the default suite is in
docs/simulation.md (``benchmarks/simulation_cue_audit.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: The largest balanced accuracy a trivial cue may reach against normal sinus rhythm.
LEAK_BOUND = 0.75
#: (class, cue) -> (bound, reason): cues that read the class's defining physiology.
DEFINING_CUES: dict[tuple[str, str], tuple[float, str]] = {
    ("stress_arousal", "eda_sd"): (
        0.9, "skin conductance responses and a rising tonic level are the sympathetic "
             "arousal that defines the class"),
    ("stress_arousal", "eda_amplitude"): (
        0.9, "skin conductance responses and a rising tonic level are the sympathetic "
             "arousal that defines the class"),
    ("motion_artifact", "emg_amplitude"): (
        0.9, "every movement is muscle activity: an EMG burst with each movement"),
    ("obstructive_apnea", "rsp_amplitude"): (
        0.9, "paradoxical efforts against the closed airway pull the thoracic trace below "
             "its end-expiratory level, and a recovery breath follows the pause"),
    ("apnea", "rsp_amplitude"): (
        0.9, "two in three of its pauses are obstructive or mixed: paradoxical efforts and "
             "a recovery breath (as obstructive_apnea)"),
}
REFERENCE_CLASS = "normal_sinus"
CUE_KINDS = ("mean", "sd", "amplitude")


def cue_names(channels: list[str]) -> list[str]:
    """The audited cues of a suite with these channels, in table order."""
    return ([f"{c}_{kind}" for c in channels for kind in CUE_KINDS]
            + ["window_length_samples", "channels_present_count"])


def trivial_cues(signals: np.ndarray, channels: list[str]) -> pd.DataFrame:
    """Every trivial cue of every window (``signals``: windows x channels x samples)."""
    x = np.asarray(signals, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for c, name in enumerate(channels):
        channel = x[:, c]
        low, high = np.nanpercentile(channel, [1, 99], axis=1)
        out[f"{name}_mean"] = np.nanmean(channel, axis=1)
        out[f"{name}_sd"] = np.nanstd(channel, axis=1)
        out[f"{name}_amplitude"] = high - low
    out["window_length_samples"] = np.full(len(x), float(x.shape[-1]))
    out["channels_present_count"] = np.isfinite(x).any(axis=2).sum(axis=1).astype(float)
    return pd.DataFrame(out)[cue_names(channels)]


def subject_folds(subjects: np.ndarray, folds: int) -> np.ndarray:
    """Fold of each window: the subjects, sorted and shuffled with seed 0, dealt out in
    turn (a subject's windows share a fold; in a crossed suite every subject has a window
    in every class, so every fold holds both classes in the same proportion)."""
    names = np.unique(subjects)
    order = np.random.default_rng(0).permutation(len(names))
    fold_of = dict(zip(names[order], np.arange(len(names)) % folds, strict=True))
    return np.array([fold_of[s] for s in subjects])


def _leak(values: np.ndarray, y: np.ndarray, fold: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    x = values[:, None]
    predicted = np.zeros(len(y), dtype=int)
    for k in np.unique(fold):
        test = fold == k
        train = ~test
        if len(np.unique(y[train])) < 2:
            raise ValueError(f"fold {k} leaves one class out of training: too few subjects")
        tree = DecisionTreeClassifier(max_depth=2, min_samples_leaf=3, random_state=0)
        predicted[test] = tree.fit(x[train], y[train]).predict(x[test])
    return float(balanced_accuracy_score(y, predicted))


def cue_audit(signals: np.ndarray, labels: pd.DataFrame, channels: list[str],
              folds: int = 5) -> pd.DataFrame:
    """Leak (held-out balanced accuracy) of every cue for every class against
    ``normal_sinus``: a DataFrame, one row per class, one column per cue.

    Raises:
        ValueError: fewer subjects than ``folds`` in a class pair.
    """
    cues = trivial_cues(signals, channels)
    scenario = labels["scenario"].astype(str).to_numpy()
    subjects = labels["subject_id"].astype(str).to_numpy()
    rows = {}
    for name in sorted(set(scenario) - {REFERENCE_CLASS}):
        mask = np.isin(scenario, [name, REFERENCE_CLASS])
        if len(np.unique(subjects[mask])) < folds:
            raise ValueError(f"class {name}: fewer than {folds} subjects for {folds} folds")
        y = (scenario[mask] == name).astype(int)
        fold = subject_folds(subjects[mask], folds)
        rows[name] = {cue: _leak(cues[cue].to_numpy()[mask], y, fold) for cue in cues.columns}
    return pd.DataFrame.from_dict(rows, orient="index")[list(cues.columns)]


def bound_of(scenario: str, cue: str) -> float:
    """The leak bound of one (class, cue) pair."""
    return DEFINING_CUES.get((scenario, cue), (LEAK_BOUND, ""))[0]


def leaks(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The (class, cue) pairs of an audit table above their bound."""
    return [{"scenario": s, "cue": c, "balanced_accuracy": float(table.loc[s, c]),
             "bound": bound_of(s, c)}
            for s in table.index for c in table.columns
            if table.loc[s, c] > bound_of(s, c)]
