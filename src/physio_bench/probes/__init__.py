"""The probes stage: three probes of a model's embeddings, at every layer.

``run_probe(config, probe, model, results_dir) -> (detail, rows)`` runs one of
``feature_independence`` (:mod:`.feature_independence`), ``temporal_dynamics``
(:mod:`.temporal_dynamics`) and ``scenario_separation`` (:mod:`.scenario_separation`);
``physio-bench probe`` writes ``detail`` as JSON, ``rows`` as leaderboard CSV and the
out-of-fold predictions (:func:`physio_bench.probes.runner.run_probe_outputs`) as Parquet.

Shared rules: linear read-outs (ridge, multinomial logistic regression, LDA) on
standardised features, plus a kernel-ridge ceiling (RBF or linear kernel) for the
factors; outer and inner folds grouped by subject and fixed by the seed (:mod:`.cv`);
regularisation and the ``best`` layer chosen on inner folds only (:mod:`.ridge`); every
metric with a 95% grouped-bootstrap interval, its ``n`` and ``n_subjects``
(:mod:`.stats`), its direction and chance level from :mod:`physio_bench.metrics`; a
metric that cannot be estimated (fewer than ``statistics.min_groups`` subjects, nothing
reliably decoded, no temporal tokens) is a row with an empty value and a ``note``
(:mod:`.common`). Metric definitions and their
controls: the module docstrings, ``tests/test_probe_controls.py``.

JSON detail (all probes): ``probe``, ``model``, ``pretrained``, ``settings``, ``suites``,
``model_info``, ``layer_names``, ``chance``, ``skipped`` (task + reason),
``leaderboard_rows``; each ``selection`` block gives ``chosen_layer_per_fold``,
``inner_score_per_layer_fold`` and ``mode_layer``. Per probe:

- feature_independence: ``kinds.{kind}`` with ``factors``, ``per_layer`` (``r2`` per factor,
  ``mean_r2``, ``entanglement``: layer-wise curves), ``selection``, and ``last``/``best``
  blocks: ``r2``, ``r2_nonlinear``, ``kernel`` (chosen kernel width and penalty per
  fold), ``reliable`` factors, ``entanglement`` (``mixing_matrix`` rows true x columns
  decoded, ``leakage``, ``null_leakage``, ``residual_correlation``), ``dci`` (per-fold
  values, non-zero dimensions), ``scatter`` (true vs decoded per factor, subsample),
  ``cross_talk`` (``matrix`` swept x decoded with the own response on the diagonal,
  ``own_response``, ``per_subject_slopes``, ``decoded_traces``, ``note``);
  ``calibration`` (``d``, ``n``, ``r2``).
- temporal_dynamics: ``reconstruction`` (``per_layer``, ``examples`` of true vs
  reconstructed 0.25 s targets with ``target_samples``, ``last``/``best``),
  ``tracking.{suite}:{target}`` (``per_layer``, ``last``/``best`` per task, ``traces`` of
  ramp/step windows over time), ``autocorrelation`` (``per_layer`` excess,
  ``per_layer_own``, ``per_layer_null``, ``curves`` of signal autocorrelation and embedding
  similarity per lag, ``last``/``best``).
- scenario_separation: ``classes``, ``per_layer`` curves, ``selection``, ``c_per_layer_fold``
  and ``last``/``best`` blocks: ``metrics``, ``fisher_null``, ``confusion_matrix`` (rows
  true), ``map_2d`` (PCA coordinates with labels and subjects).
"""

from __future__ import annotations

from typing import Any


def run_probe(config: dict[str, Any], probe: str, model: str, results_dir: Any,
              suites: tuple[str, ...] | None = None
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """See :func:`physio_bench.probes.runner.run_probe`."""
    from physio_bench.probes.runner import run_probe as _run_probe

    return _run_probe(config, probe, model, results_dir, suites)


def entanglement_point(y: Any, pred: Any, reliable: Any, seed: int = 0) -> float:
    """See :func:`physio_bench.probes.entanglement.entanglement_point` (for the compare
    stage: entanglement of the ``entanglement`` rows of a prediction table)."""
    from physio_bench.probes.entanglement import entanglement_point as _point

    return _point(y, pred, reliable, seed)
