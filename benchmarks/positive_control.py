"""The positive control per factor, from a finished run: each trained model minus its
untrained twin on every feature-independence factor and temporal-dynamics tracking task.
(Printed, never asserted.)

    .venv/bin/python benchmarks/positive_control.py [--results results] [--layer last]

``results/comparisons.csv`` has the same rows at the last layer (comparisons ``untrained
twin, per factor`` and ``marginal ablation, per factor``); this script prints them for any
layer and asks the positive-control question of issue 15 factor by factor: does the model trained on
synthetic physiology decode heart rate, respiratory rate (and whatever else it learned)
better than the same architecture before training? Each row is
:func:`physio_bench.compare.run.compare_pair` on one factor's held-out R² (the twin's
seeds enter as their mean, every seed's predictions used), with the 95% paired interval
over subjects, the p of the test named in the row (corrected resampled paired t on the
shared folds) and Holm over the factors of a model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from physio_bench.compare.run import TWIN, Tables, compare_pair, factor_headlines
from physio_bench.model_types import group_types, result_groups, untrained_twin
from physio_bench.preflight import load_config
from physio_bench.statistics import holm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--configfile", type=Path, action="append", default=[])
    parser.add_argument("--layer", default="last")
    args = parser.parse_args(argv)
    config = load_config(args.configfile or None)
    groups = result_groups(config)
    types = group_types(config, args.results)
    tables = Tables(args.results)
    rows = []
    for model, kind in types.items():
        if kind.kind not in ("trained on synthetic", "fine-tuned"):
            continue
        twin = untrained_twin(config, args.results, model, types)
        if twin is None:
            print(f"{model}: no untrained twin", file=sys.stderr)
            continue
        family = [compare_pair(tables, groups, model, twin, h, TWIN, config)
                  for h in factor_headlines(tables, groups[model][0], args.layer)]
        for r, p in zip(family, holm(np.array([r["p"] for r in family], dtype=float)),
                        strict=True):
            r["p_holm"] = p
        rows += family
    if not rows:
        print("no trained model with an untrained twin in these results", file=sys.stderr)
        return 1
    frame = pd.DataFrame(rows)[["model", "reference", "metric", "task", "model_value",
                                "reference_value", "difference", "ci_low", "ci_high",
                                "p_holm", "n_subjects", "note"]]
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.float_format", "{:.3f}".format):
        print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
