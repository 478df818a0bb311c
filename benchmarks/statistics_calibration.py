"""Type-I error of every paired test and coverage of every interval kind (issue 24).

On simulated data with a known truth (:mod:`physio_bench.stat_calibration`: two models
that are the same procedure in distribution, cross-validated on folds shared by both), at
the subject counts, windows per subject, fold count (5) and an embedding width of the
default run, each with the decoder of the stage it stands for:

- ``issue repro``: 20 subjects x 6 windows, width 40 (the issue's audit);
- ``BIDMC RR``: 53 subjects x 15 windows (8 min of 32-s windows), width 384
  (Moirai small's d_model), the real-data tasks' ridge (``linear.inner_cv_ridge``:
  standardised features, penalty by inner grouped CV);
- ``MIT-BIH HR``: 47 records x 56 windows (30 min), width 384, the same ridge;
- ``scenarios, probes' ridge``: 540 subjects (30 per class, 18 classes) x 1 window, width
  384, the probes' ridge (:func:`physio_bench.probes.ridge.grouped_ridge_predict`: penalty from
  ``ALPHA_GRID`` times the training size by inner grouped CV, standardised features; how the
  feature-independence and temporal-dynamics probes decode a layer);
- ``issue repro, probes' ridge`` and ``scenarios`` (the real-data ridge) swap decoders.

(The factors suite, 600 one-window subjects per kind, behaves as the scenarios design
with more subjects.) Two more designs repeat the issue's and the scenarios design with a
fixed small penalty (0.1 n on unscaled features), to show how much the decoder matters.
Targets:
type-I error 0.03-0.07 at alpha 0.05, coverage 0.92-0.98 at 95%;
``±`` is the Monte Carlo standard error. Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/statistics_calibration.py \
        [--replicates 300] [--only NAME] [--seed S]

(one BLAS thread: the matrices are small, and threads only contend; about 1 CPU-s per
replicate of ``BIDMC RR``, 20-25 CPU-minutes for the whole table).

Prints a Markdown table (kept in docs/statistics.md); nothing is asserted here (the tests
check the issue design: tests/test_statistics_calibration.py).

``--repeat-study R`` prints instead, per design, how much the per-fold differences vary
(:func:`physio_bench.stat_calibration.repeat_study`): for 1..R repetitions of the 5-fold
split, the variance factor the data need beside the factors the corrected and the naive
paired t assume, and both tests' type-I errors (about R CPU-s per replicate of
``BIDMC RR``). ``--repeats R`` runs the table with ``R`` repetitions of the split (the
corrected t on ``J = 5 R`` fold differences, Bouckaert and Frank's repeated form).

``--classes`` prints instead the scenario classifier's table
(:mod:`physio_bench.stat_calibration_classes`): the default run's ``scenarios`` suite (30
subjects crossed with 22 scenarios, width 384) decoded by the scenario probe's
multinomial logistic regression with its inner-CV ``C``
(:func:`physio_bench.probes.scenario_separation.grouped_logistic_predict`), the metric
its balanced accuracy, at two class separations (balanced accuracy about 0.39, as the
default run's models, and about 0.10); about 2 CPU-s per replicate.

``--seed S`` (default 1) picks independent replicate streams, so that runs with different
seeds can be pooled (docs/statistics.md pools three for the MIT-BIH design).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from physio_bench.probes.ridge import grouped_ridge_predict
from physio_bench.probes.scenario_separation import grouped_logistic_predict
from physio_bench.stat_calibration import (
    COVERAGE,
    TYPE_I,
    Decoder,
    Design,
    calibrate,
    repeat_study,
)
from physio_bench.stat_calibration_classes import CLASS_ROWS, ClassDesign, calibrate_classes

#: (design, decoder): None = the design's own (the real-data tasks' ridge, or the fixed
#: penalty); grouped_ridge_predict = the probes' ridge, which decodes the simulated suites
DESIGNS: tuple[tuple[Design, Decoder | None], ...] = (
    (Design("issue repro", 20, 6, 40), None),
    (Design("issue repro, probes' ridge", 20, 6, 40), grouped_ridge_predict),
    (Design("BIDMC RR", 53, 15, 384), None),
    (Design("MIT-BIH HR", 47, 56, 384), None),
    (Design("scenarios", 540, 1, 384), None),
    (Design("scenarios, probes' ridge", 540, 1, 384), grouped_ridge_predict),
    # the decoder matters: a fixed small penalty (0.1 n, unscaled features) instead of
    # an inner-CV penalty (the calibration's procedure before 2026-12-06)
    (Design("issue repro, fixed penalty", 20, 6, 40, penalty=0.1), None),
    (Design("scenarios, fixed penalty", 540, 1, 384, penalty=0.1), None),
)
TARGETS = {"type-I": (0.03, 0.07), "coverage": (0.92, 0.98)}
#: the scenario classifier's designs (30 subjects x 22 scenarios, width 384)
CLASS_DESIGNS = (ClassDesign("scenario classifier, separation 3 (bal. acc. ~0.39)"),
                 ClassDesign("scenario classifier, separation 1.5 (bal. acc. ~0.10)",
                             separation=1.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=300)
    parser.add_argument("--only", default=None, help="run one design by name")
    parser.add_argument("--repeat-study", type=int, default=0, metavar="R",
                        help="print the fold-variance study with 1..R repetitions instead")
    parser.add_argument("--repeats", type=int, default=1, metavar="R",
                        help="R repetitions of the 5-fold split (J = 5 R) in the table")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the replicate streams (independent replicates to pool "
                        "with another seed's)")
    parser.add_argument("--classes", action="store_true",
                        help="print the scenario classifier's table instead")
    args = parser.parse_args()
    if args.classes:
        return print_class_table(args.replicates, args.only, args.seed)
    designs = [(d, decode) for d, decode in DESIGNS if args.only in (None, d.name)]
    if args.repeats > 1:
        designs = [(replace(d, name=f"{d.name}, {args.repeats} x 5 folds",
                            repeats=args.repeats), decode) for d, decode in designs]
    if args.repeat_study:
        return print_repeat_study(designs, args.replicates, args.repeat_study)
    rows = [f"type-I: {n}" for n in TYPE_I] + [f"coverage: {n}" for n in COVERAGE]
    results, seconds = {}, {}
    for d, decode in designs:
        start = time.process_time()
        results[d.name] = calibrate(d, args.replicates, seed=args.seed, decode=decode)
        seconds[d.name] = time.process_time() - start
    header = "| quantity (target) | " + " | ".join(
        f"{d.name} ({d.n_subjects}x{d.items}, w={d.width})" for d, _ in designs) + " |"
    print(header)
    print("|" + "---|" * (len(designs) + 1))
    for row in rows:
        low, high = TARGETS[row.split(":")[0]]
        cells = []
        for d, _ in designs:
            rate, err = results[d.name][row]
            mark = "" if low <= rate <= high else " ✗"
            cells.append(f"{rate:.3f} ± {err:.3f}{mark}")
        print(f"| {row} ({low}-{high}) | " + " | ".join(cells) + " |")
    print(f"\n{args.replicates} replicates per design; CPU s: " + ", ".join(
        f"{k} {v:.0f}" for k, v in seconds.items()) + ". ✗ = outside the target.")
    return 0


def print_class_table(replicates: int, only: str | None, seed: int = 1) -> int:
    """The scenario classifier's calibration (see the module docstring) as Markdown."""
    designs = [d for d in CLASS_DESIGNS if only in (None, d.name)]
    results, seconds = {}, {}
    for d in designs:
        start = time.process_time()
        results[d.name] = calibrate_classes(d, replicates, grouped_logistic_predict, seed=seed)
        seconds[d.name] = time.process_time() - start
    print("| quantity (target) | " + " | ".join(d.name for d in designs) + " |")
    print("|" + "---|" * (len(designs) + 1))
    for row in CLASS_ROWS:
        low, high = TARGETS[row.split(":")[0]]
        cells = []
        for d in designs:
            rate, err = results[d.name][row]
            cells.append(f"{rate:.3f} ± {err:.3f}" + ("" if low <= rate <= high else " ✗"))
        print(f"| {row} ({low}-{high}) | " + " | ".join(cells) + " |")
    truth = "truth: expected balanced accuracy"
    print(f"| {truth} (Monte Carlo) | " + " | ".join(
        f"{results[d.name][truth][0]:.3f}" for d in designs) + " |")
    print(f"\n{replicates} replicates per design; CPU s: " + ", ".join(
        f"{k} {v:.0f}" for k, v in seconds.items()) + ". ✗ = outside the target.")
    return 0


