"""Which windows a suite holds, in which order, with which seed and requested values.

Planning is cheap and imports no simulator: the workflow calls :func:`count_windows`
while it builds its job graph. Window order is chosen so that growing a suite's main
size key appends windows and keeps the earlier ones byte-identical:

- ``factors``: kinds interleaved (window ``i`` is kind ``i % K``, draw ``i // K``), so a
  larger ``windows_per_kind`` is a prefix-preserving extension. Every window is its own
  simulated person (``subject_id`` ``factors-<kind>-<draw>``).
- ``sweeps``: subject, then kind, then factor, then step. Each of the ``subjects``
  simulated people per kind (``sweeps-<kind>-s<k>``, own seed, own morphology) runs
  every sweep: one factor across its range, the others at the middle of theirs, one
  seed for all its windows, so along a sweep only the swept factor changes. A larger
  ``subjects`` is a prefix-preserving extension.
- ``scenarios`` and ``training``: a population of subjects (``subject_id`` names the
  person: ``subject-<s>``, ``train-<s>``), each with its own seed, and every subject in
  several classes (``scenario`` names the class). With ``classes_per_subject`` null
  (the default) every subject is in every class: subject and class are fully crossed,
  and a subject-grouped fold holds out people, never classes. With ``k`` classes per
  subject, subject ``s`` is in classes ``(s k + j) mod C`` for ``j < k``, and the
  population has ``ceil(subjects_per_scenario C / k)`` people, so every class has at
  least ``subjects_per_scenario`` subjects. Order: subject, then class, then window
  (``windows_per_subject`` per subject and class), so more subjects append windows.
  The ``training`` suite uses its own seed streams and subject names: its people are
  never those of an evaluation suite.

Each window's randomness depends only on its own key (kind and draw; kind, subject;
class, subject and window), never on the suite's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physio_bench.config import SIMULATED_SUITES
from physio_bench.errors import ConfigError
from physio_bench.simulate.classes import dynamics_of
from physio_bench.simulate.factors import FACTORS, check_simulation, factor_ranges
from physio_bench.simulate.seeds import window_rng, window_seed

#: Subject-id prefix and seed-stream name of the multi-channel suites.
POPULATIONS = {"scenarios": ("subject", "scenarios"), "training": ("train", "training")}


@dataclass
class WindowPlan:
    """Everything needed to simulate one window, decided before any simulation runs."""

    window_id: int
    signal_kind: str
    scenario: str
    dynamics: str
    subject_id: str
    seed: int
    factors: dict[str, float] = field(default_factory=dict)
    subject_seed: int | None = None


def _check_suite(suite: str) -> None:
    if suite not in SIMULATED_SUITES:
        raise ConfigError(f"unknown suite '{suite}': use one of {', '.join(SIMULATED_SUITES)}")


def suite_settings(config: dict[str, Any], suite: str) -> dict[str, Any]:
    """The part of the ``simulate`` config that ``suite`` depends on (for rerun triggers:
    changing the training suite's size does not rerun the evaluation suites)."""
    _check_suite(suite)
    sim = config["simulate"]
    if suite == "factors":
        return {"signal_kinds": sim["signal_kinds"], "factors": sim["factors"]}
    if suite == "sweeps":
        return {"signal_kinds": sim["signal_kinds"], "ranges": sim["factors"].get("ranges", {}),
                "sweeps": sim["sweeps"]}
    return {suite: sim[suite]}


def population(section: dict[str, Any]) -> tuple[int, int]:
    """(number of subjects, classes per subject) of a scenarios/training config section."""
    n_classes = len(section["classes"])
    per_subject = section.get("classes_per_subject") or n_classes
    subjects = math.ceil(int(section["subjects_per_scenario"]) * n_classes / per_subject)
    return subjects, int(per_subject)


def count_windows(config: dict[str, Any], suite: str) -> int:
    """Number of windows of ``suite`` under ``config`` (a validated config); no simulation."""
    _check_suite(suite)
    sim = config["simulate"]
    kinds = sim["signal_kinds"]
    if suite == "factors":
        return int(sim["factors"]["windows_per_kind"]) * len(kinds)
    if suite == "sweeps":
        return (int(sim["sweeps"]["steps"]) * int(sim["sweeps"]["subjects"])
                * sum(len(FACTORS[k]) for k in kinds))
    subjects, per_subject = population(sim[suite])
    return subjects * per_subject * int(sim[suite]["windows_per_subject"])


def draw_factors(
    rng: np.random.Generator, ranges: dict[str, tuple[float, float]], kind: str
) -> dict[str, float]:
    """One independent uniform draw of every factor of ``kind`` (integers inclusive)."""
    values: dict[str, float] = {}
    for spec in FACTORS[kind]:
        low, high = ranges[spec.column]
        if spec.integer:
            values[spec.column] = float(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
        else:
            values[spec.column] = float(rng.uniform(low, high))
    return values


def plan_factors(config: dict[str, Any]) -> list[WindowPlan]:
    """Windows of the ``factors`` suite: every factor drawn independently and uniformly."""
    kinds = config["simulate"]["signal_kinds"]
    ranges = {kind: factor_ranges(config, kind) for kind in kinds}
    plans = []
    for i in range(count_windows(config, "factors")):
        kind, draw = kinds[i % len(kinds)], i // len(kinds)
        stream = f"factors:{kind}"
        rng = window_rng(config["seed"], stream, draw)
        plans.append(WindowPlan(
            window_id=i, signal_kind=kind, scenario="factors", dynamics="steady",
            subject_id=f"factors-{kind}-{draw:05d}", seed=window_seed(config["seed"], stream, draw),
            factors=draw_factors(rng, ranges[kind], kind),
        ))
    return plans


def plan_sweeps(config: dict[str, Any]) -> list[WindowPlan]:
    """Windows of the ``sweeps`` suite: per subject and kind, one factor across its range
    (``steps`` values), the others at the middle of theirs; one seed per subject and kind."""
    steps = int(config["simulate"]["sweeps"]["steps"])
    plans: list[WindowPlan] = []
    for subject in range(int(config["simulate"]["sweeps"]["subjects"])):
        for kind in config["simulate"]["signal_kinds"]:
            ranges = factor_ranges(config, kind)
            middle = {f.column: f.middle(*ranges[f.column]) for f in FACTORS[kind]}
            seed = window_seed(config["seed"], f"sweeps:{kind}", subject)
            for spec in FACTORS[kind]:
                low, high = ranges[spec.column]
                values = np.linspace(low, high, steps)
                if spec.integer:
                    values = np.round(values)
                for value in values:
                    plans.append(WindowPlan(
                        window_id=len(plans), signal_kind=kind, scenario=f"sweep:{spec.column}",
                        dynamics="steady", subject_id=f"sweeps-{kind}-s{subject:02d}", seed=seed,
                        factors={**middle, spec.column: float(value)},
                    ))
    return plans


def subject_classes(section: dict[str, Any], subject: int) -> list[str]:
    """The classes of subject number ``subject`` (config order)."""
    classes = list(section["classes"])
    _, per_subject = population(section)
    if per_subject >= len(classes):
        return classes
    chosen = {(subject * per_subject + j) % len(classes) for j in range(per_subject)}
    return [c for i, c in enumerate(classes) if i in chosen]


def plan_population(config: dict[str, Any], suite: str) -> list[WindowPlan]:
    """Windows of the ``scenarios`` or ``training`` suite (subject, class, window order)."""
    section = config["simulate"][suite]
    prefix, stream = POPULATIONS[suite]
    subjects, _ = population(section)
    plans: list[WindowPlan] = []
    for subject in range(subjects):
        subject_seed = window_seed(config["seed"], f"{stream}:subject", subject)
        for name in subject_classes(section, subject):
            for w in range(int(section["windows_per_subject"])):
                plans.append(WindowPlan(
                    window_id=len(plans), signal_kind="multi", scenario=name,
                    dynamics=dynamics_of(name), subject_id=f"{prefix}-{subject:04d}",
                    seed=window_seed(config["seed"], f"{stream}:{name}:{subject}", w),
                    subject_seed=subject_seed,
                ))
    return plans


def plan_suite(config: dict[str, Any], suite: str) -> list[WindowPlan]:
    """The ordered window plans of ``suite`` (after checking that the suite fits the window)."""
    _check_suite(suite)
    check_simulation(config, [suite])
    if suite in POPULATIONS:
        plans = plan_population(config, suite)
    else:
        plans = {"factors": plan_factors, "sweeps": plan_sweeps}[suite](config)
    assert len(plans) == count_windows(config, suite)
    return plans
