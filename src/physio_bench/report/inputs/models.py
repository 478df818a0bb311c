"""Reader of ``results/embeddings/{model}/{suite}/model.json`` (provenance) and model kinds.

Keys read: ``name``, ``plugin``, ``pretrained``, ``weights_source``, ``weights_sha256``,
``n_parameters``, ``layer_names``, ``versions``, ``device``, ``dtype``, ``wall_time_s``,
``windows_per_second`` (all optional: absent ones show as empty cells).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from physio_bench.model_types import KINDS, model_type
from physio_bench.report.inputs.common import MissingResult, load_json

SUITES = ("factors", "sweeps", "scenarios", "real")
__all__ = ["KINDS", "SUITES", "model_infos", "model_kind", "parse_bool"]


def model_infos(results: str | Path, model: str) -> dict[str, dict[str, Any]]:
    """Suite -> model.json content, for the suites embedded so far (suite order fixed)."""
    out = {}
    for suite in SUITES:
        try:
            out[suite] = load_json(Path(results) / "embeddings" / model / suite / "model.json")
        except MissingResult:
            continue
    return out


def model_kind(config: dict[str, Any], model: str, pretrained: bool | None,
               info: dict[str, Any] | None = None) -> str:
    """Label of the model's type (:func:`physio_bench.model_types.model_type`): e.g.
    ``pretrained``, ``untrained control``, ``baseline``, ``fine-tuned from X``."""
    info = dict(info or {})
    if pretrained is not None:
        info.setdefault("pretrained", bool(pretrained))
    return model_type(config, model, info).label


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
