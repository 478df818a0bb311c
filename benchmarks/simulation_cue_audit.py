"""Cue-leak table of the scenario classes: can one trivial number tell a class apart?

    .venv/bin/python benchmarks/simulation_cue_audit.py                 # 100 subjects
    .venv/bin/python benchmarks/simulation_cue_audit.py --subjects 40 --csv cues.csv

Simulates the ``scenarios`` suite under config.yaml (plus ``--configfile`` overrides)
with ``--subjects`` subjects in every scenario class (every class of
:mod:`physio_bench.simulate.classes`, also those not in the config), runs the audit of
:mod:`physio_bench.simulate.cues` (a depth-2 tree on one trivial cue per window, class
against ``normal_sinus``, subject-grouped 5-fold cross-validation, balanced accuracy) and
prints, per class, the largest leak over channels for each cue kind (mean, SD,
amplitude), the leakiest cue and its bound, as a Markdown table (printed, never
asserted: tests/test_simulate_cues.py asserts the bounds on 40 subjects). ``--csv``
writes the full class x cue table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

from physio_bench.io import read_suite
from physio_bench.preflight import load_config
from physio_bench.simulate import simulate_suite
from physio_bench.simulate.classes import SCENARIO_CLASSES
from physio_bench.simulate.cues import CUE_KINDS, bound_of, cue_audit, leaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100, help="subjects per class")
    parser.add_argument("--configfile", action="append", default=[], help="config overrides")
    parser.add_argument("--csv", type=Path, help="write the full class x cue table here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        override = Path(tmp) / "override.yaml"
        override.write_text(yaml.safe_dump({"simulate": {"scenarios": {
            "subjects_per_scenario": args.subjects, "classes_per_subject": None,
            "classes": list(SCENARIO_CLASSES)}}}))
        config = load_config([*args.configfile, override])
        start = time.process_time()
        simulate_suite(config, "scenarios", Path(tmp) / "scenarios")
        suite = read_suite(Path(tmp) / "scenarios")
        channels = list(suite.meta["channel_names"])
        table = cue_audit(suite.signals, suite.labels, channels)
    if args.csv:
        table.round(3).to_csv(args.csv)
    print(f"{args.subjects} subjects per class, {len(table)} classes against normal_sinus; "
          f"simulation and audit {time.process_time() - start:.0f} CPU s\n")
    header = ["class", *(f"max {k}" for k in CUE_KINDS), "window length, channels",
              "leakiest cue", "balanced accuracy", "bound"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|")
    for name, row in table.iterrows():
        kinds = [row[[c for c in table.columns if c.endswith(f"_{k}")]].max()
                 for k in CUE_KINDS]
        fixed = max(row["window_length_samples"], row["channels_present_count"])
        worst = str(row.idxmax())
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in kinds)
              + f" | {fixed:.2f} | {worst} | {row[worst]:.2f} | {bound_of(name, worst):.2f} |")
    found = leaks(table)
    print(f"\n{len(found)} (class, cue) pairs above their bound"
          + "".join(f"\n  {x['scenario']} {x['cue']}: {x['balanced_accuracy']:.2f} > "
                    f"{x['bound']:.2f}" for x in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
