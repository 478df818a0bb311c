"""Coverage of the 95% intervals of cross-validated metrics, on data with a known answer.

Each replicate draws a grouped data set (subjects with several items; features ``x`` with
a subject component, target ``y = beta . x + subject effect + noise``), runs the project's
nested grouped ridge (5 outer, 3 inner folds) and builds intervals of

- the cross-validated R² (pooled out-of-fold predictions): the corrected resampled t
  interval over the outer folds (``cv_corrected_t``, what the probes report) and the old
  subject bootstrap of the held-out predictions (``subject_bootstrap``);
- a statistic of each fold's *fitted decoder* (its population R², known in closed form
  here, standing in for DCI-like statistics of the coefficients): the corrected t
  interval for training folds (``cv_corrected_t_training``) and the old bootstrap of the
  fold values (``fold_bootstrap``).

The truth of both is the expected population R² of the whole procedure (penalty chosen by
inner grouped CV) trained on 4/5 of the subjects, by Monte Carlo over fresh training sets
evaluated in closed form (Gaussian design). Usage::

    .venv/bin/python benchmarks/coverage.py [--replicates 200] [--subjects 60]

Prints coverage and mean width per method; nothing is asserted (the tests check a
smaller case).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from physio_bench.probes.cv import nested_folds
from physio_bench.probes.ridge import fit_ridge_cv, nested_ridge
from physio_bench.probes.stats import (
    bootstrap_counts,
    fold_mean_estimate,
    r2_estimates,
)
from physio_bench.statistics import estimate_from_samples

N_OUTER, N_INNER = 5, 3


@dataclass(frozen=True)
class Design:
    """A grouped linear-Gaussian population: ``x = u_subject + e_item`` (isotropic),
    ``y = beta . x + b_subject + noise``."""

    n_subjects: int = 60
    items: int = 4
    dim: int = 30
    sd_subject_x: float = 0.7
    sd_item_x: float = 0.7
    sd_subject_y: float = 0.5
    sd_noise: float = 0.8

    @property
    def beta(self) -> np.ndarray:
        rng = np.random.default_rng(0)
        beta = rng.normal(size=self.dim) * (rng.uniform(size=self.dim) < 0.3)
        beta[0] += 1.0
        return beta / np.linalg.norm(beta)

    @property
    def var_x(self) -> float:
        return self.sd_subject_x**2 + self.sd_item_x**2

    @property
    def var_y(self) -> float:
        return self.var_x + self.sd_subject_y**2 + self.sd_noise**2

    def draw(self, rng: np.random.Generator, n_subjects: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = n_subjects or self.n_subjects
        u = rng.normal(scale=self.sd_subject_x, size=(s, 1, self.dim))
        e = rng.normal(scale=self.sd_item_x, size=(s, self.items, self.dim))
        x = (u + e).reshape(s * self.items, self.dim)
        b = np.repeat(rng.normal(scale=self.sd_subject_y, size=s), self.items)
        y = x @ self.beta + b + rng.normal(scale=self.sd_noise, size=s * self.items)
        return x, y, np.repeat(np.arange(s), self.items)

    def population_r2(self, weights: np.ndarray, intercept: float) -> float:
        """R² of ``y ~ weights . x + intercept`` on the population (closed form)."""
        diff = self.beta - weights
        mse = self.var_x * diff @ diff + self.sd_subject_y**2 + self.sd_noise**2 + intercept**2
        return float(1.0 - mse / self.var_y)


def _fit_population_r2(design: Design, x: np.ndarray, y: np.ndarray, groups: np.ndarray,
                       seed: int) -> float:
    """Population R² of ridge fitted on (x, y), penalty by inner grouped CV."""
    folds, _ = nested_folds(groups, N_INNER, 2, seed)
    fit = fit_ridge_cv(x, y, folds)
    return design.population_r2(fit.weights[:, 0], float(fit.intercept[0]))


def truth(design: Design, n_sets: int, seed: int = 12345) -> float:
    """Expected population R² of the procedure trained on 4/5 of the subjects."""
    rng = np.random.default_rng(seed)
    n_train = design.n_subjects * (N_OUTER - 1) // N_OUTER
    return float(np.mean([_fit_population_r2(design, *design.draw(rng, n_train), seed + i)
                          for i in range(n_sets)]))


def replicate(design: Design, seed: int, n_boot: int = 1000) -> dict[str, tuple[float, float]]:
    """Intervals of every method on one simulated data set."""
    rng = np.random.default_rng(seed)
    x, y, groups = design.draw(rng)
    outer, inner = nested_folds(groups, N_OUTER, N_INNER, seed)
    result = nested_ridge(lambda _: x, 1, y, outer, inner)
    pred = result.oof[0][:, 0]
    out = {}
    for method, folds in (("cv_corrected_t", outer), ("subject_bootstrap", None)):
        e = r2_estimates(y, pred, groups, n_boot, seed, folds=folds)[0]
        out[method] = (e.ci_low, e.ci_high)
    fold_values = np.array([
        _fit_population_r2(design, x[outer != k], y[outer != k], groups[outer != k], seed + k)
        for k in range(N_OUTER)])
    e = fold_mean_estimate(fold_values, len(y), on="train")
    out["cv_corrected_t_training"] = (e.ci_low, e.ci_high)
    samples = bootstrap_counts(N_OUTER, n_boot, seed) @ fold_values / N_OUTER
    e = estimate_from_samples(float(fold_values.mean()), samples, len(y))
    out["fold_bootstrap"] = (e.ci_low, e.ci_high)
    return out


def coverage(design: Design, n_replicates: int, n_truth: int = 200, seed: int = 0,
             n_boot: int = 1000) -> dict[str, dict[str, float]]:
    """Share of replicates whose interval holds the truth, and mean width, per method."""
    target = truth(design, n_truth)
    intervals: dict[str, list[tuple[float, float]]] = {}
    for r in range(n_replicates):
        for method, bounds in replicate(design, 1000 * seed + r, n_boot).items():
            intervals.setdefault(method, []).append(bounds)
    out = {"truth": {"value": target}}
    for method, bounds in intervals.items():
        arr = np.asarray(bounds)
        out[method] = {"coverage": float(np.mean((arr[:, 0] <= target) & (target <= arr[:, 1]))),
                       "width": float(np.mean(arr[:, 1] - arr[:, 0]))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--subjects", type=int, default=60)
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--dim", type=int, default=30)
    parser.add_argument("--truth-sets", type=int, default=400)
    args = parser.parse_args(argv)
    design = Design(n_subjects=args.subjects, items=args.items, dim=args.dim)
    start = time.perf_counter()
    result = coverage(design, args.replicates, args.truth_sets)
    print(f"design: {design}")
    print(f"truth (expected population R² at 4/5 of the subjects): "
          f"{result.pop('truth')['value']:.4f}")
    print(f"{'method':<26} {'coverage':>8} {'mean width':>11}   ({args.replicates} replicates,"
          f" nominal 0.95)")
    for method, row in result.items():
        print(f"{method:<26} {row['coverage']:>8.3f} {row['width']:>11.4f}")
    print(f"wall time {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
