"""The forecast-skill stage: does a Moirai-family checkpoint predict held-out physiology
better than model-free baselines? (``physio-bench forecast-skill``; issue 20.)

**Models.** Every enabled instance (seeds expanded) of the models named in
``forecast.models``: the trained checkpoint, its untrained twin's seeds, published weights
when enabled. Each is built exactly as the embed stage builds it (same weights, same seed)
and fed windows at its config entry's ``input_hz`` and ``patch_size``, resampled by the
project's one resampler (:func:`physio_bench.resampling.resample`) in the suite's units:
the inputs it is embedded with.

**Held-out windows.** ``forecast.windows`` windows drawn (seeded) from the suite
``forecast.suite`` (default ``scenarios``); the stage stops with a one-line error if any of
its subjects is also in ``forecast.reference_suite`` (default ``training``, the windows the
finetune run trains on). Every channel named after a signal kind (ECG, PPG, RSP, EDA, EMG)
is one univariate series; the window is cut to its last whole patches.

**Tasks.** ``next_patch``: the last patch is a prediction token, every earlier patch is
context (a one-patch forecast horizon). ``masked_patch``: the middle patch is the
prediction token, the patches on both sides are context. Each is one forward pass of
``MoiraiModule`` with that ``prediction_mask`` (its scaler sees only the context).

**Scores** (per item, then the mean over items with a 95% subject-bootstrap interval,
``physio_bench.statistics.bootstrap_estimate``; definitions in
:mod:`physio_bench.forecast.scores`): ``nll_nats`` (per sample), ``crps`` (signal units,
``forecast.samples`` predictive samples), ``median_corr`` (within the target patch).

**Baselines** (negative controls): ``baseline:marginal`` (context-free Student-t fitted
per kind to ``forecast.reference_windows`` training windows), ``baseline:window_gaussian``
(context mean and SD), ``baseline:seasonal_naive`` (repeat the last period; lag by
autocorrelation). For each model and baseline: ``nll_gain_nats`` and ``crps_gain``
(baseline minus model per item, positive = model better) and ``crps_skill``
(``1 - CRPS_model / CRPS_baseline``), with intervals; ``verdict`` is ``better`` when both
gains' intervals lie above zero, ``worse`` when either lies below, else ``tie``.

Output: ``results/forecast_skill.csv`` (one row per model, predictor, kind, task, metric
and reference) and ``results/forecast_skill.json`` (models, windows, wall and CPU
seconds).
"""

from __future__ import annotations

from typing import Any

FORECAST_CSV = "results/forecast_skill.csv"
FORECAST_JSON = "results/forecast_skill.json"

__all__ = ["FORECAST_CSV", "FORECAST_JSON", "forecast_models"]


def forecast_models(config: dict[str, Any]) -> list[str]:
    """Enabled instances (seeds expanded) of the models named in ``forecast.models``."""
    from physio_bench.config import enabled_models, replicate_of

    wanted = set(config["forecast"]["models"])
    return [name for name in enabled_models(config) if replicate_of(config, name)[0] in wanted]
