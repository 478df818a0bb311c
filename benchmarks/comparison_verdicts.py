"""Which paired comparisons change verdict under the corrected resampled paired t (issue 24).

Recomputes ``comparisons.csv`` of a finished run twice from its prediction tables:

- **now**: what the compare stage does (:func:`physio_bench.compare.run.compare_models`):
  the corrected resampled paired t on the per-fold differences for cross-validated
  headlines, a permutation conditional on the fitted decoder for the others;
- **before**: every headline through the permutation test with the decoders held fixed
  (the compare stage before issue 24), on the same predictions.

A verdict is "different" when the Holm-adjusted p of its family is below 0.05 and the
interval excludes 0 (the same reading as the report's). Prints a Markdown table of the
rows whose verdict changes and the counts; nothing is asserted. Usage::

    .venv/bin/python benchmarks/comparison_verdicts.py --workdir /path/to/run

(``--workdir``: the run's working directory, holding ``results/`` and
``results/config.resolved.yaml``.)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from unittest import mock

import pandas as pd
import yaml

from physio_bench.compare import run as compare_run

ALPHA = 0.05
KEYS = ["model", "reference", "comparison", "stage", "task", "metric", "layer"]


def verdict(frame: pd.DataFrame) -> pd.Series:
    """``different`` / ``no difference`` / ``n.e.`` per row."""
    out = pd.Series("no difference", index=frame.index)
    out[frame["p_holm"].isna()] = "n.e."
    out[(frame["p_holm"] < ALPHA) & ((frame["ci_low"] > 0) | (frame["ci_high"] < 0))] = (
        "different")
    return out


def permutation_everywhere(tables: compare_run.Tables, instances: list[str],
                           h: compare_run.Headline) -> compare_run.Prepared | str:
    """:func:`compare_run.prepare` without the per-fold sums: the permutation path."""
    prepared = ORIGINAL_PREPARE(tables, instances, h)
    if isinstance(prepared, str):
        return prepared
    return dataclasses.replace(prepared, split_sums=None)


ORIGINAL_PREPARE = compare_run.prepare


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="the run's working directory")
    args = parser.parse_args(argv)
    os.chdir(args.workdir)
    config = yaml.safe_load(Path("results/config.resolved.yaml").read_text())
    now = compare_run.compare_models(config, "results")
    with mock.patch.object(compare_run, "prepare", permutation_everywhere):
        before = compare_run.compare_models(config, "results")
    now["now"], before["before"] = verdict(now), verdict(before)
    merged = now.merge(before[[*KEYS, "before", "p_holm", "ci_low", "ci_high"]], on=KEYS,
                       suffixes=("", "_before"), validate="one_to_one")
    numbered = merged[merged["p_holm"].notna() & merged["p_holm_before"].notna()]
    changed = numbered[numbered["now"] != numbered["before"]]
    print(f"{len(numbered)} comparisons with a p-value under both tests; "
          f"{len(changed)} change verdict "
          f"({(changed['before'] == 'different').sum()} different -> no difference, "
          f"{(changed['now'] == 'different').sum()} no difference -> different)")
    print(f"different now: {(numbered['now'] == 'different').sum()}, "
          f"before: {(numbered['before'] == 'different').sum()}")
    print("\n| model | reference | task | metric | difference | now: test, 95% CI, Holm p | "
          "before: permutation, 95% CI, Holm p |")
    print("|---|---|---|---|--:|---|---|")
    for r in changed.itertuples():
        print(f"| {r.model} | {r.reference} | {r.task} | {r.metric} | {r.difference:+.3f} | "
              f"{r.now}: [{r.ci_low:.3f}, {r.ci_high:.3f}], {r.p_holm:.3g} | "
              f"{r.before}: [{r.ci_low_before:.3f}, {r.ci_high_before:.3f}], "
              f"{r.p_holm_before:.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
