"""Reader of ``results/embeddings/{model}/{suite}/model.json`` (provenance) and model kinds.

Keys read: ``name``, ``plugin``, ``pretrained``, ``weights_source``, ``weights_sha256``,
``n_parameters``, ``layer_names``, ``versions``, ``device``, ``dtype``, ``wall_time_s``,
``windows_per_second`` (all optional: absent ones show as empty cells).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physio_bench.report.inputs.common import MissingResult, load_json

SUITES = ("factors", "sweeps", "scenarios", "real")
KINDS = ("pretrained", "untrained control", "baseline")


def model_infos(results: str | Path, model: str) -> dict[str, dict[str, Any]]:
    """Suite -> model.json content, for the suites embedded so far (suite order fixed)."""
    out = {}
    for suite in SUITES:
        try:
            out[suite] = load_json(Path(results) / "embeddings" / model / suite / "model.json")
        except MissingResult:
            continue
    return out


def model_kind(config: dict[str, Any], model: str, pretrained: bool | None) -> str:
    """``pretrained``, ``untrained control`` (a foundation model with random weights),
    ``baseline`` (no learned weights) or ``reference method`` (classical signal
    processing, the downstream stage's ``reference-method`` rows)."""
    from physio_bench.report.inputs.downstream import reference_method_name

    if model == reference_method_name():
        return "reference method"
    if pretrained:
        return "pretrained"
    options = config.get("models", {}).get(model, {})
    if str(options.get("weights", "")).startswith("random") or "untrained" in model:
        return "untrained control"
    return "baseline"


def parse_bool(value: Any) -> bool | None:
    """A CSV/JSON truth value (True, "true", "True", 1) as bool; None when unknown."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    return None
