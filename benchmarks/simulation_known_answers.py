"""Known-answer table of the simulated suites: every label column against a detector.

    .venv/bin/python benchmarks/simulation_known_answers.py                  # default window
    .venv/bin/python benchmarks/simulation_known_answers.py --windows 100 --subjects 10

Simulates a sample of the ``factors`` suite (``--windows`` per kind) and of the
``scenarios`` suite (``--subjects`` subjects in every default class) under config.yaml
(plus ``--configfile`` overrides), measures every label column with the detectors of
:mod:`physio_bench.simulate.detectors` on the stored noisy signals, and prints a table
``suite x label -> n, median |detected - label|, 90th percentile`` (printed, never
asserted; the tests assert the tolerances). Motion-artefact windows are left out of the
cardiac and respiratory rows (the detectors are not meant to work through them), the
breathing rate of ECG/PPG windows is compared only where the heart beats at least twice
per breath (the detectors read it from beat-to-beat series), for ECG only in the limb
leads II and MLII (:mod:`physio_bench.simulate.known_answers`), change time and apnea
duration only in their classes, ectopic counts only in sinus-based classes, and a few
labels not in the classes named there; labels without a detector (P- and
F-wave labels, QRS axis and width) are not in the table;
count labels are also shown as the fraction of exact matches. The sweeps suite is made
of the same single-channel windows as the factors suite, and the training suite of the
same scenario windows, so their rows would repeat these.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import simulate_suite
from physio_bench.simulate.known_answers import factor_comparisons, scenario_comparisons


def factors_errors(suite) -> pd.DataFrame:
    return pd.DataFrame([
        {"suite": "factors", "kind": kind, "label": label, "truth": truth, "detected": found}
        for kind, label, truth, found in factor_comparisons(suite, suite.sampling_rate_hz)])


def scenario_errors(suite) -> pd.DataFrame:
    return pd.DataFrame([
        {"suite": "scenarios", "kind": "multi", "label": label, "truth": truth,
         "detected": found, "scenario": name}
        for name, label, truth, found in scenario_comparisons(suite, suite.sampling_rate_hz)])


def summarise(errors: pd.DataFrame) -> pd.DataFrame:
    errors = errors.copy()
    errors["error"] = (errors["detected"] - errors["truth"]).abs()
    out = []
    for (suite, kind, label), group in errors.groupby(["suite", "kind", "label"], sort=False):
        both = group[np.isfinite(group["truth"]) & np.isfinite(group["detected"])]
        missing = len(group) - len(both)
        out.append({
            "suite": suite, "kind": kind, "label": label, "n": len(both),
            "undetected": missing,
            "median_abs_error": both["error"].median(),
            "p90_abs_error": both["error"].quantile(0.9),
            "exact": (both["error"] < 0.5).mean() if label.endswith("_count") else np.nan,
            "label_range": f"{both['truth'].min():.3g}..{both['truth'].max():.3g}",
        })
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100, help="factors windows per kind")
    parser.add_argument("--subjects", type=int, default=10, help="scenario subjects per class")
    parser.add_argument("--configfile", action="append", default=[])
    parser.add_argument("--csv", help="also write the table here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        override = Path(tmp) / "override.yaml"
        override.write_text(yaml.safe_dump({"simulate": {
            "factors": {"windows_per_kind": args.windows},
            "scenarios": {"subjects_per_scenario": args.subjects}}}))
        config = load_config([*args.configfile, override])
        start = time.perf_counter()
        simulate_suite(config, "factors", Path(tmp) / "factors")
        simulate_suite(config, "scenarios", Path(tmp) / "scenarios")
        print(f"simulated in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        errors = pd.concat([factors_errors(read_suite(Path(tmp) / "factors")),
                            scenario_errors(read_suite(Path(tmp) / "scenarios"))])
    table = summarise(errors)
    print(f"window: {config['window_samples']} samples at {config['sampling_rate_hz']} Hz")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
