"""The simulate stage: suites of physiological windows whose labels are measured on
the events placed in them (beats, breaths, SCRs, EMG bursts, apneas).

Events are placed first (:mod:`~physio_bench.simulate.rhythm`), waveforms rendered on
them (:mod:`~physio_bench.simulate.waveforms`), labels measured on them
(:mod:`~physio_bench.simulate.ground_truth`); neurokit2's detectors check the result in
the tests. Importing this package is cheap: the workflow calls :func:`count_windows`
while planning jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physio_bench.simulate.classes import SIGNATURES as CLASS_SIGNATURES
from physio_bench.simulate.factors import FACTORS, check_simulate_config, check_simulation
from physio_bench.simulate.plan import count_windows, suite_settings
from physio_bench.simulate.seeds import window_seed

__all__ = [
    "CLASS_SIGNATURES", "FACTORS", "check_simulate_config", "check_simulation", "count_windows",
    "simulate_suite", "suite_settings", "window_seed",
]


def simulate_suite(config: dict[str, Any], suite: str, out_dir: str | Path) -> None:
    """Simulate ``suite`` (factors, sweeps, scenarios or training) into ``out_dir``."""
    from physio_bench.simulate.suite import simulate_suite as _simulate_suite

    _simulate_suite(config, suite, out_dir)
