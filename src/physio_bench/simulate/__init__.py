"""The simulate stage: neurokit2 suites with exactly known ground truth.

Importing this package is cheap (no neurokit2): the workflow calls
:func:`count_windows` while planning jobs. :func:`simulate_suite` imports the
simulators when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physio_bench.simulate.factors import FACTORS, check_simulate_config
from physio_bench.simulate.plan import count_windows
from physio_bench.simulate.seeds import window_seed

__all__ = ["FACTORS", "check_simulate_config", "count_windows", "simulate_suite", "window_seed"]


def simulate_suite(config: dict[str, Any], suite: str, out_dir: str | Path) -> None:
    """Simulate ``suite`` (factors, sweeps or scenarios) and write it to ``out_dir``."""
    from physio_bench.simulate.suite import simulate_suite as _simulate_suite

    _simulate_suite(config, suite, out_dir)
