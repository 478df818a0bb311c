"""Reader of ``results/probes/{model}/scenario_separation.json``.

Keys read (everything else is ignored)::

    layer_names: [name, ...]                              shallow to deep
    classes:     [scenario, ...]                          class order of the matrices
    per_layer:   {balanced_accuracy | macro_f1 | silhouette | fisher_ratio: [per layer]}
    last:
      confusion_matrix: n x n                             counts, rows true, columns predicted
                                                          (last layer, out-of-fold)
      map_2d: {method: str, x: [...], y: [...], label: [...]}
                                                          2-D map of the pooled embeddings

Without ``last.map_2d`` the map falls back to the first two principal components of
``results/embeddings/{model}/scenarios/pooled.npy`` (last layer), labelled by
``results/simulated/scenarios/labels.parquet`` (column ``scenario``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from physio_bench.report.inputs.common import (
    MissingResult,
    as_array,
    get_key,
    layer_curves,
    load_json,
)

PROBE = "scenario_separation"
LAYERS, PER_LAYER, CLASSES, LAST = "layer_names", "per_layer", "classes", "last"
CONFUSION, MAP = "confusion_matrix", "map_2d"
MAP_X, MAP_Y, MAP_LABELS, MAP_METHOD = "x", "y", "label", "method"


def json_path(results: str | Path, model: str) -> Path:
    return Path(results) / "probes" / model / f"{PROBE}.json"


def load(results: str | Path, model: str) -> dict[str, Any]:
    return load_json(json_path(results, model))


def confusion(data: dict[str, Any]) -> dict[str, Any]:
    """{classes, counts} with counts rows true, columns predicted."""
    classes = [str(c) for c in get_key(data, [CLASSES])]
    counts = as_array(get_key(data, [LAST, CONFUSION]), f"{LAST}.{CONFUSION}")
    if counts.shape != (len(classes), len(classes)):
        raise MissingResult(
            f"{data.get('__path__')} key '{LAST}.{CONFUSION}' has shape {counts.shape} for "
            f"{len(classes)} classes"
        )
    return {"classes": classes, "counts": counts}


def embedding_map(data: dict[str, Any]) -> dict[str, Any]:
    """{x, y, labels, method} from the JSON."""
    x = as_array(get_key(data, [LAST, MAP, MAP_X]), f"{MAP}.x")
    y = as_array(get_key(data, [LAST, MAP, MAP_Y]), f"{MAP}.y")
    labels = [str(v) for v in get_key(data, [LAST, MAP, MAP_LABELS])]
    if not x.shape == y.shape == (len(labels),):
        raise MissingResult(f"{data.get('__path__')} key '{LAST}.{MAP}' has unequal lengths")
    method = str(data[LAST][MAP].get(MAP_METHOD, ""))
    return {"x": x, "y": y, "labels": labels, "method": "PCA" if "PCA" in method else method}


def pca_map(results: str | Path, model: str) -> dict[str, Any]:
    """First two principal components of the last layer's pooled scenario embeddings."""
    pooled_path = Path(results) / "embeddings" / model / "scenarios" / "pooled.npy"
    labels_path = Path(results) / "simulated" / "scenarios" / "labels.parquet"
    if not pooled_path.exists() or not labels_path.exists():
        raise MissingResult(f"no {LAST}.{MAP} in the probe JSON and no {pooled_path}")
    pooled = np.load(pooled_path, mmap_mode="r", allow_pickle=False)
    features = np.asarray(pooled[-1], dtype=np.float64)
    labels = pd.read_parquet(labels_path, columns=["scenario"])["scenario"].astype(str).tolist()
    if features.shape[0] != len(labels) or features.shape[1] < 2:
        raise MissingResult(f"{pooled_path} does not match {labels_path}")
    centred = features - features.mean(axis=0)
    scale = centred.std(axis=0)
    centred = centred / np.where(scale > 0, scale, 1.0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(2), np.argmax(np.abs(vt[:2]), axis=1)])  # fixed orientation
    coords = u[:, :2] * s[:2] * np.where(signs == 0, 1.0, signs)
    return {"x": coords[:, 0], "y": coords[:, 1], "labels": labels, "method": "PCA"}


def curves(data: dict[str, Any]) -> dict[str, Any]:
    """``{"layers": [...], "curves": {metric: values per layer}}``."""
    return layer_curves(data, LAYERS, PER_LAYER)
