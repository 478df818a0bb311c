"""The probes stage: three linear probes of a model's embeddings, at every layer.

``run_probe(config, probe, model, results_dir) -> (detail, rows)`` runs one of
``feature_independence`` (:mod:`.feature_independence`), ``temporal_dynamics``
(:mod:`.temporal_dynamics`) and ``scenario_separation`` (:mod:`.scenario_separation`);
``physio-bench probe`` writes ``detail`` as JSON and ``rows`` as leaderboard CSV.

Shared rules: linear read-outs only (ridge, multinomial logistic regression, LDA) on
standardised features; outer and inner folds grouped by subject and fixed by the seed
(:mod:`.cv`); regularisation and the ``best`` layer chosen on inner folds only
(:mod:`.ridge`); every metric with a 95% grouped-bootstrap interval and its ``n``
(:mod:`.stats`).

JSON detail (all probes): ``probe``, ``model``, ``pretrained``, ``settings``, ``suites``,
``model_info``, ``layer_names``, ``chance``, ``skipped`` (task + reason),
``leaderboard_rows``; each ``selection`` block gives ``chosen_layer_per_fold``,
``inner_score_per_layer_fold`` and ``mode_layer``. Per probe:

- feature_independence: ``kinds.{kind}`` with ``factors``, ``per_layer`` (``r2`` per factor,
  ``mean_r2``, ``dci_*``, ``spurious_coupling``: layer-wise curves), ``selection``, and
  ``last``/``best`` blocks: ``r2``, ``dci``, ``spurious_coupling``, ``coupling_true``,
  ``coupling_decoded``, ``coupling_difference``, ``scatter`` (true vs decoded per factor,
  subsample), ``importance`` (dims x factors, layer ``importance_layer``), ``cross_talk``
  (``matrix`` swept x decoded, ``range_matrix``, ``decoded_traces``).
- temporal_dynamics: ``reconstruction`` (``per_layer``, ``examples`` of true vs
  reconstructed spans, ``last``/``best``), ``tracking.{suite}:{target}`` (``per_layer``,
  ``last``/``best`` per task, ``traces`` of ramp/step windows over time),
  ``autocorrelation`` (``per_layer``, ``curves`` of signal autocorrelation and embedding
  similarity per lag, ``last``/``best``).
- scenario_separation: ``classes``, ``per_layer`` curves, ``selection``, ``c_per_layer_fold``
  and ``last``/``best`` blocks: ``metrics``, ``confusion_matrix`` (rows true), ``map_2d``
  (PCA coordinates with labels and subjects).
"""

from __future__ import annotations

from typing import Any


def run_probe(config: dict[str, Any], probe: str, model: str, results_dir: Any,
              suites: tuple[str, ...] | None = None
              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """See :func:`physio_bench.probes.runner.run_probe`."""
    from physio_bench.probes.runner import run_probe as _run_probe

    return _run_probe(config, probe, model, results_dir, suites)
