"""Which windows a suite holds, in which order, with which seed and factor values.

Planning is cheap and imports no simulator: the workflow calls :func:`count_windows`
while it builds its job graph. Window order is chosen so that growing the suite's main
size key appends windows and keeps the earlier ones byte-identical:

- ``factors``: kinds interleaved (window ``i`` is kind ``i % K``, draw ``i // K``), so a
  larger ``windows_per_kind`` is a prefix-preserving extension;
- ``sweeps``: kind, then factor, then step;
- ``scenarios``: subject index, then class, then window, so a larger
  ``subjects_per_scenario`` is a prefix-preserving extension.

Each window's randomness depends only on its own key (kind and draw, or class, subject
and window), never on the suite's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physio_bench.config import SIMULATED_SUITES
from physio_bench.errors import ConfigError
from physio_bench.simulate.factors import FACTORS, factor_ranges
from physio_bench.simulate.seeds import window_rng, window_seed

RAMP_CLASSES = ("heart_rate_ramp", "resp_rate_ramp")
STEP_CLASSES = ("heart_rate_step", "resp_rate_step")


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


def count_windows(config: dict[str, Any], suite: str) -> int:
    """Number of windows of ``suite`` under ``config`` (a validated config); no simulation."""
    _check_suite(suite)
    sim = config["simulate"]
    kinds = sim["signal_kinds"]
    if suite == "factors":
        return int(sim["factors"]["windows_per_kind"]) * len(kinds)
    if suite == "sweeps":
        return int(sim["sweeps"]["steps"]) * sum(len(FACTORS[k]) for k in kinds)
    scen = sim["scenarios"]
    return len(scen["classes"]) * int(scen["subjects_per_scenario"]) * int(
        scen["windows_per_subject"]
    )


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
    """Windows of the ``sweeps`` suite: one factor across its range, the others at the middle.

    All windows of one kind share one seed, so along a sweep only the swept factor changes.
    """
    steps = int(config["simulate"]["sweeps"]["steps"])
    plans: list[WindowPlan] = []
    for kind in config["simulate"]["signal_kinds"]:
        ranges = factor_ranges(config, kind)
        middle = {f.column: f.middle(*ranges[f.column]) for f in FACTORS[kind]}
        seed = window_seed(config["seed"], f"sweeps:{kind}", 0)
        for spec in FACTORS[kind]:
            low, high = ranges[spec.column]
            values = np.linspace(low, high, steps)
            if spec.integer:
                values = np.round(values)
            for value in values:
                plans.append(WindowPlan(
                    window_id=len(plans), signal_kind=kind, scenario=f"sweep:{spec.column}",
                    dynamics="steady", subject_id=f"sweeps-{kind}", seed=seed,
                    factors={**middle, spec.column: float(value)},
                ))
    return plans


def dynamics_of(scenario_class: str) -> str:
    """``ramp``, ``step`` or ``steady``: how the rates behave inside a window of this class."""
    if scenario_class in RAMP_CLASSES:
        return "ramp"
    if scenario_class in STEP_CLASSES:
        return "step"
    return "steady"


def plan_scenarios(config: dict[str, Any]) -> list[WindowPlan]:
    """Windows of the ``scenarios`` suite; factor values are drawn later, per subject."""
    scen = config["simulate"]["scenarios"]
    plans: list[WindowPlan] = []
    for subject in range(int(scen["subjects_per_scenario"])):
        for name in scen["classes"]:
            subject_seed = window_seed(config["seed"], f"scenarios:{name}:subject", subject)
            for w in range(int(scen["windows_per_subject"])):
                plans.append(WindowPlan(
                    window_id=len(plans), signal_kind="multi", scenario=name,
                    dynamics=dynamics_of(name), subject_id=f"{name}-s{subject:03d}",
                    seed=window_seed(config["seed"], f"scenarios:{name}:{subject}", w),
                    subject_seed=subject_seed,
                ))
    return plans


def plan_suite(config: dict[str, Any], suite: str) -> list[WindowPlan]:
    """The ordered window plans of ``suite``."""
    _check_suite(suite)
    plans = {"factors": plan_factors, "sweeps": plan_sweeps, "scenarios": plan_scenarios}[suite](
        config
    )
    assert len(plans) == count_windows(config, suite)
    return plans