def print_repeat_study(designs: list[tuple[Design, Decoder | None]], replicates: int,
                       repeats: int) -> int:
    """The fold-variance study (see the module docstring) as a Markdown table."""
    print("| design | R x K | factor needed: var(mean d) / E[s²] | corrected t assumes "
          "1/J + 1/(K-1) | its type-I | naive t assumes 1/J | its type-I |")
    print("|---|---|--:|--:|--:|--:|--:|")
    seconds = {}
    low, high = TARGETS["type-I"]
    for d, decode in designs:
        start = time.process_time()
        rows = repeat_study(d, replicates, repeats, seed=1, decode=decode)
        seconds[d.name] = time.process_time() - start
        for row in rows:
            marks = {k: "" if low <= row[f"type_i_{k}"] <= high else " ✗"
                     for k in ("corrected", "naive")}
            print(f"| {d.name} | {row['repeats']} x {d.n_folds} | {row['needed']:.3f} ± "
                  f"{row['mc_needed']:.3f} | {row['corrected']:.3f} | "
                  f"{row['type_i_corrected']:.3f} ± {row['mc_corrected']:.3f}"
                  f"{marks['corrected']} | {row['naive']:.3f} | {row['type_i_naive']:.3f} ± "
                  f"{row['mc_naive']:.3f}{marks['naive']} |")
    print(f"\n{replicates} replicates per design; CPU s: " + ", ".join(
        f"{k} {v:.0f}" for k, v in seconds.items()) + ". ✗ = outside 0.03-0.07.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
